"""No security group ingress from anywhere to database or administration ports."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from policies.model import MISSING, Document, Resource, Severity, Unresolved, as_list
from policies.rules import fail, ok, rule, unknown


def anywhere(cidr: Any) -> bool:
    """Whether a CIDR admits every address: any /0, however written (0.0.0.0/0, ::/0, 0::/0, 10.0.0.0/0)."""
    if not isinstance(cidr, str) or "/" not in cidr:
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


SENSITIVE_PORTS = {
    22: "SSH",
    23: "Telnet",
    135: "RPC",
    445: "SMB",
    1433: "SQL Server",
    1521: "Oracle",
    2049: "NFS",
    2375: "Docker",
    2376: "Docker",
    3306: "MySQL/Aurora MySQL",
    3389: "RDP",
    5432: "PostgreSQL/Aurora PostgreSQL",
    5439: "Redshift",
    5900: "VNC",
    5984: "CouchDB",
    6379: "Redis",
    7000: "Cassandra",
    7001: "Cassandra",
    8086: "InfluxDB",
    9042: "Cassandra",
    9200: "OpenSearch",
    9300: "OpenSearch",
    11211: "Memcached",
    27017: "MongoDB/DocumentDB",
}


def _ports(document: Document, protocol: Any, low: Any, high: Any) -> set[int] | Unresolved:
    protocol, low, high = (document.scalar(v) for v in (protocol, low, high))
    for value in (protocol, low, high):
        if isinstance(value, Unresolved):
            return value
    protocol = str(protocol).lower() if protocol not in (MISSING, None) else "tcp"
    if protocol in ("-1", "all"):
        return set(SENSITIVE_PORTS)
    if protocol not in ("tcp", "6", "udp", "17"):
        return set()  # ICMP and other protocols carry no ports
    try:
        low_port = int(low) if low not in (MISSING, None) else 0
        high_port = int(high) if high not in (MISSING, None) else 65535
    except (TypeError, ValueError):
        return Unresolved(f"ports {low!r}-{high!r}")
    if low_port == -1:
        low_port, high_port = 0, 65535
    return {port for port in SENSITIVE_PORTS if low_port <= port <= high_port}


def _ingress(resource: Resource) -> Iterator[tuple[list[Any], Any, Any, Any] | Unresolved]:
    """(sources, protocol, from port, to port) of each ingress entry a resource declares."""
    document = resource.document
    if resource.is_("ec2.security_group"):
        for entry in as_list(resource.get("security_group_ingress", "ingress")):
            entry = document.scalar(entry)
            if isinstance(entry, Unresolved) or not isinstance(entry, dict):
                yield entry if isinstance(entry, Unresolved) else Unresolved(f"an ingress entry {entry!r}")
            else:
                view = Resource(resource.address, "", entry, document)
                sources = as_list(view.get("cidr_ip", "cidr_blocks")) + as_list(
                    view.get("cidr_ipv6", "ipv6_cidr_blocks")
                )
                yield sources, view.get("ip_protocol", "protocol"), view.get("from_port"), view.get("to_port")
    elif resource.is_("ec2.security_group_ingress"):
        sources = as_list(resource.get("cidr_ip", "cidr_ipv4")) + as_list(resource.get("cidr_ipv6"))
        yield sources, resource.get("ip_protocol"), resource.get("from_port"), resource.get("to_port")
    elif (
        resource.is_("ec2.security_group_rule")
        and resource.document.scalar(resource.get("type")) == "ingress"
    ):
        sources = as_list(resource.get("cidr_blocks")) + as_list(resource.get("ipv6_cidr_blocks"))
        yield sources, resource.get("protocol"), resource.get("from_port"), resource.get("to_port")


@rule(
    "no-open-admin-ingress",
    title="no ingress from 0.0.0.0/0 to database or admin ports",
    rationale="A database or admin port open to the internet is the first thing scanners find; admit "
    "security groups or known ranges.",
    severity=Severity.CRITICAL,
    catalogue=("trading-dr-10", "transactions-10"),
)
def no_open_admin_ingress(document: Document):
    for resource in document.of(
        "ec2.security_group", "ec2.security_group_ingress", "ec2.security_group_rule"
    ):
        problems, doubts, seen = [], [], False
        for entry in _ingress(resource):
            seen = True
            if isinstance(entry, Unresolved):
                doubts.append(f"a computed ingress entry ({entry.why})")
                continue
            sources, protocol, low, high = entry
            texts = [document.scalar(source) for source in sources]
            unresolved = [t for t in texts if isinstance(t, Unresolved)]
            open_to_all = [t for t in texts if anywhere(t)]
            if not open_to_all and not unresolved:
                continue
            ports = _ports(document, protocol, low, high)
            if isinstance(ports, Unresolved):
                doubts.append(ports.why)
                continue
            if not ports:
                continue
            names = ", ".join(f"{p} ({SENSITIVE_PORTS[p]})" for p in sorted(ports))
            if open_to_all:
                problems.append(f"{'/'.join(open_to_all)} may reach {names}")
            else:
                doubts.append(f"a computed source ({unresolved[0].why}) may reach {names}")
        if problems:
            yield fail(resource, "; ".join(problems))
        elif doubts:
            yield unknown(resource, "; ".join(doubts))
        elif seen:
            yield ok(resource)
