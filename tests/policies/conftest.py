"""The four stacks' outputs as policy documents, from the session's one synthesis of each stack
(the fixtures in tests/conftest.py, shared with the stack tests and tests/diagrams)."""

from __future__ import annotations

import pytest

from policies.loaders import from_export, load
from policies.model import Document


@pytest.fixture(scope="session")
def payments_documents(payments) -> list[Document]:
    assembly = payments["dev"].path.parent
    return load(assembly)  # every variant of the session's app: dev, prod, https, re-pointed dev


@pytest.fixture(scope="session")
def transactions_documents(transactions) -> list[Document]:
    return [document for stack in transactions.values() for document in load(stack.directory / "cdk.tf.json")]


@pytest.fixture(scope="session")
def fraud_documents(fraud) -> list[Document]:
    return [from_export(fraud.document, "pulumi_fraud_pipeline (dev)")]


@pytest.fixture(scope="session")
def dr_documents(dr) -> list[Document]:
    return [from_export(dr.document, "pulumi_trading_dr (dev)")]
