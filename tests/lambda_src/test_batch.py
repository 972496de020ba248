"""common.batch: SQS partial batch responses (what Powertools' BatchProcessor did, for less cold start)."""

from __future__ import annotations

import pytest
from common.batch import NotAnSQSBatch, partial_batch_response


def batch(*bodies: str) -> dict:
    return {
        "Records": [
            {"messageId": f"msg-{i}", "body": body, "eventSource": "aws:sqs", "attributes": {}}
            for i, body in enumerate(bodies)
        ]
    }


def handle(record):
    if record["body"] == "poison":
        raise ValueError("bad record")
    return record["body"]


def test_only_the_records_that_failed_are_reported():
    """Each record is handled; a failure is reported by its messageId and the others go on (SQS
    deletes them)."""
    assert partial_batch_response(batch("ok", "poison", "ok"), handle) == {
        "batchItemFailures": [{"itemIdentifier": "msg-1"}]
    }


def test_a_batch_that_all_failed_is_reported_not_raised():
    """As BatchProcessor(raise_on_entire_batch_failure=False): every record reported, no invocation error."""
    assert partial_batch_response(batch("poison", "poison"), handle) == {
        "batchItemFailures": [{"itemIdentifier": "msg-0"}, {"itemIdentifier": "msg-1"}]
    }


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, {"Records": [{"eventSource": "aws:sns"}]}, []])
def test_an_event_that_is_no_sqs_batch_is_refused_clearly(event):
    with pytest.raises(NotAnSQSBatch, match="expected an SQS event"):
        partial_batch_response(event, handle)
