"""The topological executor: runs the forward pass of the nodes some outputs need.

``Executor.run`` walks a ``Plan`` (the graph's topological order plus, for each
step, which values die there) and calls ``step(node, input_values)`` once per
node. Subclass and override ``step`` to trace, profile or check every node, as
with ``torch.fx.Interpreter``; or pass ``observers`` to ``run``. Nothing about a
run is stored on the nodes, so one graph can be run from several threads at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

import numpy as np

from .errors import ExecutionError, FeedError, GraphError, article
from .graph import Graph, Outputs
from .node import Node
from .op import Input
from .shapes import fits, format_spec

Observer = Callable[[Node, Any], None]
Feeds = Mapping[Any, Any]


class Plan:
    """What running some outputs takes: the graph, and after which step each value is dead."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes = graph.nodes
        last_use: dict[Node, int] = {}
        for step, node in enumerate(self.nodes):
            for i in node.inputs:
                last_use[i] = step
        outputs = set(graph.outputs)
        #: ``release[k]``: the values no step after ``k`` reads (outputs are never released).
        self.release: list[list[Node]] = [[] for _ in self.nodes]
        for node, step in last_use.items():
            if node not in outputs:
                self.release[step].append(node)


class Executor:
    """Evaluates graphs in topological order; override ``step`` to change how a node is computed."""

    def plan(self, outputs: Outputs) -> Plan:
        """The plan for ``outputs`` (a ``Graph`` is reused as it is)."""
        return Plan(outputs if isinstance(outputs, Graph) else Graph(outputs))

    def step(self, node: Node, input_values: list[Any]) -> Any:
        """Compute one node from its inputs' values: ``node.op.forward(*input_values)``."""
        return node.op.forward(*input_values)

    def run(
        self,
        outputs: Outputs,
        feeds: Feeds | None = None,
        *,
        observers: Iterable[Observer] = (),
        trace: MutableMapping[Node, Any] | None = None,
    ) -> Any:
        """Evaluate ``outputs``: one array for a Node, a list for a sequence (or a Graph).

        ``feeds`` maps input nodes or input names to arrays. ``observers`` are called as
        ``f(node, value)`` after each node. Intermediates are freed once dead unless
        ``trace`` is given: then every node's value is stored in it (for a reverse pass).
        """
        single = isinstance(outputs, Node)
        plan = self.plan(outputs)
        graph = plan.graph
        env: dict[Node, Any] = resolve_feeds(graph, feeds)
        observers = tuple(observers)
        keep_all = trace is not None
        for k, node in enumerate(plan.nodes):
            if isinstance(node.op, Input):
                value = env[node]
            else:
                args = [env[i] for i in node.inputs]
                try:
                    value = self.step(node, args)
                except Exception as e:
                    raise _execution_error(graph, node, args, e) from e
                env[node] = value
            for observe in observers:
                observe(node, value)
            if not keep_all:
                for dead in plan.release[k]:
                    del env[dead]
        if trace is not None:
            trace.update(env)
        results = [np.asarray(env[n]) for n in graph.outputs]
        return results[0] if single else results


def evaluate(
    outputs: Outputs,
    feeds: Feeds | None = None,
    *,
    observers: Iterable[Observer] = (),
    trace: MutableMapping[Node, Any] | None = None,
) -> Any:
    """Run the forward pass: an array for one output node, a list of arrays for several."""
    return Executor().run(outputs, feeds, observers=observers, trace=trace)


def trace(outputs: Outputs, feeds: Feeds | None = None) -> dict[Node, Any]:
    """Evaluate and keep every node's value: ``{node: value}``, what a reverse pass needs."""
    values: dict[Node, Any] = {}
    Executor().run(outputs, feeds, trace=values)
    return values


# --- feeds ------------------------------------------------------------------------------------------


