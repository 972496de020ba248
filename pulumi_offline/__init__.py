"""Run a Pulumi program offline (Pulumi mocks: no cloud, no CLI, no plugins) and write what the
engine received as ``pulumi stack export`` would show it: ``resources.json``.

Both Pulumi stacks use it (``python -m pulumi_fraud_pipeline.offline``,
``python -m pulumi_trading_dr.offline``). The document follows Pulumi's published deployment
schema, version 3 (``schema.py``; ``check`` enforces it and what a schema cannot say):

- ``manifest``: ``time`` (``SOURCE_DATE_EPOCH``, else the Unix epoch: the file is byte-stable),
  ``version`` (the Pulumi SDK's) and ``magic`` (sha256 of the version, as the engine computes it).
- resources in the engine's order (topological: providers, parents and dependencies first; ties
  by URN), the stack first with its ``outputs``; URNs formed as the engine forms them (children of
  the stack carry no ``pulumi:pulumi:Stack$`` prefix; deeper children the whole parent type chain);
  ``id`` and ``provider`` only on custom resources; ``dependencies`` from the RegisterResource
  request, so explicit ``depends_on`` is included.
- property values in the engine's encoding: archives and assets as signature objects with their
  path (relative to the repo), secrets as signature objects whose ciphertext is withheld (no
  secrets provider runs offline: nothing secret is written), unknowns as the engine's unknown
  marker, whole numbers as integers.
- keys sorted, two-space indent: two runs of an unchanged program write the same bytes.

Values AWS assigns at creation come from ``FakeAws``: ids are ``<name>-id``, the account is
123456789012, ARNs and endpoints are formed in the region of the resource's provider. Its data
sources answer as a plain account would: ``getCallerIdentity``; ``getAvailabilityZones``, four
zones per region whose letters do not follow their zone IDs (as in a real account); ``getZone``
by id, the public hosted zones the stack's config declares (``<ns>:hostedZoneId`` with the
parent domain of ``<ns>:apiDomainName`` as its name), any other id not found.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from pulumi_offline.schema import DEPLOYMENT_V3

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
WITHHELD = "withheld: offline run, no secrets provider"
Program = Callable[[], Mapping[str, Any]]


class FakeAws(pulumi.runtime.Mocks):
    """Plausible AWS-assigned attributes, in the region of each resource's provider."""

    def __init__(self, default_region: str, hosted_zones: Mapping[str, str] | None = None) -> None:
        self.default_region = default_region
        self.provider_regions: dict[str, str] = {}  # provider id -> region
        self.hosted_zones = dict(hosted_zones or {})  # public zone id -> name

    def region_of(self, args: pulumi.runtime.MockResourceArgs | pulumi.runtime.MockCallArgs) -> str:
        inputs = getattr(args, "inputs", None) or getattr(args, "args", None) or {}
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        return inputs.get("region") or self.provider_regions.get(provider_id, self.default_region)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id = f"{args.name}-id"
        state = dict(args.inputs)
        if args.typ == "pulumi:providers:aws":
            self.provider_regions[resource_id] = state.get("region", self.default_region)
            return resource_id, state
        region = self.region_of(args)
        name = state.get("name") or args.name
        service = args.typ.split(":")[1].split("/")[0]
        kind = args.typ.rsplit(":", 1)[1].lower()
        state.setdefault("arn", f"arn:aws:{service}:{region}:{ACCOUNT}:{kind}/{name}")
        state.update(self._extra(args, region, name, state))
        return resource_id, state

    @staticmethod
    def _extra(args: pulumi.runtime.MockResourceArgs, region: str, name: str, state: dict) -> dict[str, Any]:
        api_host = f"{args.name}-id.execute-api.{region}.amazonaws.com"
        cluster = state.get("clusterIdentifier")
        return {
            "aws:sqs/queue:Queue": {
                "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}",
                "arn": f"arn:aws:sqs:{region}:{ACCOUNT}:{name}",
            },
            "aws:sns/topic:Topic": {"arn": f"arn:aws:sns:{region}:{ACCOUNT}:{name}"},
            "aws:lambda/function:Function": {
                "arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}",
                "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}/invocations",
            },
            "aws:lambda/layerVersion:LayerVersion": {
                "arn": f"arn:aws:lambda:{region}:{ACCOUNT}:layer:{state.get('layerName')}:1"
            },
            "aws:dynamodb/table:Table": {
                "arn": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}",
                "streamArn": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}/stream/mock",
            },
            "aws:apigateway/restApi:RestApi": {
                "rootResourceId": "root-id",
                "executionArn": f"arn:aws:execute-api:{region}:{ACCOUNT}:{args.name}-id",
            },
            "aws:apigateway/stage:Stage": {
                "invokeUrl": f"https://{api_host}/{state.get('stageName')}",
                "arn": f"arn:aws:apigateway:{region}::/restapis/api-id/stages/{state.get('stageName')}",
            },
            "aws:apigateway/domainName:DomainName": {
                "regionalDomainName": f"d-{args.name}.execute-api.{region}.amazonaws.com",
                "regionalZoneId": f"Z-APIGW-{region}",
            },
            "aws:ec2/vpcEndpoint:VpcEndpoint": {"prefixListId": "pl-mock"},
            "aws:lambda/eventSourceMapping:EventSourceMapping": {
                "uuid": f"{args.name}-uuid",
                "arn": f"arn:aws:lambda:{region}:{ACCOUNT}:event-source-mapping:{args.name}-uuid",
            },
            "aws:ec2/vpc:Vpc": {"cidrBlock": state.get("cidrBlock")},
            "aws:cloudwatch/logGroup:LogGroup": {"arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}"},
            "aws:kms/key:Key": {
                "arn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{args.name}-id",
                "keyId": f"{args.name}-id",
            },
            "aws:s3/bucket:Bucket": {
                "arn": f"arn:aws:s3:::{state.get('bucket')}",
                "bucketRegionalDomainName": f"{state.get('bucket')}.s3.{region}.amazonaws.com",
            },
            "aws:rds/cluster:Cluster": {
                "arn": f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{cluster}",
                # A global database's secondary (it joins without a master user) has an inactive
                # writer endpoint, which the provider records empty, as AWS answers it.
                "endpoint": ""
                if state.get("globalClusterIdentifier") and not state.get("masterUsername")
                else f"{cluster}.cluster-mock.{region}.rds.amazonaws.com",
                "readerEndpoint": f"{cluster}.cluster-ro-mock.{region}.rds.amazonaws.com",
            },
            "aws:rds/globalCluster:GlobalCluster": {
                "arn": f"arn:aws:rds::{ACCOUNT}:global-cluster:{state.get('globalClusterIdentifier')}"
            },
            "aws:secretsmanager/secret:Secret": {
                "arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}-AbCdEf"
            },
            "aws:route53/healthCheck:HealthCheck": {"arn": f"arn:aws:route53:::healthcheck/{args.name}-id"},
            "aws:acm/certificate:Certificate": {
                "arn": f"arn:aws:acm:{region}:{ACCOUNT}:certificate/{args.name}-id",
                "domainValidationOptions": [
                    {
                        "domainName": state.get("domainName"),
                        "resourceRecordName": f"_mock.{state.get('domainName')}.",
                        "resourceRecordType": "CNAME",
                        "resourceRecordValue": "_mock.acm-validations.aws.",
                    }
                ],
            },
            "aws:cloudwatch/metricAlarm:MetricAlarm": {
                "arn": f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{state.get('name')}"
            },
            "aws:cloudwatch/compositeAlarm:CompositeAlarm": {
                "arn": f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{state.get('alarmName')}"
            },
            "aws:cloudwatch/eventRule:EventRule": {"arn": f"arn:aws:events:{region}:{ACCOUNT}:rule/{name}"},
            "aws:synthetics/canary:Canary": {"arn": f"arn:aws:synthetics:{region}:{ACCOUNT}:canary:{name}"},
            "random:index/randomPassword:RandomPassword": {"result": "offline-mock-value"},
        }.get(args.typ, {})

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any] | tuple[dict, list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":  # noqa: S105 (a function token)
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/offline",
                "userId": "offline",
                "id": ACCOUNT,
            }
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":  # noqa: S105
            return self.availability_zones(self.region_of(args))
        if args.token == "aws:route53/getZone:getZone":  # noqa: S105
            return self.hosted_zone(args.args.get("zoneId"))
        return {}

    @staticmethod
    def availability_zones(region: str) -> dict[str, Any]:
        """Names in letter order, as the provider sorts them; the IDs they stand for in this
        (imaginary) account are not in that order: ``<region>a`` is ``az3``."""
        parts = region.split("-")
        prefix = parts[0] + "".join(p[0] for p in parts[1:-1]) + parts[-1]  # use1, usw2, euc1
        return {
            "id": region,
            "names": [f"{region}{letter}" for letter in "abcd"],
            "zoneIds": [f"{prefix}-az{n}" for n in (3, 4, 1, 2)],
            "groupNames": [region] * 4,
            "state": "available",
        }

    def hosted_zone(self, zone_id: str | None) -> dict[str, Any] | tuple[dict, list[tuple[str, str]]]:
        """A public hosted zone the config declares; any other id is not found, as in Route 53.
        A failure is answered as the engine reports a provider's (the invoke raises where it is
        called); an exception here would be an RPC crash instead."""
        if zone_id not in self.hosted_zones:
            return {}, [("zoneId", f"NoSuchHostedZone: No hosted zone found with ID: {zone_id}")]
        return {
            "id": zone_id,
            "zoneId": zone_id,
            "name": self.hosted_zones[zone_id],
            "privateZone": False,
            "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
            "nameServers": [f"ns-{n}.awsdns-mock.net" for n in range(4)],
            "resourceRecordSetCount": 2,
        }


