"""Drawing: the DOT source (no Graphviz needed), and `python -m diagrams` on a synthesized out/ tree."""

from __future__ import annotations

import json
import shutil

from diagrams.__main__ import main
from diagrams.render import clusters, to_dot


def test_one_region_is_drawn_by_component_fraud(fraud_graph):
    regions = clusters(fraud_graph)
    assert list(regions) == [""]
    assert {"api", "compute", "queueing", "data", "alerting"} == set(regions[""])


def test_dr_two_regions_side_by_side_and_global_resources_apart(dr_graph):
    regions = clusters(dr_graph)
    assert set(regions) == {"", "us-east-1", "us-west-2"}
    assert {n.name for n in regions[""]["route53 (global)"]} == {
        "route53-primary-record",
        "route53-secondary-record",
    }
    assert {n.name for n in regions[""]["aurora (global)"]} == {"aurora-global"}
    assert "orders-primary-processor" in {n.name for n in regions["us-east-1"]["orders"]}
    assert "failover-function" in {n.name for n in regions["us-west-2"]["failover"]}


def test_dr_replication_both_ways_is_one_line(dr_graph):
    source = to_dot(dr_graph).source
    assert source.count("replication (RTC 15 min)") == 1
    assert source.count("dir=both") == 2  # the buckets and the global table
    assert source.count("cluster_") == len([c for r in clusters(dr_graph).values() for c in r]) + 2


def write_payments(out, payments):
    """out/cdk_payments as `make synth-all` writes it, from the session's assembly."""
    dev = payments["dev"]
    assembly = (out / "cdk_payments").resolve()
    assembly.mkdir(parents=True)
    manifest = json.loads((dev.path.parent / "manifest.json").read_text())
    manifest["artifacts"] = {  # the session's assembly holds every variant; synth-all writes one stack
        name: a
        for name, a in manifest["artifacts"].items()
        if a["type"] != "aws:cloudformation:stack" or name == dev.stack.stack_name
    }
    (assembly / "manifest.json").write_text(json.dumps(manifest))
    shutil.copy(dev.path, assembly / dev.path.name)


def write_pulumi(out, stack, export):
    (out / stack).mkdir(parents=True)
    (out / stack / "resources.json").write_text(json.dumps(export.document))


def drawn(tmp_path, capsys, stack):
    """python -m diagrams --dot <stack> on an out/ tree holding that stack's output."""
    assert main(["--out", str(tmp_path / "out"), "--dot", stack]) == 0
    return capsys.readouterr().out


def assert_digraph(printed, title):
    assert f'digraph "{title}"' in printed or f"digraph {title}" in printed


# One test per stack: each runs beside that stack's synthesis (tests/conftest.py, xdist scopes).
def test_main_reads_the_cdk_assembly_payments(tmp_path, capsys, payments):
    write_payments(tmp_path / "out", payments)
    assert_digraph(drawn(tmp_path, capsys, "cdk_payments"), "payments-dev")


def test_main_reads_the_cdktf_output_transactions(tmp_path, capsys, transactions):
    shutil.copytree(transactions["dev"].directory.parents[1], tmp_path / "out" / "cdktf_transactions")
    assert_digraph(drawn(tmp_path, capsys, "cdktf_transactions"), "transactions-dev")


def test_main_reads_the_pulumi_export_fraud(tmp_path, capsys, fraud):
    write_pulumi(tmp_path / "out", "pulumi_fraud_pipeline", fraud)
    assert_digraph(drawn(tmp_path, capsys, "pulumi_fraud_pipeline"), "fraud-pipeline-dev")


def test_main_reads_the_pulumi_export_dr(tmp_path, capsys, dr):
    write_pulumi(tmp_path / "out", "pulumi_trading_dr", dr)
    assert_digraph(drawn(tmp_path, capsys, "pulumi_trading_dr"), "trading-dr-dev")


def test_main_says_how_to_install_graphviz(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    assert main(["--out", str(tmp_path)]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err


def test_main_asks_for_the_synthesis_first(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--dot", "pulumi_fraud_pipeline"]) == 1
    assert "run `make synth-all` first" in capsys.readouterr().err
