"""CloudWatch's alarm evaluation, for the stack's alarm definitions: can an alarm fire for the
condition it names, and stay quiet otherwise?

A metric alarm looks at its last ``EvaluationPeriods`` periods and goes to ALARM when at least
``DatapointsToAlarm`` (default: all of them) breach; a missing period counts as
``TreatMissingData`` says (``missing``/``ignore``: not evaluated, so a wholly missing window keeps
or makes INSUFFICIENT_DATA). A metric-math alarm compares its returned expression. A composite
alarm's rule is ALARM(...)/OK(...) terms joined by AND/OR.
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html)
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

COMPARE = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
Value = float | None  # None: no datapoint in that period


def expression_value(expression: str, values: Mapping[str, float]) -> float:
    """The value of the metric-math expressions this stack uses (IF, arithmetic, comparisons)."""
    # IF(condition, then, else), lazily as CloudWatch evaluates it (no division in the branch not taken).
    python = re.sub(r"\bIF\(([^,()]+),([^,()]+),([^,()]+)\)", r"((\2) if (\1) else (\3))", expression)
    return float(eval(python, {"__builtins__": {}}, dict(values)))  # noqa: S307


def series(alarm: Mapping[str, Any], scenario: Sequence[Any]) -> list[Value]:
    """The alarm's metric, period by period: plain values, or {query id: value} for metric math."""
    queries = alarm.get("metricQueries")
    if not queries:
        return list(scenario)
    (returned,) = [q for q in queries if q.get("returnData")]
    return [None if point is None else expression_value(returned["expression"], point) for point in scenario]


def state(alarm: Mapping[str, Any], scenario: Sequence[Any]) -> str:
    """ALARM, OK or INSUFFICIENT_DATA after the periods of ``scenario`` (oldest first)."""
    periods = int(alarm["evaluationPeriods"])
    needed = int(alarm.get("datapointsToAlarm") or periods)
    window = series(alarm, scenario)[-periods:]
    window = [None] * (periods - len(window)) + window
    compare = COMPARE[alarm["comparisonOperator"]]
    missing = alarm.get("treatMissingData", "missing")
    breaching = 0
    evaluated = 0
    for value in window:
        if value is None:
            if missing == "breaching":
                breaching, evaluated = breaching + 1, evaluated + 1
            elif missing == "notBreaching":
                evaluated += 1
            continue
        evaluated += 1
        breaching += compare(value, float(alarm["threshold"]))
    if breaching >= needed:
        return "ALARM"
    return "OK" if evaluated else "INSUFFICIENT_DATA"


def composite_state(rule: str, states: Mapping[str, str]) -> str:
    """The state of a composite rule of ALARM("name")/OK("name") terms with AND/OR."""
    python = re.sub(r'(ALARM|OK)\("([^"]+)"\)', lambda m: repr(states[m.group(2)] == m.group(1)), rule)
    python = python.replace(" AND ", " and ").replace(" OR ", " or ")
    if not re.fullmatch(r"[\s()]*(True|False)([\s()]*(and|or)[\s()]*(True|False))*[\s()]*", python):
        raise ValueError(f"not a rule this evaluator reads: {rule}")
    return "ALARM" if eval(python, {"__builtins__": {}}) else "OK"  # noqa: S307
