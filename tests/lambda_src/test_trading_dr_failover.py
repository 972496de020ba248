"""The failover package's two deployments, with RDS, SNS and CloudWatch behind botocore's Stubber
(moto has no failover_global_cluster): real clients, so every call's parameters are checked
against the service model.

- promote (ALLOW_DATA_LOSS=true): the operator's command and the quorum alarm; a switchover when
  the old writer still answers, a data-loss failover only when it does not; retries, alerts and
  idempotence (trading-dr-22).
- failover, the orchestrator (ALLOW_DATA_LOSS=false): prepares on the primary-failing alarm (a
  report, nothing changed), runs the switchover drill, and can never fail over with data loss."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.stub import Stubber

from lambda_src.pulumi_trading_dr.failover import index as fo
from tests.iam.requests import required_actions
from tests.lambda_src.conftest import LambdaContext

EVENTS = Path(__file__).parent / "events"
REGION = "us-west-2"  # the functions live in the secondary region
ACCOUNT = "123456789012"
GLOBAL_ID = "trading-db-dev"
PRIMARY = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:trading-db-dev-primary"
SECONDARY = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:trading-db-dev-secondary"
QUORUM_ALARM = "trading-failover-dev"  # the stack's quorum composite alarm (monitoring.py)
FAILING_ALARM = "trading-primary-failing-dev"  # the stack's paging composite alarm
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:trading-ops-dev-secondary"
DESCRIBE = {"GlobalClusterIdentifier": GLOBAL_ID}
OLD_WRITER = {"DBClusterIdentifier": PRIMARY}
FAILOVER = {
    "GlobalClusterIdentifier": GLOBAL_ID,
    "TargetDbClusterIdentifier": SECONDARY,
    "AllowDataLoss": True,
}
SWITCHOVER = {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": SECONDARY}
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def alarm_event(state="ALARM", name=QUORUM_ALARM):
    event = json.loads((EVENTS / "trading_dr_composite_alarm_state_change.json").read_text())
    event["detail"]["alarmName"] = name
    event["detail"]["state"]["value"] = state
    return event


def drill_event(mode):
    return {"source": "trading-dr.drill", "detail-type": "Failover drill", "detail": {"mode": mode}}


def operator_event(confirm=GLOBAL_ID, **detail):
    return {
        "source": "trading-dr.operator",
        "detail-type": "Promote secondary",
        "detail": {"confirm": confirm, "reason": "us-east-1 is down (ticket 42)", **detail},
    }


def global_clusters(writer=PRIMARY, failover_state=None, members=(PRIMARY, SECONDARY)):
    cluster = {
        "GlobalClusterIdentifier": GLOBAL_ID,
        "GlobalClusterArn": f"arn:aws:rds::{ACCOUNT}:global-cluster:{GLOBAL_ID}",
        "Status": "available",
        "Engine": "aurora-postgresql",
        "StorageEncrypted": True,
        "GlobalClusterMembers": [
            {
                "DBClusterArn": arn,
                "IsWriter": arn == writer,
                "Readers": [m for m in members if m != arn] if arn == writer else [],
            }
            for arn in members
        ],
    }
    if failover_state:
        cluster["FailoverState"] = failover_state
    return {"GlobalClusters": [cluster]}


def db_cluster(status):
    return {
        "DBClusters": [
            {"DBClusterIdentifier": "trading-db-dev-primary", "DBClusterArn": PRIMARY, "Status": status}
        ]
    }


def accepted(data_loss=True):
    """What failover/switchover_global_cluster answer: the global cluster, its operation pending."""
    state = {
        "Status": "pending",
        "FromDbClusterArn": PRIMARY,
        "ToDbClusterArn": SECONDARY,
        "IsDataLossAllowed": data_loss,
    }
    (cluster,) = global_clusters(PRIMARY, state)["GlobalClusters"]
    return {"GlobalCluster": cluster}


@dataclass
class Context(LambdaContext):
    """A Lambda context whose remaining time shrinks with every (injected) sleep."""

    budget_ms: int = 300_000
    slept_ms: float = 0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.budget_ms - self.slept_ms)


class Harness:
    """A deployment's dependencies with its AWS clients stubbed; what it publishes is recorded.

    ``promote=True`` is the promote function (ALLOW_DATA_LOSS=true), else the orchestrator."""

    def __init__(self, max_attempts=5, sns_error=None, promote=True):
        self.rds = boto3.client("rds", region_name=REGION, config=fo.RDS_CONFIG)
        self.stub = Stubber(self.rds)
        self.old_writer_rds = boto3.client("rds", region_name="us-east-1", config=fo.OLD_WRITER_CONFIG)
        self.old_writer_stub = Stubber(self.old_writer_rds)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        self.cloudwatch_stub = Stubber(self.cloudwatch)
        self.sns = boto3.client("sns", region_name=REGION)
        self.published: list[dict] = []
        self.sns.meta.events.register(
            "before-parameter-build.sns.Publish", lambda params, **_: self.published.append(dict(params))
        )
        sns_stub = Stubber(self.sns)
        for number in range(3):  # more than any run publishes; `published` says how many it did
            if sns_error:
                sns_stub.add_client_error("publish", service_error_code=sns_error, http_status_code=404)
            else:
                sns_stub.add_response("publish", {"MessageId": f"message-{number}"})
        sns_stub.activate()
        self.context = Context()
        self.sleeps: list[float] = []
        self.settings = fo.Settings(
            global_cluster_id=GLOBAL_ID,
            target_cluster_arn=SECONDARY,
            old_writer_cluster_arn=PRIMARY,
            topic_arn=TOPIC,
            alarm_name=QUORUM_ALARM if promote else FAILING_ALARM,
            allow_data_loss=promote,
            promote_function_name=None if promote else "trading-promote-dev-secondary",
            environment="dev",
            max_attempts=max_attempts,
            base_delay_seconds=2,
        )

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.context.slept_ms += seconds * 1000

    def deps(self, rds=None, old_writer_rds=None):
        return fo.Dependencies(
            rds=rds or self.rds,
            sns=self.sns,
            settings=self.settings,
            old_writer_rds=old_writer_rds or self.old_writer_rds,
            cloudwatch=self.cloudwatch,
            sleep=self.sleep,
            rand=lambda: 0.5,
            now=lambda: NOW,
        )

    def expect(self, operation, response=None, params=None, error=None, status=400):
        if error:
            self.stub.add_client_error(
                operation,
                service_error_code=error,
                service_message=f"{error} (from the test)",
                http_status_code=status,
                expected_params=params,
            )
        else:
            self.stub.add_response(operation, response, params)

    def old_writer(self, status=None, error=None):
        """What the old writer's region answers about its cluster (once per promotion)."""
        if error:
            self.old_writer_stub.add_client_error(
                "describe_db_clusters",
                service_error_code=error,
                http_status_code=503,
                expected_params=OLD_WRITER,
            )
        else:
            self.old_writer_stub.add_response("describe_db_clusters", db_cluster(status), OLD_WRITER)

    def quorum_still(self, state="ALARM"):
        """What DescribeAlarms answers about the quorum alarm when an automatic promotion re-checks it."""
        self.cloudwatch_stub.add_response(
            "describe_alarms",
            {"CompositeAlarms": [{"AlarmName": QUORUM_ALARM, "StateValue": state}]},
            {"AlarmNames": [QUORUM_ALARM], "AlarmTypes": ["CompositeAlarm"]},
        )

    def lag(self, *values):
        """The last replication lag (ms) an automatic data-loss failover reads; none: no data."""
        self.cloudwatch_stub.add_response("get_metric_data", lag(list(values)))

    def run(self, event, rds=None, old_writer_rds=None):
        with self.stub, self.old_writer_stub, self.cloudwatch_stub:
            result = fo.handle(
                event, self.deps(rds, old_writer_rds), self.context.get_remaining_time_in_millis
            )
            self.stub.assert_no_pending_responses()
            self.old_writer_stub.assert_no_pending_responses()
            self.cloudwatch_stub.assert_no_pending_responses()
        return result

    def messages(self):
        assert all(p["TopicArn"] == TOPIC and len(p["Subject"]) <= 100 for p in self.published)
        return [{"Subject": p["Subject"], "Message": p["Message"]} for p in self.published]


