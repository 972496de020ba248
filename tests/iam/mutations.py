"""Changing a deployment the way a defect would, to show the check refuses it (each stack's tests)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.iam.deployment import Deployment, Function


def changed(
    deployment: Deployment, name: str, change: Callable[[Function], None]
) -> tuple[Deployment, Function]:
    """A deep copy of ``deployment`` with ``change`` applied to the function ``name``."""
    copied = copy.deepcopy(deployment)
    function = copied.function(name)
    change(function)
    return copied, function


def without(actions: set[str]) -> Callable[[Function], None]:
    """Drop ``actions`` (exact names or the wildcards that grant them) from the role's statements."""

    def change(function: Function) -> None:
        kept = []
        for statement in function.statements:
            listed = statement.get("Action", [])
            listed = listed if isinstance(listed, list) else [listed]
            left = [a for a in listed if a not in actions and not any(_covers(a, x) for x in actions)]
            if left:
                kept.append({**statement, "Action": left})
            elif not listed:
                kept.append(statement)
        function.statements[:] = kept

    return change


def _covers(pattern: str, action: str) -> bool:
    from tests.iam.policy import like

    return "*" in pattern and like(pattern, action, case=False)


def on_resource(action: str, resource: Any) -> Callable[[Function], None]:
    """Grant ``action`` on ``resource`` instead of what the role names for it."""

    def change(function: Function) -> None:
        for statement in function.statements:
            listed = statement.get("Action", [])
            if action in (listed if isinstance(listed, list) else [listed]):
                statement["Resource"] = resource

    return change


def edited_code(tmp_path: Path, function: Function, path: str, old: str, new: str) -> Path:
    """A copy of the function's folder and lambda_src/common under tmp_path, ``old`` replaced by
    ``new`` in ``path`` (relative to lambda_src); the copy's function folder."""
    source = function.source
    lambda_src = source.parents[1]
    target = tmp_path / "lambda_src"
    shutil.copytree(source, target / source.parent.name / source.name)
    shutil.copytree(lambda_src / "common", target / "common")
    edited = target / path
    text = edited.read_text()
    assert old in text, f"{old!r} is not in {path}"
    edited.write_text(text.replace(old, new))
    return target / source.parent.name / source.name
