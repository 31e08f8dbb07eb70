"""Building a graph: the public names, the operators, and what a Node is."""

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import ops

PUBLIC_FUNCTIONS = ["input", "parameter", "constant", "evaluate", "trace", "matmul", "add", "sub", "mul",
                    "div", "neg", "pow", "sigmoid", "exp", "log", "tanh", "relu", "softmax", "sum", "mean",
                    "transpose", "reshape", "scope"]
OP_CLASSES = ["MatMul", "Add", "Sigmoid", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Tanh", "ReLU",
              "Softmax", "Sum", "Mean", "Transpose", "Reshape"]


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_public_functions_exist(name):
    assert callable(getattr(tg, name))


@pytest.mark.parametrize("name", OP_CLASSES)
def test_op_classes_live_in_tinygraph_ops_and_subclass_op(name):
    cls = getattr(ops, name)
    assert isinstance(cls, type) and issubclass(cls, tg.Op)


def test_public_classes_and_errors_exist():
    for name in ["Op", "Node", "Graph", "Executor", "Spec"]:
        assert isinstance(getattr(tg, name), type)
    assert issubclass(tg.GraphError, ValueError)
    assert issubclass(tg.ShapeError, tg.GraphError)
    assert issubclass(tg.FeedError, tg.GraphError)
    assert issubclass(tg.ExecutionError, tg.GraphError)
    for name in ["Affine", "Sigmoid", "Sequential"]:
        assert isinstance(getattr(tg.nn, name), type)
    assert set(tg.__all__) <= set(dir(tg))


def test_node_attributes_as_in_the_issue():
    x = tg.input("x", shape=(None, 2))
    W1 = tg.parameter(np.random.randn(2, 4), name="W1")
    b1 = tg.parameter(np.zeros(4), name="b1")
    h = tg.sigmoid(x @ W1 + b1)
    assert isinstance(h, tg.Node)
    assert isinstance(h.op, ops.Sigmoid)
    assert isinstance(h.inputs, tuple) and len(h.inputs) == 1
    assert isinstance(h.inputs[0].op, ops.Add)
    assert h.inputs[0].inputs[1] is b1
    assert h.inputs[0].inputs[0].inputs == (x, W1)
    assert isinstance(h.name, str) and h.name
    assert h.shape == (None, 4)
    assert h.dtype == np.dtype(np.float64) and isinstance(h.dtype, np.dtype)
    assert x.dtype == np.float64  # the default dtype of an input
    assert x.name == "x"


def test_building_computes_nothing():
    calls = []

    class Spy(tg.Op):
        def forward(self, a):
            calls.append(1)
            return a

    x = tg.input("x", shape=(3,))
    y = Spy()(Spy()(x) + 1.0) * 2
    tg.Graph(y)
    str(tg.Graph(y))
    repr(y)
    assert calls == []
    tg.evaluate(y, {x: np.ones(3)})
    assert len(calls) == 2


def test_python_scalars_and_arrays_are_wrapped_as_constants():
    x = tg.input("x", shape=(3,))
    y = x * 2.0
    c = y.inputs[1]
    assert isinstance(c.op, ops.Constant) and c.value == 2.0
    a = np.arange(3.0)
    z = x + a
    assert isinstance(z.inputs[1].op, ops.Constant)
    np.testing.assert_array_equal(z.inputs[1].value, a)
    k = tg.constant(2.0)
    assert isinstance(k.op, ops.Constant) and k.shape == ()


@pytest.mark.parametrize(
    "build, reference, op",
    [
        (lambda x, A: x @ A, lambda x, A: x @ A, ops.MatMul),
        (lambda x, A: A.T @ x.T, lambda x, A: A.T @ x.T, ops.MatMul),
        (lambda x, A: x + 1.5, lambda x, A: x + 1.5, ops.Add),
        (lambda x, A: 1.5 + x, lambda x, A: 1.5 + x, ops.Add),
        (lambda x, A: x - 1, lambda x, A: x - 1, ops.Sub),
        (lambda x, A: 1 - x, lambda x, A: 1 - x, ops.Sub),
        (lambda x, A: x * 3, lambda x, A: x * 3, ops.Mul),
        (lambda x, A: 2 * x, lambda x, A: 2 * x, ops.Mul),
        (lambda x, A: x / 4, lambda x, A: x / 4, ops.Div),
        (lambda x, A: 4 / x, lambda x, A: 4 / x, ops.Div),
        (lambda x, A: x ** 2, lambda x, A: x ** 2, ops.Pow),
        (lambda x, A: 2 ** x, lambda x, A: 2 ** x, ops.Pow),
        (lambda x, A: -x, lambda x, A: -x, ops.Neg),
        (lambda x, A: x.T, lambda x, A: x.T, ops.Transpose),
    ],
)
def test_operators_and_reflected_forms_match_numpy(build, reference, op):
    rng = np.random.default_rng(1)
    xv = rng.uniform(0.5, 2.0, (3, 4))
    Av = rng.standard_normal((4, 5))
    x = tg.input("x", shape=(3, 4))
    node = build(x, tg.parameter(Av, name="A"))
    assert isinstance(node.op, op)
    np.testing.assert_allclose(tg.evaluate(node, {x: xv}), reference(xv, Av), rtol=1e-15)