def resolve_feeds(graph: Graph, feeds: Feeds | None) -> dict[Node, Any]:
    """Check ``feeds`` against the graph's inputs: ``{input node: array}`` for every input."""
    if feeds is None:
        feeds = {}
    if not isinstance(feeds, Mapping):
        raise FeedError(f"feeds must be a mapping of input nodes or names to arrays, got {type(feeds).__name__}")
    resolved: dict[Node, Any] = {}
    for key, value in feeds.items():
        if isinstance(key, str):
            try:
                node = graph.input_named(key)
            except GraphError as e:
                raise FeedError(f"unknown input name in feeds: {e}") from None
        elif isinstance(key, Node):
            if not isinstance(key.op, Input):
                raise FeedError(
                    f"{key.name} is {article(key.op.kind)} node, not an input: only tg.input nodes can be fed "
                    f"(created at {key.site.describe()})"
                )
            if key not in graph:
                continue  # an input these outputs don't need: harmless, e.g. one feed dict for many outputs
            node = key
        else:
            raise FeedError(f"feed keys must be input nodes or names, got {type(key).__name__}: {key!r}")
        if node in resolved:
            raise FeedError(f"input {graph.name_of(node)!r} is fed twice (by node and by name)")
        resolved[node] = check_feed(node, graph.name_of(node), value)
    missing = [graph.name_of(n) for n in graph.inputs if n not in resolved]
    if missing:
        wanted = ", ".join(
            f"{graph.name_of(n)}: {format_spec(n.spec)} (declared at {n.site.describe()})"
            for n in graph.inputs if n not in resolved
        )
        raise FeedError(f"missing feed for input(s) {', '.join(map(repr, missing))}; expected {wanted}")
    return resolved


def check_feed(node: Node, name: str, value: Any) -> Any:
    """``value`` as an array fitting ``node``'s declaration, or a ``FeedError`` saying why not."""
    spec = node.spec
    expected = format_spec(spec)
    declared = f"(input declared at {node.site.describe()})"
    if isinstance(value, np.ndarray):
        arr = value
        if arr.dtype.kind != spec.dtype.kind:
            raise FeedError(
                f"input {name!r} expects {expected} ({spec.dtype}); got an array of dtype {arr.dtype} "
                f"and shape {arr.shape}: convert it, e.g. with .astype(np.{spec.dtype}) {declared}"
            )
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as e:
            raise FeedError(
                f"input {name!r} expects {expected}; cannot convert the {type(value).__name__} fed: {e} {declared}"
            ) from None
        # Lists and scalars may widen ([1, 2] feeds a float input) but never lose their kind:
        # 1.5 fed to an int input would silently become 1, and a str is not a number at all.
        if arr.dtype.kind not in "biufc":
            raise FeedError(
                f"input {name!r} expects {expected} ({spec.dtype}); the {type(value).__name__} fed is not "
                f"numeric (it converts to {arr.dtype}) {declared}"
            )
        if arr.dtype.kind != spec.dtype.kind and not np.can_cast(arr.dtype, spec.dtype, casting="same_kind"):
            raise FeedError(
                f"input {name!r} expects {expected} ({spec.dtype}); the {type(value).__name__} fed converts "
                f"to {arr.dtype}, which cannot become {spec.dtype} without changing its values {declared}"
            )
    if arr.dtype != spec.dtype:
        arr = arr.astype(spec.dtype)  # same kind, other width: a converted copy, never in place
    if not fits(spec, arr.shape):
        raise FeedError(
            f"input {name!r} expects {expected} (rank {spec.ndim}); got {format_spec_of(arr)} (shape {arr.shape}) "
            f"{declared}"
        )
    return arr


def format_spec_of(arr: np.ndarray[Any, Any]) -> str:
    """An array's spec in listing form, ``f64[10,2]``."""
    from .shapes import spec_of_value

    return format_spec(spec_of_value(arr))


def _describe_value(value: Any) -> str:
    if isinstance(value, np.ndarray) or np.isscalar(value):
        return format_spec_of(np.asarray(value))
    return f"<{type(value).__name__}>"


def _execution_error(graph: Graph, node: Node, args: list[Any], error: Exception) -> ExecutionError:
    shapes = ", ".join(f"{graph.name_of(i)} {_describe_value(a)}" for i, a in zip(node.inputs, args))
    return ExecutionError(
        f"evaluating {graph.name_of(node)} = {node.op!r}({shapes}) failed: {type(error).__name__}: {error}\n"
        f"  node created at {node.site.describe()}"
    )
