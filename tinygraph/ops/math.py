"""Elementwise math on numpy's ufuncs: ``sqrt``, ``abs``, ``reciprocal``, rounding (``floor``, ``ceil``,
``round``), ``sign``, trigonometry (``sin`` ... ``atanh``), and the remainder ``mod``.

Each op is numpy's own loop with numpy's dtypes (``Elementwise``); other array libraries compute
them with the array API standard's functions of the same meaning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays import array_namespace, via_numpy
from ..node import Node
from ..shapes import Spec, broadcast_shapes, ufunc_dtype
from .elementwise import Elementwise, _lacking, int_remainder, ufunc_operands

__all__ = [
    "Sqrt", "Abs", "Reciprocal", "Mod", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
    "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
    "sqrt", "abs", "reciprocal", "mod", "floor", "ceil", "round", "sign", "sin", "cos", "tan", "asin", "acos", "atan",
    "sinh", "cosh", "asinh", "acosh", "atanh",
]


class Sqrt(Elementwise):
    """``sqrt(a)``."""

    arity = 1
    ufunc = np.sqrt
    onnx_type = "Sqrt"


class Abs(Elementwise):
    """``|a|``."""

    arity = 1
    ufunc = np.absolute
    onnx_type = "Abs"


class Reciprocal(Elementwise):
    """``1 / a``."""

    arity = 1
    ufunc = np.reciprocal
    onnx_type = "Reciprocal"

    def forward_xp(self, xp: Any, a: Any) -> Any:
        """``xp.reciprocal`` of floats; integers through numpy (the standard's is for floats only)."""
        if xp.isdtype(a.dtype, "integral"):
            # numpy's integer 1 / a truncates, and its 1 / 0 is whatever the CPU's division gives.
            return via_numpy("Reciprocal of integers", np.reciprocal, [a])
        return super().forward_xp(xp, a)


class Floor(Elementwise):
    """``floor(a)``."""

    arity = 1
    ufunc = np.floor
    onnx_type = "Floor"


class Ceil(Elementwise):
    """``ceil(a)``."""

    arity = 1
    ufunc = np.ceil
    onnx_type = "Ceil"


class Round(Elementwise):
    """Round to the nearest integer, halves to even (``np.rint``), as ONNX's ``Round``."""

    arity = 1
    ufunc = np.rint
    onnx_type = "Round"


class Sign(Elementwise):
    """``-1``, ``0`` or ``1`` (``np.sign``)."""

    arity = 1
    ufunc = np.sign
    onnx_type = "Sign"


class Sin(Elementwise):
    """``sin(a)``."""

    arity = 1
    ufunc = np.sin
    onnx_type = "Sin"


class Cos(Elementwise):
    """``cos(a)``."""

    arity = 1
    ufunc = np.cos
    onnx_type = "Cos"


class Tan(Elementwise):
    """``tan(a)``."""

    arity = 1
    ufunc = np.tan
    onnx_type = "Tan"


class Asin(Elementwise):
    """``arcsin(a)``."""

    arity = 1
    ufunc = np.arcsin
    onnx_type = "Asin"


class Acos(Elementwise):
    """``arccos(a)``."""

    arity = 1
    ufunc = np.arccos
    onnx_type = "Acos"


class Atan(Elementwise):
    """``arctan(a)``."""

    arity = 1
    ufunc = np.arctan
    onnx_type = "Atan"


class Sinh(Elementwise):
    """``sinh(a)``."""

    arity = 1
    ufunc = np.sinh
    onnx_type = "Sinh"


class Cosh(Elementwise):
    """``cosh(a)``."""

    arity = 1
    ufunc = np.cosh
    onnx_type = "Cosh"


class Asinh(Elementwise):
    """``arcsinh(a)``."""

    arity = 1
    ufunc = np.arcsinh
    onnx_type = "Asinh"


class Acosh(Elementwise):
    """``arccosh(a)``."""

    arity = 1
    ufunc = np.arccosh
    onnx_type = "Acosh"


class Atanh(Elementwise):
    """``arctanh(a)``."""

    arity = 1
    ufunc = np.arctanh
    onnx_type = "Atanh"


class Mod(Elementwise):
    """``a % b``: the sign of ``b`` (``np.mod``), or of ``a`` with ``fmod=True`` (``np.fmod``, C's)."""

    arity = 2
    formula = "a % b"
    onnx_type = "Mod"

    def __init__(self, fmod: bool = False) -> None:
        self.fmod = bool(fmod)

    arrays = "any"

    def forward(self, a: Any, b: Any) -> Any:
        """``np.fmod`` or ``np.mod``; a zero divisor gives 0 for integers, NaN for floats."""
        xp = array_namespace(a, b)
        if xp is not np:
            operands = ufunc_operands(xp, np.fmod if self.fmod else np.mod, (a, b), arrays=True)
            lacking = _lacking(self, operands)
            if lacking is not None:
                return via_numpy(lacking, self.forward, (a, b))
            a, b = operands
            if xp.isdtype(a.dtype, "integral"):
                return int_remainder(xp, a, b, self.fmod)
            if self.fmod:  # C's fmod: the remainder of the magnitudes (exact), with the dividend's sign
                return xp.copysign(xp.remainder(xp.abs(a), xp.abs(b)), a)
            return xp.remainder(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.fmod if self.fmod else np.mod)(a, b)

    def forward_into(self, out: Any, a: Any, b: Any) -> Any:
        """The same, into ``out``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.fmod if self.fmod else np.mod)(a, b, out=out)

    def kernel(self, node: Node) -> Any:
        """No fast path: the ufunc depends on ``fmod``, and zero divisors must stay silent."""
        return None

    def infer(self, *specs: Spec) -> Spec:
        """Broadcast shapes; numpy's dtype."""
        return Spec(broadcast_shapes(*(s.shape for s in specs)), ufunc_dtype(np.fmod if self.fmod else np.mod, *specs))

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Mod(fmod)``; ONNX's float ``Mod`` is C's ``fmod`` only, so numpy's float ``mod`` is fixed up.

        ``np.mod`` takes the divisor's sign: where ``fmod``'s remainder is nonzero and its sign
        differs from the divisor's, the divisor is added (``Where(r * b < 0, r + b, r)``).
        """
        a, b = (ctx.operand(i, node.dtype) for i in node.inputs)
        if self.fmod or node.dtype.kind != "f":
            return str(ctx.emit("Mod", [a, b], output=ctx.name(node), fmod=int(self.fmod)))
        r = ctx.emit("Mod", [a, b], fmod=1)
        zero = ctx.constant(np.zeros((), dtype=node.dtype), f"{ctx.name(node)}_zero")
        flip = ctx.emit("Less", [ctx.emit("Mul", [r, b]), zero])
        return str(ctx.emit("Where", [flip, ctx.emit("Add", [r, b]), r], output=ctx.name(node)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``fmod`` (0)."""
        return {"fmod": bool(ctx.int_attr("fmod", 0))}


# --- function forms --------------------------------------------------------------------------------


def sqrt(a: Any, *, name: str | None = None) -> Node:
    """``sqrt(a)``."""
    return Sqrt()(a, name=name)


def abs(a: Any, *, name: str | None = None) -> Node:  # noqa: A001
    """``|a|``."""
    return Abs()(a, name=name)


def reciprocal(a: Any, *, name: str | None = None) -> Node:
    """``1 / a``."""
    return Reciprocal()(a, name=name)


def mod(a: Any, b: Any, fmod: bool = False, *, name: str | None = None) -> Node:
    """``a % b`` with the divisor's sign (``np.mod``), or the dividend's with ``fmod=True``."""
    return Mod(fmod)(a, b, name=name)


def floor(a: Any, *, name: str | None = None) -> Node:
    """``floor(a)``."""
    return Floor()(a, name=name)


def ceil(a: Any, *, name: str | None = None) -> Node:
    """``ceil(a)``."""
    return Ceil()(a, name=name)


def round(a: Any, *, name: str | None = None) -> Node:  # noqa: A001
    """Round halves to even (``np.rint``)."""
    return Round()(a, name=name)


def sign(a: Any, *, name: str | None = None) -> Node:
    """``np.sign(a)``."""
    return Sign()(a, name=name)


def sin(a: Any, *, name: str | None = None) -> Node:
    """``sin(a)``."""
    return Sin()(a, name=name)


def cos(a: Any, *, name: str | None = None) -> Node:
    """``cos(a)``."""
    return Cos()(a, name=name)


def tan(a: Any, *, name: str | None = None) -> Node:
    """``tan(a)``."""
    return Tan()(a, name=name)


def asin(a: Any, *, name: str | None = None) -> Node:
    """``arcsin(a)``."""
    return Asin()(a, name=name)


def acos(a: Any, *, name: str | None = None) -> Node:
    """``arccos(a)``."""
    return Acos()(a, name=name)


def atan(a: Any, *, name: str | None = None) -> Node:
    """``arctan(a)``."""
    return Atan()(a, name=name)


def sinh(a: Any, *, name: str | None = None) -> Node:
    """``sinh(a)``."""
    return Sinh()(a, name=name)


def cosh(a: Any, *, name: str | None = None) -> Node:
    """``cosh(a)``."""
    return Cosh()(a, name=name)


def asinh(a: Any, *, name: str | None = None) -> Node:
    """``arcsinh(a)``."""
    return Asinh()(a, name=name)


def acosh(a: Any, *, name: str | None = None) -> Node:
    """``arccosh(a)``."""
    return Acosh()(a, name=name)


def atanh(a: Any, *, name: str | None = None) -> Node:
    """``arctanh(a)``."""
    return Atanh()(a, name=name)