@pytest.fixture
def offline(monkeypatch):
    """No AWS account is reached: every call is stubbed (an unstubbed one raises), and these
    credentials are fake so nothing could be signed for a real account anyway."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def harness(offline):
    return Harness()


@pytest.fixture
def orchestrator(offline):
    return Harness(promote=False)


# --- promote: what it does, and only when ----------------------------------------------------


def test_the_operator_command_fails_over_with_data_loss_when_the_old_writer_is_gone(harness):
    """The old writer's region does not answer: failover_global_cluster with AllowDataLoss=True."""
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    result = harness.run(operator_event())
    assert result["action"] == "initiated" and result["mode"] == "failover"
    assert (result["old_writer"], result["new_writer"]) == (PRIMARY, SECONDARY)
    assert result["old_writer_status"] == "unreachable (ServiceUnavailable)"
    assert harness.sleeps == []
    (message,) = harness.messages()
    assert message["Subject"] == "trading-dr dev: failover to the secondary region initiated"
    body = json.loads(message["Message"])
    assert body == {
        "summary": "failover to the secondary region initiated",
        "global_cluster": GLOBAL_ID,
        "mode": "failover",
        "trigger": "operator: us-east-1 is down (ticket 42)",
        "old_writer": PRIMARY,
        "new_writer": SECONDARY,
        "old_writer_status": "unreachable (ServiceUnavailable)",
    }


