"""API, in both regions: a regional REST API with

- ``GET /health`` (no auth): the deep health route, a Lambda proxy integration of the region's
  health function (components/health.py): 200 while this region's database is the writer and
  reachable, 503 otherwise (``?role=any``: 200 for a reachable standby too). The Route 53 failover
  records route on it, so traffic follows the database; the canaries and the failover quorum read
  it too;
- ``POST /orders`` (a JWT bearer token, checked by a Lambda TOKEN authorizer): the body validated
  against the order model, then sent to the region's orders queue by API Gateway itself (an AWS
  integration with a role allowed sqs:SendMessage on that queue only); 202 with the message id.
  Not SigV4 (IAM auth): a SigV4 signature names one region, so after a failover every signed
  request was refused. Each region's authorizer (lambda_src/pulumi_trading_dr/authorizer) trusts
  the same public keys, issuer and audience (the API's public name), so a token is accepted by
  whichever region DNS points at; no secret and no run-time key fetch (README "Clients after a
  failover").

Each stage: X-Ray, JSON access logs of ``$context`` variables to a log group with retention
(trading-dr-17; the seed's ``$requestId ...`` format is not a valid format), and throttling for
every caller through method settings on ``*/*`` (trading-dr-18; a usage plan only limits callers
that present an API key), and ``health/GET`` in a bucket of its own (waf.py: a flood of it). A new
deployment whenever anything the deployment snapshots changes.

Access logs and execution logging need the account's API Gateway CloudWatch role, a per-account and
per-region setting this stack does not own (README: one-time setup)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_trading_dr.components.functions import FunctionSpec, regional_function, trust_policy
from pulumi_trading_dr.components.health import Health
from pulumi_trading_dr.components.orders import Orders
from pulumi_trading_dr.components.region import Region, Regions
from pulumi_trading_dr.config import TradingConfig

STAGE = "v1"
HEALTH_PATH = "/health"
LIVENESS_QUERY = "role=any"  # /health?role=any: 200 for a reachable standby too
# A method override is "{resource path without its leading /}/{HTTP method}"; the stage is not in it.
HEALTH_METHOD_PATH = f"{HEALTH_PATH.lstrip('/')}/GET"
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "principal": "$context.authorizer.principalId",  # the token's sub: who placed the order
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationStatus": "$context.integration.status",
        "integrationError": "$context.integration.error",
        "errorMessage": "$context.error.message",
    }
)
# The order API Gateway accepts (JSON Schema draft 4, what API Gateway models use); the processor
# checks the same rules again.
ORDER_MODEL = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Order",
    "type": "object",
    "additionalProperties": False,
    "required": ["order_id", "account_id", "symbol", "side", "quantity", "limit_price"],
    "properties": {
        "order_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "account_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "symbol": {"type": "string", "pattern": "^[A-Z0-9.]{1,12}$"},
        "side": {"type": "string", "enum": ["BUY", "SELL"]},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 1000000000},
        # Positive, at most 12 integer digits and 4 decimals; zero refused (no lookahead: plain regex).
        "limit_price": {
            "type": "string",
            "pattern": "^([1-9][0-9]{0,11}(\\.[0-9]{1,4})?"
            "|0\\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$",
        },
    },
}
# Route 53's checker waits 4 s for the connection and 2 s for the first byte; answer before that.
HEALTH_INTEGRATION_TIMEOUT_MS = 5_000
# API Gateway answers 401 itself, without invoking the authorizer, when the header does not look like
# a bearer JWT (the function checks the same shape again: lambda_src/.../authorizer BEARER).
BEARER_PATTERN = r"^[Bb]earer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
# Cached per token: a client placing orders in a burst costs one invocation a minute. The policy
# names POST /orders only, the one method using this authorizer, so a cached policy is right for
# every request that can reuse it; an expired token is still let through for at most this long.
AUTHORIZER_TTL_SECONDS = 60
AUTHORIZER_TIMEOUT = 10  # seconds; the check is local (no key fetch), milliseconds when warm
SEND_TO_QUEUE = "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
ACCEPTED = (
    '{"accepted": true, "messageId": "$input.path(\'$.SendMessageResponse.SendMessageResult.MessageId\')"}'
)


@dataclass(frozen=True)
class ApiArgs:
    config: TradingConfig
    regions: Regions
    orders: Orders
    health: Health
    account_id: pulumi.Input[str]


@dataclass(frozen=True)
class RegionalApi:
    rest_api: aws.apigateway.RestApi
    stage: aws.apigateway.Stage

    @property
    def host(self) -> pulumi.Output[str]:
        """The execute-api host name (what a health check probes)."""
        return self.stage.invoke_url.apply(lambda url: url.split("/")[2])

    @property
    def health_url(self) -> pulumi.Output[str]:
        """Answers 200 only while this region's database is the writer (what DNS routes on)."""
        return pulumi.Output.concat(self.stage.invoke_url, HEALTH_PATH)

    @property
    def liveness_url(self) -> pulumi.Output[str]:
        """Answers 200 while the region can serve in its role, writer or standby."""
        return pulumi.Output.concat(self.stage.invoke_url, HEALTH_PATH, "?", LIVENESS_QUERY)


