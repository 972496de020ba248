"""The worst-case failure timeline of the trading DR stack, derived from what it deploys.

Read from resources.json (``make synth-all``), not from constants: every step is computed from the
settings of the resources that make it happen (the canaries' schedules, the alarms' periods and
evaluations, the Route 53 health checks' interval and threshold, the verdict record's TTL, the
health route's cache, the gate's schedule), plus the two budgets config states
(``operatorResponseMinutes``, ``promotionBudgetMinutes``) and two AWS figures that no resource
sets (EventBridge's delivery, the TTL of an alias record to API Gateway). The RTO target
(``rtoMinutes``) and the RPO target (``rpoSeconds``) come from the stack's ``recovery_objectives``
output. tests/pulumi_trading_dr/test_timeline.py fails when a setting breaks a target; the
README's table is this module's output.

    python -m pulumi_trading_dr.timeline [out/pulumi_trading_dr/resources.json]
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_trading_dr.components.route53 import API_ALIAS_TTL

# An alarm's state change reaching a function through EventBridge, and its page being sent.
EVENT_DELIVERY_SECONDS = 60
DOCUMENT = Path(__file__).resolve().parents[1] / "out" / "pulumi_trading_dr" / "resources.json"


@dataclass(frozen=True)
class Step:
    what: str
    seconds: int
    from_: str  # the settings it is computed from


@dataclass(frozen=True)
class Timeline:
    mode: str  # "manual" | "automatic"
    steps: tuple[Step, ...]
    rto_seconds: int

    @property
    def total(self) -> int:
        return sum(step.seconds for step in self.steps)

    @property
    def meets_target(self) -> bool:
        return self.total <= self.rto_seconds


class _Document:
    def __init__(self, document: dict[str, Any]) -> None:
        self.resources = document["deployment"]["resources"]
        self.outputs = self.resources[0]["outputs"]

    def named(self, type_token: str, name: str) -> dict[str, Any]:
        (found,) = [r for r in self.resources if r["type"] == type_token and r["urn"].endswith(f"::{name}")]
        return found["inputs"]

    def alarm(self, name: str) -> dict[str, Any]:
        (found,) = [
            r["inputs"]
            for r in self.resources
            if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm" and r["inputs"]["name"] == name
        ]
        return found


def _rate_seconds(expression: str) -> int:
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", expression)
    if not match:
        raise ValueError(f"not a rate expression: {expression}")
    return int(match.group(1)) * (60 if match.group(2).startswith("minute") else 3600)


def _alarm_seconds(alarm: dict[str, Any]) -> tuple[int, str]:
    """Worst case from a failure to ALARM: the datapoints needed, plus the period the failure
    started in (it may begin just after a datapoint was taken)."""
    needed = int(alarm.get("datapointsToAlarm") or alarm["evaluationPeriods"])
    period = int(alarm["period"])
    return (needed + 1) * period, f"({needed} + 1) x {period} s"


def detection(doc: _Document, env: str) -> tuple[Step, Step]:
    """(probe, verdict): each failover signal's worst case from the primary's loss to its alarm."""
    probe_alarm = doc.alarm(f"trading-canary-probe-primary-{env}")
    probe_seconds, probe_how = _alarm_seconds(probe_alarm)
    probe_rate = _rate_seconds(
        doc.named("aws:synthetics/canary:Canary", "synthetics-probe-primary")["schedule"]["expression"]
    )
    probe = Step(
        "the probe canary's alarm (the primary's /v1/health from the secondary region)",
        probe_seconds,
        f"alarm {probe_how}; canary every {probe_rate} s",
    )
    check = doc.named("aws:route53/healthCheck:HealthCheck", "route53-primary-liveness")
    route53 = int(check["requestInterval"]) * int(check["failureThreshold"])
    ttl = int(doc.named("aws:route53/record:Record", "route53-verdict-primary")["ttl"])
    verdict_seconds, verdict_how = _alarm_seconds(doc.alarm(f"trading-canary-verdict-{env}"))
    verdict = Step(
        "the verdict canary's alarm (Route 53's checkers, read through DNS)",
        route53 + ttl + verdict_seconds,
        f"checks {check['requestInterval']} s x {check['failureThreshold']} + TTL {ttl} s "
        f"+ alarm {verdict_how}",
    )
    return probe, verdict


def timeline(document: dict[str, Any], mode: str | None = None) -> Timeline:
    """The worst case from the primary region's loss to clients writing through the secondary."""
    doc = _Document(document)
    objectives = doc.outputs["recovery_objectives"]
    mode = mode or doc.outputs["failover_mode"]
    env = doc.resources[0]["urn"].split("::")[0].rsplit(":", 1)[1]
    probe, verdict = detection(doc, env)
    steps: list[Step] = []
    if mode == "manual":
        # Either signal pages (OR): the faster one's worst case.
        first = min(probe, verdict, key=lambda s: s.seconds)
        steps.append(Step(f"detection: {first.what}", first.seconds, first.from_ + " (the faster signal)"))
        steps.append(
            Step(
                "page with the readiness report",
                EVENT_DELIVERY_SECONDS,
                "EventBridge to the failover function",
            )
        )
        steps.append(
            Step(
                "a person runs make failover-pulumi-trading-dr",
                int(objectives["operator_response_seconds"]),
                "operatorResponseMinutes",
            )
        )
    else:
        # The quorum needs both: the slower one's worst case.
        last = max(probe, verdict, key=lambda s: s.seconds)
        steps.append(
            Step(f"detection: {last.what}", last.seconds, last.from_ + " (the quorum waits for both)")
        )
        steps.append(
            Step("the quorum alarm starts the promote function", EVENT_DELIVERY_SECONDS, "EventBridge")
        )
    steps.append(
        Step(
            "Aurora promotes the secondary cluster",
            int(objectives["promotion_budget_seconds"]),
            "promotionBudgetMinutes",
        )
    )
    gate_rate = _rate_seconds(
        doc.named("aws:cloudwatch/eventRule:EventRule", "gate-secondary-schedule")["scheduleExpression"]
    )
    gate_timeout = int(doc.named("aws:lambda/function:Function", "gate-secondary-function")["timeout"])
    gate = gate_rate + gate_timeout
    health = doc.named("aws:lambda/function:Function", "health-secondary-function")
    cache = int(health["environment"]["variables"]["CACHE_SECONDS"])
    traffic = doc.named("aws:route53/healthCheck:HealthCheck", "route53-secondary-traffic")
    dns = cache + int(traffic["requestInterval"]) * int(traffic["failureThreshold"]) + API_ALIAS_TTL
    processor = doc.named("aws:lambda/function:Function", "orders-secondary-processor")
    # A record the switch caught (read-only, or the writer out of reach) comes back after this.
    retry = int(processor["environment"]["variables"]["READ_ONLY_RETRY_SECONDS"])
    # Both start at the promotion and run side by side: orders DNS brings before the gate has
    # turned processing on wait in the queue for at most the gate's remaining time.
    steps.append(
        Step(
            "after the promotion, side by side: the gate turns order processing on; DNS moves "
            "(the secondary's /v1/health turns 200, Route 53 finds it healthy, resolvers expire); "
            "records the switch caught come back",
            max(gate, dns, retry),
            f"gate: every {gate_rate} s + a run of {gate_timeout} s = {gate} s; DNS: cache {cache} s + "
            f"checks {traffic['requestInterval']} s x {traffic['failureThreshold']} + alias TTL "
            f"{API_ALIAS_TTL} s = {dns} s; a record the switch caught: back after {retry} s",
        )
    )
    return Timeline(mode, tuple(steps), int(objectives["rto_seconds"]))


