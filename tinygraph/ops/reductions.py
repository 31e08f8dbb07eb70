"""Reductions over axes (``sum``, ``mean``, ``reduce_max``, ``argmax``...), ``cumsum``, ``top_k`` and ``einsum``.

float16 reductions accumulate in float32 and round once, as onnxruntime does: a float16 sum of
a few thousand values would otherwise lose most of its digits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..arrays import ArrayLibrary, array_namespace, common_library, lacks_kernels, promoted, via_numpy
from ..errors import GraphError, ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Spec, broadcast_shapes, normalize_axes, reduce_shape, result_dtype
from .layout import int_or_ints
from .shaping import known_elements

__all__ = [
    "Sum", "Mean", "ReduceMax", "ReduceMin", "Prod", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
    "ReduceLogSumExp", "RuntimeReduce", "ArgMax", "ArgMin", "CumSum", "TopK", "Einsum",
    "sum", "mean", "reduce_max", "reduce_min", "prod", "reduce_l1", "reduce_l2", "reduce_sum_square",
    "reduce_log_sum", "reduce_log_sum_exp", "runtime_reduce", "argmax", "argmin", "cumsum", "top_k", "einsum",
]

_FLOAT16 = np.dtype(np.float16)
_FLOAT32 = np.dtype(np.float32)
_INT64 = np.dtype(np.int64)


def _widened(a: Any) -> Any:
    # float16 accumulates in float32 (the result is rounded back by the caller).
    x = np.asarray(a)
    return x.astype(_FLOAT32) if x.dtype == _FLOAT16 else x


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


def _extreme(fn: Any, fill: str) -> Any:
    def reduce(a: Any, axis: Any, keepdims: bool) -> Any:
        # An empty reduction gives the identity (-inf for max), as ONNX defines it, not an error.
        x = np.asarray(a)
        if x.size == 0:
            info = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype) if x.dtype.kind in "iu" else None
            if x.dtype.kind == "f":
                init: Any = -np.inf if fill == "low" else np.inf
            elif info is not None:
                init = info.min if fill == "low" else info.max
            else:
                init = fill != "low"
            return fn(x, axis=axis, keepdims=keepdims, initial=init)
        return fn(x, axis=axis, keepdims=keepdims)
    return reduce


def _l1(a: Any, axis: Any, keepdims: bool) -> Any:
    return np.sum(np.abs(a), axis=axis, keepdims=keepdims, dtype=_sum_dtype(a))


def _sum_square(a: Any, axis: Any, keepdims: bool) -> Any:
    return np.sum(np.multiply(a, a), axis=axis, keepdims=keepdims, dtype=_sum_dtype(a))


def _l2(a: Any, axis: Any, keepdims: bool) -> Any:
    x = np.asarray(a)
    y = np.sqrt(_sum_square(x, axis, keepdims))
    # ONNX's ReduceL2 keeps an integer operand's type (the root truncated).
    return y.astype(x.dtype) if x.dtype.kind in "iub" else y


def _log_sum(a: Any, axis: Any, keepdims: bool) -> Any:
    x = np.asarray(a)
    y = np.log(np.sum(x, axis=axis, keepdims=keepdims, dtype=_sum_dtype(x)))
    return y.astype(x.dtype) if x.dtype.kind in "iub" else y


def _log_sum_exp(a: Any, axis: Any, keepdims: bool) -> Any:
    x = np.asarray(a)
    work = x.astype(np.float64) if x.dtype.kind in "iub" else x
    if work.size == 0:
        y = np.log(np.sum(np.exp(work), axis=axis, keepdims=keepdims))
    else:
        # Shifted by the max so that exp never overflows; an all -inf slice keeps the max as its shift's fix.
        m = np.max(work, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        y = np.log(np.sum(np.exp(work - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            y = np.squeeze(y, axis=axis if axis is not None else tuple(range(x.ndim)))
    return y.astype(x.dtype) if x.dtype.kind in "iub" else y


def _sum_dtype(a: Any) -> Any:
    # ONNX's sum-like reductions keep the operand's type; numpy would widen int32 to int64.
    return np.asarray(a).dtype


# --- the reductions on any array library: (xp, library, x, axis, keepdims, accumulator dtype) ----------
# float16 operands come widened to float32 (the accumulator then float32); the caller casts the
# result to the node's dtype.

def _accumulator(lib: ArrayLibrary, dtype: np.dtype[Any]) -> Any:
    if dtype.kind == "u" and dtype.itemsize > 1 and lib.name == "torch":
        # torch has no uint64 sums: the signed sum of the same width wraps to the same bits.
        return lib.dtype(np.dtype(f"i{dtype.itemsize}"))
    return lib.dtype(dtype)


def _xp_sum(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
    if acc.kind == "b":  # numpy's bool sum (dtype=bool) is an or
        return xp.any(x, axis=axis, keepdims=keepdims)
    dtype = _accumulator(lib, acc)
    return xp.sum(xp.astype(x, dtype) if x.dtype != dtype else x, axis=axis, keepdims=keepdims, dtype=dtype)


def _xp_mean(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
    dtype = lib.dtype(acc)
    return xp.mean(xp.astype(x, dtype) if x.dtype != dtype else x, axis=axis, keepdims=keepdims)


def _xp_prod(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
    dtype = _accumulator(lib, acc)
    return xp.prod(xp.astype(x, dtype) if x.dtype != dtype else x, axis=axis, keepdims=keepdims, dtype=dtype)


def _xp_extreme(fill: str) -> Any:
    def reduce(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
        dtype = lib.numpy_dtype(x.dtype)
        if 0 in x.shape:  # the identity, as ONNX defines an empty reduction (the standard's max refuses it)
            if dtype.kind == "f":
                init: Any = -np.inf if fill == "low" else np.inf
            elif dtype.kind in "iu":
                info = np.iinfo(dtype)
                init = int(info.min if fill == "low" else info.max)
            else:
                init = fill != "low"
            return xp.full(reduce_shape(x.shape, axis, keepdims), init, dtype=x.dtype, device=lib.device)
        if dtype.kind == "b":  # the standard's max and min take numbers only
            return (xp.any if fill == "low" else xp.all)(x, axis=axis, keepdims=keepdims)
        return (xp.max if fill == "low" else xp.min)(x, axis=axis, keepdims=keepdims)
    return reduce


def _xp_l1(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
    return _xp_sum(xp, lib, x if acc.kind == "b" else xp.abs(x), axis, keepdims, acc)


def _xp_sum_square(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
    return _xp_sum(xp, lib, x if acc.kind == "b" else x * x, axis, keepdims, acc)


def _xp_floating(xp: Any, lib: ArrayLibrary, x: Any) -> Any:
    # numpy's float functions of integers and bools (sqrt of int8 is float16; float32 where a library lacks it).
    dtype = lib.numpy_dtype(x.dtype)
    if dtype.kind in "fc":
        return x
    target = np.sqrt(np.zeros(0, dtype)).dtype
    if getattr(xp, target.name, None) is None:
        target = _FLOAT32
    return xp.astype(x, lib.dtype(target))


def _xp_l2(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
    return xp.sqrt(_xp_floating(xp, lib, _xp_sum_square(xp, lib, x, axis, keepdims, acc)))


def _xp_log_sum(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
    return xp.log(_xp_floating(xp, lib, _xp_sum(xp, lib, x, axis, keepdims, acc)))


def _xp_log_sum_exp(xp: Any, lib: ArrayLibrary, x: Any, axis: Any, keepdims: bool, acc: np.dtype[Any]) -> Any:
    work = x if lib.numpy_dtype(x.dtype).kind in "fc" else xp.astype(x, xp.float64)
    if 0 in x.shape:
        return xp.log(xp.sum(xp.exp(work), axis=axis, keepdims=keepdims))
    # Shifted by the max, as the numpy code is: the same numbers, no overflow.
    m = xp.max(work, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)
    y = xp.log(xp.sum(xp.exp(work - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        y = xp.squeeze(y, axis=normalize_axes(axis, x.ndim))
    return y


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


def _one_int(value: Any, what: str) -> int:
    """A run-time operand holding one integer (0-D or of one element), as an int."""
    values = _ints(value)
    if len(values) != 1:
        raise ValueError(f"the {what} must be one integer, got {len(values)} values")
    return values[0]


def _ints(value: Any) -> list[int]:
    """A run-time operand's integers (axes, counts), in order, as Python ints."""
    xp = array_namespace(value)
    if xp is np:
        return [int(v) for v in np.asarray(value).reshape(-1)]
    # They decide shapes, so they are read on the host, one by one (the standard has no tolist).
    flat = xp.reshape(value, (-1,))
    return [int(flat[i]) for i in range(flat.shape[0])]


