"""Matrix products."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..node import Node
from ..op import Op
from ..shapes import Spec, matmul_shape, ufunc_dtype

__all__ = ["MatMul", "matmul"]


class MatMul(Op):
    """``a @ b`` with ``np.matmul``'s rules: 1-D operands promoted, stacks broadcast."""

    python_operator = "matmul"
    kind = "matmul"
    arity = 2
    fresh_output = True
    ufunc = np.matmul
    formula = "a @ b"
    neuron_role = "weights"
    onnx_type = "MatMul"

    def forward(self, a: Any, b: Any) -> Any:
        """``np.matmul(a, b)``."""
        return np.matmul(a, b)

    def infer(self, a: Spec, b: Spec) -> Spec:
        """``np.matmul`` shape and dtype rules."""
        return Spec(matmul_shape(a.shape, b.shape), ufunc_dtype(np.matmul, a, b))

    def lowering(self, backend: str, node: Node) -> Any:
        """``jax.numpy.matmul``; numba: ``np.dot`` (BLAS) of two float matrices, nothing else."""
        if backend == "jax":
            return lambda jax, a, b: jax.numpy.matmul(a, b)
        if backend == "numba" and node.dtype.kind in "fc" and all(i.ndim == 2 for i in node.inputs):
            return ("array", "np.dot({0}, {1})")
        return None


def matmul(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a @ b``."""
    return MatMul()(a, b, name=name)
