"""The topological executor: runs the forward pass of the nodes some outputs need.

``Executor.run`` walks a cached ``Plan`` (the graph's topological order plus, for
each step, which values die there) and calls ``step(node, input_values)`` once per
node, inputs included (an input's one input value is the array fed to it).
Subclass and override ``step`` to trace, profile or check every node, as with
``torch.fx.Interpreter``; or pass ``observers`` to ``run``. Nothing about a
run is stored on the nodes, so one graph can be run from several threads at once.

When nothing can watch the intermediate values (``step`` not overridden, no
observers, no trace), ``run`` takes a fast path that also applies the plan's
memory plan: dead intermediates are reused in place by elementwise ops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

import numpy as np

from ._gc import gc_paused
from .errors import ExecutionError, FeedError, GraphError, article
from .graph import Graph, Outputs
from .node import Node
from .op import Input
from .plan import Plan, plan_for, read_only
from .shapes import fits, format_spec, spec_of_value

__all__ = ["Executor", "Plan", "evaluate", "trace", "resolve_feeds", "check_feed"]

Observer = Callable[[Node, Any], None]
Feeds = Mapping[Any, Any]


class Executor:
    """Evaluates graphs in topological order; override ``step`` to change how a node is computed."""

    def plan(self, outputs: Outputs) -> Plan:
        """The plan for ``outputs``, computed once and cached (a ``Graph`` is used as it is)."""
        return plan_for(outputs)

    def step(self, node: Node, input_values: list[Any]) -> Any:
        """Compute one node from its inputs' values (an input node's: ``[fed array]``): ``op.forward``."""
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
        plan = self.plan(outputs)
        env = bind_feeds(plan, feeds)
        observers = tuple(observers)
        if trace is None and not observers and type(self).step is _DEFAULT_STEP:
            execute(plan, env)
        else:
            self._run_stepwise(plan, env, observers, trace)
        return _results(env, plan, type(outputs) is Node)

    def _run_stepwise(self, plan: Plan, env: list[Any], observers: tuple[Observer, ...],
                      trace: MutableMapping[Node, Any] | None) -> None:
        # Every node through self.step and the observers; no buffer is reused, since a
        # subclass or an observer may hold on to any value it saw.
        keep_all = trace is not None
        slot = plan.slot
        for k, node in enumerate(plan.nodes):
            # Like torch.fx's placeholders, inputs go through step too, so that a subclass sees
            # every node: the fed array is the input node's one input value.
            args = [env[k]] if isinstance(node.op, Input) else [env[slot[i]] for i in node.inputs]
            try:
                value = self.step(node, args)
            except Exception as e:
                raise _execution_error(plan.graph, node, args, e) from e
            env[k] = value
            for observe in observers:
                observe(node, value)
            if not keep_all:
                for dead in plan.release[k]:
                    env[slot[dead]] = None
        if trace is not None:
            trace.update(zip(plan.nodes, env))


_DEFAULT_STEP = Executor.step


def _results(env: list[Any], plan: Plan, single: bool) -> Any:
    ndarray = np.ndarray
    if single:
        value = env[plan.output_slots[0]]
        return value if type(value) is ndarray else np.asarray(value)
    return [v if type(v) is ndarray else np.asarray(v) for v in (env[k] for k in plan.output_slots)]


# Runs of this many steps or more pause CPython's cyclic collector: a run allocates a
# tracked tuple or list per step and frees them at once, but each of the collections that
# triggers also walks the run's slot list and the plan; the pause costs ~0.1 µs.
GC_PAUSE_STEPS = 2000


def execute(plan: Plan, env: list[Any]) -> None:
    """Run ``plan``'s steps on ``env`` (one value per slot, inputs filled), applying its memory plan."""
    if len(plan.steps) >= GC_PAUSE_STEPS:
        with gc_paused():
            _execute(plan, env)
    else:
        _execute(plan, env)


