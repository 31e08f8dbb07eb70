"""Feeds: by node or name, converted when harmless, refused with a FeedError otherwise; never modified."""

import os

import numpy as np
import pytest

import tinygraph as tg

HERE = os.path.abspath(__file__)


@pytest.fixture
def net():
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.arange(8.0).reshape(2, 4), name="W")
    b = tg.parameter(np.ones(4), name="b")
    return x, W, b, tg.sigmoid(x @ W + b)


def _expect_feed_error(y, feeds, *fragments):
    with pytest.raises(tg.FeedError) as info:
        tg.evaluate(y, feeds)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_feed_by_node_or_by_name(net):
    x, W, b, y = net
    v = np.random.default_rng(0).standard_normal((5, 2))
    expected = 1 / (1 + np.exp(-(v @ W.value + b.value)))
    np.testing.assert_allclose(tg.evaluate(y, {x: v}), expected, rtol=1e-15)
    np.testing.assert_allclose(tg.evaluate(y, {"x": v}), expected, rtol=1e-15)


def test_lists_and_scalars_are_converted(net):
    x, W, b, y = net
    np.testing.assert_array_equal(tg.evaluate(y, {x: [[0.0, 0.0], [1, 2]]}),
                                  tg.evaluate(y, {x: np.array([[0.0, 0.0], [1.0, 2.0]])}))
    s = tg.input("s", shape=())
    np.testing.assert_array_equal(tg.evaluate(s * 2, {s: 3}), 6.0)
    np.testing.assert_array_equal(tg.evaluate(s * 2, {"s": 1.5}), 3.0)
    f32 = tg.input("f", shape=(2,), dtype=np.float32)
    out = tg.evaluate(f32 * 2, {f32: [1, 2]})
    assert out.dtype == np.float32
    # an array of the same kind but another width is converted (a copy)
    out = tg.evaluate(f32 * 2, {f32: np.array([1.0, 2.0])})
    assert out.dtype == np.float32


def test_missing_input(net):
    x, W, b, y = net
    message = _expect_feed_error(y, {}, "'x'", "f64[?,2]", HERE)
    assert "missing" in message
    z = tg.input("z", shape=(3,))
    _expect_feed_error(x @ W + tg.sum(z), {x: np.ones((1, 2))}, "'z'", "f64[3]")


def test_unknown_name(net):
    x, W, b, y = net
    message = _expect_feed_error(y, {"x": np.ones((1, 2)), "xx": np.ones(2)}, "'xx'", "'x'")
    assert "no input named" in message


def test_non_input_keys_and_odd_keys(net):
    x, W, b, y = net
    _expect_feed_error(y, {x: np.ones((1, 2)), W: np.ones((2, 4))}, "W", "not an input", HERE)
    _expect_feed_error(y, {x: np.ones((1, 2)), 3: 4})
    _expect_feed_error(y, [np.ones((1, 2))])


def test_feeding_the_same_input_twice(net):
    x, W, b, y = net
    _expect_feed_error(y, {x: np.ones((1, 2)), "x": np.ones((1, 2))}, "'x'", "twice")


def test_an_input_the_outputs_do_not_need_may_be_fed(net):
    x, W, b, y = net
    other = tg.input("other", shape=(2,))
    out = tg.evaluate(W * 1.0, {x: np.ones((1, 2)), other: np.ones(2)})
    np.testing.assert_array_equal(out, W.value)


@pytest.mark.parametrize("bad", [np.ones(2), np.ones((1, 1, 2)), np.float64(1.0), [1.0, 2.0]])
def test_wrong_rank(net, bad):
    x, W, b, y = net
    _expect_feed_error(y, {x: bad}, "'x'", "f64[?,2]", "rank 2", HERE)


@pytest.mark.parametrize("bad", [np.ones((3, 3)), np.ones((3, 1)), [[1.0, 2.0, 3.0]]])
def test_wrong_fixed_size(net, bad):
    x, W, b, y = net
    message = _expect_feed_error(y, {x: bad}, "'x'", "f64[?,2]", HERE)
    assert str(np.asarray(bad).shape) in message


@pytest.mark.parametrize(
    "bad, got",
    [(np.ones((3, 2), dtype=np.int64), "int64"), (np.ones((3, 2), dtype=bool), "bool"),
     (np.ones((3, 2), dtype=np.complex128), "complex128"), ([["a", "b"]], "<U1")],
)
def test_wrong_dtype_kind(net, bad, got):
    x, W, b, y = net
    _expect_feed_error(y, {x: bad}, "'x'", "float64", got, HERE)


def test_a_float_list_does_not_silently_become_integers():
    i = tg.input("i", shape=(2,), dtype=np.int64)
    _expect_feed_error(i * 1, {i: [1.5, 2.7]}, "'i'", "int64", "float64")
    np.testing.assert_array_equal(tg.evaluate(i * 1, {i: [1, 2]}), [1, 2])


