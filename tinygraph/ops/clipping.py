"""Ops where one operand bounds or scales another piecewise: ``maximum``, ``minimum``, ``clip`` (either
bound may be left out) and ``prelu`` (a slope operand for the negative values).

The operands broadcast, and their dtypes promote as numpy's ``maximum``, ``minimum`` and
``multiply`` promote them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, via_numpy
from ..errors import ShapeError
from ..node import Node
from ..op import Op, constant
from ..shapes import Spec, broadcast_shapes, ufunc_dtype
from .elementwise import Elementwise, _lacking, ufunc_operands
from .layout import reshape

__all__ = ["Maximum", "Minimum", "Clip", "PReLU", "maximum", "minimum", "clip", "prelu"]


class _Variadic(Elementwise):
    """A binary ufunc that ONNX writes as a variadic op: imported as a chain of binary nodes."""

    arity = 2
    commutative = True

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """One node per operand after the first (a single operand is passed through)."""
        operands = ctx.operands()
        if not operands:
            raise ctx.error("needs at least one operand")
        y = operands[0]
        for k, b in enumerate(operands[1:], start=1):
            y = cls()(y, b, name=ctx.name() if k == len(operands) - 1 else ctx.name(str(k)))
        return [y]

    def kernel(self, node: Node) -> Any:
        """None: numpy 2.4 deprecates ``np.maximum(a, b, out)`` with ``out`` positional, as kernels are called."""
        return None


class Maximum(_Variadic):
    """``np.maximum(a, b)``: NaN wins, as in ONNX's ``Max``."""

    ufunc = np.maximum
    onnx_type = "Max"


class Minimum(_Variadic):
    """``np.minimum(a, b)``: NaN wins, as in ONNX's ``Min``."""

    ufunc = np.minimum
    onnx_type = "Min"


