"""Size-1 axes removed and added: ``squeeze`` and ``unsqueeze``, their axes an attribute or an operand.

Axes given as an operand may be known only at run time; the result's rank is still known (one
axis less or more per entry), and so is what the spec knows of a small integer value.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace
from ..errors import ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Dim, Spec, format_spec, normalize_axes
from ._operands import host_ints, known_elements, library_operands
from .layout import int_or_ints

__all__ = ["Squeeze", "Unsqueeze", "squeeze", "unsqueeze"]

_INT64 = np.dtype(np.int64)


def _axes(axes: Sequence[int], ndim: int) -> tuple[int, ...]:
    """``axes`` counted from 0, checked as numpy checks them (in range, no repeats)."""
    try:
        return normalize_axes(axes, ndim)
    except ShapeError as e:  # an error of the values at run time, as numpy's
        raise ValueError(str(e)) from None


def _operand_axes(axes: Any) -> tuple[int, ...]:
    return tuple(host_ints(axes))


class Squeeze(Op):
    """``np.squeeze(a, axes)``; ``axes`` may be an operand; none removes every size-1 axis (sizes known)."""

    arity = None
    onnx_type = "Squeeze"
    torch_ops = ("aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default")

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``squeeze(x[, dims])``: torch keeps an axis whose size is not 1, so those must be known."""
        x = args[0]
        dims = list(builtins.range(x.ndim)) if len(args) == 1 else (
            [args[1]] if isinstance(args[1], int) else list(args[1]))
        picked = [d for d in normalize_axes(dims, x.ndim) if x.shape[d] == 1] if x.ndim else []
        if any(x.shape[d] is None for d in normalize_axes(dims, x.ndim)):
            raise ValueError(f"squeezing an axis whose size is known only at run time (shape {x.shape})")
        return cls(picked)(x) if picked else x

    def __init__(self, axes: int | Sequence[int] | None = None) -> None:
        if axes is None:
            self.axes: list[int] | None = None
        else:
            value = int_or_ints(axes, "Squeeze")
            self.axes = [value] if isinstance(value, int) else list(value)

    arrays = "any"

    def forward(self, a: Any, *axes: Any) -> Any:
        """``np.squeeze``; a ``reshape`` dropping those axes on other libraries."""
        picked = _operand_axes(axes[0]) if axes else (None if self.axes is None else tuple(self.axes))
        xp = np if type(a) is np.ndarray else array_namespace(a, *axes)
        if xp is np:
            return np.squeeze(a, axis=picked)
        a = library_operands([a, *axes])[1][0]
        shape = tuple(a.shape)
        dropped = {i for i, d in enumerate(shape) if d == 1} if picked is None else set(_axes(picked, len(shape)))
        if any(shape[i] != 1 for i in dropped):
            raise ValueError(f"cannot squeeze axes {sorted(dropped)} of shape {shape}: not all of size 1")
        return xp.reshape(a, tuple(d for i, d in enumerate(shape) if i not in dropped))

    def infer(self, a: Spec, *axes: Spec) -> Spec:
        """The shape without the squeezed axes (an unknown size there must be 1 at run time)."""
        if len(axes) > 1 or (axes and self.axes is not None):
            raise ShapeError("takes its axes as an attribute or as one operand, not both")
        given: list[Dim] | None = known_elements(axes[0], "axes") if axes else self.axes  # type: ignore[assignment]
        if given is not None and None in given:
            if len(given) > a.ndim:
                raise ShapeError(f"{len(given)} axes for a rank-{a.ndim} input")
            return Spec((None,) * (a.ndim - len(given)), a.dtype)
        if given is None or (axes and not given):
            if None in a.shape:
                raise ShapeError(f"squeezing every size-1 axis of {format_spec(a)} needs its sizes known: give axes")
            picked = tuple(i for i, d in enumerate(a.shape) if d == 1)
        else:
            picked = normalize_axes(given, a.ndim)  # type: ignore[arg-type]
            bad = [i for i in picked if a.shape[i] not in (1, None)]
            if bad:
                raise ShapeError(f"cannot squeeze axis {bad[0]} of size {a.shape[bad[0]]}")
        return Spec(tuple(d for i, d in enumerate(a.shape) if i not in picked), a.dtype, False, a.value)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Squeeze`` with axes as an input."""
        x = node.inputs[0]
        if len(node.inputs) > 1:
            axes = ctx.operand(node.inputs[1], _INT64)
        else:
            picked = list(normalize_axes(self.axes, x.ndim)) if self.axes is not None else \
                [i for i, d in enumerate(x.shape) if d == 1]
            axes = ctx.constant(np.array(picked, dtype=np.int64), f"{ctx.name(node)}_axes")
        return str(ctx.emit("Squeeze", [ctx.operand(x), axes], output=ctx.name(node)))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Axes from the attribute (opset < 13) or the operand."""
        if ctx.opset < 13:
            return [cls(ctx.ints_attr("axes", None))(ctx.input(0), name=ctx.name())]
        if ctx.is_static(1):
            return [cls(_operand_axes(ctx.static(1, "axes")) or None)(ctx.input(0), name=ctx.name())]
        return [cls()(*ctx.operands(), name=ctx.name())]


