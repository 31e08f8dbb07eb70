"""The extreme elements along an axis: ``argmax``/``argmin`` (the int64 index of the first, or last,
extreme) and ``top_k`` (the ``k`` largest or smallest values, sorted, and their int64 indices).

``top_k``'s ``k`` may be an operand known only at run time (ONNX's K input).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..arrays import array_namespace, lacks_kernels, via_numpy
from ..errors import ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Spec, normalize_axes, reduce_shape
from ._operands import _one_int, _operand_or_attribute

__all__ = ["ArgMax", "ArgMin", "TopK", "argmax", "argmin", "top_k"]

_INT64 = np.dtype(np.int64)


class _ArgExtreme(Op):
    arity = 1
    fresh_output = True
    finder: ClassVar[Any]
    onnx_own_result_dtype = True
    arrays = "any"

    def __init__(self, axis: int = 0, keepdims: bool = False, select_last_index: bool = False) -> None:
        self.axis = int(axis)
        self.keepdims = bool(keepdims)
        self.select_last_index = bool(select_last_index)

    def forward(self, a: Any) -> Any:
        """The index of the first extreme along ``axis`` (the last with ``select_last_index``), int64."""
        xp = array_namespace(a)
        if xp is not np:
            return self._forward_xp(xp, a)
        x = np.asarray(a)
        if not self.select_last_index:
            return type(self).finder(x, axis=self.axis, keepdims=self.keepdims).astype(_INT64, copy=False)
        last = x.shape[self.axis] - 1
        flipped = type(self).finder(np.flip(x, self.axis), axis=self.axis, keepdims=self.keepdims)
        return (last - flipped).astype(_INT64, copy=False)

    def _forward_xp(self, xp: Any, a: Any) -> Any:
        """``forward`` with the array API's ``argmax``/``argmin``."""
        if lacks_kernels([a]) is not None:
            return via_numpy(type(self).__name__, self.forward, [a])
        x = xp.astype(a, xp.uint8) if a.dtype == xp.bool else a  # the standard's argmax takes numbers only
        finder = getattr(xp, type(self).finder.__name__)
        if not self.select_last_index:
            y = finder(x, axis=self.axis, keepdims=self.keepdims)
        else:
            y = (x.shape[self.axis] - 1) - finder(xp.flip(x, axis=self.axis), axis=self.axis, keepdims=self.keepdims)
        return y if y.dtype == xp.int64 else xp.astype(y, xp.int64)

    def infer(self, a: Spec) -> Spec:
        """The shape reduced over ``axis``; int64."""
        if a.ndim == 0:
            raise ShapeError(f"{self.kind} needs an operand of at least one dimension")
        axis = normalize_axes(self.axis, a.ndim)[0]
        if a.shape[axis] == 0:
            raise ShapeError(f"{self.kind} of an empty axis {self.axis}")
        return Spec(reduce_shape(a.shape, axis, self.keepdims), _INT64)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``, ``keepdims``, ``select_last_index``."""
        extra = {"select_last_index": 1} if self.select_last_index else {}
        return {"axis": self.axis, "keepdims": int(self.keepdims), **extra}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``ArgMax``/``ArgMin`` of the operand as it is."""
        return str(ctx.emit(type(self).onnx_type, [ctx.operand(node.inputs[0])], output=ctx.name(node),
                            **self.onnx_attributes(node)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``axis`` (0), ``keepdims`` (1), ``select_last_index`` (0)."""
        return {"axis": ctx.int_attr("axis", 0), "keepdims": bool(ctx.int_attr("keepdims", 1)),
                "select_last_index": bool(ctx.int_attr("select_last_index", 0))}


class ArgMax(_ArgExtreme):
    """``np.argmax(a, axis, keepdims=...)`` as int64; ties go to the first index unless ``select_last_index``."""

    finder = np.argmax
    onnx_type = "ArgMax"


class ArgMin(_ArgExtreme):
    """``np.argmin(a, axis, keepdims=...)`` as int64; ties go to the first index unless ``select_last_index``."""

    finder = np.argmin
    onnx_type = "ArgMin"


class TopK(Op):
    """The ``k`` largest (or smallest) values along ``axis``, sorted; ``output`` picks values or indices.

    ``top_k`` returns both nodes. Ties keep the lower index first, as ONNX specifies. ``k=None`` takes
    ``k`` as a second operand, a one-integer node known at run time (ONNX's K input).
    """

    kind = "top_k"
    arity = None
    fresh_output = True
    onnx_type = "TopK"
    onnx_own_result_dtype = True
    arrays = "any"

    def __init__(self, k: int | None, axis: int = -1, largest: bool = True, output: str = "values") -> None:
        if output not in ("values", "indices"):
            raise ValueError(f"TopK: output must be 'values' or 'indices', not {output!r}")
        if k is not None and int(k) < 0:
            raise ValueError(f"TopK: k must be >= 0, got {k}")
        self.k = None if k is None else int(k)
        self.axis = int(axis)
        self.largest = bool(largest)
        self.output = output

    def forward(self, a: Any, *k: Any) -> Any:
        """A stable sort along ``axis``, the first ``k`` kept."""
        xp = array_namespace(a)
        if xp is not np:
            return self._forward_xp(xp, a, *k)
        x = np.asarray(a)
        axis = self.axis % x.ndim
        n = x.shape[axis]
        kk = self.k if self.k is not None else _one_int(k[0], "k")
        if not 0 <= kk <= n:
            raise ValueError(f"k={kk} is not between 0 and the {n} values along axis {self.axis}")
        if self.largest:
            # Descending with ties by lower index: sort the flipped array ascending (stable), reverse it.
            order = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
            order = (n - 1) - order
        else:
            order = np.argsort(x, axis=axis, kind="stable")
        idx = np.take(order, np.arange(kk), axis=axis)
        if self.output == "indices":
            return idx.astype(_INT64, copy=False)
        return np.take_along_axis(x, idx, axis=axis)

    def _forward_xp(self, xp: Any, a: Any, *k: Any) -> Any:
        """``forward`` with the array API's stable ``argsort`` (descending keeps ties in index order too)."""
        if lacks_kernels([a]) is not None:
            return via_numpy(type(self).__name__, self.forward, [a, *k])
        axis = self.axis % a.ndim
        n = a.shape[axis]
        kk = self.k if self.k is not None else _one_int(k[0], "k")
        if not 0 <= kk <= n:
            raise ValueError(f"k={kk} is not between 0 and the {n} values along axis {self.axis}")
        x = xp.astype(a, xp.uint8) if a.dtype == xp.bool else a  # the standard sorts numbers only
        order = xp.argsort(x, axis=axis, descending=self.largest, stable=True)
        idx = order[(slice(None),) * axis + (slice(0, kk), ...)]
        if self.output == "indices":
            return idx if idx.dtype == xp.int64 else xp.astype(idx, xp.int64)
        return xp.take_along_axis(a, idx, axis=axis)

    def infer(self, a: Spec, *k: Spec) -> Spec:
        """``a``'s shape with ``k`` (unknown until run time if it is) along ``axis``; the values' dtype or int64."""
        kk = _operand_or_attribute(self.k, k, "k")
        if a.ndim == 0:
            raise ShapeError("top_k needs an operand of at least one dimension")
        axis = normalize_axes(self.axis, a.ndim)[0]
        n = a.shape[axis]
        if kk is not None and (kk < 0 or (n is not None and kk > n)):
            raise ShapeError(f"k={kk} is not between 0 and the {n} values along axis {self.axis}")
        shape = tuple(kk if i == axis else d for i, d in enumerate(a.shape))
        return Spec(shape, _INT64 if self.output == "indices" else a.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``TopK(x, K)``; the node's tensor is the ONNX node's values or indices output."""
        x, *operand = node.inputs
        name = ctx.name(node)
        if operand:  # ONNX's K is 1-D
            one = ctx.constant(np.array([1], dtype=np.int64), f"{name}_k_shape")
            k = ctx.emit("Reshape", [ctx.operand(operand[0], _INT64), one])
        else:
            k = ctx.constant(np.array([self.k], dtype=np.int64), f"{name}_k")
        other = ctx.fresh(f"{name}_{'indices' if self.output == 'values' else 'values'}")
        outputs = [name, other] if self.output == "values" else [other, name]
        ctx.nodes.append(ctx.onnx.helper.make_node(
            "TopK", [ctx.operand(x), k], outputs, name=name, axis=self.axis, largest=int(self.largest), sorted=1))
        return str(name)

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Values and indices; ``K`` from the attribute (opset < 10), a value known at load time, or an operand."""
        x = ctx.input(0)
        if ctx.opset < 10:
            operands, k = [x], ctx.int_attr("k", 0)
        elif ctx.is_static(1):
            operands, k = [x], int(ctx.static(1, "K").reshape(-1)[0])
        else:
            operands, k = [x, ctx.input(1)], None
        axis, largest = ctx.int_attr("axis", -1), bool(ctx.int_attr("largest", 1))
        outputs = list(ctx.node.output) + ["", ""]
        return [cls(k, axis, largest, "values")(*operands, name=outputs[0] or ctx.name("values")),
                cls(k, axis, largest, "indices")(*operands, name=outputs[1] or ctx.name("indices"))]


# --- function forms --------------------------------------------------------------------------------


def argmax(a: Any, axis: int = 0, keepdims: bool = False, select_last_index: bool = False, *,
           name: str | None = None) -> Node:
    """The index (int64) of the largest value along ``axis``; ties: the first, or the last."""
    return ArgMax(axis, keepdims, select_last_index)(a, name=name)


def argmin(a: Any, axis: int = 0, keepdims: bool = False, select_last_index: bool = False, *,
           name: str | None = None) -> Node:
    """The index (int64) of the smallest value along ``axis``; ties: the first, or the last."""
    return ArgMin(axis, keepdims, select_last_index)(a, name=name)


def top_k(a: Any, k: Any, axis: int = -1, largest: bool = True, *,
          name: str | None = None) -> tuple[Node, Node]:
    """The ``k`` (an int or a node) largest (``largest=False``: smallest) values along ``axis``, int64 indices."""
    operands, kk = ([a, k], None) if isinstance(k, Node) else ([a], k)
    values = TopK(kk, axis, largest, "values")(*operands, name=name)
    indices = TopK(kk, axis, largest, "indices")(*operands, name=None if name is None else f"{name}_indices")
    return values, indices
