"""Reductions over axes: ``sum``, ``mean``, ``reduce_max``, ``reduce_min``, ``prod``, ONNX's norms and
logs (``reduce_l1``, ``reduce_l2``, ``reduce_sum_square``, ``reduce_log_sum``, ``reduce_log_sum_exp``),
and ``runtime_reduce``, any of them over axes known only at run time.

float16 reductions accumulate in float32 and round once, as onnxruntime does: a float16 sum of
a few thousand values would otherwise lose most of its digits. The kernels, on numpy and on any
array library, are in ``_reducers``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..arrays import array_namespace, common_library, lacks_kernels, via_numpy
from ..errors import GraphError, ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Spec, normalize_axes, reduce_shape
from ._operands import _ints, known_elements
from ._reducers import (
    _extreme,
    _l1,
    _l2,
    _log_sum,
    _log_sum_exp,
    _sum_square,
    _widened,
    _xp_extreme,
    _xp_l1,
    _xp_l2,
    _xp_log_sum,
    _xp_log_sum_exp,
    _xp_mean,
    _xp_prod,
    _xp_sum,
    _xp_sum_square,
)
from .layout import int_or_ints

__all__ = [
    "Sum", "Mean", "ReduceMax", "ReduceMin", "Prod", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
    "ReduceLogSumExp", "RuntimeReduce",
    "sum", "mean", "reduce_max", "reduce_min", "prod", "reduce_l1", "reduce_l2", "reduce_sum_square",
    "reduce_log_sum", "reduce_log_sum_exp", "runtime_reduce",
]

_FLOAT16 = np.dtype(np.float16)
_FLOAT32 = np.dtype(np.float32)
_INT64 = np.dtype(np.int64)


class _Reduction(Op):
    arity = 1
    fresh_output = True
    reducer: ClassVar[Any]
    #: ``reducer`` on any array library: ``(xp, library, x, axis, keepdims, accumulator numpy dtype)``.
    xp_reducer: ClassVar[Any]
    #: The first opset in which the ONNX op takes its axes as an input instead of an attribute.
    onnx_axes_input_since: ClassVar[int]
    arrays = "any"

    def __init__(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> None:
        # numpy integers (np.int64(0)) are accepted as axes, as numpy itself accepts them.
        self.axis: int | tuple[int, ...] | None = None if axis is None else int_or_ints(axis, type(self).__name__)
        self.keepdims = bool(keepdims)

    def forward(self, a: Any) -> Any:
        """Reduce over ``axis`` (float16 accumulated in float32)."""
        xp = array_namespace(a)
        if xp is np:
            x = np.asarray(a)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
                y = type(self).reducer(_widened(x), axis=self.axis, keepdims=self.keepdims)
            return np.asarray(y).astype(_FLOAT16, copy=False) if x.dtype == _FLOAT16 else y
        if lacks_kernels([a]) is not None:
            return via_numpy(type(self).__name__, self.forward, [a])
        lib = common_library([a])
        source = lib.numpy_dtype(a.dtype)
        want = self._result_dtype(source)
        x, acc = (xp.astype(a, xp.float32), _FLOAT32) if source == _FLOAT16 else (a, want)
        axis, keepdims = self.axis, self.keepdims
        if axis == ():  # numpy reduces nothing; reducing a new axis of one does so on any library
            x, axis, keepdims = x[..., None], -1, False
        y = type(self).xp_reducer(xp, lib, x, axis, keepdims, acc)
        target = lib.dtype(want)
        return y if y.dtype == target else xp.astype(y, target)

    @classmethod
    def _result_dtype(cls, dtype: np.dtype[Any]) -> np.dtype[Any]:
        """numpy's result dtype of this reduction of a ``dtype`` operand (int32 sums to int64)."""
        key = (cls, dtype)
        found = _RESULT_DTYPES.get(key)
        if found is None:
            with np.errstate(all="ignore"):
                found = _RESULT_DTYPES[key] = cls.reducer(np.ones(1, dtype=dtype), axis=None, keepdims=False).dtype
        return found

    def infer(self, a: Spec) -> Spec:
        """The reduced shape; numpy's accumulator dtype (e.g. int32 sums to int64)."""
        shape = reduce_shape(a.shape, self.axis, self.keepdims)
        return Spec(shape, self._result_dtype(a.dtype))

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
        """Axes from the attribute (older opsets), a value known at load time, or a run-time operand."""
        x = ctx.input(0)
        keepdims = ctx.bool_attr("keepdims", True)
        if ctx.opset < cls.onnx_axes_input_since:
            return [cls(_onnx_axis(ctx.ints_attr("axes", []), False), keepdims)(x, name=ctx.name())]
        noop = ctx.bool_attr("noop_with_empty_axes", False)
        if ctx.has_input(1) and not ctx.is_static(1):
            return [RuntimeReduce(cls.kind, keepdims, noop)(x, ctx.input(1), name=ctx.name())]
        axes = ctx.static_ints(1, "axes") if ctx.has_input(1) else []
        return [cls(_onnx_axis(axes, noop), keepdims)(x, name=ctx.name())]

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``sum(x)``, ``sum(x, dim, keepdim)`` (no ``dim`` or an empty one: all), same for ``mean``."""
        if kwargs.get("dtype") is not None:
            raise ValueError(f"a reduction computed in another dtype ({kwargs['dtype']}) is not supported")
        x, dim, keepdim = (*args, None, False)[:3]
        return cls(tuple(dim) if dim else None, bool(keepdim))(x)


_RESULT_DTYPES: dict[tuple[type, np.dtype[Any]], np.dtype[Any]] = {}


def _onnx_axis(axes: Sequence[int], noop_with_empty_axes: bool) -> tuple[int, ...] | None:
    """ONNX's axes as numpy's: none reduce all (``None``), or nothing (``()``) with ``noop_with_empty_axes``.

    Reducing nothing still applies the rest of the op: ReduceSumSquare squares, ReduceLogSum takes the log.
    """
    return tuple(int(a) for a in axes) if len(axes) or noop_with_empty_axes else None


class Sum(_Reduction):
    """``np.sum(a, axis, keepdims=...)``."""

    python_operator = "sum"
    reducer = np.sum
    xp_reducer = staticmethod(_xp_sum)
    onnx_type = "ReduceSum"
    torch_ops = ("aten.sum.default", "aten.sum.dim_IntList")
    onnx_axes_input_since = 13


class Mean(_Reduction):
    """``np.mean(a, axis, keepdims=...)``."""

    python_operator = "mean"
    reducer = np.mean
    xp_reducer = staticmethod(_xp_mean)
    onnx_type = "ReduceMean"
    torch_ops = ("aten.mean.default", "aten.mean.dim")
    onnx_axes_input_since = 18


class ReduceMax(_Reduction):
    """``np.max(a, axis, keepdims=...)``; an empty reduction gives the dtype's lowest value (-inf)."""

    kind = "reduce_max"
    python_operator = "max"
    reducer = staticmethod(_extreme(np.max, "low"))
    xp_reducer = staticmethod(_xp_extreme("low"))
    onnx_type = "ReduceMax"
    onnx_axes_input_since = 18


