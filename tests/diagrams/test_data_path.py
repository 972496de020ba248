"""Each stack's diagram shows the data path a reader expects, derived from the synthesized output, and
leaves out what is not on it (plumbing, monitoring, other regions' resources)."""

from __future__ import annotations

import copy

import pytest

from diagrams.derive import build
from diagrams.model import Graph
from diagrams.sources import Pulumi


def labels(graph: Graph, source: str, target: str) -> str:
    edge = graph.edge(source, target)
    assert edge is not None, f"no edge {source} -> {target}; {source} -> {sorted(graph.targets(source))}"
    return edge.label


class TestPayments:
    def test_api_through_the_vpc_link_and_alb_to_the_function(self, payments_graph):
        g = payments_graph
        assert g.has_path("WebAcl", "RestApi", "VpcLink", "Alb", "TransactionProcessing")
        assert labels(g, "WebAcl", "RestApi") == "filters"  # the WebACL association
        assert labels(g, "RestApi", "VpcLink") == "POST /transactions"  # the method's integration
        assert labels(g, "VpcLink", "Alb") == "http proxy"
        # listener -> weighted target groups -> the blue and green aliases of one function
        assert labels(g, "Alb", "TransactionProcessing") == "blue 100%, green 0%"

    def test_the_function_calls_what_its_role_grants(self, payments_graph):
        g = payments_graph
        assert labels(g, "TransactionProcessing", "Transactions") == "read/write"
        assert labels(g, "TransactionProcessing", "Bucket") == "write"  # PutObject on audit/* only
        assert labels(g, "TransactionProcessing", "PaymentValidation") == "invoke"
        assert labels(g, "TransactionProcessing", "FraudDetection") == "invoke"
        assert labels(g, "FraudDetection", "Transactions") == "read"
        assert g.targets("FraudDetection") == {"Transactions"}  # no S3, no SNS for the scorer

    def test_audit_records_notify_the_topic(self, payments_graph):
        assert labels(payments_graph, "Bucket", "AuditEvents") == "ObjectCreated:*"

    def test_only_the_rotation_function_reaches_the_database(self, payments_graph):
        g = payments_graph
        assert labels(g, "Aurora/Secret", "SecretsRotation") == "rotation rate(30 days)"
        assert labels(g, "SecretsRotation", "Aurora/Secret") == "read/write"
        assert labels(g, "SecretsRotation", "Aurora") == "TCP 5432"  # the security groups admit it
        callers = {g.nodes[s].name for s, t in g.edges if t == g.node("Aurora").key}
        assert callers == {"SecretsRotation"}

    def test_plumbing_and_monitoring_are_left_out(self, payments_graph):
        names = {n.name for n in payments_graph.nodes.values()}
        kinds = {n.kind for n in payments_graph.nodes.values()}
        assert not any(name.startswith(("BucketNotificationsHandler", "Custom::")) for name in names)
        assert "AccessLogs" not in names  # the audit bucket's log bucket
        assert not kinds & {"alarm", "composite_alarm"}
        assert "Alerts" not in names  # only alarms publish there


class TestFraudPipeline:
    def test_api_validator_queue_detector(self, fraud_graph):
        g = fraud_graph
        assert g.has_path("api-waf", "api-rest-api", "compute-validator", "queueing-queue")
        assert g.has_path("queueing-queue", "compute-fraud_detector", "data-transactions")
        assert labels(g, "api-rest-api", "compute-validator") == "POST /transactions"
        assert labels(g, "queueing-queue", "compute-fraud_detector") == "poll (batch 10)"
        assert labels(g, "compute-fraud_detector", "alerting-fraud") == "publish"

    def test_a_name_the_queue_and_the_table_share_resolves_by_the_arn(self, fraud_graph):
        # both are fraud-transactions-dev: the table ARN is not the queue, nor the queue URL the table
        assert labels(fraud_graph, "compute-validator", "data-transactions") == "read/write"
        assert labels(fraud_graph, "compute-validator", "queueing-queue") == "send"
        # a bare name in an environment variable is evidence for neither
        evidence = fraud_graph.edge("compute-validator", "queueing-queue").labels
        assert "env TRANSACTIONS_TABLE" not in set().union(*evidence.values())

    def test_a_consumer_draws_no_edge_back_to_its_queue(self, fraud_graph):
        assert "queueing-queue" not in fraud_graph.targets("compute-fraud_detector")

    def test_dead_letters_are_redriven_and_kept(self, fraud_graph):
        g = fraud_graph
        assert labels(g, "queueing-queue", "queueing-dlq") == "redrive (5 receives)"
        assert g.has_path("queueing-dlq", "compute-failed_handler", "data-dead-letters")
        assert labels(g, "compute-failed_handler", "alerting-ops") == "publish"
        for function in ("compute-validator", "compute-fraud_detector", "compute-failed_handler"):
            assert labels(g, function, "queueing-async-failures") == "async failure"

    def test_alarms_are_not_drawn(self, fraud_graph):
        assert not [n for n in fraud_graph.nodes.values() if "alarm" in n.kind]


class TestTransactions:
    def test_the_state_machine_calls_its_four_tasks(self, transactions_graph):
        g = transactions_graph
        tasks = {"validation": "Validate", "fraud_check": "FraudCheck", "settlement": "Settle"}
        for function, state in {**tasks, "notification": "Notify"}.items():
            assert labels(g, "state-machine", function) == state
        assert labels(g, "state-machine", "topic") == "NotifyFailure"

    def test_functions_to_table_and_topic(self, transactions_graph):
        g = transactions_graph
        assert labels(g, "settlement", "transactions") == "read/write"
        assert labels(g, "fraud_check", "transactions") == "read"
        assert labels(g, "notification", "topic") == "publish"
        assert g.targets("validation") == set()  # validation calls nothing

    def test_failed_executions_reach_on_call(self, transactions_graph):
        g = transactions_graph
        assert labels(g, "state-machine", "execution-failed") == "Step Functions Execution Status Change"
        assert labels(g, "execution-failed", "alarm-topic") == "target"
        business = {"validation", "fraud_check", "settlement", "notification"}
        assert not any("alarm-topic" in g.targets(f) for f in business)
        assert "failed-executions" not in {n.name for n in g.nodes.values()}  # the alarm only notifies


