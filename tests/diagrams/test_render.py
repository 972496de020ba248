"""Drawing: the DOT source (no Graphviz needed), and `python -m diagrams` on a synthesized out/ tree."""

from __future__ import annotations

import json
import shutil

from diagrams.__main__ import main
from diagrams.render import clusters, to_dot


def test_one_region_is_drawn_by_component(fraud_graph):
    regions = clusters(fraud_graph)
    assert list(regions) == [""]
    assert {"api", "compute", "queueing", "data", "alerting"} == set(regions[""])


def test_two_regions_side_by_side_and_global_resources_apart(dr_graph):
    regions = clusters(dr_graph)
    assert set(regions) == {"", "us-east-1", "us-west-2"}
    assert {n.name for n in regions[""]["route53 (global)"]} == {
        "route53-primary-record",
        "route53-secondary-record",
    }
    assert {n.name for n in regions[""]["aurora (global)"]} == {"aurora-global"}
    assert "orders-primary-processor" in {n.name for n in regions["us-east-1"]["orders"]}
    assert "failover-function" in {n.name for n in regions["us-west-2"]["failover"]}


def test_replication_both_ways_is_one_line(dr_graph):
    source = to_dot(dr_graph).source
    assert source.count("replication (RTC 15 min)") == 1
    assert source.count("dir=both") == 2  # the buckets and the global table
    assert source.count("cluster_") == len([c for r in clusters(dr_graph).values() for c in r]) + 2


def write_out(tmp_path, payments, transactions, fraud, dr):
    """An out/ tree as `make synth-all` writes it, from the session's synthesis."""
    out = tmp_path / "out"
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
    shutil.copytree(transactions["dev"].directory.parents[1], out / "cdktf_transactions")
    for stack, export in (("pulumi_fraud_pipeline", fraud), ("pulumi_trading_dr", dr)):
        (out / stack).mkdir()
        (out / stack / "resources.json").write_text(json.dumps(export.document))
    return out


def test_main_reads_the_output_contract(tmp_path, capsys, payments, transactions, fraud, dr):
    out = write_out(tmp_path, payments, transactions, fraud, dr)
    assert main(["--out", str(out), "--dot"]) == 0
    printed = capsys.readouterr().out
    for title in ("payments-dev", "transactions-dev", "fraud-pipeline-dev", "trading-dr-dev"):
        assert f'digraph "{title}"' in printed or f"digraph {title}" in printed


def test_main_says_how_to_install_graphviz(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    assert main(["--out", str(tmp_path)]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err


def test_main_asks_for_the_synthesis_first(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--dot", "pulumi_fraud_pipeline"]) == 1
    assert "run `make synth-all` first" in capsys.readouterr().err
