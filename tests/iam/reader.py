"""The AWS calls a Lambda function's code makes, read from its source, each with what its
parameters can be.

A small flow-insensitive value analysis over the function's own modules and what they import
from ``lambda_src/common`` (module-level code included, so a client a common module creates at
import counts). An expression's possible values are followed through assignments, function
parameters (every call site of the function in that code, closures too), dataclass fields
(``deps.table`` is what ``Dependencies(table=...)`` was given), class methods
(``Settings.from_env(os.environ)``), returns and ``**kwargs`` dicts, down to:

- ``Env(name)``: ``os.environ["NAME"]``, ``os.environ.get("NAME")``, ``env["NAME"]`` where ``env``
  is ``os.environ`` passed along;
- ``Const(value)`` and ``Text(parts)`` (f-strings and ``+``; an unknown part stays unknown);
- ``Event(path)``: what the runtime passes in (a parameter no code calls with: the handler's
  ``event``, Powertools' ``record``), resolved later from what invokes the function;
- clients (``boto3.client("sqs")``, ``boto3.client(service_name="sqs", region_name=...)``), boto3
  resources and their sub-resources (``boto3.resource("dynamodb").Table(name)``,
  ``s3.Object(bucket, key)``, ``s3.Bucket(b).Object(k)``): a call of an operation on a client, or
  of an action on a resource (boto3's own resource model says which operation and parameters),
  is an ``ApiCall``.

What is not followed is ``Unknown``; whoever needs the value (the resource a call names) says so.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_SRC = ROOT / "lambda_src"
COMMON = "common"
# boto3 helpers that are not operations of the model but make one.
HELPERS: dict[tuple[str, str], str] = {
    ("dynamodb", "batch_writer"): "BatchWriteItem",
    ("s3", "upload_file"): "PutObject",
    ("s3", "upload_fileobj"): "PutObject",
    ("s3", "download_file"): "GetObject",
    ("s3", "download_fileobj"): "GetObject",
}
RESOURCE_HELPERS: dict[tuple[str, str, str], str] = {
    ("dynamodb", "Table", "batch_writer"): "BatchWriteItem",
    ("s3", "Object", "upload_file"): "PutObject",
    ("s3", "Object", "upload_fileobj"): "PutObject",
    ("s3", "Object", "download_file"): "GetObject",
    ("s3", "Object", "download_fileobj"): "GetObject",
    ("s3", "Bucket", "upload_file"): "PutObject",
    ("s3", "Bucket", "download_file"): "GetObject",
}


# --- abstract values -------------------------------------------------------------------------
class Value:
    """Something an expression may evaluate to."""


@dataclass(frozen=True)
class Unknown(Value):
    why: str = ""


@dataclass(frozen=True)
class Const(Value):
    value: Any


@dataclass(frozen=True)
class Env(Value):
    name: str
    default: Any = None


@dataclass(frozen=True)
class Event(Value):
    path: str


@dataclass(frozen=True)
class Text(Value):
    """A string made of parts: literal text, or a frozenset of Values."""

    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Derived(Value):
    """Computed from ``sources`` (a method of a string, ``int(...)``): keeps where it came from."""

    sources: frozenset[Value]


@dataclass(frozen=True)
class EnvMap(Value):
    pass


@dataclass(frozen=True)
class Module(Value):
    name: str


@dataclass(frozen=True)
class BotoFactory(Value):
    kind: str  # client | resource


@dataclass(frozen=True)
class Client(Value):
    service: str
    region: frozenset[Value] = frozenset()


@dataclass(frozen=True)
class ServiceResource(Value):
    service: str
    region: frozenset[Value] = frozenset()


@dataclass(frozen=True)
class SubResource(Value):
    service: str
    type: str
    identifiers: tuple[tuple[str, frozenset[Value]], ...]
    region: frozenset[Value] = frozenset()


@dataclass(frozen=True)
class Attr(Value):
    """``owner.name`` not called yet: a client's operation, a resource's action or relation."""

    owner: Value
    name: str


@dataclass(frozen=True)
class Paginator(Value):
    client: Client
    operation: str


@dataclass(frozen=True, eq=False)
class Function(Value):
    node: ast.AST  # FunctionDef, AsyncFunctionDef or Lambda
    bound: Value | None = None  # self or cls, for a method looked up on an instance or class

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Function) and other.node is self.node and other.bound == self.bound

    def __hash__(self) -> int:
        return hash((id(self.node), self.bound))


@dataclass(frozen=True, eq=False)
class Class(Value):
    node: ast.ClassDef

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Class) and other.node is self.node

    def __hash__(self) -> int:
        return id(self.node)


@dataclass(frozen=True, eq=False)
class Instance(Value):
    cls: ast.ClassDef
    call: ast.Call  # the construction: its arguments are the fields

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instance) and other.call is self.call

    def __hash__(self) -> int:
        return id(self.call)


@dataclass(frozen=True, eq=False)
class Container(Value):
    """A dict or tuple literal, a ``dict(...)`` call, or a name assigned ``name[key] = ...``."""

    node: ast.AST

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Container) and other.node is self.node

    def __hash__(self) -> int:
        return id(self.node)


@dataclass(frozen=True)
class ApiCall:
    """One call site of an AWS operation, in botocore's names."""

    service: str  # botocore's service name (``s3``, ``monitoring``? no: ``cloudwatch``)
    operation: str  # PascalCase, ``PutObject``
    params: dict[str, frozenset[Value]] = field(hash=False, compare=False)
    region: frozenset[Value] = field(default=frozenset(), hash=False, compare=False)
    where: str = ""  # path:line

    def param(self, name: str) -> frozenset[Value]:
        return self.params.get(name, frozenset())


