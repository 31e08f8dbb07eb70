"""A new op is a subclass of tg.Op with forward only, usable at once."""

import numpy as np
import pytest

import tinygraph as tg


class Swish(tg.Op):
    def forward(self, a):
        return a / (1 + np.exp(-a))


class Clip(tg.Op):
    def __init__(self, low, high):
        self.low = low
        self.high = high

    def forward(self, a):
        return np.clip(a, self.low, self.high)


class Hypot(tg.Op):
    def forward(self, a, b):
        return np.hypot(a, b)


class RowNorms(tg.Op):
    def forward(self, a):
        return np.linalg.norm(a, axis=-1)

    def infer(self, a):
        return tg.Spec(a.shape[:-1], a.dtype)


def test_forward_only_op_builds_evaluates_and_prints():
    x = tg.input("x", shape=(None, 3))
    W = tg.parameter(np.arange(9.0).reshape(3, 3) / 10, name="W")
    node = Swish()(x @ W)
    assert isinstance(node, tg.Node)
    assert node.shape == (None, 3) and node.dtype == np.float64  # default infer: elementwise
    assert Swish.kind == "swish"
    v = np.random.default_rng(0).standard_normal((4, 3))
    z = v @ W.value
    np.testing.assert_allclose(tg.evaluate(node, {x: v}), z / (1 + np.exp(-z)), rtol=1e-15)
    listing = str(tg.Graph(node))
    assert "swish_1: f64[?,3] = swish(matmul_0)" in listing
    assert "swish" in repr(node)


def test_custom_op_composes_with_builtins_and_operators():
    x = tg.input("x", shape=(None, 3))
    y = tg.sigmoid(2 * Swish()(x) + 1) - Swish()(-x)
    v = np.linspace(-2, 2, 6).reshape(2, 3)

    def swish(a):
        return a / (1 + np.exp(-a))

    np.testing.assert_allclose(tg.evaluate(y, {x: v}), 1 / (1 + np.exp(-(2 * swish(v) + 1))) - swish(-v), rtol=1e-14)


def test_attributes_from_init_show_in_listing_and_repr():
    x = tg.input("x", shape=(4,))
    node = Clip(low=0.0, high=1.0)(x)
    assert Clip(0.0, 1.0).attributes() == {"low": 0.0, "high": 1.0}
    assert repr(Clip(0.0, 1.0)) == "Clip(low=0.0, high=1.0)"
    assert "clip[low=0.0, high=1.0](x)" in str(tg.Graph(node))
    np.testing.assert_array_equal(tg.evaluate(node, {x: [-1.0, 0.5, 2.0, 1.0]}), [0.0, 0.5, 1.0, 1.0])


def test_default_infer_broadcasts_and_checks_shapes():
    a = tg.input("a", shape=(None, 1))
    b = tg.input("b", shape=(3,))
    node = Hypot()(a, b)
    assert node.shape == (None, 3)
    np.testing.assert_allclose(tg.evaluate(node, {a: [[3.0], [0.0]], b: [4.0, 0.0, 1.0]}),
                               [[5.0, 3.0, np.hypot(3, 1)], [4.0, 0.0, 1.0]])
    with pytest.raises(tg.ShapeError, match="hypot"):
        Hypot()(b, tg.input("c", shape=(4,)))
    i = tg.input("i", shape=(2,), dtype=np.float32)
    assert Hypot()(i, 2.0).dtype == np.float32  # default dtype rule keeps weak scalars weak


def test_custom_infer():
    x = tg.input("x", shape=(None, 5))
    node = RowNorms()(x)
    assert node.shape == (None,)
    np.testing.assert_allclose(tg.evaluate(node, {x: np.ones((3, 5))}), np.sqrt(5.0) * np.ones(3))


def test_arity_declaration_is_checked():
    class Unary(tg.Op):
        arity = 1

        def forward(self, a):
            return a

    x = tg.input("x", shape=(2,))
    Unary()(x)
    with pytest.raises(TypeError):
        Unary()(x, x)


def test_kind_may_be_set_explicitly():
    class Gelu(tg.Op):
        kind = "gelu_tanh"

        def forward(self, a):
            return 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3)))

    x = tg.input("x", shape=(2,))
    assert tg.Graph(Gelu()(x)).nodes[-1].name == "gelu_tanh_0"


def test_array_attributes_keep_the_listing_one_line_per_node():
    class Scale(tg.Op):
        def __init__(self, weights):
            self.weights = weights

        def forward(self, a):
            return a * self.weights

    x = tg.input("x", shape=(3, 3))
    node = Scale(np.ones((3, 3)))(x)
    listing = str(tg.Graph(node))
    assert "scale_0: f64[3,3] = scale[weights=f64[3,3]](x)" in listing
    assert len(listing.splitlines()) == 3
    assert "\n" not in repr(node) and "\n" not in repr(node.op)
