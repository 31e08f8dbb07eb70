"""Comparisons, logic and selection: ops whose results are bool masks, and ``where``.

Comparisons build on nodes with ``<``, ``<=``, ``>``, ``>=``; ``==`` stays identity (nodes are dict
keys), so equality is ``tg.equal(a, b)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, common_library, lacks_kernels, promoted, via_numpy
from ..node import Node
from ..op import Op
from ..shapes import Spec, broadcast_shapes, result_dtype, ufunc_dtype
from .elementwise import Elementwise

__all__ = [
    "Equal", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalNot", "LogicalAnd", "LogicalOr",
    "LogicalXor", "IsNaN", "IsInf", "Where",
    "equal", "less", "less_equal", "greater", "greater_equal", "logical_not", "logical_and", "logical_or",
    "logical_xor", "isnan", "isinf", "where",
]

_BOOL = np.dtype(np.bool_)


class _Comparison(Elementwise):
    """A comparison ufunc: operands compared in their common dtype, a bool result."""

    arity = 2
    dot_style = {"fillcolor": "#eef"}
    #: The importer keeps the bool result (ONNX's output type is not the operands').
    onnx_own_result_dtype = True
    arrays = "any"

    def forward(self, a: Any, b: Any) -> Any:
        """The ufunc; on another library its function, on the operands promoted as numpy does."""
        xp = array_namespace(a, b)
        if xp is np:
            return self.ufunc(a, b)
        x, y = promoted(xp, a, b)
        if type(self) is not Equal:
            if lacks_kernels([x, y]) is not None:  # torch's uint16/32/64 have == but no <
                return via_numpy(type(self).__name__, self.ufunc, [a, b])
            if _is_bool(xp, x, y):
                # The standard orders numbers only (array-api-strict refuses bools); False < True as 0 < 1.
                x, y = (_as_uint8(xp, v) for v in (x, y))
        return getattr(xp, self.ufunc.__name__)(x, y)  # the standard spells these as numpy does

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """The ONNX comparison with both operands in their common (numpy-promoted) dtype."""
        common = result_dtype(*(i.spec for i in node.inputs))
        operands = [ctx.operand(i, common) for i in node.inputs]
        return str(ctx.emit(type(self).onnx_type, operands, output=ctx.name(node)))


class Equal(_Comparison):
    """``a == b``, elementwise (``tg.equal``; the ``==`` operator compares nodes by identity)."""

    ufunc = np.equal
    commutative = True
    onnx_type = "Equal"


class Less(_Comparison):
    """``a < b``."""

    python_operator = "lt"
    ufunc = np.less
    formula = "a < b"
    onnx_type = "Less"


class LessEqual(_Comparison):
    """``a <= b``."""

    kind = "less_equal"
    python_operator = "le"
    ufunc = np.less_equal
    formula = "a <= b"
    onnx_type = "LessOrEqual"


class Greater(_Comparison):
    """``a > b``."""

    python_operator = "gt"
    ufunc = np.greater
    formula = "a > b"
    onnx_type = "Greater"


class GreaterEqual(_Comparison):
    """``a >= b``."""

    kind = "greater_equal"
    python_operator = "ge"
    ufunc = np.greater_equal
    formula = "a >= b"
    onnx_type = "GreaterOrEqual"


class _Logical(Elementwise):
    """A logical ufunc: any operand dtype, nonzero is true."""

    arrays = "any"

    def forward(self, *values: Any) -> Any:
        """The ufunc; on another library its function of the operands as bools (the standard's take bools only)."""
        xp = array_namespace(*values)
        if xp is np:
            return self.ufunc(*values)
        return getattr(xp, self.ufunc.__name__)(*(_truth(xp, v) for v in values))


class LogicalNot(_Logical):
    """``not a`` (nonzero is true)."""

    kind = "logical_not"
    arity = 1
    ufunc = np.logical_not
    onnx_type = "Not"


class LogicalAnd(_Logical):
    """``a and b`` (nonzero is true)."""

    kind = "logical_and"
    arity = 2
    ufunc = np.logical_and
    commutative = True
    onnx_type = "And"


class LogicalOr(_Logical):
    """``a or b`` (nonzero is true)."""

    kind = "logical_or"
    arity = 2
    ufunc = np.logical_or
    commutative = True
    onnx_type = "Or"


class LogicalXor(_Logical):
    """``a xor b`` (nonzero is true)."""

    kind = "logical_xor"
    arity = 2
    ufunc = np.logical_xor
    commutative = True
    onnx_type = "Xor"


class IsNaN(Elementwise):
    """Where ``a`` is NaN."""

    kind = "isnan"
    arity = 1
    ufunc = np.isnan
    onnx_type = "IsNaN"
    onnx_own_result_dtype = True
    arrays = "any"

    def forward(self, a: Any) -> Any:
        """``np.isnan``; ``xp.isnan`` on another library (integers and bools: never NaN)."""
        xp = array_namespace(a)
        if xp is np:
            return np.isnan(a)
        if not _is_inexact(xp, a):
            return xp.zeros_like(a, dtype=xp.bool)
        return xp.isnan(a)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``IsNaN`` of the operand as it is."""
        return str(ctx.emit("IsNaN", [ctx.operand(node.inputs[0])], output=ctx.name(node)))


class IsInf(Op):
    """Where ``a`` is infinite; ``detect_negative``/``detect_positive`` choose which signs count."""

    kind = "isinf"
    arity = 1
    fresh_output = True
    onnx_type = "IsInf"
    onnx_own_result_dtype = True
    arrays = "any"

    def __init__(self, detect_negative: bool = True, detect_positive: bool = True) -> None:
        self.detect_negative = bool(detect_negative)
        self.detect_positive = bool(detect_positive)

    def forward(self, a: Any) -> Any:
        """``np.isinf``, or ``np.isposinf``/``np.isneginf`` for one sign, or all false."""
        xp = array_namespace(a)
        if xp is not np:
            if not _is_inexact(xp, a) or not (self.detect_negative or self.detect_positive):
                return xp.zeros_like(a, dtype=xp.bool)
            found = xp.isinf(a)
            if self.detect_negative and self.detect_positive:
                return found
            return xp.logical_and(found, a > 0 if self.detect_positive else a < 0)
        if self.detect_negative and self.detect_positive:
            return np.isinf(a)
        if self.detect_positive:
            return np.isposinf(a)
        if self.detect_negative:
            return np.isneginf(a)
        return np.zeros(np.shape(a), dtype=_BOOL)

    def infer(self, a: Spec) -> Spec:
        """Same shape, bool."""
        ufunc_dtype(np.isinf, a)
        return Spec(a.shape, _BOOL)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``detect_negative``, ``detect_positive``."""
        return {"detect_negative": int(self.detect_negative), "detect_positive": int(self.detect_positive)}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``IsInf`` of the operand as it is."""
        return str(ctx.emit("IsInf", [ctx.operand(node.inputs[0])], output=ctx.name(node),
                            **self.onnx_attributes(node)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``detect_negative``, ``detect_positive`` (both 1)."""
        return {"detect_negative": bool(ctx.int_attr("detect_negative", 1)),
                "detect_positive": bool(ctx.int_attr("detect_positive", 1))}


class Where(Op):
    """``np.where(condition, a, b)``: ``a`` where the condition holds, else ``b``."""

    arity = 3
    fresh_output = True
    formula = "a ? b : c"
    onnx_type = "Where"
    onnx_own_result_dtype = True
    arrays = "any"

    def forward(self, condition: Any, a: Any, b: Any) -> Any:
        """``np.where`` (a nonzero condition counts as true), in the result dtype."""
        xp = array_namespace(condition, a, b)
        if xp is np:
            return np.where(condition, a, b)
        lib = common_library([condition, a, b])
        if _is_scalar(a) and _is_scalar(b):  # the standard's where wants one array among the branches
            a = lib.asarray(np.asarray(np.result_type(a, b).type(a)))
        x, y = promoted(xp, a, b)
        cond = _truth(xp, condition)
        if _is_scalar(cond):
            cond = xp.asarray(cond, device=lib.device)
        return xp.where(cond, x, y)

    def infer(self, condition: Spec, a: Spec, b: Spec) -> Spec:
        """The three shapes broadcast; the common dtype of ``a`` and ``b``."""
        return Spec(broadcast_shapes(condition.shape, a.shape, b.shape), result_dtype(a, b))

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Where`` with the condition as bool and both branches in the node's dtype."""
        c, a, b = node.inputs
        operands = [ctx.operand(c, _BOOL), ctx.operand(a, node.dtype), ctx.operand(b, node.dtype)]
        return str(ctx.emit("Where", operands, output=ctx.name(node)))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """``Where(condition, X, Y)``."""
        return [cls()(*ctx.operands(), name=ctx.name())]


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, complex, bool))


