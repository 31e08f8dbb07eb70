"""``tg.compile``: a graph as one generated straight-line Python function.

The cached ``Plan`` (order, release points, memory plan) is baked into source
code, one line per node, that calls numpy directly::

    def forward(_self, x=_MISSING, *_args, **_kwargs):
        ...feed checks...
        W1 = _p_W1.value
        try:
            matmul_0 = _matmul(x, W1)  # matmul_0: f64[?,4] = matmul(x, W1)
            add_1 = _add(matmul_0, b1, matmul_0); del matmul_0  # add_1: f64[?,4] = add(matmul_0, b1)  [in place]

``f.source`` shows it (like ``torch.fx.GraphModule.code``), and it is registered
with ``linecache`` so tracebacks through it show these lines. The ops, ufuncs and
parameter ops are bound as globals of the function, so a call does no lookups,
no isinstance checks and no planning. Parameters are read at every call, so
assigning ``W.value`` is honoured. Results are bit-identical to ``tg.evaluate``:
the same plan and the same numpy calls on the same dtypes.
"""

from __future__ import annotations

import builtins
import itertools
import keyword
import linecache
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arrays import NUMPY, ArrayLibrary, common_library
from ..errors import ExecutionError, FeedError, GraphError
from ..executor import execution_error, handed_back, leaf_on, library_result
from ..feeds import NEUTRAL_FEEDS, check_feed, read_only, resolve_feeds
from ..graph import Graph, Outputs
from ..node import Node
from ..op import Constant, Input, Parameter
from ..plan import Plan, memory_traits, plan_for

__all__ = ["CompiledGraph", "compile"]

_counter = itertools.count(1)
_LEAVES = (Constant, Parameter)
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()


class CompiledGraph:
    """A graph compiled to straight-line Python: call it with the inputs' values.

    ``f(x=batch)`` or ``f(batch)`` (positional in ``f.inputs`` order) returns what
    ``tg.evaluate(outputs, {x: batch})`` returns, bit for bit.
    """

    __slots__ = ("graph", "plan", "inputs", "source", "filename", "library_sources", "__weakref__")

    graph: Graph
    plan: Plan
    inputs: tuple[Node, ...]
    source: str
    filename: str
    #: The functions generated for other array libraries, by library name (made at their first call).
    library_sources: dict[str, str]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # replaced by the generated function
        """Run the graph on the inputs' values."""
        raise NotImplementedError

    def __repr__(self) -> str:
        names = ", ".join(self.graph.name_of(n) for n in self.inputs)
        outs = ", ".join(self.graph.name_of(n) for n in self.graph.outputs)
        return f"<CompiledGraph ({names}) -> ({outs}), {len(self.graph)} nodes>"


def _printable(text: str) -> str:
    # Names are the user's (or a loaded file's) text and must never become code: a newline,
    # \u2028 or any other non-printable character in a comment would end it, so they are escaped.
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _identifier(name: str, taken: set[str]) -> str:
    # A readable local variable name: never starts with "_" (helpers own those), not a keyword.
    # Plain ASCII only: Python folds other identifiers by NFKC ("\ufb01" is "fi", "𝐱" is "x"), so
    # two names unique as strings could become one variable, and the function would compute wrong.
    ident = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name)
    if not ident or ident[0].isdigit() or ident[0] == "_":
        ident = "v" + ident
    if keyword.iskeyword(ident):
        ident += "_"
    base, k = ident, 1
    while ident in taken:
        ident, k = f"{base}_{k}", k + 1
    taken.add(ident)
    return ident


