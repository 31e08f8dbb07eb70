"""tg.nn.from_torch: torch modules become tg.nn layers computing the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

import tinygraph as tg

torch = pytest.importorskip("torch")
nn = torch.nn


class NN_torch(nn.Module):  # the textbook's 2-4-3 network: children used in registration order
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 4)
        self.sigmoid = nn.Sigmoid()
        self.fc2 = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc2(self.sigmoid(self.fc1(x)))


def compare(module, in_features, dtype, batch=10):
    module = module.to(torch.float64 if dtype == np.float64 else torch.float32)
    net = tg.nn.from_torch(module)
    x = tg.input("x", shape=(None, in_features), dtype=dtype)
    y = net(x)
    data = np.random.default_rng(0).standard_normal((batch, in_features)).astype(dtype)
    with torch.no_grad():
        want = module(torch.from_numpy(data)).numpy()
    got = tg.evaluate(y, {x: data})
    assert got.dtype == want.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    return net


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_textbook_module(dtype):
    torch.manual_seed(0)
    net = compare(NN_torch(), 2, dtype)
    assert [layer.name for layer in net] == ["affine1", "sigmoid1", "affine2"]
    assert [p.name for p in net.params] == ["W1", "b1", "W2", "b2"]
    assert net.params[0].shape == (2, 4)  # transposed from torch's (4, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequential_with_every_supported_layer(dtype):
    torch.manual_seed(1)
    seq = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Sequential(nn.Linear(5, 4, bias=False), nn.ReLU()),
                        nn.Linear(4, 2), nn.Softmax(dim=1))
    net = compare(seq, 3, dtype)
    assert [type(layer).__name__ for layer in net] == ["Affine", "Tanh", "Affine", "ReLU", "Affine", "Softmax"]


def test_unsupported_layers_are_all_named():
    seq = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sigmoid(), nn.Conv1d(1, 1, 1), nn.Softmax())
    with pytest.raises(tg.GraphError) as e:
        tg.nn.from_torch(seq)
    msg = str(e.value)
    assert "1: Dropout(p=0.5" in msg and "3: Conv1d(" in msg and "4: Softmax(dim=None)" in msg
    assert "explicit dim" in msg and "0: Linear" not in msg