def test_array_on_the_left_builds_a_node_not_an_object_array():
    x = tg.input("x", shape=(4, 2))
    A = np.arange(12.0).reshape(3, 4)
    for node, expected in [(A @ x, A @ np.ones((4, 2))), (np.ones(2) + x, 2 * np.ones((4, 2))),
                           (np.float64(3.0) * x, 3 * np.ones((4, 2))), (np.ones((4, 2)) - x, np.zeros((4, 2)))]:
        assert isinstance(node, tg.Node)
        np.testing.assert_array_equal(tg.evaluate(node, {x: np.ones((4, 2))}), expected)
    assert isinstance((A @ x).op, ops.MatMul) and (A @ x).inputs[1] is x


def test_inputs_keep_order_and_repeats():
    a = tg.input("a", shape=(2,))
    b = tg.input("b", shape=(2,))
    s = a + a
    assert s.inputs == (a, a) and len(s.inputs) == 2
    d1, d2 = a - b, b - a
    assert d1.inputs == (a, b) and d2.inputs == (b, a)
    feeds = {a: np.array([5.0, 1.0]), b: np.array([2.0, 3.0])}
    np.testing.assert_array_equal(tg.evaluate(d1, feeds), [3.0, -2.0])
    np.testing.assert_array_equal(tg.evaluate(d2, feeds), [-3.0, 2.0])
    np.testing.assert_array_equal(tg.evaluate(s, feeds), [10.0, 2.0])
    assert len(tg.Graph(s).nodes) == 2  # a appears once in the graph even though it is used twice


def test_nodes_compare_and_hash_by_identity():
    x = tg.input("x", shape=(2,))
    y1, y2 = x + 1, x + 1
    assert y1 is not y2 and y1 != y2 and not (y1 == y2)
    assert y1 == y1
    assert len({y1, y2, y1}) == 2
    d = {y1: "one", y2: "two"}
    assert d[y1] == "one" and d[y2] == "two"
    assert hash(y1) == hash(y1)


def test_node_has_no_truth_value():
    x = tg.input("x", shape=(2,))
    with pytest.raises(TypeError, match="no truth value"):
        bool(x + 1)


def test_parameter_holds_a_private_read_only_copy_and_can_be_replaced():
    user = np.ones((2, 3))
    W = tg.parameter(user, name="W")
    user[0, 0] = 99.0  # the user's array changing later must not change the graph
    assert W.value[0, 0] == 1.0
    assert not W.value.flags.writeable
    x = tg.input("x", shape=(None, 2))
    y = x @ W
    np.testing.assert_array_equal(tg.evaluate(y, {x: np.ones((1, 2))}), [[2.0, 2.0, 2.0]])
    new = np.full((2, 3), 3.0)
    W.value = new
    new[:] = -1.0
    np.testing.assert_array_equal(tg.evaluate(y, {x: np.ones((1, 2))}), [[6.0, 6.0, 6.0]])
    with pytest.raises(tg.ShapeError, match="W"):
        W.value = np.ones((3, 2))
    with pytest.raises(tg.ShapeError, match="W"):
        W.value = np.ones((2, 3), dtype=np.int64)
    with pytest.raises(AttributeError):
        (x @ W).value  # only leaves hold a value


def test_parameter_dtype_argument_and_specs():
    W = tg.parameter([[1, 2], [3, 4]], name="W", dtype=np.float32)
    assert W.dtype == np.float32 and W.shape == (2, 2)
    assert isinstance(W.spec, tg.Spec)
    assert str(W.spec) == "f32[2,2]"


def test_input_declarations_are_validated():
    with pytest.raises(TypeError):
        tg.input("", shape=(2,))
    with pytest.raises(tg.ShapeError):
        tg.input("x", shape=(-1, 2))
    with pytest.raises(tg.GraphError):
        tg.constant("a string")
    x = tg.input("x", shape=(None, 3), dtype=np.int32)
    assert x.shape == (None, 3) and x.dtype == np.int32


def test_scope_records_the_enclosing_names():
    x = tg.input("x", shape=(2,))
    with tg.scope("layer1"):
        with tg.scope("inner"):
            y = x + 1
        z = y * 2
    w = z - 1
    assert y.scope == ("layer1", "inner")
    assert z.scope == ("layer1",)
    assert w.scope == ()


def test_textbook_expression_evaluates_like_numpy():
    rng = np.random.default_rng(0)
    x = tg.input("x", shape=(None, 2))
    W1 = tg.parameter(rng.standard_normal((2, 4)), name="W1")
    b1 = tg.parameter(rng.standard_normal(4), name="b1")
    h = tg.sigmoid(x @ W1 + b1)
    batch = rng.standard_normal((10, 2))
    expected = 1 / (1 + np.exp(-(batch @ W1.value + b1.value)))
    np.testing.assert_allclose(tg.evaluate(h, {x: batch}), expected, rtol=0, atol=1e-15)
    assert h.shape == (None, 4)