def test_an_old_writer_that_still_answers_available_gets_a_switchover_not_a_data_loss_failover(harness):
    """Data is thrown away only when the old writer cannot take part: if its region's RDS API says
    the cluster is available, the promotion is a managed switchover (no AllowDataLoss)."""
    harness.quorum_still()
    harness.old_writer("available")
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("switchover_global_cluster", accepted(data_loss=False), SWITCHOVER)
    result = harness.run(alarm_event())  # the quorum alarm, in automatic mode
    assert result["mode"] == "switchover" and result["old_writer_status"] == "available"
    assert result["trigger"] == f"alarm {QUORUM_ALARM} ALARM"


@pytest.mark.parametrize("status", ["inaccessible-encryption-credentials", "failing-over", "stopped"])
def test_an_old_writer_in_any_other_state_gets_the_data_loss_failover(harness, status):
    harness.quorum_still()
    harness.old_writer(status)
    harness.lag(850.0)  # within the RPO (60 s)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    assert harness.run(alarm_event())["mode"] == "failover"


def test_a_hanging_old_writer_region_is_not_waited_for(harness):
    """A connect timeout towards the old writer's region counts as gone (short timeouts, one try)."""

    class Hanging:
        def describe_db_clusters(self, **params):
            raise ConnectTimeoutError(endpoint_url="https://rds.us-east-1.amazonaws.com/")

    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    result = harness.run(operator_event(), old_writer_rds=Hanging())
    assert result["mode"] == "failover" and result["old_writer_status"] == "unreachable (ConnectTimeoutError)"
    assert fo.OLD_WRITER_CONFIG.connect_timeout <= 5 and fo.OLD_WRITER_CONFIG.read_timeout <= 10


def test_force_data_loss_skips_the_question(harness):
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    result = harness.run(operator_event(force_data_loss=True))  # no old-writer call is stubbed
    assert result["mode"] == "failover" and result["old_writer_status"] == "not asked (force_data_loss)"


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (operator_event(confirm="trading-db-prod"), "confirm must be the global cluster's id"),
        (operator_event(confirm=None), "confirm must be"),
        (operator_event(force_data_loss="yes"), "force_data_loss must be true or false"),
        (drill_event("switchover"), "takes no drills"),
        (drill_event("failover"), "takes no drills"),
        (alarm_event(name=FAILING_ALARM), "is not this function's alarm"),
    ],
    ids=["another-cluster", "no-confirmation", "force-not-a-bool", "drill", "drill-failover", "paging-alarm"],
)
def test_promote_acts_on_a_confirmed_command_or_its_quorum_alarm_only(harness, event, match):
    """A promotion must name the global cluster it throws writes away in; the paging alarm (one
    signal) must never reach it."""
    with pytest.raises(fo.InvalidEvent, match=match):
        harness.run(event)
    assert harness.messages() == []


