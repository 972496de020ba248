"""The architecture graph of each stack, built from the session's one synthesis of it (tests/conftest.py):
the same output `make synth-all` writes, so nothing is synthesized twice."""

from __future__ import annotations

import pytest

from diagrams.derive import build
from diagrams.model import Graph
from diagrams.sources import CloudFormation, Pulumi, Terraform


@pytest.fixture(scope="session")
def payments_graph(payments) -> Graph:
    dev = payments["dev"]
    return build(CloudFormation(dev.stack.stack_name, dev.json))


@pytest.fixture(scope="session")
def transactions_graph(transactions) -> Graph:
    dev = transactions["dev"]
    return build(Terraform(dev.name, dev.json))


@pytest.fixture(scope="session")
def fraud_graph(fraud) -> Graph:
    return build(Pulumi(fraud.document))


@pytest.fixture(scope="session")
def dr_graph(dr) -> Graph:
    return build(Pulumi(dr.document))
