"""The trading DR stack's bad day, at synth level: every alarm can fire for the condition it names
(CloudWatch's evaluation, tests/pulumi_trading_dr/alarms.py) and stays quiet otherwise; one
signal pages, only two promote; traffic follows the writer; order processing is on in one region;
each function in the VPC has a private way to every AWS API it calls; no role may do more than its
code needs, on the resources it touches."""

from __future__ import annotations

import json

import pytest

from lambda_src.build import function_dir
from pulumi_offline import archive_path
from pulumi_trading_dr.components.orders import READ_ONLY_RETRY_SECONDS, VISIBILITY_TIMEOUT
from tests.iam.requests import required_actions
from tests.pulumi_trading_dr.alarms import composite_state, state

PRIMARY, SECONDARY = "us-east-1", "us-west-2"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"
MINUTE = 60


def alarms(dr):
    return {a["inputs"]["name"]: a["inputs"] for a in dr.of_type(ALARM)}


def requirements(dr):
    """What each alarm is for, as a requirement (not read from the alarm): (scenario that must page,
    scenario that must not), each a list of per-period values, oldest first."""
    rpo_ms = dr.outputs["recovery_objectives"]["rpo_seconds"] * 1000
    lagging, fine = [rpo_ms + 1000] * 2, [rpo_ms - 1000] * 10
    cases = {
        # Route 53's checkers find a region's health route failing for two minutes; one bad minute is noise.
        "trading-health-check-{role}-dev": ([1, 0, 0], [1, 0, 1]),
        # A region's own canary: under 90 % success for two periods (every 5 minutes); one is not enough.
        "trading-canary-{role}-dev": ([89, 89], [100, 0]),
        # The failover signals: three failed runs in a row (every minute); never on missing data.
        "trading-canary-probe-primary-dev": ([0, 89, 89], [0, 0, 100]),
        "trading-canary-verdict-dev": ([89, 0, 89], [None, None, None]),
        # The RPO: replication behind by more than rpoSeconds for two minutes; a one-minute burst is not.
        "trading-global-replication-lag-dev": (lagging, [*fine[:-1], rpo_ms * 3]),
        "trading-table-replication-latency-dev": (lagging, fine),
        # The writer above 90 % of its maximum capacity for 15 minutes; at 90 % it is not.
        "trading-writer-capacity-dev": ([91, 92, 95], [90, 99, 90]),
        # More than 5 % of the order processor's invocations failed; no invocations is no failure.
        "trading-orders-error-rate-{role}-dev": (
            [{"errors": 6, "invocations": 100}],
            [{"errors": 4, "invocations": 100}],
        ),
        # Records keep failing (a poison order, a ledger that refuses) in 2 of 3 periods; one blip is not.
        "trading-orders-failing-{role}-dev": ([1, 0, 3], [0, 2, 0]),
        "trading-orders-throttles-{role}-dev": ([1], [0]),
        "trading-orders-dead-lettered-{role}-dev": ([1], [0]),
        # An order waited more than 15 minutes.
        "trading-orders-waiting-{role}-dev": ([15 * MINUTE + 1], [15 * MINUTE - 1]),
        # More than 5 % of the API's requests answered 5XX.
        "trading-api-5xx-{role}-dev": ([0.06], [0.04]),
        # WAF blocked a GET /health request in 5 minutes (a flood, or a checker over the limit:
        # test_flood.py); a period without blocks has no datapoint and does not page.
        "trading-waf-health-blocked-{role}-dev": ([1], [None]),
        # The gate failed three runs in a row (it runs every minute); two are not enough.
        "trading-gate-errors-dev-{role}": ([1, 1, 1], [1, 1, 0]),
        "trading-failover-dead-letters-dev": ([1], [0]),
        # A step of the master secret's rotation failed (it runs every 30 days: one error pages).
        "trading-rotation-errors-dev": ([1], [0]),
    }
    return {
        name.format(role=role): scenarios
        for name, scenarios in cases.items()
        for role in (("primary", "secondary") if "{role}" in name else ("",))
    }


