"""Property tests: random expression DAGs evaluate like the same numpy code, with the shapes and dtypes inferred."""

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygraph as tg

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fits(node, value):
    return (node.ndim == value.ndim and all(d is None or d == v for d, v in zip(node.shape, value.shape))
            and node.dtype == value.dtype)


def np_sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def usable(value):
    value = np.asarray(value)
    return value.size > 0 and np.isfinite(value).all() and np.abs(value).max() < 1e6


class Builder:
    """Builds a tinygraph expression and, beside it, the same expression on numpy arrays."""

    def __init__(self, draw):
        self.draw = draw
        self.pool = []  # (node, numpy value)
        self.feeds = {}

    def pick(self):
        return self.pool[self.draw(st.integers(0, len(self.pool) - 1))]

    def add_input(self, k):
        rank = self.draw(st.integers(0, 3))
        shape = tuple(self.draw(st.integers(1, 3)) for _ in range(rank))
        declared = tuple(None if self.draw(st.booleans()) else d for d in shape)
        dtype = self.draw(st.sampled_from([np.float64, np.float32, np.float64, np.float32, np.int64, np.int32]))
        magnitude = self.draw(st.floats(0.5, 2.0))
        rng = np.random.default_rng(self.draw(st.integers(0, 2**32 - 1)))
        if np.dtype(dtype).kind == "i":
            value = rng.integers(1, 4, shape).astype(dtype) * rng.choice([-1, 1], shape).astype(dtype)
        else:
            value = (rng.uniform(0.5, 1.5, shape) * rng.choice([-magnitude, magnitude], shape)).astype(dtype)
        node = tg.input(f"in{k}", shape=declared, dtype=dtype)
        self.feeds[node] = value
        self.pool.append((node, value))

    def try_op(self, build, reference, *operands):
        """Apply ``build`` to the nodes and ``reference`` to the values; keep the result if numpy can."""
        nodes = [n for n, _ in operands]
        values = [v for _, v in operands]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                expected = np.asarray(reference(*values))
        except (ValueError, FloatingPointError, RuntimeWarning):
            expected = None
        try:
            node = build(*nodes)
        except tg.ShapeError:
            # tinygraph only rejects what can never work: numpy must reject it too.
            assert expected is None, "tinygraph refused an expression numpy accepts"
            return
        if expected is None or not usable(expected):
            return  # a None dim hid a mismatch, or the values left the finite range: not kept
        assert fits(node, expected), (node, expected.shape, expected.dtype)
        self.pool.append((node, expected))

    def step(self):
        kind = self.draw(st.sampled_from(
            ["add", "sub", "mul", "div", "pow", "rscalar", "scalar", "matmul", "neg", "exp", "log", "tanh",
             "sigmoid", "relu", "softmax", "sum", "mean", "transpose", "T", "reshape"]))
        a = self.pick()
        if kind in ("add", "sub", "mul", "div", "matmul"):
            b = self.pick()
            build, ref = {"add": (lambda x, y: x + y, np.add), "sub": (lambda x, y: x - y, np.subtract),
                          "mul": (tg.mul, np.multiply), "div": (lambda x, y: x / y, np.true_divide),
                          "matmul": (lambda x, y: x @ y, np.matmul)}[kind]
            if kind == "div" and (np.abs(b[1]) < 0.1).any():
                return
            self.try_op(build, ref, a, b)
        elif kind == "pow":
            if (a[1] <= 0.1).any():
                return
            b = self.pick()
            if np.abs(b[1]).max() > 3:
                return
            self.try_op(lambda x, y: x ** y, np.power, a, b)
        elif kind in ("scalar", "rscalar"):
            c = self.draw(st.sampled_from([2, 0.5, -1.5, 3]))
            op = self.draw(st.sampled_from(["+", "-", "*"]))
            f = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}[op]
            if kind == "scalar":
                self.try_op(lambda x: f(x, c), lambda x: f(x, c), a)
            else:
                self.try_op(lambda x: f(c, x), lambda x: f(c, x), a)
        elif kind == "neg":
            self.try_op(lambda x: -x, np.negative, a)
        elif kind == "exp":
            if np.abs(a[1]).max() < 20:
                self.try_op(tg.exp, np.exp, a)
        elif kind == "log":
            if (a[1] > 0.01).all():
                self.try_op(tg.log, np.log, a)
        elif kind == "tanh":
            self.try_op(tg.tanh, np.tanh, a)
        elif kind == "sigmoid":
            self.try_op(tg.sigmoid, np_sigmoid, a)
        elif kind == "relu":
            self.try_op(tg.relu, lambda x: np.maximum(x, 0), a)
        elif kind == "softmax":
            if a[1].ndim:
                axis = self.draw(st.integers(-a[1].ndim, a[1].ndim - 1))
                self.try_op(lambda x: tg.softmax(x, axis=axis), lambda x: np_softmax(x, axis), a)
        elif kind in ("sum", "mean"):
            ndim = a[1].ndim
            axis = self.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1) if ndim else st.none(),
                                       st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim)
                                       .map(tuple)))
            keepdims = self.draw(st.booleans())
            fn, ref = (tg.sum, np.sum) if kind == "sum" else (tg.mean, np.mean)
            self.try_op(lambda x: fn(x, axis=axis, keepdims=keepdims),
                        lambda x: ref(x, axis=axis, keepdims=keepdims), a)
        elif kind == "transpose":
            axes = self.draw(st.one_of(st.none(), st.permutations(range(a[1].ndim)).map(tuple)))
            self.try_op(lambda x: tg.transpose(x, axes), lambda x: np.transpose(x, axes), a)
        elif kind == "T":
            self.try_op(lambda x: x.T, lambda x: x.T, a)
        elif kind == "reshape":
            target = self.draw(st.sampled_from([(-1,), (*a[1].shape, 1), (1, -1)]))
            self.try_op(lambda x: tg.reshape(x, target), lambda x: np.reshape(x, target), a)


@st.composite
def expressions(draw):
    b = Builder(draw)
    for k in range(draw(st.integers(1, 3))):
        b.add_input(k)
    for _ in range(draw(st.integers(1, 12))):
        b.step()
    return b


def tolerance(node):
    return 0 if node.dtype.kind == "i" else 2e-5 if node.dtype == np.float32 else 1e-12


@SETTINGS
@given(expressions(), st.data())
def test_random_dags_evaluate_like_numpy(b, data):
    nodes = [n for n, _ in b.pool]
    outputs = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=4))
    values = tg.evaluate(outputs, b.feeds)
    expected = dict(b.pool)
    for node, value in zip(outputs, values):
        assert fits(node, value), (node, value.shape, value.dtype)
        np.testing.assert_allclose(value, expected[node], rtol=tolerance(node), atol=tolerance(node))


@SETTINGS
@given(expressions())
def test_traced_values_have_the_inferred_shapes_and_dtypes(b):
    out = b.pool[-1][0]
    values = tg.trace(out, b.feeds)
    assert set(values) == set(tg.Graph(out).nodes)
    expected = dict(b.pool)
    for node, value in values.items():
        value = np.asarray(value)
        assert fits(node, value), (node, value.shape, value.dtype)
        if node in expected:
            np.testing.assert_allclose(value, expected[node], rtol=tolerance(node), atol=tolerance(node))
    listing = str(tg.Graph(out))
    assert len(listing.splitlines()) == len(values) - len(tg.Graph(out).inputs) + 2
