"""The math, logic and reduction ops: values against numpy, scipy and torch, dtype rules, shape
errors at build time, save/load, diagrams, and ONNX both ways (onnxruntime runs the exports)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import tinygraph as tg

RNG = np.random.default_rng(7)
V = RNG.normal(0, 2, (3, 5))


def run(node, *values):
    inputs = [n for n in tg.Graph(node).inputs]
    return tg.evaluate(node, dict(zip(inputs, values)))


def gelu_ref(x):
    return 0.5 * x * (1 + special.erf(x / math.sqrt(2)))


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


FLOAT_FUNCTIONS = [
    (tg.gelu, gelu_ref),
    (lambda a: tg.gelu(a, "tanh"), gelu_tanh_ref),
    (tg.erf, special.erf),
    (tg.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    (lambda a: tg.leaky_relu(a, 0.3), lambda x: np.where(x >= 0, x, 0.3 * x)),
    (tg.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    (tg.hard_swish, lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    (tg.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    (lambda a: tg.elu(a, 0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    (tg.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1))),
    (lambda a: tg.celu(a, 2.0), lambda x: np.maximum(0, x) + np.minimum(0, 2 * (np.exp(x / 2) - 1))),
    (tg.softsign, lambda x: x / (1 + np.abs(x))),
    (tg.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    (lambda a: tg.log_softmax(a, axis=0), lambda x: x - np.log(np.exp(x).sum(axis=0, keepdims=True))),
    (tg.log_softmax, lambda x: x - np.log(np.exp(x).sum(axis=-1, keepdims=True))),
]
UFUNCS = [
    (tg.sqrt, np.sqrt, np.abs), (tg.abs, np.abs, None), (tg.reciprocal, np.reciprocal, None),
    (tg.floor, np.floor, None), (tg.ceil, np.ceil, None), (tg.round, np.rint, None), (tg.sign, np.sign, None),
    (tg.sin, np.sin, None), (tg.cos, np.cos, None), (tg.tan, np.tan, None), (tg.asin, np.arcsin, np.tanh),
    (tg.acos, np.arccos, np.tanh), (tg.atan, np.arctan, None), (tg.sinh, np.sinh, None), (tg.cosh, np.cosh, None),
    (tg.asinh, np.arcsinh, None), (tg.acosh, np.arccosh, lambda v: 1 + np.abs(v)),
    (tg.atanh, np.arctanh, lambda v: np.tanh(v) * 0.99),
]


@pytest.mark.parametrize("fn, ref", FLOAT_FUNCTIONS)
def test_float_functions_match_their_formulas(fn, ref):
    x = tg.input("x", shape=(None, 5))
    np.testing.assert_allclose(run(fn(x), V), ref(V), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fn, ref", FLOAT_FUNCTIONS)
def test_float_functions_keep_float32_and_compute_float16_in_float32(fn, ref):
    for dtype, rtol in ((np.float32, 1e-5), (np.float16, 2e-3)):
        x = tg.input("x", shape=(3, 5), dtype=dtype)
        y = fn(x)
        assert y.dtype == dtype
        got = run(y, V.astype(dtype))
        assert got.dtype == dtype
        # float16 is computed in float32 and rounded once: as close as float16 holds.
        np.testing.assert_allclose(got, ref(V.astype(dtype).astype(np.float64)), rtol=rtol, atol=2e-3)
    assert fn(tg.input("i", shape=(3, 5), dtype=np.int32)).dtype == np.float64


@pytest.mark.parametrize("fn, ref, domain", UFUNCS)
def test_ufunc_ops_match_numpy(fn, ref, domain):
    x = tg.input("x", shape=(None, 5))
    v = V if domain is None else domain(V)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(run(fn(x), v), ref(v))
    x32 = tg.input("f", shape=(2,), dtype=np.float32)
    assert fn(x32).dtype == np.float32


def test_round_is_half_to_even_and_abs_keeps_integers():
    x = tg.input("x", shape=(None,))
    np.testing.assert_array_equal(run(tg.round(x), np.array([0.5, 1.5, 2.5, -0.5, -2.5])), [0, 2, 2, -0, -2])
    i = tg.input("i", shape=(3,), dtype=np.int32)
    assert tg.abs(i).dtype == np.int32 and tg.sign(i).dtype == np.int32


def test_gelu_matches_torch():
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(V)
    x = tg.input("x", shape=(None, 5))
    for approximate in ("none", "tanh"):
        want = torch.nn.functional.gelu(t, approximate=approximate).numpy()
        np.testing.assert_allclose(run(tg.gelu(x, approximate), V), want, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="approximate"):
        tg.gelu(x, "sigmoid")


def test_activations_import_from_torch():
    torch = pytest.importorskip("torch")
    modules = [torch.nn.GELU(approximate="tanh"), torch.nn.LeakyReLU(0.2), torch.nn.Hardsigmoid(),
               torch.nn.Hardswish(), torch.nn.ELU(0.7), torch.nn.SELU(), torch.nn.CELU(1.5), torch.nn.Softsign(),
               torch.nn.Mish(), torch.nn.LogSoftmax(dim=1)]
    x = tg.input("x", shape=(None, 5))
    for m in modules:
        net = tg.nn.from_torch(torch.nn.Sequential(m))
        with torch.no_grad():
            want = m(torch.from_numpy(V)).numpy()
        np.testing.assert_allclose(tg.evaluate(net(x), {x: V}), want, rtol=1e-6, atol=1e-7, err_msg=repr(m))


def test_prelu_broadcasts_its_slope():
    x = tg.input("x", shape=(None, 5))
    slope = tg.parameter(np.linspace(0.1, 0.5, 5), name="slope")
    np.testing.assert_allclose(run(tg.prelu(x, slope), V), np.where(V >= 0, V, V * slope.value))
    with pytest.raises(tg.ShapeError, match="prelu"):
        tg.prelu(x, np.ones(4))


def test_clip_bounds_are_optional_operands():
    x = tg.input("x", shape=(None, 5))
    np.testing.assert_array_equal(run(tg.clip(x, -1.0, 1.0), V), np.clip(V, -1, 1))
    np.testing.assert_array_equal(run(tg.clip(x, max=0.5), V), np.minimum(V, 0.5))
    np.testing.assert_array_equal(run(tg.clip(x, min=0.5), V), np.maximum(V, 0.5))
    np.testing.assert_array_equal(run(tg.clip(x), V), V)
    # min > max: everything is max, as numpy and ONNX agree
    np.testing.assert_array_equal(run(tg.clip(x, 2.0, 1.0), V), np.ones_like(V))
    i = tg.input("i", shape=(3,), dtype=np.int32)
    assert tg.clip(i, 0, 5).dtype == np.int32


def test_maximum_minimum_mod():
    x, y = tg.input("x", shape=(None, 5)), tg.input("y", shape=(5,))
    w = RNG.normal(0, 2, 5)
    np.testing.assert_array_equal(run(tg.maximum(x, y), V, w), np.maximum(V, w))
    np.testing.assert_array_equal(run(tg.minimum(x, y), V, w), np.minimum(V, w))
    a, b = np.array([-7, 7, -7, 7]), np.array([3, -3, -3, 3])
    i, j = tg.input("i", shape=(4,), dtype=np.int64), tg.input("j", shape=(4,), dtype=np.int64)
    np.testing.assert_array_equal(run(tg.mod(i, j), a, b), [2, -2, -1, 1])  # the divisor's sign
    np.testing.assert_array_equal(run(tg.mod(i, j, fmod=True), a, b), [-1, 1, -1, 1])  # the dividend's
    with pytest.raises(tg.ShapeError, match="maximum"):
        tg.maximum(x, np.ones(4))


def test_trunc_div_is_exact_past_two_to_the_53():
    a = np.array([7, -7, 7, -7, 2**62 + 1, -(2**62) - 1, 5], dtype=np.int64)
    b = np.array([2, 2, -2, -2, 3, 3, 1], dtype=np.int64)
    i, j = tg.input("i", shape=(7,), dtype=np.int64), tg.input("j", shape=(7,), dtype=np.int64)
    got = run(tg.trunc_div(i, j), a, b)
    assert got.dtype == np.int64
    assert got.tolist() == [int(p / q) if abs(p) < 2**53 else (abs(p) // abs(q)) * (1 if (p < 0) == (q < 0) else -1)
                            for p, q in zip(a.tolist(), b.tolist())]
    assert got[4] == (2**62 + 1) // 3  # a float64 detour would give ...304
    f = tg.input("f", shape=(2,))
    np.testing.assert_array_equal(run(tg.trunc_div(f, 2.0), np.array([-3.0, 3.0])), [-1.0, 1.0])


def test_integer_pow_with_negative_exponents_truncates_as_onnx():
    i, j = tg.input("i", shape=(6,), dtype=np.int64), tg.input("j", shape=(6,), dtype=np.int64)
    got = run(i ** j, np.array([2, -1, -1, 1, 3, 2]), np.array([-1, -3, -2, -5, 2, 62]))
    assert got.tolist() == [0, -1, 1, 1, 9, 2**62]
    f = tg.input("f", shape=(2,))
    np.testing.assert_array_equal(tg.compile(f ** 2.0)(np.array([3.0, 4.0])), [9.0, 16.0])


def test_cast_like_takes_only_the_dtype():
    x, like = tg.input("x", shape=(None,)), tg.input("like", shape=(), dtype=np.int32)
    y = tg.cast_like(x, like)
    assert y.dtype == np.int32 and y.shape == (None,)
    assert run(y, np.array([1.7, -1.7]), np.int32(0)).tolist() == [1, -1]


# --- logic -----------------------------------------------------------------------------------------


def test_comparison_operators_build_bool_nodes_and_eq_stays_identity():
    x, y = tg.input("x", shape=(None, 5)), tg.input("y", shape=(5,))
    w = RNG.normal(0, 2, 5)
    for node, want in ((x < y, V < w), (x <= y, V <= w), (x > y, V > w), (x >= y, V >= w), (0.5 < x, V > 0.5),
                       (w > x, w > V), (tg.equal(x, y), V == w)):
        assert node.dtype == np.bool_
        np.testing.assert_array_equal(run(node, V, w), want)
    assert (x == y) is False and (x == x) is True and len({x: 1, y: 2}) == 2
    assert tg.less(x, y).op.kind == "less" and tg.greater_equal(x, y).op.kind == "greater_equal"
    assert "less_0: bool[?,5] = less(x, y)" in str(tg.Graph(x < y))


def test_logic_isnan_isinf_where():
    a, b = np.array([True, False, True, False]), np.array([True, True, False, False])
    p, q = tg.input("p", shape=(4,), dtype=np.bool_), tg.input("q", shape=(4,), dtype=np.bool_)
    for fn, ref in ((tg.logical_and, np.logical_and), (tg.logical_or, np.logical_or),
                    (tg.logical_xor, np.logical_xor)):
        np.testing.assert_array_equal(run(fn(p, q), a, b), ref(a, b))
    np.testing.assert_array_equal(run(tg.logical_not(p), a), ~a)
    v = np.array([np.nan, np.inf, -np.inf, 1.0])
    x = tg.input("x", shape=(4,))
    np.testing.assert_array_equal(run(tg.isnan(x), v), [True, False, False, False])
    np.testing.assert_array_equal(run(tg.isinf(x), v), [False, True, True, False])
    np.testing.assert_array_equal(run(tg.isinf(x, detect_negative=False), v), [False, True, False, False])
    np.testing.assert_array_equal(run(tg.isinf(x, detect_positive=False), v), [False, False, True, False])
    w = tg.where(x > 0, x, 0)
    assert w.dtype == np.float64
    np.testing.assert_array_equal(run(w, v), [0, np.inf, 0, 1])
    with pytest.raises(tg.ShapeError, match="where"):
        tg.where(tg.input("c", shape=(3,), dtype=np.bool_), x, 0.0)


# --- reductions ------------------------------------------------------------------------------------


REDUCTIONS = [
    (tg.reduce_max, np.max), (tg.reduce_min, np.min), (tg.prod, np.prod),
    (tg.reduce_l1, lambda a, axis, keepdims: np.abs(a).sum(axis=axis, keepdims=keepdims)),
    (tg.reduce_l2, lambda a, axis, keepdims: np.sqrt((a * a).sum(axis=axis, keepdims=keepdims))),
    (tg.reduce_sum_square, lambda a, axis, keepdims: (a * a).sum(axis=axis, keepdims=keepdims)),
    (tg.reduce_log_sum, lambda a, axis, keepdims: np.log(np.abs(a).sum(axis=axis, keepdims=keepdims))),
    (tg.reduce_log_sum_exp, lambda a, axis, keepdims: special.logsumexp(a, axis=axis, keepdims=keepdims)),
]


@pytest.mark.parametrize("fn, ref", REDUCTIONS)
@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, True), (1, False), ((0, 1), True), (-1, True)])
def test_reductions_match_numpy(fn, ref, axis, keepdims):
    x = tg.input("x", shape=(None, 5))
    v = np.abs(V) if fn is tg.reduce_log_sum else V
    node = fn(tg.abs(x) if fn is tg.reduce_log_sum else x, axis, keepdims)
    want = ref(v, axis=axis, keepdims=keepdims)
    assert node.ndim == np.ndim(want)
    np.testing.assert_allclose(run(node, V), want, rtol=1e-12)


def test_reduce_log_sum_exp_never_overflows_and_empty_max_is_minus_inf():
    x = tg.input("x", shape=(None, 2))
    v = np.array([[1000.0, 1000.0], [-np.inf, -np.inf]])
    np.testing.assert_allclose(run(tg.reduce_log_sum_exp(x, 1), v), [1000 + math.log(2), -np.inf])
    e = tg.input("e", shape=(0, 3), dtype=np.float32)
    np.testing.assert_array_equal(run(tg.reduce_max(e, 0), np.zeros((0, 3), np.float32)), [-np.inf] * 3)


def test_float16_reductions_accumulate_in_float32():
    # Along axis 0 numpy adds float16 one by one: 4096 * 0.1 would stop growing at 256.
    v = np.full((4096, 2), 0.1, dtype=np.float16)
    x = tg.input("x", shape=(None, 2), dtype=np.float16)
    want = np.sum(v.astype(np.float32), axis=0).astype(np.float16)
    for node in (tg.sum(x), tg.mean(x), tg.reduce_l1(x), tg.cumsum(x), tg.reduce_log_sum_exp(x)):
        assert node.dtype == np.float16
    np.testing.assert_array_equal(run(tg.sum(x, 0), v), want)
    np.testing.assert_array_equal(run(tg.reduce_l1(x, 0), v), want)
    np.testing.assert_array_equal(run(tg.cumsum(x, 0), v)[-1], want)
    np.testing.assert_allclose(run(tg.mean(x, 0), v).astype(np.float64), 0.1, rtol=1e-3)


def test_float16_softmax_accumulates_in_float32():
    # Rounded once from float64, every value is exact; computed in float16, about half would be off.
    v = RNG.normal(0, 1, 1000).astype(np.float16)
    x = tg.input("x", shape=(None,), dtype=np.float16)
    got = run(tg.softmax(x), v)
    w = v.astype(np.float64)
    want = (np.exp(w - w.max()) / np.exp(w - w.max()).sum()).astype(np.float16)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, want)


def test_argmax_argmin_ties_keepdims_and_last_index():
    v = np.array([[1, 3, 3, 0], [2, 2, 0, 0]])
    x = tg.input("x", shape=(None, 4), dtype=np.int32)
    assert run(tg.argmax(x, 1), v).tolist() == [1, 0]
    assert run(tg.argmax(x, 1, select_last_index=True), v).tolist() == [2, 1]
    assert run(tg.argmin(x, 1, keepdims=True, select_last_index=True), v).tolist() == [[3], [3]]
    assert tg.argmax(x, 0, keepdims=True).shape == (1, 4) and tg.argmax(x, 1).dtype == np.int64
    with pytest.raises(tg.ShapeError, match="out of bounds"):
        tg.argmax(x, 2)


def test_cumsum_exclusive_and_reverse():
    v = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    x = tg.input("x", shape=(None, 3), dtype=np.int32)
    assert run(tg.cumsum(x, 1), v).tolist() == [[1, 3, 6], [4, 9, 15]]
    assert run(tg.cumsum(x, 1, exclusive=True), v).tolist() == [[0, 1, 3], [0, 4, 9]]
    assert run(tg.cumsum(x, 1, reverse=True), v).tolist() == [[6, 5, 3], [15, 11, 6]]
    assert run(tg.cumsum(x, -1, exclusive=True, reverse=True), v).tolist() == [[5, 3, 0], [11, 6, 0]]
    assert run(tg.cumsum(x, 0), v).tolist() == [[1, 2, 3], [5, 7, 9]]
    assert tg.cumsum(x).dtype == np.int32


def test_top_k_values_indices_and_ties():
    v = np.array([[3.0, 1.0, 3.0, 2.0], [0.0, 5.0, 5.0, 5.0]])
    x = tg.input("x", shape=(None, 4))
    values, indices = tg.top_k(x, 2, name="best")
    assert values.name == "best" and indices.name == "best_indices"
    assert indices.dtype == np.int64 and values.shape == (None, 2)
    got_v, got_i = tg.evaluate([values, indices], {x: v})
    assert got_v.tolist() == [[3, 3], [5, 5]] and got_i.tolist() == [[0, 2], [1, 2]]  # ties: lower index first
    small_v, small_i = tg.evaluate(list(tg.top_k(x, 3, largest=False)), {x: v})
    assert small_i.tolist() == [[1, 3, 0], [0, 1, 2]]
    with pytest.raises(tg.ShapeError, match="k=5"):
        tg.top_k(x, 5)


def _fed_at_run_time(x):
    """Every reduction, cumsum and top_k with its axes, axis or k as a graph input (ONNX's operands)."""
    axes, axis, k = tg.input("axes", (1,), np.int64), tg.input("axis", (), np.int64), tg.input("k", (1,), np.int64)
    reduced = [tg.runtime_reduce(x, axes, r, keepdims=keep)
               for r, keep in (("reduce_max", False), ("reduce_min", True), ("prod", False), ("reduce_l1", True),
                               ("reduce_l2", False), ("reduce_sum_square", True), ("reduce_log_sum_exp", False))]
    return [*reduced, tg.cumsum(x, axis, reverse=True), *tg.top_k(x, k, largest=False)]


def test_axes_axis_and_k_fed_at_run_time():
    x = tg.input("x", shape=(None, 5))
    outs = _fed_at_run_time(x)
    assert [o.shape for o in outs[:2]] == [(None,), (None, None)]  # the rank, sizes unknown where an axis may be
    assert outs[-3].shape == (None, 5) and outs[-2].shape == (None, None) and outs[-1].dtype == np.int64
    for axis in (0, 1, -1):
        got = tg.evaluate(outs, {"x": V, "axes": [axis], "axis": axis, "k": [2]})
        want = [V.max(axis), V.min(axis, keepdims=True), V.prod(axis), np.abs(V).sum(axis, keepdims=True),
                np.sqrt((V * V).sum(axis)), (V * V).sum(axis, keepdims=True), np.log(np.exp(V).sum(axis)),
                np.flip(np.cumsum(np.flip(V, axis), axis), axis), np.sort(V, -1)[:, :2], np.argsort(V, -1)[:, :2]]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12)
    # Empty axes reduce all of them, or none with noop_with_empty_axes: the square is still taken.
    empty = np.zeros(0, np.int64)
    assert tg.runtime_reduce(x, empty, "reduce_max", keepdims=False).shape == ()
    noop = tg.runtime_reduce(x, empty, "reduce_sum_square", noop_with_empty_axes=True)
    np.testing.assert_array_equal(run(noop, V), V * V)
    with pytest.raises(tg.ExecutionError, match="k=6"):
        tg.evaluate(outs[-1], {"x": V, "k": [6]})
    with pytest.raises(ValueError, match="reducer must be one of"):
        tg.runtime_reduce(x, empty, "median")


