"""The normalized model the rules read: documents (one deployable stack each) of resources.

A resource keeps its properties as the format wrote them (CloudFormation PascalCase, Terraform
snake_case, Pulumi camelCase); ``Resource.get`` looks keys up in any of the three spellings, so a
rule names a property once (``tracing_config.mode``). References between resources stay in the
format's own form; each format's ``Document`` resolves them (``target``, ``text``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from policies.vocabulary import Kind, kind_of


class Severity(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: one of low, medium, high, critical") from None


class Unresolved:
    """A value the document cannot tell before deployment (a parameter, an expression, a secret)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"Unresolved({self.why!r})"

    def __bool__(self) -> bool:
        raise TypeError(f"an unresolved value has no truth value ({self.why}); test with is_unresolved")


def is_unresolved(value: Any) -> bool:
    return isinstance(value, Unresolved)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # a property the resource does not set


class Choice(Unresolved):
    """A value set under a condition (CloudFormation ``Fn::If``): one option per branch, MISSING for
    ``AWS::NoValue``. Unresolved to code that does not look further; ``decide`` judges each branch."""

    def __init__(self, why: str, options: list[Any]) -> None:
        super().__init__(why)
        self.options = options

    def __repr__(self) -> str:
        return f"Choice({self.why!r}, {self.options!r})"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Unresolved) or isinstance(b, Unresolved):
        return a is b
    try:
        return a is b or (type(a) is type(b) and a == b)
    except Exception:  # values that cannot be compared are not the same
        return False


def choice(why: str, options: list[Any]) -> Any:
    """A Choice of ``options``, or the one value when every branch gives the same."""
    flat: list[Any] = []
    for option in options:
        flat.extend(option.options if isinstance(option, Choice) else [option])
    if all(_same(option, flat[0]) for option in flat[1:]):
        return flat[0]
    return Choice(why, flat)


def decide(value: Any, judge: Callable[[Any], Any]) -> Any:
    """``judge(value)``; for a Choice, the answer every branch gives (an Unresolved when they differ
    or one branch cannot be judged)."""
    if not isinstance(value, Choice):
        return judge(value)
    answers = [decide(option, judge) for option in value.options]
    doubt = next((a for a in answers if isinstance(a, Unresolved)), None)
    if doubt is not None:
        return doubt
    if all(_same(a, answers[0]) for a in answers[1:]):
        return answers[0]
    return Unresolved(f"{value.why}: the branches differ")


def _norm(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def _lookup(value: Any, key: str) -> Any:
    # Terraform blocks are lists of one object in JSON: a path goes through them.
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]
    if not isinstance(value, dict):
        return MISSING
    wanted = _norm(key)
    for candidate, item in value.items():
        if _norm(candidate) == wanted:
            return item
    return MISSING


def computed(value: Any) -> bool:
    """A value the formats compute at deployment: an intrinsic function, an interpolation, a secret."""
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        return key == "Ref" or key.startswith("Fn::")
    if isinstance(value, dict):
        return "4dabf18193072939515e22adb298388d" in value  # a Pulumi secret (or archive, asset)
    return isinstance(value, str) and ("${" in value or value == "04da6b54-80e4-46f7-96ec-b56ff0331ba9")


def _as_is(value: Any) -> Any:
    return value


def get_path(value: Any, path: str, expand: Callable[[Any], Any] = _as_is) -> Any:
    """``value`` at the dotted ``path``, any key spelling; MISSING when a step is absent,
    Unresolved when a step is computed. ``expand`` is the format's evaluation of a value it can
    settle (a condition into a Choice of its branches, a parameter into its default)."""
    return _walk(value, path.split("."), 0, expand)


def _walk(value: Any, keys: list[str], index: int, expand: Callable[[Any], Any]) -> Any:
    value = expand(value)
    if isinstance(value, Choice):
        return choice(value.why, [_walk(option, keys, index, expand) for option in value.options])
    if index == len(keys):
        return value
    if computed(value):
        return Unresolved(f"{'.'.join(keys[:index]) or 'the value'} is computed")
    value = _lookup(value, keys[index])
    if value is MISSING:
        return MISSING
    return _walk(value, keys, index + 1, expand)


def _present(value: Any) -> bool | Unresolved:
    if isinstance(value, Unresolved):
        return value
    if value is MISSING or value is None or value == "" or value == []:
        return False
    if isinstance(value, dict) and ("Fn::If" in value or "4dabf18193072939515e22adb298388d" in value):
        return Unresolved("set under a condition" if "Fn::If" in value else "a secret")
    if value == "04da6b54-80e4-46f7-96ec-b56ff0331ba9":
        return Unresolved("unknown until the update runs")
    return True


def present(value: Any) -> bool | Unresolved:
    """Whether a property is set to something (a reference counts; a secret may be nothing); under a
    condition, what every branch says."""
    return decide(value, _present)


