"""tg.from_torch: a module's forward, traced by torch.export, becomes a graph computing the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

import tinygraph as tg

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def check(module, example, batch=7, **inputs_to_check):
    """Import with ``example``; evaluate at another batch size; compare with torch within 1e-4 of the output's scale."""
    module = module.eval()
    g = tg.from_torch(module, example)
    data = torch.randn(batch, *example.shape[1:], generator=torch.Generator().manual_seed(1))
    (name,) = [g.name_of(i) for i in g.inputs]
    (got,) = tg.evaluate(g, {name: data.numpy()})  # a graph evaluates to one array per output
    with torch.no_grad():
        want = module(data).numpy()
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    assert np.max(np.abs(got - want)) <= 1e-4 * max(1.0, float(np.max(np.abs(want))))
    return g


class NN_torch(nn.Module):  # the textbook's 2-4-3 network
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 4)
        self.sigmoid = nn.Sigmoid()
        self.fc2 = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc2(self.sigmoid(self.fc1(x)))


def test_textbook_network_inputs_and_parameters_named_after_forward_and_module_paths():
    torch.manual_seed(0)
    module = NN_torch()
    g = check(module, torch.randn(10, 2))
    assert [g.name_of(i) for i in g.inputs] == ["x"]
    assert g.inputs[0].shape == (None, 2)  # the batch is free
    assert sorted(p.name for p in g.parameters) == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]
    weight = next(p for p in g.parameters if p.name == "fc1.weight")
    np.testing.assert_array_equal(weight.value, module.fc1.weight.detach().numpy())  # torch's layout, as is


class ResidualMLP(nn.Module):
    """Residual connections, one Linear applied three times, one ReLU instance used twice, in-place ReLU."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(5, 8)
        self.shared = nn.Linear(8, 8)
        self.act = nn.ReLU()
        self.inplace = nn.ReLU(inplace=True)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        h = self.act(self.inp(x))
        for _ in range(3):
            h = h + torch.tanh(self.shared(h))
        h = self.inplace(h - 0.25) + self.act(-h)
        return F.softmax(self.out(h), dim=1)


def test_mlp_with_residuals_and_reused_modules():
    torch.manual_seed(1)
    g = check(ResidualMLP(), torch.randn(4, 5))
    assert sorted(p.name for p in g.parameters) == sorted(
        f"{m}.{w}" for m in ("inp", "shared", "out") for w in ("weight", "bias"))  # shared once, used 3 times
    assert sum(n.op.kind == "matmul" for n in g.nodes) == 5


class FunctionalMLP(nn.Module):
    """Parameters held directly, layers written with torch.nn.functional and tensor methods."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(6, 4) * 0.5)
        self.b1 = nn.Parameter(torch.randn(6))
        self.w2 = nn.Parameter(torch.randn(6, 3) * 0.5)
        self.register_buffer("scale", torch.tensor([0.5, 2.0, 1.5]))

    def forward(self, x):
        h = F.relu(F.linear(x, self.w1, self.b1))
        h = torch.sigmoid(h) * F.softplus(h) - h.exp().log() / 2
        y = torch.matmul(h, self.w2) * self.scale
        y = y.transpose(0, 1).t() + y.mean(dim=1, keepdim=True) - y.sum(-1, keepdim=True) ** 2
        return F.softmax(y.reshape(y.shape[0], -1), dim=-1)


def test_mlp_built_with_functional_calls():
    torch.manual_seed(2)
    g = check(FunctionalMLP(), torch.randn(3, 4), batch=11)
    assert sorted(p.name for p in g.parameters) == ["b1", "scale", "w1", "w2"]  # the buffer too


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.Tanh()

    def forward(self, x):
        return x + self.act(self.fc(x))


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.layer1 = nn.Sequential(Block(4), Block(4))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.layer1(torch.relu(self.stem(x))))


def test_nested_submodules_are_scoped_by_module_path():
    torch.manual_seed(3)
    g = check(Nested(), torch.randn(5, 3))
    weights = {p.name: p for p in g.parameters}
    assert set(weights) == {"stem.weight", "stem.bias", "layer1.0.fc.weight", "layer1.0.fc.bias",
                            "layer1.1.fc.weight", "layer1.1.fc.bias", "head.1.weight", "head.1.bias"}
    matmuls = [n for n in g.nodes if n.op.kind == "matmul"]
    assert [n.scope for n in matmuls] == [("stem",), ("layer1", "layer1.0", "layer1.0.fc"),
                                          ("layer1", "layer1.1", "layer1.1.fc"), ("head", "head.1")]
    blocks = {("layer1", "layer1.0"), ("layer1", "layer1.1")}
    residuals = [n for n in g.nodes if n.op.kind == "add" and n.scope in blocks]
    assert len(residuals) == 2  # each block's own x + ..., in the block's cluster
    relu = next(n for n in g.nodes if n.op.kind == "relu")
    assert relu.scope == ()  # called in Nested.forward itself
    assert weights["layer1.1.fc.weight"].scope == ("layer1", "layer1.1", "layer1.1.fc")
    dot = g.to_dot().source
    assert "layer1.0" in dot and "layer1.1.fc" in dot


def test_several_outputs_and_float64():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 2).double()

        def forward(self, x):
            return self.a(x), torch.exp(-x)

    module = TwoHeads()
    g = tg.from_torch(module, torch.randn(4, 3, dtype=torch.float64))
    data = torch.randn(6, 3, dtype=torch.float64)
    got = tg.evaluate(g.outputs, {"x": data.numpy()})
    with torch.no_grad():
        want = module(data)
    for gv, wv in zip(got, want):
        assert gv.dtype == np.float64
        np.testing.assert_allclose(gv, wv.numpy(), rtol=1e-12, atol=1e-12)


class CumulativeBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return torch.cumsum(self.fc(x), dim=1)


class Cumulative(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*(CumulativeBlock() for _ in range(12)))

    def forward(self, x):
        return torch.flip(self.blocks(x), dims=[1])


def test_unsupported_operators_are_refused_in_one_short_error():
    with pytest.raises(tg.TorchImportError) as e:
        tg.from_torch(Cumulative().eval(), torch.randn(2, 4))
    msg = str(e.value)
    assert "cannot import Cumulative" in msg
    assert "aten.cumsum.default ×12 (first in blocks.0)" in msg
    assert "aten.flip.default ×1 (first in Cumulative)" in msg
    assert "torch_ops" in msg and "docs/extending.md" in msg
    assert len(msg) < 400 and msg.count("\n") <= 4  # no layer dump
    assert "aten.linear" not in msg


def test_many_kinds_of_unsupported_operators_stay_short():
    class Many(nn.Module):
        def forward(self, x):
            for f in (torch.cumsum, torch.cumprod, torch.logcumsumexp):
                x = f(x, 1)
            x = torch.triu(x) + torch.tril(x) + torch.roll(x, 1, 1) + torch.flip(x, [0]) + torch.rot90(x)
            return torch.kthvalue(x, 1, 1).values + torch.fliplr(x) + torch.diag_embed(x).sum(-1)

    with pytest.raises(tg.TorchImportError) as e:
        tg.from_torch(Many(), torch.randn(3, 3))
    msg = str(e.value)
    assert "... and" in msg and "more" in msg and len(msg) < 800


def test_training_mode_dropout_is_refused_and_eval_mode_dropout_vanishes():
    module = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.Tanh())
    with pytest.raises(tg.TorchImportError, match=r"dropout.*eval\(\)"):
        tg.from_torch(module.train(), torch.randn(4, 3))
    g = check(module, torch.randn(4, 3))
    assert [g.name_of(i) for i in g.inputs] == ["input"]  # Sequential.forward(self, input)


def test_an_in_place_op_on_a_view_is_refused():
    class ViewThenInPlace(nn.Module):
        def forward(self, x):
            v = x.view(-1)
            y = x * 1.0
            w = y.view(-1)
            y.relu_()
            return w + v

    with pytest.raises(tg.TorchImportError, match="shares"):
        tg.from_torch(ViewThenInPlace(), torch.randn(3, 4))


def test_a_non_module_or_missing_example_is_refused():
    with pytest.raises(TypeError, match="example inputs"):
        tg.from_torch(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        tg.from_torch(lambda x: x, torch.randn(2))


# --- tg.nn.from_torch refuses what is not provably a chain; tg.from_torch computes it -----------------


class ReusedLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(self.fc(x))


class ResidualTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return x + torch.tanh(self.fc(x))


class TorchReluInForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class RegisteredOutOfOrder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc2 = nn.Linear(4, 3)
        self.act = nn.Sigmoid()
        self.fc1 = nn.Linear(3, 4)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def _shared_relu_sequential():
    relu = nn.ReLU()
    return nn.Sequential(nn.Linear(3, 4), relu, nn.Linear(4, 3), relu)


NOT_CHAINS = {
    "sequential reusing one ReLU": (_shared_relu_sequential, "used twice"),
    "one Linear applied twice": (ReusedLinear, "calls \\[fc, fc\\] but the children are \\[fc\\]"),
    "residual x + tanh(fc(x))": (ResidualTanh, "computes tanh itself"),
    "torch.relu in forward": (TorchReluInForward, "computes relu itself"),
    "children registered out of order": (RegisteredOutOfOrder, "calls \\[fc1, act, fc2\\]"),
}


@pytest.mark.parametrize("case", list(NOT_CHAINS))
def test_nn_from_torch_refuses_what_is_not_a_chain_and_from_torch_imports_it(case):
    make, reason = NOT_CHAINS[case]
    torch.manual_seed(4)
    module = make()
    with pytest.raises(tg.GraphError, match=reason) as e:
        tg.nn.from_torch(module)
    assert "tg.from_torch(module, example_input)" in str(e.value)
    check(module, torch.randn(5, 3), batch=9)


def test_an_operator_no_op_declares_is_imported_through_torchs_decomposition():
    torch.manual_seed(5)
    check(nn.Sequential(nn.Linear(4, 4), nn.SiLU()), torch.randn(3, 4))  # aten.silu: x * sigmoid(x)


def test_tg_load_of_an_onnx_file_points_at_tg_onnx_load(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07\x12\x07pytorch")  # an ONNX model is a protobuf, not a tinygraph archive
    with pytest.raises(tg.FormatError, match=r"tg\.onnx\.load\(path\)"):
        tg.load(path)


def test_a_forward_updating_its_own_state_is_refused():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("calls", torch.zeros(()))

        def forward(self, x):
            self.calls.add_(1)
            return x * self.calls

    with pytest.raises(tg.TorchImportError, match="add_"):
        tg.from_torch(Counter(), torch.randn(3, 2))


def test_dtype_conversions():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            h = self.fc(x)
            return h.double().exp().sum(1) + torch.softmax(h, 1).to(torch.float64).mean(1)

    module = Mixed()
    g = tg.from_torch(module, torch.randn(4, 3))
    data = torch.randn(6, 3)
    (got,) = tg.evaluate(g, {"x": data.numpy()})
    with torch.no_grad():
        want = module(data).numpy()
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-6)