class TestTradingDr:
    @pytest.mark.parametrize(("role", "region"), [("primary", "us-east-1"), ("secondary", "us-west-2")])
    def test_each_region_api_queue_processor_table_database(self, dr_graph, role, region):
        g = dr_graph
        table = "dynamodb-orders" if role == "primary" else "dynamodb-orders replica"
        # The application role's secret (the master's is the migration's and the rotation's only).
        secret = "migration-app-secret" if role == "primary" else "migration-app-secret replica"
        api, queue, processor = f"api-{role}-rest-api", f"orders-{role}-queue", f"orders-{role}-processor"
        assert g.has_path(api, queue, processor, table)
        assert labels(g, api, queue) == "POST /orders"
        assert labels(g, processor, f"aurora-{role}") == "TCP 5432"
        assert labels(g, processor, secret) == "read"
        assert labels(g, f"route53-{role}-record", api) == f"failover {role.upper()}"
        # each region's path stays in its region: the global table and the secret by their replicas
        assert {g.node(n).region for n in (api, queue, processor, table, secret, f"aurora-{role}")} == {
            region
        }

    def test_two_signals_page_and_only_their_quorum_promotes(self, dr_graph):
        g = dr_graph
        assert g.has_path("synthetics-probe-primary", "api-primary-rest-api")  # probed from us-west-2
        for signal in ("synthetics-probe-primary", "synthetics-verdict"):
            # Either signal: the orchestrator prepares (it may switch over, never fail over) ...
            assert g.has_path(
                signal,
                f"{signal}-alarm",
                "monitoring-primary-failing",
                "failover-on-alarm",
                "failover-function",
            )
            # ... both: the quorum composite may start the promotion.
            assert g.has_path(signal, f"{signal}-alarm", "monitoring-failover", "failover-promote-on-alarm")
        assert g.has_path("failover-promote-on-alarm", "failover-promote", "aurora-secondary")
        assert (
            labels(g, "monitoring-failover", "failover-promote-on-alarm") == "CloudWatch Alarm State Change"
        )
        assert labels(g, "failover-promote", "aurora-global") == "failover/switchover, read"
        assert labels(g, "failover-function", "aurora-global") == "read, switchover"  # no data loss
        assert labels(g, "failover-function", "aurora-primary") == "read"  # does the old writer answer?
        assert labels(g, "failover-on-alarm", "failover-dead-letters") == "undeliverable events"
        assert {g.node(n).region for n in ("failover-function", "failover-promote")} == {"us-west-2"}
        assert "monitoring-failover" not in g.targets("failover-promote")  # reads its state only
        # The replication lag pages; it is no longer a member of either composite (nor drawn at all).
        for composite in ("monitoring-failover", "monitoring-primary-failing"):
            assert not g.has_path("aurora-secondary", composite)

    def test_the_gates_follow_the_writer_and_forward_to_the_other_region(self, dr_graph):
        g = dr_graph
        for role, other in (("primary", "secondary"), ("secondary", "primary")):
            assert labels(g, f"gate-{role}-function", "aurora-global") == "read"
            assert labels(g, f"gate-{role}-function", f"orders-{other}-queue") == "send"

    def test_replication_between_the_regions(self, dr_graph):
        g = dr_graph
        assert labels(g, "aurora-primary", "aurora-secondary") == "Global Database replication"
        assert g.edge("aurora-secondary", "aurora-primary") is None
        assert labels(g, "dynamodb-orders", "dynamodb-orders replica") == "global table replication"
        assert labels(g, "dynamodb-orders replica", "dynamodb-orders") == "global table replication"
        assert labels(g, "s3-primary", "s3-secondary") == "replication (RTC 15 min)"
        assert labels(g, "s3-secondary", "s3-primary") == "replication (RTC 15 min)"
        assert labels(g, "aurora-master-secret", "aurora-master-secret replica") == "replication"
        assert labels(g, "sns-primary", "sns-secondary-copy-of-primary") == "subscription (sqs)"

    def test_an_arn_in_another_region_is_that_region_s_copy(self, dr):
        """A grant on the primary table's ARN from the secondary region lands on the primary table."""
        document = copy.deepcopy(dr.document)
        (policy,) = [
            r
            for r in document["deployment"]["resources"]
            if r["urn"].endswith("::orders-secondary-processor-policy")
        ]
        arn = "arn:aws:dynamodb:{}:123456789012:table/trading-orders-dev"
        policy["inputs"]["policy"] = policy["inputs"]["policy"].replace(
            arn.format("us-west-2"), arn.format("us-east-1")
        )
        g = build(Pulumi(document))
        assert labels(g, "orders-secondary-processor", "dynamodb-orders") == "read/write"
        assert labels(g, "orders-secondary-processor", "dynamodb-orders replica") == "env ORDERS_TABLE"

    def test_alarms_nothing_acts_on_and_artifact_buckets_are_left_out(self, dr_graph):
        names = {n.name for n in dr_graph.nodes.values()}
        assert "monitoring-api-5xx-primary" not in names
        assert "synthetics-primary-alarm" not in names
        assert not any(name.endswith("-artifacts") for name in names)