def test_run_time_axes_export_to_onnxruntime():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = tg.input("x", shape=(None, 5), dtype=np.float32)
    outs = _fed_at_run_time(x)
    model = tg.onnx.to_model(outs, opset=18)
    feeds = {"x": V.astype(np.float32), "axes": np.array([-1]), "axis": np.array(0), "k": np.array([3])}
    want = tg.evaluate(outs, feeds)
    theirs = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    back = tg.evaluate(tg.onnx.from_model(model), feeds)
    for t, b, w in zip(theirs, back, want):
        np.testing.assert_allclose(t, w, rtol=1e-5)
        np.testing.assert_array_equal(b, w)


def test_einsum_values_and_shapes():
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 4, 5))
    x, y = tg.input("x", shape=(None, 3, 4)), tg.input("y", shape=(None, 4, 5))
    for eq in ("bij,bjk->bik", "bij,bjk", "...ij,...jk->...ik", "bij,bjk->k"):
        node = tg.einsum(eq, x, y)
        want = np.einsum(eq, a, b)
        assert len(node.shape) == want.ndim
        np.testing.assert_allclose(run(node, a, b), want, rtol=1e-12)
    assert tg.einsum("bij,bjk->bik", x, y).shape == (None, 3, 5)
    assert tg.einsum("ii->i", tg.input("s", shape=(3, 3))).shape == (3,)
    with pytest.raises(tg.ShapeError, match="'j' has sizes 4 and 3"):
        tg.einsum("bij,bjk->bik", x, tg.input("z", shape=(2, 3, 5)))
    with pytest.raises(tg.ShapeError, match="operand term"):
        tg.einsum("ij->i", x, y)


