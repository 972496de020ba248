"""The four stacks' outputs as policy documents, from the stack tests' own session synths.

Those fixtures live in sibling conftests, invisible from here, so each is reached through its
cached builder: whichever test asks first synthesizes, once per session.
"""

from __future__ import annotations

import pytest

from policies.loaders import from_export, load
from policies.model import Document


@pytest.fixture(scope="session")
def payments_documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    from tests.cdk_payments.conftest import synthesize

    assembly = synthesize(tmp_path_factory.getbasetemp())["dev"].path.parent
    return load(assembly)  # every variant of the session's app: dev, prod, https, re-pointed dev


@pytest.fixture(scope="session")
def transactions_documents() -> list[Document]:
    from tests.cdktf_transactions.conftest import synthesize

    return [document for stack in synthesize().values() for document in load(stack.directory / "cdk.tf.json")]


@pytest.fixture(scope="session")
def fraud_documents() -> list[Document]:
    from tests.pulumi_fraud_pipeline.conftest import run_program

    return [from_export(run_program().document, "pulumi_fraud_pipeline (dev)")]


@pytest.fixture(scope="session")
def dr_documents() -> list[Document]:
    from tests.pulumi_trading_dr.conftest import run_program

    return [from_export(run_program().document, "pulumi_trading_dr (dev)")]
