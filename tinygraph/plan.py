"""Execution plans: everything about running some outputs that does not depend on the feeds.

A ``Plan`` is computed once per tuple of outputs and cached (``plan_for``): the
topological order, a slot per node, which values die after each step, how feeds
are matched and checked, and the memory plan, i.e. which elementwise steps write
their result into the buffer of an operand that dies there instead of
allocating. Graphs are immutable, so the plan stays valid; it is stored on the
first output node, so a graph the user drops is collected with its plans.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from . import node as _node_module
from ._gc import gc_paused
from .graph import Graph, Outputs, as_output_list, topological_order
from .node import Node
from .op import Constant, Input, Op, Parameter
from .ops import Elementwise, MatMul
from .shapes import Spec

# How many different output tuples one node keeps plans for (evaluate(y), evaluate([y, h]), ...).
_MAX_PLANS_PER_NODE = 8

FeedCheck = Callable[[Any], Any]


def _provider(cls: type, attr: str) -> type:
    for klass in cls.__mro__:
        if attr in klass.__dict__:
            return klass
    return object


def memory_traits(op: Op) -> tuple[bool, Callable[..., Any] | None]:
    """``(fresh_output, forward_into)`` of ``op``, trusted only if declared with its ``forward``.

    A subclass that overrides ``forward`` (say, to return an input unchanged) must not inherit
    its base's promises about memory, so both count only when the class declaring them is the
    one defining ``forward`` or a subclass of it.
    """
    cls = type(op)
    flags = _TRAITS.get(cls)
    if flags is None:
        defines_forward = _provider(cls, "forward")
        fresh = bool(cls.fresh_output) and issubclass(_provider(cls, "fresh_output"), defines_forward)
        into = cls.forward_into is not None and issubclass(_provider(cls, "forward_into"), defines_forward)
        flags = _TRAITS[cls] = (fresh, into)
    return flags[0], (op.forward_into if flags[1] else None)


# Per op class; a class's attributes are not expected to change after its first use.
_TRAITS: dict[type, tuple[bool, bool]] = {}


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


def plan_inplace(nodes: tuple[Node, ...], ins: list[list[int]], last: list[int],
                 outputs: set[int]) -> tuple[dict[Node, int], set[Node]]:
    """For each node that writes in place: the position of the operand whose buffer it reuses.

    ``ins[k]`` are node ``k``'s operand slots, ``last[i]`` the step that reads slot ``i`` last,
    ``outputs`` the output slots. The operand must die at that node, not be an output, be owned
    (produced by an op with a fresh output and read only by such ops, so no view of it exists),
    and have the node's exact dtype and shape. Inputs, parameters and constants are never
    owned, hence never written. Where the shape is only known to match if the other operands'
    ``None`` dims do (``h + g``, both ``(None, 4)``), a built-in ufunc op still reuses it after
    a run-time shape comparison: those nodes are also returned in the second, "guarded" set.
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
        op = node.op
        ufunc_op = isinstance(op, Elementwise) and type(op).forward is Elementwise.forward \
            and type(op).forward_into is Elementwise.forward_into
        fallback: int | None = None
        for j, i in enumerate(args):
            ospec = specs[i]
            if (
                last[i] == k
                and owned[i]
                and i not in outputs
                and ospec.dtype == spec.dtype
                and ospec.shape == spec.shape
            ):
                if len(args) == 1 or _broadcast_keeps(ospec, [specs[o] for m, o in enumerate(args) if m != j]):
                    inplace[node] = j
                    break
                if ufunc_op and fallback is None:
                    fallback = j
        else:
            if fallback is not None:
                inplace[node] = fallback
                guarded.add(node)
    return inplace, guarded


def step_call(node: Node, args: list[Any], inplace: int | None,
              guarded: bool = False) -> tuple[Callable[..., Any], list[Any]]:
    """The function a step calls and its arguments (``args`` are the operands, in order).

    Built-in ufunc ops and matmul call numpy directly (``out`` passed positionally when the
    step writes in place); any other op calls ``forward`` or ``forward_into(out, ...)``.
    """
    op = node.op
    cls = type(op)
    if isinstance(op, Elementwise) and cls.forward is Elementwise.forward and \
            cls.forward_into is Elementwise.forward_into:
        if guarded:
            assert inplace is not None
            return _guarded_ufunc(op.ufunc, inplace), args
        return op.ufunc, args if inplace is None else [*args, args[inplace]]
    if isinstance(op, MatMul) and cls.forward is MatMul.forward:
        return np.matmul, args
    if inplace is None:
        return op.forward, args
    into = memory_traits(op)[1]
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


