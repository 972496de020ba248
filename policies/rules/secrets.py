"""No plaintext secrets or passwords anywhere in the output."""

from __future__ import annotations

import json
import re
from typing import Any

from policies.loaders.pulumi import is_secret
from policies.model import Document, Severity, walk
from policies.rules import fail, ok, rule

# A key names a secret value when its last word is one of these ("db_password", "api_key",
# "SecretString"), not when it names a reference to one ("secret_arn", "password_length").
_SECRET_LAST = {"password", "passwd", "passphrase", "secret", "token", "credentials", "pwd"}
_KEY_QUALIFIERS = {"api", "private", "access", "secret", "signing", "encryption", "client", "auth"}
_SECRET_VALUE_KEYS = {"secretstring", "secretbinary", "masteruserpassword", "masterpassword", "authtoken"}
_NOT_SECRETS = {"passwordlength", "excludecharacters", "generatestringkey", "secretstringtemplate"}
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

_PATTERNS = {
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "credentials in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
}
# Values that hold no secret: references, placeholders, CloudFormation dynamic references.
_HARMLESS = re.compile(r"^(?:\{\{resolve:(?:secretsmanager|ssm-secure):.*\}\}|arn:.*|\$\{.*\}|«.*»)$", re.S)


def _words(key: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(key.replace("-", "_"))]


def secret_key(key: str) -> bool:
    """Whether a property or variable named ``key`` holds a secret value."""
    flat = key.replace("_", "").replace("-", "").lower()
    if flat in _NOT_SECRETS:
        return False
    if flat in _SECRET_VALUE_KEYS:
        return True
    words = _words(key)
    if not words:
        return False
    if words[-1] in _SECRET_LAST:
        return True
    return words[-1] == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


def _literal(document: Document, value: Any) -> bool:
    """Whether ``value`` is written out in the document (not a reference, a secret or a placeholder)."""
    text = document.text(value) if not isinstance(value, str) else value
    if not isinstance(text, str) or not text.strip() or "«" in text:  # «...»: a value made at deployment
        return False
    return not _HARMLESS.match(text.strip())


def _secret_string(document: Document, at: str, value: Any) -> list[str]:
    """A secret's value: JSON of fields is judged field by field (a host and a port are no secret)."""
    text = document.text(value) if not isinstance(value, str) else value
    try:
        fields = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        fields = None
    if isinstance(fields, dict):
        return [
            f"{at}.{key}: a literal value"
            for key, item in fields.items()
            if isinstance(item, str) and secret_key(key) and _literal(document, item)
        ]
    return [f"{at}: a literal value"] if _literal(document, value) else []


def _findings(document: Document, where: str, value: Any) -> list[str]:
    found = []
    for path, item in walk(value):
        at = f"{where}.{path}" if path else where
        if isinstance(item, dict) and "plaintext" in item and is_secret(item):
            found.append(f"{at}: a secret exported with its plaintext")
            continue
        if isinstance(item, str):
            found.extend(f"{at}: {what}" for what, pattern in _PATTERNS.items() if pattern.search(item))
        key = path.rsplit(".", 1)[-1].split("[", 1)[0]
        literal_value = item is not None and not isinstance(item, (bool, int, float, list))
        if key.replace("_", "").lower() == "secretstring" and literal_value:
            found.extend(_secret_string(document, at, item))
        elif key and literal_value and secret_key(key) and _literal(document, item):
            found.append(f"{at}: a literal value")
    return found


@rule(
    "no-plaintext-secrets",
    title="no plaintext secrets or passwords in any output",
    rationale="Templates, plans and state are read by many people and tools: reference a secret store "
    "(or a Pulumi secret), never a literal.",
    severity=Severity.CRITICAL,
    catalogue=("trading-dr-09",),
)
def no_plaintext_secrets(document: Document):
    for resource in document:
        problems = _findings(document, "properties", resource.properties)
        if resource.is_("ssm.parameter") and document.scalar(resource.get("type")) == "SecureString":
            value = resource.get("value")
            if isinstance(value, str) and not _HARMLESS.match(value):
                problems.append("properties.value: a SecureString parameter with a literal value")
        yield (fail(resource, "; ".join(problems)) if problems else ok(resource))
    problems = _findings(document, "outputs", document.outputs)
    problems += [
        f"parameter {name}: a default value"
        for name, default in document.input_defaults.items()
        if secret_key(name) and _literal(document, default)
    ]
    yield (fail(None, "; ".join(problems)) if problems else ok(None, "stack outputs and parameters"))