# --- retries and idempotence (trading-dr-22) -----------------------------------------------------


@pytest.mark.catalogue("trading-dr-22")
def test_throttling_is_retried_with_backoff_then_succeeds(harness):
    """Fix: RDS's "Throttling" (not "ThrottlingException") is retried, with exponential backoff."""
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", error="Throttling", params=DESCRIBE)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", error="Throttling", params=FAILOVER)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    result = harness.run(operator_event())
    assert result["action"] == "initiated" and result["attempts"] == 3
    assert harness.sleeps == [1.0, 2.0]  # 0.5 (the jitter) x 2 s x 2^(attempt - 1)
    assert [m["Subject"] for m in harness.messages()] == [
        "trading-dr dev: failover to the secondary region initiated"
    ]


@pytest.mark.catalogue("trading-dr-22")
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
        ("InvalidGlobalClusterStateFault", 400),
        ("InvalidDBClusterStateFault", 400),
        ("SomethingNew", 502),  # any 5xx
    ],
)
def test_transient_errors_are_retried(harness, code, status):
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", error=code, status=status, params=FAILOVER)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    assert harness.run(operator_event())["action"] == "initiated"
    assert harness.sleeps == [1.0]


class LostAnswer:
    """An RDS client whose failover request reaches RDS but whose answer never arrives."""

    def __init__(self, rds):
        self.rds = rds

    def describe_global_clusters(self, **params):
        return self.rds.describe_global_clusters(**params)

    def failover_global_cluster(self, **params):
        self.rds.failover_global_cluster(**params)
        raise ReadTimeoutError(endpoint_url="https://rds.us-west-2.amazonaws.com/")


@pytest.mark.catalogue("trading-dr-22")
def test_a_read_timeout_is_retried_without_sending_the_failover_twice(harness):
    """Idempotent: the retry describes first, finds the lost request under way, and sends nothing."""
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    in_progress = {"Status": "pending", "FromDbClusterArn": PRIMARY, "ToDbClusterArn": SECONDARY}
    harness.expect("describe_global_clusters", global_clusters(failover_state=in_progress), DESCRIBE)
    result = harness.run(operator_event(), rds=LostAnswer(harness.rds))  # no second failover call
    assert result["action"] == "initiated" and result["old_writer"] == PRIMARY
    assert harness.sleeps == [1.0]
    assert len(harness.messages()) == 1  # the operators still hear that it started


@pytest.mark.catalogue("trading-dr-22")
def test_a_non_retryable_error_alerts_and_raises(harness):
    """Fix: a failed failover is reported on SNS (code and message, no trace) and re-raised."""
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", error="InvalidParameterCombination", params=FAILOVER)
    with pytest.raises(Exception, match="InvalidParameterCombination") as raised:
        harness.run(operator_event())
    assert raised.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert harness.sleeps == []
    (message,) = harness.messages()
    assert message["Subject"] == "trading-dr dev: failover FAILED"
    body = json.loads(message["Message"])
    assert body["error_code"] == "InvalidParameterCombination"
    assert "InvalidParameterCombination (from the test)" in body["error_message"]
    assert body["target"] == SECONDARY and body["attempts"] == 1
    assert "Traceback" not in message["Message"]


@pytest.mark.catalogue("trading-dr-22")
def test_a_missing_global_cluster_alerts_and_raises(harness):
    harness.old_writer(error="ServiceUnavailable")
    harness.expect(
        "describe_global_clusters", error="GlobalClusterNotFoundFault", status=404, params=DESCRIBE
    )
    with pytest.raises(Exception, match="GlobalClusterNotFoundFault"):
        harness.run(operator_event())
    assert harness.sleeps == []
    assert json.loads(harness.messages()[0]["Message"])["error_code"] == "GlobalClusterNotFoundFault"


