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


PROPERTY_VALUE: dict[str, Any] = {
    "oneOf": [
        {"type": ["null", "boolean", "number", "string"]},
        {"type": "array", "items": {"$ref": "#/$defs/value"}},
        # A plain object: any keys but the signature (which marks the special values below).
        {"type": "object", "properties": {SIG: False}, "additionalProperties": {"$ref": "#/$defs/value"}},
        _special(rpc._special_archive_sig, path={"type": "string"}, hash={"type": "string"})
        | {"anyOf": [{"required": ["path"]}, {"required": ["hash"]}, {"required": ["assets"]}]},
        _special(rpc._special_asset_sig, path={"type": "string"}, hash={"type": "string"})
        | {"anyOf": [{"required": ["path"]}, {"required": ["hash"]}, {"required": ["text"]}]},
        _special(rpc._special_secret_sig, ciphertext={"type": "string"}, plaintext={"type": "string"})
        | {"oneOf": [{"required": ["ciphertext"]}, {"required": ["plaintext"]}]},
        _special(rpc._special_resource_sig, urn=URN, id={"type": "string"}) | {"required": [SIG, "urn"]},
    ]
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
