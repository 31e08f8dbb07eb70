"""``tg.compile(outputs, backend="numba")``: the whole graph as one numba ``njit`` function.

Each op declares its numba lowering (``Op.lowering("numba", node)``): ``("map", t)`` is a
scalar expression, ``("array", t)`` a whole-array one. Chains of "map" nodes whose
intermediate values have no other reader are fused into one loop nest (one pass over
memory, no temporaries); such a loop writes into the buffer of an operand that dies there
(the result of the matmul before it: the bias add and the activation run as the matmul's
epilogue, in its own buffer). The generated module is written to a cache directory named
by its source's hash and compiled with ``cache=True``, so another process compiling the
same graph loads the machine code from disk instead of compiling it again.

Broadcasting follows numpy: sizes known at build time are baked in, the others are read
and checked at run time (a mismatch raises, as numpy does, never reads out of bounds).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..fast.compile import _identifier, _printable, input_order
from ..graph import Outputs
from ..node import Node
from ..op import Constant, Input, Parameter
from ..plan import plan_for
from ._base import BackendGraph, dtype_name, is_leaf, lowerings, make_callable, require

__all__ = ["compile", "cache_dir"]

_HELPERS = '''
@njit(inline="always", cache=True)
def _bdim(n, d):
    # numpy's broadcasting of one dimension: 1 stretches, anything else must agree.
    if d == 1:
        return n
    if n != 1 and n != d:
        raise ValueError("operands could not be broadcast together")
    return d


@njit(inline="always", cache=True)
def _bchk(d, n):
    if d != 1 and d != n:
        raise ValueError("operands could not be broadcast together")
    return 0 if d == 1 else 1
'''


def cache_dir() -> str:
    """Where generated kernels and numba's cache of them live: ``$TINYGRAPH_CACHE_DIR``, else the user's cache."""
    base = os.environ.get("TINYGRAPH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "tinygraph")
    path = os.path.join(base, "numba")
    try:
        os.makedirs(path, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    path = os.path.join(tempfile.gettempdir(), f"tinygraph-numba-{os.getuid() if hasattr(os, 'getuid') else 0}")
    os.makedirs(path, exist_ok=True)
    return path


#: The most lines (calls of fused loops and array ops) compiled as one njit kernel. Numba's compile
#: time grows faster than linearly with a function's size: W3's 400 calls took 174 s as one njit
#: function, and their two distinct helpers a few seconds, called from Python at ~0.3 µs a call.
MAX_NJIT_UNITS = 40
#: Fused loops producing at least this many elements run on numba's threads (``prange``).
PARALLEL_MIN_SIZE = 1 << 16


class _Codegen:
    def __init__(self, plan: Any, decls: dict[Node, Any]) -> None:
        self.plan, self.graph, self.decls = plan, plan.graph, decls
        taken: set[str] = {"np", "njit", "prange", "kernel"}  # helpers are named _f0, _f1...: never a node's name
        self.var = {n: _identifier(self.graph.name_of(n), taken) for n in plan.nodes}
        self.args: list[Node] = [n for n in plan.nodes if is_leaf(n)]
        users: dict[Node, list[Node]] = {n: [] for n in plan.nodes}
        for n in plan.nodes:
            for i in dict.fromkeys(n.inputs):
                users[i].append(n)
        self.users = users
        outputs = set(self.graph.outputs)
        # A "map" node joins its only reader's loop when that reader is a "map" node too.
        self.fused: set[Node] = {
            n for n in plan.nodes
            if n in decls and decls[n][0] == "map" and n not in outputs and len(users[n]) == 1
            and users[n][0] in decls and decls[users[n][0]][0] == "map"
        }
        self.position = {n: k for k, n in enumerate(plan.nodes)}

    def members(self, root: Node) -> list[Node]:
        found: set[Node] = {root}
        stack = [root]
        while stack:
            for i in stack.pop().inputs:
                if i in self.fused and i not in found:
                    found.add(i)
                    stack.append(i)
        return sorted(found, key=self.position.__getitem__)

    def owned(self, node: Node) -> bool:
        """Whether ``node``'s buffer is the function's own (fresh, and no view of it exists)."""
        if is_leaf(node) or node not in self.decls:
            return False
        kind = self.decls[node][0]
        fresh = kind == "map" or type(node.op).fresh_output
        readers_fresh = all(self.decls.get(u, ("", ""))[0] == "map" or type(u.op).fresh_output
                            for u in self.users[node])
        return fresh and readers_fresh and node not in set(self.graph.outputs)

    def convert(self, expr: str, have: np.dtype[Any], want: np.dtype[Any], scalar: bool) -> str:
        if have == want:
            return expr
        return f"np.{dtype_name(want)}({expr})" if scalar else f"{expr}.astype(np.{dtype_name(want)})"

    def helper(self, body: list[str], nargs: int, parallel: bool = False) -> str:
        """The name of a helper function with this body (over ``a0, a1...``), shared by identical ones.

        Every loop and array op becomes a small njit function that the kernel calls: numba
        compiles each distinct one once (W3's 200 identical layers share two), where one
        giant function would take LLVM minutes to optimise.
        """
        text = "\n".join(body)
        name = self.helpers.get(text)
        if name is None:
            name = self.helpers[text] = f"_f{len(self.helpers)}"
        self.helper_args[name] = nargs
        if parallel:
            self.parallel.add(name)
        return name

    def array_node(self, node: Node) -> None:
        template = self.decls[node][1]
        operands = [self.convert(f"a{k}", i.dtype, node.dtype, False) for k, i in enumerate(node.inputs)]
        known = [math.prod(d for d in n.shape if d is not None) for n in (node, *node.inputs)]
        if max(known) >= PARALLEL_MIN_SIZE:
            # A big array op (W2's GEMMs) gains nothing from numba: the kernel's Python driver runs
            # the same numpy expression with numpy itself (numpy's BLAS, numpy's threads).
            operands = [self.convert(self.var[i], i.dtype, node.dtype, False) for i in node.inputs]
            self.python[node] = template.format(*operands)
            self.units.append(([f"# {_printable(self.graph.format_node(node))}  [numpy]"], node, "", list(node.inputs)))
            return
        fn = self.helper([f"    return {template.format(*operands)}"], len(node.inputs))
        self.units.append(([f"# {_printable(self.graph.format_node(node))}"], node, fn, list(node.inputs)))

    def loop(self, root: Node) -> None:
        members = self.members(root)
        inside = set(members)
        leaves = list(dict.fromkeys(i for m in members for i in m.inputs if i not in inside))
        arg = {leaf: f"a{k}" for k, leaf in enumerate(leaves)}
        body: list[str] = []
        r = root.ndim
        out_shape = root.shape
        dims: list[str] = []
        for k in range(r):
            if out_shape[k] is not None:
                dims.append(str(out_shape[k]))
                continue
            expr = "1"
            for leaf in leaves:
                j = k - (r - leaf.ndim)
                if j >= 0 and leaf.shape[j] is None:
                    expr = f"_bdim({expr}, {arg[leaf]}.shape[{j}])"
            body.append(f"    n{k} = {expr}")
            dims.append(f"n{k}")
        # index expression of each leaf; unknown dims get a run-time stride of 0 or 1, checked
        index: dict[Node, str] = {}
        for leaf in leaves:
            if leaf.ndim == 0:
                index[leaf] = f"{arg[leaf]}[()]"
                continue
            parts = []
            for j in range(leaf.ndim):
                k = j + r - leaf.ndim
                d = leaf.shape[j]
                if d == 1:
                    parts.append("0")
                elif d is not None:
                    parts.append(f"i{k}")
                else:
                    stride = f"s{arg[leaf][1:]}_{j}"
                    body.append(f"    {stride} = _bchk({arg[leaf]}.shape[{j}], {dims[k]})")
                    parts.append(f"i{k} * {stride}")
            index[leaf] = f"{arg[leaf]}[{', '.join(parts)}]"
        shape = "(" + "".join(f"{d}, " for d in dims) + ")"
        alloc = f"np.empty({shape}, np.{dtype_name(root.dtype)})"
        last = self.position[root]
        # An operand that dies here, whose buffer this loop owns, and of the output's shape and dtype:
        # each element is read before the same element is written, so the loop runs in its buffer.
        donors = [leaf for leaf in leaves if leaf.dtype == root.dtype and leaf.ndim == r and self.owned(leaf)
                  and all(self.position[u] <= last for u in self.users[leaf])]
        note = ""
        if donors:
            donor = arg[donors[0]]
            static = all(a is not None and a == b for a, b in zip(donors[0].shape, out_shape))
            body.append(f"    out = {donor}" + ("" if static else f" if {donor}.shape == {shape} else {alloc}"))
            note = f"  [in place in {self.var[donors[0]]}]"
        else:
            body.append(f"    out = {alloc}")
        pad = "    "
        for k in range(r):
            body.append(f"{pad * (k + 1)}for i{k} in {'RANGE' if k == 0 else 'range'}({dims[k]}):")
        pad = pad * (r + 1)
        local: dict[Node, str] = {}
        for leaf in leaves:
            local[leaf] = f"x{arg[leaf][1:]}"
            body.append(f"{pad}{local[leaf]} = {index[leaf]}")
        for n, m in enumerate(members):
            operands = [self.convert(local[i], i.dtype, m.dtype, True) for i in m.inputs]
            expr = self.decls[m][1].format(*operands, t=f"np.{dtype_name(m.dtype)}")
            local[m] = f"t{n}"
            body.append(f"{pad}t{n} = np.{dtype_name(m.dtype)}({expr})")
        target = f"out[{', '.join(f'i{k}' for k in range(r))}]" if r else "out[()]"
        body.append(f"{pad}{target} = {local[root]}")
        body.append("    return out")
        known = math.prod(d for d in out_shape if d is not None)
        if r and known >= PARALLEL_MIN_SIZE // 64 and (None in out_shape or known >= PARALLEL_MIN_SIZE):
            # Big loops also get a threaded twin (numba's prange over the outer axis), taken at run
            # time when the output has PARALLEL_MIN_SIZE elements or more: numpy's ufuncs use one core.
            serial = self.helper([b.replace("RANGE", "range") for b in body], len(leaves))
            threaded = self.helper([b.replace("RANGE", "prange") for b in body], len(leaves), parallel=True)
            args = ", ".join(f"a{k}" for k in range(len(leaves)))
            size = f"max({', '.join(f'a{k}.size' for k in range(len(leaves)))}, 0)"
            fn = self.helper([f"    if {size} >= {PARALLEL_MIN_SIZE}:", f"        return {threaded}({args})",
                              f"    return {serial}({args})"], len(leaves))
        else:
            fn = self.helper([b.replace("RANGE", "range") for b in body], len(leaves))
        listing = "; ".join(_printable(self.graph.format_node(m)) for m in members)
        self.units.append(([f"# fused loop{note}: {listing}"], root, fn, leaves))

    def generate(self, cache: bool) -> str:
        self.helpers: dict[str, str] = {}
        self.helper_args: dict[str, int] = {}
        self.parallel: set[str] = set()
        self.units: list[tuple[list[str], Node, str, list[Node]]] = []
        self.python: dict[Node, str] = {}
        for node in self.plan.nodes:
            if node not in self.decls or node in self.fused:
                continue
            if self.decls[node][0] == "map":
                self.loop(node)
            else:
                self.array_node(node)
        computed = [n for n in dict.fromkeys(self.graph.outputs) if n in self.decls]
        self.computed = computed
        units = self.units
        lines: list[str] = []
        self.single_function = len(units) <= MAX_NJIT_UNITS and not self.python
        if self.single_function:
            for comments, out, fn, ins in units:
                lines += [f"    {c}" for c in comments]
                lines.append(f"    {self.var[out]} = {fn}({', '.join(self.var[i] for i in ins)})")
        else:
            # Chunks of consecutive steps, each one njit function over its live values with
            # positional names, so that identical chunks (W3's layers) are one function.
            chunks: list[list[tuple[list[str], Node, str, list[Node]]]] = []
            for unit in units:
                if unit[1] in self.python or not chunks or chunks[-1][0][1] in self.python \
                        or len(chunks[-1]) >= MAX_NJIT_UNITS:
                    chunks.append([unit])
                else:
                    chunks[-1].append(unit)
            later: set[Node] = set(computed)
            live_outs: list[list[Node]] = []
            for chunk in reversed(chunks):
                made = {u[1] for u in chunk}
                live_outs.append([u[1] for u in chunk if u[1] in later])
                later = (later - made) | {i for u in chunk for i in u[3]}
            live_outs.reverse()
            for chunk, outs in zip(chunks, live_outs):
                if chunk[0][1] in self.python:
                    lines += [f"    {c}" for c in chunk[0][0]]
                    lines.append(f"    {self.var[chunk[0][1]]} = {self.python[chunk[0][1]]}")
                    continue
                made = {u[1] for u in chunk}
                ins = list(dict.fromkeys(i for u in chunk for i in u[3] if i not in made))
                local = {n: f"a{k}" for k, n in enumerate(ins)}
                local.update({u[1]: f"v{k}" for k, u in enumerate(chunk)})
                body = [f"    {local[out]} = {fn}({', '.join(local[i] for i in args)})" for _, out, fn, args in chunk]
                body.append(f"    return ({''.join(local[n] + ', ' for n in outs)})")
                name = self.helper(body, len(ins))
                for comments, *_ in chunk:
                    lines += [f"    {c}" for c in comments]
                returned = "".join(self.var[n] + ", " for n in outs)
                lines.append(f"    {returned}= {name}({', '.join(self.var[i] for i in ins)})")
        lines.append(f"    return ({''.join(self.var[n] + ', ' for n in computed)})")
        head = [
            "# Generated by tinygraph (tg.compile(..., backend='numba')): one njit kernel per graph, calling",
            "# one small njit function per distinct fused loop or array op.",
            "import numpy as np",
            "from numba import njit, prange",
            _HELPERS,
        ]
        for text, name in self.helpers.items():
            args = ", ".join(f"a{k}" for k in range(self.helper_args[name]))
            extra = ", parallel=True" if name in self.parallel else ""
            head += [f"@njit(cache={cache}, error_model='numpy'{extra})", f"def {name}({args}):", text, "", ""]
        if self.single_function:
            head.append(f"@njit(cache={cache}, error_model='numpy')")
        else:
            head.append(f"# {len(units)} steps, {len(self.python)} big array ops run by numpy: Python calling njit "
                        f"chunks of up to {MAX_NJIT_UNITS} steps (numba takes minutes to compile big functions)")
        head.append(f"def kernel({', '.join(self.var[n] for n in self.args)}):")
        return "\n".join(head + lines) + "\n"

    computed: list[Node]
    single_function: bool = True


def _load(source: str, cache: bool) -> tuple[Any, str]:
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    path = os.path.join(cache_dir(), f"tg_{digest}.py")
    if not os.path.exists(path):
        # Written once under its hash and never rewritten: numba's cache index keys on the file's
        # timestamp, so rewriting identical text would discard the compiled code of other processes.
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
        os.replace(tmp, path)
    name = f"tinygraph_numba_{digest}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return module.kernel, path


def _signature(numba: Any, nodes: Sequence[Node]) -> tuple[Any, ...]:
    types = numba.types
    sig = []
    for n in nodes:
        dt = numba.from_dtype(n.dtype)
        readonly = not isinstance(n.op, Input)  # parameters' and constants' arrays are read-only
        sig.append(types.Array(dt, n.ndim, "C", readonly=readonly))
    return tuple(sig)


def compile(outputs: Outputs, inputs: Sequence[Node | str] | None = None, *,  # noqa: A001
            cache: bool = True) -> BackendGraph:
    """The graph as one numba ``njit`` function; ``cache=False`` keeps it out of numba's disk cache."""
    numba = require("numba", "numba", "numba")
    plan = plan_for(outputs)
    graph = plan.graph
    order = input_order(graph, inputs)
    decls = lowerings(plan, "numba")
    t0 = time.perf_counter()
    gen = _Codegen(plan, decls)
    source = gen.generate(cache)
    kernel, path = (_load(source, cache) if decls else (None, ""))
    args = gen.args
    consts = {n: np.array(n.op.value, order="C") for n in args if type(n.op) is Constant}
    for arr in consts.values():
        arr.flags.writeable = False
    if kernel is not None and gen.single_function:
        # Compiled now for C-contiguous feeds (or loaded from the disk cache); other layouts
        # (a transposed feed, a read-only one) compile their own specialization on first use.
        kernel.compile(_signature(numba, args))
    elapsed = time.perf_counter() - t0
    needed = graph.inputs
    env: dict[str, Any] = {"_kernel": kernel, "_asarray": np.asarray}
    call_args = []
    for k, n in enumerate(args):
        if isinstance(n.op, Input):
            call_args.append(f"_v{needed.index(n)}")
        elif type(n.op) is Parameter:
            env[f"_p{k}"] = n.op
            call_args.append(f"_p{k}.value")  # read at every call: a new value is honoured
        else:
            env[f"_c{k}"] = consts[n]
            call_args.append(f"_c{k}")
    kernel_call = f"_kernel({', '.join(call_args)})"
    computed = {n: k for k, n in enumerate(gen.computed)}
    if kernel is not None and list(graph.outputs) == gen.computed:
        call = kernel_call
    else:
        parts = []
        for n in graph.outputs:
            if n in computed:
                parts.append(f"_k[{computed[n]}]")
            elif isinstance(n.op, Input):
                parts.append(f"_v{needed.index(n)}")
            else:
                env[f"_leaf{len(parts)}"] = n.op
                parts.append(f"_asarray(_leaf{len(parts)}.value)")
        k_expr = kernel_call if kernel is not None else "()"
        call = f"(lambda _k: ({', '.join(parts)},))({k_expr})"
    f = make_callable(graph, plan, order, type(outputs) is Node, "numba", source, call, env, path or "<numba>")
    f.compile_seconds = elapsed
    return f
