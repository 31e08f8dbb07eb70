"""The models that must work: through tg.from_torch, through torch.onnx.export + tg.onnx.load, and out
through tg.onnx.export into onnxruntime, each evaluated at a batch size other than the example's
(float32; max abs difference <= 1e-4 of the output's scale). resnet18 and mobilenet_v2 are slow."""

from __future__ import annotations

import io
import os
import sys
import warnings

import numpy as np
import pytest

import tinygraph as tg

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import MODELS, build  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:The tensor attributes self.rnn._flat_weights")  # torch.export's own

SLOW = {"resnet18", "mobilenet_v2"}
PARAMS = [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in MODELS]
BATCH = 3  # the examples have batch 2


def close(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    scale = float(np.max(np.abs(want)))
    assert scale > 1e-3  # the model computes something: not all zeros
    assert float(np.max(np.abs(got - want))) <= 1e-4 * scale


def reference(name):
    model, example = build(name)
    data = torch.randn(BATCH, *example.shape[1:], generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = model(data).numpy()
    return model, example, data.numpy(), want


@pytest.fixture(scope="module")
def imported():
    """The from_torch import of each model, made once for the tests that use it."""
    cache = {}

    def get(name):
        if name not in cache:
            model, example, data, want = reference(name)
            cache[name] = (tg.from_torch(model, example), data, want)
        return cache[name]
    return get


@pytest.mark.parametrize("name", PARAMS)
def test_from_torch(name, imported):
    g, data, want = imported(name)
    (x,) = g.inputs
    assert x.shape[0] is None  # the batch stays free
    (got,) = tg.evaluate(g, {x: data})
    close(got, want)


@pytest.mark.parametrize("name", PARAMS)
def test_torch_onnx_export_then_tg_onnx_load(name):
    pytest.importorskip("onnx")
    model, example, data, want = reference(name)
    buf = io.BytesIO()
    with warnings.catch_warnings():  # torch's TorchScript exporter warns about its own tracing
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), buf, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}}, opset_version=17)
    g = tg.onnx.load(buf.getvalue())
    (got,) = tg.evaluate(g, {"x": data})
    close(got, want)


@pytest.mark.parametrize("name", PARAMS)
def test_tg_onnx_export_into_onnxruntime(name, imported, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    g, data, want = imported(name)
    path = tmp_path / f"{name}.onnx"
    tg.onnx.export(g, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: data})
    close(got, want)


@pytest.mark.slow
def test_resnet_blocks_are_scopes_named_after_module_paths(imported):
    g, _, _ = imported("resnet18")
    blocks = {n.scope[:2] for n in g.nodes if len(n.scope) >= 2}
    assert blocks == {(f"layer{i}", f"layer{i}.{j}") for i in range(1, 5) for j in range(2)}
    convs = [n for n in g.nodes if n.op.kind == "conv"]
    assert len(convs) == 20 and ("layer2", "layer2.0", "layer2.0.downsample", "layer2.0.downsample.0") in \
        {n.scope for n in convs}


def test_recurrent_layers_beyond_the_classifiers():
    """Two stacked bidirectional LSTM layers with their final states; a GRU's final state; an explicit h0."""
    nn = torch.nn

    class Stacked(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=True)
            self.gru = nn.GRU(12, 5, batch_first=True)

        def forward(self, x):
            y, (h, c) = self.lstm(x)                     # time first
            z, hg = self.gru(y.transpose(0, 1), h[:1].new_zeros(1, x.shape[1], 5) + 0.5)
            return z.sum(1) + hg[0] + h.sum(0).sum(-1, keepdim=True) + c.mean(0).mean(-1, keepdim=True)

    torch.manual_seed(3)
    model = Stacked().eval()
    g = tg.from_torch(model, torch.randn(7, 2, 4))
    data = torch.randn(9, 2, 4)  # time first: torch.export leaves dim 0, the sequence, free
    with torch.no_grad():
        want = model(data).numpy()
    (got,) = tg.evaluate(g, {g.inputs[0]: data.numpy()})
    close(got, want)


def test_training_mode_and_unsupported_configurations_are_refused_by_name():
    nn = torch.nn
    with pytest.raises(tg.TorchImportError, match="eval"):
        tg.from_torch(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).train(), torch.randn(2, 1, 5, 5))
    with pytest.raises(tg.TorchImportError, match="transposed convolution"):
        tg.from_torch(nn.ConvTranspose2d(1, 2, 3).eval(), torch.randn(2, 1, 5, 5))
    with pytest.raises(tg.TorchImportError, match="adaptive pooling"):
        tg.from_torch(nn.AdaptiveAvgPool2d(2).eval(), torch.randn(2, 1, 5, 5))


def test_more_operators_models_use():
    """expand, chunk, cat, clamp, avg_pool, adaptive pooling to a divisor, select, unsqueeze, index_select."""
    nn = torch.nn
    F = nn.functional

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 6, 3, padding="same", groups=2)
            self.pool = nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False, padding=1)

        def forward(self, x):
            a, b = self.conv(x).chunk(2, dim=1)
            y = torch.cat([F.adaptive_avg_pool2d(a, 4), self.pool(b)[:, :, :4, :4]], dim=1).clamp(-0.5, None)
            row = y[:, :, 0].unsqueeze(2).expand(-1, -1, 4, -1)
            return (y + row).index_select(1, torch.tensor([0, 2, 5]))

    torch.manual_seed(4)
    model = Mixed().eval()
    g = tg.from_torch(model, torch.randn(2, 4, 8, 8))
    data = torch.randn(3, 4, 8, 8)
    with torch.no_grad():
        want = model(data).numpy()
    (got,) = tg.evaluate(g, {g.inputs[0]: data.numpy()})
    close(got, want)


@pytest.mark.slow
def test_draw_resnet_example_collapses_each_block(tmp_path):
    import shutil
    import subprocess

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(root, "examples", "draw_resnet.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "resnet18: 174 nodes, 20 convolutions" in proc.stdout
    svg = (tmp_path / "resnet18_ops.svg").read_text()
    assert all(f"layer{i}.{j}" in svg for i in range(1, 5) for j in range(2))
    assert "layer1.0.conv1.weight" not in svg  # inside a collapsed block
    assert "11,699,112 params in total" in svg


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist_cnn", "residual_mlp"])
def test_torchs_default_exporter(name):
    # torch.onnx.export's default (dynamo) exporter, which needs onnxscript: the model it writes,
    # batch dimension free, loads and matches at another batch size.
    pytest.importorskip("onnxscript")
    model, example, data, want = reference(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, (example,), dynamo=True, verbose=False,
                                    dynamic_shapes=({0: torch.export.Dim("batch")},))
    g = tg.onnx.load(program.model_proto.SerializeToString())
    (x,) = g.inputs
    assert x.shape[0] is None
    (got,) = tg.evaluate(g, {x: data})
    close(got, want)
