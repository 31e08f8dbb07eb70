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
from .arrays import NUMPY, ArrayLibrary, common_library, leaf_value
from .errors import ExecutionError
from .feeds import NEUTRAL_FEEDS, Feeds, format_spec_of, read_only, resolve_feeds
from .graph import Graph, Outputs
from .node import Node
from .op import Constant, Input, Parameter
from .plan import LibraryRun, Plan, forward_on, memory_traits, plan_for, run_graph
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
        if input_values and type(input_values[0]) is not np.ndarray:
            library = common_library(input_values)
            if library is not NUMPY:
                return forward_on(node, library)(*input_values)
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
        env, library = bind_feeds(plan, feeds)
        observers = tuple(observers)
        if trace is None and not observers and type(self).step is _DEFAULT_STEP:
            execute(plan, env, library=library)
        else:
            self._run_stepwise(plan, env, observers, trace, library)
        return collect_results(env, plan, type(outputs) is Node, library)

    def _run_stepwise(self, plan: Plan, env: list[Any], observers: tuple[Observer, ...],
                      trace: MutableMapping[Node, Any] | None, library: ArrayLibrary = NUMPY) -> None:
        # Every node through self.step and the observers; no buffer is reused, since a
        # subclass or an observer may hold on to any value it saw.
        keep_all = trace is not None
        slot = plan.slot
        wants: dict[Node, Any] = {}
        if library is not NUMPY:
            run = plan.on(library)  # refuses, before anything runs, an op that computes with numpy only
            wants = {step[4]: want for step, want in zip(run.steps, run.dtypes)}
        for k, node in enumerate(plan.nodes):
            # Like torch.fx's placeholders, inputs go through step too, so that a subclass sees
            # every node: the fed array is the input node's one input value.
            args = [env[k]] if isinstance(node.op, Input) else [env[slot[i]] for i in node.inputs]
            if library is not NUMPY and (type(node.op) is Parameter or type(node.op) is Constant):
                self.step(node, args)
                env[k] = value = leaf_on(plan, node, library)
            else:
                try:
                    value = self.step(node, args)
                    want = wants.get(node)
                    if want is not None and (type(value) is not library.array_type or value.dtype != want):  # type: ignore[attr-defined]
                        value = library_result(value, want, library, node, args)
                except Exception as e:
                    raise execution_error(plan, node, args, e) from e
            env[k] = value
            for observe in observers:
                observe(node, value)
            if not keep_all:
                for dead in plan.release[k]:
                    env[slot[dead]] = None
        if trace is not None:
            if library is not NUMPY:
                env = [handed_back(v, n, library) for v, n in zip(env, plan.nodes)]
            trace.update(zip(plan.nodes, env))


_DEFAULT_STEP = Executor.step


def collect_results(env: list[Any], plan: Plan, single: bool, library: ArrayLibrary = NUMPY) -> Any:
    """The outputs' values from a finished run's slots: one array, or a list of them."""
    if library is not NUMPY:
        values = [handed_back(env[k], plan.nodes[k], library) for k in plan.output_slots]
        return values[0] if single else values
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


def handed_back(value: Any, node: Node, library: ArrayLibrary) -> Any:
    """``node``'s value on ``library`` as the caller gets it: an array of it that no later run shares.

    Never the cached copy of a parameter or constant, nor a view of one (``W.T``, a reshape): that
    library's arrays can't be read-only, as numpy's are, and a write into one would change every
    later run. Results of ops declaring fresh outputs are new arrays; the others may be views, and
    are copied.
    """
    if not isinstance(value, library.array_type):
        return library.asarray(value)
    if isinstance(node.op, Input) or memory_traits(node.op)[0]:
        return value
    return library.xp.asarray(value, copy=True)


def execute(plan: Plan, env: list[Any], call: StepCall | None = None, library: ArrayLibrary = NUMPY) -> None:
    """Run ``plan``'s steps on ``env`` (one value per slot, inputs filled), applying its memory plan."""
    if library is not NUMPY:
        _execute_on(plan, plan.on(library), env, library, call)
        return
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


def _execute_on(plan: Plan, run: LibraryRun, env: list[Any], library: ArrayLibrary, call: StepCall | None) -> None:
    # The loop of _execute for another array library: its leaves' copies, no memory plan, and
    # each result's dtype checked, since each library has its own promotion rules.
    step: Any = None
    for k, _ in plan.loads:
        env[k] = leaf_on(plan, plan.nodes[k], library)
    array_type = library.array_type
    try:
        for step, want in zip(run.steps, run.dtypes):
            fn, get, out, dead, _ = step
            value = fn(*get(env)) if call is None else call(fn, get(env))
            if type(value) is not array_type or value.dtype != want:  # type: ignore[attr-defined]
                value = library_result(value, want, library, step[4], get(env))
            env[out] = value
            for d in dead:
                env[d] = None
    except Exception as e:
        node = step[4]
        raise execution_error(plan, node, [env[plan.slot[i]] for i in node.inputs], e) from e