def test_every_alarm_has_a_requirement(dr):
    assert set(alarms(dr)) == set(requirements(dr))


@pytest.mark.catalogue("trading-dr-20")
def test_every_alarm_fires_for_the_condition_it_names_and_not_otherwise(dr):
    """Changing a threshold, a period count, a statistic's direction or the missing-data policy
    makes one of the two scenarios come out wrong."""
    defined = alarms(dr)
    for name, (failing, healthy) in requirements(dr).items():
        assert state(defined[name], failing) == "ALARM", name
        assert state(defined[name], healthy) != "ALARM", name


def test_each_canary_reports_in_every_period_its_alarm_reads(dr):
    """A canary that runs less often than its alarm's period leaves periods without data, which a
    failover signal counts as not breaching: its alarm could never see three failed periods in a
    row, and the failure timeline (which reads the alarm) would promise a detection that never
    comes. Each canary's alarm period is its schedule."""
    from pulumi_trading_dr.timeline import _rate_seconds

    periods = {
        a["dimensions"]["CanaryName"]: int(a["period"])
        for a in alarms(dr).values()
        if "CanaryName" in (a.get("dimensions") or {})
    }
    canaries = dr.of_type("aws:synthetics/canary:Canary")
    assert len(canaries) == 4 and set(periods) == {c["inputs"]["name"] for c in canaries}
    for canary in canaries:
        inputs = canary["inputs"]
        assert periods[inputs["name"]] == _rate_seconds(inputs["schedule"]["expression"]), inputs["name"]


# What silence means, per alarm (CloudWatch's TreatMissingData): a Route 53 checker or a region's own
# canary that stops reporting is a failure someone must see; a failover signal or the RPO that has
# no data must never start a promotion or page for lag that was not measured.
SILENCE_PAGES = {
    "trading-health-check-{role}-dev": True,
    "trading-canary-{role}-dev": True,
    "trading-canary-probe-primary-dev": False,
    "trading-canary-verdict-dev": False,
    "trading-global-replication-lag-dev": False,
    "trading-table-replication-latency-dev": False,
}


def test_silence_pages_only_where_a_missing_report_is_itself_a_failure(dr):
    defined = alarms(dr)
    for pattern, pages in SILENCE_PAGES.items():
        for role in ("primary", "secondary") if "{role}" in pattern else ("",):
            name = pattern.format(role=role)
            silent = [None] * int(defined[name]["evaluationPeriods"])
            assert (state(defined[name], silent) == "ALARM") is pages, name


def test_the_rpo_alarms_take_the_maximum(dr):
    """Replication lag is about the worst moment: an Average over the period hides the spike the
    RPO promised away."""
    for name in ("trading-global-replication-lag-dev", "trading-table-replication-latency-dev"):
        assert alarms(dr)[name]["statistic"] == "Maximum", name


def test_route_53_checks_from_more_than_one_continent(dr):
    """Checkers in one geography share its network's bad day; the verdict must not."""
    from pulumi_trading_dr.components.route53 import CHECKER_REGIONS

    for check in dr.of_type("aws:route53/healthCheck:HealthCheck"):
        assert check["inputs"]["regions"] == list(CHECKER_REGIONS)
    assert {region.split("-")[0] for region in CHECKER_REGIONS} - {"us"}, CHECKER_REGIONS


def test_an_idle_order_processor_has_no_error_rate():
    from pulumi_trading_dr.components.monitoring import ERROR_RATE
    from tests.pulumi_trading_dr.alarms import expression_value

    assert expression_value(ERROR_RATE, {"errors": 0, "invocations": 0}) == 0


