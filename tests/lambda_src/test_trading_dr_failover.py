"""The failover orchestrator, with RDS and SNS behind botocore's Stubber (moto has no
failover_global_cluster): real clients, so every call's parameters are checked against the model."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from lambda_src.pulumi_trading_dr.failover import index as fo
from tests.iam_calls import required_actions
from tests.lambda_src.conftest import LambdaContext

EVENTS = Path(__file__).parent / "events"
REGION = "us-west-2"  # the function lives in the secondary region
ACCOUNT = "123456789012"
GLOBAL_ID = "trading-dr-dev-global"
PRIMARY = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:trading-dr-dev-primary"
SECONDARY = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:trading-dr-dev-secondary"
ALARM_NAME = "trading-failover-dev"  # the stack's composite alarm (pulumi_trading_dr monitoring)
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:trading-dr-dev-alerts"
DESCRIBE = {"GlobalClusterIdentifier": GLOBAL_ID}
FAILOVER = {
    "GlobalClusterIdentifier": GLOBAL_ID,
    "TargetDbClusterIdentifier": SECONDARY,
    "AllowDataLoss": True,
}
SWITCHOVER = {"GlobalClusterIdentifier": GLOBAL_ID, "TargetDbClusterIdentifier": SECONDARY}


def alarm_event(state="ALARM", name=ALARM_NAME):
    event = json.loads((EVENTS / "trading_dr_composite_alarm_state_change.json").read_text())
    event["detail"]["alarmName"] = name
    event["detail"]["state"]["value"] = state
    return event


def drill_event(mode):
    return {"source": "trading-dr.drill", "detail-type": "Failover drill", "detail": {"mode": mode}}


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
    """The function's dependencies with RDS and SNS stubbed; what it publishes is recorded."""

    def __init__(self, max_attempts=5, sns_error=None):
        self.rds = boto3.client("rds", region_name=REGION, config=fo.RDS_CONFIG)
        self.stub = Stubber(self.rds)
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
            topic_arn=TOPIC,
            composite_alarm_name=ALARM_NAME,
            environment="dev",
            max_attempts=max_attempts,
            base_delay_seconds=2,
        )

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.context.slept_ms += seconds * 1000

    def deps(self, rds=None):
        return fo.Dependencies(
            rds=rds or self.rds, sns=self.sns, settings=self.settings, sleep=self.sleep, rand=lambda: 0.5
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

    def run(self, event, rds=None):
        with self.stub:
            result = fo.handle(event, self.deps(rds), self.context.get_remaining_time_in_millis)
            self.stub.assert_no_pending_responses()
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


def test_the_composite_alarm_fails_over_to_the_secondary_allowing_data_loss(harness):
    """Unplanned: the primary region is down, so failover_global_cluster with AllowDataLoss=True."""
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    result = harness.run(alarm_event())
    assert result["action"] == "initiated" and result["mode"] == "failover"
    assert (result["old_writer"], result["new_writer"]) == (PRIMARY, SECONDARY)
    assert harness.sleeps == []
    (message,) = harness.messages()
    assert message["Subject"] == "trading-dr dev: failover to the secondary region initiated"
    body = json.loads(message["Message"])
    assert body == {
        "summary": "failover to the secondary region initiated",
        "global_cluster": GLOBAL_ID,
        "mode": "failover",
        "trigger": f"alarm {ALARM_NAME} ALARM",
        "old_writer": PRIMARY,
        "new_writer": SECONDARY,
    }


@pytest.mark.catalogue("trading-dr-22")
def test_throttling_is_retried_with_backoff_then_succeeds(harness):
    """Fix: RDS's "Throttling" (not "ThrottlingException") is retried, with exponential backoff."""
    harness.expect("describe_global_clusters", error="Throttling", params=DESCRIBE)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", error="Throttling", params=FAILOVER)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    result = harness.run(alarm_event())
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
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", error=code, status=status, params=FAILOVER)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    assert harness.run(alarm_event())["action"] == "initiated"
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


def test_a_read_timeout_is_retried_without_sending_the_failover_twice(harness):
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    in_progress = {"Status": "pending", "FromDbClusterArn": PRIMARY, "ToDbClusterArn": SECONDARY}
    harness.expect("describe_global_clusters", global_clusters(failover_state=in_progress), DESCRIBE)
    result = harness.run(alarm_event(), rds=LostAnswer(harness.rds))  # no second failover call
    assert result["action"] == "initiated" and result["old_writer"] == PRIMARY
    assert harness.sleeps == [1.0]
    assert len(harness.messages()) == 1  # the operators still hear that it started


@pytest.mark.catalogue("trading-dr-22")
def test_a_non_retryable_error_alerts_and_raises(harness):
    """Fix: a failed failover is reported on SNS (code and message, no trace) and re-raised."""
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", error="InvalidParameterCombination", params=FAILOVER)
    with pytest.raises(Exception, match="InvalidParameterCombination") as raised:
        harness.run(alarm_event())
    assert raised.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert harness.sleeps == []
    (message,) = harness.messages()
    assert message["Subject"] == "trading-dr dev: failover FAILED (failover)"
    body = json.loads(message["Message"])
    assert body["error_code"] == "InvalidParameterCombination"
    assert "InvalidParameterCombination (from the test)" in body["error_message"]
    assert body["target"] == SECONDARY and body["attempts"] == 1
    assert "Traceback" not in message["Message"]


def test_a_missing_global_cluster_alerts_and_raises(harness):
    harness.expect(
        "describe_global_clusters", error="GlobalClusterNotFoundFault", status=404, params=DESCRIBE
    )
    with pytest.raises(Exception, match="GlobalClusterNotFoundFault"):
        harness.run(alarm_event())
    assert harness.sleeps == []
    assert json.loads(harness.messages()[0]["Message"])["error_code"] == "GlobalClusterNotFoundFault"


@pytest.mark.catalogue("trading-dr-22")
def test_exhausted_retries_alert_and_raise(offline):
    harness = Harness(max_attempts=3)
    for _ in range(3):
        harness.expect("describe_global_clusters", error="Throttling", params=DESCRIBE)
    with pytest.raises(fo.FailoverFailed, match="within 3 attempts: Throttling") as raised:
        harness.run(alarm_event())
    assert raised.value.code == "Throttling"
    assert harness.sleeps == [1.0, 2.0]  # no sleep after the last attempt
    (message,) = harness.messages()
    assert message["Subject"] == "trading-dr dev: failover FAILED (failover)"
    assert json.loads(message["Message"])["attempts"] == 3


def test_retries_never_sleep_into_the_end_of_the_invocation(offline):
    harness = Harness(max_attempts=10)
    harness.context.budget_ms = 70_000  # the margin is 60 s: 10 s of backoff, no more
    for _ in range(4):
        harness.expect("describe_global_clusters", error="ServiceUnavailable", status=503, params=DESCRIBE)
    with pytest.raises(fo.FailoverFailed, match="within the time left"):
        harness.run(alarm_event())
    assert harness.sleeps == [1.0, 2.0, 4.0]  # 8 more seconds would leave less than the margin
    assert harness.context.get_remaining_time_in_millis() >= fo.TIME_MARGIN_MS
    assert len(harness.messages()) == 1


def test_the_backoff_is_exponential_with_full_jitter_and_a_cap():
    settings = fo.Settings("g", "t", "topic", "alarm", base_delay_seconds=2)
    assert [fo.backoff_seconds(n, settings, lambda: 1.0) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    assert fo.backoff_seconds(3, settings, lambda: 0.0) == 0


@pytest.mark.parametrize(
    "failover_state",
    [None, {"Status": "switching-over", "FromDbClusterArn": PRIMARY, "ToDbClusterArn": SECONDARY}],
    ids=["settled", "finishing"],
)
def test_the_secondary_already_the_writer_is_a_no_op(harness, failover_state):
    """Idempotent: a retried event or a second alarm after the failover does nothing again."""
    harness.expect("describe_global_clusters", global_clusters(SECONDARY, failover_state), DESCRIBE)
    result = harness.run(alarm_event())  # a failover call would find no stubbed response and raise
    assert result["action"] == "none" and result["mode"] == "failover"
    assert harness.messages() == []  # nothing happened: no alert


@pytest.mark.parametrize("status", ["pending", "failing-over", "switching-over"])
def test_a_failover_to_the_secondary_in_progress_is_a_no_op(harness, status):
    state = {"Status": status, "FromDbClusterArn": PRIMARY, "ToDbClusterArn": SECONDARY}
    harness.expect("describe_global_clusters", global_clusters(PRIMARY, state), DESCRIBE)
    result = harness.run(alarm_event())
    assert result["action"] == "none" and status in result["reason"]
    assert harness.messages() == []


def test_an_operation_being_cancelled_is_waited_for(harness):
    cancelling = {"Status": "cancelling", "FromDbClusterArn": PRIMARY, "ToDbClusterArn": SECONDARY}
    harness.expect("describe_global_clusters", global_clusters(PRIMARY, cancelling), DESCRIBE)
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    assert harness.run(alarm_event())["action"] == "initiated"
    assert harness.sleeps == [1.0]


def test_a_target_outside_the_global_cluster_alerts_and_raises(harness):
    harness.expect("describe_global_clusters", global_clusters(members=(PRIMARY,)), DESCRIBE)
    with pytest.raises(fo.FailoverFailed, match="not a member") as raised:
        harness.run(alarm_event())
    assert raised.value.code == "TargetNotMember"
    assert json.loads(harness.messages()[0]["Message"])["error_code"] == "TargetNotMember"


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_ok_and_insufficient_data_are_ignored(harness, state):
    result = harness.run(alarm_event(state))  # no RDS call is stubbed: any would raise
    assert result == {
        "action": "ignored",
        "reason": f"alarm {ALARM_NAME} {state}: nothing to do",
        "trigger": f"alarm {ALARM_NAME} {state}",
    }
    assert harness.messages() == []


def _without_detail_key(key):
    event = alarm_event()
    del event["detail"][key]
    return event


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (alarm_event(name="trading-dr-dev-some-other-alarm"), "is not the composite alarm"),
        (_without_detail_key("alarmName"), "is not the composite alarm"),
        (_without_detail_key("state"), "no known state value"),
        (alarm_event(state="SILENCED"), "no known state value"),
        ({**alarm_event(), "detail": "ALARM"}, "no detail object"),
        ({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}, "no detail object"),
        ({**alarm_event(), "detail-type": "CloudWatch Alarm Configuration Change"}, "unknown event"),
        ({**alarm_event(), "source": "aws.rds"}, "unknown event"),
        (drill_event("promote-everything"), "drill mode must be"),
        ({**drill_event("failover"), "source": "someone.else"}, "unknown event"),
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
        "bad-drill-mode",
        "drill-from-another-source",
        "sqs-shaped",
        "a-list",
        "a-string",
    ],
)
def test_anything_else_is_an_invalid_event_and_nothing_is_done(harness, event, match):
    with pytest.raises(fo.InvalidEvent, match=match):
        harness.run(event)
    assert harness.messages() == []