def read_only(value: Any) -> Any:
    """A read-only view of a writeable ndarray; anything else as it is."""
    if type(value) is np.ndarray and value.flags.writeable:
        value = value.view()
        value.flags.writeable = False
    return value


def _then_read_only(check: FeedCheck) -> FeedCheck:
    def checked(value: Any) -> Any:
        return read_only(check(value))
    return checked


def _fast_check(node: Node, name: str) -> FeedCheck:
    # The common case (an ndarray of exactly the declared dtype and a fitting shape) is
    # accepted with a few attribute reads; anything else goes through check_feed, which
    # converts or raises the FeedError.
    from .executor import check_feed

    spec = node.spec
    dtype = spec.dtype
    ndim = len(spec.shape)
    fixed = tuple((i, d) for i, d in enumerate(spec.shape) if d is not None)
    ndarray = np.ndarray

    def slow(value: Any) -> Any:
        return check_feed(node, name, value)

    if not fixed:
        def check(value: Any) -> Any:
            if type(value) is ndarray and value.dtype is dtype and value.ndim == ndim:
                return value
            return slow(value)
    elif len(fixed) == 1:
        (axis, size), = fixed

        def check(value: Any) -> Any:
            if type(value) is ndarray and value.dtype is dtype and value.ndim == ndim and value.shape[axis] == size:
                return value
            return slow(value)
    else:
        def check(value: Any) -> Any:
            if type(value) is ndarray and value.dtype is dtype and value.ndim == ndim:
                shape = value.shape
                for axis, size in fixed:
                    if shape[axis] != size:
                        return slow(value)
                return value
            return slow(value)
    return check


class Plan:
    """What running some outputs takes: order, slots, release points, feed checks, memory plan."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes = graph.nodes
        self.epoch = _node_module._rename_epoch
        nodes = self.nodes
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
        #: node -> position of the dying operand whose buffer it writes its result into; the
        #: ``guarded`` ones only when, at run time, all operands have that operand's shape.
        self.inplace, self.guarded = plan_inplace(nodes, ins, last, outputs)
        self.output_slots: tuple[int, ...] = tuple(self.slot[n] for n in graph.outputs)
        self.input_slots: tuple[int, ...] = tuple(self.slot[n] for n in graph.inputs)
        #: Whether ops from outside tinygraph run: they get the user's feeds as read-only views,
        #: so that a custom op writing into its operand fails loudly instead of changing user data.
        self.protect_feeds = any(not type(n.op).__module__.startswith("tinygraph.") for n in nodes)
        #: feed key (input node or its name) -> (slot, check); other keys take the slow path.
        self.feed_keys: dict[Any, tuple[int, FeedCheck]] = {}
        for n in graph.inputs:
            check = _fast_check(n, graph.name_of(n))
            entry = (self.slot[n], _then_read_only(check) if self.protect_feeds else check)
            self.feed_keys[n] = entry
            self.feed_keys[graph.name_of(n)] = entry
        #: parameters and constants: (slot, op), their values read at the start of each run.
        self.loads: list[tuple[int, Op]] = []
        #: the other steps: (function, getter of its arguments from the slot list, result slot,
        #: slots dead afterwards, node); ``env[out] = fn(*get(env))``.
        self.steps: list[tuple[Callable[..., Any], Callable[[list[Any]], Any], int, tuple[int, ...], Node]] = []
        for k, node in enumerate(nodes):
            op = node.op
            if isinstance(op, Input):
                continue
            if type(op) is Parameter or type(op) is Constant:
                self.loads.append((k, op))
                continue
            fn, args = step_call(node, ins[k], self.inplace.get(node), node in self.guarded)
            # itemgetter fetches the arguments in C; a slice keeps a single argument in a list.
            get = operator.itemgetter(*args) if len(args) > 1 else \
                operator.itemgetter(slice(args[0], args[0] + 1) if args else slice(0, 0))
            dead = tuple(dead_at[k])
            self.steps.append((fn, get, k, dead, node))

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
        if plan is not None and plan.epoch == _node_module._rename_epoch:
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