@pytest.mark.catalogue("trading-dr-22")
def test_exhausted_retries_alert_and_raise(offline):
    harness = Harness(max_attempts=3)
    harness.old_writer(error="ServiceUnavailable")
    for _ in range(3):
        harness.expect("describe_global_clusters", error="Throttling", params=DESCRIBE)
    with pytest.raises(fo.FailoverFailed, match="within 3 attempts: Throttling") as raised:
        harness.run(operator_event())
    assert raised.value.code == "Throttling"
    assert harness.sleeps == [1.0, 2.0]  # no sleep after the last attempt
    (message,) = harness.messages()
    assert message["Subject"] == "trading-dr dev: failover FAILED"
    assert json.loads(message["Message"])["attempts"] == 3


@pytest.mark.catalogue("trading-dr-22")
def test_retries_never_sleep_into_the_end_of_the_invocation(offline):
    harness = Harness(max_attempts=10)
    harness.context.budget_ms = 70_000  # the margin is 60 s: 10 s of backoff, no more
    harness.old_writer(error="ServiceUnavailable")
    for _ in range(4):
        harness.expect("describe_global_clusters", error="ServiceUnavailable", status=503, params=DESCRIBE)
    with pytest.raises(fo.FailoverFailed, match="within the time left"):
        harness.run(operator_event())
    assert harness.sleeps == [1.0, 2.0, 4.0]  # 8 more seconds would leave less than the margin
    assert harness.context.get_remaining_time_in_millis() >= fo.TIME_MARGIN_MS
    assert len(harness.messages()) == 1


def test_the_backoff_is_exponential_with_full_jitter_and_a_cap():
    settings = fo.Settings("g", "t", "o", "topic", "alarm", allow_data_loss=True, base_delay_seconds=2)
    assert [fo.backoff_seconds(n, settings, lambda: 1.0) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    assert fo.backoff_seconds(3, settings, lambda: 0.0) == 0


@pytest.mark.catalogue("trading-dr-22")
@pytest.mark.parametrize(
    "failover_state",
    [None, {"Status": "switching-over", "FromDbClusterArn": PRIMARY, "ToDbClusterArn": SECONDARY}],
    ids=["settled", "finishing"],
)
def test_the_secondary_already_the_writer_is_a_no_op(harness, failover_state):
    """Idempotent: a retried event or a second alarm after the failover does nothing again."""
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", global_clusters(SECONDARY, failover_state), DESCRIBE)
    result = harness.run(operator_event())  # a failover call would find no stubbed response and raise
    assert result["action"] == "none" and result["mode"] == "failover"
    assert harness.messages() == []  # nothing happened: no alert


@pytest.mark.catalogue("trading-dr-22")
@pytest.mark.parametrize("status", ["pending", "failing-over", "switching-over"])
def test_a_failover_to_the_secondary_in_progress_is_a_no_op(harness, status):
    """Idempotent: an operation towards the secondary already under way is not started again."""
    harness.old_writer(error="ServiceUnavailable")
    state = {"Status": status, "FromDbClusterArn": PRIMARY, "ToDbClusterArn": SECONDARY}
    harness.expect("describe_global_clusters", global_clusters(PRIMARY, state), DESCRIBE)
    result = harness.run(operator_event())
    assert result["action"] == "none" and status in result["reason"]
    assert harness.messages() == []


@pytest.mark.catalogue("trading-dr-22")
def test_an_operation_being_cancelled_is_waited_for(harness):
    harness.old_writer(error="ServiceUnavailable")
    cancelling = {"Status": "cancelling", "FromDbClusterArn": PRIMARY, "ToDbClusterArn": SECONDARY}
    harness.expect("describe_global_clusters", global_clusters(PRIMARY, cancelling), DESCRIBE)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    assert harness.run(operator_event())["action"] == "initiated"
    assert harness.sleeps == [1.0]


def test_a_target_outside_the_global_cluster_alerts_and_raises(harness):
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", global_clusters(members=(PRIMARY,)), DESCRIBE)
    with pytest.raises(fo.FailoverFailed, match="not a member") as raised:
        harness.run(operator_event())
    assert raised.value.code == "TargetNotMember"
    assert json.loads(harness.messages()[0]["Message"])["error_code"] == "TargetNotMember"


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_ok_and_insufficient_data_are_ignored(harness, state):
    result = harness.run(alarm_event(state))  # no RDS call is stubbed: any would raise
    assert result == {
        "action": "ignored",
        "reason": f"alarm {QUORUM_ALARM} {state}: nothing to do",
        "trigger": f"alarm {QUORUM_ALARM} {state}",
    }
    assert harness.messages() == []


def _without_detail_key(key):
    event = alarm_event()
    del event["detail"][key]
    return event


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (alarm_event(name="trading-dr-dev-some-other-alarm"), "is not this function's alarm"),
        (_without_detail_key("alarmName"), "is not this function's alarm"),
        (_without_detail_key("state"), "no known state value"),
        (alarm_event(state="SILENCED"), "no known state value"),
        ({**alarm_event(), "detail": "ALARM"}, "no detail object"),
        ({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}, "no detail object"),
        ({**alarm_event(), "detail-type": "CloudWatch Alarm Configuration Change"}, "unknown event"),
        ({**alarm_event(), "source": "aws.rds"}, "unknown event"),
        ({**operator_event(), "source": "someone.else"}, "unknown event"),
        ({"Records": []}, "no detail object"),
        ([], "expected an EventBridge event object"),
        ("ALARM", "expected an EventBridge event object"),
    ],
    ids=[
        "another-alarm",
        "no-alarm-name",
        "no-state",
        "unknown-state",
        "detail-not-an-object",
        "no-detail",
        "configuration-change",
        "another-source",
        "command-from-another-source",
        "sqs-shaped",
        "a-list",
        "a-string",
    ],
)
def test_anything_else_is_an_invalid_event_and_nothing_is_done(harness, event, match):
    with pytest.raises(fo.InvalidEvent, match=match):
        harness.run(event)
    assert harness.messages() == []


