"""tg.nn: the textbook's layer classes, building graphs instead of computing arrays."""

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import nn


def textbook_predict(x, W1, b1, W2, b2):
    h = 1 / (1 + np.exp(-(np.matmul(x, W1) + b1)))
    return np.matmul(h, W2) + b2


def test_affine_and_sigmoid_mirror_the_textbook():
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((2, 4)), rng.standard_normal(4)
    affine = nn.Affine(W, b)
    assert [p.shape for p in affine.params] == [(2, 4), (4,)]
    assert all(isinstance(p.op, tg.ops.Parameter) for p in affine.params)
    np.testing.assert_array_equal(affine.params[0].value, W)
    assert affine.in_features == 2 and affine.out_features == 4
    x = tg.input("x", shape=(None, 2))
    node = affine.forward(x)
    assert isinstance(node, tg.Node) and node.shape == (None, 4)
    v = rng.standard_normal((10, 2))
    np.testing.assert_allclose(tg.evaluate(node, {x: v}), np.matmul(v, W) + b, rtol=1e-15)
    s = nn.Sigmoid()
    assert s.params == []
    np.testing.assert_allclose(tg.evaluate(s.forward(node), {x: v}), 1 / (1 + np.exp(-(v @ W + b))), rtol=1e-15)


def test_affine_accepts_parameter_nodes_and_rejects_bad_shapes():
    W = tg.parameter(np.ones((3, 2)), name="myW")
    b = tg.parameter(np.zeros(2), name="myb")
    layer = nn.Affine(W, b)
    assert layer.params == [W, b]
    with pytest.raises(ValueError):
        nn.Affine(np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError):
        nn.Affine(np.ones(3), np.zeros(3))
    with pytest.raises(TypeError):
        nn.Affine(tg.input("x", shape=(3, 2)), np.zeros(2))


def test_sequential_params_in_order_and_names():
    rng = np.random.default_rng(1)
    params = {"W1": rng.standard_normal((2, 4)), "b1": rng.standard_normal(4),
              "W2": rng.standard_normal((4, 3)), "b2": rng.standard_normal(3)}
    net = nn.Sequential(nn.Affine(params["W1"], params["b1"]), nn.Sigmoid(), nn.Affine(params["W2"], params["b2"]))
    assert [p.name for p in net.params] == ["W1", "b1", "W2", "b2"]
    assert [p.shape for p in net.params] == [(2, 4), (4,), (4, 3), (3,)]
    assert [layer.name for layer in net] == ["affine1", "sigmoid1", "affine2"]
    assert len(net) == 3 and isinstance(net[1], nn.Sigmoid)
    x = tg.input("x", shape=(None, 2))
    y = net(x)
    assert y.shape == (None, 3)
    v = rng.standard_normal((10, 2))
    out = tg.evaluate(y, {x: v})
    assert out.shape == (10, 3)
    np.testing.assert_allclose(out, textbook_predict(v, *params.values()), rtol=0, atol=1e-12)
    g = tg.Graph(y)
    assert [p.name for p in g.parameters] == ["W1", "b1", "W2", "b2"]
    # each layer's nodes are grouped under its name
    scopes = {n.scope for n in g.nodes if n.inputs}
    assert scopes == {("affine1",), ("sigmoid1",), ("affine2",)}
    assert nn.Sequential(list(net.layers)).layers == net.layers  # a list of layers works too


def test_parameter_values_can_be_replaced_after_building():
    net = nn.Sequential(nn.Affine(np.ones((2, 2)), np.zeros(2)), nn.Sigmoid())
    x = tg.input("x", shape=(None, 2))
    y = net(x)
    before = tg.evaluate(y, {x: np.ones((1, 2))})
    net.params[0].value = np.zeros((2, 2))
    after = tg.evaluate(y, {x: np.ones((1, 2))})
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, [[0.5, 0.5]])


