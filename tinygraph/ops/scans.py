"""Running sums along an axis: ``cumsum`` (ONNX's ``CumSum``: ``exclusive``, ``reverse``).

The sums keep the operand's dtype; float16 accumulates in float32 and is rounded once. The axis
may be an operand known only at run time (ONNX's axis input).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, common_library, lacks_kernels, via_numpy
from ..errors import ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Spec, normalize_axes
from ._operands import _one_int, _operand_or_attribute
from ._reducers import _widened

__all__ = ["CumSum", "cumsum"]

_FLOAT16 = np.dtype(np.float16)
_INT64 = np.dtype(np.int64)


class CumSum(Op):
    """Running sums along ``axis``; ``exclusive`` leaves each element out, ``reverse`` sums from the end.

    ``axis=None`` takes the axis as a second operand, a one-integer node known at run time (ONNX's axis input).
    """

    arity = None
    fresh_output = True
    onnx_type = "CumSum"
    arrays = "any"

    def __init__(self, axis: int | None = 0, exclusive: bool = False, reverse: bool = False) -> None:
        self.axis = None if axis is None else int(axis)
        self.exclusive = bool(exclusive)
        self.reverse = bool(reverse)

    def forward(self, a: Any, *axis: Any) -> Any:
        """``np.cumsum`` in ``a``'s dtype (float16 accumulated in float32), shifted and flipped as asked."""
        xp = array_namespace(a)
        if xp is not np:
            return self._forward_xp(xp, a, *axis)
        x = np.asarray(a)
        ax = normalize_axes(self.axis if self.axis is not None else _one_int(axis[0], "axis"), x.ndim)[0]
        work = np.flip(x, ax) if self.reverse else x
        y = np.cumsum(_widened(work), axis=ax, dtype=None if x.dtype == _FLOAT16 else x.dtype)
        n = y.shape[ax]
        if self.exclusive and n:
            # Shifted by one (a leading 0), not y - x: exact for floats too.
            head = np.zeros_like(np.take(y, [0], axis=ax))
            y = np.concatenate([head, np.take(y, np.arange(n - 1), axis=ax)], axis=ax)
        y = np.flip(y, ax) if self.reverse else y
        return np.ascontiguousarray(y).astype(x.dtype, copy=False)

    def _forward_xp(self, xp: Any, a: Any, *axis: Any) -> Any:
        """``forward`` with the array API's ``cumulative_sum``."""
        if lacks_kernels([a]) is not None:
            return via_numpy(type(self).__name__, self.forward, [a, *axis])
        lib = common_library([a])
        ax = normalize_axes(self.axis if self.axis is not None else _one_int(axis[0], "axis"), a.ndim)[0]
        source = lib.numpy_dtype(a.dtype)
        # float16 sums in float32, as numpy does here; bools as integers (numpy's bool cumsum is a running or).
        acc = xp.float32 if source == _FLOAT16 else xp.int64 if source.kind == "b" else a.dtype
        work = xp.flip(a, axis=ax) if self.reverse else a
        work = work if work.dtype == acc else xp.astype(work, acc)
        y = xp.cumulative_sum(work, axis=ax, dtype=acc, include_initial=self.exclusive)
        if self.exclusive:  # the leading 0 kept, the total dropped
            y = y[(slice(None),) * ax + (slice(0, a.shape[ax]), ...)]
        y = xp.flip(y, axis=ax) if self.reverse else y
        return y if y.dtype == a.dtype else xp.astype(y, a.dtype)

    def infer(self, a: Spec, *axis: Spec) -> Spec:
        """Same shape and dtype."""
        given = _operand_or_attribute(self.axis, axis, "axis")
        if a.ndim == 0:
            raise ShapeError("cumsum needs an operand of at least one dimension")
        if given is not None:
            normalize_axes(given, a.ndim)
        return Spec(a.shape, a.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``CumSum(x, axis)`` with the axis as a constant or the operand."""
        x, *operand = node.inputs
        axis = ctx.operand(operand[0], _INT64) if operand else \
            ctx.constant(np.array(self.axis, dtype=np.int64), f"{ctx.name(node)}_axis")
        extra = {k: 1 for k in ("exclusive", "reverse") if getattr(self, k)}
        return str(ctx.emit("CumSum", [ctx.operand(x), axis], output=ctx.name(node), **extra))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """The axis known at load time, or a run-time operand."""
        flags = bool(ctx.int_attr("exclusive", 0)), bool(ctx.int_attr("reverse", 0))
        if not ctx.is_static(1):
            return [cls(None, *flags)(ctx.input(0), ctx.input(1), name=ctx.name())]
        return [cls(int(ctx.static(1, "axis").reshape(-1)[0]), *flags)(ctx.input(0), name=ctx.name())]


# --- function forms --------------------------------------------------------------------------------


def cumsum(a: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False, *,
           name: str | None = None) -> Node:
    """Running sums along ``axis`` (an int or a node) in ``a``'s dtype; ``exclusive``, ``reverse`` as in ONNX."""
    if isinstance(axis, Node):
        return CumSum(None, exclusive, reverse)(a, axis, name=name)
    return CumSum(axis, exclusive, reverse)(a, name=name)