def _merged(one: ApiCall, other: ApiCall) -> ApiCall:
    """The same call site read through two owners: what either may send."""
    params = {name: one.param(name) | other.param(name) for name in {*one.params, *other.params}}
    return ApiCall(one.service, one.operation, params, one.region | other.region, one.where)


# --- the code --------------------------------------------------------------------------------
@dataclass
class _Module:
    name: str
    path: Path
    tree: ast.Module
    parents: dict[ast.AST, ast.AST]


def _is_scope(node: ast.AST) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module))


@cache
def _operations(service: str) -> dict[str, str]:
    """snake_case -> OperationName of a botocore service."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@cache
def _resource_model(service: str) -> dict[str, Any] | None:
    if service not in boto3.session.Session().get_available_resources():
        return None
    return boto3.session.Session()._loader.load_service_model(service, "resources-1")


def _literal(values: Iterable[Value]) -> list[str]:
    return [v.value for v in values if isinstance(v, Const) and isinstance(v.value, str)]


@cache
def _parsed(path: Path, source: str) -> tuple[ast.Module, dict[ast.AST, ast.AST]]:
    """A module's tree and each node's parent, parsed once a process for every Program that loads
    it (lambda_src/common's modules are loaded by most functions; nothing changes a tree)."""
    tree = ast.parse(source, filename=str(path))
    return tree, {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _names_bound(node: ast.AST) -> set[str]:
    """Every name ``node`` may bind, for ``Program._find_bindings`` (a superset: it decides)."""
    if isinstance(node, ast.Global):
        return set(node.names)
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = set()
        for target in targets:
            elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
            names.update(e.id for e in elements if isinstance(e, ast.Name))
        return names
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
        return {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return {n.id for n in ast.walk(node.optional_vars) if isinstance(n, ast.Name)}
    if isinstance(node, ast.ExceptHandler) and node.name:
        return {node.name}
    if isinstance(node, ast.NamedExpr):
        return {node.target.id}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return set()


class Program:
    """The code a function runs: its own modules, and what they import from lambda_src/common."""

    def __init__(self, function_dir: Path, search: Path = LAMBDA_SRC) -> None:
        self.search = search
        self.modules: dict[str, _Module] = {}
        for path in sorted(Path(function_dir).glob("*.py")):
            self._load(path.stem, path, own=True)
        self._memo: dict[int, frozenset[Value]] = {}
        self._previous: dict[int, frozenset[Value]] = {}
        self._busy: set[int] = set()
        # Read from the code alone (the same in every round): each scope walked once, each name
        # looked up once per scope (a walk per lookup was most of tests/pulumi_trading_dr's time).
        self._own: dict[int, tuple[ast.AST, ...]] = {}
        self._bound: dict[tuple[int, str], list[tuple[str, Any]] | None] = {}
        self._globals: dict[int, list[ast.Global]] = {}
        self._binder_index: dict[int, dict[str, list[ast.AST]]] = {}
        self.code = self._reachable()
        self._node_ids = {id(n) for n in self.code}
        self._calls = [n for n in self.code if isinstance(n, ast.Call)]

    # loading
    def _load(self, name: str, path: Path, own: bool = False) -> _Module | None:
        if name in self.modules:
            return self.modules[name]
        tree, parents = _parsed(path, path.read_text())
        module = self.modules[name] = _Module(name, path, tree, parents)
        module.own = own  # type: ignore[attr-defined]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                self._import(node.module)
                for alias in node.names:  # from common import fraud: a module
                    self._import(f"{node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self._import(alias.name)
        return module

    def _import(self, dotted: str) -> None:
        if dotted.split(".")[0] != COMMON:
            return
        relative = Path(*dotted.split("."))
        for candidate in (self.search / relative.with_suffix(".py"), self.search / relative / "__init__.py"):
            if candidate.is_file():
                self._load(dotted, candidate)
                return

    def module_of(self, node: ast.AST) -> _Module:
        for module in self.modules.values():
            if node is module.tree or node in module.parents:
                return module
        raise KeyError(node)

    def scope_of(self, node: ast.AST) -> ast.AST:
        parents = self.module_of(node).parents
        current = parents.get(node)
        while current is not None and not _is_scope(current):
            current = parents.get(current)
        return current if current is not None else self.module_of(node).tree

    def where(self, node: ast.AST) -> str:
        path = self.module_of(node).path
        return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{node.lineno}"

    def _reachable(self) -> list[ast.AST]:
        """Every node of the function's own modules; of a common module, its module-level code and
        the definitions the reachable code names (transitively, by name: a superset)."""
        definitions: dict[str, list[ast.AST]] = {}
        for module in self.modules.values():
            if not module.own:  # type: ignore[attr-defined]
                for s in module.tree.body:
                    if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        definitions.setdefault(s.name, []).append(s)
        nodes: list[ast.AST] = []
        seen: set[int] = set()
        todo: list[ast.AST] = []
        for module in self.modules.values():
            if module.own:  # type: ignore[attr-defined]
                todo.append(module.tree)
            else:
                todo.extend(
                    s
                    for s in module.tree.body
                    if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                )
        while todo:
            root = todo.pop()
            if id(root) in seen:
                continue
            seen.add(id(root))
            for node in ast.walk(root):
                nodes.append(node)
                name = (
                    node.id
                    if isinstance(node, ast.Name)
                    else node.attr
                    if isinstance(node, ast.Attribute)
                    else None
                )
                if name is None and isinstance(node, ast.alias):
                    name = node.name
                todo.extend(definitions.get(name, ()))
        return nodes

    # names
    def _bindings(self, scope: ast.AST, name: str) -> list[tuple[str, Any]] | None:
        """How ``name`` is bound in ``scope`` (None when it is not bound there)."""
        key = (id(scope), name)
        if key not in self._bound:
            self._bound[key] = self._find_bindings(scope, name)
        return self._bound[key]

    def _find_bindings(self, scope: ast.AST, name: str) -> list[tuple[str, Any]] | None:
        found: list[tuple[str, Any]] = []
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = scope.args
            params = [*arguments.posonlyargs, *arguments.args]
            for index, arg in enumerate(params):
                if arg.arg == name:
                    found.append(("param", (scope, index, name)))
            for arg in (*arguments.kwonlyargs, arguments.vararg, arguments.kwarg):
                if arg is not None and arg.arg == name:
                    found.append(("param", (scope, None, name)))
        module_scope = isinstance(scope, ast.Module)
        for node in self._binders(scope).get(name, ()):
            if isinstance(node, ast.Global) and name in node.names and not module_scope:
                return None  # the module's name
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    found.extend(self._target(target, node.value, name))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                if isinstance(node.target, ast.Name) and node.target.id == name:
                    found.append(("element", node.iter))  # for record in event["Records"]
                elif any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.target)):
                    found.append(("unknown", f"loop variable {name}"))
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.optional_vars)):
                    found.append(("unknown", f"with ... as {name}"))
            elif isinstance(node, ast.ExceptHandler) and node.name == name:
                found.append(("unknown", "an exception"))
            elif isinstance(node, ast.NamedExpr) and node.target.id == name:
                found.append(("expr", node.value))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found.append(("value", Function(node)))
            elif isinstance(node, ast.ClassDef) and node.name == name:
                found.append(("value", Class(node)))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if (alias.asname or alias.name.split(".")[0]) != name:
                        continue
                    if isinstance(node, ast.Import):
                        found.append(("value", Module(alias.name if alias.asname else name)))
                    else:
                        found.append(("import", (node.module or "", alias.name)))
        if module_scope:  # assignments inside functions that declare the name global
            if id(scope) not in self._globals:
                self._globals[id(scope)] = [n for n in ast.walk(scope) if isinstance(n, ast.Global)]
            for node in self._globals[id(scope)]:
                if name in node.names:
                    function = self.scope_of(node)
                    for inner in self._own_nodes(function):
                        if isinstance(inner, (ast.Assign, ast.AnnAssign)):
                            targets = inner.targets if isinstance(inner, ast.Assign) else [inner.target]
                            for target in targets:
                                found.extend(self._target(target, inner.value, name))
        return found or None

    def _binders(self, scope: ast.AST) -> dict[str, list[ast.AST]]:
        """The nodes of ``scope`` (outside nested scopes) that may bind each name, read in one walk:
        ``_find_bindings`` then reads a name's few candidates, not every node of the scope."""
        if id(scope) not in self._binder_index:
            index: dict[str, list[ast.AST]] = {}
            for node in self._own_nodes(scope):
                for name in _names_bound(node):
                    index.setdefault(name, []).append(node)
            self._binder_index[id(scope)] = index
        return self._binder_index[id(scope)]

    def _own_nodes(self, scope: ast.AST) -> tuple[ast.AST, ...]:
        """The nodes of ``scope`` outside nested scopes (nested defs themselves included)."""
        if id(scope) not in self._own:
            self._own[id(scope)] = tuple(self._walk_own(scope))
        return self._own[id(scope)]

    def _walk_own(self, scope: ast.AST) -> Iterator[ast.AST]:
        todo = list(ast.iter_child_nodes(scope))
        while todo:
            node = todo.pop()
            yield node
            if not _is_scope(node):
                todo.extend(ast.iter_child_nodes(node))

    def _target(self, target: ast.AST, value: ast.AST | None, name: str) -> list[tuple[str, Any]]:
        if isinstance(target, ast.Name) and target.id == name:
            return [("expr", value)] if value is not None else []
        if isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                if isinstance(element, ast.Name) and element.id == name:
                    return [("item", (value, index))]
        return []

    def _lookup(self, name: str, scope: ast.AST) -> frozenset[Value]:
        current: ast.AST | None = scope
        module = self.module_of(scope)
        while current is not None:
            if isinstance(current, ast.ClassDef):  # class bodies do not enclose their methods
                current = self.scope_of(current)
                continue
            bindings = self._bindings(current, name)
            if (
                bindings is None
                and not isinstance(current, ast.Module)
                and self._declares_global(current, name)
            ):
                current = module.tree
                continue
            if bindings is not None:
                return frozenset().union(*(self._binding(kind, data, current) for kind, data in bindings))
            current = None if isinstance(current, ast.Module) else self.scope_of(current)
        return frozenset({Unknown(f"builtin or undefined {name}")})

    def _declares_global(self, scope: ast.AST, name: str) -> bool:
        return any(isinstance(n, ast.Global) for n in self._binders(scope).get(name, ()))

    def _binding(self, kind: str, data: Any, scope: ast.AST) -> frozenset[Value]:
        if kind == "value":
            return frozenset({data})
        if kind == "unknown":
            return frozenset({Unknown(data)})
        if kind == "expr":
            return self.values(data)
        if kind == "item":
            value, index = data
            return self._item(self.values(value), Const(index))
        if kind == "element":  # an element of what the loop iterates: of the event, part of it
            return frozenset(
                Event(f"{v.path}[?]")
                if isinstance(v, Event)
                else Derived(v.sources)
                if isinstance(v, Derived)
                else Unknown("an element of a loop")
                for v in self.values(data)
                if not isinstance(v, Const)  # None (``x if ... else None``): nothing to iterate
            )
        if kind == "import":
            module, name = data
            if module.split(".")[0] != COMMON:
                return frozenset({Unknown(f"{module}.{name}")})
            if f"{module}.{name}" in self.modules:
                return frozenset({Module(f"{module}.{name}")})
            if module in self.modules:
                return self._module_attr(module, name)
            return frozenset({Unknown(f"{module}.{name}")})
        if kind == "param":
            return self._param(*data)
        raise AssertionError(kind)

    def _module_attr(self, module: str, name: str) -> frozenset[Value]:
        if module == "boto3" and name in ("client", "resource"):
            return frozenset({BotoFactory(name)})
        if module == "os" and name == "environ":
            return frozenset({EnvMap()})
        if module in self.modules:
            return self._lookup(name, self.modules[module].tree)
        return frozenset({Unknown(f"{module}.{name}")})

    def _param(self, function: ast.AST, index: int | None, name: str) -> frozenset[Value]:
        """A parameter: what every call site of the function passes, or its default; a function
        that no code calls is called by the runtime (the handler, a record handler): Event."""
        found: set[Value] = set()
        callers = 0
        memo = self._memo  # values()'s own first step, inlined: this loop runs over every call
        for call in self._calls:
            known = memo.get(id(call.func))
            for callee in self.values(call.func) if known is None else known:
                if not isinstance(callee, Function) or callee.node is not function:
                    continue
                callers += 1
                position = index
                if callee.bound is not None and position is not None:
                    if position == 0:
                        found.add(callee.bound)
                        continue
                    position -= 1
                keyword = next((k for k in call.keywords if k.arg == name), None)
                if keyword is not None:
                    found |= self.values(keyword.value)
                elif position is not None and position < len(call.args):
                    if isinstance(call.args[position], ast.Starred):
                        found.add(Unknown("*args"))
                    else:
                        found |= self.values(call.args[position])
                elif any(k.arg is None for k in call.keywords):
                    for k in call.keywords:
                        if k.arg is None:
                            found |= self._item(self.values(k.value), Const(name))
                else:
                    found |= self._default(function, name)
        if callers == 0:
            method = isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and self._is_method(
                function
            )
            if method and index == 0:
                return frozenset({Unknown("self")})
            return frozenset({Event(name)})
        return frozenset(found)

    def _is_method(self, function: ast.AST) -> bool:
        return isinstance(self.module_of(function).parents.get(function), ast.ClassDef)

    def _default(self, function: ast.AST, name: str) -> frozenset[Value]:
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults = dict(
            zip(
                [a.arg for a in positional[len(positional) - len(arguments.defaults) :]],
                arguments.defaults,
                strict=True,
            )
        )
        defaults.update(
            {a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d}
        )
        if name in defaults:
            return self.values(defaults[name])
        return frozenset({Unknown(f"parameter {name} not passed")})

    # expressions
    def values(self, node: ast.AST) -> frozenset[Value]:
        """What ``node`` may evaluate to. A value met again while it is being computed (recursion)
        gives what the previous round found for it; ``api_calls`` repeats rounds until nothing
        changes (a fixpoint: the sets only grow)."""
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return self._previous.get(key, frozenset())
        self._busy.add(key)
        try:
            result = frozenset(self._values(node)) | self._previous.get(key, frozenset())
        finally:
            self._busy.discard(key)
        self._memo[key] = result
        return result

    def _values(self, node: ast.AST) -> set[Value]:
        scope = self.scope_of(node)
        if isinstance(node, ast.Constant):
            return {Const(node.value)}
        if isinstance(node, ast.Name):
            return set(self._lookup(node.id, scope))
        if isinstance(node, ast.Attribute):
            return {v for owner in self.values(node.value) for v in self._attribute(owner, node.attr)}
        if isinstance(node, ast.Subscript):
            return set(self._item(self.values(node.value), *self._slice(node.slice)))
        if isinstance(node, ast.Call):
            return {v for callee in self.values(node.func) for v in self._call(callee, node)}
        if isinstance(node, ast.JoinedStr):
            parts = tuple(
                p.value if isinstance(p, ast.Constant) else self.values(p.value) for p in node.values
            )
            return {Text(parts)}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.values(node.left), self.values(node.right)
            if any(isinstance(v, (Const, Text, Env, Event, Derived)) for v in left | right):
                return {Text((left, right))}
            return {Unknown("a sum")}
        if isinstance(node, (ast.Dict, ast.Tuple, ast.List)):
            return {Container(node)}
        if isinstance(node, ast.IfExp):
            return set(self.values(node.body) | self.values(node.orelse))
        if isinstance(node, ast.BoolOp):
            return set().union(*(self.values(v) for v in node.values))
        if isinstance(node, ast.Lambda):
            return {Function(node)}
        if isinstance(node, ast.NamedExpr):
            return set(self.values(node.value))
        return {Unknown(type(node).__name__)}

    def _slice(self, node: ast.AST) -> tuple[Value, ...]:
        values = self.values(node)
        return tuple(values) if values else (Unknown("index"),)

    def _item(self, owners: Iterable[Value], *keys: Value) -> frozenset[Value]:
        found: set[Value] = set()
        for owner in owners:
            for key in keys:
                found |= self._item_of(owner, key)
        return frozenset(found)

    def _item_of(self, owner: Value, key: Value) -> set[Value]:
        text = key.value if isinstance(key, Const) else None
        if isinstance(owner, EnvMap):
            return {Env(text)} if isinstance(text, str) else {Unknown("os.environ[?]")}
        if isinstance(owner, Event):
            return {Event(f"{owner.path}.{text}" if text is not None else f"{owner.path}[?]")}
        if isinstance(owner, Container):
            return self._container_item(owner.node, text)
        if isinstance(owner, Derived):
            return {Derived(owner.sources)}
        if isinstance(owner, (Env, Text)):
            return {Derived(frozenset({owner}))}
        return {Unknown(f"an item of {type(owner).__name__}")}

    def _container_item(self, node: ast.AST, key: Any) -> set[Value]:
        found: set[Value] = set()
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if k is None:  # {**other}
                    found |= self._item(self.values(v), Const(key))
                elif isinstance(k, ast.Constant) and k.value == key:
                    found |= self.values(v)
        elif isinstance(node, (ast.Tuple, ast.List)) and isinstance(key, int) and key < len(node.elts):
            found |= self.values(node.elts[key])
        elif isinstance(node, ast.Call):  # dict(a=...)
            for k in node.keywords:
                if k.arg == key:
                    found |= self.values(k.value)
        # ``name[key] = value`` after the literal
        name = self._assigned_name(node)
        if name is not None:
            scope = self.scope_of(node)
            for inner in self._own_nodes(scope):
                if isinstance(inner, ast.Assign):
                    for target in inner.targets:
                        if (
                            isinstance(target, ast.Subscript)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == name
                            and isinstance(target.slice, ast.Constant)
                            and target.slice.value == key
                        ):
                            found |= self.values(inner.value)
        return found

    def _container_keys(self, node: ast.AST) -> dict[str, set[Value]]:
        keys: dict[str, set[Value]] = {}
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    keys.setdefault(k.value, set()).update(self.values(v))
        elif isinstance(node, ast.Call):
            for k in node.keywords:
                if k.arg:
                    keys.setdefault(k.arg, set()).update(self.values(k.value))
        name = self._assigned_name(node)
        if name is not None:
            for inner in self._own_nodes(self.scope_of(node)):
                if isinstance(inner, ast.Assign):
                    for target in inner.targets:
                        if (
                            isinstance(target, ast.Subscript)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == name
                            and isinstance(target.slice, ast.Constant)
                        ):
                            keys.setdefault(target.slice.value, set()).update(self.values(inner.value))
        return keys

    def _assigned_name(self, node: ast.AST) -> str | None:
        parent = self.module_of(node).parents.get(node)
        if isinstance(parent, ast.AnnAssign) and isinstance(parent.target, ast.Name):
            return parent.target.id
        if (
            isinstance(parent, ast.Assign)
            and len(parent.targets) == 1
            and isinstance(parent.targets[0], ast.Name)
        ):
            return parent.targets[0].id
        return None

    def _attribute(self, owner: Value, name: str) -> set[Value]:
        if owner == Const(None):  # ``_deps = None`` until first use: None has no attributes to follow
            return set()
        if isinstance(owner, Module):
            if owner.name == "os" and name == "environ":
                return {EnvMap()}
            if owner.name == "boto3" and name in ("client", "resource"):
                return {BotoFactory(name)}
            if owner.name in self.modules:
                return set(self._module_attr(owner.name, name))
            return {Unknown(f"{owner.name}.{name}")}
        if isinstance(owner, EnvMap):
            return {Attr(owner, name)}
        if isinstance(owner, Instance):
            return self._field(owner, name)
        if isinstance(owner, Class):
            method = self._method(owner.node, name)
            if method is not None:
                return {Function(method, owner if self._is_classmethod(method) else None)}
            return {Unknown(f"{owner.node.name}.{name}")}
        if isinstance(owner, Event):
            return {Event(f"{owner.path}.{name}")}
        if isinstance(owner, (Client, ServiceResource, SubResource, Paginator)):
            return {Attr(owner, name)}
        if isinstance(owner, (Env, Text, Derived)):
            return {Attr(Derived(frozenset({owner})), name)}
        return {Unknown(f"{type(owner).__name__}.{name}")}

    def _method(self, cls: ast.ClassDef, name: str) -> ast.AST | None:
        for node in cls.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return node
        return None

    def _is_classmethod(self, node: ast.AST) -> bool:
        return any(isinstance(d, ast.Name) and d.id == "classmethod" for d in node.decorator_list)

    def _field(self, instance: Instance, name: str) -> set[Value]:
        method = self._method(instance.cls, name)
        if method is not None:
            if any(isinstance(d, ast.Name) and d.id == "property" for d in method.decorator_list):
                return self._returns(Function(method, instance))
            return {Function(method, instance)}
        fields = [
            s.target.id
            for s in instance.cls.body
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
        ]
        call = instance.call
        for keyword in call.keywords:
            if keyword.arg == name:
                return set(self.values(keyword.value))
        if name in fields and fields.index(name) < len(call.args):
            return set(self.values(call.args[fields.index(name)]))
        for s in instance.cls.body:
            named = isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.target.id == name
            if named and s.value is not None:
                return set(self.values(s.value))
        return {Unknown(f"field {name}")}

    def _returns(self, function: Function) -> set[Value]:
        node = function.node
        if isinstance(node, ast.Lambda):
            return set(self.values(node.body))
        found: set[Value] = set()
        for inner in self._own_nodes(node):
            if isinstance(inner, ast.Return) and inner.value is not None:
                found |= self.values(inner.value)
        return found or {Const(None)}

    def _call(self, callee: Value, call: ast.Call) -> set[Value]:
        if isinstance(callee, BotoFactory):
            service = self._argument(call, 0, "service_name")
            region = self._argument(call, 1, "region_name")
            names = _literal(service)
            if not names:
                return {Unknown(f"boto3.{callee.kind} of an unknown service")}
            made = Client if callee.kind == "client" else ServiceResource
            return {made(name, frozenset(region)) for name in names}
        if isinstance(callee, Attr):
            return self._attr_call(callee, call)
        if isinstance(callee, Function):
            return self._returns(callee)
        if isinstance(callee, Event) and callee.path.endswith(".get"):  # event.get("Records")
            keys = _literal(self._argument(call, 0, "key"))
            if len(keys) == 1:
                return {Event(f"{callee.path.removesuffix('.get')}.{keys[0]}")}
        if isinstance(callee, Event):  # a method of something the runtime passed in
            return {Derived(frozenset({callee}))}
        if isinstance(callee, Class):
            return {Instance(callee.node, call)}
        if isinstance(callee, Unknown) and callee.why == "builtin or undefined dict":
            return {Container(call)}
        if isinstance(callee, Unknown) and callee.why.startswith("builtin or undefined "):
            args = frozenset().union(*(self.values(a) for a in call.args)) if call.args else frozenset()
            if args and all(isinstance(a, (Env, Const, Text, Derived, Event)) for a in args):
                return {Derived(args)}
        return {Unknown("a call's result")}

    def _argument(self, call: ast.Call, index: int, keyword: str) -> frozenset[Value]:
        for k in call.keywords:
            if k.arg == keyword:
                return self.values(k.value)
        if index < len(call.args):
            return self.values(call.args[index])
        return frozenset()

    def _attr_call(self, attr: Attr, call: ast.Call) -> set[Value]:
        owner, name = attr.owner, attr.name
        if isinstance(owner, EnvMap) and name == "get":
            keys = _literal(self._argument(call, 0, "key"))
            return {Env(k) for k in keys} or {Unknown("os.environ.get(?)")}
        if isinstance(owner, Client) and name == "get_paginator":
            operations = _operations(owner.service)
            return {
                Paginator(owner, operations[n])
                for n in _literal(self._argument(call, 0, "operation_name"))
                if n in operations
            }
        if isinstance(owner, ServiceResource):
            model = _resource_model(owner.service)
            if model and name in model.get("resources", {}):
                identifiers = [i["name"] for i in model["resources"][name].get("identifiers", [])]
                return {
                    SubResource(
                        owner.service,
                        name,
                        tuple((ident, self._argument(call, i, ident)) for i, ident in enumerate(identifiers)),
                        owner.region,
                    )
                }
        if isinstance(owner, SubResource):
            model = _resource_model(owner.service)
            has = (model or {}).get("resources", {}).get(owner.type, {}).get("has", {})
            if name in has:
                target = has[name]["resource"]
                parent = dict(owner.identifiers)
                identifiers, position = [], 0
                for ident in target.get("identifiers", []):
                    if ident.get("source") == "identifier":
                        identifiers.append((ident["target"], parent.get(ident["name"], frozenset())))
                    elif ident.get("source") == "input":
                        identifiers.append((ident["target"], self._argument(call, position, ident["target"])))
                        position += 1
                return {SubResource(owner.service, target["type"], tuple(identifiers), owner.region)}
        if isinstance(owner, Derived):
            return {Derived(owner.sources)}
        return {Unknown(f"result of {name}")}

    # the calls
    def api_calls(self) -> list[ApiCall]:
        for _ in range(10):  # rounds to a fixpoint (a handful here: the recursion is shallow)
            calls = self._api_calls()
            if self._memo == self._previous:
                return calls
            self._previous, self._memo = self._memo, {}
        raise AssertionError("the value analysis did not settle in 10 rounds")

    def _api_calls(self) -> list[ApiCall]:
        found: dict[tuple[str, str, str], ApiCall] = {}
        for call in self._calls:
            if not isinstance(call.func, ast.Attribute):
                continue
            for owner in self.values(call.func.value):
                for made in self._as_api_call(owner, call.func.attr, call):
                    key = (made.service, made.operation, made.where)
                    # One call site, several clients it may be made on (a client per region, say):
                    # every region and parameter any of them gives, never the first met (a set's
                    # order, which changes with the hash seed).
                    found[key] = _merged(found[key], made) if key in found else made
        return sorted(found.values(), key=lambda c: (c.where, c.service, c.operation))

    def _kwargs(self, call: ast.Call) -> dict[str, frozenset[Value]]:
        params: dict[str, set[Value]] = {}
        for keyword in call.keywords:
            if keyword.arg is not None:
                params.setdefault(keyword.arg, set()).update(self.values(keyword.value))
                continue
            for value in self.values(keyword.value):  # **kwargs
                if isinstance(value, Container):
                    for key, values in self._container_keys(value.node).items():
                        params.setdefault(key, set()).update(values)
        return {k: frozenset(v) for k, v in params.items()}

    def _as_api_call(self, owner: Value, name: str, call: ast.Call) -> list[ApiCall]:
        where = self.where(call)
        if isinstance(owner, Client):
            operations = _operations(owner.service)
            operation = operations.get(name) or HELPERS.get((owner.service, name))
            if operation:
                return [ApiCall(owner.service, operation, self._kwargs(call), owner.region, where)]
        if isinstance(owner, Paginator) and name == "paginate":
            return [
                ApiCall(owner.client.service, owner.operation, self._kwargs(call), owner.client.region, where)
            ]
        if isinstance(owner, SubResource):
            model = _resource_model(owner.service) or {}
            resource = model.get("resources", {}).get(owner.type, {})
            identifiers = dict(owner.identifiers)
            actions = {xform_name(a): a for a in resource.get("actions", {})}
            if name in ("load", "reload") and "load" in resource:
                request = resource["load"]["request"]
            elif name in actions:
                request = resource["actions"][actions[name]]["request"]
            elif (owner.service, owner.type, name) in RESOURCE_HELPERS:
                # boto3's own helpers on a resource: the operation, on the resource's identifiers
                operation = RESOURCE_HELPERS[(owner.service, owner.type, name)]
                targets = {"Name": "TableName", "BucketName": "Bucket", "Key": "Key"}
                request = {
                    "operation": operation,
                    "params": [
                        {"target": targets[i], "source": "identifier", "name": i}
                        for i in identifiers
                        if i in targets
                    ],
                }
            else:
                return []
            params = self._kwargs(call)
            for param in request.get("params", []):
                if param.get("source") == "identifier":
                    params[param["target"]] = identifiers.get(param["name"], frozenset())
            return [ApiCall(owner.service, request["operation"], params, owner.region, where)]
        return []


def api_calls(function_dir: Path, search: Path = LAMBDA_SRC) -> list[ApiCall]:
    """Every AWS operation the function's code can call, with its parameters' possible values;
    ``common`` is looked up under ``search``."""
    return Program(function_dir, search).api_calls()


def combinations(values: Iterable[frozenset[Value]]) -> Iterator[tuple[Value, ...]]:
    return itertools.product(*values)
