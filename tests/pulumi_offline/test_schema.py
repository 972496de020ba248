"""pulumi_offline.schema: a property value's schema accepts and rejects what the `oneOf` of the
value kinds (Pulumi's property-values.json) does, and checks each value against its own kind only."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from pulumi.runtime import rpc

from pulumi_offline import schema

SIG = rpc._special_sig_key
URN = "urn:pulumi:dev::proj::aws:s3/bucket:Bucket::b"

# The rendering before issue 17's third pass: one branch per kind, exactly one must match.
ONE_OF: dict[str, Any] = {
    "oneOf": [
        {"type": ["null", "boolean", "number", "string"]},
        {"type": "array", "items": {"$ref": "#/$defs/value"}},
        {"type": "object", "properties": {SIG: False}, "additionalProperties": {"$ref": "#/$defs/value"}},
        schema._special(rpc._special_archive_sig, path={"type": "string"}, hash={"type": "string"})
        | {"anyOf": [{"required": ["path"]}, {"required": ["hash"]}, {"required": ["assets"]}]},
        schema._special(rpc._special_asset_sig, path={"type": "string"}, hash={"type": "string"})
        | {"anyOf": [{"required": ["path"]}, {"required": ["hash"]}, {"required": ["text"]}]},
        schema._special(rpc._special_secret_sig, ciphertext={"type": "string"}, plaintext={"type": "string"})
        | {"oneOf": [{"required": ["ciphertext"]}, {"required": ["plaintext"]}]},
        schema._special(rpc._special_resource_sig, urn=schema.URN, id={"type": "string"})
        | {"required": [SIG, "urn"]},
    ]
}

ARCHIVE = {SIG: rpc._special_archive_sig, "path": "build/lambda/x"}
ASSET = {SIG: rpc._special_asset_sig, "text": "hello"}
SECRET = {SIG: rpc._special_secret_sig, "ciphertext": "withheld"}
REFERENCE = {SIG: rpc._special_resource_sig, "urn": URN, "id": "b-id"}
VALUES = [
    None,
    True,
    0,
    1.5,
    "s",
    [],
    [1, "a", None, [ARCHIVE]],
    {},
    {"a": {"b": [SECRET, REFERENCE]}, "c": ASSET},
    ARCHIVE,
    {SIG: rpc._special_archive_sig, "hash": "abc"},
    {SIG: rpc._special_archive_sig, "assets": {"a": ASSET}},
    {SIG: rpc._special_archive_sig, "assets": {"a": {SIG: "bogus"}}},  # assets are not values
    {SIG: rpc._special_archive_sig},  # neither path, hash nor assets
    {SIG: rpc._special_archive_sig, "path": 3},
    ASSET,
    {SIG: rpc._special_asset_sig, "path": "p", "extra": [1]},
    {SIG: rpc._special_asset_sig, "hash": None},
    SECRET,
    {SIG: rpc._special_secret_sig, "plaintext": "pw"},
    {SIG: rpc._special_secret_sig, "ciphertext": "c", "plaintext": "pw"},  # both
    {SIG: rpc._special_secret_sig},  # neither
    REFERENCE,
    {SIG: rpc._special_resource_sig, "id": "x"},  # no urn
    {SIG: rpc._special_resource_sig, "urn": "not-a-urn"},
    {SIG: "bogus", "path": "p"},  # an unknown signature
    {SIG: 7},
    {"x": {SIG: "bogus"}},  # a bad value inside a plain object
    [{SIG: rpc._special_secret_sig}],  # a bad value inside an array
    (1, 2),  # not JSON: a tuple is not an array here
    {1, 2},
    {"a": object()},
]


def _validator(value_schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    document_schema = copy.deepcopy(schema.DEPLOYMENT_V3)
    document_schema["$defs"]["value"] = value_schema
    return jsonschema.Draft202012Validator({"$ref": "#/$defs/value", "$defs": document_schema["$defs"]})


@pytest.mark.parametrize("value", VALUES, ids=[f"{i}-{type(v).__name__}" for i, v in enumerate(VALUES)])
def test_a_value_is_valid_exactly_when_the_one_of_form_says_so(value):
    """The value schema as dispatch by kind (issue 17) keeps the `oneOf`'s verdict on every value."""
    assert _validator(schema.PROPERTY_VALUE).is_valid(value) == _validator(ONE_OF).is_valid(value)


def test_the_corpus_holds_both_verdicts():
    verdicts = [_validator(ONE_OF).is_valid(v) for v in VALUES]
    assert verdicts.count(True) >= 10 and verdicts.count(False) >= 10


def test_a_value_is_checked_against_its_own_kind_only(monkeypatch):
    """Fix (issue 17, `make synth-all` CPU): a value is checked against the subschemas of its own
    kind (about five validator scopes a value, `$ref`s included), where the `oneOf` tried all seven kinds at
    every value (about 14 scopes each; 0.15 s of CPU per Pulumi synth)."""
    validator = _validator(schema.PROPERTY_VALUE)
    scopes = []
    real = type(validator).evolve

    def counting(self, **changes):
        scopes.append(changes)
        return real(self, **changes)

    monkeypatch.setattr(type(validator), "evolve", counting)
    values = ["s"] * 50 + [{"k": 1}] * 25 + [[1]] * 25
    assert validator.is_valid(values)
    assert len(scopes) <= 6 * len(values)  # with `$ref`s: about 5 per value; the `oneOf` 14
