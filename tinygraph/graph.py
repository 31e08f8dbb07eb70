"""``Graph``: the nodes that some outputs depend on, in topological order, with names.

A graph is a view over immutable nodes: building one sorts the outputs'
ancestors (iteratively, so a 100,000-node chain is fine), gives every node a
name unique within the graph, and prints as a short program::

    graph(x: f64[?,2]):
      W1: f64[2,4] = parameter()
      matmul_0: f64[?,4] = matmul(x, W1)
      ...
      return add_4
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Union

from .errors import GraphError
from .hooks import drawing
from .node import Constant, Node, ancestors, copy_nodes, format_node, from_records, to_records
from .op import Input, Parameter
from .shapes import format_spec
from .text import printable

Outputs = Union[Node, Sequence[Node], "Graph"]


def as_output_list(outputs: Outputs) -> tuple[Node, ...]:
    """Normalise ``node``, ``[nodes]`` or a ``Graph`` into a tuple of output nodes."""
    if isinstance(outputs, Graph):
        return outputs.outputs
    if isinstance(outputs, Node):
        return (outputs,)
    if isinstance(outputs, (str, bytes)) or not isinstance(outputs, Iterable):
        raise TypeError(f"outputs must be a Node, a sequence of Nodes or a Graph, got {type(outputs).__name__}")
    nodes = tuple(outputs)
    for n in nodes:
        if not isinstance(n, Node):
            raise TypeError(f"outputs must be Nodes, got a {type(n).__name__}: {n!r}")
    if not nodes:
        raise GraphError("a graph needs at least one output node")
    return nodes


def topological_order(outputs: Sequence[Node]) -> list[Node]:
    """Every ancestor of ``outputs`` once, inputs before users (depth-first, operands in order)."""
    return ancestors(outputs)


def assign_names(nodes: Sequence[Node]) -> tuple[dict[Node, str], dict[str, list[Node]]]:
    """Names for topologically ordered ``nodes``, and the user names that several inputs share.

    Users' names are kept (a repeated one gets ``_1``, ``_2``...). Every node created without
    a name takes the next number of one counter, in topological order, and an unnamed one is
    called ``{kind}_{number}`` (``matmul_0``, ``add_1``...). A renamed node keeps its number, so
    a rename changes that node's name only; the same code always gives the same names.
    """
    names: dict[Node, str] = {}
    taken: set[str] = set()
    inputs_named: dict[str, list[Node]] = {}

    def claim(base: str) -> str:
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return name

    # Inputs claim their names first: feeds look them up by name, so a parameter that
    # happens to share an input's name must be the one renamed (x -> x_1), never the input.
    inputs_first = sorted(nodes, key=lambda n: not isinstance(n.op, Input))  # stable: order kept otherwise
    for node in inputs_first:
        given = node.user_name
        if given is not None:
            if isinstance(node.op, Input):
                inputs_named.setdefault(given, []).append(node)
            names[node] = claim(given)
    counter = 0
    for node in nodes:
        if node.numbered:
            if node not in names:
                names[node] = claim(f"{node.op.kind}_{counter}")
            counter += 1
    return names, {given: nodes for given, nodes in inputs_named.items() if len(nodes) > 1}


class Graph:
    """The nodes needed by ``outputs``, topologically ordered and named; immutable."""

    def __init__(self, outputs: Outputs) -> None:
        self.outputs: tuple[Node, ...] = as_output_list(outputs)
        self.nodes: tuple[Node, ...] = tuple(topological_order(self.outputs))
        self.inputs: tuple[Node, ...] = tuple(n for n in self.nodes if isinstance(n.op, Input))
        self.parameters: tuple[Node, ...] = tuple(n for n in self.nodes if isinstance(n.op, Parameter))
        self.constants: tuple[Node, ...] = tuple(n for n in self.nodes if isinstance(n.op, Constant))
        self._names, clashes = assign_names(self.nodes)
        for given, (first, second, *_) in clashes.items():
            raise GraphError(
                f"two different inputs are named {given!r} (created at {first.site.describe()} "
                f"and at {second.site.describe()}); input names must be unique in a graph"
            )
        self._inputs_by_name = {self._names[n]: n for n in self.inputs}
        self._plan: Any = None  # the executor's plan for this graph, made on first run

    # --- copying and pickling: flat, whatever the depth (the names are the graph's own again) -----

    def __deepcopy__(self, memo: dict[int, Any]) -> Graph:
        return Graph(copy_nodes(self.outputs, memo))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_graph_from_records, (to_records(self.outputs),))

    # --- lookup ----------------------------------------------------------------------------------

    def name_of(self, node: Node) -> str:
        """The node's name in this graph (unique within it)."""
        try:
            return self._names[node]
        except KeyError:
            raise GraphError(f"node {node.name!r} is not part of this graph") from None

    def input_named(self, name: str) -> Node:
        """The input node called ``name``."""
        try:
            return self._inputs_by_name[name]
        except KeyError:
            known = ", ".join(repr(n) for n in self._inputs_by_name) or "none"
            raise GraphError(f"this graph has no input named {name!r}; its inputs are: {known}") from None

    def node_named(self, name: str) -> Node:
        """The node called ``name`` in this graph."""
        for node, n in self._names.items():
            if n == name:
                return node
        raise GraphError(f"this graph has no node named {name!r}")

    def users(self) -> dict[Node, list[Node]]:
        """For each node, the nodes that take it as an input (in topological order)."""
        users: dict[Node, list[Node]] = {n: [] for n in self.nodes}
        for node in self.nodes:
            for i in node.inputs:
                if not users[i] or users[i][-1] is not node:
                    users[i].append(node)
        return users

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._names

    # --- printing --------------------------------------------------------------------------------

    def format_node(self, node: Node) -> str:
        """One listing line: ``add_1: f64[?,4] = add(matmul_0, b1)``."""
        return format_node(node, lambda n: printable(self.name_of(n)))

    def __str__(self) -> str:
        signature = ", ".join(f"{printable(self._names[n])}: {format_spec(n.spec)}" for n in self.inputs)
        lines = [f"graph({signature}):"]
        lines.extend("  " + self.format_node(n) for n in self.nodes if not isinstance(n.op, Input))
        returned = ", ".join(printable(self._names[n]) for n in self.outputs)
        lines.append(f"  return {returned}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        ins = ", ".join(printable(self._names[n]) for n in self.inputs)
        outs = ", ".join(printable(self._names[n]) for n in self.outputs)
        return f"<Graph {len(self.nodes)} nodes: ({ins}) -> ({outs})>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    # --- diagrams: drawn by the diagram layer, which registers itself (the core never imports it) --

    def to_dot(self, **options: Any) -> Any:
        """The operation-graph diagram as a ``graphviz.Digraph`` (options: docs/diagrams.md)."""
        return drawing().to_dot(self, **options)

    def render(self, path: str | os.PathLike[str], **options: Any) -> str | pathlib.Path:
        """Draw into ``path`` (.svg .png .pdf, or .gv/.dot for DOT source); returns ``path`` as given."""
        return drawing().render(self, path, **options)  # type: ignore[no-any-return]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        return drawing().mimebundle(self, include, exclude)  # type: ignore[no-any-return]

    def _repr_svg_(self) -> str | None:
        return drawing().svg(self)  # type: ignore[no-any-return]


def _graph_from_records(flat: Any) -> Graph:
    outputs = from_records(flat)
    return Graph(outputs if isinstance(outputs, list) else [outputs])