def test_a_lost_success_notification_does_not_fail_the_started_failover(offline):
    harness = Harness(sns_error="NotFound")
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    result = harness.run(operator_event())
    assert result["action"] == "initiated" and result["notified"] is False


def test_a_lost_failure_alert_still_raises_the_error(offline):
    harness = Harness(sns_error="NotFound")
    harness.old_writer(error="ServiceUnavailable")
    harness.expect("describe_global_clusters", error="AccessDenied", status=403, params=DESCRIBE)
    with pytest.raises(Exception, match="AccessDenied"):
        harness.run(operator_event())
    assert len(harness.published) == 1  # tried


# --- the orchestrator: prepares, drills, never loses data ----------------------------------------


def lag(values):
    timestamps = [datetime(2026, 12, 5, 11, 59 - n, tzinfo=UTC) for n in range(len(values))]
    return {"MetricDataResults": [{"Id": "lag", "Label": "lag", "Timestamps": timestamps, "Values": values}]}


def test_the_primary_failing_alarm_prepares_and_pages_with_the_command_and_changes_nothing(orchestrator):
    """One signal is not a quorum: the orchestrator reports readiness and the writes at risk, and
    names the command; no switchover or failover is stubbed, so any change would raise."""
    orchestrator.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    orchestrator.old_writer(error="ServiceUnavailable")
    orchestrator.cloudwatch_stub.add_response("get_metric_data", lag([850.0, 700.0]))
    result = orchestrator.run(alarm_event(name=FAILING_ALARM))
    assert result["action"] == "prepared"
    assert result["target_is_member"] is True and result["writer"] == PRIMARY
    assert result["last_replication_lag"] == "850 ms at 2026-12-05T11:59:00Z"
    assert result["next"].startswith(
        "to promote the secondary (a failover that loses the writes not yet replicated (the lag above)): "
        f"make failover-pulumi-trading-dr STACK=dev CONFIRM={GLOBAL_ID}"
    )
    (message,) = orchestrator.messages()
    assert message["Subject"] == "trading-dr dev: the primary region is failing: failover prepared"
    assert json.loads(message["Message"])["next"] == result["next"]


def test_preparing_says_a_switchover_is_enough_when_the_old_writer_answers(orchestrator):
    orchestrator.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    orchestrator.old_writer("available")
    orchestrator.cloudwatch_stub.add_response("get_metric_data", lag([]))
    result = orchestrator.run(alarm_event(name=FAILING_ALARM))
    assert "a switchover (no data loss)" in result["next"]
    assert result["last_replication_lag"] == "no data in the last 15 minutes"


