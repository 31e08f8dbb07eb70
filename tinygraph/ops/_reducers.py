"""The reductions' kernels: what ``Sum``, ``ReduceMax``, ``ReduceL2``... compute, on numpy and on any
array library; and ``_widened``, float16 widened to float32 to accumulate in (reductions, ``cumsum``,
``einsum``).

float16 accumulates in float32 and is rounded once, as onnxruntime does: a float16 sum of a few
thousand values would otherwise lose most of its digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays import ArrayLibrary
from ..shapes import normalize_axes, reduce_shape

__all__ = [
    "_widened", "_extreme", "_l1", "_sum_square", "_l2", "_log_sum", "_log_sum_exp",
    "_xp_sum", "_xp_mean", "_xp_prod", "_xp_extreme", "_xp_l1", "_xp_sum_square", "_xp_l2", "_xp_log_sum",
    "_xp_log_sum_exp",
]

_FLOAT16 = np.dtype(np.float16)
_FLOAT32 = np.dtype(np.float32)


def _widened(a: Any) -> Any:
    # float16 accumulates in float32 (the result is rounded back by the caller).
    x = np.asarray(a)
    return x.astype(_FLOAT32) if x.dtype == _FLOAT16 else x


# --- the reductions on numpy: (a, axis, keepdims) --------------------------------------------------


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
