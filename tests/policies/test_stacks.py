"""The suite on this repo's four stacks, from the session's own synths: no finding outside the
committed allowlist, every rule that applies has judged something, and no exception is stale."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from policies import Report, check_documents, load_config
from policies.__main__ import render_text
from policies.allowlist import load_allowlist
from policies.model import Document
from policies.rules import PASS, all_rules

ALLOWLIST = Path(__file__).resolve().parents[2] / "policies" / "allowlist.toml"
CONFIG = Path(__file__).resolve().parents[2] / "policies" / "config.toml"  # our conventions on
EVERY_RULE = {rule.id for rule in all_rules()}
# Rules with nothing to judge in a stack: it has no such resources (asserted, so a loader that
# reads nothing cannot pass as a clean stack).
NOTHING_TO_JUDGE = {
    "payments": {"async-failure-destination"},
    "transactions": {
        "async-failure-destination",
        "api-access-logs",
        "api-throttling",
        "bucket-public-access-block",
        "bucket-tls-only",
    },
    "fraud": {"bucket-public-access-block", "bucket-tls-only"},
    "dr": set(),
}


def report_of(documents: list[Document]) -> Report:
    return check_documents(
        documents, exemptions=load_allowlist(ALLOWLIST, EVERY_RULE), config=load_config(CONFIG)
    )


def assert_clean(stack: str, documents: list[Document]) -> None:
    report = report_of(documents)
    assert not report.blocking, render_text(report)
    judged = {r.rule.id for r in report.results if r.status == PASS or r.allowed_because}
    assert judged == EVERY_RULE - NOTHING_TO_JUDGE[stack]
    # No exception for this stack is stale: each one that names it excuses something in it.
    mine = [e for e in report.unused_exemptions if any(fnmatchcase(d.stack, e.stack) for d in documents)]
    assert not mine, f"allowlist entries that match nothing: {[str(e) for e in mine]}"


def test_every_exception_names_one_of_the_four_stacks() -> None:
    """An exception for every stack ('*') could not be checked for staleness stack by stack."""
    stacks = ("payments-dev", "payments-prod", "transactions-dev", "fraud-pipeline/dev", "trading-dr/dev")
    for exemption in load_allowlist(ALLOWLIST, EVERY_RULE):
        assert exemption.stack != "*" and any(fnmatchcase(s, exemption.stack) for s in stacks), exemption


def test_payments(payments_documents: list[Document]) -> None:
    """Every variant of the app's test session: dev, prod, https, dev re-pointed."""
    assert {d.stack for d in payments_documents} >= {"payments-dev", "payments-prod"}
    assert_clean("payments", payments_documents)


@pytest.mark.catalogue("transactions-08")
def test_transactions(transactions_documents: list[Document]) -> None:
    """dev and prod: log groups /aws/lambda/<name> with retention for every function (transactions-08)."""
    assert_clean("transactions", transactions_documents)


@pytest.mark.catalogue("fraud-15", "fraud-18", "fraud-19")
def test_fraud(fraud_documents: list[Document]) -> None:
    """The consumer queue's DLQ (fraud-15), an explicit stage with access logs and throttling
    (fraud-18, fraud-19)."""
    assert_clean("fraud", fraud_documents)


@pytest.mark.catalogue(
    "trading-dr-08", "trading-dr-09", "trading-dr-10", "trading-dr-17", "trading-dr-18", "trading-dr-20"
)
def test_trading_dr(dr_documents: list[Document]) -> None:
    """Both clusters encrypted (trading-dr-08), no password in the output (-09), no database
    port open to the world (-10), access logs and throttling on both stages (-17, -18), every
    alarm with an action (-20)."""
    assert_clean("dr", dr_documents)
