"""What every stack's preflight shares: the options the Makefile passes, the CLI a deploy runs,
the placeholder lines, and reading a Pulumi stack's config as ``pulumi up`` would see it."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.aws import Aws
from preflight.placeholders import shown, why_example
from preflight.report import Check, fail, ok

ROOT = Path(__file__).resolve().parents[1]
Which = Callable[[str], str | None]


class SettingsError(Exception):
    """Settings the preflight cannot read at all (a stack file that is not YAML): one line, exit 2."""


@dataclass(frozen=True)
class Options:
    """What ``python -m preflight <stack>`` was given: ENV / STACK and the arguments the deploy
    command gets (CDK_ARGS, PULUMI_ARGS, CDKTF_ARGS), read for the settings they carry."""

    env: str = "dev"
    stack: str = "dev"
    args: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Services:
    """How a preflight reaches the world: AWS clients for a profile, and the PATH (tests swap both)."""

    aws: Callable[[str | None], Aws] = Aws.default
    which: Which = shutil.which


def cli_on_path(program: str, which: Which, install: str) -> Check:
    found = which(program)
    return ok(f"{program} CLI", found) if found else fail(f"{program} CLI", "not on PATH", install)


def placeholder_checks(settings: Iterable[tuple[str, str, str]], fix: Callable[[str], str]) -> list[Check]:
    """One line per setting that still holds an example; one ok line naming those checked."""
    settings = [(key, kind, value) for key, kind, value in settings if value]
    found = [
        fail(f"placeholder {key}", f"{shown(value)} is {reason}", fix(key))
        for key, kind, value in settings
        if (reason := why_example(kind, value))
    ]
    if found:
        return found
    return [ok("placeholders", "none left in " + ", ".join(key for key, _, _ in settings))]


class PulumiConfig:
    """The subset of ``pulumi.Config`` the stacks' ``from_pulumi`` use, over the stack's values."""

    def __init__(self, values: Mapping[str, str], namespace: str, error: type[Exception]) -> None:
        self.values, self.namespace, self.error = values, namespace, error

    def get(self, key: str) -> str | None:
        return self.values.get(f"{self.namespace}:{key}")

    def require(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise self.error(f"{key}: required; set it with `pulumi config set {key} <value>`")
        return value

    def _number(self, key: str, kind: type) -> Any:
        value = self.get(key)
        try:
            return None if value is None else kind(value)
        except ValueError:
            raise self.error(f"{key}: {value!r} is not a {kind.__name__}") from None

    def get_int(self, key: str) -> int | None:
        return self._number(key, int)

    def get_float(self, key: str) -> float | None:
        return self._number(key, float)


def pulumi_stack_values(project_dir: Path, stack: str, args: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The project's name and the stack's config: ``Pulumi.<stack>.yaml`` with the ``-c/--config
    key=value`` of PULUMI_ARGS on top (``pulumi up`` applies and saves those first)."""
    import yaml

    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    path = project_dir / f"Pulumi.{stack}.yaml"
    try:
        data = yaml.safe_load(path.read_text()) if path.exists() else {}
    except yaml.YAMLError as error:
        raise SettingsError(f"{path.name}: not YAML ({' '.join(str(error).split())})") from None
    values = {
        key: value if isinstance(value, str) else _json(value)
        for key, value in ((data or {}).get("config") or {}).items()
    }
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--config", action="append", default=[])
    for item in parser.parse_known_args(list(args))[0].config:
        key, _, value = item.partition("=")
        values[key if ":" in key else f"{project}:{key}"] = value
    return project, values


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
