"""SAM (``Transform: AWS::Serverless-2016-10-31``): the common ``AWS::Serverless::*`` types
expanded into the CloudFormation resources SAM generates from them, as far as the rules read
them (a function's tracing, timeout, dead-letter queue and invoke config; its event sources as
mappings, subscriptions, rules and permissions; an API's stage), with ``Globals`` applied.

Logical ids follow SAM's (``<Function><Event>``, ``<Api><Stage>Stage``, ``ServerlessRestApi``),
so a finding names what ``sam build`` would deploy. A type not expanded here is listed as not
read (the ``input-read`` rule), never passed silently.
"""

from __future__ import annotations

import copy
from typing import Any

from policies.loaders.base import InputError

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_GLOBAL_SECTIONS = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::HttpApi": "HttpApi",
    "AWS::Serverless::SimpleTable": "SimpleTable",
    "AWS::Serverless::StateMachine": "StateMachine",
    "AWS::Serverless::LayerVersion": "LayerVersion",
}
# Event types SAM turns into an event source mapping (Lambda polls; failures stay in the source).
_POLLED = {"SQS", "Kinesis", "DynamoDB", "MSK", "MQ", "SelfManagedKafka", "DocumentDB"}
# Event types whose service invokes the function asynchronously, and its principal.
_ASYNC = {
    "S3": "s3.amazonaws.com",
    "CloudWatchLogs": "logs.amazonaws.com",
    "IoTRule": "iot.amazonaws.com",
    "AlexaSkill": "alexa-appkit.amazon.com",
    "Cognito": "cognito-idp.amazonaws.com",
}
_RULES = {"Schedule", "CloudWatchEvent", "EventBridgeRule"}
_SYNC = {"Api", "HttpApi"}  # invoked synchronously: nothing to keep on failure


def _merge(defaults: Any, own: Any) -> Any:
    """Globals under a resource's own properties: maps merge, the resource's value wins."""
    if isinstance(defaults, dict) and isinstance(own, dict) and not any(k.startswith("Fn::") for k in own):
        merged = dict(defaults)
        for key, value in own.items():
            merged[key] = _merge(defaults.get(key), value) if key in defaults else value
        return merged
    return own


def _tags(raw: Any) -> Any:
    """SAM's tag map as CloudFormation's list of Key/Value, with the tag SAM adds."""
    tags = [{"Key": "lambda:createdBy", "Value": "SAM"}]
    if isinstance(raw, dict):
        tags += [{"Key": k, "Value": v} for k, v in raw.items()]
    return tags


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


