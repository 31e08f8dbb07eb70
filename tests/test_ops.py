"""Each built-in op computes what numpy computes; Sigmoid and Softmax are numerically stable."""

import warnings

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import ops


def textbook_sigmoid(x):
    return 1 / (1 + np.exp(-x))


UNARY = [
    (tg.exp, np.exp), (tg.log, np.log), (tg.tanh, np.tanh), (tg.neg, np.negative), (tg.sigmoid, textbook_sigmoid),
    (tg.relu, lambda a: np.maximum(a, 0)), (tg.sum, np.sum), (tg.mean, np.mean), (tg.transpose, np.transpose),
    (tg.negative, np.negative),
    (lambda a: tg.softmax(a, axis=0), lambda a: np.exp(a) / np.exp(a).sum(axis=0, keepdims=True)),
    (lambda a: tg.reshape(a, (-1,)), lambda a: a.reshape(-1)),
]
BINARY = [
    (tg.add, np.add), (tg.sub, np.subtract), (tg.mul, np.multiply), (tg.div, np.true_divide), (tg.pow, np.power),
    (tg.subtract, np.subtract), (tg.multiply, np.multiply), (tg.divide, np.divide), (tg.power, np.power),
]


@pytest.mark.parametrize("fn, ref", UNARY)
def test_unary_ops_match_numpy(fn, ref):
    v = np.random.default_rng(2).uniform(0.1, 3.0, (3, 4))
    x = tg.input("x", shape=(None, 4))
    np.testing.assert_allclose(tg.evaluate(fn(x), {x: v}), ref(v), rtol=1e-14)


@pytest.mark.parametrize("fn, ref", BINARY)
def test_binary_ops_match_numpy(fn, ref):
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.1, 3.0, (3, 4)), rng.uniform(0.1, 3.0, (4,))
    x = tg.input("x", shape=(None, 4))
    y = tg.input("y", shape=(4,))
    np.testing.assert_allclose(tg.evaluate(fn(x, y), {x: a, y: b}), ref(a, b), rtol=1e-14)
    np.testing.assert_allclose(tg.evaluate(fn(y, x), {x: a, y: b}), ref(b, a), rtol=1e-14)


def test_matmul_function_and_name_argument():
    a = tg.input("a", shape=(2, 3))
    b = tg.parameter(np.arange(12.0).reshape(3, 4), name="B")
    node = tg.matmul(a, b, name="product")
    assert node.name == "product"
    np.testing.assert_array_equal(tg.evaluate(node, {a: np.ones((2, 3))}), np.ones((2, 3)) @ b.value)


def test_op_attributes_are_taken_in_init():
    assert ops.Softmax(axis=1).attributes() == {"axis": 1}
    assert ops.Sum(axis=(0, 1), keepdims=True).attributes() == {"axis": (0, 1), "keepdims": True}
    assert ops.Mean(axis=0).attributes() == {"axis": 0, "keepdims": False}
    assert ops.Transpose(axes=(1, 0)).attributes() == {"axes": (1, 0)}
    assert ops.Reshape(shape=(2, -1)).attributes() == {"shape": (2, -1)}
    assert ops.Add().attributes() == {}
    assert repr(ops.Softmax(axis=1)) == "Softmax(axis=1)"
    x = tg.input("x", shape=(2, 3))
    node = ops.Softmax(axis=0)(x)
    np.testing.assert_allclose(tg.evaluate(node, {x: np.ones((2, 3))}), np.full((2, 3), 0.5))
    assert "softmax[axis=0](x)" in str(tg.Graph(node))


def test_op_kinds_are_lowercase_class_names():
    for cls in [ops.MatMul, ops.Add, ops.Sigmoid, ops.ReLU, ops.Softmax, ops.Sum, ops.Reshape]:
        assert cls.kind == cls.__name__.lower()


def test_arity_is_checked():
    x = tg.input("x", shape=(2,))
    with pytest.raises(TypeError, match="operand"):
        ops.Add()(x)
    with pytest.raises(TypeError, match="operand"):
        ops.Sigmoid()(x, x)


# --- numerical stability --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable_for_any_finite_input(dtype):
    x = tg.input("x", shape=(None,), dtype=dtype)
    s = tg.sigmoid(x)
    big = np.finfo(dtype).max
    v = np.array([-big, -1e4, -1000, -745, -100, -1, 0, 1, 100, 745, 1000, 1e4, big], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out = tg.evaluate(s, {x: v})
    assert out.dtype == dtype
    assert not np.isnan(out).any()
    assert ((out >= 0) & (out <= 1)).all()
    assert out[0] == 0.0 and out[1] == 0.0 and out[-1] == 1.0 and out[-2] == 1.0
    assert out[6] == 0.5


def test_sigmoid_equals_the_textbook_formula_where_it_does_not_overflow():
    x = tg.input("x", shape=(None,))
    v = np.concatenate([np.linspace(-700, 700, 2001), np.random.default_rng(4).standard_normal(1000) * 10])
    with np.errstate(under="ignore"):
        expected = 1 / (1 + np.exp(-v))
    np.testing.assert_allclose(tg.evaluate(tg.sigmoid(x), {x: v}), expected, rtol=1e-15, atol=0)


def test_sigmoid_of_integers_is_float():
    x = tg.input("x", shape=(3,), dtype=np.int64)
    out = tg.evaluate(tg.sigmoid(x), {x: np.array([-1, 0, 1])})
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, textbook_sigmoid(np.array([-1.0, 0.0, 1.0])))


