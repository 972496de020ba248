"""One test (at least) per catalogue entry trading-dr-01 .. trading-dr-25, over the program run once
under Pulumi mocks. Docstrings name the fix; catalogue/trading_dr.toml has the story."""

from __future__ import annotations

import json
import re

import pytest

from pulumi_trading_dr.config import ConfigError, TradingConfig

PRIMARY, SECONDARY = "us-east-1", "us-west-2"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
CLUSTER = "aws:rds/cluster:Cluster"
FUNCTION = "aws:lambda/function:Function"
STAGE = "aws:apigateway/stage:Stage"
REQUIRED = {
    "env": "dev",
    "alert_email": "oncall@example.com",
    "hosted_zone_id": "Z0123456789EXAMPLE",
    "api_domain_name": "api.trading-dev.example.com",
}


def component(dr, type_token):
    (found,) = dr.of_type(type_token)
    return found


def custom_children(dr, type_token):
    return {r["urn"] for r in dr.children(component(dr, type_token)) if r["custom"]}


def topic_arns(dr):
    return {
        t["inputs"]["name"]: f"arn:aws:sns:{dr.region(t)}:123456789012:{t['inputs']['name']}"
        for t in dr.of_type("aws:sns/topic:Topic")
    }


def the_topic_of(dr, region):
    (arn,) = [a for a in topic_arns(dr).values() if f":{region}:" in a]
    return arn


@pytest.mark.catalogue("trading-dr-01")
def test_topics_exist_before_aurora(dr):
    """Fix: the Aurora component depends on the SNS component (and its event subscriptions use the topics)."""
    aurora = component(dr, "trading:aurora:Aurora")
    assert custom_children(dr, "trading:sns:Sns") <= set(aurora["dependencies"])
    for subscription in dr.of_type("aws:rds/eventSubscription:EventSubscription"):
        assert subscription["inputs"]["snsTopic"] == the_topic_of(dr, dr.region(subscription))


@pytest.mark.catalogue("trading-dr-02")
def test_order_processing_depends_on_aurora_and_dynamodb(dr):
    """Fix: the order-processing component depends on the Aurora and DynamoDB components."""
    orders = component(dr, "trading:orders:Orders")
    needed = custom_children(dr, "trading:aurora:Aurora") | custom_children(dr, "trading:dynamodb:DynamoDb")
    assert needed <= set(orders["dependencies"])


@pytest.mark.catalogue("trading-dr-03")
def test_monitoring_depends_on_everything_it_watches(dr):
    """Fix: monitoring depends on SNS, Aurora, DynamoDB, the functions, the APIs, Route 53, the canaries."""
    monitoring = component(dr, "trading:monitoring:Monitoring")
    for watched in (
        "sns:Sns",
        "aurora:Aurora",
        "dynamodb:DynamoDb",
        "orders:Orders",
        "api:Api",
        "route53:Route53",
        "synthetics:Synthetics",
    ):
        missing = custom_children(dr, f"trading:{watched}") - set(monitoring["dependencies"])
        assert not missing, (watched, sorted(missing)[:3])


@pytest.mark.catalogue("trading-dr-04")
def test_stack_outputs_name_both_regions(dr):
    """Fix: both API endpoints, both Aurora endpoints, the table, both buckets, both topics and the
    failover function are exported, each from the resource it names."""
    outputs = dr.outputs
    assert (
        outputs["primary_api_endpoint"].startswith("https://")
        and f".{PRIMARY}." in outputs["primary_api_endpoint"]
    )
    assert f".{SECONDARY}." in outputs["secondary_api_endpoint"]
    clusters = {dr.region(c): c["inputs"]["clusterIdentifier"] for c in dr.of_type(CLUSTER)}
    assert outputs["aurora_primary_endpoint"].startswith(clusters[PRIMARY] + ".")
    assert outputs["aurora_secondary_endpoint"].startswith(clusters[SECONDARY] + ".")
    (table,) = dr.of_type("aws:dynamodb/table:Table")
    assert outputs["dynamodb_table_name"] == table["inputs"]["name"]
    buckets = {
        dr.region(b): b["inputs"]["bucket"]
        for b in dr.of_type("aws:s3/bucket:Bucket")
        if "-data-" in b["inputs"]["bucket"]
    }
    assert (outputs["s3_primary_bucket"], outputs["s3_secondary_bucket"]) == (
        buckets[PRIMARY],
        buckets[SECONDARY],
    )
    assert outputs["sns_primary_topic_arn"] == the_topic_of(dr, PRIMARY)
    assert outputs["sns_secondary_topic_arn"] == the_topic_of(dr, SECONDARY)
    failover = dr.named(FUNCTION, "failover-function")
    assert outputs["failover_function_arn"].endswith(f":function:{failover['inputs']['name']}")
    assert f":{SECONDARY}:" in outputs["failover_function_arn"]


