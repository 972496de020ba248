"""API: REST API ``POST /transactions`` -> VPC link v2 -> internal ALB -> transaction_processing.

API Gateway REST APIs reach an Application Load Balancer through a VPC link **v2** and the
integration's ``IntegrationTarget`` (the ALB ARN), since November 2025. The seed's fix (an
HTTP_PROXY integration with a ``uri`` on a v1 VPC link) cannot deploy: v1 links accept only
Network Load Balancers (payments-04). aws-cdk-lib's ``Integration`` has no ``IntegrationTarget``
yet, so it is set on the CloudFormation method; cfn-lint validates it against the schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import (
    ArnFormat,
    Aws,
    IStableAnyProducer,
    Lazy,
    Stack,
    aws_apigateway as apigw,
    aws_apigatewayv2 as apigwv2,
    aws_ec2 as ec2,
    aws_elasticloadbalancingv2 as elbv2,
    aws_lambda as lambda_,
    aws_s3 as s3,
    aws_wafv2 as wafv2,
)
from constructs import Construct

from cdk_payments.config import PaymentsConfig
from cdk_payments.constructs.encryption import Encryption
from cdk_payments.nag import CONTROL_TOWER, PCI_DSS, SOURCE_ACCOUNT_IS_A_REFERENCE, acknowledge
from cdk_payments.replacement import fingerprints

ALB_LOG_PREFIX = "alb"  # the ALB's access logs in the access-log bucket: alb/AWSLogs/<account>/...
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
TRANSACTION_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="Transaction",
    type=apigw.JsonSchemaType.OBJECT,
    required=["transaction_id", "customer_id", "merchant_id", "amount", "currency"],
    properties={
        "transaction_id": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=3, max_length=64),
        "customer_id": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=3, max_length=64),
        "merchant_id": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=3, max_length=64),
        "amount": apigw.JsonSchema(type=[apigw.JsonSchemaType.NUMBER, apigw.JsonSchemaType.STRING]),
        "currency": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, pattern="^[A-Z]{3}$"),
        "description": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=256),
    },
)


@jsii.implements(IStableAnyProducer)
class _Produce:
    """A value read when the template is rendered (the last one set), for ``Lazy.any``."""

    def __init__(self, value: Callable[[], Any]) -> None:
        self._value = value

    def produce(self) -> Any:
        return self._value()


@jsii.implements(elbv2.IApplicationLoadBalancerTarget)
class ScopedLambdaTarget:
    """A Lambda target whose invoke permission names its target group (payments-07).

    ``elbv2_targets.LambdaTarget`` grants ``elasticloadbalancing.amazonaws.com`` without a
    source ARN (any load balancer of any account). The seed's fix scoped it to the *load
    balancer* ARN, but ELB invokes with the *target group* ARN as source, so that permission
    never matches. The group ARN cannot be referenced (the group needs the permission first),
    so the permission matches its name: ``targetgroup/<name>/*`` in this account and region.
    """

    def __init__(self, fn: lambda_.IFunction, target_group_name: str) -> None:
        self._fn = fn
        self._target_group_name = target_group_name

    def attach_to_application_target_group(
        self, target_group: elbv2.IApplicationTargetGroup
    ) -> elbv2.LoadBalancerTargetProps:
        permission = lambda_.CfnPermission(
            target_group,
            "InvokePermission",
            action="lambda:InvokeFunction",
            function_name=self._fn.function_arn,
            principal="elasticloadbalancing.amazonaws.com",
            source_account=Aws.ACCOUNT_ID,
            source_arn=f"arn:{Aws.PARTITION}:elasticloadbalancing:{Aws.REGION}:{Aws.ACCOUNT_ID}"
            f":targetgroup/{self._target_group_name}/*",
        )
        target_group.node.add_dependency(permission)
        acknowledge(
            permission,
            CONTROL_TOWER,
            lambda_function_public_access_prohibited_check=SOURCE_ACCOUNT_IS_A_REFERENCE,
        )
        return elbv2.LoadBalancerTargetProps(
            target_type=elbv2.TargetType.LAMBDA, target_json={"id": self._fn.function_arn}
        )


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PaymentsConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        blue: lambda_.IFunction,
        green: lambda_.IFunction,
        encryption: Encryption,
        access_logs: s3.IBucket,
        access_log_policy: s3.BucketPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        https = config.certificate_arn is not None
        port = 443 if https else 80

        link_sg = ec2.SecurityGroup(
            self,
            "VpcLinkSg",
            vpc=vpc,
            security_group_name=config.name("payments-vpclink"),
            description="API Gateway VPC link to the internal ALB",
            allow_all_outbound=False,
        )
        alb_sg = ec2.SecurityGroup(
            self,
            "AlbSg",
            vpc=vpc,
            security_group_name=config.name("payments-alb"),
            description="internal ALB: listener port from the API Gateway VPC link only",
            allow_all_outbound=False,
        )
        alb_sg.add_ingress_rule(link_sg, ec2.Port.tcp(port), "listener from the VPC link")
        link_sg.add_egress_rule(alb_sg, ec2.Port.tcp(port), "to the ALB listener")

        # Internal only: the API is the one way in (payments-02: plain HTTP never faces the internet).
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            load_balancer_name=config.name("payments-alb"),
            vpc=vpc,
            vpc_subnets=subnets,
            internet_facing=False,
            security_group=alb_sg,
            drop_invalid_header_fields=True,
            deletion_protection=config.is_production,
        )
        # Access logs (ALB's own record: target status, latency, errors) under alb/ of the access-log
        # bucket, whose policy must admit ELB before the attribute is set (ELB checks it).
        for key, value in {
            "access_logs.s3.enabled": "true",
            "access_logs.s3.bucket": access_logs.bucket_name,
            "access_logs.s3.prefix": ALB_LOG_PREFIX,
        }.items():
            self.alb.set_attribute(key, value)
        self.alb.node.add_dependency(access_log_policy)
        self.blue_target_group = self._target_group("Blue", config.name("payments-blue"), vpc, blue)
        self.green_target_group = self._target_group("Green", config.name("payments-green"), vpc, green)
        forward = elbv2.ListenerAction.weighted_forward(
            [
                elbv2.WeightedTargetGroup(target_group=self.blue_target_group, weight=config.blue_weight),
                elbv2.WeightedTargetGroup(target_group=self.green_target_group, weight=config.green_weight),
            ]
        )
        if https:
            # HTTPS only with a certificate API Gateway trusts (an ACM public one) for the URI's host:
            # it verifies the backend and refuses a self-signed one (payments-02).
            self.listener = self.alb.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(config.certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                default_action=forward,
                open=False,
            )
            uri = f"https://{config.alb_domain_name}/transactions"
        else:
            self.listener = self.alb.add_listener(
                "Http",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_action=forward,
                open=False,
            )
            plain_http = (
                "No certificate configured: HTTP inside the VPC from the VPC link only (payments-02); "
                "prod requires certificate_arn and listens on HTTPS only"
            )
            acknowledge(
                self.listener,
                PCI_DSS,
                ALBHttpToHttpsRedirection=plain_http,
                ELBv2ACMCertificateRequired=plain_http,
            )
            acknowledge(self.listener, CONTROL_TOWER, alb_http_to_https_redirection_check=plain_http)
            uri = f"http://{self.alb.load_balancer_dns_name}/transactions"

        self.vpc_link = apigwv2.VpcLink(
            self,
            "VpcLink",
            vpc=vpc,
            subnets=subnets,
            security_groups=[link_sg],
            vpc_link_name=config.name("payments"),
        )

        access_logs = encryption.log_group(
            self, "AccessLogs", log_group_name=f"/payments/{config.env}/api-access"
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=config.name("payments-api"),
            description="Payments: POST /transactions",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The logging role is one per account and region, shared by every REST API: no stack
            # owns it (destroying one would break logging for all); see README, one-time setup.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=config.env,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,  # execution logs for failures
            ),
        )
        # Validation failures name the offending property instead of "Invalid request body".
        self.rest_api.add_gateway_response(
            "BadRequestBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            status_code="400",
            templates={
                "application/json": '{"error":"Bad Request","message":"$context.error.validationErrorString"}'
            },
        )
        model = self.rest_api.add_model(
            "TransactionModel", content_type="application/json", schema=TRANSACTION_SCHEMA
        )
        validator = self.rest_api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        integration = apigw.Integration(
            type=apigw.IntegrationType.HTTP_PROXY,
            integration_http_method="POST",
            uri=uri,
        )
        self.method = self.rest_api.root.add_resource("transactions").add_method(
            "POST",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_models={"application/json": model},
        )
        self._integration: dict[str, str] = {}
        # A new link or load balancer, or a replaced one, makes a new deployment (payments-04).
        self.rest_api.latest_deployment.add_to_logical_id(
            {
                "PrivateIntegration": Lazy.any(_Produce(lambda: self._integration)),
                "Replacement": Lazy.any(_Produce(lambda: fingerprints(Stack.of(self), self._integration))),
            }
        )
        self.integrate(connection_id=self.vpc_link.vpc_link_id, integration_target=self.alb.load_balancer_arn)

        self.web_acl = _web_acl(self, config)
        self._log_web_acl(config, encryption)
        wafv2.CfnWebACLAssociation(
            self,
            "WafAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )
        acknowledge(
            self, COG4="Callers are services signing with SigV4 (AWS_IAM authorization), not Cognito users"
        )
        self._acknowledge_internal_alb(config)

    def _acknowledge_internal_alb(self, config: PaymentsConfig) -> None:
        """The ALB is internal, behind the API: what the scanners ask of an edge load balancer is
        done at the API stage (WAF, TLS in prod)."""
        acknowledge(
            self.alb,
            PCI_DSS,
            ALBWAFEnabled="The WebACL guards the API stage, where the client's IP is known; at the internal "
            "ALB every request comes from the VPC link, so its per-IP rate limit would throttle all clients",
        )
        if not config.is_production:
            acknowledge(
                self.alb,
                CONTROL_TOWER,
                elbv2_deletion_protection_enabled_check="Non-production environments destroy cleanly; "
                "prod has deletion protection",
            )
        stage = self.rest_api.deployment_stage
        acknowledge(
            stage,
            PCI_DSS,
            APIGWCacheEnabledAndEncrypted="POST /transactions is never served from a cache: each request "
            "is a new transaction",
            APIGWSSLEnabled="A client certificate lets an HTTP backend check that calls come from API "
            "Gateway; this backend is reached only through the VPC link (security groups), over TLS in prod",
        )

    def _log_web_acl(self, config: PaymentsConfig, encryption: Encryption) -> None:
        """WAF logs to CloudWatch Logs (PCI DSS 10.2; the name must start with aws-waf-logs-); WAF
        adds the log group's resource policy for its log delivery itself."""
        name = f"aws-waf-logs-payments-{config.env}"
        log_group = encryption.log_group(self, "WafLogs", log_group_name=name)
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            # WAF wants the log group's ARN without the ":*" that LogGroup.log_group_arn ends with.
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # SigV4 headers name the caller's access key: kept out of the logs.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"})
            ],
        )
        logging.node.add_dependency(log_group)

    def integrate(self, *, connection_id: str, integration_target: str) -> None:
        """Point ``POST /transactions`` at a VPC link v2 and the load balancer behind it (payments-04).

        Set on the CloudFormation method (``Integration`` has no IntegrationTarget), and put into
        the deployment's logical id: CDK hashes the method before property overrides, so without
        that a new link or target would change the method but leave the stage on a deployment
        that still routes to the old one. The references alone do not change when the link or the
        load balancer is replaced: the deployment also hashes what replaces them
        (``cdk_payments.replacement``).
        """
        cfn_method: apigw.CfnMethod = self.method.node.default_child  # type: ignore[assignment]
        self._integration = {
            "ConnectionType": "VPC_LINK",
            "ConnectionId": connection_id,
            "IntegrationTarget": integration_target,
        }
        for key, value in self._integration.items():
            cfn_method.add_property_override(f"Integration.{key}", value)

    def _target_group(
        self, construct_id: str, name: str, vpc: ec2.IVpc, fn: lambda_.IFunction
    ) -> elbv2.ApplicationTargetGroup:
        return elbv2.ApplicationTargetGroup(
            self,
            f"{construct_id}TargetGroup",
            target_group_name=name,
            vpc=vpc,
            target_type=elbv2.TargetType.LAMBDA,
            targets=[ScopedLambdaTarget(fn, name)],
        )


def _web_acl(scope: Construct, config: PaymentsConfig) -> wafv2.CfnWebACL:
    """AWS managed rules (common, known bad inputs) and a per-IP rate limit in front of the API."""

    def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
        )

    rules = [
        wafv2.CfnWebACL.RuleProperty(
            name=group,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS", name=group
                )
            ),
            visibility_config=visibility(group),
        )
        for priority, group in enumerate(MANAGED_RULE_GROUPS)
    ]
    rules.append(
        wafv2.CfnWebACL.RuleProperty(
            name="rate-limit-per-ip",
            priority=len(rules),
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=config.waf_rate_limit, aggregate_key_type="IP"
                )
            ),
            visibility_config=visibility("rate-limit-per-ip"),
        )
    )
    return wafv2.CfnWebACL(
        scope,
        "WebAcl",
        name=config.name("payments-api"),
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        rules=rules,
        visibility_config=visibility(config.name("payments-api")),
    )