def test_reduction_shape_errors_name_the_problem():
    x = tg.input("x", shape=(None, 5))
    with pytest.raises(tg.ShapeError, match="reduce_max: .*out of bounds"):
        tg.reduce_max(x, 3)
    with pytest.raises(tg.ShapeError, match="cumsum"):
        tg.cumsum(tg.input("s", shape=()))


# --- properties ------------------------------------------------------------------------------------

ELEMENTWISE = [fn for fn, _ in FLOAT_FUNCTIONS[:-2]] + [tg.abs, tg.floor, tg.sign, tg.sin]  # no log_softmax


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-30, 30, allow_nan=False), min_size=1, max_size=8), st.sampled_from(ELEMENTWISE))
def test_elementwise_ops_are_elementwise(values, fn):
    # Each element's result depends on that element alone: evaluating the whole array or each
    # element on its own gives the same numbers, in the same dtype, for any finite input.
    v = np.array(values)
    x = tg.input("x", shape=(None,))
    whole = run(fn(x), v)
    s = tg.input("s", shape=())
    one = np.array([run(fn(s), np.float64(e)) for e in v])
    assert whole.dtype == np.float64 and np.all(np.isfinite(whole))
    np.testing.assert_array_equal(whole, one)


# --- files, diagrams, ONNX ---------------------------------------------------------------------------


