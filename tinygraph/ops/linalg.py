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


def matmul(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a @ b``."""
    return MatMul()(a, b, name=name)
