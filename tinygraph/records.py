"""Validation of a saved graph's JSON description, before any node is built.

``parse_description`` checks every field's type and range, that ids are unique,
that every input names a node of the file, and that the nodes form no cycle; it
returns typed ``NodeRecord``s in a topological order (Kahn's algorithm, so a
100,000-node chain needs no recursion). All problems raise ``FormatError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._codec import CodecError, parse_dtype
from .errors import FormatError
from .text import lone_surrogate, printable

#: Most nodes a file may declare (the size limit of graph.json bounds it too).
MAX_NODES = 10_000_000
#: Largest rank a shape may have (numpy's own limit).
MAX_NDIM = 64
#: Largest size a dimension may declare.
MAX_DIM = 2**62
#: Most inputs one node may have (tinygraph's own ops take at most 2).
MAX_INPUTS = 4096
#: Deepest nesting of ``tg.scope`` blocks a node may record.
MAX_SCOPE_DEPTH = 256
#: Longest name (of a node, a scope or an op) a file may hold, in characters.
MAX_NAME_CHARS = 4096

_REQUIRED = {"id", "op", "name", "inputs", "shape", "dtype", "weak", "scope"}
_OPTIONAL = {"attributes", "array", "value", "numbered"}
_TOP_REQUIRED = {"format", "version", "nodes", "outputs"}
_TOP_OPTIONAL = {"producer"}


@dataclass(slots=True)
class NodeRecord:
    """One node as the file describes it, with every field checked for type and range."""

    id: int
    op: str
    name: str | None
    inputs: tuple[int, ...]
    shape: tuple[int | None, ...]
    dtype: np.dtype[Any]
    weak: bool
    scope: tuple[str, ...]
    attributes: dict[str, Any]
    array: str | None
    has_value: bool
    value: Any
    numbered: bool


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _keys(obj: dict[str, Any], required: set[str], optional: set[str], where: str) -> None:
    missing = required - obj.keys()
    if missing:
        raise FormatError(f"{where} lacks {', '.join(sorted(missing))}")
    unknown = obj.keys() - required - optional
    if unknown:
        raise FormatError(f"{where} has unknown field(s) {', '.join(printable(k) for k in sorted(unknown))}")


def _bad_text(text: str) -> str | None:
    """Why ``text`` (a name, scope or op) can't be used, or ``None``."""
    if len(text) > MAX_NAME_CHARS:
        return f"is {len(text)} characters long, over the limit of {MAX_NAME_CHARS}"
    bad = lone_surrogate(text)
    if bad is not None:
        return f"holds a lone surrogate ({bad}), which can't be written back as UTF-8"
    return None


def parse_description(data: Any, source: str, max_nodes: int = MAX_NODES,
                      arity: Callable[[str], int | None] | None = None) -> tuple[list[NodeRecord], list[int]]:
    """Check ``graph.json``'s content: ``(records in topological order, output ids)``.

    ``arity(op)`` gives how many inputs an op takes (``None``: any number), checked per node.
    """
    if not isinstance(data, dict) or data.get("format") != "tinygraph":
        raise FormatError(f"{source} is not a tinygraph file: graph.json is not a tinygraph description")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"{source}: invalid format version {version!r}")
    if version > 1:
        raise FormatError(
            f"{source} was written in tinygraph file format version {version}, newer than this tinygraph "
            f"reads (version 1): upgrade tinygraph to load it"
        )
    _keys(data, _TOP_REQUIRED, _TOP_OPTIONAL, f"{source}: graph.json")
    nodes, outputs = data["nodes"], data["outputs"]
    if not isinstance(nodes, list) or not nodes:
        raise FormatError(f"{source}: 'nodes' must be a non-empty list")
    if len(nodes) > min(max_nodes, MAX_NODES):
        raise FormatError(f"{source}: {len(nodes)} nodes, over the limit of {min(max_nodes, MAX_NODES)}")
    scopes: dict[int, tuple[str, ...]] = {}  # by id of the (shared) list: one tuple per distinct scope
    records = [_parse_node(n, k, source, arity, scopes) for k, n in enumerate(nodes)]
    position: dict[int, int] = {}
    for k, rec in enumerate(records):
        if position.setdefault(rec.id, k) != k:
            raise FormatError(f"{source}: two nodes have id {rec.id} (entries {position[rec.id]} and {k})")
    if not isinstance(outputs, list) or not outputs or not all(_is_int(o) for o in outputs):
        raise FormatError(f"{source}: 'outputs' must be a non-empty list of node ids")
    for o in outputs:
        if o not in position:
            raise FormatError(f"{source}: output {o} is not the id of a node in the file")
    return _topological(records, position, source), outputs