def test_preparing_still_pages_when_rds_does_not_answer(orchestrator):
    orchestrator.expect("describe_global_clusters", error="ServiceUnavailable", status=503, params=DESCRIBE)
    orchestrator.old_writer(error="ServiceUnavailable")
    orchestrator.cloudwatch_stub.add_client_error("get_metric_data", service_error_code="Throttling")
    result = orchestrator.run(alarm_event(name=FAILING_ALARM))
    assert result["writer"] == "unknown (ServiceUnavailable)" and len(orchestrator.messages()) == 1


def test_the_drill_switchover_is_a_managed_switchover_without_data_loss(orchestrator):
    orchestrator.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    orchestrator.expect("switchover_global_cluster", accepted(data_loss=False), SWITCHOVER)
    result = orchestrator.run(drill_event("switchover"))
    assert result["action"] == "initiated" and result["mode"] == "switchover"
    assert result["trigger"] == "drill switchover"
    (message,) = orchestrator.messages()
    assert message["Subject"] == "trading-dr dev: switchover to the secondary region initiated"


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (drill_event("failover"), "a failover that may lose data is not a drill payload"),
        (drill_event("promote-everything"), "drill mode must be 'switchover'"),
        (operator_event(), "this function cannot promote"),
        (operator_event(force_data_loss=True), "this function cannot promote"),
        (alarm_event(name=QUORUM_ALARM), "is not this function's alarm"),
    ],
    ids=["drill-failover", "bad-drill-mode", "operator-command", "forced-command", "quorum-alarm"],
)
def test_whoever_may_invoke_the_orchestrator_cannot_force_a_data_loss_failover(orchestrator, event, match):
    """Invoking the orchestrator (drills) is not the permission to throw writes away: its payloads
    cannot ask for a failover, and its role has no rds:FailoverGlobalCluster (stack test)."""
    with pytest.raises(fo.InvalidEvent, match=match):
        orchestrator.run(event)
    assert orchestrator.messages() == []


def test_the_orchestrator_refuses_to_fail_over_even_if_asked_past_classify(orchestrator):
    """A second lock on the door: the act itself refuses data loss without ALLOW_DATA_LOSS."""
    orchestrator.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    with orchestrator.stub, pytest.raises(fo.FailoverFailed, match="may not fail over with data loss"):
        fo.fail_over(
            fo.FAILOVER, "test", orchestrator.deps(), orchestrator.context.get_remaining_time_in_millis
        )
    orchestrator.stub.assert_no_pending_responses()


# --- the real handler and its environment ---------------------------------------------------------


def test_the_handler_runs_on_the_saved_composite_alarm_event(harness, monkeypatch):
    """The real handler (Powertools decorators) on the event as EventBridge delivers it."""
    event = json.loads((EVENTS / "trading_dr_composite_alarm_state_change.json").read_text())
    assert (event["source"], event["detail-type"]) == (fo.ALARM_SOURCE, fo.ALARM_DETAIL_TYPE)
    assert event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{QUORUM_ALARM}"]
    assert "alarmRule" in event["detail"]["configuration"]  # what makes it a composite alarm's event
    harness.quorum_still()
    harness.old_writer(error="ServiceUnavailable")
    harness.lag(500.0)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    monkeypatch.setattr(fo, "_deps", harness.deps())
    with harness.stub, harness.old_writer_stub, harness.cloudwatch_stub:
        result = fo.handler(event, harness.context)
    harness.stub.assert_no_pending_responses()
    assert result["action"] == "initiated" and result["attempts"] == 1
    assert len(harness.messages()) == 1


ENV = {
    "GLOBAL_CLUSTER_ID": GLOBAL_ID,
    "TARGET_CLUSTER_ARN": SECONDARY,
    "OLD_WRITER_CLUSTER_ARN": PRIMARY,
    "TOPIC_ARN": TOPIC,
    "ALARM_NAME": QUORUM_ALARM,
    "ALLOW_DATA_LOSS": "true",
    "FAILOVER_MODE": "manual",
    "ENVIRONMENT": "dev",
    "AWS_DEFAULT_REGION": REGION,
}