class _Codegen:
    def __init__(self, plan: Plan, inputs: tuple[Node, ...]) -> None:
        self.plan = plan
        self.graph = plan.graph
        self.inputs = inputs
        self.globals: dict[str, Any] = {
            "_MISSING": _MISSING, "_type": type, "_getattr": getattr, "_ndarray": np.ndarray, "_Exception": Exception,
            "_locals": locals, "_asarray": np.asarray,
        }
        taken: set[str] = set()
        self.var: dict[Node, str] = {}
        for node in self.graph.nodes:
            if type(node.op) is Constant:
                self.var[node] = self.bind(f"_c_{_identifier(self.graph.name_of(node), set())}", node.op.value)
            else:
                self.var[node] = _identifier(self.graph.name_of(node), taken)
        for node in inputs:
            if node not in self.var:  # listed in inputs but not needed: accepted and ignored
                self.var[node] = _identifier(node.name, taken)
        self.line_node: dict[int, Node] = {}

    def bind(self, name: str, value: Any) -> str:
        """A global name for ``value`` in the generated function."""
        base, k = name, 1
        while name in self.globals and self.globals[name] is not value:
            name, k = f"{base}_{k}", k + 1
        self.globals[name] = value
        return name

    def signature(self) -> list[str]:
        params = ", ".join(f"{self.var[n]}=_MISSING" for n in self.inputs)
        head = f"def forward(_self, {params}, *_args, **_kwargs):" if params else \
            "def forward(_self, *_args, **_kwargs):"
        lines = [head, f"    {repr(self.graph)!r}"]  # repr: a valid literal whatever the names
        missing = " or ".join(f"{self.var[n]} is _MISSING" for n in self.inputs)
        cond = "_args or _kwargs" + (f" or {missing}" if missing else "")
        names = ", ".join(self.var[n] for n in self.inputs)
        if self.inputs:
            lines.append(f"    if {cond}:")
            lines.append(f"        {names}, = _rebind(({names},), _args, _kwargs)")
        else:
            lines.append(f"    if {cond}:")
            lines.append("        _rebind((), _args, _kwargs)")
        needed = [self.var[n] for n in self.inputs if n in self.plan.slot]
        if needed:
            # Lists, scalars and other libraries' arrays: resolved as evaluate does, then run by
            # this function (numpy) or by the one generated for their library.
            lines.append(f"    if {' or '.join(f'_type({v}) is not _ndarray' for v in needed)}:")
            lines.append(f"        return _elsewhere({', '.join(self.var[n] for n in self.inputs)})")
        for node in self.inputs:
            if node not in self.plan.slot:
                continue  # listed in inputs but not needed by these outputs: ignored, as evaluate does
            v = self.var[node]
            spec = node.spec
            dt = self.bind(f"_dtype_{spec.dtype.name}", spec.dtype)
            conds = [f"{v}.dtype is not {dt}", f"{v}.ndim != {len(spec.shape)}"]
            conds += [f"{v}.shape[{i}] != {d}" for i, d in enumerate(spec.shape) if d is not None]
            check = self.bind(f"_check_{v}", _slow_check(node, self.graph.name_of(node)))
            lines.append(f"    if {' or '.join(conds)}:")
            lines.append(f"        {v} = {check}({v})")
            if self.plan.protect_feeds:  # a custom op runs: it sees the feed read-only (see Plan)
                lines.append(f"    {v} = {self.bind('_read_only', read_only)}({v})")
        return lines

    def call(self, node: Node) -> tuple[str, bool]:
        """The expression computing ``node`` and whether it is surely an ndarray (fresh, not 0-d)."""
        op = node.op
        args = [self.var[i] for i in node.inputs]
        j = self.plan.inplace.get(node)
        fresh, into = memory_traits(op)
        dense = fresh and bool(node.spec.shape)
        kernel = self.plan.kernels[self.plan.slot[node]]
        if kernel is not None:
            fn = self.bind(f"_{getattr(kernel, '__name__', 'kernel')}", kernel)
            out = [args[j]] if j is not None else []
            if j is not None and node in self.plan.guarded:
                # reuse the donor only if no operand broadcasts it larger (checked per call)
                same = " == ".join(f"_getattr({a}, 'shape', None)" for a in dict.fromkeys(args))
                out = [f"({args[j]} if {same} else None)"]
            return f"{fn}({', '.join(args + out)})", dense
        if j is not None:
            assert into is not None
            fn = self.bind(f"_into_{self.var[node]}", into)
            return f"{fn}({', '.join([args[j], *args])})", dense
        fn = self.bind(f"_f_{self.var[node]}", op.forward)
        return f"{fn}({', '.join(args)})", dense

    def generate(self) -> str:
        lines = self.signature()
        plan, graph = self.plan, self.graph
        body: list[str] = []
        dense_vars: set[str] = set()
        for k, node in enumerate(plan.nodes):
            op = node.op
            v = self.var[node]
            if isinstance(op, Input) or type(op) is Constant:
                continue
            if type(op) is Parameter:
                lines.append(f"    {v} = {self.bind(f'_p_{v}', op)}.value")
                continue
            expr, dense = self.call(node)
            if dense:
                dense_vars.add(v)
            donor = node.inputs[plan.inplace[node]] if node in plan.inplace and node not in plan.guarded else None
            # Leaves hold memory the caller owns anyway, and a donor's buffer lives on as v.
            dead = [self.var[d] for d in plan.release[k] if d is not donor and type(d.op) not in _LEAVES]
            stmt = f"{v} = {expr}"
            if dead:
                stmt += f"; del {', '.join(dead)}"
            note = "  [in place if shapes match]" if node in plan.guarded else \
                "  [in place]" if node in plan.inplace else ""
            body.append(f"        {stmt}  # {_printable(graph.format_node(node))}{note}")
        returned = [self.var[n] if self.var[n] in dense_vars else f"_asarray({self.var[n]})" for n in graph.outputs]
        if body:
            lines.append("    try:")
            first = len(lines) + 1
            lines.extend(body)
            lines.append("    except _Exception as _e:")
            lines.append("        raise _fail(_e, _locals()) from _e")
            compute = [n for n in plan.nodes if not isinstance(n.op, Input) and type(n.op) not in _LEAVES]
            self.line_node = {first + i: n for i, n in enumerate(compute)}
        result = returned[0] if self.single else "[" + ", ".join(returned) + "]"
        lines.append(f"    return {result}")
        return "\n".join(lines) + "\n"

    single = True