def test_softmax_is_stable():
    x = tg.input("x", shape=(None, 3))
    v = np.array([[1e4, 0.0, -1e4], [1000.0, 1000.0, 1000.0], [-1e4, -1e4, -1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out = tg.evaluate(tg.softmax(x, axis=1), {x: v})
    np.testing.assert_allclose(out, [[1, 0, 0], [1 / 3] * 3, [1 / 3] * 3], rtol=1e-15)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_cast_converts_like_astype_and_prints_its_dtype():
    x = tg.input("x", shape=(None,))
    y = tg.cast(x, np.int32, name="y")
    assert y.dtype == np.int32 and y.shape == (None,)
    data = np.array([2.7, -2.7, 0.5])
    out = tg.evaluate(y, {x: data})
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [2, -2, 0])  # toward zero
    assert "y: i32[?] = cast[dtype='int32'](x)" in str(tg.Graph(y))
    assert tg.ops.Cast("float32").attributes() == {"dtype": "float32"}  # plain data, not a np.dtype


# --- Softplus: one class in tinygraph/ops/activations.py, and everything follows -----------------


def test_softplus_evaluates_stably_everywhere():
    x = tg.input("x", shape=(None,))
    y = tg.softplus(x)
    v = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow for any finite input
        got = tg.evaluate(y, {x: v})
    np.testing.assert_allclose(got[1:-1], np.log1p(np.exp(v[1:-1])), rtol=1e-15)
    assert got[0] == 0.0 and got[-1] == 1000.0
    np.testing.assert_array_equal(tg.compile(y)(v), got)
    assert y.dtype == np.float64 and tg.softplus(tg.input("f", shape=(2,), dtype=np.float32)).dtype == np.float32
    assert "softplus_0: f64[?] = softplus(x)" in str(tg.Graph(y))


def test_softplus_saves_draws_and_is_a_layer():
    x = tg.input("x", shape=(None, 2))
    model = tg.nn.Sequential(tg.nn.Affine.init(2, 3, rng=np.random.default_rng(0)), tg.ops.Softplus())
    y = model(x)
    batch = np.linspace(-2, 2, 8).reshape(4, 2)
    loaded = tg.loads(tg.dumps(y))
    np.testing.assert_array_equal(tg.evaluate(loaded, {"x": batch})[0], tg.evaluate(y, {x: batch}))
    assert "Softplus" in tg.to_dot(y).source
    assert "softplus" in tg.to_dot(model, style="neurons").source


def test_softplus_round_trips_through_onnx_and_onnxruntime():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = tg.input("x", shape=(None, 3), dtype=np.float32)
    y = tg.softplus(x * 2.0)
    model = tg.onnx.to_model(y)
    assert [n.op_type for n in model.graph.node][-1] == "Softplus"
    batch = np.linspace(-40, 40, 12, dtype=np.float32).reshape(4, 3)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (theirs,) = session.run(None, {"x": batch})
    np.testing.assert_allclose(theirs, tg.evaluate(y, {x: batch}), rtol=1e-6, atol=1e-6)
    back = tg.onnx.from_model(model)
    assert any(n.op.kind == "softplus" for n in back.nodes)
    np.testing.assert_array_equal(tg.evaluate(back, {"x": batch})[0], tg.evaluate(y, {x: batch}))


def test_softplus_imports_from_torch():
    torch = pytest.importorskip("torch")
    net = tg.nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Softplus()))
    x = tg.input("x", shape=(None, 2), dtype=np.float32)
    batch = np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)
    with torch.no_grad():
        expected = torch.nn.functional.softplus(torch.from_numpy(batch) @ torch.tensor(
            np.asarray(net[0].W.value)) + torch.tensor(np.asarray(net[0].b.value))).numpy()
    np.testing.assert_allclose(tg.evaluate(net(x), {x: batch}), expected, rtol=1e-6)
    with pytest.raises(tg.GraphError, match="beta=1"):
        tg.nn.from_torch(torch.nn.Sequential(torch.nn.Softplus(beta=2.0)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_the_textbook_formula_bit_for_bit_on_this_machine(dtype):
    # scipy's expit differs from numpy's SIMD exp in the last bit on some CPUs: the formula is what counts.
    a = np.random.default_rng(3).normal(scale=20, size=20000).astype(dtype)
    x = tg.input("x", shape=(None,), dtype=dtype)
    with np.errstate(over="ignore"):
        want = 1 / (1 + np.exp(-a))
    np.testing.assert_array_equal(tg.evaluate(tg.sigmoid(x), {x: a}), want)
    np.testing.assert_array_equal(tg.compile(tg.sigmoid(x * 1.0))(a), want)
