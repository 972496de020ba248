"""The architecture graph: resources that matter (nodes, grouped by region and component) and the data
path between them (edges, each with the labels of what carries it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

# kind -> (what a reader calls it, category: the colour family in the drawing)
KINDS: dict[str, tuple[str, str]] = {
    "waf": ("WAF web ACL", "security"),
    "api": ("API Gateway REST API", "integration"),
    "vpc_link": ("VPC link", "network"),
    "load_balancer": ("Application Load Balancer", "network"),
    "dns_record": ("Route 53 record", "network"),
    "function": ("Lambda function", "compute"),
    "state_machine": ("Step Functions state machine", "integration"),
    "queue": ("SQS queue", "integration"),
    "topic": ("SNS topic", "integration"),
    "event_rule": ("EventBridge rule", "integration"),
    "table": ("DynamoDB table", "database"),
    "database": ("Aurora cluster", "database"),
    "global_database": ("Aurora global database", "database"),
    "bucket": ("S3 bucket", "storage"),
    "secret": ("Secrets Manager secret", "security"),
    "alarm": ("CloudWatch alarm", "management"),
    "composite_alarm": ("CloudWatch composite alarm", "management"),
    "canary": ("Synthetics canary", "management"),
}
# Kinds that live in no region (a multi-region drawing puts them apart).
GLOBAL_KINDS = frozenset({"dns_record", "global_database"})

# Label strength: what a wiring resource says beats what a policy says, which beats an env variable.
CARRIER, POLICY, REFERENCE = 3, 2, 1


@dataclass(frozen=True)
class Node:
    key: str  # the output's own id: logical id, Terraform address, URN (+ "@region" for a replica)
    name: str  # construct id or Pulumi resource name: unique in a graph
    kind: str
    component: str  # the construct or ComponentResource that owns it ("" for the stack itself)
    region: str | None = None

    @property
    def title(self) -> str:
        return KINDS[self.kind][0]


@dataclass
class Edge:
    source: str
    target: str
    labels: dict[int, set[str]] = field(default_factory=dict)  # strength -> labels

    @property
    def label(self) -> str:
        """The labels of the strongest derivation ("poll" beats a policy's "read"); read and write from
        several statements are one "read/write"."""
        if not self.labels:
            return ""
        words = set(self.labels[max(self.labels)])
        access = words & {"read", "write", "read/write"}
        if len(access) > 1:
            words = (words - access) | {"read/write"}
        return ", ".join(sorted(words))


@dataclass
class Graph:
    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)

    def add_node(self, node: Node) -> None:
        self.nodes[node.key] = node

    def add_edge(self, source: str, target: str, label: str, strength: int = CARRIER) -> None:
        if source == target or source not in self.nodes or target not in self.nodes:
            return
        edge = self.edges.setdefault((source, target), Edge(source, target))
        edge.labels.setdefault(strength, set()).add(label)

    def remove(self, keys: set[str]) -> None:
        for key in keys:
            self.nodes.pop(key, None)
        self.edges = {k: e for k, e in self.edges.items() if k[0] in self.nodes and k[1] in self.nodes}

    @property
    def regions(self) -> list[str]:
        return sorted({n.region for n in self.nodes.values() if n.region and n.kind not in GLOBAL_KINDS})

    # Look-ups by name, for tests and readers of the model.
    def node(self, name: str) -> Node:
        found = [n for n in self.nodes.values() if n.name == name]
        if len(found) != 1:
            raise KeyError(f"{name!r}: {len(found)} nodes of that name in {self.title}")
        return found[0]

    def edge(self, source: str, target: str) -> Edge | None:
        return self.edges.get((self.node(source).key, self.node(target).key))

    def targets(self, source: str) -> set[str]:
        key = self.node(source).key
        return {self.nodes[t].name for s, t in self.edges if s == key}

    def has_path(self, *names: str) -> bool:
        """Every consecutive pair of names is joined by an edge, in that direction."""
        return all(self.edge(a, b) is not None for a, b in pairwise(names))