class ReduceMin(_Reduction):
    """``np.min(a, axis, keepdims=...)``; an empty reduction gives the dtype's highest value (inf)."""

    kind = "reduce_min"
    python_operator = "min"
    reducer = staticmethod(_extreme(np.min, "high"))
    xp_reducer = staticmethod(_xp_extreme("high"))
    onnx_type = "ReduceMin"
    onnx_axes_input_since = 18


class Prod(_Reduction):
    """``np.prod(a, axis, keepdims=...)``."""

    reducer = np.prod
    xp_reducer = staticmethod(_xp_prod)
    onnx_type = "ReduceProd"
    onnx_axes_input_since = 18


class ReduceL1(_Reduction):
    """``sum(|a|)`` over ``axis``, in ``a``'s dtype."""

    kind = "reduce_l1"
    reducer = staticmethod(_l1)
    xp_reducer = staticmethod(_xp_l1)
    onnx_type = "ReduceL1"
    onnx_axes_input_since = 18


class ReduceL2(_Reduction):
    """``sqrt(sum(a ** 2))`` over ``axis``, in ``a``'s dtype."""

    kind = "reduce_l2"
    reducer = staticmethod(_l2)
    xp_reducer = staticmethod(_xp_l2)
    onnx_type = "ReduceL2"
    onnx_axes_input_since = 18


class ReduceSumSquare(_Reduction):
    """``sum(a ** 2)`` over ``axis``, in ``a``'s dtype."""

    kind = "reduce_sum_square"
    reducer = staticmethod(_sum_square)
    xp_reducer = staticmethod(_xp_sum_square)
    onnx_type = "ReduceSumSquare"
    onnx_axes_input_since = 18


class ReduceLogSum(_Reduction):
    """``log(sum(a))`` over ``axis``."""

    kind = "reduce_log_sum"
    reducer = staticmethod(_log_sum)
    xp_reducer = staticmethod(_xp_log_sum)
    onnx_type = "ReduceLogSum"
    onnx_axes_input_since = 18


class ReduceLogSumExp(_Reduction):
    """``log(sum(exp(a)))`` over ``axis``, shifted by the max so that it never overflows."""

    kind = "reduce_log_sum_exp"
    reducer = staticmethod(_log_sum_exp)
    xp_reducer = staticmethod(_xp_log_sum_exp)
    onnx_type = "ReduceLogSumExp"
    onnx_axes_input_since = 18


#: The reductions by kind, as ``RuntimeReduce`` names them.
_REDUCTIONS: dict[str, type[_Reduction]] = {cls.kind: cls for cls in (
    Sum, Mean, ReduceMax, ReduceMin, Prod, ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp)}