def _zoo(x):
    p = tg.parameter(np.full(5, 0.25, dtype=x.dtype), name="slope")
    outs = [tg.gelu(x), tg.gelu(x, "tanh"), tg.leaky_relu(x, 0.2), tg.hard_sigmoid(x), tg.hard_swish(x), tg.elu(x),
            tg.selu(x), tg.celu(x, 1.5), tg.softsign(x), tg.mish(x), tg.prelu(x, p), tg.log_softmax(x, 1),
            tg.erf(x), tg.sqrt(tg.abs(x)), tg.reciprocal(x), tg.clip(x, -1.0, 1.0), tg.clip(x, max=0.5),
            tg.maximum(x, 0.5), tg.minimum(x, 0.5), tg.mod(x, 0.7, fmod=True), tg.mod(x, -0.7), tg.mod(x, 0.7),
            tg.floor(x), tg.ceil(x), tg.round(x),
            tg.sign(x), tg.sin(x), tg.cos(x), tg.tan(x), tg.atan(x), tg.sinh(x), tg.cosh(x), tg.asinh(x),
            tg.asin(tg.tanh(x)), tg.acos(tg.tanh(x)), tg.atanh(tg.tanh(x) * 0.5), tg.acosh(tg.abs(x) + 1.0),
            tg.where(x > 0, x, -x), tg.cast_like(x < 0.5, x), tg.logical_not(tg.isnan(x)),
            tg.logical_xor(x >= 0, tg.isinf(x)), tg.logical_or(x <= 0, tg.equal(x, 1.0)),
            tg.logical_and(x < 1, x > -1),
            tg.reduce_max(x, 1), tg.reduce_min(x, 0, True), tg.prod(x, 1), tg.reduce_l1(x, 1), tg.reduce_l2(x),
            tg.reduce_sum_square(x, 0), tg.reduce_log_sum(tg.abs(x), 1), tg.reduce_log_sum_exp(x, 1),
            tg.argmax(x, 1), tg.argmin(x, 0, True, True), tg.cumsum(x, 1, exclusive=True, reverse=True),
            *tg.top_k(x, 2), tg.einsum("ij,kj->ik", x, x), tg.sum(x, 1), tg.mean(x, (0, 1))]
    return outs


