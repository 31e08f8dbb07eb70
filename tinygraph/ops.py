"""The built-in ops and their function forms (``tg.matmul``, ``tg.sigmoid``, ...).

Each op is a small class: ``forward`` is the numpy it runs, ``infer`` the shape
and dtype rule it obeys (numpy's own, checked when the graph is built).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ._errstate import exp_ignoring_overflow
from .node import Node
from .op import Constant, Input, Op, Parameter, as_node, constant, input, parameter
from .shapes import (
    Spec,
    broadcast_shapes,
    matmul_shape,
    normalize_axes,
    reduce_shape,
    reshape_shape,
    transpose_shape,
    ufunc_dtype,
)

__all__ = [
    "Op", "Input", "Parameter", "Constant", "as_node", "input", "parameter", "constant",
    "Elementwise", "MatMul", "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Tanh",
    "Sigmoid", "ReLU", "Softmax", "Sum", "Mean", "Transpose", "Reshape", "Cast",
    "matmul", "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "sigmoid", "relu",
    "softmax", "sum", "mean", "transpose", "reshape", "cast",
]

_WEAK_ZERO = Spec((), np.dtype(np.int64), weak=True)


class Elementwise(Op):
    """An op that applies a numpy ufunc elementwise, broadcasting its operands."""

    ufunc: ClassVar[np.ufunc]
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


class MatMul(Op):
    """``a @ b`` with ``np.matmul``'s rules: 1-D operands promoted, stacks broadcast."""

    kind = "matmul"
    arity = 2
    fresh_output = True

    def forward(self, a: Any, b: Any) -> Any:
        """``np.matmul(a, b)``."""
        return np.matmul(a, b)

    def infer(self, a: Spec, b: Spec) -> Spec:
        """``np.matmul`` shape and dtype rules."""
        return Spec(matmul_shape(a.shape, b.shape), ufunc_dtype(np.matmul, a, b))


class Add(Elementwise):
    """``a + b``."""

    arity = 2
    ufunc = np.add


class Sub(Elementwise):
    """``a - b``."""

    arity = 2
    ufunc = np.subtract


class Mul(Elementwise):
    """``a * b``."""

    arity = 2
    ufunc = np.multiply


class Div(Elementwise):
    """``a / b`` (true division: integers give floats, as in numpy)."""

    arity = 2
    ufunc = np.true_divide


class Pow(Elementwise):
    """``a ** b``."""

    arity = 2
    ufunc = np.power


class Neg(Elementwise):
    """``-a``."""

    arity = 1
    ufunc = np.negative


class Exp(Elementwise):
    """``exp(a)``."""

    arity = 1
    ufunc = np.exp


class Log(Elementwise):
    """``log(a)``, the natural logarithm."""

    arity = 1
    ufunc = np.log


class Tanh(Elementwise):
    """``tanh(a)``."""

    arity = 1
    ufunc = np.tanh


class Sigmoid(Op):
    """``1 / (1 + exp(-a))``, without overflow warnings or NaN for any finite input."""

    arity = 1
    fresh_output = True

    def forward(self, a: Any) -> Any:
        """The textbook formula, bit for bit, computed in one new buffer."""
        return self.forward_into(None, a)

    def forward_into(self, out: Any, a: Any) -> Any:
        """The textbook formula in place: ``-a``, ``exp``, ``+ 1``, ``1 /``, all in ``out``.

        Each step is the same ufunc on the same dtype as ``1 / (1 + np.exp(-a))``, so the
        result is identical bit for bit; exp's overflow to inf (for ``a`` below about -709
        in float64) and underflow to 0 (for large ``a``) are silenced because ``1 / inf == 0``
        and ``1 / (1 + 0) == 1`` are the right answers there.
        """
        buf = np.negative(a, out)
        if type(buf) is not np.ndarray or buf.dtype.kind != "f":
            # Integer, complex or 0-d input: the plain formula (ints become floats in exp).
            with np.errstate(over="ignore", under="ignore"):
                return np.divide(1, np.add(1, np.exp(buf)))
        one = _ONE.get(buf.dtype)
        if one is None:
            one = buf.dtype.type(1)
        exp_ignoring_overflow(buf)
        np.add(buf, one, buf)
        return np.divide(one, buf, buf)

    def infer(self, a: Spec) -> Spec:
        """Same shape; the float dtype ``exp`` gives."""
        return Spec(a.shape, ufunc_dtype(np.exp, a))


# Scalars of the buffer's own dtype behave exactly like the textbook's weak ``1`` and skip
# numpy's conversion of a Python int on every call.
_ONE: dict[np.dtype[Any], Any] = {np.dtype(t): t(1) for t in (np.float16, np.float32, np.float64, np.longdouble)}


class ReLU(Op):
    """``max(a, 0)``."""

    kind = "relu"
    arity = 1
    fresh_output = True

    def forward(self, a: Any) -> Any:
        """``np.maximum(a, 0)``."""
        return np.maximum(a, 0)

    def forward_into(self, out: Any, a: Any) -> Any:
        """``np.maximum(a, 0, out=out)``."""
        return np.maximum(a, 0, out=out)

    def infer(self, a: Spec) -> Spec:
        """Same shape and dtype."""
        return Spec(a.shape, ufunc_dtype(np.maximum, a, _WEAK_ZERO))


