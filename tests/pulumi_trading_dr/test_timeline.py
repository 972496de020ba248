"""RTO and RPO, stated in config and computed from what the stack deploys (pulumi_trading_dr/timeline.py):
a setting that makes the worst case miss a target fails here, and the README shows the table."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from pulumi_trading_dr import timeline

README = Path(__file__).resolve().parents[2] / "pulumi_trading_dr" / "README.md"
MARKERS = ("<!-- trading-dr-timeline:start -->", "<!-- trading-dr-timeline:end -->")


@pytest.mark.parametrize("mode", ["manual", "automatic"])
def test_the_worst_case_meets_the_rto_target(dr, mode):
    line = timeline.timeline(dr.document, mode)
    assert line.meets_target, f"{mode}: {line.total} s > {line.rto_seconds} s\n" + timeline.markdown(
        dr.document
    )


def test_the_rpo_alarms_page_at_or_below_the_target(dr):
    for what, pages_above, target in timeline.rpo(dr.document):
        assert pages_above <= target, what


def _resource(document, name):
    (found,) = [r for r in document["deployment"]["resources"] if r["urn"].endswith(f"::{name}")]
    return found["inputs"]


def _alarm(document, name):
    (found,) = [
        r["inputs"]
        for r in document["deployment"]["resources"]
        if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm" and r["inputs"]["name"] == name
    ]
    return found


@pytest.mark.parametrize(
    ("change", "mode"),
    [
        (
            lambda d: _resource(d, "gate-secondary-schedule").update(scheduleExpression="rate(30 minutes)"),
            "manual",
        ),
        (
            lambda d: _resource(d, "route53-secondary-traffic").update(
                failureThreshold=10, requestInterval=30
            ),
            "manual",
        ),
        (
            lambda d: _alarm(d, "trading-canary-verdict-dev").update(
                evaluationPeriods=20, datapointsToAlarm=20
            ),
            "automatic",
        ),
        (lambda d: _resource(d, "route53-verdict-primary").update(ttl=1200), "automatic"),
        (
            lambda d: d["deployment"]["resources"][0]["outputs"]["recovery_objectives"].update(
                operator_response_seconds=25 * 60
            ),
            "manual",
        ),
        (
            lambda d: d["deployment"]["resources"][0]["outputs"]["recovery_objectives"].update(
                rto_seconds=5 * 60
            ),
            "automatic",
        ),
    ],
    ids=[
        "gate-every-30-min",
        "slow-health-check",
        "verdict-20-periods",
        "verdict-ttl-20-min",
        "slow-operator",
        "tighter-target",
    ],
)
def test_a_setting_that_breaks_the_target_is_caught(dr, change, mode):
    """The timeline reads the deployed settings, so a slower one shows (and fails the test above)."""
    document = copy.deepcopy(dr.document)
    change(document)
    assert timeline.timeline(dr.document, mode).meets_target
    assert not timeline.timeline(document, mode).meets_target


def test_manual_waits_for_the_faster_signal_automatic_for_both(dr):
    probe, verdict = timeline.detection(timeline._Document(dr.document), "dev")
    assert timeline.timeline(dr.document, "manual").steps[0].seconds == min(probe.seconds, verdict.seconds)
    assert timeline.timeline(dr.document, "automatic").steps[0].seconds == max(probe.seconds, verdict.seconds)


def test_the_readme_shows_the_computed_table(dr):
    text = README.read_text()
    block = re.search(re.escape(MARKERS[0]) + r"\n(.*?)" + re.escape(MARKERS[1]), text, re.S)
    assert block, "the README's trading DR section lacks the timeline markers"
    assert block.group(1) == timeline.markdown(dr.document), (
        "README's timeline is stale: make synth-all, then "
        "python -m pulumi_trading_dr.timeline out/pulumi_trading_dr/resources.json"
    )