def declared_hosted_zones(config: Mapping[str, str]) -> dict[str, str]:
    """``<ns>:hostedZoneId`` -> the parent domain of ``<ns>:apiDomainName``: the public zone a
    stack's config says it owns, answered by ``FakeAws`` offline."""
    zones = {}
    for key, zone_id in config.items():
        namespace, _, name = key.partition(":")
        domain = config.get(f"{namespace}:apiDomainName", "")
        if name == "hostedZoneId" and "." in domain:
            zones[zone_id] = domain.split(".", 1)[1]
    return zones


def engine_urn(parent: str, type_: str, name: str) -> str:
    """The URN the engine forms: the parent's whole qualified type, except the root stack's."""
    qualified = type_
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != ROOT_STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])


def encode(value: Any) -> Any:
    """A deserialized property value in the engine's JSON encoding."""
    if isinstance(value, (pulumi.FileArchive, pulumi.FileAsset)):
        path = Path(value.path).resolve()
        sig = rpc._special_archive_sig if isinstance(value, pulumi.FileArchive) else rpc._special_asset_sig
        return {
            rpc._special_sig_key: sig,
            "path": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        }
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, pulumi.output.Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return {rpc._special_sig_key: rpc._special_secret_sig, "ciphertext": WITHHELD}
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"no engine encoding for {type(value).__name__}: {value!r}")


