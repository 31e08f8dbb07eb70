"""The operation-graph diagram: one box per node, one arrow per operand, clusters per layer.

Node ids come from the graph's topological order (``n0``, ``n1``, ...), clusters
and collapsed boxes from the order in which they are first met, so the same
graph always gives byte-identical DOT source. Every pass is a loop over the
nodes; nothing recurses, so a 100,000-node chain exports in linear time.

Clusters follow ``node.scope`` (``tg.scope`` blocks, ``tg.nn`` layers). A layer's
parameters are created outside its scope (``Affine`` is built before it runs),
so a parameter or constant joins its consumers' cluster when all of them sit
in one scope nested within its own; shared ones stay where they were made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import graphviz  # type: ignore[import-untyped]
import numpy as np

from ..errors import GraphError
from ..graph import Graph
from ..node import Node
from ..op import Constant, Input, Parameter
from ..shapes import Spec, dtype_name
from ..text import printable
from . import dot

Scope = tuple[str, ...]

_MIXED: Scope = ("\x00mixed",)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def operand_letter(position: int) -> str:
    """``a``, ``b``, ... for operand positions; ``#26`` past the alphabet."""
    return _LETTERS[position] if position < len(_LETTERS) else f"#{position}"


def format_spec(spec: Spec, unknown_dim: str = "?") -> str:
    """``f64[?,4]``, with ``unknown_dim`` for ``None`` sizes."""
    return dtype_name(spec.dtype) + dot.shape_text(spec.shape, unknown_dim)


def placement(graph: Graph) -> dict[Node, Scope]:
    """The scope each node is drawn in: its own, or for a parameter/constant its consumers'."""
    consumers: dict[Node, Scope] = {}
    for node in graph.nodes:
        for operand in node.inputs:
            if isinstance(operand.op, (Parameter, Constant)):
                seen = consumers.get(operand)
                if seen is None:
                    consumers[operand] = node.scope
                elif seen is not _MIXED and seen != node.scope:
                    consumers[operand] = _MIXED
    where: dict[Node, Scope] = {}
    for node in graph.nodes:
        own = node.scope
        theirs = consumers.get(node)
        if theirs is not None and theirs is not _MIXED and theirs[: len(own)] == own:
            own = theirs
        where[node] = own
    return where


def _collapse_roots(where: Mapping[Node, Scope], collapse: bool | Iterable[str]) -> dict[Scope, Scope]:
    """For each scope in use, the outermost enclosing scope to collapse (absent if none)."""
    scopes = sorted({p[:k] for p in set(where.values()) for k in range(1, len(p) + 1)})
    wanted: set[Scope]
    if collapse is True:
        wanted = {s for s in scopes if len(s) == 1}
    elif collapse is False or collapse is None:
        return {}
    else:
        if isinstance(collapse, str):
            collapse = [collapse]
        wanted = set()
        for name in collapse:
            hits = {s for s in scopes if "/".join(s) == name or s[-1] == name}
            if not hits:
                known = ", ".join(repr("/".join(s)) for s in scopes) or "none (the graph has no tg.scope)"
                raise GraphError(f"collapse: no cluster named {name!r}; the clusters are {known}")
            wanted |= hits
    roots: dict[Scope, Scope] = {}
    for path in set(where.values()):
        for k in range(1, len(path) + 1):
            if path[:k] in wanted:
                roots[path] = path[:k]
                break
    return roots


def _resolve_highlight(graph: Graph, highlight: Iterable[Node | str]) -> set[Node]:
    if isinstance(highlight, (str, Node)):
        highlight = [highlight]
    chosen: set[Node] = set()
    for item in highlight:
        node = graph.node_named(item) if isinstance(item, str) else item
        if node not in graph:
            raise GraphError(f"highlight: node {node.name!r} is not part of this graph")
        chosen.add(node)
    return chosen


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.ndarray) else value


def _param_size(node: Node) -> int:
    size = 1
    for d in node.shape:
        size *= d or 0
    return size


