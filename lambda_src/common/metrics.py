"""One CloudWatch metric written to the function's log in the embedded metric format (EMF): Lambda
ships the log line, CloudWatch extracts the metric. No API call, no SDK import (a cold start pays
nothing for it).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping


def emf_line(
    namespace: str,
    dimensions: Mapping[str, str],
    name: str,
    value: float,
    unit: str = "Count",
    clock: Callable[[], float] = time.time,
) -> str:
    """The EMF JSON for one value of one metric, with its dimensions as one dimension set."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(clock() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [sorted(dimensions)],
                        "Metrics": [{"Name": name, "Unit": unit}],
                    }
                ],
            },
            **dimensions,
            name: value,
        }
    )


def put(namespace: str, dimensions: Mapping[str, str], name: str, value: float, unit: str = "Count") -> None:
    print(emf_line(namespace, dimensions, name, value, unit), flush=True)