def _operand_or_attribute(attribute: int | None, operand: Sequence[Spec], what: str) -> int | None:
    """The value an attribute or, when it is ``None``, the one operand gives at build time (``None``: unknown)."""
    if len(operand) != (1 if attribute is None else 0):
        raise ShapeError(f"the {what} is an attribute or, when that is None, the second operand")
    if attribute is not None:
        return attribute
    elements = known_elements(operand[0], what)
    if len(elements) != 1:
        raise ShapeError(f"the {what} must be one integer, got {len(elements)}")
    return None if elements[0] is None else int(elements[0])


class Einsum(Op):
    """``np.einsum(equation, *operands)``: products summed over the letters the output leaves out."""

    arity = None
    fresh_output = True
    onnx_type = "Einsum"
    arrays = "any"

    def __init__(self, equation: str) -> None:
        self.equation = str(equation).replace(" ", "")

    def forward(self, *operands: Any) -> Any:
        """``np.einsum`` (float16 accumulated in float32), always a new array."""
        xp = array_namespace(*operands)
        if xp is not np:
            return self._forward_xp(xp, operands)
        arrays = [np.asarray(o) for o in operands]
        half = any(a.dtype == _FLOAT16 for a in arrays)
        y = np.einsum(self.equation, *(_widened(a) for a in arrays), optimize=len(arrays) > 2)
        return np.array(y, dtype=_FLOAT16 if half else None, copy=True)

    def _forward_xp(self, xp: Any, operands: Sequence[Any]) -> Any:
        """torch: ``torch.einsum`` on the operands promoted as numpy does; other libraries through numpy.

        The array API standard has no einsum; torch's computes bools and its few-kernel unsigned
        dtypes not at all, so those go through numpy too.
        """
        lib = common_library(operands)
        arrays = promoted(xp, *operands)
        if lib.name != "torch" or lacks_kernels(arrays) is not None or any(a.dtype == xp.bool for a in arrays):
            return via_numpy(type(self).__name__, self.forward, operands)
        import torch

        dtype = arrays[0].dtype
        half = dtype == xp.float16
        y = torch.einsum(self.equation, *(xp.astype(a, xp.float32) if half else a for a in arrays))
        # torch sums small integers in int64 (numpy in their own dtype: the same bits once cast back).
        return y if y.dtype == dtype else xp.astype(y, dtype)

    def _terms(self, n: int) -> tuple[list[str], str]:
        lhs, arrow, rhs = self.equation.partition("->")
        terms = lhs.split(",")
        if len(terms) != n:
            raise ShapeError(f"equation {self.equation!r} has {len(terms)} operand term(s), got {n} operand(s)")
        letters = "".join(terms).replace("...", "")
        if not all(c.isalpha() for c in letters + rhs.replace("...", "")):
            raise ShapeError(f"equation {self.equation!r} has characters other than letters, ',', '->' and '...'")
        if not arrow:
            once = sorted(c for c in set(letters) if letters.count(c) == 1)
            rhs = ("..." if "..." in lhs else "") + "".join(once)
        return terms, rhs

    def infer(self, *specs: Spec) -> Spec:
        """Each letter's size from the operands (``...`` broadcast); numpy's result dtype."""
        terms, rhs = self._terms(len(specs))
        sizes: dict[str, int | None] = {}
        ellipses: list[tuple[int | None, ...]] = []
        for term, spec in zip(terms, specs):
            head, dots, tail = term.partition("...")
            if not dots:
                head, tail = term, ""
            fixed = len(head) + len(tail)
            if (len(spec.shape) != fixed) if not dots else (len(spec.shape) < fixed):
                raise ShapeError(f"term {term!r} does not fit an operand of {spec.ndim} dimension(s)")
            dims = spec.shape
            named = list(zip(head, dims[:len(head)])) + list(zip(tail, dims[len(dims) - len(tail):]))
            if dots:
                ellipses.append(dims[len(head):len(dims) - len(tail)])
            for letter, d in named:
                sizes[letter] = _einsum_size(letter, sizes[letter], d) if letter in sizes else d
        dots_shape = broadcast_shapes(*ellipses) if ellipses else ()
        head, dots, tail = rhs.partition("...")
        if not dots:
            head, tail = rhs, ""
        for letter in head + tail:
            if letter not in sizes:
                raise ShapeError(f"output letter {letter!r} is in no operand's term")
        shape = tuple(sizes[c] for c in head) + (dots_shape if dots else ()) + tuple(sizes[c] for c in tail)
        return Spec(shape, result_dtype(*specs))

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``equation``."""
        return {"equation": self.equation}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``equation``."""
        return {"equation": str(ctx.attr("equation", ""))}