class _Drawing:
    """The state of one export: which node is drawn where, with what id."""

    def __init__(self, graph: Graph, options: dict[str, Any]) -> None:
        self.graph = graph
        self.o = options
        self.hidden = {
            n for n in graph.nodes
            if (isinstance(n.op, Parameter) and not options["params"])
            or (isinstance(n.op, Constant) and not options["constants"])
        }
        self.where = placement(graph) if options["clusters"] else {n: () for n in graph.nodes}
        self.roots = _collapse_roots(self.where, options["collapse"])
        self.highlighted = _resolve_highlight(graph, options["highlight"])
        self.outputs = set(graph.outputs)
        self.index = {n: i for i, n in enumerate(graph.nodes)}
        self.cluster_ids: dict[Scope, str] = {}
        self.box_ids: dict[Scope, str] = {}
        self.params_in: dict[Scope, int] = {}

    def spec(self, node: Node) -> str:
        return format_spec(node.spec, self.o["unknown_dim"])

    def node_id(self, node: Node) -> str:
        box = self.roots.get(self.where[node])
        return self.box_ids[box] if box is not None else f"n{self.index[node]}"

    def register(self, path: Scope) -> None:
        for k in range(1, len(path) + 1):
            prefix = path[:k]
            if prefix not in self.cluster_ids:
                self.cluster_ids[prefix] = f"cluster_{len(self.cluster_ids)}"

    # --- one node ------------------------------------------------------------------------------

    def label(self, node: Node) -> str:
        op, name = node.op, printable(self.graph.name_of(node))  # a newline in a name is not a line break
        if isinstance(op, Input):
            title, sub = name, "input"
        elif isinstance(op, Parameter):
            title, sub = name, "parameter"
            if self.o["param_counts"]:
                sub += " · " + dot.count_label(_param_size(node))
        elif isinstance(op, Constant):
            scalar = node.ndim == 0
            title = repr(_scalar(op.value)) if scalar else name
            sub = name if scalar else "constant"
        else:
            title = type(op).dot_label(op)
            if len(title) > 60:
                title = title[:57] + "..."
            formula = op.formula
            sub = f"{name} = {formula}" if formula and len(node.inputs) == 2 else name
        if node in self.outputs:
            sub += " · output"
        lines = [f"<B>{dot.html_text(title)}</B>", dot.small(dot.html_text(sub))]
        if self.o["shapes"]:
            lines.append(dot.font(dot.html_text(self.spec(node)), size=10))
        ordered = len(node.inputs) > 1 and not op.commutative
        for k, operand in enumerate(node.inputs):
            if operand in self.hidden:
                tag = f"{operand_letter(k)}: " if ordered else "with "
                if isinstance(operand.op, Constant) and operand.ndim == 0:
                    what = repr(_scalar(operand.op.value))  # a hidden scalar is shown by its value
                else:
                    what = printable(self.graph.name_of(operand))
                    what += f" {self.spec(operand)}" if self.o["shapes"] else ""
                lines.append(dot.small(dot.html_text(tag + what)))
        values = self.o["values"]
        if values is not None and node in values:
            text = dot.summarize(values[node], self.o["max_items"])
            lines.extend(dot.font(dot.html_text(t), size=9, face=dot.MONO) for t in text)
        return dot.html_label(lines)

    def attrs(self, node: Node) -> dict[str, str]:
        op = node.op
        kind = op.kind if isinstance(op, (Input, Parameter, Constant)) else "op"
        attrs = dict(dot.KIND_STYLES[kind])
        attrs.update({k: str(v) for k, v in type(op).dot_style.items() if k != "label"})
        if kind == "op":
            attrs["tooltip"] = dot.esc_string(self.graph.format_node(node))
        if node in self.outputs:
            attrs["peripheries"] = "2"
        if node in self.highlighted:
            attrs.update(dot.HIGHLIGHT)
        return attrs

    def box_label(self, path: Scope, members: list[Node], leaving: list[Node]) -> str:
        ops: list[str] = []
        for n in members:
            if not isinstance(n.op, (Input, Parameter, Constant)):
                lab = type(n.op).__name__
                if lab not in ops:
                    ops.append(lab)
        summary = ", ".join(ops[:4]) + (", ..." if len(ops) > 4 else "")
        lines = [f"<B>{dot.html_text(printable(path[-1]))}</B>", dot.small(dot.html_text(summary or "no ops"))]
        count = self.params_in.get(path, 0)
        if self.o["param_counts"] and count:
            lines.append(dot.small(dot.html_text(dot.count_label(count))))
        if self.o["shapes"]:
            for n in leaving:
                lines.append(dot.font(dot.html_text("→ " + self.spec(n)), size=10))
        return dot.html_label(lines)


