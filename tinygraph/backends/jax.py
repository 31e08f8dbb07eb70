"""``tg.compile(outputs, backend="jax")``: the graph as one ``jax.jit`` function, run by XLA.

Each op declares its JAX lowering (``Op.lowering("jax", node)``: ``fn(jax, *operands)``);
operands are converted to the node's dtype first, so the dtypes are numpy's, not JAX's
promotion rules. Parameters are arguments of the jitted function, so assigning
``W.value`` takes effect at the next call without recompiling (their device copies are
cached while the value object stays the same); JAX compiles once per new input shape.

float64: JAX computes in 32 bits unless ``jax_enable_x64`` is on. A graph holding any
64-bit value is traced and run inside ``jax.enable_x64(True)``, a context manager that
switches the flag for this thread and restores it afterwards: the user's global JAX
configuration is never changed. Runs wherever JAX runs (``device=`` picks one, e.g.
``jax.devices("gpu")[0]``); results come back as numpy arrays.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..fast.compile import _identifier, _printable, input_order
from ..graph import Outputs
from ..node import Node
from ..op import Constant, Parameter
from ..plan import plan_for
from ._base import BackendGraph, is_leaf, lowerings, make_callable, require

__all__ = ["compile"]

_counter = itertools.count(1)


def _wide(dtype: np.dtype[Any]) -> bool:
    return dtype.itemsize == 8 and dtype.kind in "iuf" or dtype.kind == "c" and dtype.itemsize == 16


def compile(outputs: Outputs, inputs: Sequence[Node | str] | None = None, *,  # noqa: A001
            device: Any = None) -> BackendGraph:
    """The graph as one jitted JAX function; ``device`` (a ``jax.Device``) places the work."""
    jax = require("jax", "jax", "jax")
    t0 = time.perf_counter()
    plan = plan_for(outputs)
    graph = plan.graph
    order = input_order(graph, inputs)
    decls = lowerings(plan, "jax")
    taken = {"jax", "jnp"}
    var = {n: _identifier(graph.name_of(n), taken) for n in plan.nodes}
    glob: dict[str, Any] = {"jax": jax, "jnp": jax.numpy}
    feeds = [n for n in graph.inputs]
    params = [n for n in plan.nodes if type(n.op) is Parameter]
    lines = [f"def forward({', '.join(['params', *(var[n] for n in feeds)])}):",
             f"    {repr(graph)!r}"]
    if params:
        lines.append(f"    {''.join(var[n] + ', ' for n in params)}= params")
    for n in plan.nodes:
        if type(n.op) is Constant:
            glob[var[n]] = n.op.value  # baked into the compiled function as a literal
    for n in plan.nodes:
        if is_leaf(n):
            continue
        glob[f"_l_{var[n]}"] = decls[n]
        ops = []
        for i in n.inputs:
            if i.dtype != n.dtype or type(i.op) is Constant:
                glob[f"_{n.dtype.name}"] = n.dtype
                ops.append(f"jnp.asarray({var[i]}, _{n.dtype.name})")
            else:
                ops.append(var[i])
        lines.append(f"    {var[n]} = _l_{var[n]}(jax, {', '.join(ops)})  # {_printable(graph.format_node(n))}")
    lines.append(f"    return ({''.join(var[n] + ', ' for n in graph.outputs)})")
    source = "\n".join(lines) + "\n"
    filename = f"<tinygraph-jax-{next(_counter)}>"
    exec(builtins_compile(source, filename), glob)
    jitted = jax.jit(glob["forward"])  # placed where its arguments are
    wide = any(_wide(n.dtype) for n in plan.nodes)
    x64: Any = (lambda: jax.enable_x64(True)) if wide else contextlib.nullcontext
    cache: list[tuple[Any, Any]] = [(None, None)] * len(params)
    put = jax.device_put if device is None else (lambda v: jax.device_put(v, device))

    def device_params() -> tuple[Any, ...]:
        out = []
        for k, p in enumerate(params):
            value = p.op.value  # type: ignore[attr-defined]  # a Parameter's
            held, dev = cache[k]
            if held is not value:
                dev = put(value)
                cache[k] = (value, dev)
            out.append(dev)
        return tuple(out)

    def run(values: list[Any]) -> list[Any]:
        with x64():
            if device is not None:
                values = [put(v) for v in values]
            results = jitted(device_params(), *values)
            # np.array copies: a writeable array the caller owns, as tg.evaluate returns
            return [np.array(r) for r in results]

    values = ", ".join(f"_v{k}" for k in range(len(graph.inputs)))
    f = make_callable(graph, plan, order, type(outputs) is Node, "jax", source,
                      f"_run([{values}])", {"_run": run}, filename)
    f.compile_seconds = time.perf_counter() - t0
    return f


def builtins_compile(source: str, filename: str) -> Any:
    """Python's ``compile`` (this module's ``compile`` shadows the builtin)."""
    import builtins
    return builtins.compile(source, filename, "exec")

