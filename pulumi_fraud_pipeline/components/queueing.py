"""Queueing: the encrypted transactions queue with its DLQ and redrive (fraud-15), and the queue
that catches failed asynchronous Lambda invocations (fraud-20)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pulumi_fraud_pipeline.config import FraudConfig

# Seconds; each queue's visibility timeout is six times its consumer's (AWS guidance).
DETECTOR_TIMEOUT = 30
FAILED_HANDLER_TIMEOUT = 30


@dataclass(frozen=True)
class QueueingArgs:
    config: FraudConfig


class Queueing(pulumi.ComponentResource):
    def __init__(self, name: str, args: QueueingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("fraud:queueing:Queueing", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        fourteen_days = 14 * 24 * 3600
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            name=config.name("transactions-dlq"),
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=6 * FAILED_HANDLER_TIMEOUT,  # failed_handler consumes it
            message_retention_seconds=fourteen_days,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=config.name("transactions"),
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=6 * DETECTOR_TIMEOUT,
            message_retention_seconds=4 * 24 * 3600,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": config.max_receive_count}
                )
            ),
            opts=child,
        )
        self.async_failures = aws.sqs.Queue(
            f"{name}-async-failures",
            name=config.name("async-failures"),
            sqs_managed_sse_enabled=True,
            message_retention_seconds=fourteen_days,
            opts=child,
        )
        self.register_outputs({"queue_url": self.queue.url, "dlq_url": self.dlq.url})