def archive_path(value: dict[str, Any]) -> str:
    """The path of an archive property value as ``encode`` writes it."""
    if value.get(rpc._special_sig_key) != rpc._special_archive_sig:
        raise ValueError(f"not an archive: {value!r}")
    return value["path"]


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, forming URNs as the engine does and keeping every RegisterResource request."""

    def __init__(self, fake: pulumi.runtime.Mocks) -> None:
        super().__init__(fake)
        self.registrations: list[dict[str, Any]] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(parent, type_, name)

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        entry: dict[str, Any] = {"urn": response.urn, "custom": bool(request.custom), "type": request.type}
        if request.custom and response.id:
            entry["id"] = response.id
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True) if request.object else {}
        entry["inputs"] = encode(inputs)
        if request.parent:
            entry["parent"] = request.parent
        entry["dependencies"] = sorted(set(request.dependencies))
        if request.custom and request.provider:
            entry["provider"] = request.provider
        if request.protect:
            entry["protect"] = True
        self.registrations.append(entry)
        return response


def engine_order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Topological order (parent, provider and dependencies first), ties broken by URN."""
    by_urn = {r["urn"]: r for r in resources}

    def before(resource: dict[str, Any]) -> set[str]:
        urns = set(resource["dependencies"])
        if "parent" in resource:
            urns.add(resource["parent"])
        if "provider" in resource:
            urns.add(resource["provider"].rsplit("::", 1)[0])
        return urns & by_urn.keys()

    waiting = {urn: before(r) for urn, r in by_urn.items()}
    dependents: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for urn, needs in waiting.items():
        for need in needs:
            dependents[need].append(urn)
    ready = [urn for urn, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    ordered = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for dependent in dependents[urn]:
            waiting[dependent].discard(urn)
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    if len(ordered) != len(resources):
        raise ValueError("dependency cycle among: " + ", ".join(u for u, n in waiting.items() if n))
    return ordered


def manifest() -> dict[str, str]:
    version = metadata.version("pulumi")
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    return {
        "time": datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z"),
        "magic": hashlib.sha256(version.encode()).hexdigest(),
        "version": version,
    }


class StackFileError(Exception):
    """No ``Pulumi.<stack>.yaml`` to read, or one that is not YAML: the offline run's config mistake."""


def load_stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        # The offline run has no Pulumi service to ask: the stack file is its only config.
        raise StackFileError(
            f"{path.name}: no such file in {project_dir.name}/; create it with `pulumi stack init {stack}` "
            f"and `pulumi config set <key> <value> --stack {stack}` there, or copy Pulumi.dev.yaml"
        )
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name}: not YAML ({' '.join(str(error).split())})") from None
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in (data.get("config") or {}).items()
    }