def _parse_node(n: Any, k: int, source: str, arity: Callable[[str], int | None] | None,
                scopes: dict[int, tuple[str, ...]]) -> NodeRecord:
    where = f"{source}: nodes[{k}]"
    if not isinstance(n, dict):
        raise FormatError(f"{where} is a {type(n).__name__}, not an object")
    _keys(n, _REQUIRED, _OPTIONAL, where)
    if not _is_int(n["id"]):
        raise FormatError(f"{where}: id must be an int, got {n['id']!r:.40}")
    where = f"{source}: node {n['id']}"
    op, name, inputs, shape, scope = n["op"], n["name"], n["inputs"], n["shape"], n["scope"]
    if not isinstance(op, str) or not op or not op.isprintable() or len(op) > MAX_NAME_CHARS:
        raise FormatError(f"{where}: op must be a non-empty string (a printable registry name), got {op!r:.40}")
    where = f"{where} ({op})"
    if name is not None and (not isinstance(name, str) or not name):
        raise FormatError(f"{where}: name must be a non-empty string or null, got {name!r:.40}")
    why = None if name is None else _bad_text(name)
    if why is not None:
        raise FormatError(f"{where}: its name {name!r:.40} {why}")
    if not isinstance(inputs, list) or not all(_is_int(i) for i in inputs):
        raise FormatError(f"{where}: inputs must be a list of node ids, got {inputs!r:.60}")
    if len(inputs) > MAX_INPUTS:
        raise FormatError(f"{where}: {len(inputs)} inputs, over the limit of {MAX_INPUTS} per node")
    takes = None if arity is None else arity(op)
    if takes is not None and len(inputs) != takes:
        # Here, not when building: before millions of input references are sorted and stored.
        raise FormatError(f"{where} has {len(inputs)} input(s); the op takes {takes}")
    if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(
        d is None or (_is_int(d) and 0 <= d <= MAX_DIM) for d in shape
    ):
        raise FormatError(
            f"{where}: shape must be a list of at most {MAX_NDIM} sizes (ints in 0..2**62, or null), "
            f"got {shape!r:.60}"
        )
    try:
        dtype = parse_dtype(n["dtype"])
    except CodecError as e:
        raise FormatError(f"{where}: {e}") from None
    if not isinstance(n["weak"], bool):
        raise FormatError(f"{where}: weak must be true or false")
    if not isinstance(scope, list) or not all(isinstance(s, str) and s for s in scope):
        raise FormatError(f"{where}: scope must be a list of non-empty strings, got {scope!r:.60}")
    if len(scope) > MAX_SCOPE_DEPTH:
        raise FormatError(f"{where}: scope is {len(scope)} deep, over the limit of {MAX_SCOPE_DEPTH}")
    for s in scope:
        why = _bad_text(s)
        if why is not None:
            raise FormatError(f"{where}: scope name {s!r:.40} {why}")
    attributes = n.get("attributes", {})
    if not isinstance(attributes, dict):
        raise FormatError(f"{where}: attributes must be an object")
    array = n.get("array")
    if array is not None and not isinstance(array, str):
        raise FormatError(f"{where}: array must be a string key")
    numbered = n.get("numbered", name is None)
    if not isinstance(numbered, bool) or (name is None and not numbered):
        raise FormatError(f"{where}: numbered must be true or false (true for a node without a name)")
    scope_tuple = scopes.get(id(scope))
    if scope_tuple is None:
        scope_tuple = scopes[id(scope)] = tuple(scope)
    return NodeRecord(n["id"], op, name, tuple(inputs), tuple(shape), dtype, n["weak"], scope_tuple,
                      attributes, array, "value" in n, n.get("value"), numbered)


def _topological(records: list[NodeRecord], position: dict[int, int], source: str) -> list[NodeRecord]:
    pending = [len(rec.inputs) for rec in records]  # inputs not yet placed, repeats counted
    users: list[list[int]] = [[] for _ in records]
    for k, rec in enumerate(records):
        for i in rec.inputs:
            j = position.get(i)
            if j is None:
                raise FormatError(f"{source}: node {rec.id} ({rec.op}) names input {i}, which is not in the file")
            users[j].append(k)
    ready = [k for k, p in enumerate(pending) if p == 0]
    order: list[int] = []
    while ready:
        k = ready.pop()
        order.append(k)
        for u in users[k]:
            pending[u] -= 1
            if pending[u] == 0:
                ready.append(u)
    if len(order) < len(records):
        raise FormatError(f"{source}: the nodes form a cycle: {_find_cycle(records, position, pending)}")
    return [records[k] for k in order]


def _find_cycle(records: list[NodeRecord], position: dict[int, int], pending: list[int]) -> str:
    # Every unplaced node has an unplaced input, so following those inputs must come back round.
    k = next(k for k, p in enumerate(pending) if p > 0)
    seen: dict[int, int] = {}
    path: list[int] = []
    while k not in seen:
        seen[k] = len(path)
        path.append(k)
        k = next(position[i] for i in records[k].inputs if pending[position[i]] > 0)
    cycle = [*path[seen[k]:], k]
    return " <- ".join(str(records[j].id) for j in cycle) + " (each node is an input of the one before it)"