def test_the_drill_switchover_is_a_managed_switchover_without_data_loss(harness):
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("switchover_global_cluster", accepted(data_loss=False), SWITCHOVER)  # no AllowDataLoss
    result = harness.run(drill_event("switchover"))
    assert result["action"] == "initiated" and result["mode"] == "switchover"
    assert result["trigger"] == "drill switchover"
    (message,) = harness.messages()
    assert message["Subject"] == "trading-dr dev: switchover to the secondary region initiated"


def test_the_drill_failover_is_the_unplanned_failover(harness):
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    assert harness.run(drill_event("failover"))["mode"] == "failover"


def test_a_lost_success_notification_does_not_fail_the_started_failover(offline):
    harness = Harness(sns_error="NotFound")
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    result = harness.run(alarm_event())
    assert result["action"] == "initiated" and result["notified"] is False


def test_a_lost_failure_alert_still_raises_the_error(offline):
    harness = Harness(sns_error="NotFound")
    harness.expect("describe_global_clusters", error="AccessDenied", status=403, params=DESCRIBE)
    with pytest.raises(Exception, match="AccessDenied"):
        harness.run(alarm_event())
    assert len(harness.published) == 1  # tried


def test_the_handler_runs_on_the_saved_composite_alarm_event(harness, monkeypatch):
    """The real handler (Powertools decorators) on the event as EventBridge delivers it."""
    event = json.loads((EVENTS / "trading_dr_composite_alarm_state_change.json").read_text())
    assert (event["source"], event["detail-type"]) == (fo.ALARM_SOURCE, fo.ALARM_DETAIL_TYPE)
    assert event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ALARM_NAME}"]
    assert "alarmRule" in event["detail"]["configuration"]  # what makes it a composite alarm's event
    harness.expect("describe_global_clusters", global_clusters(), DESCRIBE)
    harness.expect("failover_global_cluster", accepted(), FAILOVER)
    monkeypatch.setattr(fo, "_deps", harness.deps())
    with harness.stub:
        result = fo.handler(event, harness.context)
    harness.stub.assert_no_pending_responses()
    assert result["action"] == "initiated" and result["attempts"] == 1
    assert len(harness.messages()) == 1