class _Expander:
    def __init__(self, resources: dict[str, Any], globals_: dict[str, Any], path: str) -> None:
        self.source = resources
        self.globals = globals_ if isinstance(globals_, dict) else {}
        self.path = path
        self.out: dict[str, Any] = {}
        self.unread: list[str] = []
        self.implicit_rest: dict[str, Any] | None = None
        self.implicit_http: dict[str, Any] | None = None

    def properties(self, logical_id: str, body: dict[str, Any]) -> dict[str, Any]:
        own = body.get("Properties") or {}
        if not isinstance(own, dict):
            raise InputError(f"{self.path}: resource {logical_id} has Properties that are not an object")
        section = self.globals.get(_GLOBAL_SECTIONS.get(body["Type"], ""), {})
        return _merge(copy.deepcopy(section), own) if isinstance(section, dict) else own

    def emit(self, logical_id: str, type_: str, properties: dict[str, Any], body: dict[str, Any]) -> None:
        made = {"Type": type_, "Properties": properties}
        if isinstance(body.get("Metadata"), dict):
            made["Metadata"] = body["Metadata"]
        self.out[logical_id] = made

    def run(self) -> tuple[dict[str, Any], list[str]]:
        for logical_id, body in self.source.items():
            type_ = body.get("Type") if isinstance(body, dict) else None
            if not (isinstance(type_, str) and type_.startswith("AWS::Serverless::")):
                self.out[logical_id] = body
                continue
            handler = getattr(self, "_" + type_.removeprefix("AWS::Serverless::").lower(), None)
            if handler is None:
                self.unread.append(
                    f"{type_} {logical_id}: SAM type not expanded, what it generates is not read"
                )
                continue
            handler(logical_id, body, self.properties(logical_id, body))
        for name, props in (
            ("ServerlessRestApi", self.implicit_rest),
            ("ServerlessHttpApi", self.implicit_http),
        ):
            if props is not None:
                kind = "_api" if name == "ServerlessRestApi" else "_httpapi"
                getattr(self, kind)(name, {"Type": "implicit"}, props)
        return self.out, self.unread

    # AWS::Serverless::Function
    def _function(self, logical_id: str, body: dict[str, Any], props: dict[str, Any]) -> None:
        function: dict[str, Any] = {
            k: v
            for k, v in props.items()
            if k
            in (
                "FunctionName",
                "Handler",
                "Runtime",
                "Timeout",
                "MemorySize",
                "Environment",
                "VpcConfig",
                "KmsKeyArn",
                "Layers",
                "LoggingConfig",
                "ReservedConcurrentExecutions",
                "Architectures",
                "EphemeralStorage",
                "FileSystemConfigs",
                "ImageConfig",
                "PackageType",
                "CodeSigningConfigArn",
                "SnapStart",
                "RuntimeManagementConfig",
                "Description",
            )
        }
        function["Role"] = props.get("Role", _arn(f"{logical_id}Role"))
        function["Tags"] = _tags(props.get("Tags"))
        if "Tracing" in props:
            function["TracingConfig"] = {"Mode": props["Tracing"]}
        dlq = props.get("DeadLetterQueue")
        if isinstance(dlq, dict) and "TargetArn" in dlq:
            function["DeadLetterConfig"] = {"TargetArn": dlq["TargetArn"]}
        self.emit(logical_id, "AWS::Lambda::Function", function, body)
        if "Role" not in props:
            self.emit(f"{logical_id}Role", "AWS::IAM::Role", {"Tags": _tags(props.get("Tags"))}, {})
        invoke = props.get("EventInvokeConfig")
        if isinstance(invoke, dict):
            config = {
                k: v for k, v in invoke.items() if k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
            }
            destinations = invoke.get("DestinationConfig")
            if isinstance(destinations, dict):
                config["DestinationConfig"] = {
                    when: {"Destination": target.get("Destination", target.get("Type"))}
                    for when, target in destinations.items()
                    if isinstance(target, dict)
                }
            config |= {"FunctionName": {"Ref": logical_id}, "Qualifier": "$LATEST"}
            self.emit(f"{logical_id}EventInvokeConfig", "AWS::Lambda::EventInvokeConfig", config, {})
        events = props.get("Events") or {}
        for name, event in events.items() if isinstance(events, dict) else ():
            if isinstance(event, dict):
                self._event(logical_id, f"{logical_id}{name}", event)

    def _event(self, function: str, event_id: str, event: dict[str, Any]) -> None:
        kind, props = event.get("Type"), event.get("Properties") or {}
        if not isinstance(props, dict):
            props = {}
        if kind in _POLLED:
            mapping = {
                "FunctionName": {"Ref": function},
                "EventSourceArn": props.get(
                    "Queue", props.get("Stream", props.get("Broker", props.get("Cluster")))
                ),
            }
            if "DestinationConfig" in props:
                mapping["DestinationConfig"] = props["DestinationConfig"]
            self.emit(event_id, "AWS::Lambda::EventSourceMapping", mapping, {})
        elif kind == "SNS":
            sqs = props.get("SqsSubscription")
            if (
                sqs
            ):  # SAM puts a queue (its own, without a DLQ, unless one is named) between topic and function
                queue = props["SqsSubscription"].get("QueueArn") if isinstance(sqs, dict) else None
                if queue is None:
                    self.emit(f"{event_id}Queue", "AWS::SQS::Queue", {}, {})
                    queue = _arn(f"{event_id}Queue")
                self.emit(
                    event_id,
                    "AWS::SNS::Subscription",
                    {"Protocol": "sqs", "Endpoint": queue, "TopicArn": props.get("Topic")},
                    {},
                )
                self.emit(
                    f"{event_id}EventSourceMapping",
                    "AWS::Lambda::EventSourceMapping",
                    {"FunctionName": {"Ref": function}, "EventSourceArn": queue},
                    {},
                )
                return
            self.emit(
                event_id,
                "AWS::SNS::Subscription",
                {"Protocol": "lambda", "Endpoint": _arn(function), "TopicArn": props.get("Topic")},
                {},
            )
            self._permission(function, event_id, "sns.amazonaws.com")
        elif kind in _ASYNC:
            self._permission(function, event_id, _ASYNC[kind])
        elif kind in _RULES or kind == "ScheduleV2":
            target = {"Arn": _arn(function), "Id": f"{event_id}LambdaTarget"}
            if isinstance(props.get("DeadLetterConfig"), dict):
                target["DeadLetterConfig"] = props["DeadLetterConfig"]
            if kind == "ScheduleV2":
                self.emit(event_id, "AWS::Scheduler::Schedule", {"Target": target}, {})
                self._permission(function, event_id, "scheduler.amazonaws.com")
                return
            rule = {"Targets": [target]}
            for key in ("Pattern", "Schedule", "EventBusName", "Name", "State"):
                if key in props:
                    rule[
                        "EventPattern"
                        if key == "Pattern"
                        else "ScheduleExpression"
                        if key == "Schedule"
                        else key
                    ] = props[key]
            self.emit(event_id, "AWS::Events::Rule", rule, {})
            self._permission(function, event_id, "events.amazonaws.com")
        elif kind in _SYNC:
            if kind == "Api" and "RestApiId" not in props:
                self.implicit_rest = (
                    self.globals.get("Api", {}) if isinstance(self.globals.get("Api"), dict) else {}
                )
            if kind == "HttpApi" and "ApiId" not in props:
                self.implicit_http = (
                    self.globals.get("HttpApi", {}) if isinstance(self.globals.get("HttpApi"), dict) else {}
                )
        else:
            self.unread.append(f"event {event_id} of type {kind}: not expanded, its trigger is not read")

    def _permission(self, function: str, event_id: str, principal: str) -> None:
        self.emit(
            f"{event_id}Permission",
            "AWS::Lambda::Permission",
            {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": function}, "Principal": principal},
            {},
        )

    # AWS::Serverless::Api (and the implicit ServerlessRestApi, stage Prod)
    def _api(self, logical_id: str, body: dict[str, Any], props: dict[str, Any]) -> None:
        stage_name = props.get("StageName", "Prod")
        api = {"Name": props["Name"]} if "Name" in props else {}
        self.emit(logical_id, "AWS::ApiGateway::RestApi", {**api, "Tags": _tags(props.get("Tags"))}, body)
        self.emit(
            f"{logical_id}Deployment", "AWS::ApiGateway::Deployment", {"RestApiId": {"Ref": logical_id}}, {}
        )
        stage = {
            "RestApiId": {"Ref": logical_id},
            "DeploymentId": {"Ref": f"{logical_id}Deployment"},
            "StageName": stage_name,
            "Tags": _tags(props.get("Tags")),
        }
        for key in (
            "AccessLogSetting",
            "MethodSettings",
            "TracingEnabled",
            "CacheClusterEnabled",
            "Variables",
        ):
            if key in props:
                stage[key] = props[key]
        stage_id = f"{logical_id}{stage_name}Stage" if isinstance(stage_name, str) else f"{logical_id}Stage"
        self.emit(stage_id, "AWS::ApiGateway::Stage", stage, {})

    # AWS::Serverless::HttpApi (and the implicit ServerlessHttpApi, stage $default)
    def _httpapi(self, logical_id: str, body: dict[str, Any], props: dict[str, Any]) -> None:
        stage_name = props.get("StageName", "$default")
        tags = props.get("Tags") if isinstance(props.get("Tags"), dict) else {}
        self.emit(logical_id, "AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP", "Tags": tags}, body)
        stage = {"ApiId": {"Ref": logical_id}, "StageName": stage_name, "AutoDeploy": True, "Tags": tags}
        for key in ("AccessLogSettings", "DefaultRouteSettings", "RouteSettings", "StageVariables"):
            if key in props:
                stage[key] = props[key]
        stage_id = "ApiGatewayDefaultStage" if stage_name == "$default" else f"{logical_id}{stage_name}Stage"
        self.emit(stage_id, "AWS::ApiGatewayV2::Stage", stage, {})

    def _simpletable(self, logical_id: str, body: dict[str, Any], props: dict[str, Any]) -> None:
        table = {
            k: v for k, v in props.items() if k in ("TableName", "SSESpecification", "ProvisionedThroughput")
        }
        tags = props.get("Tags")
        if isinstance(tags, dict):
            table["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self.emit(logical_id, "AWS::DynamoDB::Table", table, body)

    def _statemachine(self, logical_id: str, body: dict[str, Any], props: dict[str, Any]) -> None:
        machine = {"Tags": _tags(props.get("Tags"))}
        if "Name" in props:
            machine["StateMachineName"] = props["Name"]
        for key in ("Logging", "Tracing", "Type", "RoleArn"):
            if key in props:
                machine[
                    "LoggingConfiguration"
                    if key == "Logging"
                    else "TracingConfiguration"
                    if key == "Tracing"
                    else "StateMachineType"
                    if key == "Type"
                    else key
                ] = props[key]
        self.emit(logical_id, "AWS::StepFunctions::StateMachine", machine, body)
        events = props.get("Events") or {}
        for name, event in events.items() if isinstance(events, dict) else ():
            if isinstance(event, dict) and event.get("Type") not in _RULES | _SYNC:
                self.unread.append(f"event {logical_id}{name} of type {event.get('Type')}: not expanded")

    def _layerversion(self, logical_id: str, body: dict[str, Any], props: dict[str, Any]) -> None:
        layer = {k: v for k, v in props.items() if k in ("LayerName", "CompatibleRuntimes", "Description")}
        self.emit(logical_id, "AWS::Lambda::LayerVersion", layer, body)

    def _application(self, logical_id: str, body: dict[str, Any], props: dict[str, Any]) -> None:
        self.unread.append(
            f"AWS::Serverless::Application {logical_id}: a nested application, its template is not read"
        )

    def _connector(self, logical_id: str, body: dict[str, Any], props: dict[str, Any]) -> None:
        """IAM policies between two resources: no rule here judges IAM policies, nothing to expand."""


def expand_sam(resources: dict[str, Any], globals_: Any, path: str) -> tuple[dict[str, Any], list[str]]:
    """The resources with every AWS::Serverless::* expanded, and what was not."""
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            return resources, []  # the loader reports the malformed resource
        if str(body["Type"]).startswith("AWS::Serverless::") and not isinstance(
            body.get("Properties", {}), dict
        ):
            raise InputError(f"{path}: resource {logical_id} has Properties that are not an object")
    return _Expander(resources, globals_ if isinstance(globals_, dict) else {}, path).run()