class Clip(Op):
    """``min(max(a, lo), hi)``; either bound may be left out (``has_min``, ``has_max``)."""

    arity = None
    fresh_output = True
    onnx_type = "Clip"
    torch_ops = ("aten.hardtanh.default", "aten.relu6.default", "aten.clamp.default", "aten.clamp.Tensor")

    def __init__(self, has_min: bool = True, has_max: bool = True) -> None:
        self.has_min = bool(has_min)
        self.has_max = bool(has_max)

    arrays = "any"

    def forward(self, a: Any, *bounds: Any) -> Any:
        """``np.minimum(np.maximum(a, lo), hi)`` (``hi`` wins where ``lo > hi``, as in ONNX)."""
        xp = array_namespace(a, *bounds)
        lo, hi = self._split(bounds)
        if xp is not np:
            if lo is None and hi is None:
                return xp.asarray(a, copy=True)
            y = a
            for bound, ufunc, fn in ((lo, np.maximum, xp.maximum), (hi, np.minimum, xp.minimum)):
                if bound is not None:
                    operands = ufunc_operands(xp, ufunc, (y, bound))
                    lacking = _lacking(self, operands)
                    if lacking is not None:
                        return via_numpy(lacking, self.forward, (a, *bounds))
                    y = fn(*operands)
            return y
        y = np.asarray(a) if lo is None else np.maximum(a, lo)
        y = y if hi is None else np.minimum(y, hi)
        return np.array(y, copy=True) if lo is None and hi is None else y

    def _split(self, items: Sequence[Any]) -> tuple[Any, Any]:
        it = iter(items)
        lo = next(it) if self.has_min else None
        hi = next(it) if self.has_max else None
        return lo, hi

    def infer(self, a: Spec, *bounds: Spec) -> Spec:
        """Broadcast shapes; the dtype of ``a`` with the bounds (numpy's ``maximum``)."""
        if len(bounds) != self.has_min + self.has_max:
            raise ShapeError(f"expected {1 + self.has_min + self.has_max} operands, got {1 + len(bounds)}")
        lo, hi = self._split(bounds)
        dtype = a if lo is None else Spec((), ufunc_dtype(np.maximum, a, lo))
        dtype = dtype if hi is None else Spec((), ufunc_dtype(np.minimum, dtype, hi))
        return Spec(broadcast_shapes(a.shape, *(b.shape for b in bounds)), dtype.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Clip(x, min, max)`` for scalar bounds; ``Max``/``Min`` nodes for array bounds."""
        x = ctx.operand(node.inputs[0], node.dtype)
        bounds = node.inputs[1:]
        lo, hi = self._split([ctx.operand(b, node.dtype) for b in bounds])
        if all(b.ndim == 0 for b in bounds):
            operands = [x, lo or "", hi or ""] if hi else ([x, lo] if lo else [x])
            return str(ctx.emit("Clip", operands, output=ctx.name(node)))
        if lo is not None:
            x = ctx.emit("Max", [x, lo], output=None if hi else ctx.name(node))
        if hi is not None:
            x = ctx.emit("Min", [x, hi], output=ctx.name(node))
        return str(x)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``hardtanh(x, lo, hi)``, ``relu6(x)``, ``clamp(x, min, max)`` (either bound may be absent)."""
        x = args[0]
        lo, hi = (0, 6) if target == "aten.relu6.default" else args[1:3]
        bounds = [b if isinstance(b, Node) else constant(np.asarray(b, dtype=x.dtype)) for b in (lo, hi)
                  if b is not None]
        return cls(lo is not None, hi is not None)(x, *bounds)

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Bounds as operands (opset >= 11) or as the ``min``/``max`` attributes before."""
        x = ctx.input(0)
        if ctx.opset >= 11:
            lo = ctx.input(1) if ctx.has_input(1) else None
            hi = ctx.input(2) if ctx.has_input(2) else None
        else:
            low, high = ctx.attr("min"), ctx.attr("max")
            lo = None if low is None else constant(np.asarray(low, dtype=x.dtype))
            hi = None if high is None else constant(np.asarray(high, dtype=x.dtype))
        bounds = [b for b in (lo, hi) if b is not None]
        return [cls(lo is not None, hi is not None)(x, *bounds, name=ctx.name())]


class PReLU(Op):
    """``x`` where positive, else ``slope * x``; ``slope`` broadcasts against ``x``."""

    kind = "prelu"
    arity = 2
    fresh_output = True
    formula = "prelu(a, slope b)"
    onnx_type = "PRelu"

    arrays = "any"

    def forward(self, x: Any, slope: Any) -> Any:
        """``np.where(x >= 0, x, slope * x)``."""
        xp = array_namespace(x, slope)
        if xp is not np:
            operands = ufunc_operands(xp, np.multiply, (x, slope))
            lacking = _lacking(self, operands)
            if lacking is not None:
                return via_numpy(lacking, self.forward, (x, slope))
            x, slope = operands
            return xp.where(x >= 0, x, x * slope)
        return np.where(np.asarray(x) >= 0, x, np.multiply(x, slope))

    def infer(self, x: Spec, slope: Spec) -> Spec:
        """Broadcast shapes; the dtype ``x * slope`` gives."""
        return Spec(broadcast_shapes(x.shape, slope.shape), ufunc_dtype(np.multiply, x, slope))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """``PRelu(X, slope)``; before opset 7 a 1-D slope holds one value per channel (axis 1)."""
        x, slope = ctx.operands()
        if ctx.opset < 7 and slope.ndim == 1 and x.ndim >= 2 and slope.shape[0] != 1:
            slope = reshape(slope, (-1,) + (1,) * (x.ndim - 2), name=ctx.name("slope"))
        return [cls()(x, slope, name=ctx.name())]


# --- function forms --------------------------------------------------------------------------------


def maximum(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``np.maximum(a, b)``."""
    return Maximum()(a, b, name=name)


def minimum(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``np.minimum(a, b)``."""
    return Minimum()(a, b, name=name)


def clip(a: Any, min: Any = None, max: Any = None, *, name: str | None = None) -> Node:  # noqa: A002
    """``np.clip(a, min, max)``; ``None`` leaves that side open."""
    bounds = [b for b in (min, max) if b is not None]
    return Clip(min is not None, max is not None)(a, *bounds, name=name)


def prelu(a: Any, slope: Any, *, name: str | None = None) -> Node:
    """``a`` where positive, else ``slope * a`` (``slope`` broadcasts, typically a parameter)."""
    return PReLU()(a, slope, name=name)