def _execute(plan: Plan, env: list[Any]) -> None:
    for k, op in plan.loads:
        env[k] = op.value  # type: ignore[attr-defined]
    step: Any = None
    try:
        for step in plan.steps:
            fn, get, out, dead, _ = step
            env[out] = fn(*get(env))
            for d in dead:
                env[d] = None
    except Exception as e:
        node = step[4]
        values = [env[plan.slot[i]] for i in node.inputs]
        raise _execution_error(plan.graph, node, values, e) from e


def bind_feeds(plan: Plan, feeds: Feeds | None) -> list[Any]:
    """A fresh slot list for one run of ``plan``, with the checked feeds in the inputs' slots."""
    env: list[Any] = [None] * len(plan.nodes)
    keys = plan.feed_keys
    if type(feeds) is dict and len(feeds) == len(plan.input_slots):
        for key, value in feeds.items():
            entry = keys.get(key) if type(key) is str or type(key) is Node else None
            if entry is None:
                break
            k, check = entry
            env[k] = check(value)
        else:
            for k in plan.input_slots:
                if env[k] is None:
                    break  # an input fed twice (by node and by name), another one missing
            else:
                return env
        env = [None] * len(plan.nodes)
    for node, value in resolve_feeds(plan.graph, feeds).items():
        env[plan.slot[node]] = read_only(value) if plan.protect_feeds else value
    return env


def evaluate(
    outputs: Outputs,
    feeds: Feeds | None = None,
    *,
    observers: Iterable[Observer] = (),
    trace: MutableMapping[Node, Any] | None = None,
) -> Any:
    """Run the forward pass: an array for one output node, a list of arrays for several."""
    if trace is None and observers == ():
        # Executor.run's fast path, without its extra call: this is the per-call overhead of
        # every small network.
        plan = plan_for(outputs)
        env = bind_feeds(plan, feeds)
        execute(plan, env)
        return _results(env, plan, type(outputs) is Node)
    return _EXECUTOR.run(outputs, feeds, observers=observers, trace=trace)


# Executors hold no state, so evaluate shares one.
_EXECUTOR = Executor()


def trace(outputs: Outputs, feeds: Feeds | None = None) -> dict[Node, Any]:
    """Evaluate and keep every node's value: ``{node: value}``, what a reverse pass needs."""
    values: dict[Node, Any] = {}
    _EXECUTOR.run(outputs, feeds, trace=values)
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
        integers = arr.dtype.kind in "iu" and spec.dtype.kind in "iu"  # [1, 2] may feed a uint8 input
        if arr.dtype.kind != spec.dtype.kind and not integers and \
                not np.can_cast(arr.dtype, spec.dtype, casting="same_kind"):
            raise FeedError(
                f"input {name!r} expects {expected} ({spec.dtype}); the {type(value).__name__} fed converts "
                f"to {arr.dtype}, which cannot become {spec.dtype} without changing its values {declared}"
            )
    if arr.dtype != spec.dtype:
        arr = _convert(arr, spec.dtype, name, expected, declared)
    if not fits(spec, arr.shape):
        raise FeedError(
            f"input {name!r} expects {expected} (rank {spec.ndim}); got {format_spec_of(arr)} (shape {arr.shape}) "
            f"{declared}"
        )
    return arr


def _convert(arr: np.ndarray[Any, Any], dtype: np.dtype[Any], name: str, expected: str,
             declared: str) -> np.ndarray[Any, Any]:
    # A converted copy, never in place. Narrowing is the user's choice (a float32 graph fed
    # float64 data), but it must not change what the numbers are: an int that wraps around,
    # or a finite float that becomes inf, is refused rather than computed with.
    with np.errstate(over="ignore", invalid="ignore"):
        converted = arr.astype(dtype)
    if np.can_cast(arr.dtype, dtype, casting="safe"):
        return converted
    if dtype.kind in "iu":
        changed = not np.array_equal(converted, arr)
    else:
        changed = bool(np.any(np.isinf(converted) & ~np.isinf(arr)))
    if changed:
        raise FeedError(
            f"input {name!r} expects {expected} ({dtype}); the {arr.dtype} values fed do not fit in {dtype} "
            f"(out of range) {declared}"
        )
    return converted


def format_spec_of(arr: np.ndarray[Any, Any]) -> str:
    """An array's spec in listing form, ``f64[10,2]``."""
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