class RuntimeReduce(Op):
    """A reduction over axes given as an operand (ONNX's axes input fed at run time).

    ``reducer`` is the reduction's kind (``"sum"``, ``"mean"``, ``"reduce_max"``, ``"prod"``...): each
    run computes what that reduction computes for the axes it is fed. Empty axes reduce all of them,
    or none with ``noop_with_empty_axes``.
    """

    arity = 2
    fresh_output = True
    kind = "reduce"
    arrays = "any"

    def __init__(self, reducer: str = "sum", keepdims: bool = True, noop_with_empty_axes: bool = False) -> None:
        if reducer not in _REDUCTIONS:
            raise ValueError(f"reducer must be one of {sorted(_REDUCTIONS)}, got {reducer!r}")
        self.reducer = reducer
        self.keepdims = bool(keepdims)
        self.noop_with_empty_axes = bool(noop_with_empty_axes)

    def _reduction(self, axes: Sequence[int]) -> _Reduction:
        """The reduction over these axes."""
        return _REDUCTIONS[self.reducer](_onnx_axis(axes, self.noop_with_empty_axes), self.keepdims)

    def forward(self, a: Any, axes: Any) -> Any:
        """The reduction over the axes' values."""
        return self._reduction(_ints(axes)).forward(a)

    def infer(self, a: Spec, axes: Spec) -> Spec:
        """Exact when the axes are known; else the rank, with unknown sizes where an axis may be."""
        elements = known_elements(axes, "axes")
        if None not in elements:
            return self._reduction(elements).infer(a)  # type: ignore[arg-type]
        if len(elements) > a.ndim:
            raise ShapeError(f"{len(elements)} axes for a rank-{a.ndim} input")
        dtype = self._reduction(()).infer(a).dtype  # the dtype does not depend on the axes
        if self.keepdims:
            return Spec(tuple(1 if d == 1 else None for d in a.shape), dtype)
        return Spec((None,) * (a.ndim - len(elements)), dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """The reduction's ONNX op with the axes as an input."""
        reduction = _REDUCTIONS[self.reducer]
        if ctx.opset < reduction.onnx_axes_input_since:
            raise GraphError(f"{reduction.onnx_type} with axes as an input needs opset "
                             f"{reduction.onnx_axes_input_since} or newer, not {ctx.opset}")
        x, axes = node.inputs
        return str(ctx.emit(reduction.onnx_type, [ctx.operand(x, node.dtype), ctx.operand(axes, _INT64)],
                            output=ctx.name(node), keepdims=int(self.keepdims),
                            noop_with_empty_axes=int(self.noop_with_empty_axes)))


# --- function forms --------------------------------------------------------------------------------


def sum(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,  # noqa: A001
        name: str | None = None) -> Node:
    """``np.sum(a, axis, keepdims=keepdims)``."""
    return Sum(axis, keepdims)(a, name=name)


def mean(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
         name: str | None = None) -> Node:
    """``np.mean(a, axis, keepdims=keepdims)``."""
    return Mean(axis, keepdims)(a, name=name)


def reduce_max(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
               name: str | None = None) -> Node:
    """``np.max(a, axis, keepdims=keepdims)``."""
    return ReduceMax(axis, keepdims)(a, name=name)


def reduce_min(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
               name: str | None = None) -> Node:
    """``np.min(a, axis, keepdims=keepdims)``."""
    return ReduceMin(axis, keepdims)(a, name=name)


def prod(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
         name: str | None = None) -> Node:
    """``np.prod(a, axis, keepdims=keepdims)``."""
    return Prod(axis, keepdims)(a, name=name)


def reduce_l1(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
              name: str | None = None) -> Node:
    """``sum(|a|)`` over ``axis``."""
    return ReduceL1(axis, keepdims)(a, name=name)


def reduce_l2(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
              name: str | None = None) -> Node:
    """``sqrt(sum(a ** 2))`` over ``axis``."""
    return ReduceL2(axis, keepdims)(a, name=name)


def reduce_sum_square(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
                      name: str | None = None) -> Node:
    """``sum(a ** 2)`` over ``axis``."""
    return ReduceSumSquare(axis, keepdims)(a, name=name)


def reduce_log_sum(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
                   name: str | None = None) -> Node:
    """``log(sum(a))`` over ``axis``."""
    return ReduceLogSum(axis, keepdims)(a, name=name)


def reduce_log_sum_exp(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False, *,
                       name: str | None = None) -> Node:
    """``log(sum(exp(a)))`` over ``axis``, computed stably."""
    return ReduceLogSumExp(axis, keepdims)(a, name=name)


def runtime_reduce(a: Any, axes: Any, reducer: str = "sum", keepdims: bool = True,
                   noop_with_empty_axes: bool = False, *, name: str | None = None) -> Node:
    """The reduction ``reducer`` (``"sum"``, ``"reduce_max"``...) of ``a`` over ``axes``, a node (ONNX's axes input)."""
    return RuntimeReduce(reducer, keepdims, noop_with_empty_axes)(a, axes, name=name)
