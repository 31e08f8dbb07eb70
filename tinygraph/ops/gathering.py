"""Integer-array indexing: ``gather`` (``np.take``) and ``gather_elements`` (``np.take_along_axis``).

Negative indices count from the end on every array library. ``Gather`` of a small integer value
(a shape) carries what is known of it in its spec (``Spec.value``), so that a size picked from a
shape computed in the graph stays known at build time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace
from ..errors import ShapeError
from ..node import Node
from ..op import Op, constant
from ..shapes import Spec, format_spec
from ._operands import _axis, library_operands

__all__ = ["Gather", "GatherElements", "gather", "gather_elements"]

_INT64 = np.dtype(np.int64)


class Gather(Op):
    """``np.take(a, indices, axis)``: negative indices count from the end."""

    arity = 2
    onnx_type = "Gather"
    torch_ops = ("aten.select.int", "aten.index_select.default")

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``select(x, dim, index)`` (a scalar index drops the axis) and ``index_select(x, dim, indices)``."""
        x, dim, index = args
        if not isinstance(index, Node):
            index = constant(np.asarray(index, dtype=np.int64))
        return cls(dim)(x, index)

    arrays = "any"

    def forward(self, a: Any, indices: Any) -> Any:
        """``np.take``; ``take`` of the flattened indices (the standard's are 1-D) on other libraries."""
        xp = np if type(a) is np.ndarray else array_namespace(a, indices)
        if xp is np:
            return np.take(a, indices, axis=self.axis)
        _, (a, indices) = library_operands([a, indices])
        axis = _axis(self.axis, a.ndim)
        flat = _index_array(xp, indices if indices.ndim == 1 else xp.reshape(indices, (-1,)), a.shape[axis])
        y = xp.take(a, flat, axis=axis)
        if indices.ndim == 1:
            return y
        return xp.reshape(y, tuple(a.shape[:axis]) + tuple(indices.shape) + tuple(a.shape[axis + 1:]))

    def infer(self, a: Spec, indices: Spec) -> Spec:
        """``a``'s shape with ``axis`` replaced by the indices' shape."""
        if indices.dtype.kind not in "iu":
            raise ShapeError(f"indices must be integers, got {format_spec(indices)}")
        if a.ndim == 0:
            raise ShapeError("cannot gather from a scalar")
        axis = _axis(self.axis, a.ndim)
        shape = a.shape[:axis] + indices.shape + a.shape[axis + 1:]
        value = None
        d = a.shape[axis]
        if indices.value is not None and d is not None:
            bad = [i for i in indices.value if i is not None and not -d <= i < d]
            if bad:
                raise ShapeError(f"index {bad[0]} is out of bounds for axis {axis} with size {d}")
            if a.value is not None and a.ndim == 1:
                value = tuple(None if i is None else a.value[i] for i in indices.value)
        return Spec(shape, a.dtype, False, value)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Gather``, the indices as int64."""
        x, i = node.inputs
        return str(ctx.emit("Gather", [ctx.operand(x), ctx.operand(i, _INT64)], output=ctx.name(node),
                            axis=self.axis))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``axis``."""
        return {"axis": ctx.int_attr("axis", 0)}


class GatherElements(Op):
    """``np.take_along_axis(a, indices, axis)``."""

    kind = "gather_elements"
    arity = 2
    onnx_type = "GatherElements"

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    arrays = "any"

    def forward(self, a: Any, indices: Any) -> Any:
        """``np.take_along_axis``; the standard's ``take_along_axis`` on other libraries."""
        xp = np if type(a) is np.ndarray else array_namespace(a, indices)
        if xp is np:
            return np.take_along_axis(np.asarray(a), np.asarray(indices), axis=self.axis)
        _, (a, indices) = library_operands([a, indices])
        axis = _axis(self.axis, a.ndim)
        return xp.take_along_axis(a, _index_array(xp, indices, a.shape[axis]), axis=axis)

    def infer(self, a: Spec, indices: Spec) -> Spec:
        """The indices' shape, ``a``'s dtype."""
        if indices.dtype.kind not in "iu":
            raise ShapeError(f"indices must be integers, got {format_spec(indices)}")
        if a.ndim != indices.ndim or a.ndim == 0:
            raise ShapeError("data and indices must have one rank (at least 1)")
        _axis(self.axis, a.ndim)
        return Spec(indices.shape, a.dtype)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``GatherElements``, the indices as int64."""
        x, i = node.inputs
        return str(ctx.emit("GatherElements", [ctx.operand(x), ctx.operand(i, _INT64)], output=ctx.name(node),
                            axis=self.axis))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``axis``."""
        return {"axis": ctx.int_attr("axis", 0)}


def _index_array(xp: Any, indices: Any, size: int) -> Any:
    """Integer indices as int64 with the negative ones counted from the end (as numpy takes them).

    The standard leaves negative indices to each library (torch refuses them), and torch takes
    int64 indices only in some functions.
    """
    if indices.dtype != xp.int64:
        indices = xp.astype(indices, xp.int64)
    return xp.where(indices < 0, indices + size, indices)


# --- function forms --------------------------------------------------------------------------------


def gather(a: Any, indices: Any, axis: int = 0, *, name: str | None = None) -> Node:
    """``np.take(a, indices, axis)``."""
    return Gather(axis)(a, indices, name=name)


def gather_elements(a: Any, indices: Any, axis: int = 0, *, name: str | None = None) -> Node:
    """``np.take_along_axis(a, indices, axis)``."""
    return GatherElements(axis)(a, indices, name=name)