def rpo(document: dict[str, Any], env: str = "dev") -> list[tuple[str, int, int]]:
    """(what, threshold or bound in seconds, RPO target in seconds) for each replicated store."""
    doc = _Document(document)
    target = int(doc.outputs["recovery_objectives"]["rpo_seconds"])
    aurora = doc.alarm(f"trading-global-replication-lag-{env}")
    dynamodb = doc.alarm(f"trading-table-replication-latency-{env}")
    return [
        ("Aurora ledger: replication lag pages above", int(aurora["threshold"]) // 1000, target),
        ("DynamoDB orders: replication latency pages above", int(dynamodb["threshold"]) // 1000, target),
    ]


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def markdown(document: dict[str, Any]) -> str:
    lines = []
    for mode in ("manual", "automatic"):
        line = timeline(document, mode)
        lines += [
            f"**failoverMode: {mode}** (worst case, from the primary region's loss to orders written "
            "through the secondary)",
            "",
            "| step | worst case | from |",
            "|---|---|---|",
            *(f"| {s.what} | {_minutes(s.seconds)} | {s.from_} |" for s in line.steps),
            f"| **total** (RTO target {_minutes(line.rto_seconds)}) | **{_minutes(line.total)}** | |",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DOCUMENT
    document = json.loads(path.read_text())
    print(markdown(document), end="")
    failing = [t for t in (timeline(document, m) for m in ("manual", "automatic")) if not t.meets_target]
    for line in failing:
        print(
            f"{line.mode}: {_minutes(line.total)} exceeds the RTO target {_minutes(line.rto_seconds)}",
            file=sys.stderr,
        )
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
