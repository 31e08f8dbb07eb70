"""Errors name the op or node, the shapes involved, and the line of user code that built the node."""

import inspect
import os

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import ops

HERE = os.path.abspath(__file__)


def next_line():
    """``file:line`` of the line after the caller's: where the node under test is built."""
    frame = inspect.currentframe().f_back
    return f"{HERE}:{frame.f_lineno + 1}"


def test_matmul_shape_error_names_op_both_shapes_and_line():
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.ones((3, 4)), name="W")
    with pytest.raises(tg.ShapeError) as info:
        where = next_line()
        x @ W
    message = str(info.value)
    assert "matmul" in message
    assert "x f64[?,2]" in message and "W f64[3,4]" in message
    assert where in message
    assert "x @ W" in message  # the source line itself


def test_broadcast_shape_error_names_op_both_shapes_and_line():
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.ones((2, 4)), name="W1")
    b = tg.parameter(np.ones(3), name="b1")
    with pytest.raises(tg.ShapeError) as info:
        where = next_line()
        tg.sigmoid(x @ W + b)
    message = str(info.value)
    assert message.startswith("add")
    assert "matmul_0 f64[?,4]" in message and "b1 f64[3]" in message
    assert "[?,4]" in message and "[3]" in message
    assert where in message


def test_shape_error_is_a_value_error():
    with pytest.raises(ValueError):
        tg.input("a", shape=(2,)) + tg.input("b", shape=(3,))


def test_shape_error_from_a_layer_points_at_the_user_line():
    x = tg.input("x", shape=(None, 3))
    layer = tg.nn.Affine(np.ones((2, 4)), np.ones(4))
    with pytest.raises(tg.ShapeError) as info:
        where = next_line()
        layer(x)
    assert where in str(info.value)
    assert "f64[?,3]" in str(info.value) and "f64[2,4]" in str(info.value)


def test_shape_error_from_a_custom_infer():
    class Square(tg.Op):
        def forward(self, a):
            return a @ a

        def infer(self, a):
            if a.ndim != 2 or a.shape[0] != a.shape[1]:
                raise tg.ShapeError(f"needs a square matrix, got {a}")
            return a

    m = tg.input("m", shape=(2, 3))
    with pytest.raises(tg.ShapeError) as info:
        where = next_line()
        Square()(m)
    message = str(info.value)
    assert "square" in message and "m f64[2,3]" in message and where in message


class Buggy(tg.Op):
    def forward(self, a, b):
        raise RuntimeError("bug in my op")


def test_exception_in_forward_is_reraised_with_node_op_shapes_and_site():
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.ones((2, 4)), name="W")
    where = next_line()
    y = Buggy()(x @ W, W)
    with pytest.raises(tg.ExecutionError) as info:
        tg.evaluate(tg.sigmoid(y), {x: np.ones((5, 2))})
    message = str(info.value)
    assert "buggy_1" in message  # the node's name in the graph being run
    assert "Buggy" in message
    assert "f64[5,4]" in message and "W f64[2,4]" in message  # actual input shapes
    assert where in message
    assert "bug in my op" in message
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "bug in my op"
    assert isinstance(info.value, tg.GraphError)


def test_numpy_error_at_run_time_is_wrapped_too():
    x = tg.input("x", shape=(None, 3))
    y = tg.input("y", shape=(None, 3))
    z = x + y  # None sizes are checked only when values arrive
    with pytest.raises(tg.ExecutionError) as info:
        tg.evaluate(z, {x: np.ones((2, 3)), y: np.ones((4, 3))})
    assert "add" in str(info.value) and "f64[2,3]" in str(info.value) and "f64[4,3]" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_forward_of_a_builtin_op_cannot_write_into_a_parameter():
    class InPlace(tg.Op):
        def forward(self, a):
            a += 1  # a bug: writes into its input
            return a

    W = tg.parameter(np.zeros(3), name="W")
    with pytest.raises(tg.ExecutionError) as info:
        tg.evaluate(InPlace()(W))
    assert "read-only" in str(info.value)
    np.testing.assert_array_equal(W.value, np.zeros(3))


def test_backward_base_raises_not_implemented_naming_the_op():
    for cls in [ops.MatMul, ops.Add, ops.Sigmoid, tg.Op]:
        with pytest.raises(NotImplementedError, match=cls.__name__):
            cls().backward(np.ones(2), [np.ones(2)], np.ones(2))

    class Mine(tg.Op):
        def forward(self, a):
            return a

    with pytest.raises(NotImplementedError, match="Mine"):
        Mine().backward(1.0, [1.0], 1.0)


def test_op_without_forward_fails_at_run_time_naming_it():
    class Empty(tg.Op):
        pass

    x = tg.input("x", shape=(2,))
    node = Empty()(x)
    with pytest.raises(tg.ExecutionError) as info:
        tg.evaluate(node, {x: np.ones(2)})
    assert "Empty" in str(info.value) and isinstance(info.value.__cause__, NotImplementedError)


def test_two_inputs_with_one_name_are_refused():
    a = tg.input("x", shape=(2,))
    b = tg.input("x", shape=(2,))
    with pytest.raises(tg.GraphError, match="'x'") as info:
        tg.Graph(a + b)
    assert HERE in str(info.value)


def test_catching_graph_error_catches_them_all():
    x = tg.input("x", shape=(2,))
    for thunk in [lambda: x @ tg.input("y", shape=(3,)), lambda: tg.evaluate(x + 1, {}),
                  lambda: tg.evaluate(Buggy()(x, x), {x: np.ones(2)})]:
        with pytest.raises(tg.GraphError):
            thunk()


def test_non_numeric_parameter_is_refused():
    with pytest.raises(tg.GraphError, match="numeric"):
        tg.parameter(np.array(["abc"]))


def test_error_wording_uses_the_right_article():
    x = tg.input("x", shape=(2,))
    with pytest.raises(AttributeError, match="x is an input node"):
        x.value
