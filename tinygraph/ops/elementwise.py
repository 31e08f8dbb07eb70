"""Elementwise arithmetic and math: each op is a numpy ufunc applied with broadcasting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


class Add(Elementwise):
    """``a + b``."""

    python_operator = "add"
    arity = 2
    ufunc = np.add
    commutative = True
    neuron_role = "bias"
    onnx_type = "Add"
    torch_ops = ("aten.add.Tensor", "aten.add.Scalar")

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``a + alpha * b``."""
        return cls()(args[0], _scaled(args[1], kwargs["alpha"]))


class Sub(Elementwise):
    """``a - b``."""

    python_operator = "sub"
    arity = 2
    ufunc = np.subtract
    formula = "a - b"
    onnx_type = "Sub"
    torch_ops = ("aten.sub.Tensor", "aten.sub.Scalar", "aten.rsub.Tensor", "aten.rsub.Scalar")

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``a - alpha * b``; ``rsub`` is ``b - alpha * a``."""
        a, b = args[:2]
        alpha = kwargs["alpha"] if "alpha" in kwargs else args[2]
        return cls()(b, _scaled(a, alpha)) if ".rsub." in target else cls()(a, _scaled(b, alpha))


class Mul(Elementwise):
    """``a * b``."""

    python_operator = "mul"
    arity = 2
    ufunc = np.multiply
    commutative = True
    onnx_type = "Mul"
    torch_ops = ("aten.mul.Tensor", "aten.mul.Scalar")


class Div(Elementwise):
    """``a / b`` (true division: integers give floats, as in numpy)."""

    python_operator = "truediv"
    arity = 2
    ufunc = np.true_divide
    formula = "a / b"
    onnx_type = "Div"
    torch_ops = ("aten.div.Tensor", "aten.div.Scalar")


class Pow(Elementwise):
    """``a ** b``."""

    python_operator = "pow"
    arity = 2
    ufunc = np.power
    formula = "a ** b"
    onnx_type = "Pow"
    torch_ops = ("aten.pow.Tensor_Tensor", "aten.pow.Tensor_Scalar", "aten.pow.Scalar")


class Neg(Elementwise):
    """``-a``."""

    python_operator = "neg"
    arity = 1
    ufunc = np.negative
    onnx_type = "Neg"
    torch_ops = ("aten.neg.default",)


class Exp(Elementwise):
    """``exp(a)``."""

    arity = 1
    ufunc = np.exp
    onnx_type = "Exp"
    torch_ops = ("aten.exp.default",)


class Log(Elementwise):
    """``log(a)``, the natural logarithm."""

    arity = 1
    ufunc = np.log
    onnx_type = "Log"
    torch_ops = ("aten.log.default",)


class Tanh(Elementwise):
    """``tanh(a)``."""

    arity = 1
    ufunc = np.tanh
    neuron_role = "activation"
    torch_module = "Tanh"
    onnx_type = "Tanh"
    torch_ops = ("aten.tanh.default",)


def _scaled(value: Any, alpha: Any) -> Any:
    # torch's ``alpha`` multiplies the second operand; 1 (always, from operators) adds no node.
    return value if alpha == 1 else value * alpha


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
