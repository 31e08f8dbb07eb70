"""Compile backends: ``tg.compile(outputs, inputs=None, backend="numpy")``.

``"numpy"`` (the default, needs nothing) is ``tinygraph.fast.compile``: straight-line Python
calling numpy. ``"jax"`` lowers the graph to one jitted XLA function, ``"numba"`` to one
``njit`` function with fused elementwise loops, ``"onnxruntime"`` to an ONNX model run by
an ``InferenceSession``. Each reads how every op lowers from the op's own class
(``Op.lowering``; ONNX Runtime: the op's ONNX declarations) and refuses, naming the op
and the backend, a graph holding an op it has no lowering for: nothing falls back to
numpy silently. Each backend's package is an optional extra (``tinygraph[jax]``,
``tinygraph[numba]``, ``tinygraph[onnx]``), imported only when that backend is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..fast.compile import CompiledGraph
from ..fast.compile import compile as numpy_compile
from ..graph import Outputs
from ..node import Node
from . import jax, numba, onnxruntime
from ._base import BackendGraph, BackendUnavailableError, LoweringError

__all__ = ["BACKENDS", "compile", "BackendGraph", "BackendUnavailableError", "LoweringError"]

#: The backends ``tg.compile`` knows, the default first.
BACKENDS = ("numpy", "jax", "numba", "onnxruntime")
_COMPILERS: dict[str, Callable[..., CompiledGraph]] = {
    "jax": jax.compile, "numba": numba.compile, "onnxruntime": onnxruntime.compile,
}


def compile(outputs: Outputs, inputs: Sequence[Node | str] | None = None,  # noqa: A001
            backend: str = "numpy", **options: Any) -> CompiledGraph:
    """Compile the graph of ``outputs`` into a callable on ``backend``; ``inputs`` fixes the positional order.

    ``options`` go to the backend: numba ``cache=``; jax ``device=``; onnxruntime
    ``session_options=``, ``threads=``, ``providers=`` (see docs/performance.md).
    """
    if backend == "numpy":
        if options:
            raise TypeError(f"tg.compile(backend='numpy') takes no options, got {', '.join(options)}")
        return numpy_compile(outputs, inputs)
    compiler = _COMPILERS.get(backend) if isinstance(backend, str) else None
    if compiler is None:
        raise ValueError(f"tg.compile: unknown backend {backend!r}; the backends are {', '.join(BACKENDS)}")
    result: CompiledGraph = compiler(outputs, inputs, **options)
    return result