def project_name(project_dir: Path) -> str:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]


def run(
    project_dir: Path,
    stack: str,
    config: Mapping[str, str],
    program: Program,
    fake: FakeAws | None = None,
) -> dict[str, Any]:
    """Run ``program`` (returns the stack outputs) under mocks (``fake``, by default a ``FakeAws``
    for ``config``); return the export document."""
    pulumi.runtime.set_all_config(dict(config))
    settings.ROOT.set(None)  # a new root stack per run: programs can run one after another in a process
    if fake is None:
        fake = FakeAws(config.get("aws:region", "us-east-1"), declared_hosted_zones(config))
    monitor = RecordingMonitor(fake)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project_name(project_dir), stack=stack, preview=False, monitor=monitor
    )
    mocks.SETTINGS.rpc_manager.clear()  # type: ignore[attr-defined]

    outputs: dict[str, Any] = {}

    # Awaited inside run_pulumi_func's loop: a nested _sync_await per output would refill the loop's
    # ready queue with a cancelled handle per pending callback (300,000 in the DR program, ~1 s of CPU).
    async def main() -> None:
        for name, value in program().items():
            pulumi.export(name, value)
            output = pulumi.Output.from_input(value)
            secret = await output.is_secret()
            resolved = await output.future(with_unknowns=True)
            outputs[name] = (
                {rpc._special_sig_key: rpc._special_secret_sig, "value": resolved} if secret else resolved
            )

    _sync_await(run_pulumi_func(main))
    resources = monitor.registrations
    stack_entry = next(r for r in resources if r["type"] == ROOT_STACK_TYPE)
    stack_entry["outputs"] = encode(outputs)
    rest = engine_order([r for r in resources if r is not stack_entry])
    return {"version": 3, "deployment": {"manifest": manifest(), "resources": [stack_entry, *rest]}}


