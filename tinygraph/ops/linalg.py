"""Matrix products."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, lacks_kernels, promoted, via_numpy
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
    torch_ops = ("aten.matmul.default", "aten.mm.default", "aten.bmm.default", "aten.linear.default",
                 "aten.addmm.default")

    arrays = "any"

    def forward(self, a: Any, b: Any) -> Any:
        """``np.matmul(a, b)``; ``xp.matmul`` of the operands promoted as numpy does."""
        xp = array_namespace(a, b)
        if xp is np:
            return np.matmul(a, b)
        x, y = promoted(xp, a, b)
        if lacks_kernels([x, y]) is not None:
            return via_numpy("MatMul", np.matmul, [a, b])
        if x.dtype == xp.bool:  # numpy's bool product is an or of ands; the standard's matmul takes numbers
            return xp.matmul(xp.astype(x, xp.int64), xp.astype(y, xp.int64)) != 0
        return xp.matmul(x, y)

    def infer(self, a: Spec, b: Spec) -> Spec:
        """``np.matmul`` shape and dtype rules."""
        return Spec(matmul_shape(a.shape, b.shape), ufunc_dtype(np.matmul, a, b))

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``linear(x, W, b)`` is ``x @ W.T + b``; ``addmm(c, a, b)`` is ``a @ b + c``; the others ``a @ b``."""
        if target == "aten.linear.default":
            x, weight, bias = args
            y = cls()(x, weight.T)
            return y if bias is None else y + bias
        if target == "aten.addmm.default":
            if kwargs["beta"] != 1 or kwargs["alpha"] != 1:
                raise ValueError("addmm with beta or alpha other than 1 is not supported")
            bias, a, b = args
            out: Node = cls()(a, b) + bias
            return out
        return cls()(*args)

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