def test_one_signal_pages_and_prepares_and_only_both_promote(dr):
    """The two failover signals: any one pages (and the orchestrator prepares); the quorum needs
    both, so one vantage point's mistake cannot throw writes away."""
    composites = {
        dr.name_of(c): c["inputs"]["alarmRule"]
        for c in dr.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    }
    probe, verdict = "trading-canary-probe-primary-dev", "trading-canary-verdict-dev"
    for probe_state, verdict_state, paging, quorum in (
        ("ALARM", "OK", "ALARM", "OK"),
        ("OK", "ALARM", "ALARM", "OK"),
        ("ALARM", "ALARM", "ALARM", "ALARM"),
        ("OK", "OK", "OK", "OK"),
    ):
        states = {probe: probe_state, verdict: verdict_state}
        assert composite_state(composites["monitoring-primary-failing"], states) == paging
        assert composite_state(composites["monitoring-failover"], states) == quorum
    lag = "trading-global-replication-lag-dev"
    assert all(lag not in rule for rule in composites.values())  # the RPO pages, never fails over


def test_the_failover_probes_look_at_the_primary_from_the_secondary_region(dr):
    """A probe of the secondary's own API, or one run in the primary region, would see nothing of
    the primary region's loss (or be lost with it)."""
    canaries = {c["inputs"]["name"]: c for c in dr.of_type("aws:synthetics/canary:Canary")}
    probe = canaries["trading-dev-probe-primary"]
    primary_host = dr.outputs["primary_api_endpoint"].split("/")[2]
    assert dr.region(probe) == SECONDARY
    env = probe["inputs"]["runConfig"]["environmentVariables"]
    assert env["TARGET_URL"].split("/")[2] == primary_host and env["EXPECTED_REGION"] == PRIMARY
    verdict = canaries["trading-dev-verdict"]
    assert dr.region(verdict) == SECONDARY
    assert verdict["inputs"]["runConfig"]["environmentVariables"] == {
        "VERDICT_NAME": "primary-verdict.api.trading-dev.example.com",
        "HEALTHY_ADDRESS": "192.0.2.1",
    }
    for role, region in (("primary", PRIMARY), ("secondary", SECONDARY)):
        own = canaries[f"trading-dev-{role}"]
        assert dr.region(own) == region
        host = dr.outputs[f"{role}_api_endpoint"].split("/")[2]
        assert own["inputs"]["runConfig"]["environmentVariables"]["TARGET_URL"].split("/")[2] == host


