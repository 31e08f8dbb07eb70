"""Execution plans: everything about running some outputs that does not depend on the feeds.

A ``Plan`` is computed once per tuple of outputs and cached (``plan_for``): the
topological order, a slot per node, which values die after each step, how feeds
are matched and checked, and the memory plan, i.e. which steps write their result
into the buffer of an operand that dies there instead of allocating. Everything
about an op comes from what it declares (``fresh_output``, ``forward_into``, its
kernel): the planner names no op. Graphs are immutable, so a plan stays valid until
one of its inputs is renamed; it is stored on the last output node, so a graph the
user drops is collected with its plans.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable
from typing import Any

from ._gc import gc_paused
from .arrays import ArrayLibrary, array_namespace, via_numpy
from .errors import ExecutionError
from .feeds import FeedCheck, fast_check, read_only
from .graph import Graph, Outputs, as_output_list, topological_order
from .node import Node, Op, declared_with_forward, fast_kernel
from .op import Constant, Input, Parameter
from .shapes import Spec
from .text import printable

# How many different output tuples one node keeps plans for (evaluate(y), evaluate([y, h]), ...).
_MAX_PLANS_PER_NODE = 8

# Per op class, weakly: classes made by a factory and dropped must not be kept alive here.
_TRAITS: weakref.WeakKeyDictionary[type, tuple[bool, bool]] = weakref.WeakKeyDictionary()


def memory_traits(op: Op) -> tuple[bool, Callable[..., Any] | None]:
    """``(fresh_output, forward_into)`` of ``op``, trusted only if declared with its ``forward``."""
    cls = type(op)
    flags = _TRAITS.get(cls)
    if flags is None:
        fresh = bool(cls.fresh_output) and declared_with_forward(cls, "fresh_output")
        into = cls.forward_into is not None and declared_with_forward(cls, "forward_into")
        flags = _TRAITS[cls] = (fresh, into)
    return flags[0], (op.forward_into if flags[1] else None)


def _broadcast_keeps(target: Spec, others: list[Spec]) -> bool:
    # Whether broadcasting ``others`` against an operand of spec ``target`` surely leaves its
    # shape unchanged at run time: a None dim of the operand is safe only where the other
    # operands have no dim or a fixed 1 (another None could be larger).
    nd = len(target.shape)
    for axis, dim in enumerate(target.shape):
        if dim is not None:
            continue
        for other in others:
            k = axis - (nd - len(other.shape))
            if k >= 0 and other.shape[k] != 1:
                return False
    return True


def plan_inplace(nodes: tuple[Node, ...], ins: list[list[int]], last: list[int], outputs: set[int],
                 kernels: list[Any]) -> tuple[dict[Node, int], set[Node]]:
    """For each node that writes in place: the position of the operand whose buffer it reuses.

    ``ins[k]`` are node ``k``'s operand slots, ``last[i]`` the step that reads slot ``i`` last,
    ``outputs`` the output slots, ``kernels[k]`` the ufunc node ``k`` runs (or ``None``). The
    operand must die at that node, not be an output, be owned (produced by an op with a fresh
    output and read only by such ops, so no view of it exists), and have the node's exact dtype
    and shape. Inputs, parameters and constants are never owned, hence never written. Where the
    shape is only known to match if the other operands' ``None`` dims do (``h + g``, both
    ``(None, 4)``), a ufunc kernel still reuses it after a run-time shape comparison: those
    nodes are also returned in the second, "guarded" set.
    """
    # Plain lists indexed by slot: on a 100,000-node graph, dicts keyed by nodes cost cache misses.
    traits = [memory_traits(n.op) for n in nodes]
    owned = [t[0] for t in traits]
    for k, args in enumerate(ins):
        if not traits[k][0]:
            for i in args:
                owned[i] = False  # read by an op whose result may be a view of it
    specs = [n.spec for n in nodes]
    inplace: dict[Node, int] = {}
    guarded: set[Node] = set()
    for k, node in enumerate(nodes):
        spec = specs[k]
        if traits[k][1] is None or not spec.shape:
            continue
        args = ins[k]
        fallback: int | None = None
        for j, i in enumerate(args):
            ospec = specs[i]
            if last[i] == k and owned[i] and i not in outputs and ospec.dtype == spec.dtype \
                    and ospec.shape == spec.shape:
                if len(args) == 1 or _broadcast_keeps(ospec, [specs[o] for m, o in enumerate(args) if m != j]):
                    inplace[node] = j
                    break
                if kernels[k] is not None and fallback is None:
                    fallback = j
        else:
            if fallback is not None:
                inplace[node] = fallback
                guarded.add(node)
    return inplace, guarded


def step_call(node: Node, args: list[Any], kernel: Any, inplace: int | None,
              guarded: bool = False) -> tuple[Callable[..., Any], list[Any]]:
    """The function a step calls and its arguments (``args`` are the operands, in order).

    An op with a ufunc kernel is called directly (``out`` passed positionally when the step
    writes in place); any other op runs ``forward`` or ``forward_into(out, ...)``.
    """
    if kernel is not None:
        if guarded:
            assert inplace is not None
            return _guarded_ufunc(kernel, inplace), args
        return kernel, args if inplace is None else [*args, args[inplace]]
    if inplace is None:
        return node.op.forward, args
    into = memory_traits(node.op)[1]
    assert into is not None
    return into, [args[inplace], *args]


def _guarded_ufunc(ufunc: Any, donor: int) -> Callable[..., Any]:
    # ufunc(*values, out=values[donor]) when every operand has the donor's shape, else a new array.
    def step(*values: Any) -> Any:
        shape = values[donor].shape
        for v in values:
            if getattr(v, "shape", None) != shape:  # a custom op may hand over a non-array
                return ufunc(*values)
        return ufunc(*values, values[donor])
    return step


def slot_getter(slots: list[int]) -> Callable[[list[Any]], Any]:
    """A function of the slot list giving the values in ``slots``, as a sequence to unpack."""
    # itemgetter fetches the arguments in C; a slice keeps a single argument in a list.
    if len(slots) > 1:
        return operator.itemgetter(*slots)
    return operator.itemgetter(slice(slots[0], slots[0] + 1) if slots else slice(0, 0))


def forward_on(node: Node, library: ArrayLibrary, graph: Graph | None = None) -> Callable[..., Any]:
    """What computes ``node`` on ``library``'s arrays, as its op declares in ``Op.arrays``.

    ``"any"``: ``forward`` itself; ``"via-numpy"``: ``forward`` on numpy copies, with a warning;
    a plain numpy op: an ``ExecutionError`` naming the op and saying how to write it for any library.
    """
    op = node.op
    cls = type(op)
    mode = cls.arrays if declared_with_forward(cls, "arrays") else "numpy"
    if mode == "any":
        return op.forward if cls.__module__.startswith("tinygraph.") else _on_copies(node, op.forward)
    if mode == "via-numpy":
        forward = op.forward
        what = f"{cls.__name__} ({cls.__module__})"

        def through_numpy(*values: Any) -> Any:
            return via_numpy(what, forward, values)
        return through_numpy
    name = printable(graph.name_of(node) if graph is not None else node.name)
    raise ExecutionError(
        f"{name} = {op!r} computes with numpy only, and this run's feeds are {library.name} arrays: "
        f"{cls.__module__}.{cls.__qualname__} does not declare arrays = \"any\". To run it on any array "
        f"library, write its forward with xp = tg.array_namespace(*values) and the array API's functions, and "
        f"declare arrays = \"any\" (docs/scale.md); or feed numpy arrays.\n  node created at {node.site.describe()}"
    )


def _on_copies(node: Node, forward: Callable[..., Any]) -> Callable[..., Any]:
    # An op from outside tinygraph gets its fed and leaf operands as copies on other libraries,
    # whose arrays can't be read-only as numpy feeds and parameters are: writing into one must
    # change neither the user's array, nor a parameter's cached copy, nor what other ops read.
    guarded = [j for j, i in enumerate(node.inputs) if isinstance(i.op, Input) or type(i.op) in (Parameter, Constant)]
    if not guarded:
        return forward

    def on_copies(*values: Any) -> Any:
        args = list(values)
        for j in guarded:
            v = args[j]
            if not isinstance(v, (int, float, complex, bool)):
                args[j] = array_namespace(v).asarray(v, copy=True)
        return forward(*args)
    return on_copies


class LibraryRun:
    """A plan's steps for one array library other than numpy: no ufunc kernels, no writing in place.

    ``steps`` have the form of ``Plan.steps``; ``dtypes[i]`` is the library's dtype that step ``i``
    must return (an op whose result's dtype differs from its spec is an error, not a silent change).
    """

    def __init__(self, plan: Plan, library: ArrayLibrary) -> None:
        graph = plan.graph
        self.steps: list[Step] = []
        self.dtypes: list[Any] = []
        slot = plan.slot
        for _, _, out, dead, node in plan.steps:  # the numpy steps' order and release points
            op = node.op
            fn = forward_on(node, library, graph)
            try:
                want = library.dtype(node.dtype)
            except TypeError as e:
                raise ExecutionError(
                    f"{printable(graph.name_of(node))} = {op!r} computes in {node.dtype}, and {e}: feed numpy "
                    f"arrays, or cast to a dtype {library.name} has\n  node created at {node.site.describe()}"
                ) from None
            self.steps.append((fn, slot_getter([slot[i] for i in node.inputs]), out, dead, node))
            self.dtypes.append(want)


def _then_read_only(check: FeedCheck) -> FeedCheck:
    def checked(value: Any) -> Any:
        return read_only(check(value))
    return checked


Step = tuple[Callable[..., Any], Callable[[list[Any]], Any], int, tuple[int, ...], Node]


class Plan:
    """What running some outputs takes: order, slots, release points, feed checks, memory plan."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes = graph.nodes
        nodes = self.nodes
        #: The inputs' names when planned: feeds are matched by them, so renaming one retires the plan.
        self.input_names = tuple((n, n.user_name) for n in graph.inputs)
        self.slot: dict[Node, int] = {n: k for k, n in enumerate(nodes)}
        slot = self.slot
        ins = [[slot[i] for i in n.inputs] for n in nodes]
        last = [-1] * len(nodes)
        for step, args in enumerate(ins):
            for i in args:
                last[i] = step
        outputs = {slot[n] for n in graph.outputs}
        #: ``release[k]``: the values no step after ``k`` reads (outputs are never released).
        self.release: list[list[Node]] = [[] for _ in nodes]
        dead_at: list[list[int]] = [[] for _ in nodes]
        for i, step in enumerate(last):
            if step >= 0 and i not in outputs:
                self.release[step].append(nodes[i])
                dead_at[step].append(i)
        #: ``kernels[k]``: the ufunc step ``k`` calls directly, or ``None`` to call the op.
        self.kernels: list[Any] = [fast_kernel(n.op, n) if n.inputs else None for n in nodes]
        #: node -> position of the dying operand whose buffer it writes its result into; the
        #: ``guarded`` ones only when, at run time, all operands have that operand's shape.
        self.inplace, self.guarded = plan_inplace(nodes, ins, last, outputs, self.kernels)
        self.output_slots: tuple[int, ...] = tuple(self.slot[n] for n in graph.outputs)
        self.input_slots: tuple[int, ...] = tuple(self.slot[n] for n in graph.inputs)
        #: Whether ops from outside tinygraph run: they get the user's feeds as read-only views,
        #: so that a custom op writing into its operand fails loudly instead of changing user data.
        self.protect_feeds = any(not type(n.op).__module__.startswith("tinygraph.") for n in nodes)
        #: feed key (input node or its name) -> (slot, check); other keys take the slow path.
        self.feed_keys: dict[Any, tuple[int, FeedCheck]] = {}
        for n in graph.inputs:
            check = fast_check(n, graph.name_of(n))
            entry = (self.slot[n], _then_read_only(check) if self.protect_feeds else check)
            self.feed_keys[n] = entry
            self.feed_keys[graph.name_of(n)] = entry
        #: parameters and constants: (slot, op), their values read at the start of each run.
        self.loads: list[tuple[int, Op]] = []
        #: the other steps: (function, getter of its arguments from the slot list, result slot,
        #: slots dead afterwards, node); ``env[out] = fn(*get(env))``.
        self.steps: list[Step] = []
        for k, node in enumerate(nodes):
            op = node.op
            if isinstance(op, Input):
                continue
            if type(op) is Parameter or type(op) is Constant:
                self.loads.append((k, op))
                continue
            fn, args = step_call(node, ins[k], self.kernels[k], self.inplace.get(node), node in self.guarded)
            self.steps.append((fn, slot_getter(args), k, tuple(dead_at[k]), node))
        #: Steps for other array libraries, by library name (``on``).
        self._library_runs: dict[str, LibraryRun] = {}

    def on(self, library: ArrayLibrary) -> LibraryRun:
        """The steps for running on ``library``'s arrays, on any device (made on first use, then kept)."""
        runs = self._library_runs
        run = runs.get(library.name)
        if run is None:
            run = runs[library.name] = LibraryRun(self, library)
        return run

    def current(self) -> bool:
        """Whether no input was renamed since the plan was made."""
        return all(n._name == name for n, name in self.input_names)

    def __repr__(self) -> str:
        return f"<Plan {len(self.nodes)} nodes, {len(self.inplace)} in place: {self.graph!r}>"


class PlanCache(dict):  # type: ignore[type-arg]
    """A node's cached plans, by outputs tuple; pickling or copying the node leaves them behind.

    Plans hold bound methods and closures and are cheap to recompute, so a pickled, copied
    or deep-copied node starts with an empty cache instead of failing or duplicating it.
    """

    def __reduce_ex__(self, protocol: Any) -> tuple[type, tuple[()]]:
        return (PlanCache, ())

    def __copy__(self) -> PlanCache:
        return PlanCache()

    def __deepcopy__(self, memo: Any) -> PlanCache:
        return PlanCache()


def plan_for(outputs: Outputs) -> Plan:
    """The cached plan for ``outputs`` (a Node, a sequence of Nodes or a Graph), made on first use."""
    if isinstance(outputs, Graph):
        # A Graph's names are the snapshot it took when built; its plan lives and dies with it.
        plan = outputs._plan
        if plan is None:
            with gc_paused():
                plan = outputs._plan = Plan(outputs)
        return plan  # type: ignore[no-any-return]
    key: tuple[Node, ...] = (outputs,) if type(outputs) is Node else as_output_list(outputs)
    holder = key[-1]
    plans = getattr(holder, "_plans", None)  # absent on a node made without __init__
    if plans is not None:
        plan = plans.get(key)
        if plan is not None and plan.current():
            return plan  # type: ignore[no-any-return]
    with gc_paused():
        plan = Plan(Graph(key))
    if len(key) > 1 and not _reaches_all(holder, key):
        # The plan holds every output's nodes: kept on ``holder``, it would keep alive the graph
        # of an output the user has dropped. Only a holder that depends on all the others
        # (evaluate([h, y]) with h inside y, the usual case) can keep it for free.
        return plan
    if plans is None:
        plans = holder._plans = PlanCache()
    elif len(plans) >= _MAX_PLANS_PER_NODE and key not in plans:
        try:
            del plans[next(iter(plans))]
        except (KeyError, RuntimeError, StopIteration):
            pass  # another thread evicted or added one meanwhile: the cache is only a cache
    plans[key] = plan
    return plan


def _reaches_all(holder: Node, outputs: tuple[Node, ...]) -> bool:
    ancestors = set(topological_order([holder]))
    return all(o in ancestors for o in outputs)


def run_graph(plan: Plan) -> Graph:
    """The graph whose names a run of ``plan`` reports in errors: the plan's own, or renamed since."""
    graph = plan.graph
    if graph._plan is plan:
        return graph  # a Graph the user built: its names are the snapshot it took
    return Graph(graph.outputs)  # planned for nodes: names as they are now