def _einsum_size(letter: str, known: int | None, d: int | None) -> int | None:
    # A letter's sizes must agree; a size 1 broadcasts, as numpy's einsum allows.
    if known is not None and d is not None and known != d and 1 not in (known, d):
        raise ShapeError(f"letter {letter!r} has sizes {known} and {d}")
    if known is None or d is None:
        return None if 1 in (known, d) or known == d else (known if d is None else d)
    return max(known, d)


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


def argmax(a: Any, axis: int = 0, keepdims: bool = False, select_last_index: bool = False, *,
           name: str | None = None) -> Node:
    """The index (int64) of the largest value along ``axis``; ties: the first, or the last."""
    return ArgMax(axis, keepdims, select_last_index)(a, name=name)


def argmin(a: Any, axis: int = 0, keepdims: bool = False, select_last_index: bool = False, *,
           name: str | None = None) -> Node:
    """The index (int64) of the smallest value along ``axis``; ties: the first, or the last."""
    return ArgMin(axis, keepdims, select_last_index)(a, name=name)


def cumsum(a: Any, axis: Any = 0, exclusive: bool = False, reverse: bool = False, *,
           name: str | None = None) -> Node:
    """Running sums along ``axis`` (an int or a node) in ``a``'s dtype; ``exclusive``, ``reverse`` as in ONNX."""
    if isinstance(axis, Node):
        return CumSum(None, exclusive, reverse)(a, axis, name=name)
    return CumSum(axis, exclusive, reverse)(a, name=name)


def top_k(a: Any, k: Any, axis: int = -1, largest: bool = True, *,
          name: str | None = None) -> tuple[Node, Node]:
    """The ``k`` (an int or a node) largest (``largest=False``: smallest) values along ``axis``, int64 indices."""
    operands, kk = ([a, k], None) if isinstance(k, Node) else ([a], k)
    values = TopK(kk, axis, largest, "values")(*operands, name=name)
    indices = TopK(kk, axis, largest, "indices")(*operands, name=None if name is None else f"{name}_indices")
    return values, indices


def runtime_reduce(a: Any, axes: Any, reducer: str = "sum", keepdims: bool = True,
                   noop_with_empty_axes: bool = False, *, name: str | None = None) -> Node:
    """The reduction ``reducer`` (``"sum"``, ``"reduce_max"``...) of ``a`` over ``axes``, a node (ONNX's axes input)."""
    return RuntimeReduce(reducer, keepdims, noop_with_empty_axes)(a, axes, name=name)


def einsum(equation: str, *operands: Any, name: str | None = None) -> Node:
    """``np.einsum(equation, *operands)``."""
    return Einsum(equation)(*operands, name=name)
