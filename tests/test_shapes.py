"""Static shapes and dtypes follow numpy: broadcasting, np.matmul, result_type with weak scalars."""

import numpy as np
import pytest

import tinygraph as tg


def _fed(shape, dtype=np.float64):
    return tg.input("a", shape=shape, dtype=dtype)


def _check_against_numpy(node, feeds):
    value = tg.evaluate(node, feeds)
    assert len(node.shape) == value.ndim, (node.shape, value.shape)
    assert all(d is None or d == v for d, v in zip(node.shape, value.shape)), (node.shape, value.shape)
    assert node.dtype == value.dtype, (node.dtype, value.dtype)
    return value


@pytest.mark.parametrize(
    "sa, sb",
    [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((5, 1, 3), (4, 1)), ((), (2, 2)), ((1,), (7,)),
     ((2, 3, 4), (1, 1, 4)), ((0, 3), (1, 3))],
)
def test_broadcasting_matches_numpy(sa, sb):
    a = tg.input("a", shape=sa)
    b = tg.input("b", shape=sb)
    node = a + b
    assert node.shape == np.broadcast_shapes(sa, sb)
    _check_against_numpy(node, {a: np.ones(sa), b: np.ones(sb)})


@pytest.mark.parametrize("sa, sb", [((3,), (4,)), ((2, 3), (3, 2)), ((5, 2, 3), (4, 3))])
def test_incompatible_broadcast_is_a_shape_error(sa, sb):
    with pytest.raises(tg.ShapeError):
        tg.input("a", shape=sa) * tg.input("b", shape=sb)


@pytest.mark.parametrize(
    "sa, sb",
    [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)),
     ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 6)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,))],
)
def test_matmul_shapes_match_np_matmul(sa, sb):
    a = tg.input("a", shape=sa)
    b = tg.input("b", shape=sb)
    node = a @ b
    expected = np.matmul(np.ones(sa), np.ones(sb))
    assert node.shape == expected.shape
    np.testing.assert_array_equal(_check_against_numpy(node, {a: np.ones(sa), b: np.ones(sb)}), expected)


@pytest.mark.parametrize("sa, sb", [((3,), (4,)), ((2, 3), (4, 5)), ((2, 3, 4), (3, 4, 5)), ((3,), ())])
def test_matmul_mismatch_is_a_shape_error(sa, sb):
    with pytest.raises(tg.ShapeError, match="matmul"):
        tg.matmul(tg.input("a", shape=sa), tg.input("b", shape=sb))


def test_none_dims_propagate():
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.ones((2, 4)))
    b = tg.parameter(np.ones(4))
    h = tg.sigmoid(x @ W + b)
    assert h.shape == (None, 4)
    assert tg.sum(h, axis=1).shape == (None,)
    assert tg.sum(h, axis=0).shape == (4,)
    assert tg.mean(h, axis=1, keepdims=True).shape == (None, 1)
    assert h.T.shape == (4, None)
    assert (h.T @ h).shape == (4, 4)
    assert tg.softmax(h, axis=1).shape == (None, 4)
    assert tg.reshape(h, (-1,)).shape == (None,)
    y = tg.input("y", shape=(None, None))
    assert (x + y).shape == (None, 2)  # the unknown size must be 1 or 2 at run time
    assert (tg.input("z", shape=(None, 1)) + tg.input("w", shape=(3,))).shape == (None, 3)
    for n in [10, 1, 0]:
        _check_against_numpy(h, {x: np.ones((n, 2))})


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_low_precision_floats_stay_low_precision_with_python_scalars(dtype):
    x = tg.input("x", shape=(3,), dtype=dtype)
    for node in [x * 2.0, 2 * x, 1 - x, x / 3, 3.0 / x, x ** 2, x + 1, -x, tg.sigmoid(x), tg.exp(x),
                 tg.tanh(x), tg.softmax(x), tg.mean(x), tg.sum(x), tg.relu(x), tg.sigmoid(x * 2.5 + 1)]:
        assert node.dtype == dtype, node
        _check_against_numpy(node, {x: np.ones(3, dtype)})


def test_numpy_scalars_and_arrays_are_not_weak():
    x = tg.input("x", shape=(3,), dtype=np.float32)
    assert (x * np.float64(2.0)).dtype == np.float64
    assert (x + np.ones(3)).dtype == np.float64
    assert (x + np.ones(3, np.float32)).dtype == np.float32
    _check_against_numpy(x * np.float64(2.0), {x: np.ones(3, np.float32)})


def _np_sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _np_softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


