"""The fraud pipeline: builds every component from one FraudConfig and returns the stack outputs.

__main__.py (``pulumi up``) and offline.py (``make synth-pulumi-fraud-pipeline``, tests) both call
``build``; neither components nor this module read ``pulumi.Config``.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from pulumi_fraud_pipeline.components.alerting import Alerting, AlertingArgs
from pulumi_fraud_pipeline.components.api import Api, ApiArgs
from pulumi_fraud_pipeline.components.compute import Compute, ComputeArgs
from pulumi_fraud_pipeline.components.data import Data, DataArgs
from pulumi_fraud_pipeline.components.endpoint_policies import EndpointPolicies, EndpointPoliciesArgs
from pulumi_fraud_pipeline.components.network import Network, NetworkArgs
from pulumi_fraud_pipeline.components.observability import Observability, ObservabilityArgs
from pulumi_fraud_pipeline.components.queueing import Queueing, QueueingArgs
from pulumi_fraud_pipeline.config import FraudConfig

SAMPLE_TRANSACTION = {  # what POST /transactions accepts (fraud-21)
    "transaction_id": "txn-0001",
    "customer_id": "customer-001",
    "merchant_id": "merchant-001",
    "amount": "100.00",
    "currency": "USD",
}


def tag_components(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """Every taggable resource gets ``component`` = the component that owns it (fraud-22); the
    provider's default tags add project, environment and managed-by."""
    parent = args.opts.parent if args.opts else None
    if "tags" not in args.props or not isinstance(parent, pulumi.ComponentResource):
        return None
    component = type(parent).__name__.lower()
    tags = {**(args.props.get("tags") or {}), "component": component}
    return pulumi.ResourceTransformationResult(props={**args.props, "tags": tags}, opts=args.opts)


def build(config: FraudConfig) -> dict[str, Any]:
    pulumi.runtime.register_stack_transformation(tag_components)
    provider = aws.Provider(
        "aws",
        region=config.region,
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={"project": "fraud-pipeline", "environment": config.env, "managed-by": "pulumi"}
        ),
    )
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id

    network = Network("network", NetworkArgs(config=config), opts)
    data = Data("data", DataArgs(config=config), opts)
    queueing = Queueing("queueing", QueueingArgs(config=config), opts)
    alerting = Alerting("alerting", AlertingArgs(config=config, account_id=account_id), opts)
    compute = Compute(
        "compute",
        ComputeArgs(
            config=config,
            subnet_ids=[s.id for s in network.subnets],
            security_group_id=network.lambda_sg.id,
            transactions_table=data.transactions,
            dead_letters_table=data.dead_letters,
            queue=queueing.queue,
            dlq=queueing.dlq,
            async_failures=queueing.async_failures,
            fraud_topic=alerting.fraud_topic,
            ops_topic=alerting.ops_topic,
            topic_key=alerting.key,
        ),
        opts,
    )
    EndpointPolicies(
        "endpoint-policies",
        EndpointPoliciesArgs(endpoints=network.endpoints, callers=compute.vpc_callers),
        opts,
    )
    api = Api("api", ApiArgs(config=config, validator=compute.validator), opts)
    observability = Observability(
        "observability",
        ObservabilityArgs(
            config=config,
            functions=compute.functions,
            alarm_topic=alerting.ops_topic,
            queue_name=queueing.queue.name,
            dlq_name=queueing.dlq.name,
            async_failures_name=queueing.async_failures.name,
            dead_letter_failures=compute.dead_letter_failures,
            api_name=api.rest_api.name,
            stage_name=api.stage.stage_name,
        ),
        opts,
    )

    dashboard_url = pulumi.Output.concat(
        f"https://{config.region}.console.aws.amazon.com/cloudwatch/home?region={config.region}#dashboards:name=",
        observability.dashboard.dashboard_name,
    )
    return {
        "api_url": api.url,
        "transactions_table": data.transactions.name,
        "dead_letters_table": data.dead_letters.name,
        "queue_name": queueing.queue.name,
        "dlq_name": queueing.dlq.name,
        "fraud_topic_arn": alerting.fraud_topic.arn,
        "ops_topic_arn": alerting.ops_topic.arn,
        "dashboard_url": dashboard_url,  # exported once, here (fraud-11)
        "sample_transaction": json.dumps(SAMPLE_TRANSACTION),
    }