def test_settings_and_clients_come_from_the_environment(offline, monkeypatch):
    monkeypatch.setattr(fo, "_deps", None)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("MAX_ATTEMPTS", "BASE_DELAY_SECONDS", "PROMOTE_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    deps = fo._default_deps()
    assert deps.settings == fo.Settings(
        GLOBAL_ID, SECONDARY, PRIMARY, TOPIC, QUORUM_ALARM, True, "manual", None, "dev", 5, 2.0
    )
    # botocore's own retries are off for RDS: the function's policy is the only one.
    assert deps.rds.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
    # The old writer is asked in its own region.
    assert deps.old_writer_rds.meta.region_name == "us-east-1"
    monkeypatch.setenv("MAX_ATTEMPTS", "0")
    with pytest.raises(ValueError, match="MAX_ATTEMPTS"):
        fo.Settings.from_env(dict(os.environ))
    with pytest.raises(ValueError, match="ALLOW_DATA_LOSS"):
        fo.Settings.from_env({**ENV, "ALLOW_DATA_LOSS": "yes"})


def test_the_package_calls_what_its_two_roles_grant_between_them():
    """Each role's grant is checked on the stack (tests/pulumi_trading_dr); the code's calls:"""
    assert required_actions(Path(fo.__file__).parent) == {
        "rds:DescribeGlobalClusters",
        "rds:DescribeDBClusters",
        "rds:FailoverGlobalCluster",
        "rds:SwitchoverGlobalCluster",
        "cloudwatch:GetMetricData",
        "cloudwatch:DescribeAlarms",
        "sns:Publish",
    }


# --- the automatic path's refusals: each pages and acts on nothing ---------------------------------


def test_a_stale_quorum_event_is_ignored(harness):
    """An event retried late (EventBridge keeps trying up to its event age) whose alarm has cleared."""
    harness.quorum_still("OK")
    result = harness.run(alarm_event())  # no RDS call is stubbed: any would raise
    assert result["action"] == "refused" and "no longer in ALARM" in result["reason"]
    assert harness.messages() == []


def test_a_target_whose_own_health_route_fails_is_not_promoted_into(offline):
    """Both regions' health routes failing is a bad deploy (or the route flooded), not the primary
    region lost: promoting would move the writer into a region as broken, and may lose data."""
    harness = Harness()
    harness.settings = fo.Settings(
        **{**harness.settings.__dict__, "target_liveness_url": "https://secondary/v1/health?role=any"}
    )
    asked = []

    def http_get(url, timeout):
        asked.append((url, timeout))
        return 503, b'{"status": "down"}'

    harness.quorum_still()
    deps = fo.Dependencies(**{**harness.deps().__dict__, "http_get": http_get})
    with harness.stub, harness.old_writer_stub, harness.cloudwatch_stub:
        result = fo.handle(alarm_event(), deps, harness.context.get_remaining_time_in_millis)
    assert result["action"] == "refused" and "own health route fails too" in result["reason"]
    assert asked == [("https://secondary/v1/health?role=any", 5.0)]
    (message,) = harness.messages()
    assert message["Subject"] == "trading-dr dev: automatic promotion REFUSED"
    assert "aws lambda invoke --region us-west-2" in json.loads(message["Message"])["next"]


@pytest.mark.parametrize("values", [(61_000.0,), ()], ids=["lag-beyond-the-rpo", "no-lag-data"])
def test_an_automatic_data_loss_failover_beyond_the_rpo_waits_for_a_person(harness, values):
    harness.quorum_still()
    harness.old_writer(error="ServiceUnavailable")
    harness.lag(*values)
    result = harness.run(alarm_event())  # no failover is stubbed: it would raise
    assert result["action"] == "refused" and "a person decides" in result["reason"]
    (message,) = harness.messages()
    assert (
        "make failover-pulumi-trading-dr STACK=dev CONFIRM=trading-db-dev"
        in json.loads(message["Message"])["next"]
    )


def test_an_automatic_switchover_needs_no_lag_check(harness):
    """No data is lost when the old writer answers: the RPO does not stand in the way."""
    harness.quorum_still()
    harness.old_writer("available")
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("switchover_global_cluster", accepted(data_loss=False), SWITCHOVER)
    assert harness.run(alarm_event())["mode"] == "switchover"  # no get_metric_data stubbed