def test_affine_init_uses_the_rng():
    a = nn.Affine.init(2, 4, rng=np.random.default_rng(42))
    b = nn.Affine.init(2, 4, rng=np.random.default_rng(42))
    c = nn.Affine.init(2, 4, rng=np.random.default_rng(43))
    assert a.W.shape == (2, 4) and a.b.shape == (4,)
    np.testing.assert_array_equal(a.W.value, b.W.value)
    np.testing.assert_array_equal(a.b.value, b.b.value)
    assert not np.array_equal(a.W.value, c.W.value)
    rng = np.random.default_rng(42)
    np.testing.assert_array_equal(a.W.value, rng.standard_normal((2, 4)))
    small = nn.Affine.init(3, 5, rng=np.random.default_rng(0), scale=0.01, dtype=np.float32)
    assert small.W.dtype == np.float32 and np.abs(small.W.value).max() < 0.1


def test_other_layers():
    x = tg.input("x", shape=(None, 3))
    v = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_allclose(tg.evaluate(nn.Tanh()(x), {x: v}), np.tanh(v))
    np.testing.assert_allclose(tg.evaluate(nn.ReLU()(x), {x: v}), np.maximum(v, 0))
    np.testing.assert_allclose(tg.evaluate(nn.Softmax(axis=1)(x), {x: v}), np.exp(v) / np.exp(v).sum())
    with pytest.raises(TypeError):
        nn.Sequential(nn.Tanh(), "not a layer")


def test_from_torch_transposes_the_weight():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    linear = torch.nn.Linear(2, 4)
    layer = nn.Affine.from_torch(linear)
    assert layer.W.shape == (2, 4) and layer.b.shape == (4,)
    np.testing.assert_array_equal(layer.W.value, linear.weight.detach().numpy().T)
    np.testing.assert_array_equal(layer.b.value, linear.bias.detach().numpy())
    assert layer.W.dtype == np.float32
    x = tg.input("x", shape=(None, 2), dtype=np.float32)
    v = np.random.default_rng(0).standard_normal((10, 2)).astype(np.float32)
    out = tg.evaluate(layer(x), {x: v})
    assert out.dtype == np.float32
    with torch.no_grad():
        expected = linear(torch.from_numpy(v)).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    # the parameters are copies: changing torch's weight later changes nothing here
    with torch.no_grad():
        linear.weight.add_(1.0)
    np.testing.assert_allclose(tg.evaluate(layer(x), {x: v}), out)


def test_from_torch_without_bias_and_in_float64():
    torch = pytest.importorskip("torch")
    linear = torch.nn.Linear(3, 2, bias=False).double()
    layer = nn.Affine.from_torch(linear)
    np.testing.assert_array_equal(layer.b.value, np.zeros(2))
    x = tg.input("x", shape=(None, 3))
    v = np.random.default_rng(1).standard_normal((4, 3))
    with torch.no_grad():
        expected = linear(torch.from_numpy(v)).numpy()
    np.testing.assert_allclose(tg.evaluate(layer(x), {x: v}), expected, rtol=1e-12)


def test_textbook_torch_module_matches():
    torch = pytest.importorskip("torch")

    class NN_torch(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(2, 4)
            self.sigmoid = torch.nn.Sigmoid()
            self.fc2 = torch.nn.Linear(4, 3)

        def forward(self, x):
            return self.fc2(self.sigmoid(self.fc1(x)))

    torch.manual_seed(3)
    model = NN_torch().double()
    net = nn.Sequential(nn.Affine.from_torch(model.fc1), nn.Sigmoid(), nn.Affine.from_torch(model.fc2))
    assert [p.name for p in net.params] == ["W1", "b1", "W2", "b2"]
    x = tg.input("x", shape=(None, 2))
    v = np.random.default_rng(3).standard_normal((10, 2))
    with torch.no_grad():
        expected = model(torch.from_numpy(v)).numpy()
    np.testing.assert_allclose(tg.evaluate(net(x), {x: v}), expected, rtol=0, atol=1e-12)


def test_affine_with_mismatched_bias_is_a_shape_error_at_the_users_line():
    with pytest.raises(tg.ShapeError, match=r"b of shape \(out,\)") as info:
        tg.nn.Affine(np.ones((2, 3)), np.ones(4))
    assert "test_nn.py" in str(info.value)


def test_sequential_keeps_names_given_by_an_earlier_sequential():
    shared = tg.nn.Affine.init(2, 2, rng=np.random.default_rng(0))
    first = tg.nn.Sequential(tg.nn.Affine.init(2, 2, rng=np.random.default_rng(1)), shared)
    tg.nn.Sequential(shared)
    assert [p.name for p in first.params] == ["W1", "b1", "W2", "b2"]
