"""`python -m diagrams`: one architecture diagram per stack, from what `make synth-all` wrote in out/:
out/<stack>/diagram.svg and, for the README, docs/diagrams/<stack>.png."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from diagrams.derive import build
from diagrams.model import Graph
from diagrams.render import to_dot
from diagrams.sources import CloudFormation, Inventory, Pulumi, Terraform

ROOT = Path(__file__).resolve().parents[1]
INSTALL_GRAPHVIZ = (
    "diagrams: Graphviz's `dot` is not on PATH. Install it: `apt-get install graphviz` (Debian, Ubuntu), "
    "`brew install graphviz` (macOS)."
)


class MissingOutput(Exception):
    pass


def _read(path: Path) -> dict:
    if not path.is_file():
        raise MissingOutput(f"{path} is missing: run `make synth-all` first")
    return json.loads(path.read_text())


def cloud_assembly(directory: Path) -> Inventory:
    """The one CloudFormation stack of a CDK cloud assembly (out/cdk_payments/)."""
    artifacts = _read(directory / "manifest.json")["artifacts"]
    stacks = [(n, a) for n, a in artifacts.items() if a["type"] == "aws:cloudformation:stack"]
    if len(stacks) != 1:
        raise MissingOutput(f"{directory}: expected one stack in the cloud assembly, found {len(stacks)}")
    name, artifact = stacks[0]
    return CloudFormation(name, _read(directory / artifact["properties"]["templateFile"]))


def cdktf_output(directory: Path) -> Inventory:
    """The one stack of a CDKTF output (out/cdktf_transactions/)."""
    stacks = _read(directory / "manifest.json")["stacks"]
    if len(stacks) != 1:
        raise MissingOutput(f"{directory}: expected one stack in the CDKTF output, found {len(stacks)}")
    (name, stack), *_ = stacks.items()
    return Terraform(name, _read(directory / stack["synthesizedStackPath"]))


def pulumi_export(directory: Path) -> Inventory:
    """A resources.json in the shape of `pulumi stack export` (out/pulumi_*/)."""
    return Pulumi(_read(directory / "resources.json"))


STACKS: dict[str, Callable[[Path], Inventory]] = {
    "cdk_payments": cloud_assembly,
    "pulumi_fraud_pipeline": pulumi_export,
    "cdktf_transactions": cdktf_output,
    "pulumi_trading_dr": pulumi_export,
}


def graphs(out: Path, stacks: list[str]) -> dict[str, Graph]:
    return {stack: build(STACKS[stack](out / stack)) for stack in stacks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diagrams", description=__doc__)
    parser.add_argument("stacks", nargs="*", help=f"any of {', '.join(STACKS)} (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="where make synth-all wrote (out/)")
    parser.add_argument("--png-dir", type=Path, default=ROOT / "docs" / "diagrams", help="the README's PNGs")
    parser.add_argument("--dot", action="store_true", help="print DOT instead (no Graphviz needed)")
    args = parser.parse_args(argv)
    stacks = args.stacks or list(STACKS)
    if unknown := set(stacks) - set(STACKS):
        parser.error(f"unknown stack(s): {', '.join(sorted(unknown))}")
    if not args.dot and shutil.which("dot") is None:
        print(INSTALL_GRAPHVIZ, file=sys.stderr)
        return 2
    try:
        drawn = graphs(args.out, stacks)
    except MissingOutput as error:
        print(f"diagrams: {error}", file=sys.stderr)
        return 1

    for stack, graph in drawn.items():
        dot = to_dot(graph)
        if args.dot:
            print(dot.source)
            continue
        svg = args.out / stack / "diagram.svg"
        svg.write_bytes(dot.pipe(format="svg"))
        args.png_dir.mkdir(parents=True, exist_ok=True)
        png = args.png_dir / f"{stack}.png"
        png.write_bytes(dot.pipe(format="png"))
        print(f"{stack}: {len(graph.nodes)} resources, {len(graph.edges)} edges -> {svg}, {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
