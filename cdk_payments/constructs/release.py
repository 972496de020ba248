"""Release: the published version of transaction_processing that the serving alias keeps (payments-01).

Blue serves (weights 100 / 0 by default) and green takes new code. A deployment publishes a version
of the function whenever its code or configuration changes, and green's alias follows it (unless
``green_version`` pins one). Blue's alias must stay where it is, but the template cannot say where
that is: it is the same for every deploy. So a custom resource reads, at deploy time, the version the
``blue`` alias serves (``lambda:GetFunctionConfiguration`` with the alias as qualifier) and blue's
alias is set to it: a plain ``cdk deploy`` changes nothing that serves. When the stack is created
there is no alias yet: the lookup then returns the version that deployment publishes.

``blue_version`` moves blue (promotion, rollback). The lookup's properties carry that pin, so the
deploy that drops it reads the alias again and keeps the pinned version. CloudFormation runs the
lookup only when its properties change: each newly published version (it names it) and each change
of the pin; otherwise the alias's template is unchanged and CloudFormation leaves it alone.
"""

from __future__ import annotations

from aws_cdk import (
    Duration,
    Stack,
    aws_iam as iam,
    aws_lambda as lambda_,
    aws_logs as logs,
    custom_resources as cr,
)
from constructs import Construct

from cdk_payments.nag import INLINE_GRANTS, PCI_DSS, acknowledge

# The id of the singleton function aws-cdk-lib's AwsCustomResource adds at the stack's root.
AWS_CUSTOM_RESOURCE_HANDLER = "AWS679f53fac002430cb0da5b7982bd2287"
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


class LiveAliasVersion(Construct):
    """The version ``alias_name`` of ``function`` serves now, read when CloudFormation deploys."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        alias_name: str,
        pinned: int | None,
        log_group: logs.ILogGroup,
    ) -> None:
        super().__init__(scope, construct_id)

        def lookup(qualifier: str) -> cr.AwsSdkCall:
            return cr.AwsSdkCall(
                service="Lambda",
                action="getFunctionConfiguration",
                parameters={"FunctionName": function.function_name, "Qualifier": qualifier},
                physical_resource_id=cr.PhysicalResourceId.of(f"{alias_name}-served-version"),
                output_paths=["Version"],  # the response also holds the environment: keep only this
                logging=cr.Logging.with_data_hidden(),  # and log none of it
            )

        self.lookup = cr.AwsCustomResource(
            self,
            "Lookup",
            resource_type="Custom::LiveAliasVersion",
            # Created with the stack: no alias exists yet, blue starts on what this deploy publishes.
            on_create=lookup(function.current_version.version),
            on_update=lookup(alias_name),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["lambda:GetFunctionConfiguration"],
                        resources=[f"{function.function_arn}:*"],  # its versions and aliases only
                    )
                ]
            ),
            install_latest_aws_sdk=False,  # the runtime's SDK has the call; no download at deploy
            log_group=log_group,
            timeout=Duration.minutes(1),
        )
        resource = self.lookup.node.find_child("Resource").node.default_child
        # A change of pin changes the properties, so the lookup runs again on the deploy after it.
        resource.add_property_override("PinnedVersion", str(pinned) if pinned is not None else "none")
        acknowledge(
            self.lookup,
            **{
                f"IAM5[Resource::<{Stack.of(self).get_logical_id(function.node.default_child)}.Arn>:*]": (
                    "GetFunctionConfiguration on this function's qualifiers: the blue alias, and on "
                    "creation the version just published; nothing else"
                )
            },
        )
        acknowledge(self.lookup, PCI_DSS, IAMNoInlinePolicy=INLINE_GRANTS)
        self._trace(Stack.of(self).node.find_child(AWS_CUSTOM_RESOURCE_HANDLER))
        self.version = lambda_.Version.from_version_attributes(
            self, "Served", lambda_=function, version=self.lookup.get_response_field("Version")
        )

    @staticmethod
    def _trace(handler: lambda_.Function) -> None:
        """Active tracing like every function of the stack (the policy suite asks it of all): CDK's
        AwsCustomResource offers no option, so it is set on the function it adds."""
        cfn: lambda_.CfnFunction = handler.node.default_child  # type: ignore[assignment]
        cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        handler.add_to_role_policy(iam.PolicyStatement(actions=XRAY_ACTIONS, resources=["*"]))
        acknowledge(
            handler,
            **{
                "IAM5[Resource::*]": "Actions that take no resource ARN: X-Ray's PutTraceSegments and "
                "PutTelemetryRecords (active tracing)"
            },
        )
        acknowledge(handler, PCI_DSS, IAMNoInlinePolicy=INLINE_GRANTS)
