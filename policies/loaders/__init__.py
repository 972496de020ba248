"""Read any of the three outputs into documents: ``load(path)`` tells the format from the files."""

from __future__ import annotations

import json
from pathlib import Path

from policies.loaders.base import InputError
from policies.loaders.cloudformation import load_assembly, load_template
from policies.loaders.pulumi import from_export, load_export
from policies.loaders.terraform import load_cdktf_output, load_config
from policies.model import Document

__all__ = ["InputError", "from_export", "load"]


def _manifest_kind(path: Path) -> str | None:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not readable JSON ({error})") from error
    if isinstance(manifest, dict) and "artifacts" in manifest:
        return "assembly"
    if isinstance(manifest, dict) and "stacks" in manifest:
        return "cdktf"
    return None


def load(path: str | Path) -> list[Document]:
    """The documents at ``path``: a cloud assembly or CDKTF output folder, ``resources.json``,
    a CloudFormation template, or a ``cdk.tf.json``."""
    try:
        return _load(Path(path))
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise InputError(
            f"{path}: not the structure its format has ({type(error).__name__}: {error})"
        ) from error


def _load(path: Path) -> list[Document]:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / "manifest.json").is_file():
            kind = _manifest_kind(path / "manifest.json")
            if kind == "assembly":
                return load_assembly(path)
            if kind == "cdktf":
                return load_cdktf_output(path)
        if (path / "resources.json").is_file():
            return [load_export(path / "resources.json")]
        raise InputError(
            f"{path}: not a CDK cloud assembly or CDKTF output (no manifest.json with artifacts or stacks)"
            " and no resources.json"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not readable JSON ({error}); YAML templates are not read") from error
    if isinstance(data, dict) and "deployment" in data:
        return [from_export(data, str(path))]
    if isinstance(data, dict) and "Resources" in data:
        return [load_template(path)]
    if isinstance(data, dict) and any(key in data for key in ("resource", "terraform")):
        return [load_config(path)]
    if path.name == "manifest.json":
        return _load(path.parent)
    raise InputError(
        f"{path}: not a Pulumi export, a CloudFormation template or Terraform JSON"
        " (pass the cloud assembly or CDKTF output folder, or resources.json)"
    )