def test_settings_and_clients_come_from_the_environment(offline, monkeypatch):
    monkeypatch.setattr(fo, "_deps", None)
    for name, value in {
        "GLOBAL_CLUSTER_ID": GLOBAL_ID,
        "TARGET_CLUSTER_ARN": SECONDARY,
        "TOPIC_ARN": "arn:aws:sns:us-west-2:123456789012:alerts",
        "COMPOSITE_ALARM_NAME": ALARM_NAME,
        "ENVIRONMENT": "dev",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("BASE_DELAY_SECONDS", raising=False)
    deps = fo._default_deps()
    assert deps.settings == fo.Settings(
        GLOBAL_ID, SECONDARY, "arn:aws:sns:us-west-2:123456789012:alerts", ALARM_NAME, "dev", 5, 2.0
    )
    # botocore's own retries are off for RDS: the function's policy is the only one.
    assert deps.rds.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
    monkeypatch.setenv("MAX_ATTEMPTS", "0")
    with pytest.raises(ValueError, match="MAX_ATTEMPTS"):
        fo.Settings.from_env(dict(os.environ))


def test_the_function_calls_only_what_its_role_grants():
    assert required_actions(Path(fo.__file__).parent) == {
        "rds:DescribeGlobalClusters",
        "rds:FailoverGlobalCluster",
        "rds:SwitchoverGlobalCluster",
        "sns:Publish",
    }
