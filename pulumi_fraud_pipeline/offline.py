"""Run the Pulumi program offline (mocks: no cloud, no Pulumi CLI) and write what the engine
received in the shape of ``pulumi stack export``: out/pulumi_fraud_pipeline/resources.json.

    python -m pulumi_fraud_pipeline.offline [--stack dev] [--out out/pulumi_fraud_pipeline]

Each resource: urn, type, custom, inputs (engine names, camelCase), parent, dependencies (URNs,
explicit depends_on included: recorded from the RegisterResource request, which carries them,
unlike the mocks' new_resource), provider (custom resources); the stack first, with its outputs.
Values AWS assigns at creation (ids, ARNs, URLs) come from the mocks below: ids are
``<name>-id``, the account is 123456789012.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIR = Path(__file__).resolve().parent
ACCOUNT = "123456789012"
UNKNOWN = "<unknown>"  # an input the engine would only know after apply (none with these mocks)


class FakeAws(pulumi.runtime.Mocks):
    """Plausible AWS-assigned attributes, so dependent inputs show real-looking values."""

    def __init__(self, region: str) -> None:
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        name = state.get("name") or args.name
        service = args.typ.split(":")[1].split("/")[0]
        arn = f"arn:aws:{service}:{self.region}:{ACCOUNT}:{args.typ.rsplit(':', 1)[1].lower()}/{name}"
        state.setdefault("arn", arn)
        extra = {
            "aws:sqs/queue:Queue": {
                "url": f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{name}",
                "arn": f"arn:aws:sqs:{self.region}:{ACCOUNT}:{name}",
            },
            "aws:sns/topic:Topic": {"arn": f"arn:aws:sns:{self.region}:{ACCOUNT}:{name}"},
            "aws:lambda/function:Function": {
                "arn": f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}",
                "invokeArn": f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
                f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}/invocations",
            },
            "aws:dynamodb/table:Table": {"arn": f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{name}"},
            "aws:apigateway/restApi:RestApi": {
                "rootResourceId": "root-id",
                "executionArn": f"arn:aws:execute-api:{self.region}:{ACCOUNT}:{name}-id",
            },
            "aws:apigateway/stage:Stage": {
                "invokeUrl": f"https://{args.name}-id.execute-api.{self.region}.amazonaws.com/{state.get('stageName')}",
                "arn": f"arn:aws:apigateway:{self.region}::/restapis/api-id/stages/{state.get('stageName')}",
            },
            "aws:ec2/vpcEndpoint:VpcEndpoint": {"prefixListId": "pl-mock"},
            "aws:cloudwatch/logGroup:LogGroup": {
                "arn": f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{name}"
            },
            "aws:kms/key:Key": {
                "arn": f"arn:aws:kms:{self.region}:{ACCOUNT}:key/{args.name}-id",
                "keyId": f"{args.name}-id",
            },
        }.get(args.typ, {})
        state.update(extra)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":  # noqa: S105 (a function token)
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/offline",
                "userId": "offline",
                "id": ACCOUNT,
            }
        return {}


def _plain(value: Any) -> Any:
    """JSON-ready values: assets as their path, whole floats (protobuf doubles) as integers."""
    if isinstance(value, str) and value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, (pulumi.FileArchive, pulumi.FileAsset)):
        path = Path(value.path).resolve()
        return {
            "archive" if isinstance(value, pulumi.FileArchive) else "asset": {
                "path": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
            }
        }
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return "[secret]"
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, keeping every RegisterResource request as the engine would see it."""

    def __init__(self, fake: pulumi.runtime.Mocks) -> None:
        super().__init__(fake)
        self.registrations: list[dict[str, Any]] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        entry: dict[str, Any] = {"urn": response.urn, "custom": bool(request.custom), "type": request.type}
        if response.id:
            entry["id"] = response.id
        entry["inputs"] = _plain(rpc.deserialize_properties(request.object)) if request.object else {}
        if request.parent:
            entry["parent"] = request.parent
        entry["dependencies"] = sorted(set(request.dependencies))
        if request.custom and request.provider:
            entry["provider"] = request.provider
        self.registrations.append(entry)
        return response


def load_stack_config(stack: str) -> dict[str, str]:
    data = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text()) or {}
    return {key: str(value) for key, value in (data.get("config") or {}).items()}


def run(stack: str = "dev", config: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the program under mocks; return the export document."""
    from pulumi_fraud_pipeline.config import FraudConfig
    from pulumi_fraud_pipeline.program import build

    values = load_stack_config(stack) if config is None else config
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["name"]
    pulumi.runtime.set_all_config(values)
    monitor = RecordingMonitor(FakeAws(values.get("aws:region", "us-east-2")))
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    mocks.SETTINGS.rpc_manager.clear()  # type: ignore[attr-defined]

    resolved: dict[str, Any] = {}

    def program() -> None:
        fraud_config = FraudConfig.from_pulumi(pulumi.Config(project), pulumi.Config("aws").get("region"))
        outputs = build(fraud_config)
        for name, value in outputs.items():
            pulumi.export(name, value)
        resolved.update(_sync_await(pulumi.Output.all(**outputs).future()) or {})

    _sync_await(run_pulumi_func(program))
    resources = monitor.registrations
    stack_entry = next(r for r in resources if r["type"] == "pulumi:pulumi:Stack")
    stack_entry["outputs"] = _plain(resolved)
    ordered = [stack_entry, *(r for r in resources if r is not stack_entry)]
    return {
        "version": 3,
        "deployment": {"manifest": {"generator": "pulumi_fraud_pipeline.offline"}, "resources": ordered},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--out", default=str(ROOT / "out" / "pulumi_fraud_pipeline"))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value of Pulumi.<stack>.yaml (like pulumi config set)",
    )
    args = parser.parse_args()
    from lambda_src.build import build as build_lambdas

    build_lambdas()
    config = load_stack_config(args.stack)
    for item in args.set:
        key, _, value = item.partition("=")
        config[key] = value
    document = run(args.stack, config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "resources.json").write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    print(f"{len(document['deployment']['resources'])} resources -> {out / 'resources.json'}")


if __name__ == "__main__":
    main()
