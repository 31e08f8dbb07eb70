"""Reductions over axes: ``sum`` and ``mean``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..node import Node
from ..op import Op
from ..shapes import Spec, normalize_axes, reduce_shape
from .layout import int_or_ints

__all__ = ["Sum", "Mean", "sum", "mean"]


class _Reduction(Op):
    arity = 1
    fresh_output = True
    reducer: ClassVar[Any]
    #: The first opset in which the ONNX op takes its axes as an input instead of an attribute.
    onnx_axes_input_since: ClassVar[int]

    def __init__(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> None:
        # numpy integers (np.int64(0)) are accepted as axes, as numpy itself accepts them.
        self.axis: int | tuple[int, ...] | None = None if axis is None else int_or_ints(axis, type(self).__name__)
        self.keepdims = bool(keepdims)

    def forward(self, a: Any) -> Any:
        """Reduce over ``axis``."""
        return type(self).reducer(a, axis=self.axis, keepdims=self.keepdims)

    def infer(self, a: Spec) -> Spec:
        """The reduced shape; numpy's accumulator dtype (e.g. int32 sums to int64)."""
        shape = reduce_shape(a.shape, self.axis, self.keepdims)
        dtype = type(self).reducer(np.zeros(1, dtype=a.dtype)).dtype
        return Spec(shape, dtype)

    def lowering(self, backend: str, node: Node) -> Any:
        """``jax.numpy``'s reduction of the same name; no numba lowering."""
        if backend == "jax":
            name = type(self).reducer.__name__
            return lambda jax, a: getattr(jax.numpy, name)(a, axis=self.axis, keepdims=self.keepdims)
        return None

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``ReduceSum``/``ReduceMean``, axes as an input or an attribute as the opset wants."""
        x = node.inputs[0]
        operands = [ctx.operand(x, node.dtype)]
        extra: dict[str, Any] = {"keepdims": int(self.keepdims)}
        if self.axis is not None:
            axes = list(normalize_axes(self.axis, x.ndim))
            if ctx.opset >= self.onnx_axes_input_since:
                operands.append(ctx.constant(np.array(axes, dtype=np.int64), f"{ctx.name(node)}_axes"))
                if not axes:  # numpy's axis=() reduces nothing; ONNX's empty axes mean all unless told
                    extra["noop_with_empty_axes"] = 1
            elif not axes:
                return str(ctx.emit("Identity", operands, output=ctx.name(node)))
            else:
                extra["axes"] = axes
        return str(ctx.emit(type(self).onnx_type, operands, output=ctx.name(node), **extra))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Axes from the input (newer opsets) or the attribute; empty axes reduce all, or nothing."""
        x = ctx.input(0)
        keepdims = bool(ctx.int_attr("keepdims", 1))
        if ctx.opset >= cls.onnx_axes_input_since:
            axes = ctx.static(1, "axes").reshape(-1).tolist() if ctx.has_input(1) else []
            if not axes and ctx.int_attr("noop_with_empty_axes", 0):
                return [x]
        else:
            axes = ctx.ints_attr("axes", [])
        return [cls(tuple(int(a) for a in axes) if axes else None, keepdims)(x, name=ctx.name())]


class Sum(_Reduction):
    """``np.sum(a, axis, keepdims=...)``."""

    reducer = np.sum
    onnx_type = "ReduceSum"
    onnx_axes_input_since = 13


class Mean(_Reduction):
    """``np.mean(a, axis, keepdims=...)``."""

    reducer = np.mean
    onnx_type = "ReduceMean"
    onnx_axes_input_since = 18


def sum(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,  # noqa: A001
        name: str | None = None) -> Node:
    """``np.sum(a, axis, keepdims=keepdims)``."""
    return Sum(axis, keepdims)(a, name=name)


def mean(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
         name: str | None = None) -> Node:
    """``np.mean(a, axis, keepdims=keepdims)``."""
    return Mean(axis, keepdims)(a, name=name)