class Unsqueeze(Op):
    """``np.expand_dims(a, axes)``: size-1 axes at ``axes`` of the result; ``axes`` may be an operand."""

    arity = None
    onnx_type = "Unsqueeze"
    torch_ops = ("aten.unsqueeze.default",)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``unsqueeze(x, dim)``."""
        return cls([args[1]])(args[0])

    def __init__(self, axes: int | Sequence[int] | None = None) -> None:
        if axes is None:
            self.axes: list[int] | None = None
        else:
            value = int_or_ints(axes, "Unsqueeze")
            self.axes = [value] if isinstance(value, int) else list(value)

    arrays = "any"

    def forward(self, a: Any, *axes: Any) -> Any:
        """``np.expand_dims``; a ``reshape`` with those size-1 axes on other libraries."""
        picked = _operand_axes(axes[0]) if axes else tuple(self.axes or ())
        xp = np if type(a) is np.ndarray else array_namespace(a, *axes)
        if xp is np:
            return np.expand_dims(a, picked)
        a = library_operands([a, *axes])[1][0]
        ndim = a.ndim + len(picked)
        new = _axes(picked, ndim)
        rest = iter(a.shape)
        return xp.reshape(a, tuple(1 if i in new else next(rest) for i in builtins.range(ndim)))

    def infer(self, a: Spec, *axes: Spec) -> Spec:
        """One more size-1 axis per entry of ``axes``."""
        if len(axes) != (self.axes is None):
            raise ShapeError("takes its axes as an attribute or as one operand")
        given: list[Dim] = known_elements(axes[0], "axes") if axes else list(self.axes or [])
        ndim = a.ndim + len(given)
        if None in given:
            return Spec((None,) * ndim, a.dtype)
        picked = normalize_axes(given, ndim)  # type: ignore[arg-type]
        rest = iter(a.shape)
        return Spec(tuple(1 if i in picked else next(rest) for i in builtins.range(ndim)), a.dtype, False, a.value)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Unsqueeze`` with axes as an input."""
        if len(node.inputs) > 1:
            axes = ctx.operand(node.inputs[1], _INT64)
        else:
            axes = ctx.constant(np.array(self.axes, dtype=np.int64), f"{ctx.name(node)}_axes")
        return str(ctx.emit("Unsqueeze", [ctx.operand(node.inputs[0]), axes], output=ctx.name(node)))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Axes from the attribute (opset < 13) or the operand."""
        if ctx.opset < 13:
            return [cls(ctx.ints_attr("axes", []))(ctx.input(0), name=ctx.name())]
        if ctx.is_static(1):
            return [cls(_operand_axes(ctx.static(1, "axes")))(ctx.input(0), name=ctx.name())]
        return [cls()(ctx.input(0), ctx.input(1), name=ctx.name())]


# --- function forms --------------------------------------------------------------------------------


def squeeze(a: Any, axis: int | Sequence[int] | None = None, *, name: str | None = None) -> Node:
    """``np.squeeze(a, axis)``."""
    return Squeeze(axis)(a, name=name)


def unsqueeze(a: Any, axis: int | Sequence[int], *, name: str | None = None) -> Node:
    """``np.expand_dims(a, axis)``."""
    return Unsqueeze(axis)(a, name=name)
