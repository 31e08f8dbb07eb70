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

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Union

import numpy as np

from .errors import GraphError
from .node import Node
from .op import Constant, Input, Parameter
from .shapes import format_spec

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
    order: list[Node] = []
    seen: set[Node] = set()
    for out in outputs:
        if out in seen:
            continue
        seen.add(out)
        stack: list[tuple[Node, int]] = [(out, 0)]
        while stack:
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                child = node.inputs[i]
                if child not in seen:
                    seen.add(child)
                    stack.append((child, 0))
            else:
                stack.pop()
                order.append(node)
    return order


class Graph:
    """The nodes needed by ``outputs``, topologically ordered and named; immutable."""

    def __init__(self, outputs: Outputs) -> None:
        self.outputs: tuple[Node, ...] = as_output_list(outputs)
        self.nodes: tuple[Node, ...] = tuple(topological_order(self.outputs))
        self.inputs: tuple[Node, ...] = tuple(n for n in self.nodes if isinstance(n.op, Input))
        self.parameters: tuple[Node, ...] = tuple(n for n in self.nodes if isinstance(n.op, Parameter))
        self.constants: tuple[Node, ...] = tuple(n for n in self.nodes if isinstance(n.op, Constant))
        self._names = self._assign_names()
        self._inputs_by_name = {self._names[n]: n for n in self.inputs}

    def _assign_names(self) -> dict[Node, str]:
        # Users' names are kept; unnamed nodes are numbered in topological order with one
        # counter (matmul_0, add_1, ...), so the same code always yields the same names.
        names: dict[Node, str] = {}
        taken: set[str] = set()
        inputs_named: dict[str, Node] = {}
        for node in self.nodes:
            given = node.user_name
            if given is None:
                continue
            if isinstance(node.op, Input):
                other = inputs_named.setdefault(given, node)
                if other is not node:
                    raise GraphError(
                        f"two different inputs are named {given!r} (created at {other.site.describe()} "
                        f"and at {node.site.describe()}); input names must be unique in a graph"
                    )
            name, k = given, 1
            while name in taken:
                name, k = f"{given}_{k}", k + 1
            names[node] = name
            taken.add(name)
        counter = 0
        for node in self.nodes:
            if node in names:
                continue
            name = f"{node.op.kind}_{counter}"
            while name in taken:
                counter += 1
                name = f"{node.op.kind}_{counter}"
            counter += 1
            names[node] = name
            taken.add(name)
        return names

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
        op = node.op
        attrs = op.attributes()
        head = op.kind + ("[" + ", ".join(f"{k}={v!r}" for k, v in attrs.items()) + "]" if attrs else "")
        if isinstance(op, Input):
            head = "input"
        elif isinstance(op, Constant):
            value = op.value.item() if isinstance(op.value, np.ndarray) and op.value.ndim == 0 else op.value
            shown = repr(value) if node.ndim == 0 else format_spec(node.spec)
            return f"{self._names.get(node, '?')}: {format_spec(node.spec)} = constant({shown})"
        # Not .get(i, i.name): that would evaluate i.name (a whole Graph) for every operand.
        operands = ", ".join(self._names[i] if i in self._names else i.name for i in node.inputs)
        return f"{self._names.get(node, '?')}: {format_spec(node.spec)} = {head}({operands})"

    def __str__(self) -> str:
        signature = ", ".join(f"{self._names[n]}: {format_spec(n.spec)}" for n in self.inputs)
        lines = [f"graph({signature}):"]
        lines.extend("  " + self.format_node(n) for n in self.nodes if not isinstance(n.op, Input))
        returned = ", ".join(self._names[n] for n in self.outputs)
        lines.append(f"  return {returned}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        ins = ", ".join(self._names[n] for n in self.inputs)
        outs = ", ".join(self._names[n] for n in self.outputs)
        return f"<Graph {len(self.nodes)} nodes: ({ins}) -> ({outs})>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))