def _is_bool(xp: Any, *values: Any) -> bool:
    return any(not _is_scalar(v) and v.dtype == xp.bool for v in values)


def _is_inexact(xp: Any, value: Any) -> bool:
    return bool(xp.isdtype(value.dtype, ("real floating", "complex floating")))


def _as_uint8(xp: Any, value: Any) -> Any:
    if _is_scalar(value):
        return int(value)
    return xp.astype(value, xp.uint8) if value.dtype == xp.bool else value


def _truth(xp: Any, value: Any) -> Any:
    # numpy's logical functions take any dtype (nonzero is true, NaN too); the standard's take bools.
    if _is_scalar(value):
        return bool(value)
    return value if value.dtype == xp.bool else value != 0


def equal(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a == b`` elementwise (bool)."""
    return Equal()(a, b, name=name)


def less(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a < b`` (bool)."""
    return Less()(a, b, name=name)


def less_equal(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a <= b`` (bool)."""
    return LessEqual()(a, b, name=name)


def greater(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a > b`` (bool)."""
    return Greater()(a, b, name=name)


def greater_equal(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a >= b`` (bool)."""
    return GreaterEqual()(a, b, name=name)


def logical_not(a: Any, *, name: str | None = None) -> Node:
    """``not a`` elementwise (bool)."""
    return LogicalNot()(a, name=name)


def logical_and(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a and b`` elementwise (bool)."""
    return LogicalAnd()(a, b, name=name)


def logical_or(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a or b`` elementwise (bool)."""
    return LogicalOr()(a, b, name=name)


def logical_xor(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a xor b`` elementwise (bool)."""
    return LogicalXor()(a, b, name=name)


def isnan(a: Any, *, name: str | None = None) -> Node:
    """Where ``a`` is NaN (bool)."""
    return IsNaN()(a, name=name)


def isinf(a: Any, detect_negative: bool = True, detect_positive: bool = True, *, name: str | None = None) -> Node:
    """Where ``a`` is infinite (bool); choose the signs with ``detect_negative``/``detect_positive``."""
    return IsInf(detect_negative, detect_positive)(a, name=name)


def where(condition: Any, a: Any, b: Any, *, name: str | None = None) -> Node:
    """``np.where(condition, a, b)``."""
    return Where()(condition, a, b, name=name)
