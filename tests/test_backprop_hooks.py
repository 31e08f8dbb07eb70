"""examples/backprop_hooks.py: backward added from outside the library gives correct gradients."""

import importlib.util
import os

import numpy as np
import pytest

import tinygraph as tg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def bp(monkeypatch):
    spec = importlib.util.spec_from_file_location("backprop_hooks", os.path.join(ROOT, "examples", "backprop_hooks.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # install the hooks for this test only, so the library's own NotImplementedError is back afterwards
    for cls, backward in module.BACKWARDS.items():
        monkeypatch.setattr(cls, "backward", backward)
    return module


def two_layer(rng):
    net = tg.nn.Sequential(tg.nn.Affine.init(2, 4, rng=rng), tg.nn.Sigmoid(), tg.nn.Affine.init(4, 3, rng=rng))
    x = tg.input("x", shape=(None, 2))
    return net, x, net(x)


def test_example_main_passes(bp, capsys):
    assert bp.main() == 0
    assert "gradients match finite differences" in capsys.readouterr().out


@pytest.mark.parametrize("loss_kind", ["sum", "mse"])
def test_gradients_match_central_finite_differences(bp, loss_kind):
    rng = np.random.default_rng(7)
    net, x, y = two_layer(rng)
    batch, target = rng.standard_normal((10, 2)), rng.standard_normal((10, 3))

    def loss_and_seed(out):
        if loss_kind == "sum":
            return float(out.sum()), np.ones_like(out)
        return bp.loss_and_seed(out, target)

    grads = bp.backprop(y, {x: batch}, loss_and_seed(tg.evaluate(y, {x: batch}))[1])
    for p in net.params:
        numeric = bp.numerical_gradient(p, lambda: loss_and_seed(tg.evaluate(y, {x: batch}))[0])
        assert grads[p].shape == p.shape
        np.testing.assert_allclose(grads[p], numeric, rtol=1e-6, atol=1e-8)
        assert np.abs(grads[p]).max() > 1e-4  # a real gradient, not zeros matching zeros


def test_fan_out_and_broadcasting_accumulate(bp):
    rng = np.random.default_rng(8)
    x = tg.input("x", shape=(None, 3))
    W = tg.parameter(rng.standard_normal((3, 3)), name="W")
    b = tg.parameter(rng.standard_normal((1, 3)), name="b")  # stretched over the batch
    c = tg.parameter(rng.standard_normal(()), name="c")  # a scalar broadcast everywhere
    h = tg.sigmoid(x @ W + b)
    y = (h @ W + h) + (h + c)  # W used twice, h used three times
    batch = rng.standard_normal((5, 3))
    grads = bp.backprop(y, {x: batch}, np.ones((5, 3)))

    def loss():
        return float(tg.evaluate(y, {x: batch}).sum())

    for p in [W, b, c]:
        np.testing.assert_allclose(grads[p], bp.numerical_gradient(p, loss), rtol=1e-6, atol=1e-8)
        assert grads[p].shape == p.shape


def test_gradients_match_torch_autograd(bp):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    fc1, fc2 = torch.nn.Linear(2, 4).double(), torch.nn.Linear(4, 3).double()
    net = tg.nn.Sequential(tg.nn.Affine.from_torch(fc1), tg.nn.Sigmoid(), tg.nn.Affine.from_torch(fc2))
    x = tg.input("x", shape=(None, 2))
    y = net(x)
    rng = np.random.default_rng(9)
    batch, target = rng.standard_normal((10, 2)), rng.standard_normal((10, 3))
    grads = bp.backprop(y, {x: batch}, bp.loss_and_seed(tg.evaluate(y, {x: batch}), target)[1])

    out = fc2(torch.sigmoid(fc1(torch.from_numpy(batch))))
    ((out - torch.from_numpy(target)) ** 2).mean().backward()
    W1, b1, W2, b2 = net.params
    # torch's weights are (out, in): their gradients are the transposes of ours
    np.testing.assert_allclose(grads[W1], fc1.weight.grad.numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[b1], fc1.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[W2], fc2.weight.grad.numpy().T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[b2], fc2.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_hooks_are_not_installed_by_default():
    with pytest.raises(NotImplementedError, match="MatMul"):
        tg.ops.MatMul().backward(np.ones((2, 2)), [np.ones((2, 2)), np.ones((2, 2))], np.ones((2, 2)))