@pytest.mark.parametrize(
    "build, reference",
    [(lambda i, f: i + f, None), (lambda i, f: i / 2, None), (lambda i, f: i * 2.5, None),
     (lambda i, f: i + 1, None), (lambda i, f: i ** 2, None), (lambda i, f: i @ i, None),
     (lambda i, f: f * i, None), (lambda i, f: i - f / 2, None),
     (lambda i, f: tg.sigmoid(i), lambda i, f: _np_sigmoid(i)), (lambda i, f: tg.mean(i), lambda i, f: np.mean(i)),
     (lambda i, f: tg.sum(i), lambda i, f: np.sum(i)), (lambda i, f: tg.exp(i), lambda i, f: np.exp(i)),
     (lambda i, f: tg.relu(i), lambda i, f: np.maximum(i, 0)),
     (lambda i, f: tg.softmax(i), lambda i, f: _np_softmax(i))],
)
def test_integer_promotion_matches_numpy(build, reference):
    iv, fv = np.arange(3, dtype=np.int32), np.ones(3, np.float32)
    i = tg.input("i", shape=(3,), dtype=np.int32)
    f = tg.input("f", shape=(3,), dtype=np.float32)
    node = build(i, f)
    value = _check_against_numpy(node, {i: iv, f: fv})
    if reference is None:
        reference = build  # the operators work on plain arrays too
    expected = np.asarray(reference(iv, fv))
    assert value.dtype == expected.dtype
    np.testing.assert_allclose(value, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "axis, keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True), ((0, 1, 2), True)]
)
def test_reductions_match_numpy(axis, keepdims):
    x = tg.input("x", shape=(2, 3, 4))
    v = np.arange(24.0).reshape(2, 3, 4)
    for fn, ref in [(tg.sum, np.sum), (tg.mean, np.mean)]:
        node = fn(x, axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(_check_against_numpy(node, {x: v}), ref(v, axis=axis, keepdims=keepdims))


def test_reduction_axis_errors():
    x = tg.input("x", shape=(2, 3))
    with pytest.raises(tg.ShapeError, match="out of bounds"):
        tg.sum(x, axis=2)
    with pytest.raises(tg.ShapeError, match="repeated"):
        tg.mean(x, axis=(0, 0))
    assert tg.sum(x, axis=np.int64(0)).shape == (3,)


@pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1), (-1, 0, 1)])
def test_transpose_matches_numpy(axes):
    x = tg.input("x", shape=(2, 3, 4))
    v = np.arange(24.0).reshape(2, 3, 4)
    node = tg.transpose(x, axes)
    np.testing.assert_array_equal(_check_against_numpy(node, {x: v}), np.transpose(v, axes))


@pytest.mark.parametrize("target", [(6, 4), (-1,), (4, -1), (2, 3, 2, 2), (24, 1)])
def test_reshape_matches_numpy(target):
    x = tg.input("x", shape=(2, 3, 4))
    v = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(_check_against_numpy(tg.reshape(x, target), {x: v}), v.reshape(target))


@pytest.mark.parametrize("target", [(5, -1), (7,), (-1, -1), (2, -3)])
def test_bad_reshape_is_a_shape_error(target):
    with pytest.raises(tg.ShapeError, match="reshape"):
        tg.reshape(tg.input("x", shape=(2, 3, 4)), target)


def test_bad_transpose_and_softmax_axes():
    x = tg.input("x", shape=(2, 3))
    with pytest.raises(tg.ShapeError, match="permutation"):
        tg.transpose(x, (0, 0))
    with pytest.raises(tg.ShapeError, match="softmax"):
        tg.softmax(x, axis=2)


def test_format_spec():
    assert str(tg.input("x", shape=(None, 4)).spec) == "f64[?,4]"
    assert str(tg.input("x", shape=(), dtype=np.int32).spec) == "i32[]"
    assert str(tg.input("x", shape=(2,), dtype=bool).spec) == "bool[2]"


@pytest.mark.parametrize("axes", [(0, 3), (2, 1), (-3, 0)])
def test_transpose_axes_out_of_range_are_shape_errors(axes):
    q = tg.input("q", shape=(2, 3))
    with pytest.raises(tg.ShapeError, match="out of bounds") as info:
        tg.transpose(q, axes)
    assert "test_shapes.py" in str(info.value)


def test_reshape_takes_an_int_and_axes_must_be_ints():
    x = tg.input("x", shape=(2, 3))
    assert tg.reshape(x, 6).shape == (6,)
    assert tg.sum(x, np.int64(1)).shape == (2,)
    for bad in (lambda: tg.sum(x, axis=1.5), lambda: tg.reshape(x, "ab"), lambda: tg.mean(x, [1.0])):
        with pytest.raises(TypeError, match="expected an int or a sequence of ints"):
            bad()