class Api(pulumi.ComponentResource):
    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("trading:api:Api", name, None, opts)
        self._name, self._args = name, args
        self.regional = {region.role: self._region(region) for region in args.regions}
        self.register_outputs({role: api.stage.invoke_url for role, api in self.regional.items()})

    def of(self, region: Region) -> RegionalApi:
        return self.regional[region.role]

    def _region(self, region: Region) -> RegionalApi:
        config, args = self._args.config, self._args
        prefix, child = f"{self._name}-{region.role}", region.opts(self)
        queue = args.orders.of(region).queue
        api = aws.apigateway.RestApi(
            f"{prefix}-rest-api",
            name=config.name("api", region.settings),
            description=f"Trading API ({region.role} region)",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            opts=child,
        )

        def resource(path: str) -> aws.apigateway.Resource:
            return aws.apigateway.Resource(
                f"{prefix}-{path}",
                rest_api=api.id,
                parent_id=api.root_resource_id,
                path_part=path,
                opts=child,
            )

        health, orders = resource("health"), resource("orders")
        # GET /health: the region's health function (a proxy integration: its status code is the answer).
        health_get = aws.apigateway.Method(
            f"{prefix}-health-get",
            rest_api=api.id,
            resource_id=health.id,
            http_method="GET",
            authorization="NONE",  # Route 53 health checkers and canaries do not sign requests
            request_parameters={"method.request.querystring.role": False},
            opts=child,
        )
        health_function = args.health.function(region)
        health_integration = aws.apigateway.Integration(
            f"{prefix}-health-integration",
            rest_api=api.id,
            resource_id=health.id,
            http_method=health_get.http_method,
            type="AWS_PROXY",
            integration_http_method="POST",  # Lambda is always invoked with POST
            uri=health_function.invoke_arn,
            timeout_milliseconds=HEALTH_INTEGRATION_TIMEOUT_MS,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{prefix}-health-invoke",
            action="lambda:InvokeFunction",
            function=health_function.name,
            principal="apigateway.amazonaws.com",
            # This API's GET /health only, any stage.
            source_arn=pulumi.Output.concat(api.execution_arn, "/*/GET", HEALTH_PATH),
            opts=child,
        )
        # POST /orders: validated, then straight into the queue.
        model = aws.apigateway.Model(
            f"{prefix}-order-model",
            rest_api=api.id,
            name="Order",
            content_type="application/json",
            schema=json.dumps(ORDER_MODEL),
            opts=child,
        )
        validator = aws.apigateway.RequestValidator(
            f"{prefix}-validator", rest_api=api.id, name="body", validate_request_body=True, opts=child
        )
        authorizer, invoke_permission = self._orders_authorizer(region, api)
        orders_post = aws.apigateway.Method(
            f"{prefix}-orders-post",
            rest_api=api.id,
            resource_id=orders.id,
            http_method="POST",
            authorization="CUSTOM",
            authorizer_id=authorizer.id,
            request_validator_id=validator.id,
            request_models={"application/json": model.name},
            opts=child,
        )
        send_role = aws.iam.Role(
            f"{prefix}-send-role",
            name=config.name("api-to-queue", region.settings),
            assume_role_policy=trust_policy("apigateway"),
            opts=child,
        )
        send_policy = aws.iam.RolePolicy(
            f"{prefix}-send-policy",
            role=send_role.id,
            name="send-orders",
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue.arn}],
                }
            ),
            opts=child,
        )
        queue_uri = pulumi.Output.concat(
            "arn:aws:apigateway:", region.name, ":sqs:path/", args.account_id, "/", queue.name
        )
        request_parameters = {
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
        }
        orders_integration = aws.apigateway.Integration(
            f"{prefix}-orders-integration",
            rest_api=api.id,
            resource_id=orders.id,
            http_method=orders_post.http_method,
            type="AWS",
            integration_http_method="POST",
            uri=queue_uri,
            credentials=send_role.arn,
            request_parameters=request_parameters,
            request_templates={"application/json": SEND_TO_QUEUE},
            passthrough_behavior="NEVER",  # another content type: 415, never forwarded raw
            opts=region.opts(self, depends_on=[send_policy]),
        )
        responses = []
        for status, pattern, template in (
            ("202", None, ACCEPTED),
            ("503", "[45]\\d{2}", '{"accepted": false, "message": "the order was not queued; retry"}'),
        ):
            method_response = aws.apigateway.MethodResponse(
                f"{prefix}-orders-{status}",
                rest_api=api.id,
                resource_id=orders.id,
                http_method=orders_post.http_method,
                status_code=status,
                response_models={"application/json": "Empty"},
                opts=child,
            )
            responses.append(
                aws.apigateway.IntegrationResponse(
                    f"{prefix}-orders-integration-{status}",
                    rest_api=api.id,
                    resource_id=orders.id,
                    http_method=orders_post.http_method,
                    status_code=method_response.status_code,
                    selection_pattern=pattern,
                    response_templates={"application/json": template},
                    opts=region.opts(self, depends_on=[orders_integration]),
                )
            )
        # Everything the deployment snapshots: a change to any of it must publish a new deployment.
        snapshot = pulumi.Output.json_dumps(
            {
                "health": {"auth": "NONE", "type": "AWS_PROXY", "uri": health_function.invoke_arn},
                "orders": {
                    "auth": "CUSTOM",
                    "authorizer": {
                        "uri": authorizer.authorizer_uri,
                        "identitySource": authorizer.identity_source,
                        "validation": BEARER_PATTERN,
                        "ttl": AUTHORIZER_TTL_SECONDS,
                    },
                    "model": ORDER_MODEL,
                    "type": "AWS",
                    "uri": queue_uri,
                    "credentials": send_role.arn,
                    "parameters": request_parameters,
                    "template": SEND_TO_QUEUE,
                    "responses": ACCEPTED,
                },
            }
        )
        deployment = aws.apigateway.Deployment(
            f"{prefix}-deployment",
            rest_api=api.id,
            triggers={"redeployment": snapshot.apply(lambda text: hashlib.sha256(text.encode()).hexdigest())},
            opts=region.opts(
                self,
                depends_on=[
                    health_integration,
                    orders_integration,
                    *responses,
                    invoke_permission,  # no stage serves POST /orders before its authorizer may run
                ],
            ),
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{prefix}-access-logs",
            name=f"/trading/{config.env}/{region.role}/api-access",
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        stage = aws.apigateway.Stage(
            f"{prefix}-stage",
            rest_api=api.id,
            deployment=deployment.id,
            stage_name=STAGE,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=child,
        )
        for key, method_path in (
            ("throttling", "*/*"),  # every method, every caller (trading-dr-18)
            # GET /health's own bucket: a flood of it cannot spend POST /orders' share, nor the reverse
            # (README "A flood of GET /v1/health"); the rest of the method's settings as on */*.
            ("health-throttling", HEALTH_METHOD_PATH),
        ):
            aws.apigateway.MethodSettings(
                f"{prefix}-{key}",
                rest_api=api.id,
                stage_name=stage.stage_name,
                method_path=method_path,
                settings=aws.apigateway.MethodSettingsSettingsArgs(
                    throttling_rate_limit=config.api_rate_limit,
                    throttling_burst_limit=config.api_burst_limit,
                    metrics_enabled=True,
                    logging_level="ERROR",
                ),
                opts=child,
            )
        return RegionalApi(rest_api=api, stage=stage)

    def _orders_authorizer(
        self, region: Region, api: aws.apigateway.RestApi
    ) -> tuple[aws.apigateway.Authorizer, aws.lambda_.Permission]:
        """The TOKEN authorizer of POST /orders: its function (outside the VPC: it calls nothing),
        configured with the same keys, issuer and audience in both regions, and API Gateway's
        permission to invoke it from this API's authorizers only."""
        config = self._args.config
        prefix, child = f"{self._name}-{region.role}", region.opts(self)
        function = regional_function(
            f"{prefix}-authorizer",
            FunctionSpec(
                key="authorizer",
                description="Verifies the bearer JWT of POST /orders (same keys in both regions)",
                timeout=AUTHORIZER_TIMEOUT,
                statements=[],  # no AWS calls: the keys come in the environment
                environment={
                    "ORDER_TOKEN_JWKS": config.order_token_keys,
                    "ORDER_TOKEN_ISSUER": config.order_token_issuer,
                    # The API's public name, the same in both regions (never an execute-api host).
                    "ORDER_TOKEN_AUDIENCE": config.api_domain_name,
                    "ORDER_SCOPE": config.order_scope,
                },
            ),
            config,
            region,
            None,  # its bundle holds PyJWT and cryptography; it needs nothing of the shared layer
            self,
        ).function
        authorizer = aws.apigateway.Authorizer(
            f"{prefix}-orders-authorizer",
            name=config.name("orders-token", region.settings),
            rest_api=api.id,
            type="TOKEN",
            authorizer_uri=function.invoke_arn,
            identity_source="method.request.header.Authorization",
            identity_validation_expression=BEARER_PATTERN,
            authorizer_result_ttl_in_seconds=AUTHORIZER_TTL_SECONDS,
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{prefix}-authorizer-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="apigateway.amazonaws.com",
            # This API's authorizers only (arn:aws:execute-api:<region>:<account>:<api id>/authorizers/<id>).
            source_arn=pulumi.Output.concat(api.execution_arn, "/authorizers/", authorizer.id),
            opts=child,
        )
        return authorizer, permission