def library_source(gen: _Codegen, library: ArrayLibrary) -> tuple[str, dict[str, Any], dict[int, Node]]:
    """The function computing ``gen``'s plan on ``library``'s arrays, its globals and line -> node map.

    The same straight-line form, against the library: each op's ``forward`` (or its numpy
    fallback, as ``Op.arrays`` declares), parameters and constants as their copies in the
    library, each result's dtype checked as the executor checks it. Feeds arrive checked.
    """
    plan, graph = gen.plan, gen.graph
    run = plan.on(library)  # refuses a numpy-only op, naming it
    env: dict[str, Any] = {"_leaf": lambda node, lib: leaf_on(graph, node, lib), "_result": library_result,
                           "_Exception": Exception, "_locals": locals, "_type": type,
                           "_atype": library.array_type}
    params = ", ".join([gen.var[n] for n in gen.inputs] + ["_lib"])
    lines = [f"def forward_{library.name}({params}):"]
    for node in plan.nodes:
        if type(node.op) in _LEAVES:
            env[f"_n_{gen.var[node]}"] = node
            lines.append(f"    {gen.var[node]} = _leaf(_n_{gen.var[node]}, _lib)")
    body: list[str] = []
    computed: list[Node] = []
    for (fn, _, _, _, node), want in zip(run.steps, run.dtypes):
        v = gen.var[node]
        env[f"_f_{v}"], env[f"_w_{v}"], env[f"_n_{v}"] = fn, want, node
        args = ", ".join(gen.var[i] for i in node.inputs)
        dead = [gen.var[d] for d in plan.release[plan.slot[node]] if type(d.op) not in _LEAVES]
        stmt = f"{v} = _f_{v}({args})  # {_printable(graph.format_node(node))}"
        stmt += (f"\n        if _type({v}) is not _atype or {v}.dtype != _w_{v}: "
                 f"{v} = _result({v}, _w_{v}, _lib, _n_{v}, ({args}{',' if args else ''}))")
        if dead:
            stmt += f"\n        del {', '.join(dead)}"
        body.append(f"        {stmt}")
        computed.append(node)
    line_node: dict[int, Node] = {}
    if body:
        lines.append("    try:")
        for stmt, node in zip(body, computed):
            first = len(lines) + 1
            lines.extend(stmt.split("\n"))
            for k in range(first, len(lines) + 1):
                line_node[k] = node
        lines.append("    except _Exception as _e:")
        lines.append("        raise _fail(_e, _locals()) from _e")
    # Outputs as evaluate hands them back: never a parameter's cached copy or a view of one.
    env["_handed_back"] = handed_back
    for n in graph.outputs:
        env[f"_n_{gen.var[n]}"] = n
    outs = [f"_handed_back({gen.var[n]}, _n_{gen.var[n]}, _lib)" for n in graph.outputs]
    lines.append(f"    return {outs[0] if gen.single else '[' + ', '.join(outs) + ']'}")
    return "\n".join(lines) + "\n", env, line_node


def _slow_check(node: Node, name: str) -> Any:
    def check(value: Any) -> Any:
        return check_feed(node, name, value)
    return check


def input_order(graph: Graph, inputs: Sequence[Node | str] | None) -> tuple[Node, ...]:
    """The positional order of the compiled callable's inputs, checked as ``tg.compile`` checks it."""
    if inputs is None:
        return graph.inputs
    order: list[Node] = []
    for item in inputs:
        if isinstance(item, str):
            try:
                item = graph.input_named(item)
            except GraphError as e:
                raise GraphError(f"tg.compile: {e}") from None
        if not isinstance(item, Node) or not isinstance(item.op, Input):
            raise GraphError(f"tg.compile: inputs must be input nodes or input names, got {item!r}")
        if item in order:
            raise GraphError(f"tg.compile: input {item.name!r} is listed twice in inputs")
        order.append(item)
    left_out = [graph.name_of(n) for n in graph.inputs if n not in order]
    if left_out:
        raise GraphError(f"tg.compile: the outputs need input(s) {', '.join(map(repr, left_out))}, "
                         f"missing from inputs")
    return tuple(order)