def leaf_on(plan: Plan | Graph, node: Node, library: ArrayLibrary) -> Any:
    """A parameter's or constant's value on ``library`` (converted once), or an ``ExecutionError`` naming it."""
    try:
        return leaf_value(node.op, library)
    except TypeError as e:
        graph = plan if isinstance(plan, Graph) else run_graph(plan)
        raise ExecutionError(
            f"{printable(graph.name_of(node))} ({node.dtype}) cannot move to {library.name}: {e}\n"
            f"  node created at {node.site.describe()}"
        ) from None


def library_result(value: Any, want: Any, library: ArrayLibrary, node: Node, args: Any) -> Any:
    """A step's result on ``library`` that is not an array of it of dtype ``want``: converted, or an error.

    An op computed from constants only (numpy arrays, Python scalars) gives numpy's result, which
    moves to the library once. Given the library's arrays, an op must compute with that library:
    a numpy result then means a silent copy to the host and back, and another dtype means the op
    followed its library's promotion rules instead of numpy's; both are errors.
    """
    args = args if isinstance(args, (list, tuple)) else (args,)
    cls = type(node.op).__name__
    if not isinstance(value, library.array_type):
        if any(isinstance(a, library.array_type) for a in args):
            raise TypeError(
                f"{cls}.forward was given {library.name} arrays and returned a {type(value).__module__}."
                f"{type(value).__qualname__}: it computed outside {library.name} (a copy to the host and back). "
                f"Compute with xp = tg.array_namespace(*values), or declare arrays = \"via-numpy\" to allow "
                f"the copy with a warning (docs/extending.md)"
            )
        value = library.xp.asarray(library.asarray(value), dtype=want)
    if value.dtype != want:
        raise TypeError(
            f"{cls}.forward returned {library.name} {value.dtype}; the graph computes {node.dtype} here: the "
            f"op does not follow numpy's dtype rules on {library.name}"
        )
    return value


def bind_feeds(plan: Plan, feeds: Feeds | None) -> tuple[list[Any], ArrayLibrary]:
    """A fresh slot list for one run of ``plan``, with the checked feeds in the inputs' slots; their library."""
    env: list[Any] = [None] * len(plan.nodes)
    keys = plan.feed_keys
    ndarray = np.ndarray
    if type(feeds) is dict and len(feeds) == len(plan.input_slots):
        for key, value in feeds.items():
            entry = keys.get(key) if type(key) is str or type(key) is Node else None
            if entry is None or type(value) is not ndarray and not isinstance(value, NEUTRAL_FEEDS):
                break  # another library's array: the slow path finds the run's library
            k, check = entry
            env[k] = check(value)
        else:
            for k in plan.input_slots:
                if env[k] is None:
                    break  # an input fed twice (by node and by name), another one missing
            else:
                return env, NUMPY
        env = [None] * len(plan.nodes)
    resolved = resolve_feeds(plan.graph, feeds)
    library = common_library(resolved.values())
    protect = plan.protect_feeds and library is NUMPY  # on other libraries: copies (plan.forward_on)
    for node, value in resolved.items():
        env[plan.slot[node]] = read_only(value) if protect else value
    return env, library


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
        env, library = bind_feeds(plan, feeds)
        execute(plan, env, library=library)
        return collect_results(env, plan, type(outputs) is Node, library)
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
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"<{type(value).__module__.split('.')[0]} {dtype} {tuple(shape)}>"
    return f"<{type(value).__name__}>"


def execution_error(plan: Plan | Graph, node: Node, args: list[Any], error: Exception) -> ExecutionError:
    """The ``ExecutionError`` for ``node`` failing: its name in the graph run, op, operand shapes, site."""
    graph = plan if isinstance(plan, Graph) else run_graph(plan)
    shapes = ", ".join(f"{printable(graph.name_of(i))} {_describe_value(a)}" for i, a in zip(node.inputs, args))
    return ExecutionError(
        f"evaluating {printable(graph.name_of(node))} = {node.op!r}({shapes}) failed: {type(error).__name__}: {error}\n"
        f"  node created at {node.site.describe()}"
    )
