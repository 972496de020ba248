"""API: REST API ``POST /transactions`` -> validator, on an explicit Stage (fraud-18) named from
config (fraud-10) with X-Ray (fraud-09), JSON access logs with retention (fraud-19) and method
throttling; redeployed when the API changes; a WAFv2 WebACL associated with the stage, the
association depending on the stage (fraud-01).

Access logs need API Gateway's account-level CloudWatch Logs role (one per account and region).
No stack owns it: destroying a stack that did would reset logging for every REST API in the
account and region. It is set once per account and region (README); until then the stage fails
to deploy with AWS's error about the missing role."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from pulumi_fraud_pipeline.config import FraudConfig

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationError": "$context.integration.error",
        "wafResponse": "$context.waf.status",
    }
)
AUTHORIZATION = "AWS_IAM"  # callers sign with SigV4
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


@dataclass(frozen=True)
class ApiArgs:
    config: FraudConfig
    validator: aws.lambda_.Function


def redeployment_hash(routes: dict[str, Any]) -> str:
    """sha256 of the route definition (resource, method and integration arguments, ids aside)."""
    return hashlib.sha256(json.dumps(routes, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


class Api(pulumi.ComponentResource):
    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fraud:api:Api", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.rest_api = aws.apigateway.RestApi(
            f"{name}-rest-api",
            name=config.name("api"),
            description="Fraud pipeline: POST /transactions",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            opts=child,
        )
        # The route as data: the resources are built from it and the deployment trigger hashes it.
        resource_args = {"path_part": "transactions"}
        method_args = {"http_method": "POST", "authorization": AUTHORIZATION}
        resource = aws.apigateway.Resource(
            f"{name}-transactions",
            rest_api=self.rest_api.id,
            parent_id=self.rest_api.root_resource_id,
            **resource_args,
            opts=child,
        )
        method = aws.apigateway.Method(
            f"{name}-post", rest_api=self.rest_api.id, resource_id=resource.id, **method_args, opts=child
        )
        integration_args = {
            "http_method": method.http_method,
            "integration_http_method": "POST",
            "type": "AWS_PROXY",
            "uri": args.validator.invoke_arn,
        }
        integration = aws.apigateway.Integration(
            f"{name}-post-integration",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            **integration_args,
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-invoke-validator",
            action="lambda:InvokeFunction",
            function=args.validator.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(
                self.rest_api.execution_arn, f"/*/{method_args['http_method']}/{resource_args['path_part']}"
            ),
            opts=child,
        )
        # A stage serves the deployment's snapshot: any change to what it snapshots must redeploy.
        routes = {"resource": resource_args, "method": method_args, "integration": integration_args}
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=self.rest_api.id,
            triggers={"redeployment": pulumi.Output.from_input(routes).apply(redeployment_hash)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[method, integration]),
        )
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/fraud/{config.env}/api-access",
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        self.stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=self.rest_api.id,
            deployment=deployment.id,
            stage_name=config.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=child,
        )
        aws.apigateway.MethodSettings(
            f"{name}-throttling",
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                metrics_enabled=True,
                logging_level="ERROR",
            ),
            opts=child,
        )
        rules = [
            aws.wafv2.WebAclRuleArgs(
                name=group,
                priority=priority,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none={}),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        name=group, vendor_name="AWS"
                    )
                ),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            aws.wafv2.WebAclRuleArgs(
                name="rate-limit-per-ip",
                priority=len(rules),
                action=aws.wafv2.WebAclRuleActionArgs(block={}),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        limit=config.waf_rate_limit, aggregate_key_type="IP"
                    )
                ),
                visibility_config=_visibility("rate-limit-per-ip"),
            )
        )
        self.web_acl = aws.wafv2.WebAcl(
            f"{name}-waf",
            name=config.name("api"),
            scope="REGIONAL",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow={}),
            rules=rules,
            visibility_config=_visibility(config.name("api")),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-waf-association",
            resource_arn=self.stage.arn,
            web_acl_arn=self.web_acl.arn,
            # The stage must exist before WAF can attach to it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.stage]),
        )
        self.url = pulumi.Output.concat(self.stage.invoke_url, "/transactions")
        self.register_outputs({"url": self.url})
