"""Elementwise arithmetic and math: each op is a numpy ufunc applied with broadcasting."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..node import Node
from ..op import Op
from ..shapes import Spec, broadcast_shapes, ufunc_dtype

__all__ = [
    "Elementwise", "Add", "Sub", "Mul", "Div", "Pow", "Neg", "Exp", "Log", "Tanh",
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "tanh",
    "subtract", "multiply", "divide", "negative", "power",
]


class Elementwise(Op):
    """An op that applies a numpy ufunc elementwise, broadcasting its operands.

    A subclass declares ``ufunc`` (and ``onnx_type``); evaluation, shape and dtype
    inference, in-place reuse of dead buffers and ONNX follow from it.
    """

    ufunc: ClassVar[Any]
    fresh_output = True

    def forward(self, *values: Any) -> Any:
        """Apply the ufunc."""
        return self.ufunc(*values)

    def forward_into(self, out: Any, *values: Any) -> Any:
        """Apply the ufunc writing into ``out`` (numpy handles ``out`` being one of the operands)."""
        return self.ufunc(*values, out=out)

    def infer(self, *specs: Spec) -> Spec:
        """Broadcast shapes; the ufunc's own dtype resolution."""
        return Spec(broadcast_shapes(*(s.shape for s in specs)), ufunc_dtype(self.ufunc, *specs))

    def lowering(self, backend: str, node: Node) -> Any:
        """The ufunc of the same name: ``jax.numpy``'s, and numba's on one element of each operand."""
        name = self.ufunc.__name__
        if backend == "jax":
            return lambda jax, *v: getattr(jax.numpy, name)(*v)
        if backend == "numba":
            return ("map", f"np.{name}({', '.join(f'{{{i}}}' for i in range(self.ufunc.nin))})")
        return None


class Add(Elementwise):
    """``a + b``."""

    python_operator = "add"
    arity = 2
    ufunc = np.add
    commutative = True
    neuron_role = "bias"
    onnx_type = "Add"


class Sub(Elementwise):
    """``a - b``."""

    python_operator = "sub"
    arity = 2
    ufunc = np.subtract
    formula = "a - b"
    onnx_type = "Sub"


class Mul(Elementwise):
    """``a * b``."""

    python_operator = "mul"
    arity = 2
    ufunc = np.multiply
    commutative = True
    onnx_type = "Mul"


class Div(Elementwise):
    """``a / b`` (true division: integers give floats, as in numpy)."""

    python_operator = "truediv"
    arity = 2
    ufunc = np.true_divide
    formula = "a / b"
    onnx_type = "Div"


class Pow(Elementwise):
    """``a ** b``."""

    python_operator = "pow"
    arity = 2
    ufunc = np.power
    formula = "a ** b"
    onnx_type = "Pow"


class Neg(Elementwise):
    """``-a``."""

    python_operator = "neg"
    arity = 1
    ufunc = np.negative
    onnx_type = "Neg"


class Exp(Elementwise):
    """``exp(a)``."""

    arity = 1
    ufunc = np.exp
    onnx_type = "Exp"


class Log(Elementwise):
    """``log(a)``, the natural logarithm."""

    arity = 1
    ufunc = np.log
    onnx_type = "Log"


class Tanh(Elementwise):
    """``tanh(a)``."""

    arity = 1
    ufunc = np.tanh
    neuron_role = "activation"
    torch_module = "Tanh"
    onnx_type = "Tanh"


def add(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a + b``."""
    return Add()(a, b, name=name)


def sub(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a - b``."""
    return Sub()(a, b, name=name)


def mul(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a * b``."""
    return Mul()(a, b, name=name)


def div(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a / b``."""
    return Div()(a, b, name=name)


def pow(a: Any, b: Any, *, name: str | None = None) -> Node:  # noqa: A001
    """``a ** b``."""
    return Pow()(a, b, name=name)


def neg(a: Any, *, name: str | None = None) -> Node:
    """``-a``."""
    return Neg()(a, name=name)


def exp(a: Any, *, name: str | None = None) -> Node:
    """``exp(a)``."""
    return Exp()(a, name=name)


def log(a: Any, *, name: str | None = None) -> Node:
    """``log(a)``."""
    return Log()(a, name=name)


def tanh(a: Any, *, name: str | None = None) -> Node:
    """``tanh(a)``."""
    return Tanh()(a, name=name)


# numpy's spellings, for users who reach for them.
subtract, multiply, divide, negative, power = sub, mul, div, neg, pow
