"""From an inventory of synthesized resources to the architecture graph.

Nodes are the resources of model.KINDS; the wiring resources become edges between them: an API
integration (API -> function, load balancer through a VPC link, queue), a listener and its target groups
(load balancer -> function), an event source mapping (queue -> function), an asynchronous invocation's
destination, a subscription, an EventBridge rule's pattern and targets, a state machine's tasks, a
queue's redrive policy, an S3 notification or replication, a rotation schedule, a composite alarm's
rule, replicas (DynamoDB global table, Secrets Manager, Aurora Global Database); a role's policy
statements (function -> table/topic/queue/bucket/secret/function/database), a security group that
admits another (function -> database), an environment variable naming a resource. Plumbing (roles,
policies, permissions, log groups, log and artifact buckets) is left out; an alarm stays only when a
composite alarm or an EventBridge rule acts on it, and a resource with no edge is not drawn.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any
from urllib.parse import urlparse

from diagrams.model import CARRIER, KINDS, POLICY, REFERENCE, Graph, Node
from diagrams.sources import Inventory, Ref, Resource, items, normal, prop, strings

# Properties that name where a resource writes its own logs or artifacts: those buckets are plumbing.
PLUMBING_PROPERTIES = {"loggingconfiguration", "logging", "artifacts3location", "targetbucket"}
# What code calls through a name in its environment (an alarm's name there is for reading its state).
DATA_KINDS = {
    *(
        "function",
        "state_machine",
        "queue",
        "topic",
        "table",
        "database",
        "global_database",
        "bucket",
        "secret",
    )
}
SECURITY_GROUP_PROPERTIES = {"securitygroupids", "securitygroups", "vpcsecuritygroupids"}

# IAM action (service:prefix) -> what the caller does to the resource; None: not on the data path
# (a queue consumer's actions: its event source mapping draws that edge).
VERBS = [
    ("lambda:invoke", "invoke"),
    ("states:startexecution", "start"),
    ("sqs:sendmessage", "send"),
    ("sqs:", None),
    ("sns:publish", "publish"),
    ("rds:failover", "failover"),
    ("rds:switchover", "switchover"),
    ("rds-db:connect", "connect"),
    ("dynamodb:put", "write"),
    ("dynamodb:update", "write"),
    ("dynamodb:delete", "write"),
    ("dynamodb:batchwrite", "write"),
    ("s3:putobject", "write"),
    ("s3:deleteobject", "write"),
    ("s3:abort", "write"),
    ("s3:getobject", "read"),
    ("s3:", None),  # bucket configuration, not data
    ("secretsmanager:put", "write"),
    ("secretsmanager:updatesecret", "write"),
    ("dynamodb:", "read"),
    ("secretsmanager:", "read"),
    ("rds:describe", "read"),
]


def verb(actions: Any) -> str | None:
    found = set()
    for action in items(actions):
        for prefix, word in VERBS:
            if action.lower().startswith(prefix):
                if word:
                    found.add(word)
                break
    if {"read", "write"} <= found:
        found = (found - {"read", "write"}) | {"read/write"}
    return "/".join(sorted(found)) or None


def build(inventory: Inventory) -> Graph:
    return Builder(inventory).build()


class Builder:
    def __init__(self, inventory: Inventory):
        self.inv = inventory
        self.res = inventory.resources
        self.graph = Graph(inventory.title)

    def build(self) -> Graph:
        self.nodes()
        rules = {
            "method": self.integration,
            "listener": self.listener,
            "event_source_mapping": self.event_source_mapping,
            "invoke_config": self.invoke_config,
            "subscription": self.subscription,
            "event_rule": self.event_rule,
            "event_target": self.event_target,
            "waf_association": self.waf_association,
            "bucket_notifications": self.bucket_notifications,
            "bucket_replication": self.bucket_replication,
            "bucket": self.bucket,
            "rotation": self.rotation,
            "queue": self.redrive,
            "alarm": self.alarm,
            "composite_alarm": self.alarm,
            "database": self.global_database,
            "state_machine": self.state_machine,
            "dns_record": self.dns_record,
        }
        for resource in self.res.values():
            if resource.kind in rules:
                rules[resource.kind](resource)
        self.policies()
        self.security_groups()
        self.references()
        self.prune()
        return self.graph

    # Nodes, and how a reference lands on one.

    def nodes(self) -> None:
        plumbing = {
            key
            for r in self.res.values()
            for name, value in r.props.items()
            if normal(name) in PLUMBING_PROPERTIES
            for key, _ in self.inv.refs(value, r)
        }
        chosen = [r for r in self.res.values() if r.kind in KINDS and r.key not in plumbing]
        names = defaultdict(int)
        for r in chosen:
            names[r.name] += 1
        for r in chosen:
            name = r.name if names[r.name] == 1 else f"{r.component}/{r.name}"
            self.graph.add_node(Node(r.key, name, r.kind, r.component, r.region))
        for r in chosen:
            self.replicas(r, self.graph.nodes[r.key])

    def replicas(self, r: Resource, node: Node) -> None:
        """A global table's or a replicated secret's copies, as nodes in their own regions."""
        if r.kind not in ("table", "secret"):
            return
        regions = [
            prop(replica, "RegionName", "Region")
            for replica in items(prop(r.props, "Replicas", "replica", "ReplicaRegions"))
        ]
        regions = [region for region in regions if isinstance(region, str) and region != r.region]
        for region in regions:
            name = f"{node.name} replica" + (f" ({region})" if len(regions) > 1 else "")
            self.graph.add_node(Node(f"{r.key}@{region}", name, r.kind, node.component, region))
            if r.kind == "table":  # a global table replicates both ways
                self.graph.add_edge(r.key, f"{r.key}@{region}", "global table replication")
                self.graph.add_edge(f"{r.key}@{region}", r.key, "global table replication")
            else:
                self.graph.add_edge(r.key, f"{r.key}@{region}", "replication")

    def resolve(self, ref: Ref, referrer: Resource, seen: frozenset[str] = frozenset()) -> list[str]:
        """The nodes a reference stands for: the node itself (its replica in the region the ARN or the
        referrer is in), or what a stage, alias, target group, domain name or attachment points at."""
        key, region = ref
        if key in seen or key not in self.res:
            return []
        if key in self.graph.nodes:
            replica = f"{key}@{region or referrer.region}"
            return [replica if replica in self.graph.nodes else key]
        r, seen = self.res[key], seen | {key}
        via = {
            "stage": ("RestApiId", "rest_api_id", "restApi"),
            "alias": ("FunctionName", "function_name"),
            "target_group": ("Targets",),
            "secret_attachment": ("SecretId", "secret_id"),
        }.get(r.kind or "")
        if via:
            return self.nodes_in(prop(r.props, *via), r, seen)
        if r.kind == "domain_name":  # through the base path mappings that use it
            return [
                node
                for m in self.res.values()
                if m.kind == "base_path_mapping" and key in {k for k, _ in self.inv.all_refs(m)}
                for node in self.nodes_in(prop(m.props, "RestApiId", "rest_api_id", "restApi"), m, seen)
            ]
        return []

    def nodes_in(self, value: Any, within: Resource, seen: frozenset[str] = frozenset()) -> list[str]:
        found = [node for ref in self.inv.refs(value, within) for node in self.resolve(ref, within, seen)]
        return list(dict.fromkeys(found))

    def edges(self, sources: list[str], targets: list[str], label: str, strength: int = CARRIER) -> None:
        for source in sources:
            for target in targets:
                self.graph.add_edge(source, target, label, strength)

    # Wiring resources.

    def integration(self, r: Resource) -> None:
        """API method -> its backend: a function or service (queue), or a VPC link and the load balancer
        behind it. A mock integration has no backend."""
        integration = prop(r.props, "Integration") or r.props
        if str(prop(integration, "Type", "type")).upper() == "MOCK":
            return
        apis = self.nodes_in(prop(r.props, "RestApiId", "rest_api_id", "restApi"), r)
        label = f"{prop(r.props, 'HttpMethod', 'http_method')} {self.api_path(r)}"
        links = self.nodes_in(prop(integration, "ConnectionId", "connection_id"), r)
        backends = self.nodes_in([prop(integration, "Uri"), prop(integration, "IntegrationTarget")], r)
        backends = [b for b in backends if b not in links]
        if links:
            self.edges(apis, links, label)
            self.edges(links, backends, str(prop(integration, "Type", "type")).lower().replace("_", " "))
        else:
            self.edges(apis, backends, label)

    def api_path(self, r: Resource) -> str:
        parts, value = [], prop(r.props, "ResourceId", "resource_id")
        while True:
            refs = self.inv.refs(value, r)
            resources = [self.res[k] for k, _ in refs if self.res[k].kind == "api_resource"]
            if not resources:
                return "/" + "/".join(reversed(parts))
            r = resources[0]
            parts.append(str(prop(r.props, "PathPart", "path_part")))
            value = prop(r.props, "ParentId", "parent_id")

    def listener(self, r: Resource) -> None:
        """Load balancer -> what its target groups forward to, with their weights."""
        balancers = self.nodes_in(prop(r.props, "LoadBalancerArn", "load_balancer_arn"), r)
        for action in items(prop(r.props, "DefaultActions", "default_action")):
            forward = prop(action, "ForwardConfig", "forward")
            groups = [
                (prop(g, "TargetGroupArn", "arn"), prop(g, "Weight", "weight"))
                for g in items(prop(forward, "TargetGroups", "target_group"))
            ] or [(prop(action, "TargetGroupArn", "target_group_arn"), None)]
            for value, weight in groups:
                for key, _ in self.inv.refs(value, r):
                    group = self.res[key]
                    aliases = [
                        str(prop(self.res[k].props, "Name", "name"))
                        for k, _ in self.inv.refs(prop(group.props, "Targets"), group)
                        if self.res[k].kind == "alias"
                    ]
                    name = ", ".join(aliases) or group.name
                    label = f"{name} {weight}%" if weight is not None else f"forward ({name})"
                    self.edges(balancers, self.resolve((key, None), r), label)

    def event_source_mapping(self, r: Resource) -> None:
        sources = self.nodes_in(prop(r.props, "EventSourceArn", "event_source_arn"), r)
        functions = self.nodes_in(prop(r.props, "FunctionName", "function_name"), r)
        batch = prop(r.props, "BatchSize", "batch_size")
        self.edges(sources, functions, f"poll (batch {batch})" if batch else "poll")

    def invoke_config(self, r: Resource) -> None:
        functions = self.nodes_in(prop(r.props, "FunctionName", "function_name"), r)
        destinations = next(iter(items(prop(r.props, "DestinationConfig"))), None)
        for outcome in ("OnFailure", "OnSuccess"):
            for destination in items(prop(destinations, outcome)):
                targets = self.nodes_in(prop(destination, "Destination"), r)
                self.edges(functions, targets, f"async {outcome[2:].lower()}")

    def subscription(self, r: Resource) -> None:
        topics = self.nodes_in(prop(r.props, "TopicArn", "topic"), r)
        endpoints = self.nodes_in(prop(r.props, "Endpoint"), r)
        self.edges(topics, endpoints, f"subscription ({prop(r.props, 'Protocol')})")

    def event_rule(self, r: Resource) -> None:
        """What the pattern matches events of -> the rule; CloudFormation's inline targets."""
        pattern = prop(r.props, "EventPattern")
        text = pattern if isinstance(pattern, str) else json.dumps(pattern)
        match = re.search(r'detail-type\\?"\s*[:=]\s*\[\s*\\?"([^"\\]+)', text or "")
        label = match.group(1) if match else "event"
        self.edges(self.nodes_in(pattern, r), [r.key], label)
        for target in items(prop(r.props, "Targets")):
            self.rule_target(r, [r.key], target)

    def event_target(self, r: Resource) -> None:
        self.rule_target(r, self.nodes_in(prop(r.props, "Rule"), r), r.props)

    def rule_target(self, within: Resource, rules: list[str], target: dict[str, Any]) -> None:
        self.edges(rules, self.nodes_in(prop(target, "Arn"), within), "target")
        dead_letters = prop(prop(target, "DeadLetterConfig"), "Arn")
        self.edges(rules, self.nodes_in(dead_letters, within), "undeliverable events")

    def waf_association(self, r: Resource) -> None:
        acls = self.nodes_in(prop(r.props, "WebACLArn", "web_acl_arn"), r)
        protected = self.nodes_in(prop(r.props, "ResourceArn"), r) or [
            node for ref in self.inv.all_refs(r) for node in self.resolve(ref, r)
        ]
        self.edges(acls, [p for p in protected if p not in acls], "filters")

    def bucket_notifications(self, r: Resource) -> None:
        buckets = self.nodes_in(prop(r.props, "BucketName", "bucket"), r)
        skip = ("bucketname", "bucket", "servicetoken")
        config = {k: v for k, v in r.props.items() if normal(k) not in skip}
        events = sorted({s.removeprefix("s3:") for s in strings(config) if s.startswith("s3:")})
        self.edges(buckets, self.nodes_in(config, r), ", ".join(events) or "notification")

    def bucket(self, r: Resource) -> None:
        """CloudFormation: replication and notifications are properties of the bucket."""
        self.replication(r, [r.key], prop(r.props, "ReplicationConfiguration"))
        notifications = prop(r.props, "NotificationConfiguration")
        if notifications:
            events = sorted({s.removeprefix("s3:") for s in strings(notifications) if s.startswith("s3:")})
            self.edges([r.key], self.nodes_in(notifications, r), ", ".join(events) or "notification")

    def bucket_replication(self, r: Resource) -> None:
        self.replication(r, self.nodes_in(prop(r.props, "bucket"), r), r.props)

    def replication(self, r: Resource, sources: list[str], config: Any) -> None:
        for rule in items(prop(config, "Rules", "rule")):
            destination = prop(rule, "Destination")
            minutes = prop(prop(prop(destination, "ReplicationTime"), "Time"), "Minutes")
            label = "replication" + (f" (RTC {minutes} min)" if minutes else "")
            self.edges(sources, self.nodes_in(prop(destination, "Bucket"), r), label)

    def rotation(self, r: Resource) -> None:
        secrets = self.nodes_in(prop(r.props, "SecretId"), r)
        functions = self.nodes_in(prop(r.props, "RotationLambdaARN", "rotation_lambda_arn"), r)
        rules = prop(r.props, "RotationRules", "rotation_rules")
        every = prop(rules, "ScheduleExpression", "AutomaticallyAfterDays")
        self.edges(secrets, functions, f"rotation {every}" if every else "rotation")

    def redrive(self, r: Resource) -> None:
        policy = prop(r.props, "RedrivePolicy")
        receives = re.search(r"maxReceiveCount\\?\"?\s*[:=]\s*(\d+)", json.dumps(policy) if policy else "")
        label = f"redrive ({receives.group(1)} receives)" if receives else "redrive"
        self.edges([r.key] if r.key in self.graph.nodes else [], self.nodes_in(policy, r), label)

    def alarm(self, r: Resource) -> None:
        """Metric source -> alarm; member alarms -> composite alarm. (Alarm actions only notify people.)"""
        metric = prop(r.props, "MetricName") or "metric"
        metrics = [prop(r.props, "Dimensions"), prop(r.props, "Metrics", "metric_query", "MetricQueries")]
        self.edges(self.nodes_in(metrics, r), [r.key], str(metric), REFERENCE)
        self.edges(self.nodes_in(prop(r.props, "AlarmRule"), r), [r.key], "member")

    def global_database(self, r: Resource) -> None:
        """Aurora Global Database: the writer (the cluster that holds the credentials) -> the others."""
        if not prop(r.props, "MasterUsername") or not prop(r.props, "GlobalClusterIdentifier"):
            return
        (global_key, *_) = self.nodes_in(prop(r.props, "GlobalClusterIdentifier"), r) or [None]
        for other in self.res.values():
            member = other.kind == "database" and other.key != r.key
            if member and global_key in self.nodes_in(prop(other.props, "GlobalClusterIdentifier"), other):
                self.edges([r.key], [other.key], "Global Database replication")

    def state_machine(self, r: Resource) -> None:
        """State machine -> what each Task state calls, labelled with the state's name."""
        definition = prop(r.props, "DefinitionString", "Definition")
        try:
            states = json.loads(definition)["States"] if isinstance(definition, str) else None
        except (ValueError, KeyError):
            states = None
        if states is None:  # a definition built from intrinsics: its references, unnamed
            self.edges([r.key], self.nodes_in(definition, r), "task")
            return
        for name, state in self.task_states(states):
            self.edges([r.key], self.nodes_in(state, r), name)

    def task_states(self, states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for name, state in states.items():
            if state.get("Type") == "Task":
                found.append((name, state))
            for branch in [*state.get("Branches", []), state.get("Iterator"), state.get("ItemProcessor")]:
                if branch:
                    found.extend(self.task_states(branch.get("States", {})))
        return found

    def dns_record(self, r: Resource) -> None:
        alias = prop(r.props, "AliasTarget", "alias", "aliases")
        targets = self.nodes_in(alias, r) or [
            node for ref in self.inv.all_refs(r) for node in self.resolve(ref, r)
        ]
        policies = items(prop(r.props, "failover_routing_policy", "FailoverRoutingPolicies"))
        failover = prop(r.props, "Failover") or prop(next(iter(policies), None), "type")
        label = f"failover {failover}" if failover else "alias"
        self.edges([r.key], [t for t in targets if t != r.key], label)

    # Derivations across resources.

    def policies(self) -> None:
        """A node whose role may call a resource: caller -> resource, labelled with what it may do."""
        statements: dict[str, list[tuple[Resource, dict[str, Any]]]] = defaultdict(list)
        for policy in self.res.values():
            if policy.kind == "policy":
                for role in self.inv.policy_roles(policy):
                    statements[role] += [(policy, s) for s in self.inv.statements(policy)]
        for node in list(self.graph.nodes.values()):
            r = self.res.get(node.key)
            if r is None:
                continue
            roles = self.inv.refs(prop(r.props, "Role", "RoleArn", "ExecutionRoleArn"), r)
            for role, _ in roles:
                for policy, statement in statements.get(role, []):
                    does = verb(prop(statement, "Action"))
                    if prop(statement, "Effect") == "Allow" and does:
                        targets = self.nodes_in(prop(statement, "Resource"), policy)
                        self.edges([node.key], targets, does, POLICY)

    def security_groups(self) -> None:
        """A node whose security group another node's group admits: that node -> this one, on the port."""
        members: dict[str, list[str]] = defaultdict(list)
        for node in self.graph.nodes.values():
            r = self.res.get(node.key)
            for value in self.security_group_values(r.props if r else {}):
                for key, _ in self.inv.refs(value, r):
                    members[key].append(node.key)
        admits = []  # (from group, to group, port)
        for r in self.res.values():
            if r.kind == "sg_ingress":
                groups = self.inv.refs(prop(r.props, "GroupId", "security_group_id"), r)
                source = prop(r.props, "SourceSecurityGroupId", "referenced_security_group_id")
                peers = self.inv.refs(source, r)
                admits += [(p, g, prop(r.props, "FromPort")) for p, _ in peers for g, _ in groups]
            if r.kind == "security_group":
                for rule in items(prop(r.props, "SecurityGroupIngress")):
                    peers = self.inv.refs(prop(rule, "SourceSecurityGroupId"), r)
                    admits += [(p, r.key, prop(rule, "FromPort")) for p, _ in peers]
        for source_group, target_group, port in admits:
            self.edges(members[source_group], members[target_group], f"TCP {port}", POLICY)

    def security_group_values(self, value: Any) -> list[Any]:
        found = []
        if isinstance(value, dict):
            for k, v in value.items():
                found += [v] if normal(k) in SECURITY_GROUP_PROPERTIES else self.security_group_values(v)
        elif isinstance(value, list):
            for v in value:
                found += self.security_group_values(v)
        return found

    def references(self) -> None:
        """An environment variable naming a resource: the code uses it (weakest evidence)."""
        for node in list(self.graph.nodes.values()):
            r = self.res.get(node.key)
            if r is None:
                continue
            variables = prop(prop(r.props, "Environment"), "Variables") or prop(
                prop(r.props, "RunConfig"), "EnvironmentVariables"
            )
            for name, value in (variables or {}).items():
                for target in self.nodes_in(value, r):
                    kind = self.graph.nodes[target].kind
                    if kind == "api":  # a canary's or a client's URL
                        self.edges([node.key], [target], f"HTTPS {urlparse(str(value)).path}", REFERENCE)
                    elif kind in DATA_KINDS:
                        self.edges([node.key], [target], f"env {name}", REFERENCE)

    def prune(self) -> None:
        """Alarms nothing acts on are monitoring, not architecture; then whatever is left unconnected."""
        graph = self.graph

        def acted_on(key: str, by: set[str]) -> bool:
            return any(s == key and graph.nodes[t].kind in by for s, t in graph.edges)

        for kind, acting in (
            ("alarm", {"composite_alarm", "event_rule"}),
            ("composite_alarm", {"event_rule"}),
        ):
            graph.remove({k for k, n in graph.nodes.items() if n.kind == kind and not acted_on(k, acting)})
        connected = {k for edge in graph.edges for k in edge}
        graph.remove(set(graph.nodes) - connected)