def check(document: dict[str, Any]) -> None:
    """Raise ValueError unless the document is a valid version-3 export as the engine writes it."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(DEPLOYMENT_V3).iter_errors(document), key=str)
    if errors:
        raise ValueError(
            f"resources.json is not a valid deployment: {errors[0].message} at {errors[0].json_path}"
        )
    resources = document["deployment"]["resources"]
    if resources[0]["type"] != ROOT_STACK_TYPE or any(r["type"] == ROOT_STACK_TYPE for r in resources[1:]):
        raise ValueError("the stack must come first, once")
    seen: set[str] = set()
    for resource in resources:
        urn, qualified = resource["urn"], resource["urn"].split("::")[2]
        if not qualified.endswith(resource["type"]) or qualified.startswith(f"{ROOT_STACK_TYPE}$"):
            raise ValueError(f"{urn}: not a URN the engine forms for type {resource['type']}")
        if ("id" in resource or "provider" in resource) and not resource.get("custom"):
            raise ValueError(f"{urn}: a component has no id or provider")
        parent = resource.get("parent")
        if parent is not None:
            parent_type = parent.split("::")[2]
            expected = (
                resource["type"] if parent_type == ROOT_STACK_TYPE else f"{parent_type}${resource['type']}"
            )
            if qualified != expected or parent not in seen:
                raise ValueError(f"{urn}: parent {parent} does not precede it or does not qualify its type")
        needs = set(resource.get("dependencies", []))
        if "provider" in resource:
            needs.add(resource["provider"].rsplit("::", 1)[0])
        if not needs <= seen:
            raise ValueError(f"{urn}: depends on {sorted(needs - seen)}, which do not precede it")
        if urn in seen:
            raise ValueError(f"{urn}: registered twice")
        if '"plaintext"' in json.dumps(resource):
            raise ValueError(f"{urn}: a secret is written in plaintext")
        seen.add(urn)


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(document: dict[str, Any], out: Path) -> Path:
    """Check ``document`` and write it as ``out/resources.json``; an unchanged file is left alone."""
    check(document)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "resources.json"
    text = dumps(document)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def _errors(config_error: type[Exception] | tuple[type[Exception], ...]) -> tuple[type[Exception], ...]:
    return config_error if isinstance(config_error, tuple) else (config_error,)


def config_error_exit(project: str, stack: str, error: Exception) -> SystemExit:
    """A stack's ConfigError as one line and exit 2: the message names the key and the fix."""
    fix = (
        ""
        if isinstance(error, StackFileError)
        else f" (Pulumi.{stack}.yaml: pulumi config set <key> <value>)"
    )
    print(f"error: {project} ({stack}): {error}{fix}", file=sys.stderr)
    return SystemExit(2)


def main(
    project_dir: Path,
    program: Program,
    argv: list[str] | None = None,
    *,
    config_error: type[Exception] | tuple[type[Exception], ...] = (),
) -> None:
    """``python -m <stack>.offline [--stack dev] [--out DIR] [--set key=value ...]``; a
    ``config_error`` the program raises is one line and exit 2, not a traceback."""
    stack_package = project_dir.name
    parser = argparse.ArgumentParser(description=f"{stack_package}: the program offline, as resources.json")
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--out", default=str(ROOT / "out" / stack_package))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value of Pulumi.<stack>.yaml (like pulumi config set)",
    )
    args = parser.parse_args(argv)
    from lambda_src.build import build as build_lambdas

    build_lambdas()
    try:
        config = load_stack_config(project_dir, args.stack)
        for item in args.set:
            key, _, value = item.partition("=")
            config[key] = value
        document = run(project_dir, args.stack, config, program)
    except (StackFileError, *_errors(config_error)) as error:
        raise config_error_exit(stack_package, args.stack, error) from None
    target = write(document, Path(args.out))
    print(f"{len(document['deployment']['resources'])} resources -> {target}")
