"""Pulumi's published deployment-state schema (``pulumi stack export``, version 3), as JSON Schema.

Our own rendering of the rules in pulumi/pulumi ``sdk/go/common/apitype/deployments.json``,
``resources.json`` and ``property-values.json`` (the engine's checkpoint format): the keys a
deployment, a manifest and a resource state may carry, and how property values encode secrets,
assets, archives, resource references and unknowns (an object with the signature key). What the
schema cannot say (URN grammar, ids only on custom resources, order) is checked in ``check``.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

SIG = rpc._special_sig_key
URN = {"type": "string", "pattern": r"^urn:pulumi:[^:]+::[^:]+::[^:]+(:[^:]+)*::.+$"}


def _special(signature: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {SIG: {"const": signature}, **properties},
        "required": [SIG],
    }


ARCHIVE = _special(rpc._special_archive_sig, path={"type": "string"}, hash={"type": "string"}) | {
    "anyOf": [{"required": ["path"]}, {"required": ["hash"]}, {"required": ["assets"]}]
}
ASSET = _special(rpc._special_asset_sig, path={"type": "string"}, hash={"type": "string"}) | {
    "anyOf": [{"required": ["path"]}, {"required": ["hash"]}, {"required": ["text"]}]
}
SECRET = _special(rpc._special_secret_sig, ciphertext={"type": "string"}, plaintext={"type": "string"}) | {
    "oneOf": [{"required": ["ciphertext"]}, {"required": ["plaintext"]}]
}
RESOURCE_REFERENCE = _special(rpc._special_resource_sig, urn=URN, id={"type": "string"}) | {
    "required": [SIG, "urn"]
}


def _signature_is(signature: str) -> dict[str, Any]:
    return {"properties": {SIG: {"const": signature}}}


# A scalar, an array of values, a plain object (any keys but the signature) of values, or one of the
# special objects the signature marks. The kinds exclude each other, so this is their `oneOf`, written
# with keywords that apply to one kind each (`items` to arrays, `dependentSchemas` to objects with the
# signature): a value is checked against its own kind only, where a `oneOf` tries all seven (a third
# of a Pulumi synth's CPU, issue 17). ``tests/pulumi_offline/test_schema.py`` holds the `oneOf`.
PROPERTY_VALUE: dict[str, Any] = {
    "type": ["null", "boolean", "number", "string", "array", "object"],
    "items": {"$ref": "#/$defs/value"},
    # `required` holds for anything but an object without the signature: only a plain object is
    # checked key by key.
    "if": {"required": [SIG]},
    "else": {"additionalProperties": {"$ref": "#/$defs/value"}},
    "dependentSchemas": {
        SIG: {
            "if": _signature_is(rpc._special_archive_sig),
            "then": ARCHIVE,
            "else": {
                "if": _signature_is(rpc._special_asset_sig),
                "then": ASSET,
                "else": {
                    "if": _signature_is(rpc._special_secret_sig),
                    "then": SECRET,
                    "else": RESOURCE_REFERENCE,  # its signature or none: rejected
                },
            },
        }
    },
}

RESOURCE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "urn": {"$ref": "#/$defs/urn"},
        "custom": {"type": "boolean"},
        "delete": {"type": "boolean"},
        "id": {"type": "string"},
        "type": {"type": "string"},
        "inputs": {"type": "object", "additionalProperties": {"$ref": "#/$defs/value"}},
        "outputs": {"type": "object", "additionalProperties": {"$ref": "#/$defs/value"}},
        "parent": {"$ref": "#/$defs/urn"},
        "protect": {"type": "boolean"},
        "external": {"type": "boolean"},
        "dependencies": {"type": "array", "items": {"$ref": "#/$defs/urn"}},
        "initErrors": {"type": "array", "items": {"type": "string"}},
        "provider": {"type": "string"},
        "propertyDependencies": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"$ref": "#/$defs/urn"}},
        },
        "pendingReplacement": {"type": "boolean"},
        "additionalSecretOutputs": {"type": "array", "items": {"type": "string"}},
        "aliases": {"type": "array", "items": {"$ref": "#/$defs/urn"}},
        "customTimeouts": {"type": "object"},
        "importID": {"type": "string"},
    },
    "required": ["urn"],
    "additionalProperties": False,
}

DEPLOYMENT_V3: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pulumi stack export, version 3",
    "type": "object",
    "properties": {
        "version": {"const": 3},
        "deployment": {
            "type": "object",
            "properties": {
                "manifest": {
                    "type": "object",
                    "properties": {
                        "time": {"type": "string", "format": "date-time"},
                        "magic": {"type": "string"},
                        "version": {"type": "string"},
                        "plugins": {"type": "array"},
                    },
                    "required": ["time", "magic", "version"],
                    "additionalProperties": False,
                },
                "secrets_providers": {
                    "type": "object",
                    "properties": {"type": {"type": "string"}, "state": {}},
                    "required": ["type"],
                    "additionalProperties": False,
                },
                "resources": {"type": "array", "items": {"$ref": "#/$defs/resource"}},
                "pending_operations": {"type": "array"},
            },
            "required": ["manifest"],
            "additionalProperties": False,
        },
    },
    "required": ["version", "deployment"],
    "additionalProperties": False,
    "$defs": {"urn": URN, "value": PROPERTY_VALUE, "resource": RESOURCE},
}
