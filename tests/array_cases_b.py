"""Array-library cases for ops no ONNX conformance case reaches (see tests/array_cases.py).

Logic and reductions: the ONNX cases of ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum and
ReduceLogSumExp feed their axes at run time (RuntimeReduce), so these build the ops themselves,
with the dtypes and axes where the libraries differ most from numpy (integers and bools,
``axis=()``, empty reductions, NaN).
"""

from __future__ import annotations

import numpy as np

import tinygraph as tg
from tinygraph.ops import extremes, logic, reductions, scans

_RNG = np.random.default_rng(12)
_X = _RNG.standard_normal((2, 3, 4))
_INTS = _RNG.integers(-5, 6, (2, 3, 4))
_NORMS = (reductions.ReduceL1, reductions.ReduceL2, reductions.ReduceSumSquare, reductions.ReduceLogSum,
          reductions.ReduceLogSumExp)


def _norms(dtype: str, values: np.ndarray):
    def build():
        x = tg.input("x", values.shape, dtype)
        outputs = [cls(axis, keepdims)(x) for cls in _NORMS
                   for axis, keepdims in ((None, False), (1, True), ((0, 2), False), ((), False))]
        return outputs, {"x": values.astype(dtype)}
    return build


def _empty_reductions():
    x = tg.input("x", (2, 0, 3), np.float32)
    outputs = [cls(1)(x) for cls in (reductions.Sum, reductions.ReduceMax, reductions.ReduceMin,
                                       reductions.Prod, *_NORMS)]
    return outputs, {"x": np.zeros((2, 0, 3), np.float32)}


def _int_and_bool_reductions():
    i = tg.input("i", (2, 3, 4), np.int8)
    b = tg.input("b", (2, 3, 4), np.bool_)
    outputs = [op(a) for a in (i, b) for op in (
        reductions.Sum(1), reductions.Mean((0, 2)), reductions.ReduceMax(None, True), reductions.ReduceMin(()),
        reductions.Prod(2), extremes.ArgMax(1, False, True), extremes.ArgMin(2), scans.CumSum(1, True, True))]
    return outputs, {"i": _INTS.astype(np.int8), "b": _INTS > 0}


def _logic_of_numbers():
    x = tg.input("x", (2, 3, 4), np.float64)
    b = tg.input("b", (4,), np.bool_)
    nan = _X.copy()
    nan[0, 0, :2] = np.nan, np.inf
    outputs = [logic.logical_and(x, 2), logic.logical_xor(x, b), logic.logical_not(x), logic.less(b, x),
               logic.greater_equal(b, True), logic.where(x, 1.5, 2), logic.where(b, x, 0), logic.isnan(b),
               logic.isinf(x, detect_positive=False), logic.isinf(b)]
    return outputs, {"x": nan, "b": np.array([True, False, True, False])}


CASES: list = [
    (_norms("float64", _X), "reduce_norms_float64"),
    (_norms("float32", np.abs(_X)), "reduce_norms_float32"),
    (_norms("int32", np.abs(_INTS)), "reduce_norms_int32"),
    (_empty_reductions, "empty_reductions"),
    (_int_and_bool_reductions, "int_and_bool_reductions"),
    (_logic_of_numbers, "logic_of_numbers"),
]
