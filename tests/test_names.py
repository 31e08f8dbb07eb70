"""Automatic names, repr and the graph listing."""

import re

import numpy as np
import pytest

import tinygraph as tg


def build():
    x = tg.input("x", shape=(None, 2))
    W1 = tg.parameter(np.ones((2, 4)), name="W1")
    b1 = tg.parameter(np.zeros(4), name="b1")
    W2 = tg.parameter(np.ones((4, 3)), name="W2")
    b2 = tg.parameter(np.zeros(3), name="b2")
    h = tg.sigmoid(x @ W1 + b1)
    return x, h @ W2 + b2


def test_auto_names_are_numbered_per_graph_in_topological_order():
    x, y = build()
    g = tg.Graph(y)
    names = [g.name_of(n) for n in g.nodes]
    assert names == ["x", "W1", "matmul_0", "b1", "add_1", "sigmoid_2", "W2", "matmul_3", "b2", "add_4"]
    assert y.name == "add_4"
    assert len(set(names)) == len(names)


def test_same_expression_built_twice_gets_the_same_names():
    _, y1 = build()
    _, y2 = build()
    g1, g2 = tg.Graph(y1), tg.Graph(y2)
    assert [g1.name_of(n) for n in g1.nodes] == [g2.name_of(n) for n in g2.nodes]
    assert str(g1) == str(g2)
    assert repr(y1) == repr(y2)


def test_user_names_are_kept_and_auto_names_avoid_them():
    x = tg.input("x", shape=(2,))
    a = tg.exp(x, name="add_1")
    b = a + 1.0
    c = tg.add(b, b, name="total")
    g = tg.Graph(c)
    names = [g.name_of(n) for n in g.nodes]
    assert len(set(names)) == len(names)
    assert g.name_of(a) == "add_1" and g.name_of(c) == "total"
    assert g.name_of(b) != "add_1"
    assert g.node_named("total") is c


def test_duplicate_user_names_are_made_unique():
    x = tg.input("x", shape=(2,))
    a = tg.parameter(np.ones(2), name="W")
    b = tg.parameter(np.ones(2), name="W")
    g = tg.Graph(x * a + b)
    assert {g.name_of(a), g.name_of(b)} == {"W", "W_1"}


def test_renaming_a_node_updates_names():
    x = tg.input("x", shape=(2,))
    a = tg.exp(x)
    y = a + 1
    assert "exp_0" in str(tg.Graph(y))
    a.name = "activation"
    assert a.name == "activation"
    assert "activation: f64[2] = exp(x)" in str(tg.Graph(y))
    assert "add(activation, " in repr(y)


def test_repr_is_one_line_with_name_op_operands_and_spec():
    x, y = build()
    r = repr(y)
    assert "\n" not in r
    assert "add_4" in r and "add" in r and "matmul_3" in r and "b2" in r and "f64[?,3]" in r
    r = repr(y.inputs[0].inputs[0])  # the sigmoid
    assert re.search(r"sigmoid_\d+", r) and "f64[?,4]" in r and "add_" in r
    assert "x" in repr(x) and "f64[?,2]" in repr(x)


def test_listing_has_one_line_per_node_with_op_operands_shape_and_dtype():
    x, y = build()
    g = tg.Graph(y)
    text = str(g)
    lines = text.splitlines()
    assert lines[0] == "graph(x: f64[?,2]):"
    assert lines[-1].strip() == "return add_4"
    body = [line.strip() for line in lines[1:-1]]
    assert len(body) == len(g.nodes) - len(g.inputs)
    assert "matmul_0: f64[?,4] = matmul(x, W1)" in body
    assert "add_1: f64[?,4] = add(matmul_0, b1)" in body
    assert "sigmoid_2: f64[?,4] = sigmoid(add_1)" in body
    assert "W1: f64[2,4] = parameter()" in body
    assert "add_4: f64[?,3] = add(matmul_3, b2)" in body
    for node in g.nodes:
        if node not in g.inputs:
            assert sum(1 for line in body if line.startswith(g.name_of(node) + ":")) == 1


def test_listing_shows_constants_attributes_and_dtypes():
    x = tg.input("x", shape=(3, 2), dtype=np.float32)
    y = tg.softmax(x * 2.0, axis=1)
    text = str(tg.Graph(y))
    assert "constant(2.0)" in text
    assert "softmax[axis=1](mul_" in text
    assert "f32[3,2]" in text


def test_graph_collections():
    x, y = build()
    g = tg.Graph(y)
    assert g.inputs == (x,)
    assert [p.name for p in g.parameters] == ["W1", "b1", "W2", "b2"]
    assert g.outputs == (y,)
    assert len(g) == len(g.nodes) == 10
    assert list(g) == list(g.nodes)
    assert y in g and tg.input("z", shape=(1,)) not in g
    assert g.input_named("x") is x
    users = g.users()
    assert users[x] == [g.node_named("matmul_0")] and users[y] == []
    multi = tg.Graph([y, x * 2])
    assert len(multi.outputs) == 2 and "return add_4, " in str(multi)
    assert "Graph" in repr(g)


def test_graph_nodes_are_topological():
    x, y = build()
    g = tg.Graph(y)
    position = {n: i for i, n in enumerate(g.nodes)}
    for node in g.nodes:
        for i in node.inputs:
            assert position[i] < position[node]


def test_an_input_keeps_its_name_when_another_node_shares_it():
    p = tg.parameter(np.ones(2), name="x")  # comes first in topological order
    x = tg.input("x", shape=(2,))
    y = p + x
    g = tg.Graph(y)
    assert g.name_of(x) == "x" and g.name_of(p) == "x_1"
    assert g.input_named("x") is x
    np.testing.assert_array_equal(tg.evaluate(y, {"x": np.zeros(2)}), [1.0, 1.0])


def test_node_name_is_its_name_in_its_own_graph_and_graphs_agree_within_themselves():
    x = tg.input("x", shape=(None, 2))
    y = tg.exp(x) + tg.tanh(x)
    g = tg.Graph(y)
    assert [g.name_of(n) for n in g.nodes] == ["x", "exp_0", "tanh_1", "add_2"]
    # .name is the name in tg.Graph(node): tanh(x) alone depends on no numbered node
    assert [n.name for n in g.nodes] == ["x", "exp_0", "tanh_0", "add_2"]
    assert all(n.name == tg.Graph(n).name_of(n) for n in g.nodes)
    z = x * 2.0 + 1.0
    names = [tg.Graph(z).name_of(n) for n in tg.Graph(z).nodes]
    assert len(set(names)) == len(names)
    assert repr(y.inputs[1]) == "<Node tanh_0: f64[?,2] = tanh(x)>"


def test_repr_and_shape_errors_work_when_two_inputs_share_a_name():
    a = tg.input("x", shape=(None, 2))
    b = tg.input("x", shape=(None, 2))
    s = a + b
    assert repr(s).startswith("<Node add_0: f64[?,2] = add(x, x")
    with pytest.raises(tg.ShapeError, match="inner dimensions"):
        s @ np.ones((3, 3))
    with pytest.raises(tg.GraphError, match="two different inputs are named 'x'"):
        tg.Graph(s)


def test_a_graph_keeps_its_own_plan_across_renames():
    x = tg.input("x", shape=(None, 3))
    y = tg.exp(x)
    g = tg.Graph(y)
    x.name = "inp"
    a = np.ones((1, 3))
    tg.evaluate(g, {"x": a})  # g took its names before the rename
    np.testing.assert_array_equal(tg.evaluate(y, {"inp": a}), np.exp(a))
    with pytest.raises(tg.FeedError):
        tg.evaluate(y, {"x": a})