def op_diagram(
    graph: Graph,
    *,
    rankdir: str = "LR",
    params: bool = True,
    constants: bool = True,
    shapes: bool = True,
    values: Mapping[Node, Any] | None = None,
    max_items: int = 12,
    param_counts: bool = True,
    clusters: bool = True,
    collapse: bool | Iterable[str] = (),
    highlight: Iterable[Node | str] = (),
    unknown_dim: str = "?",
    title: str | None = None,
) -> graphviz.Digraph:
    """The operation graph of ``graph`` as a ``graphviz.Digraph`` (options: see docs/diagrams.md)."""
    if collapse and not clusters:
        raise ValueError("collapse draws clusters as boxes: it needs clusters=True")
    d = _Drawing(graph, dict(
        params=params, constants=constants, shapes=shapes, values=values, max_items=max_items,
        param_counts=param_counts, clusters=clusters, collapse=collapse, highlight=highlight,
        unknown_dim=unknown_dim,
    ))
    nodes = [n for n in graph.nodes if n not in d.hidden]

    # Cluster bookkeeping in one pass: ids by first appearance, parameter counts per cluster.
    members: dict[Scope, list[Node]] = {}
    for node in graph.nodes:
        path = d.where[node]
        if isinstance(node.op, Parameter):
            size = _param_size(node)
            for k in range(1, len(path) + 1):
                d.params_in[path[:k]] = d.params_in.get(path[:k], 0) + size
        if node in d.hidden and path not in d.roots:
            continue
        box = d.roots.get(path)
        if box is not None:
            d.register(box[:-1])
            if box not in d.box_ids:
                d.box_ids[box] = f"c{len(d.box_ids)}"
            members.setdefault(box, []).append(node)
        else:
            d.register(path)

    # Statements per scope: the root's and each cluster's own, before nesting them.
    bodies: dict[Scope, graphviz.Digraph] = {(): dot.new_digraph("ops", rankdir)}
    for path, cid in d.cluster_ids.items():
        sub = graphviz.Digraph(name=cid)
        count = d.params_in.get(path, 0)
        text = printable(path[-1]) + (" · " + dot.count_label(count) if param_counts and count else "")
        sub.attr("graph", label=dot.html_label([f"<B>{dot.html_text(text)}</B>"]), labeljust="l",
                 style="rounded,filled", fillcolor="#f7f8fa", color="#a7b0be", fontsize="11")
        bodies[path] = sub
    sole_user: dict[Node, Node | None] = {}
    for node in nodes:
        path = d.where[node]
        if d.roots.get(path) is None:
            attrs = d.attrs(node)
            attrs["label"] = d.label(node)
            bodies[path].body.append(dot.statement(f"n{d.index[node]}", attrs))
        for operand in node.inputs:
            if isinstance(operand.op, (Parameter, Constant)):
                sole_user[operand] = node if sole_user.get(operand, node) is node else None
    # A weight used by one op is drawn beside it (same rank), so the data path stays a straight
    # line from input to output instead of zigzagging around the weights' columns.
    for leaf, user in sole_user.items():
        path = d.where[leaf]
        if user is not None and leaf not in d.hidden and d.where[user] == path and path not in d.roots:
            bodies[path].body.append(f"\t{{rank=same; n{d.index[leaf]} n{d.index[user]}}}\n")
    # A collapsed box shows the specs of the values that leave it: used outside, or outputs.
    used_outside: set[Node] = set(d.outputs)
    for node in nodes:
        here = d.roots.get(d.where[node])
        for operand in node.inputs:
            box = d.roots.get(d.where[operand])
            if box is not None and box != here:
                used_outside.add(operand)
    for box in d.box_ids:
        inside = members[box]
        leaving = [n for n in inside if n in used_outside]
        attrs = dict(dot.KIND_STYLES["collapsed"])
        if not d.highlighted.isdisjoint(inside):
            attrs.update(dot.HIGHLIGHT)
        bodies[box[:-1]].node(d.box_ids[box], label=d.box_label(box, inside, leaving), **attrs)

    # Nest clusters innermost first, so that each is complete when copied into its parent.
    for path in sorted(d.cluster_ids, key=len, reverse=True):
        bodies[path[:-1]].subgraph(bodies[path])
    root = bodies[()]

    seen_edges: set[tuple[str, str]] = set()
    for node in nodes:
        dst = d.node_id(node)
        # Operand order is irrelevant for commutative ops; every other op with two or more operands
        # labels its edges a, b, c... (the op's ``formula`` says how they combine).
        ordered = len(node.inputs) > 1 and not node.op.commutative
        for k, operand in enumerate(node.inputs):
            if operand in d.hidden:
                continue
            src = d.node_id(operand)
            if src == dst:
                continue
            collapsed = src[0] == "c" or dst[0] == "c"
            if collapsed:
                if (src, dst) in seen_edges:
                    continue
                seen_edges.add((src, dst))
            text = dot.html_text(d.spec(operand)) if shapes else ""
            if ordered and not collapsed:
                text = f"<B>{operand_letter(k)}</B> " + text
            attrs = {"label": dot.html_label([text])} if text else {}
            if not isinstance(operand.op, (Parameter, Constant)):
                # Heavier data-flow edges: dot keeps them short and straight, weights hang off the side.
                attrs["weight"] = "4"
            root.body.append(dot.statement(f"{src} -> {dst}", attrs) if attrs else f"\t{src} -> {dst}\n")

    caption = [dot.html_text(title)] if title else []
    if param_counts and graph.parameters:
        total = sum(_param_size(n) for n in graph.parameters)
        caption.append(dot.font(dot.html_text(f"{dot.count_label(total)} in total"), size=10, color=dot.SUBTLE))
    if caption:
        root.attr("graph", label=dot.html_label(caption), labelloc="b")
    return root