class Softmax(Op):
    """``exp(a) / sum(exp(a))`` along ``axis``, shifted by the max so it never overflows."""

    arity = 1
    fresh_output = True

    def __init__(self, axis: int = -1) -> None:
        self.axis = int(axis)

    def forward(self, a: Any) -> Any:
        """Stable softmax."""
        with np.errstate(under="ignore"):  # exp of a large negative shift is 0, which is the right answer
            e = np.exp(np.subtract(a, np.max(a, axis=self.axis, keepdims=True)))
        return np.divide(e, np.sum(e, axis=self.axis, keepdims=True))

    def infer(self, a: Spec) -> Spec:
        """Same shape; the float dtype ``exp`` gives."""
        normalize_axes(self.axis, a.ndim)
        return Spec(a.shape, ufunc_dtype(np.exp, a))


def _axes(value: Any, op: str) -> int | tuple[int, ...]:
    # ints as numpy takes them (np.int64 included, bool and float refused), one or a sequence.
    def one(v: Any) -> int:
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            return int(v)
        raise TypeError(f"{op}: expected an int or a sequence of ints, got {value!r}")

    if isinstance(value, (int, np.integer, bool, np.bool_)):
        return one(value)
    try:
        return tuple(one(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: expected an int or a sequence of ints, got {value!r}") from None


class _Reduction(Op):
    arity = 1
    fresh_output = True
    reducer: ClassVar[Any]

    def __init__(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> None:
        # numpy integers (np.int64(0)) are accepted as axes, as numpy itself accepts them.
        self.axis: int | tuple[int, ...] | None = None if axis is None else _axes(axis, type(self).__name__)
        self.keepdims = bool(keepdims)

    def forward(self, a: Any) -> Any:
        """Reduce over ``axis``."""
        return type(self).reducer(a, axis=self.axis, keepdims=self.keepdims)

    def infer(self, a: Spec) -> Spec:
        """The reduced shape; numpy's accumulator dtype (e.g. int32 sums to int64)."""
        shape = reduce_shape(a.shape, self.axis, self.keepdims)
        dtype = type(self).reducer(np.zeros(1, dtype=a.dtype)).dtype
        return Spec(shape, dtype)


class Sum(_Reduction):
    """``np.sum(a, axis, keepdims=...)``."""

    reducer = np.sum


class Mean(_Reduction):
    """``np.mean(a, axis, keepdims=...)``."""

    reducer = np.mean


class Transpose(Op):
    """``np.transpose(a, axes)``; ``axes=None`` reverses them, as ``.T`` does."""

    arity = 1

    def __init__(self, axes: Sequence[int] | None = None) -> None:
        self.axes = None if axes is None else tuple(int(a) for a in axes)

    def forward(self, a: Any) -> Any:
        """``np.transpose``."""
        return np.transpose(a, self.axes)

    def infer(self, a: Spec) -> Spec:
        """Permuted shape, same dtype."""
        return Spec(transpose_shape(a.shape, self.axes), a.dtype)


class Reshape(Op):
    """``np.reshape(a, shape)``; one ``-1`` is inferred."""

    arity = 1

    def __init__(self, shape: int | Sequence[int]) -> None:
        # An int is a 1-D shape, as in np.reshape(a, 6).
        shape = _axes(shape, "Reshape")
        self.shape = (shape,) if isinstance(shape, int) else shape

    def forward(self, a: Any) -> Any:
        """``np.reshape``."""
        return np.reshape(a, self.shape)

    def infer(self, a: Spec) -> Spec:
        """The new shape, same dtype."""
        return Spec(reshape_shape(a.shape, self.shape), a.dtype)


class Cast(Op):
    """``a.astype(dtype)``: float to int truncates toward zero, as numpy does."""

    arity = 1

    def __init__(self, dtype: Any) -> None:
        # Kept as a name ("float32") so that the attribute is plain data for listings and files.
        self.dtype = np.dtype(dtype).name

    def forward(self, a: Any) -> Any:
        """``np.asarray(a).astype(dtype)``."""
        return np.asarray(a).astype(self.dtype)

    def infer(self, a: Spec) -> Spec:
        """Same shape, the new dtype."""
        return Spec(a.shape, np.dtype(self.dtype))


# --- function forms -------------------------------------------------------------------------------


def matmul(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a @ b``."""
    return MatMul()(a, b, name=name)


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


def sigmoid(a: Any, *, name: str | None = None) -> Node:
    """``1 / (1 + exp(-a))``, numerically stable."""
    return Sigmoid()(a, name=name)


def relu(a: Any, *, name: str | None = None) -> Node:
    """``max(a, 0)``."""
    return ReLU()(a, name=name)


def softmax(a: Any, axis: int = -1, *, name: str | None = None) -> Node:
    """Softmax along ``axis``."""
    return Softmax(axis)(a, name=name)


def sum(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,  # noqa: A001
        name: str | None = None) -> Node:
    """``np.sum(a, axis, keepdims=keepdims)``."""
    return Sum(axis, keepdims)(a, name=name)


def mean(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
         name: str | None = None) -> Node:
    """``np.mean(a, axis, keepdims=keepdims)``."""
    return Mean(axis, keepdims)(a, name=name)


def transpose(a: Any, axes: Sequence[int] | None = None, *, name: str | None = None) -> Node:
    """``np.transpose(a, axes)``."""
    return Transpose(axes)(a, name=name)


def reshape(a: Any, shape: int | Sequence[int], *, name: str | None = None) -> Node:
    """``np.reshape(a, shape)``."""
    return Reshape(shape)(a, name=name)


def cast(a: Any, dtype: Any, *, name: str | None = None) -> Node:
    """``a.astype(dtype)``."""
    return Cast(dtype)(a, name=name)


# numpy's spellings, for users who reach for them.
subtract, multiply, divide, negative, power = sub, mul, div, neg, pow
