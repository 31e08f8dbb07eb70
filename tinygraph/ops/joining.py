"""Joining arrays along an axis: ``concat`` (``concatenate``) and ``stack``.

Both carry what is known of small integer values in their spec (``Spec.value``): the concatenated
sizes of a shape computed in the graph (``concat([batch, [-1]])``) keep every size known at build time.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, promoted
from ..errors import ShapeError
from ..node import Node
from ..op import Op
from ..shapes import MAX_KNOWN_VALUE, Dim, Spec, format_spec, result_dtype
from ._operands import _axis, known_elements, library_operands

__all__ = ["Concat", "Stack", "concat", "concatenate", "stack"]


def _keep_value(values: Any) -> tuple[Dim, ...] | None:
    """``values`` as a spec's known value, if small enough."""
    values = tuple(values)
    return values if len(values) <= MAX_KNOWN_VALUE else None


class Concat(Op):
    """``np.concatenate(values, axis)``."""

    fresh_output = True
    onnx_type = "Concat"
    torch_ops = ("aten.cat.default",)

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``cat(tensors, dim)``."""
        tensors, dim = args
        return cls(dim)(*tensors)

    arrays = "any"

    def forward(self, *values: Any) -> Any:
        """``np.concatenate``; ``concat`` of the operands promoted as numpy does on other libraries."""
        # A numpy first operand means a numpy run (one library per run): no call on the fast path.
        xp = np if type(values[0]) is np.ndarray else array_namespace(*values)
        if xp is np:
            return np.concatenate(values, axis=self.axis)
        _, arrays = library_operands(values)
        return xp.concat(promoted(xp, *arrays), axis=self.axis)

    def infer(self, *specs: Spec) -> Spec:
        """Same sizes except along ``axis``, where they add up."""
        if not specs:
            raise ShapeError("needs at least one operand")
        ndim = specs[0].ndim
        if ndim == 0 or any(s.ndim != ndim for s in specs):
            raise ShapeError(f"needs operands of one rank (at least 1), got {', '.join(format_spec(s) for s in specs)}")
        axis = _axis(self.axis, ndim)
        dims: list[Dim] = []
        for i in range(ndim):
            sizes = [s.shape[i] for s in specs]
            if i == axis:
                dims.append(None if None in sizes else builtins.sum(d for d in sizes if d is not None))
                continue
            known = {d for d in sizes if d is not None}
            if len(known) > 1:
                raise ShapeError(f"sizes along axis {i} differ: {sorted(known)}")
            dims.append(known.pop() if known else None)
        dtype = result_dtype(*(Spec(s.shape, s.dtype) for s in specs))
        value = None
        if ndim == 1 and dtype.kind in "iu" and dims[0] is not None:
            value = _keep_value([v for s in specs for v in known_elements(s, "operand")])
        return Spec(tuple(dims), dtype, False, value)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``axis`` (opset 1-3 default 1)."""
        return {"axis": ctx.int_attr("axis", 1 if ctx.opset < 4 else 0)}


class Stack(Op):
    """``np.stack(values, axis)``: a new axis."""

    fresh_output = True

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    arrays = "any"

    def forward(self, *values: Any) -> Any:
        """``np.stack``; ``stack`` of the operands promoted as numpy does on other libraries."""
        xp = np if type(values[0]) is np.ndarray else array_namespace(*values)
        if xp is np:
            return np.stack(values, axis=self.axis)
        _, arrays = library_operands(values)
        return xp.stack(promoted(xp, *arrays), axis=self.axis)

    def infer(self, *specs: Spec) -> Spec:
        """The common shape with a new axis of ``len(values)``."""
        if not specs:
            raise ShapeError("needs at least one operand")
        ndim = specs[0].ndim
        if any(s.ndim != ndim for s in specs):
            raise ShapeError(f"needs operands of one shape, got {', '.join(format_spec(s) for s in specs)}")
        dims: list[Dim] = []
        for i in range(ndim):
            known = {s.shape[i] for s in specs} - {None}
            if len(known) > 1:
                raise ShapeError(f"sizes along axis {i} differ: {sorted(known)}")  # type: ignore[type-var]
            dims.append(known.pop() if known else None)
        axis = _axis(self.axis, ndim + 1)
        dims.insert(axis, len(specs))
        dtype = result_dtype(*(Spec(s.shape, s.dtype) for s in specs))
        value = None
        if ndim == 0 and dtype.kind in "iu":
            value = _keep_value([v for s in specs for v in known_elements(s, "operand")])
        return Spec(tuple(dims), dtype, False, value)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Unsqueeze`` each operand, then ``Concat``."""
        axis = _axis(self.axis, node.ndim)
        axes = ctx.constant(np.array([axis], dtype=np.int64), f"{ctx.name(node)}_axis")
        parts = [ctx.emit("Unsqueeze", [ctx.operand(i, node.dtype), axes]) for i in node.inputs]
        return str(ctx.emit("Concat", parts, output=ctx.name(node), axis=axis))


# --- function forms --------------------------------------------------------------------------------


def concat(values: Sequence[Any], axis: int = 0, *, name: str | None = None) -> Node:
    """``np.concatenate(values, axis)``."""
    return Concat(axis)(*values, name=name)


concatenate = concat


def stack(values: Sequence[Any], axis: int = 0, *, name: str | None = None) -> Node:
    """``np.stack(values, axis)``."""
    return Stack(axis)(*values, name=name)
