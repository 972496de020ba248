"""Names carry the environment; resources carry the tags cost and ownership reports group by."""

from __future__ import annotations

import re

from policies.model import MISSING, Document, Severity, Unresolved
from policies.rules import fail, ok, rule, unknown

DEFAULT_REQUIRED_TAGS = ("environment", "project")
_TOKENS = re.compile(r"[^a-z0-9]+")
_MAY_CARRY = re.compile(r"«(?!AWS::(?:Region|AccountId|Partition|URLSuffix)»)")


@rule(
    "name-has-environment",
    title="explicit names carry the environment",
    rationale="A fixed physical name collides when a second environment deploys to the same account and "
    "region.",
    severity=Severity.LOW,
    catalogue=("fraud-10",),
    convention=True,
)
def name_has_environment(document: Document):
    named = [r for r in document if r.kind is not None and r.name is not None]
    environment = document.environment
    if not environment:
        if named:
            yield unknown(
                None,
                "the environment is unknown: tag the stack (or provider) with environment, or pass --env",
            )
        return
    wanted = environment.lower()
    for resource in named:
        name = resource.name
        if isinstance(name, Unresolved):
            yield unknown(resource, f"name: {name.why}")
        elif wanted in _TOKENS.split(name.lower()):
            yield ok(resource)
        elif _MAY_CARRY.search(name):  # a parameter, the stack name or a generated value may carry it
            yield unknown(resource, f"name {name!r} takes a value made at deployment")
        else:
            yield fail(resource, f"name {name!r} does not carry the environment {environment!r}")


@rule(
    "required-tags",
    title="resources are tagged",
    rationale="Tags (stack and provider default tags count) are how cost and ownership are found in a "
    "shared account.",
    severity=Severity.LOW,
    catalogue=("fraud-22",),
    convention=True,
)
def required_tags(document: Document):
    required = document.settings.get("required_tags", DEFAULT_REQUIRED_TAGS)
    for resource in document:
        kind = resource.kind
        if kind is None or not kind.taggable:
            continue
        tags = resource.tags
        if isinstance(tags, Unresolved):
            yield unknown(resource, f"tags: {tags.why}")
            continue
        present = {key.lower() for key, value in tags.items() if value is not MISSING}
        missing = [key for key in required if key.lower() not in present]
        yield (fail(resource, f"missing tags: {', '.join(missing)}") if missing else ok(resource))