def test_every_op_saves_loads_lists_and_draws():
    x = tg.input("x", shape=(None, 5))
    outs = _zoo(x)
    want = tg.evaluate(outs, {x: V})
    loaded = tg.loads(tg.dumps(outs))
    for got, w in zip(tg.evaluate(loaded, {"x": V}), want):
        np.testing.assert_array_equal(got, w)
    for got, w in zip(tg.compile(outs)(V), want):  # the fast path: kernels and buffers reused in place
        np.testing.assert_array_equal(got, w)
    listing = str(tg.Graph(outs))
    assert "gelu[approximate='tanh']" in listing and "top_k[k=2, axis=-1, largest=True, output='indices']" in listing
    dot = tg.to_dot(outs).source
    assert "LeakyReLU(alpha=0.2)" in dot and "Einsum(equation=" in dot


@pytest.mark.parametrize("opset", [14, 15, 16, 17, 18, 20])
def test_every_op_exports_to_onnxruntime_and_back(opset):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = tg.input("x", shape=(None, 5), dtype=np.float32)
    outs = _zoo(x)
    v = V.astype(np.float32)
    want = tg.evaluate(outs, {x: v})
    model = tg.onnx.to_model(outs, opset=opset)
    import onnx

    onnx.checker.check_model(model, full_check=True)
    types = {n.op_type for n in model.graph.node}
    assert ("Gelu" in types) == (opset >= 20)
    assert ("CastLike" in types) == (opset >= 15)
    reduce_max = next(n for n in model.graph.node if n.op_type == "ReduceMax")
    assert (len(reduce_max.input) == 2) == (opset >= 18)  # axes: an input from 18, an attribute before
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"x": v})
    for out, t, w in zip(model.graph.output, theirs, want):
        assert t.dtype == w.dtype, out.name
        np.testing.assert_allclose(t, w, rtol=2e-5, atol=2e-6, err_msg=out.name)
    back = tg.onnx.from_model(model)
    for out, got, w in zip(model.graph.output, tg.evaluate(back, {"x": v}), want):
        assert got.dtype == w.dtype, out.name
        np.testing.assert_allclose(got, w, rtol=1e-6, atol=1e-7, err_msg=out.name)