def test_feeds_must_be_a_mapping(net):
    x, W, b, y = net
    _expect_feed_error(y, np.ones((1, 2)))


def test_user_arrays_are_never_modified(net):
    x, W, b, y = net
    v = np.random.default_rng(1).standard_normal((6, 2))
    v.flags.writeable = False
    before = v.copy()
    w_before = W.value.copy()
    out = tg.evaluate([y, x + 0.0, x * 1.0, -x, tg.exp(x), x ** 2], {x: v})
    np.testing.assert_array_equal(v, before)
    np.testing.assert_array_equal(W.value, w_before)
    # what comes back does not alias the user's array in a way that lets a write reach it
    for arr in out:
        assert not np.shares_memory(arr, v) or not arr.flags.writeable


def test_results_are_fresh_across_runs(net):
    x, W, b, y = net
    first = tg.evaluate(y, {x: np.zeros((2, 2))})
    kept = first.copy()
    tg.evaluate(y, {x: np.ones((2, 2))})
    np.testing.assert_array_equal(first, kept)


def test_parameter_values_are_never_modified_by_evaluation():
    user_W = np.random.default_rng(2).standard_normal((3, 3))
    user_W.flags.writeable = False
    copy_W = user_W.copy()
    W = tg.parameter(user_W, name="W")
    x = tg.input("x", shape=(None, 3))
    y = x
    for _ in range(5):
        y = tg.tanh(y @ W) * 2.0 - tg.sum(W.T @ W, axis=0)
    vals = tg.evaluate(tg.sum(y) + tg.sum(W), {x: np.ones((2, 3))})
    assert np.isfinite(vals)
    np.testing.assert_array_equal(user_W, copy_W)
    np.testing.assert_array_equal(W.value, copy_W)


def test_writeable_user_arrays_are_not_modified_either():
    # A read-only array would make an in-place write fail loudly; a writeable one must not be
    # silently used as scratch space by the executor either.
    x = tg.input("x", shape=(None, 3))
    W = tg.parameter(np.full((3, 3), 0.5), name="W")
    h = x
    for _ in range(4):
        h = tg.sigmoid(h @ W + 1.0) * 2.0 - h
    v = np.random.default_rng(3).standard_normal((4, 3))
    before = v.copy()
    outs = tg.evaluate([h, x * 1.0, -x, tg.exp(x)], {x: v})
    np.testing.assert_array_equal(v, before)
    again = tg.evaluate([h, x * 1.0, -x, tg.exp(x)], {"x": v})
    for a, b in zip(outs, again):
        np.testing.assert_array_equal(a, b)
    # earlier results are not overwritten by later runs
    kept = [o.copy() for o in outs]
    tg.evaluate([h, x * 1.0, -x, tg.exp(x)], {x: v * 7})
    for a, b in zip(outs, kept):
        np.testing.assert_array_equal(a, b)


def test_narrowing_feeds_that_would_change_values_are_refused():
    xi = tg.input("xi", shape=(None,), dtype=np.int32)
    for bad in ([2**40 + 5], np.array([2**31])):
        with pytest.raises(tg.FeedError, match="do not fit in int32"):
            tg.evaluate(xi + 0, {"xi": bad})
    np.testing.assert_array_equal(tg.evaluate(xi + 0, {"xi": np.array([1, 2])}), [1, 2])
    xu = tg.input("xu", shape=(None,), dtype=np.uint8)
    np.testing.assert_array_equal(tg.evaluate(xu + 0, {"xu": [1, 2]}), [1, 2])
    with pytest.raises(tg.FeedError, match="do not fit in uint8"):
        tg.evaluate(xu + 0, {"xu": [-1]})
    xf = tg.input("xf", shape=(None,), dtype=np.float32)
    with pytest.raises(tg.FeedError, match="do not fit in float32"):
        tg.evaluate(xf + 0, {"xf": np.array([1e300])})
    np.testing.assert_array_equal(tg.evaluate(xf + 0, {"xf": np.array([0.1, np.inf])}), np.float32([0.1, np.inf]))


def test_a_custom_op_cannot_write_into_the_users_feed():
    class AddOneInPlace(tg.Op):
        def forward(self, a):
            a += 1
            return a

    x = tg.input("x", shape=(1, 2))
    y = AddOneInPlace()(x)
    for run in (lambda b: tg.evaluate(y, {x: b}), lambda b: tg.compile(y)(b),
                lambda b: tg.evaluate(y, {"x": b.tolist()}), lambda b: tg.trace(y, {x: b})):
        b = np.zeros((1, 2))
        with pytest.raises(tg.ExecutionError, match="read-only"):
            run(b)
        assert not b.any()
    # built-in graphs keep the fast path: nothing is wrapped
    z = x * 2.0
    b = np.ones((1, 2))
    np.testing.assert_array_equal(tg.evaluate(z, {x: b}), [[2.0, 2.0]])
