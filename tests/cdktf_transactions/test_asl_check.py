"""`make check`'s ASL check (cdktf_transactions.asl_check) on the definitions as synthesized."""

from __future__ import annotations

import json

from cdktf_transactions.asl_check import definitions, main, validation_errors


def test_every_synthesized_state_machine_is_valid_asl(transactions):
    """The definition as written into cdk.tf.json (Terraform references inside), not a rebuilt one."""
    paths = [synth.directory / "cdk.tf.json" for synth in transactions.values()]
    found = definitions(*paths)
    assert len(found) == len(paths)  # one state machine per stack
    assert validation_errors(found) == {}


def test_the_check_rejects_a_broken_definition_and_an_output_without_any(dev, tmp_path):
    document = dev.json
    (machine,) = document["resource"]["aws_sfn_state_machine"].values()
    broken = json.loads(machine["definition"])
    broken["States"]["Settle"]["Next"] = "NoSuchState"
    machine["definition"] = json.dumps(broken)
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(document))
    assert main([str(path)]) == 1
    del document["resource"]["aws_sfn_state_machine"]
    path.write_text(json.dumps(document))
    assert main([str(path)]) == 1