@pytest.mark.catalogue("trading-dr-05")
def test_health_checks_every_30_seconds_with_three_failures(dr):
    """Fix: HTTPS health checks of each region's /v1/health every 30 s, three results to change
    state, from at least three checker regions; each checks its own region's API."""
    checks = dr.of_type("aws:route53/healthCheck:HealthCheck")
    assert len(checks) == 4  # traffic and liveness, per region
    hosts = {
        region: dr.outputs[f"{role}_api_endpoint"].split("/")[2]
        for role, region in (("primary", PRIMARY), ("secondary", SECONDARY))
    }
    assert hosts[PRIMARY] != hosts[SECONDARY] and f".{PRIMARY}." in hosts[PRIMARY]
    for check in checks:
        inputs = check["inputs"]
        role = dr.name_of(check).split("-")[1]
        region = PRIMARY if role == "primary" else SECONDARY
        assert (inputs["requestInterval"], inputs["failureThreshold"]) == (30, 3)
        assert (inputs["type"], inputs["port"]) == ("HTTPS", 443)
        assert inputs["resourcePath"] in ("/v1/health", "/v1/health?role=any")
        assert inputs["fqdn"] == hosts[region], dr.name_of(check)  # never the other region's API
        assert len(inputs["regions"]) >= 3
    records = {
        r["inputs"]["setIdentifier"]: r
        for r in dr.of_type("aws:route53/record:Record")
        if r["inputs"].get("name") == "api.trading-dev.example.com"
    }
    assert records["primary"]["inputs"]["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    by_id = {c["id"]: c for c in checks}
    for role, record in records.items():
        check = by_id[record["inputs"]["healthCheckId"]]
        assert dr.name_of(check) == f"route53-{role}-traffic"


@pytest.mark.catalogue("trading-dr-06")
def test_health_check_status_alarms_live_in_us_east_1_and_notify(dr):
    """Fix: a HealthCheckStatus alarm per region's liveness check, in us-east-1 (where Route 53
    publishes the metric), with an SNS action there. The traffic checks are not alarmed: the
    standby's is unhealthy by design (traffic follows the writer)."""
    liveness = {
        c["id"]
        for c in dr.of_type("aws:route53/healthCheck:HealthCheck")
        if c["inputs"]["resourcePath"].endswith("?role=any")
    }
    assert len(liveness) == 2
    alarms = [a for a in dr.of_type(ALARM) if a["inputs"].get("metricName") == "HealthCheckStatus"]
    assert {a["inputs"]["dimensions"]["HealthCheckId"] for a in alarms} == liveness
    for alarm in alarms:
        assert dr.region(alarm) == "us-east-1" and alarm["inputs"]["namespace"] == "AWS/Route53"
        assert (
            alarm["inputs"]["comparisonOperator"] == "LessThanThreshold" and alarm["inputs"]["threshold"] == 1
        )
        assert alarm["inputs"]["alarmActions"] == [the_topic_of(dr, "us-east-1")]


@pytest.mark.catalogue("trading-dr-06")
def test_config_keeps_one_region_in_us_east_1():
    with pytest.raises(ConfigError, match="us-east-1"):
        TradingConfig(**REQUIRED, primary_region="eu-west-1", secondary_region="eu-central-1")


@pytest.mark.catalogue("trading-dr-07")
def test_one_creatable_engine_version_everywhere(dr):
    """Fix: the global cluster, both clusters and both instances run the configured version, 15.10
    by default (the seed's 15.4 can no longer be created and is refused)."""
    (global_cluster,) = dr.of_type("aws:rds/globalCluster:GlobalCluster")
    members = [global_cluster, *dr.of_type(CLUSTER), *dr.of_type("aws:rds/clusterInstance:ClusterInstance")]
    assert len(members) == 5
    assert {m["inputs"]["engineVersion"] for m in members} == {"15.10"}
    assert {m["inputs"]["engine"] for m in members} == {"aurora-postgresql"}
    assert {
        p["inputs"]["family"] for p in dr.of_type("aws:rds/clusterParameterGroup:ClusterParameterGroup")
    } == {"aurora-postgresql15"}
    with pytest.raises(ConfigError, match="no longer be created"):
        TradingConfig(**REQUIRED, aurora_engine_version="15.4")


@pytest.mark.catalogue("trading-dr-08")
def test_both_clusters_are_encrypted_with_their_regions_key(dr):
    """Fix: storage_encrypted on the global cluster and BOTH clusters, each with a KMS key of its region."""
    keys = {k["id"]: dr.region(k) for k in dr.of_type("aws:kms/key:Key")}
    clusters = dr.of_type(CLUSTER)
    assert {dr.region(c) for c in clusters} == {PRIMARY, SECONDARY}
    for cluster in clusters:
        assert cluster["inputs"]["storageEncrypted"] is True
        key_id = cluster["inputs"]["kmsKeyId"].rsplit("/", 1)[1]
        assert keys[key_id] == dr.region(cluster)
    (global_cluster,) = dr.of_type("aws:rds/globalCluster:GlobalCluster")
    assert global_cluster["inputs"]["storageEncrypted"] is True


@pytest.mark.catalogue("trading-dr-09")
def test_master_password_is_generated_kept_in_secrets_manager_and_never_written(dr):
    """Fix: a generated password (RandomPassword), stored in a Secrets Manager secret replicated to
    the secondary region, set on the primary cluster only, as a secret; no literal anywhere. The
    application role's password is generated and kept the same way, in a secret of its own."""
    passwords = {p["urn"]: p for p in dr.of_type("random:index/randomPassword:RandomPassword")}
    assert len(passwords) == 2  # the master user's and the application role's
    for password in passwords.values():
        inputs = password["inputs"]
        assert inputs["length"] >= 32 and not set('/@" ') & set(inputs["overrideSpecial"])
    primary, secondary = sorted(dr.of_type(CLUSTER), key=lambda c: dr.region(c) != PRIMARY)
    assert primary["inputs"]["masterPassword"]["ciphertext"]  # a secret: the value is not in the file
    assert len(passwords.keys() & set(primary["dependencies"])) == 1
    assert primary["inputs"]["masterUsername"] == "trading_admin"  # "admin" is reserved
    for key in ("masterPassword", "masterUsername", "databaseName", "manageMasterUserPassword"):
        assert key not in secondary["inputs"], key  # a global secondary replicates them
    secrets = {s["inputs"]["name"]: s for s in dr.of_type("aws:secretsmanager/secret:Secret")}
    assert set(secrets) == {"trading-db-master-dev", "trading-db-app-dev"}
    for secret in secrets.values():
        assert [r["region"] for r in secret["inputs"]["replicas"]] == [SECONDARY]
    versions = dr.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == 2 and all("ciphertext" in v["inputs"]["secretString"] for v in versions)
    text = json.dumps(dr.document).lower()
    for literal in ("insecure123", "changemeinproduction", "offline-mock-value"):
        assert literal not in text


@pytest.mark.catalogue("trading-dr-10")
def test_database_admits_postgres_from_its_client_functions_only(dr):
    """Fix: 5432 into the database only from its clients' security groups (the order processor's
    and the health route's); no CIDR at all."""
    groups = {g["id"]: g for g in dr.of_type("aws:ec2/securityGroup:SecurityGroup")}
    ingress = dr.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    database_rules = [
        r
        for r in ingress
        if groups[r["inputs"]["securityGroupId"]]["inputs"]["name"].startswith("trading-database-")
    ]
    assert len(database_rules) == 4  # two client groups, two regions
    for rule in database_rules:
        inputs = rule["inputs"]
        assert (inputs["fromPort"], inputs["toPort"], inputs["ipProtocol"]) == (5432, 5432, "tcp")
        assert "cidrIpv4" not in inputs and "cidrIpv6" not in inputs
        source = groups[inputs["referencedSecurityGroupId"]]["inputs"]["name"]
        assert source.startswith(("trading-orders-fn-", "trading-health-fn-"))
        assert dr.region(groups[inputs["referencedSecurityGroupId"]]) == dr.region(rule)
    assert "0.0.0.0/0" not in json.dumps([r["inputs"] for r in ingress])
    for cluster in dr.of_type(CLUSTER):
        (group_id,) = cluster["inputs"]["vpcSecurityGroupIds"]
        assert groups[group_id]["inputs"]["name"].startswith("trading-database-")


def processors(dr):
    return [f for f in dr.of_type(FUNCTION) if f["inputs"]["name"].startswith("trading-order-processor-")]


@pytest.mark.catalogue("trading-dr-11")
def test_order_processor_timeout_300_and_visibility_six_times_longer(dr):
    """Fix: timeout 300 s; the queue's visibility timeout at least six times the function timeout."""
    queues = {q["inputs"]["name"]: q for q in dr.of_type("aws:sqs/queue:Queue")}
    mappings = dr.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert len(processors(dr)) == 2
    for function in processors(dr):
        assert function["inputs"]["timeout"] == 300
        (mapping,) = [
            m
            for m in mappings
            if m["inputs"]["functionName"].endswith(f":function:{function['inputs']['name']}")
        ]
        queue = queues[mapping["inputs"]["eventSourceArn"].rsplit(":", 1)[1]]
        assert queue["inputs"]["visibilityTimeoutSeconds"] >= 6 * function["inputs"]["timeout"]
        assert mapping["inputs"]["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["inputs"]["scalingConfig"]["maximumConcurrency"] >= 2
        assert "reservedConcurrentExecutions" not in function["inputs"]


@pytest.mark.catalogue("trading-dr-12")
def test_order_processor_runs_in_the_private_subnets_of_its_region(dr):
    """Fix: vpc_config with both private subnets and the order processor's security group."""
    subnets = {s["id"]: s for s in dr.of_type("aws:ec2/subnet:Subnet")}
    groups = {g["id"]: g for g in dr.of_type("aws:ec2/securityGroup:SecurityGroup")}
    for function in processors(dr):
        vpc = function["inputs"]["vpcConfig"]
        assert len(vpc["subnetIds"]) == 2
        assert {dr.region(subnets[s]) for s in vpc["subnetIds"]} == {dr.region(function)}
        assert all(subnets[s]["inputs"]["mapPublicIpOnLaunch"] is False for s in vpc["subnetIds"])
        (group,) = vpc["securityGroupIds"]
        assert groups[group]["inputs"]["name"].startswith("trading-orders-fn-")
        assert function["inputs"]["environment"]["variables"]["DB_HOST"].endswith(
            f".{dr.region(function)}.rds.amazonaws.com"
        )


@pytest.mark.catalogue("trading-dr-13")
def test_order_processor_reads_its_regions_copy_of_the_database_secret_only(dr):
    """Fix: secretsmanager:GetSecretValue on the application role's secret (the replica's ARN in
    the secondary region), never '*', never the master's; and the function is told that ARN."""
    secret = dr.named("aws:secretsmanager/secret:Secret", "migration-app-secret")
    for function in processors(dr):
        region = dr.region(function)
        grants = [
            s
            for s in dr.role_statements(function)
            if "secretsmanager:GetSecretValue" in json.dumps(s["Action"])
        ]
        assert len(grants) == 1
        (grant,) = grants
        expected = f"arn:aws:secretsmanager:{region}:123456789012:secret:{secret['inputs']['name']}-AbCdEf"
        assert grant["Action"] == "secretsmanager:GetSecretValue" and grant["Resource"] == expected
        assert function["inputs"]["environment"]["variables"]["DB_SECRET_ARN"] == expected
    assert not any(
        s["Resource"] == "*" and "secretsmanager" in json.dumps(s["Action"])
        for f in processors(dr)
        for s in dr.role_statements(f)
    )


@pytest.mark.catalogue("trading-dr-14")
def test_point_in_time_recovery_on_the_table_and_every_replica(dr):
    """Fix: PITR on the global table and on its replica, each replica on its region's key."""
    (table,) = dr.of_type("aws:dynamodb/table:Table")
    assert table["inputs"]["pointInTimeRecovery"]["enabled"] is True
    replicas = table["inputs"]["replicas"]
    assert [r["regionName"] for r in replicas] == [SECONDARY]
    assert all(r["pointInTimeRecovery"] is True for r in replicas)
    assert all(f":{r['regionName']}:" in r["kmsKeyArn"] for r in replicas)
    assert (
        table["inputs"]["streamEnabled"] is True and table["inputs"]["streamViewType"] == "NEW_AND_OLD_IMAGES"
    )


@pytest.mark.catalogue("trading-dr-15")
def test_replication_has_rtc_and_metrics_at_15_minutes_both_ways(dr):
    """Fix: Replication Time Control and replication metrics, 15 minutes, on every rule; KMS objects
    replicated with the destination region's key."""
    configs = dr.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert {dr.region(c) for c in configs} == {PRIMARY, SECONDARY}
    for config in configs:
        (rule,) = config["inputs"]["rules"]
        destination = rule["destination"]
        assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert destination["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
        assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"]["status"] == "Enabled"
        other = SECONDARY if dr.region(config) == PRIMARY else PRIMARY
        assert f":{other}:" in destination["encryptionConfiguration"]["replicaKmsKeyId"]
        assert destination["bucket"].endswith(f"-{other}")


@pytest.mark.catalogue("trading-dr-16")
def test_every_bucket_is_versioned_with_bucket_versioning_before_replication(dr):
    """Fix: aws.s3.BucketVersioning (not the deprecated inline argument) Enabled on every bucket,
    both of them before any replication rule."""
    buckets = dr.of_type("aws:s3/bucket:Bucket")
    versionings = {v["inputs"]["bucket"]: v for v in dr.of_type("aws:s3/bucketVersioning:BucketVersioning")}
    for bucket in buckets:
        assert "versioning" not in bucket["inputs"]
        assert versionings[bucket["id"]]["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    data_versionings = {v["urn"] for v in versionings.values() if v["urn"].split("::")[-1].startswith("s3-")}
    for config in dr.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        assert data_versionings <= set(config["dependencies"])


@pytest.mark.catalogue("trading-dr-17")
def test_access_logs_use_context_variables_and_a_log_group_with_retention(dr):
    """Fix: access logs on both stages, JSON of $context variables only (the seed's '$requestId' is
    not a variable API Gateway knows), to a log group with retention."""
    log_groups = {g["inputs"]["name"]: g for g in dr.of_type("aws:cloudwatch/logGroup:LogGroup")}
    stages = dr.of_type(STAGE)
    assert {dr.region(s) for s in stages} == {PRIMARY, SECONDARY}
    for stage in stages:
        settings = stage["inputs"]["accessLogSettings"]
        fields = json.loads(settings["format"])
        assert fields["requestId"] == "$context.requestId"
        variables = re.findall(r"\$[A-Za-z.]+", settings["format"])
        assert variables and all(v.startswith("$context.") for v in variables)
        group = log_groups[settings["destinationArn"].rsplit(":log-group:", 1)[1]]
        assert group["inputs"]["retentionInDays"] == 30 and dr.region(group) == dr.region(stage)
        assert stage["inputs"]["xrayTracingEnabled"] is True


@pytest.mark.catalogue("trading-dr-18")
def test_throttling_applies_to_every_method_and_caller(dr):
    """Fix: method settings on */* with rate and burst limits on each stage (a usage plan only
    limits callers that send an API key)."""
    settings = dr.of_type("aws:apigateway/methodSettings:MethodSettings")
    assert {dr.region(s) for s in settings} == {PRIMARY, SECONDARY}
    # */* for every method; GET /health's own bucket of the same size (test_flood.py).
    assert sorted(s["inputs"]["methodPath"] for s in settings) == ["*/*", "*/*", "health/GET", "health/GET"]
    for setting in settings:
        assert setting["inputs"]["settings"]["throttlingRateLimit"] == 50
        assert setting["inputs"]["settings"]["throttlingBurstLimit"] == 100
    assert not dr.of_type("aws:apigateway/usagePlan:UsagePlan")


@pytest.mark.catalogue("trading-dr-19")
def test_the_paging_composite_fires_on_any_member_and_the_quorum_needs_both(dr):
    """Fix: the composite that pages (and starts the failover function's preparation) ORs its
    members. Deviation: the composite that may promote with data loss is a quorum (AND) of the same
    two independent signals: the primary's health route from the secondary region, and Route 53's
    multi-location verdict. Both in the secondary region; missing data is never a failure."""
    composites = {dr.name_of(c): c for c in dr.of_type(COMPOSITE)}
    paging = composites["monitoring-primary-failing"]["inputs"]["alarmRule"]
    quorum = composites["monitoring-failover"]["inputs"]["alarmRule"]
    members = re.findall(r'ALARM\("([^"]+)"\)', paging)
    assert len(members) == 2 and paging == " OR ".join(f'ALARM("{m}")' for m in members)
    assert quorum == " AND ".join(f'ALARM("{m}")' for m in members)
    alarms = {a["inputs"]["name"]: a for a in dr.of_type(ALARM)}
    assert {alarms[m]["inputs"]["dimensions"]["CanaryName"] for m in members} == {
        "trading-dev-probe-primary",
        "trading-dev-verdict",
    }
    for composite in composites.values():
        assert dr.region(composite) == SECONDARY
    assert {dr.region(alarms[m]) for m in members} == {SECONDARY}
    assert all(alarms[m]["inputs"]["treatMissingData"] == "notBreaching" for m in members)


@pytest.mark.catalogue("trading-dr-20")
def test_every_alarm_notifies_a_topic_in_its_own_region(dr):
    """Fix: every metric alarm and the composite alarm have SNS alarm actions, in their region."""
    topics = set(topic_arns(dr).values())
    alarms = [*dr.of_type(ALARM), *dr.of_type(COMPOSITE)]
    assert len(alarms) >= 20
    for alarm in alarms:
        actions = alarm["inputs"]["alarmActions"]
        assert actions and set(actions) <= topics, alarm["urn"]
        assert all(f":{dr.region(alarm)}:" in a for a in actions), alarm["urn"]


@pytest.mark.catalogue("trading-dr-21")
def test_failover_function_has_300_seconds_in_the_secondary_region(dr):
    """Fix: the failover orchestrator runs 300 s, in the region that survives the primary's loss."""
    failover = dr.named(FUNCTION, "failover-function")
    assert failover["inputs"]["timeout"] == 300
    assert dr.region(failover) == SECONDARY
    assert "vpcConfig" not in failover["inputs"]  # it calls only AWS APIs


@pytest.mark.catalogue("trading-dr-22")
def test_failover_functions_are_wired_to_their_alarms_clusters_topic_and_dead_letters(dr):
    """Fix (wiring; the retries, alerts and idempotence are tested on the handler): each function
    is told its global cluster, target (the secondary cluster), old writer, topic and alarm; failed
    events end in a dead-letter queue that alarms."""
    clusters = {dr.region(c): c["inputs"]["clusterIdentifier"] for c in dr.of_type(CLUSTER)}
    alarms = {dr.name_of(c): c["inputs"]["alarmName"] for c in dr.of_type(COMPOSITE)}
    for name, alarm, data_loss in (
        ("failover-function", alarms["monitoring-primary-failing"], "false"),
        ("failover-promote", alarms["monitoring-failover"], "true"),
    ):
        env = dr.named(FUNCTION, name)["inputs"]["environment"]["variables"]
        assert env["TARGET_CLUSTER_ARN"].endswith(f":{SECONDARY}:123456789012:cluster:{clusters[SECONDARY]}")
        assert env["OLD_WRITER_CLUSTER_ARN"].endswith(f":{PRIMARY}:123456789012:cluster:{clusters[PRIMARY]}")
        assert env["TOPIC_ARN"] == the_topic_of(dr, SECONDARY)
        assert (env["ALARM_NAME"], env["ALLOW_DATA_LOSS"]) == (alarm, data_loss)
    configs = [
        c
        for c in dr.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
        if dr.name_of(c).startswith("failover-")
    ]
    assert len(configs) == 2
    (dlq,) = {c["inputs"]["destinationConfig"]["onFailure"]["destination"] for c in configs}
    targets = [t for t in dr.of_type("aws:cloudwatch/eventTarget:EventTarget") if "failover" in dr.name_of(t)]
    assert len(targets) == 2 and {t["inputs"]["deadLetterConfig"]["arn"] for t in targets} == {dlq}
    dlq_alarms = [
        a
        for a in dr.of_type(ALARM)
        if a["inputs"].get("dimensions", {}).get("QueueName") == dlq.rsplit(":", 1)[1]
    ]
    assert len(dlq_alarms) == 1


@pytest.mark.catalogue("trading-dr-23")
def test_each_topic_is_copied_to_a_queue_in_the_other_region(dr):
    """Fix: a cross-region subscription per topic, to an SQS queue in the other region whose policy
    admits that topic only (SNS has no 'sns' protocol: the seed's fix cannot deploy)."""
    queues = {q["inputs"]["name"]: q for q in dr.of_type("aws:sqs/queue:Queue")}
    policies = {
        p["inputs"]["queueUrl"].rsplit("/", 1)[1]: dr.policy(p)
        for p in dr.of_type("aws:sqs/queuePolicy:QueuePolicy")
    }
    cross = [
        s
        for s in dr.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s["inputs"]["protocol"] == "sqs"
    ]
    assert len(cross) == 2 and all(
        s["inputs"]["protocol"] != "sns" for s in dr.of_type("aws:sns/topicSubscription:TopicSubscription")
    )
    for subscription in cross:
        topic_region = subscription["inputs"]["topic"].split(":")[3]
        queue_name = subscription["inputs"]["endpoint"].rsplit(":", 1)[1]
        assert subscription["inputs"]["endpoint"].split(":")[3] != topic_region
        assert dr.region(queues[queue_name]) != topic_region
        (statement,) = policies[queue_name]["Statement"]
        assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == subscription["inputs"]["topic"]


@pytest.mark.catalogue("trading-dr-24")
def test_canaries_run_the_python_script_on_a_current_python_runtime(dr):
    """Fix: a syn-python-selenium runtime (the script is Python) that can still be created, the zip
    in the layout the runtime expects (python/<script>.py, handler <script>.handler)."""
    import zipfile

    from pulumi_trading_dr.offline import PROJECT_DIR

    canaries = dr.of_type("aws:synthetics/canary:Canary")
    assert len(canaries) == 4
    for canary in canaries:
        inputs = canary["inputs"]
        assert inputs["runtimeVersion"] == "syn-python-selenium-14.0"
        assert inputs["handler"] == "health_check.handler"
        with zipfile.ZipFile(PROJECT_DIR / inputs["zipFile"]) as archive:
            assert archive.namelist() == ["python/health_check.py"]
        env = inputs["runConfig"]["environmentVariables"]
        assert env.get("TARGET_URL", "").endswith("/v1/health?role=any") or env["VERDICT_NAME"]
        assert re.fullmatch(r"[0-9a-z_\-]{1,255}", inputs["name"])
    for runtime in ("syn-nodejs-puppeteer-6.0", "syn-python-selenium-5.1", "syn-nodejs-puppeteer-9.1"):
        with pytest.raises(ConfigError, match="canaryRuntime"):
            TradingConfig(**REQUIRED, canary_runtime=runtime)


@pytest.mark.catalogue("trading-dr-25")
def test_every_canary_has_a_success_percent_alarm_with_an_action(dr):
    """Fix: a SuccessPercent alarm per canary, in the canary's region, notifying that region's topic."""
    canaries = {c["inputs"]["name"]: c for c in dr.of_type("aws:synthetics/canary:Canary")}
    alarms = [a for a in dr.of_type(ALARM) if a["inputs"].get("namespace") == "CloudWatchSynthetics"]
    assert {a["inputs"]["dimensions"]["CanaryName"] for a in alarms} == set(canaries)
    for alarm in alarms:
        canary = canaries[alarm["inputs"]["dimensions"]["CanaryName"]]
        assert (
            alarm["inputs"]["metricName"] == "SuccessPercent"
            and alarm["inputs"]["comparisonOperator"] == "LessThanThreshold"
        )
        assert dr.region(alarm) == dr.region(canary)
        assert alarm["inputs"]["alarmActions"] == [the_topic_of(dr, dr.region(alarm))]