def compile(outputs: Outputs, inputs: Sequence[Node | str] | None = None) -> CompiledGraph:  # noqa: A001
    """Compile the graph of ``outputs`` into a callable; ``inputs`` fixes the positional order.

    ``inputs`` defaults to the graph's inputs in topological order. The result reads each
    parameter's current value at every call and validates its arguments like ``evaluate``.
    """
    plan = plan_for(outputs)
    graph = plan.graph
    order = input_order(graph, inputs)
    gen = _Codegen(plan, tuple(order))
    gen.single = type(outputs) is Node
    source = gen.generate()
    filename = f"<tinygraph-compiled-{next(_counter)}>"

    def rebind(given: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        if args:
            raise FeedError(
                f"this compiled graph takes {len(order)} input(s) "
                f"({', '.join(graph.name_of(n) if n in graph else n.name for n in order)}), "
                f"got {len(order) + len(args)} positional values"
            )
        # Positional values keyed by node, the rest by name: resolve_feeds reports unknown
        # names, inputs fed twice and missing inputs exactly as evaluate does.
        feeds: dict[Any, Any] = {n: value for n, value in zip(order, given) if value is not _MISSING}
        feeds.update(kwargs)
        resolved = resolve_feeds(graph, feeds)
        return tuple(resolved.get(n, value) for n, value in zip(order, given))

    def fail(error: Exception, values: dict[str, Any]) -> ExecutionError:
        tb = error.__traceback__
        node = gen.line_node.get(tb.tb_lineno) if tb is not None else None
        if node is None:  # not raised by a node's line: report it plainly
            return ExecutionError(f"compiled graph failed: {type(error).__name__}: {error}")
        args = [gen.globals[gen.var[i]] if type(i.op) is Constant else values.get(gen.var[i]) for i in node.inputs]
        return execution_error(graph, node, args, error)

    on_library: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def for_library(library: ArrayLibrary) -> Any:
        fn = on_library.get(library.name)
        if fn is not None:
            return fn
        text, env, line_node = library_source(gen, library)
        name = f"<tinygraph-compiled-{next(_counter)}-{library.name}>"

        def fail_on(error: Exception, values: dict[str, Any]) -> ExecutionError:
            tb = error.__traceback__
            node = line_node.get(tb.tb_lineno) if tb is not None else None
            if node is None:
                return ExecutionError(f"compiled graph failed: {type(error).__name__}: {error}")
            return execution_error(graph, node, [values.get(gen.var[i]) for i in node.inputs], error)

        env["_fail"] = fail_on
        exec(builtins.compile(text, name, "exec"), env)
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
        sources[library.name] = text
        fn = on_library[library.name] = env[f"forward_{library.name}"]
        return fn

    checks = [_slow_check(n, graph.name_of(n)) if n in plan.slot else None for n in order]

    def elsewhere(*given: Any) -> Any:
        # Feeds that are not all ndarrays: checked as evaluate checks them (lists become the
        # library's arrays, two libraries are refused), then run where they live.
        if all(type(v) is np.ndarray or isinstance(v, NEUTRAL_FEEDS) for v in given):
            return fn(None, *(v if check is None else check(v) for v, check in zip(given, checks)))
        feeds = {n: v for n, v in zip(order, given) if n in plan.slot}
        resolved = resolve_feeds(graph, feeds)
        values = [resolved.get(n, v) for n, v in zip(order, given)]
        library = common_library(resolved.values())
        if library is NUMPY:
            return fn(None, *values)
        return for_library(library)(*values, library)

    gen.globals["_rebind"] = rebind
    gen.globals["_fail"] = fail
    gen.globals["_elsewhere"] = elsewhere
    code = builtins.compile(source, filename, "exec")
    namespace = gen.globals
    exec(code, namespace)
    fn = namespace["forward"]
    fn.__qualname__ = "CompiledGraph.__call__"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    cls = type("CompiledGraph", (CompiledGraph,), {"__call__": fn, "__slots__": (), "__module__": __name__})
    self: CompiledGraph = object.__new__(cls)
    self.graph, self.plan, self.inputs, self.source, self.filename = graph, plan, tuple(order), source, filename
    self.library_sources = sources
    weakref.finalize(self, linecache.cache.pop, filename, None)
    return self

