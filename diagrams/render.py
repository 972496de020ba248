"""The graph as Graphviz DOT: a cluster per region (when there are several) and per component, one box
per resource coloured by category, the data path from top to bottom. Rendering needs Graphviz's ``dot``;
building the DOT source does not."""

from __future__ import annotations

import html

import graphviz

from diagrams.model import GLOBAL_KINDS, KINDS, Graph, Node

# category -> (border, fill): the AWS architecture icon colours, fills pale enough for black text.
COLOURS = {
    "compute": ("#ED7100", "#FDEBD9"),
    "storage": ("#7AA116", "#EEF5E1"),
    "database": ("#C925D1", "#F7E3F8"),
    "network": ("#8C4FFF", "#EEE6FF"),
    "integration": ("#E7157B", "#FCE3EF"),
    "security": ("#DD344C", "#FBE4E7"),
    "management": ("#3F8624", "#E4F0DF"),
}
FONT = "Helvetica"


def to_dot(graph: Graph) -> graphviz.Digraph:
    dot = graphviz.Digraph(name=graph.title)
    dot.attr(
        rankdir="TB",
        label=f"{graph.title}: the data path, drawn from the synthesized output (make diagrams)",
        labelloc="t",
        fontname=FONT,
        fontsize="14",
        nodesep="0.4",
        ranksep="0.6",
        newrank="true",
    )
    dot.attr("node", shape="box", style="rounded,filled", fontname=FONT, fontsize="11", margin="0.12,0.05")
    dot.attr("edge", fontname=FONT, fontsize="9", color="#545B64", fontcolor="#232F3E", arrowsize="0.7")
    regions = clusters(graph)
    nodes = [node for components in regions.values() for members in components.values() for node in members]
    ids = {node.key: f"n{i}" for i, node in enumerate(nodes)}
    for r, (region, components) in enumerate(regions.items()):
        if region:
            with dot.subgraph(name=f"cluster_r{r}") as outer:
                outer.attr(label=region, style="dashed", color="#232F3E", fontsize="13")
                _components(outer, components, ids, f"r{r}")
        else:
            _components(dot, components, ids, "r")

    drawn = set()
    order = sorted(graph.edges, key=lambda pair: (int(ids[pair[0]][1:]), int(ids[pair[1]][1:])))
    for source, target in order:
        edge = graph.edges[(source, target)]
        if (source, target) in drawn:
            continue
        back = graph.edges.get((target, source))
        both = back is not None and back.label == edge.label  # replication both ways: one line
        drawn |= {(source, target), (target, source)} if both else {(source, target)}
        dot.edge(ids[source], ids[target], label=edge.label, dir="both" if both else "forward")
    return dot


def clusters(graph: Graph) -> dict[str, dict[str, list[Node]]]:
    """region -> component -> nodes, as drawn ("" for no cluster): regions only when there are several,
    a global resource (Route 53, Aurora's global cluster) outside them."""
    regions: dict[str, dict[str, list[Node]]] = {}
    for node in sorted(graph.nodes.values(), key=lambda n: (_region(graph, n), n.component, n.name)):
        component = node.component
        if len(graph.regions) > 1 and node.kind in GLOBAL_KINDS:
            component = f"{component} (global)"
        regions.setdefault(_region(graph, node), {}).setdefault(component, []).append(node)
    return regions


def _region(graph: Graph, node: Node) -> str:
    """The region cluster a node is drawn in: none with one region, nor for a global resource."""
    if len(graph.regions) < 2 or node.kind in GLOBAL_KINDS:
        return ""
    return node.region or ""


def _components(
    parent: graphviz.Digraph, components: dict[str, list[Node]], ids: dict[str, str], prefix: str
) -> None:
    for c, (component, members) in enumerate(components.items()):
        if component:
            with parent.subgraph(name=f"cluster_{prefix}c{c}") as cluster:
                cluster.attr(label=component, style="rounded", color="#AAB7B8", fontsize="11")
                for node in members:
                    _node(cluster, node, ids[node.key])
        else:
            for node in members:
                _node(parent, node, ids[node.key])


def _node(parent: graphviz.Digraph, node: Node, node_id: str) -> None:
    border, fill = COLOURS[KINDS[node.kind][1]]
    label = f'<<b>{html.escape(node.name)}</b><br/><font point-size="9">{html.escape(node.title)}</font>>'
    parent.node(node_id, label=label, color=border, fillcolor=fill)