@dataclass(eq=False)  # identity: resources refer to each other through the document
class Resource:
    address: str  # the format's own id: logical id, ``aws_x.name``, URN
    native_type: str  # AWS::Lambda::Function, aws_lambda_function, aws:lambda/function:Function
    properties: dict[str, Any]
    document: Document = field(repr=False)
    tags: dict[str, Any] | Unresolved = field(default_factory=dict)  # effective tags, defaults included
    display: str = ""  # what a reader recognizes (construct path, URN name)
    suppressions: dict[str, str] = field(default_factory=dict)  # rule id -> reason, written in the input

    @property
    def kind(self) -> Kind | None:
        return kind_of(self.document.format, self.native_type)

    def is_(self, *kinds: str) -> bool:
        return self.kind is not None and self.kind.id in kinds

    def get(self, *paths: str) -> Any:
        """The first of ``paths`` the resource sets, MISSING if none."""
        for path in paths:
            value = get_path(self.properties, path, self.document.expand)
            if value is not MISSING:
                return value
        return MISSING

    @property
    def name(self) -> str | Unresolved | None:
        """The physical name set in the document, None when the provider generates one."""
        kind = self.kind
        if kind is None:
            return None
        prop = kind.name_property(self.document.format)
        if prop is None:
            return None
        value = self.get(prop)
        if value is MISSING or value is None:
            return None
        return self.document.text(value)

    def label(self) -> str:
        """The address as the file has it (a URN's name part for Pulumi), with the physical name."""
        shown = self.display if self.document.format == "pulumi" and self.display else self.address
        name = self.name
        if isinstance(name, str) and name not in shown:
            return f"{shown} ({name})"
        return shown


@dataclass(eq=False)
class Document:
    """One stack: a CloudFormation template, a CDKTF stack, a Pulumi deployment."""

    format: str  # cloudformation | terraform | pulumi
    stack: str
    path: str
    environment: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    input_defaults: dict[str, Any] = field(default_factory=dict)  # parameter/variable -> default
    notes: list[str] = field(default_factory=list)  # what the loader could not read, and why
    unread: list[str] = field(default_factory=list)  # parts not read at all (judged by input-read)
    settings: dict[str, Any] = field(default_factory=dict)  # options of the run (required tags)
    resources: list[Resource] = field(default_factory=list)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()`` once per document (an index a rule needs): every lookup after is O(1), so a
        rule costs linear time in the resources, never a rescan per resource."""
        cache = self.__dict__.setdefault("_memo", {})
        stamp = len(self.resources)
        if key not in cache or cache[key][0] != stamp:
            cache[key] = (stamp, build())
        return cache[key][1]

    def of(self, *kinds: str) -> list[Resource]:
        """The resources of ``kinds``, in document order (from an index built once)."""
        index = self.memo("kinds", self._kind_index)
        if len(kinds) == 1:
            return list(index.get(kinds[0], ()))
        found = [r for kind in kinds for r in index.get(kind, ())]
        if len({r.kind.id for r in found if r.kind}) > 1:
            order = self.memo("positions", lambda: {id(r): i for i, r in enumerate(self.resources)})
            found.sort(key=lambda r: order[id(r)])
        return found

    def _kind_index(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = {}
        for resource in self.resources:
            kind = resource.kind
            if kind is not None:
                index.setdefault(kind.id, []).append(resource)
        return index

    def by_address(self, address: str) -> Resource | None:
        return self.memo("addresses", lambda: {r.address: r for r in self.resources}).get(address)

    def expand(self, value: Any) -> Any:
        """A value the document settles itself (a condition's branches, a parameter's default)."""
        return value

    # Format-specific: what a property value refers to, and its value as text.
    def target(self, value: Any, *kinds: str) -> Resource | Unresolved | None:
        """The resource (of one of ``kinds``) ``value`` refers to; None if it names none here."""
        raise NotImplementedError

    def text(self, value: Any) -> str | Unresolved:
        """``value`` as a string; generated values as ``«address.attribute»`` placeholders."""
        raise NotImplementedError

    def scalar(self, value: Any) -> Any:
        """A literal value (number, bool, string, list, dict) or Unresolved."""
        raise NotImplementedError

    def is_reference(self, value: Any) -> bool:
        """Whether ``value`` is the format's reference to another value (never a literal)."""
        raise NotImplementedError

    def policy_statements(self, value: Any) -> list[dict[str, Any]] | Unresolved:
        """IAM-style statements of a policy document property."""
        raise NotImplementedError

    def known_identifiers(self, resource: Resource) -> set[str]:
        """Literal values that stand for ``resource`` besides its name (ids, ARNs in the document)."""
        return set()


_PART = r"(?:«[^»]*»|[^:«])"  # a placeholder («AWS::Partition») is one opaque piece, colons and all
ARN = re.compile(
    rf"^arn:{_PART}+:(?P<service>{_PART}+):(?P<region>{_PART}*):(?P<account>{_PART}*):(?P<resource>.+)$"
)


def arn_parts(value: str) -> dict[str, str] | None:
    match = ARN.match(value)
    return match.groupdict() if match else None


def truthy(value: Any) -> bool | Unresolved:
    """A boolean as the formats write it (true, "true", "True"); under a condition, what every branch says."""
    return decide(value, _truthy)


def _truthy(value: Any) -> bool | Unresolved:
    if isinstance(value, Unresolved):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, (int, float)):
        return bool(value)
    return Unresolved(f"not a boolean: {value!r}")


def as_list(value: Any) -> list[Any]:
    if value is MISSING or value is None:
        return []
    return value if isinstance(value, list) else [value]


def walk(value: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    """Every (path, leaf or container) pair under ``value``."""
    yield path, value
    if isinstance(value, Choice):
        for option in value.options:
            yield from walk(option, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