@pytest.mark.parametrize("opset", [14, 15, 16, 17, 18])
def test_sum_and_mean_axes_follow_the_opset_in_onnxruntime(opset):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = tg.input("x", shape=(None, 3, 4), dtype=np.float32)
    outs = [tg.sum(x, 1), tg.mean(x, (1, 2), keepdims=True), tg.sum(x), tg.mean(x, -1), tg.sum(x, ())]
    model = tg.onnx.to_model(outs, opset=opset)
    nodes = {n.output[0]: n for n in model.graph.node}
    s = nodes[tg.Graph(outs).name_of(outs[0])]
    m = nodes[tg.Graph(outs).name_of(outs[1])]
    assert (len(s.input) == 2) == (opset >= 13) and (len(m.input) == 2) == (opset >= 18)
    v = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for t, w in zip(session.run(None, {"x": v}), tg.evaluate(outs, {x: v})):
        np.testing.assert_allclose(t, w, rtol=1e-5)


def test_integer_ops_export_exactly():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    i, j = tg.input("i", shape=(None,), dtype=np.int64), tg.input("j", shape=(None,), dtype=np.int64)
    outs = [tg.trunc_div(i, j), tg.mod(i, j), tg.mod(i, j, fmod=True), tg.argmax(i, 0), i < j, tg.clip(i, -5, 5)]
    a = np.array([2**62 + 1, -7, 7, -(2**60) - 3])
    b = np.array([3, 2, -2, 7])
    model = tg.onnx.to_model(outs)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = tg.evaluate(outs, {i: a, j: b})
    for t, w in zip(session.run(None, {"i": a, "j": b}), want):
        np.testing.assert_array_equal(t, w)
    back = tg.onnx.from_model(model)
    assert any(n.op.kind == "trunc_div" for n in back.nodes)
    for got, w in zip(tg.evaluate(back, {"i": a, "j": b}), want):
        assert got.dtype == w.dtype
        np.testing.assert_array_equal(got, w)


def test_clip_with_array_bounds_exports_as_max_and_min():
    pytest.importorskip("onnx")
    x = tg.input("x", shape=(None, 5), dtype=np.float32)
    y = tg.clip(x, np.full(5, -0.5, np.float32), np.full(5, 0.5, np.float32))
    model = tg.onnx.to_model(y)
    assert [n.op_type for n in model.graph.node if n.op_type not in ("Constant",)] == ["Max", "Min"]
    back = tg.onnx.from_model(model)
    v = V.astype(np.float32)
    np.testing.assert_array_equal(tg.evaluate(back, {"x": v})[0], np.clip(v, -0.5, 0.5))
