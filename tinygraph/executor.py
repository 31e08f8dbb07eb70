"""The topological executor: runs the forward pass of the nodes some outputs need.

There is one executor, and the reference semantics are its stepwise loop: ``Executor.run``
walks a cached ``Plan`` (the graph's topological order plus, for each step, which values
die there) and calls ``step(node, input_values)`` once per node, inputs included (an
input's one input value is the array fed to it). Subclass and override ``step`` to trace,
profile or check every node, as with ``torch.fx.Interpreter``; or pass ``observers``.

When nothing can watch the intermediate values (``step`` not overridden, no observers, no
trace), ``run`` takes the fast loop over the same plan (``execute``), which also applies the
memory plan: dead intermediates are reused in place. ``tg.compile`` and ``tg.profile`` are
derived from the same plan. Nothing about a run is stored on the nodes, so one graph can
be run from several threads at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any, Union

import numpy as np

from ._gc import gc_paused
from .errors import ExecutionError
from .feeds import Feeds, format_spec_of, read_only, resolve_feeds
from .graph import Graph, Outputs
from .node import Node
from .op import Input
from .plan import Plan, plan_for, run_graph
from .text import printable

__all__ = ["Executor", "Plan", "evaluate", "trace", "execute", "bind_feeds"]

Observer = Callable[[Node, Any], None]
#: What ``evaluate`` takes as outputs: a node, a sequence of nodes, a Graph, or ``{key: node}``.
Requested = Union[Outputs, Mapping[Any, Node]]  # noqa: UP007 (a runtime alias: py3.10 has no "|" on Union strings)


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
        outputs: Requested,
        feeds: Feeds | None = None,
        *,
        observers: Iterable[Observer] = (),
        trace: MutableMapping[Node, Any] | None = None,
    ) -> Any:
        """Evaluate ``outputs``: an array for a Node, a list for a sequence (or a Graph), a dict for a dict.

        ``feeds`` maps input nodes or input names to arrays. ``observers`` are called as
        ``f(node, value)`` after each node. Intermediates are freed once dead unless
        ``trace`` is given: then every node's value is stored in it (for a reverse pass).
        """
        if isinstance(outputs, Mapping):
            keys = list(outputs)
            values = self.run([outputs[k] for k in keys], feeds, observers=observers, trace=trace)
            return dict(zip(keys, values))
        plan = self.plan(outputs)
        env = bind_feeds(plan, feeds)
        observers = tuple(observers)
        if trace is None and not observers and type(self).step is _DEFAULT_STEP:
            execute(plan, env)
        else:
            self._run_stepwise(plan, env, observers, trace)
        return collect_results(env, plan, type(outputs) is Node)

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
                raise execution_error(plan, node, args, e) from e
            env[k] = value
            for observe in observers:
                observe(node, value)
            if not keep_all:
                for dead in plan.release[k]:
                    env[slot[dead]] = None
        if trace is not None:
            trace.update(zip(plan.nodes, env))


_DEFAULT_STEP = Executor.step


def collect_results(env: list[Any], plan: Plan, single: bool) -> Any:
    """The outputs' values from a finished run's slots: one array, or a list of them."""
    ndarray = np.ndarray
    if single:
        value = env[plan.output_slots[0]]
        return value if type(value) is ndarray else np.asarray(value)
    return [v if type(v) is ndarray else np.asarray(v) for v in (env[k] for k in plan.output_slots)]


# Runs of this many steps or more pause CPython's cyclic collector: a run allocates a
# tracked tuple or list per step and frees them at once, but each of the collections that
# triggers also walks the run's slot list and the plan; the pause costs ~0.1 µs.
GC_PAUSE_STEPS = 2000

#: ``call(fn, args)``: how ``execute`` runs one step when asked to wrap it (``tg.profile`` times it).
StepCall = Callable[[Callable[..., Any], Any], Any]


def execute(plan: Plan, env: list[Any], call: StepCall | None = None) -> None:
    """Run ``plan``'s steps on ``env`` (one value per slot, inputs filled), applying its memory plan."""
    if len(plan.steps) >= GC_PAUSE_STEPS:
        with gc_paused():
            _execute(plan, env, call)
    else:
        _execute(plan, env, call)


def _execute(plan: Plan, env: list[Any], call: StepCall | None) -> None:
    for k, op in plan.loads:
        env[k] = op.value  # type: ignore[attr-defined]  # a parameter or constant
    step: Any = None
    try:
        if call is None:
            for step in plan.steps:
                fn, get, out, dead, _ = step
                env[out] = fn(*get(env))
                for d in dead:
                    env[d] = None
        else:
            for step in plan.steps:
                fn, get, out, dead, _ = step
                env[out] = call(fn, get(env))
                for d in dead:
                    env[d] = None
    except Exception as e:
        node = step[4]
        raise execution_error(plan, node, [env[plan.slot[i]] for i in node.inputs], e) from e


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
    outputs: Requested,
    feeds: Feeds | None = None,
    *,
    observers: Iterable[Observer] = (),
    trace: MutableMapping[Node, Any] | None = None,
) -> Any:
    """Run the forward pass: an array for one output node, a list for several, a dict for a dict."""
    if trace is None and observers == () and not isinstance(outputs, Mapping):
        # Executor.run's fast path, without its extra call: this is the per-call overhead of
        # every small network.
        plan = plan_for(outputs)
        env = bind_feeds(plan, feeds)
        execute(plan, env)
        return collect_results(env, plan, type(outputs) is Node)
    return _EXECUTOR.run(outputs, feeds, observers=observers, trace=trace)


# Executors hold no state, so evaluate shares one.
_EXECUTOR = Executor()


def trace(outputs: Outputs, feeds: Feeds | None = None) -> dict[Node, Any]:
    """Evaluate and keep every node's value: ``{node: value}``, what a reverse pass needs."""
    values: dict[Node, Any] = {}
    _EXECUTOR.run(outputs, feeds, trace=values)
    return values


def _describe_value(value: Any) -> str:
    if isinstance(value, np.ndarray) or np.isscalar(value):
        return format_spec_of(np.asarray(value))
    return f"<{type(value).__name__}>"


def execution_error(plan: Plan | Graph, node: Node, args: list[Any], error: Exception) -> ExecutionError:
    """The ``ExecutionError`` for ``node`` failing: its name in the graph run, op, operand shapes, site."""
    graph = plan if isinstance(plan, Graph) else run_graph(plan)
    shapes = ", ".join(f"{printable(graph.name_of(i))} {_describe_value(a)}" for i, a in zip(node.inputs, args))
    return ExecutionError(
        f"evaluating {printable(graph.name_of(node))} = {node.op!r}({shapes}) failed: {type(error).__name__}: {error}\n"
        f"  node created at {node.site.describe()}"
    )
