"""Elementwise arithmetic and math: each op is a numpy ufunc applied with broadcasting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..arrays import array_namespace, promoted, standard_function, via_numpy
from ..node import Node
from ..op import Op
from ..shapes import Spec, broadcast_shapes, ufunc_dtype

__all__ = [
    "Elementwise", "Add", "Sub", "Mul", "Div", "TruncDiv", "Pow", "Neg", "Exp", "Log", "Tanh",
    "add", "sub", "mul", "div", "trunc_div", "pow", "neg", "exp", "log", "tanh",
    "subtract", "multiply", "divide", "negative", "power",
]


class Elementwise(Op):
    """An op that applies a numpy ufunc elementwise, broadcasting its operands.

    A subclass declares ``ufunc`` (and ``onnx_type``); evaluation, shape and dtype
    inference, in-place reuse of dead buffers and ONNX follow from it.
    """

    ufunc: ClassVar[Any]
    fresh_output = True
    arrays = "any"

    def forward(self, *values: Any) -> Any:
        """Apply the ufunc; on another array library, its function of the same name (``xp.pow``...)."""
        xp = array_namespace(*values)
        if xp is np:
            return self.ufunc(*values)
        fn = standard_function(xp, self.ufunc)
        if fn is None:  # a ufunc the standard lacks (np.fmod...)
            return via_numpy(type(self).__name__, self.ufunc, values)
        return fn(*promoted(xp, *values))

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

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """ONNX's integer ``Div`` truncates toward zero: ``TruncDiv``, exact, with no float detour."""
        a, b = ctx.operands()
        op: Op = TruncDiv() if a.dtype.kind in "iu" and b.dtype.kind in "iu" else cls()
        return [op(a, b, name=ctx.name())]


class TruncDiv(Op):
    """``a / b`` rounded toward zero (C's and ONNX's integer division), exact for any integers."""

    kind = "trunc_div"
    arity = 2
    fresh_output = True
    formula = "trunc(a / b)"
    onnx_type = "Div"

    def forward(self, a: Any, b: Any) -> Any:
        """Floor division corrected toward zero; a zero divisor gives 0, as numpy's ``//`` does."""
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.result_type(a, b).kind == "f":
                return np.trunc(np.true_divide(a, b))
            q, r = np.divmod(a, b)
            return q + ((r != 0) & ((np.less(a, 0)) ^ (np.less(b, 0)))).astype(q.dtype)

    def infer(self, a: Spec, b: Spec) -> Spec:
        """Broadcast shapes; the operands' common dtype (integers stay integers)."""
        return Spec(broadcast_shapes(a.shape, b.shape), ufunc_dtype(np.floor_divide, a, b))


class Pow(Elementwise):
    """``a ** b``."""

    python_operator = "pow"
    arity = 2
    ufunc = np.power
    formula = "a ** b"
    onnx_type = "Pow"
    torch_ops = ("aten.pow.Tensor_Tensor", "aten.pow.Tensor_Scalar", "aten.pow.Scalar")

    def forward(self, a: Any, b: Any) -> Any:
        """``np.power``; integers to negative integer powers as ONNX computes them (truncated: 0, or +-1)."""
        if np.result_type(a, b).kind in "iu" and np.any(np.less(b, 0)):
            negative = np.less(b, 0)
            y = np.power(a, np.where(negative, 0, b))
            # 1 / a**|b| truncates to 0 unless |a| == 1; a ** -n is then a ** n (+-1). 0 ** -n gives 0.
            unit = np.where(np.remainder(b, 2) == 0, np.ones_like(y), np.asarray(a, dtype=y.dtype))
            return np.where(negative, np.where(np.abs(a) == 1, unit, 0), y).astype(y.dtype, copy=False)
        return np.power(a, b)

    def forward_into(self, out: Any, a: Any, b: Any) -> Any:
        """The same, written into ``out``."""
        if np.result_type(a, b).kind in "iu":
            out[...] = self.forward(a, b)
            return out
        return np.power(a, b, out=out)

    def lowering(self, backend: str, node: Node) -> Any:
        """Float powers as every ufunc lowers; integer powers (ONNX's negative exponents) are refused."""
        return super().lowering(backend, node) if node.dtype.kind in "fc" else None

    def kernel(self, node: Node) -> Any:
        """``np.power`` for floats only: integer powers may have negative exponents."""
        return np.power if node.dtype.kind in "fc" else None


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


def trunc_div(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a / b`` rounded toward zero; integers stay integers (ONNX's integer ``Div``)."""
    return TruncDiv()(a, b, name=name)


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