def test_the_verdict_record_answers_what_the_checkers_find_about_the_primary(dr):
    records = {
        r["inputs"]["setIdentifier"]: r["inputs"]
        for r in dr.of_type("aws:route53/record:Record")
        if r["inputs"].get("name") == "primary-verdict.api.trading-dev.example.com"
    }
    checks = {c["id"]: c["inputs"] for c in dr.of_type("aws:route53/healthCheck:HealthCheck")}
    healthy, failed = records["verdict-primary"], records["verdict-secondary"]
    assert healthy["records"] == ["192.0.2.1"] and failed["records"] == ["192.0.2.2"]
    assert healthy["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    check = checks[healthy["healthCheckId"]]
    assert check["fqdn"] == dr.outputs["primary_api_endpoint"].split("/")[2]
    assert check["resourcePath"] == "/v1/health?role=any"  # alive, in either role
    # No check on the secondary: Route 53 answers it whenever the primary's check fails.
    assert "healthCheckId" not in failed and failed["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert healthy["ttl"] <= 60


def test_traffic_follows_the_writer(dr):
    """The failover records route on /v1/health, which answers 200 only where the cluster writes:
    before a promotion both records are unhealthy and Route 53 keeps answering PRIMARY."""
    checks = {c["id"]: c["inputs"] for c in dr.of_type("aws:route53/healthCheck:HealthCheck")}
    for record in dr.of_type("aws:route53/record:Record"):
        if record["inputs"].get("name") != "api.trading-dev.example.com":
            continue
        check = checks[record["inputs"]["healthCheckId"]]
        assert check["resourcePath"] == "/v1/health"  # not ?role=any: a standby is not a target


def test_order_processing_is_on_in_the_primary_only_and_then_the_gates(dr, dr_automatic):
    mappings = {
        dr.region(m): m["inputs"] for m in dr.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    }
    assert (mappings[PRIMARY]["enabled"], mappings[SECONDARY]["enabled"]) == (True, False)
    # A pulumi up after a failover must not turn the standby's processor back on.
    for role in ("primary", "secondary"):
        assert dr_automatic.ignore_changes[f"orders-{role}-source"] == ["enabled"]


def test_each_gate_owns_its_regions_mapping_and_forwards_to_the_other_region_only(dr):
    mappings = {dr.region(m): m for m in dr.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")}
    queues = {dr.region(q): q for q in dr.of_type("aws:sqs/queue:Queue") if dr.name_of(q).endswith("-queue")}
    (global_cluster,) = dr.of_type("aws:rds/globalCluster:GlobalCluster")
    for role, region, other in (("primary", PRIMARY, SECONDARY), ("secondary", SECONDARY, PRIMARY)):
        gate = dr.named(FUNCTION, f"gate-{role}-function")
        assert dr.region(gate) == region and "vpcConfig" not in gate["inputs"]
        assert gate["inputs"]["reservedConcurrentExecutions"] == 1
        env = gate["inputs"]["environment"]["variables"]
        mapping_arn = f"arn:aws:lambda:{region}:123456789012:event-source-mapping:{env['MAPPING_UUID']}"
        assert env["MAPPING_UUID"] == f"{dr.name_of(mappings[region])}-uuid"
        statements = dr.role_statements(gate)
        by_action = {
            a: s
            for s in statements
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        }
        assert by_action["lambda:UpdateEventSourceMapping"]["Resource"] == mapping_arn
        other_queue = f"arn:aws:sqs:{other}:123456789012:{queues[other]['inputs']['name']}"
        assert by_action["sqs:SendMessage"]["Resource"] == other_queue
        assert by_action["sqs:DeleteMessage"]["Resource"].endswith(
            f":{region}:123456789012:{queues[region]['inputs']['name']}"
        )
        assert by_action["rds:DescribeGlobalClusters"]["Resource"].endswith(
            f":global-cluster:{global_cluster['inputs']['globalClusterIdentifier']}"
        )
        schedule = dr.named("aws:cloudwatch/eventRule:EventRule", f"gate-{role}-schedule")
        assert schedule["inputs"]["scheduleExpression"] == "rate(1 minute)"


def test_a_read_only_record_comes_back_well_before_the_visibility_timeout(dr):
    for role in ("primary", "secondary"):
        processor = dr.named(FUNCTION, f"orders-{role}-processor")
        retry = int(processor["inputs"]["environment"]["variables"]["READ_ONLY_RETRY_SECONDS"])
        assert retry == READ_ONLY_RETRY_SECONDS and retry * 10 <= VISIBILITY_TIMEOUT


# The interface endpoint each AWS API needs from a private subnet (the IAM prefix -> the endpoint
# service); DynamoDB goes through its gateway endpoint.
ENDPOINT_SERVICES = {
    "secretsmanager": "secretsmanager",
    "sqs": "sqs",
    "cloudwatch": "monitoring",
    "xray": "xray",
}


def test_every_function_in_the_vpc_has_a_private_way_to_each_api_it_calls(dr):
    """No NAT, no internet route: a call to an API without an endpoint in the function's VPC hangs
    until the function times out (the health route would answer 'down' in a healthy region)."""
    endpoints = {
        (dr.region(e), e["inputs"]["serviceName"].rsplit(".", 1)[1], e["inputs"]["vpcEndpointType"])
        for e in dr.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    in_vpc = [f for f in dr.of_type(FUNCTION) if "vpcConfig" in f["inputs"]]
    assert {dr.name_of(f).split("-")[0] for f in in_vpc} == {"orders", "health", "migration", "rotation"}
    for function in in_vpc:
        region = dr.region(function)
        folder = function_dir("pulumi_trading_dr", archive_path(function["inputs"]["code"]).rsplit("/", 1)[1])
        services = {action.split(":")[0] for action in required_actions(folder)} | {"xray"}  # Active tracing
        for service in services:
            if service == "dynamodb":
                assert (region, "dynamodb", "Gateway") in endpoints, dr.name_of(function)
            else:
                assert (region, ENDPOINT_SERVICES[service], "Interface") in endpoints, (
                    dr.name_of(function),
                    service,
                )


def test_only_the_promote_role_may_fail_over_and_only_the_global_and_target_clusters(dr):
    """Whoever may invoke the orchestrator (drills) cannot force a data-loss failover; the
    promotion acts on the global cluster and the secondary cluster, never on '*'."""
    (global_cluster,) = dr.of_type("aws:rds/globalCluster:GlobalCluster")
    global_arn = (
        f"arn:aws:rds::123456789012:global-cluster:{global_cluster['inputs']['globalClusterIdentifier']}"
    )
    secondary = next(c for c in dr.of_type("aws:rds/cluster:Cluster") if dr.region(c) == SECONDARY)
    target = f"arn:aws:rds:{SECONDARY}:123456789012:cluster:{secondary['inputs']['clusterIdentifier']}"
    for name, allowed in (
        ("failover-function", ["rds:SwitchoverGlobalCluster"]),
        ("failover-promote", ["rds:SwitchoverGlobalCluster", "rds:FailoverGlobalCluster"]),
    ):
        statements = dr.role_statements(dr.named(FUNCTION, name))
        promotions = [
            s
            for s in statements
            if "GlobalCluster" in json.dumps(s["Action"]) and "Describe" not in json.dumps(s["Action"])
        ]
        (statement,) = promotions
        assert statement["Action"] == allowed and sorted(statement["Resource"]) == sorted(
            [global_arn, target]
        )
        for s in statements:
            if s["Resource"] == "*":
                assert set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]]) <= {
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "cloudwatch:GetMetricData",
                }, (name, s)


def test_the_health_route_is_bounded_and_cheap(dr):
    for role in ("primary", "secondary"):
        function = dr.named(FUNCTION, f"health-{role}-function")
        inputs = function["inputs"]
        # At most this many database sessions; at least two, so one slow answer does not throttle the
        # checkers (a 429 is a failed health check).
        assert 2 <= inputs["reservedConcurrentExecutions"] <= 10
        assert inputs["timeout"] <= 10
        env = inputs["environment"]["variables"]
        assert int(env["CACHE_SECONDS"]) <= 15 and env["MAX_QUEUE_AGE_SECONDS"] == str(15 * MINUTE)
        groups = {g["id"]: g["inputs"]["name"] for g in dr.of_type("aws:ec2/securityGroup:SecurityGroup")}
        (group,) = inputs["vpcConfig"]["securityGroupIds"]
        assert groups[group] == f"trading-health-fn-dev-{role}"


def test_every_function_finds_its_regions_writer_even_before_the_region_writes(dr):
    """A secondary cluster's writer endpoint is inactive, and the provider records it empty, until
    the promotion (the offline mocks answer as AWS does): the functions are told the writer's name
    derived from the reader endpoint, so they reach it as soon as it writes, with no pulumi up."""
    clusters = {dr.region(c): c for c in dr.of_type("aws:rds/cluster:Cluster")}
    hosts = []
    for function in dr.of_type(FUNCTION):
        env = function["inputs"].get("environment", {}).get("variables", {})
        if "DB_HOST" not in env:
            continue
        region = dr.region(function)
        identifier = clusters[region]["inputs"]["clusterIdentifier"]
        assert env["DB_HOST"] == f"{identifier}.cluster-mock.{region}.rds.amazonaws.com", dr.name_of(function)
        if "DB_READER_HOST" in env:
            assert env["DB_READER_HOST"] == f"{identifier}.cluster-ro-mock.{region}.rds.amazonaws.com"
        hosts.append(region)
    assert set(hosts) == {PRIMARY, SECONDARY}
    assert dr.outputs["aurora_secondary_endpoint"].startswith(
        clusters[SECONDARY]["inputs"]["clusterIdentifier"]
    )


def test_a_pulumi_up_after_a_switch_leaves_replication_to_rds(dr_automatic):
    """Both clusters ignore replicationSourceIdentifier (after a switchover RDS changes which
    replicates from which; pulumi-aws: removing it promotes a replica to a standalone cluster)."""
    for role in ("primary", "secondary"):
        assert "replicationSourceIdentifier" in dr_automatic.ignore_changes[f"aurora-{role}"]


def test_the_api_5xx_alarm_reads_post_orders_only(dr):
    """A standby answers /v1/health 503 by design (Route 53 checks it every 30 s): a stage-wide 5XX
    alarm would fire forever in the standby region. The per-method metric needs detailed metrics."""
    for role in ("primary", "secondary"):
        alarm = alarms(dr)[f"trading-api-5xx-{role}-dev"]
        assert (alarm["dimensions"]["Resource"], alarm["dimensions"]["Method"]) == ("/orders", "POST")
        settings = dr.named("aws:apigateway/methodSettings:MethodSettings", f"api-{role}-throttling")[
            "inputs"
        ]
        assert settings["methodPath"] == "*/*" and settings["settings"]["metricsEnabled"] is True


def test_failed_records_are_counted_where_the_alarm_reads_them(dr):
    """The alarm's namespace and dimensions are the ones Powertools' Metrics writes for the processor
    (POWERTOOLS_METRICS_NAMESPACE, service = POWERTOOLS_SERVICE_NAME, environment)."""
    for role in ("primary", "secondary"):
        env = dr.named(FUNCTION, f"orders-{role}-processor")["inputs"]["environment"]["variables"]
        alarm = alarms(dr)[f"trading-orders-failing-{role}-dev"]
        assert (
            alarm["namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
            and alarm["metricName"] == "FailedRecords"
        )
        assert alarm["dimensions"] == {
            "service": env["POWERTOOLS_SERVICE_NAME"],
            "environment": env["ENVIRONMENT"],
        }


def test_an_automatic_promotion_acts_on_a_fresh_event_or_not_at_all(dr):
    """Lambda retries a throttled asynchronous event for up to six hours and EventBridge a failed
    delivery for an hour by default: a promotion hours after its alarm must not happen."""
    configs = {
        dr.name_of(c): c["inputs"]
        for c in dr.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    }
    assert configs["failover-promote-async"]["maximumEventAgeInSeconds"] <= 300
    target = dr.named("aws:cloudwatch/eventTarget:EventTarget", "failover-promote-target")["inputs"]
    assert target["retryPolicy"]["maximumEventAgeInSeconds"] <= 300
    assert dr.named(FUNCTION, "failover-promote")["inputs"]["reservedConcurrentExecutions"] == 1
    # The gates: a failed or throttled run is not retried; the next one a minute later replaces it.
    for role in ("primary", "secondary"):
        gate = configs[f"gate-{role}-async"]
        assert gate["maximumRetryAttempts"] == 0 and gate["maximumEventAgeInSeconds"] <= 60


def test_the_health_route_may_read_its_dead_letter_queue_and_no_other(dr):
    for role in ("primary", "secondary"):
        statements = dr.role_statements(dr.named(FUNCTION, f"health-{role}-function"))
        (grant,) = [s for s in statements if "sqs:" in json.dumps(s["Action"])]
        dlq = dr.named("aws:sqs/queue:Queue", f"orders-{role}-dlq")["inputs"]["name"]
        assert grant == {
            "Effect": "Allow",
            "Action": "sqs:GetQueueAttributes",
            "Resource": f"arn:aws:sqs:{PRIMARY if role == 'primary' else SECONDARY}:123456789012:{dlq}",
        }
