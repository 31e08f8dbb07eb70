"""The CNN, normalization and recurrent ops (tinygraph/ops/convolution.py, pooling.py, normalization.py,
recurrent.py): torch.nn.functional as the reference at float32 tolerance, build-time shape errors, save/load,
diagrams, and ONNX export run in onnxruntime."""

from __future__ import annotations

import time

import numpy as np
import pytest

import tinygraph as tg

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {"rtol": 1e-4, "atol": 1e-5}
RNG = np.random.default_rng(0)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def evaluate_batches(build, shape, reference, batches=(2, 5), dtype=np.float32):
    """Build once with an unknown batch dim, evaluate at two batch sizes, compare with ``reference``."""
    x = tg.input("x", shape=(None, *shape[1:]), dtype=dtype)
    y = build(x)
    assert y.shape[0] is None
    for n in batches:
        value = randn(n, *shape[1:], dtype=dtype)
        got = tg.evaluate(y, {x: value})
        want = reference(value)
        assert got.shape == want.shape and got.dtype == dtype
        assert all(d is None or d == s for d, s in zip(y.shape, got.shape))
        np.testing.assert_allclose(got, want, **TOL)
    return y


# --- convolution -------------------------------------------------------------------------------------

CONV2D = [  # (channels in, out, kernel, stride, padding, dilation, groups)
    (3, 4, (3, 3), 1, 0, 1, 1),
    (3, 5, (3, 2), 2, 1, 1, 1),
    (4, 6, (3, 3), (2, 1), (1, 2), (2, 1), 2),
    (6, 6, (3, 3), 1, 1, 1, 6),  # depthwise
    (3, 6, (3, 3), 1, 1, 1, 3),  # depthwise with a multiplier
    (4, 4, (5, 3), 1, "same", 2, 1),
    (2, 3, (1, 1), 3, 0, 1, 1),
]


@pytest.mark.parametrize("cin, cout, k, stride, padding, dilation, groups", CONV2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(cin, cout, k, stride, padding, dilation, groups, bias):
    w = randn(cout, cin // groups, *k)
    b = randn(cout) if bias else None
    evaluate_batches(
        lambda x: tg.conv(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups),
        (None, cin, 11, 9),
        lambda v: F.conv2d(t(v), t(w), None if b is None else t(b), stride=stride, padding=padding,
                           dilation=dilation, groups=groups).numpy(),
    )


@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 2, 1, 1), (1, "same", 3, 2),
                                                               (3, 1, 2, 4)])
def test_conv1d_matches_torch(stride, padding, dilation, groups):
    w = randn(8, 4 // groups, 3)
    b = randn(8)
    evaluate_batches(lambda x: tg.conv(x, w, b, stride, padding, dilation, groups), (None, 4, 17),
                     lambda v: F.conv1d(t(v), t(w), t(b), stride=stride, padding=padding, dilation=dilation,
                                        groups=groups).numpy())


def test_conv_asymmetric_and_same_lower_padding():
    x, w = randn(2, 3, 8, 7), randn(2, 3, 4, 4)
    # ONNX pads: starts then ends; np.pad then a valid convolution is the reference.
    got = tg.evaluate(tg.conv(x, w, padding=(1, 0, 2, 3)))
    padded = np.pad(x, [(0, 0), (0, 0), (1, 2), (0, 3)])
    np.testing.assert_allclose(got, F.conv2d(t(padded), t(w)).numpy(), **TOL)
    # same_lower: the odd padding pixel at the start; same_upper (torch's "same") at the end.
    lower = tg.evaluate(tg.conv(x, w, padding="same_lower"))
    upper = tg.evaluate(tg.conv(x, w, padding="same"))
    assert lower.shape == upper.shape == (2, 2, 8, 7)
    np.testing.assert_allclose(lower, F.conv2d(t(np.pad(x, [(0, 0), (0, 0), (2, 1), (2, 1)])), t(w)).numpy(), **TOL)
    np.testing.assert_allclose(upper, F.conv2d(t(x), t(w), padding="same").numpy(), **TOL)


def test_conv_same_with_stride_keeps_ceil_of_size_over_stride():
    x = tg.input("x", shape=(None, 1, 9, None), dtype=np.float32)
    y = tg.conv(x, randn(1, 1, 3, 3), stride=2, padding="same")
    assert y.shape == (None, 1, 5, None)
    assert tg.evaluate(y, {x: randn(1, 1, 9, 10)}).shape == (1, 1, 5, 5)


def test_conv_float16_and_float64_keep_their_dtype():
    for dtype in (np.float16, np.float64):
        x, w = randn(1, 2, 6, 6, dtype=dtype), randn(3, 2, 3, 3, dtype=dtype)
        y = tg.conv(x, w)
        got = tg.evaluate(y)
        assert y.dtype == got.dtype == dtype
        want = F.conv2d(t(x.astype(np.float64)), t(w.astype(np.float64))).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-2 if dtype == np.float16 else 1e-12, atol=1e-2)


@pytest.mark.parametrize("build, match", [
    (lambda x: tg.conv(x, np.ones((4, 2, 3, 3), np.float32)), r"channel mismatch: the input has 3 channels"),
    (lambda x: tg.conv(x, np.ones((4, 3, 9, 3), np.float32)), r"larger than the padded input"),
    (lambda x: tg.conv(x, np.ones((4, 3, 3, 3), np.float32), groups=2), r"not divisible by groups=2"),
    (lambda x: tg.conv(x, np.ones((4, 3, 3), np.float32)), r"should have rank 4"),
    (lambda x: tg.conv(x, np.ones((4, 3, 3, 3), np.float32), np.ones(3, np.float32)), r"bias \[3\] should be \(4,\)"),
    (lambda x: tg.max_pool(x, 9), r"larger than the padded input"),
    (lambda x: tg.avg_pool(x, 2, padding=2), r"not smaller than the window"),
    (lambda x: tg.conv(x, np.ones((4, 3, 3, 3), np.float32), stride=(1, 1, 1)), r"3 entries for 2 spatial axes"),
    (lambda x: tg.batch_norm(x, *[np.ones(4, np.float32)] * 4), r"should be \(3,\)"),
    (lambda x: tg.group_norm(x, np.ones(3, np.float32), np.ones(3, np.float32), 2), r"do not split into"),
    (lambda x: tg.layer_norm(x, np.ones(5, np.float32)), r"does not broadcast to the normalized axes"),
    (lambda x: tg.flatten(x, 5), r"axis 5 is out of range"),
])
def test_shape_errors_at_build_time(build, match):
    x = tg.input("x", shape=(None, 3, 8, 8), dtype=np.float32)
    with pytest.raises(tg.ShapeError, match=match) as info:
        build(x)
    assert "test_ops_nn.py" in str(info.value)  # the user's line


def test_conv_is_fast():
    x, w = randn(8, 64, 56, 56), randn(64, 64, 3, 3)
    op = tg.ops.Conv(padding=1)
    op.forward(x[:1], w)  # warm up BLAS
    start = time.perf_counter()
    y = op.forward(x, w)
    elapsed = time.perf_counter() - start
    assert y.shape == (8, 64, 56, 56)
    assert elapsed < 3.0, f"conv of (8, 64, 56, 56) with a 3x3x64x64 kernel took {elapsed:.2f}s"


# --- pooling -----------------------------------------------------------------------------------------

POOL2D = [  # (kernel, stride, padding, dilation, ceil_mode)
    (2, None, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    ((3, 2), (2, 1), (1, 0), 1, True),
    (3, 2, 0, 1, True),
    (2, 3, 1, 1, True),
]


@pytest.mark.parametrize("k, stride, padding, dilation, ceil_mode",
                         [*POOL2D, (3, 1, 1, 2, False), (2, 2, 1, (2, 1), True)])
def test_max_pool2d_matches_torch(k, stride, padding, dilation, ceil_mode):
    evaluate_batches(lambda x: tg.max_pool(x, k, stride, padding, dilation, ceil_mode), (None, 3, 10, 9),
                     lambda v: F.max_pool2d(t(v), k, stride, padding, dilation, ceil_mode).numpy())


@pytest.mark.parametrize("k, stride, padding, dilation, ceil_mode", POOL2D)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(k, stride, padding, dilation, ceil_mode, count_include_pad):
    evaluate_batches(lambda x: tg.avg_pool(x, k, stride, padding, ceil_mode=ceil_mode,
                                           count_include_pad=count_include_pad), (None, 3, 10, 9),
                     lambda v: F.avg_pool2d(t(v), k, stride, padding, ceil_mode, count_include_pad).numpy())


def test_pool1d_and_integer_max_pool():
    evaluate_batches(lambda x: tg.max_pool(x, 3, 2, 1), (None, 2, 12),
                     lambda v: F.max_pool1d(t(v), 3, 2, 1).numpy())
    evaluate_batches(lambda x: tg.avg_pool(x, 4, 3, 2, ceil_mode=True), (None, 2, 12),
                     lambda v: F.avg_pool1d(t(v), 4, 3, 2, ceil_mode=True).numpy())
    x = RNG.integers(0, 255, (1, 1, 5, 5)).astype(np.uint8)
    y = tg.max_pool(x, 3, 1, 1)
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(tg.evaluate(y), F.max_pool2d(t(x.astype(np.float32)), 3, 1, 1).numpy())


def test_global_pools_and_flatten():
    evaluate_batches(tg.global_avg_pool, (None, 3, 5, 4), lambda v: F.adaptive_avg_pool2d(t(v), 1).numpy())
    evaluate_batches(tg.global_max_pool, (None, 3, 5, 4), lambda v: F.adaptive_max_pool2d(t(v), 1).numpy())
    y = evaluate_batches(tg.flatten, (None, 3, 5, 4), lambda v: torch.flatten(t(v), 1).numpy())
    assert y.shape == (None, 60)
    x = tg.input("x", shape=(2, 3, None), dtype=np.float32)
    assert tg.flatten(x, 2).shape == (6, None)
    assert tg.flatten(x, 0).shape == (1, None)
    assert tg.flatten(x, -1).shape == (6, None)
    np.testing.assert_array_equal(tg.evaluate(tg.flatten(x, 0), {x: np.ones((2, 3, 4), np.float32)}),
                                  np.ones((1, 24), np.float32))


# --- normalization -----------------------------------------------------------------------------------


def test_batch_norm_matches_torch():
    scale, bias, mean, var = randn(4), randn(4), randn(4), np.abs(randn(4)) + 0.1
    for shape in [(None, 4), (None, 4, 6), (None, 4, 5, 3)]:
        evaluate_batches(lambda x: tg.batch_norm(x, scale, bias, mean, var, epsilon=1e-3), shape,
                         lambda v: F.batch_norm(t(v), t(mean), t(var), t(scale), t(bias), False, 0.1, 1e-3).numpy())


@pytest.mark.parametrize("axis", [-1, -2, 1])
def test_layer_norm_matches_torch(axis):
    shape = (None, 3, 4, 5)
    normalized = shape[axis:] if axis > 0 else shape[len(shape) + axis:]
    scale, bias = randn(*normalized), randn(*normalized)
    evaluate_batches(lambda x: tg.layer_norm(x, scale, bias, axis=axis), shape,
                     lambda v: F.layer_norm(t(v), normalized, t(scale), t(bias)).numpy())
    evaluate_batches(lambda x: tg.layer_norm(x, scale, axis=axis, epsilon=0.1), shape,
                     lambda v: F.layer_norm(t(v), normalized, t(scale), eps=0.1).numpy())


def test_layer_norm_float16_accumulates_in_float32():
    # Values whose float16 sum of squares would overflow (> 65504): float32 statistics don't.
    x = (randn(2, 512) * 30 + 200).astype(np.float16)
    y = tg.layer_norm(x, np.ones(512, np.float16))
    got = tg.evaluate(y)
    assert y.dtype == got.dtype == np.float16
    want = F.layer_norm(t(x.astype(np.float32)), (512,)).numpy()
    np.testing.assert_allclose(got.astype(np.float32), want, atol=1e-2)
    stats = tg.ops.LayerNorm(output="InvStdDev")(x, np.ones(512, np.float16))
    assert stats.dtype == np.float32 and stats.shape == (2, 1)


def test_instance_and_group_norm_match_torch():
    scale, bias = randn(6), randn(6)
    evaluate_batches(lambda x: tg.instance_norm(x, scale, bias, epsilon=1e-4), (None, 6, 5, 4),
                     lambda v: F.instance_norm(t(v), weight=t(scale), bias=t(bias), eps=1e-4).numpy())
    for groups in (1, 2, 3, 6):
        evaluate_batches(lambda x: tg.group_norm(x, scale, bias, groups), (None, 6, 5, 4),
                         lambda v: F.group_norm(t(v), groups, t(scale), t(bias)).numpy())


def test_dropout_is_the_identity_at_inference():
    x = tg.input("x", shape=(None, 3))
    y = tg.dropout(x, 0.3)
    value = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tg.evaluate(y, {x: value}), value)
    with pytest.raises(ValueError, match="ratio"):
        tg.dropout(x, 1.0)


# --- recurrence --------------------------------------------------------------------------------------


def _onnx_weights(module, kind, suffix=""):
    """torch's weights in ONNX's gate order: W, R, B for one direction."""
    h = module.hidden_size
    w, r = (getattr(module, f"weight_{n}_l0{suffix}").detach().numpy() for n in ("ih", "hh"))
    b = np.concatenate([getattr(module, f"bias_{n}_l0{suffix}").detach().numpy() for n in ("ih", "hh")])
    order = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn": [0]}[kind]  # torch ifgo -> iofc, rzn -> zrh

    def reorder(a):
        return np.concatenate([a[k * h:(k + 1) * h] for k in order])

    return reorder(w), reorder(r), np.concatenate([reorder(b[:len(b) // 2]), reorder(b[len(b) // 2:])])


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_recurrent_layers_match_torch(kind, bidirectional, batch_first):
    torch.manual_seed(0)
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind](
        3, 5, bidirectional=bidirectional, batch_first=batch_first)
    dirs = 2 if bidirectional else 1
    parts = [_onnx_weights(module, kind, s) for s in ([""] + (["_reverse"] if bidirectional else []))]
    w, r, b = (np.stack(p) for p in zip(*parts))
    layout = int(batch_first)
    fn = {"lstm": tg.lstm, "gru": tg.gru, "rnn": tg.rnn}[kind]
    direction = "bidirectional" if bidirectional else "forward"
    extra = {"linear_before_reset": True} if kind == "gru" else {}
    x = tg.input("x", shape=(None, None, 3) if batch_first else (7, None, 3), dtype=np.float32)
    for batch in (1, 4):
        h0, c0 = randn(dirs, batch, 5), randn(dirs, batch, 5)
        states = {"initial_h": h0.transpose(1, 0, 2) if batch_first else h0}
        if kind == "lstm":
            states["initial_c"] = c0.transpose(1, 0, 2) if batch_first else c0
        outputs = ["Y", "Y_h", "Y_c"] if kind == "lstm" else ["Y", "Y_h"]
        nodes = [fn(x, w, r, b, **states, direction=direction, layout=layout, output=o, **extra) for o in outputs]
        value = randn(batch, 7, 3) if batch_first else randn(7, batch, 3)
        got = tg.evaluate(nodes, {x: value})
        with torch.no_grad():
            want_y, want_state = module(t(value), (t(h0), t(c0)) if kind == "lstm" else t(h0))
        want_states = want_state if kind == "lstm" else (want_state,)
        # torch's Y is (seq, batch, dirs * H); ONNX's is (seq, dirs, batch, H) (layout 1: (batch, seq, dirs, H)).
        y = got[0]
        y = y.reshape(*y.shape[:2], -1) if batch_first else y.transpose(0, 2, 1, 3).reshape(7, batch, -1)
        np.testing.assert_allclose(y, want_y.numpy(), **TOL)
        for mine, theirs in zip(got[1:], want_states):
            mine = mine.transpose(1, 0, 2) if batch_first else mine
            np.testing.assert_allclose(mine, theirs.numpy(), **TOL)
        for node, value_ in zip(nodes, got):
            assert all(d is None or d == s for d, s in zip(node.shape, value_.shape))


def test_recurrent_shape_errors_and_options():
    x = tg.input("x", shape=(6, None, 3), dtype=np.float32)
    w, r = randn(1, 16, 3), randn(1, 16, 4)
    assert tg.lstm(x, w, r).shape == (6, 1, None, 4)
    assert tg.lstm(x, w, r, output="Y_c").shape == (1, None, 4)
    with pytest.raises(tg.ShapeError, match=r"W \[1,16,2\] should be \[1,16,3\]"):
        tg.lstm(x, randn(1, 16, 2), r)
    with pytest.raises(tg.ShapeError, match=r"W \[1,16,3\] should be \[2,16,3\]"):
        tg.lstm(x, w, r, direction="bidirectional")
    with pytest.raises(tg.ShapeError, match=r"initial_h \[1,2,5\] should be"):
        tg.rnn(x, randn(1, 4, 3), randn(1, 4, 4), initial_h=randn(1, 2, 5))
    with pytest.raises(ValueError, match="output must be one of"):
        tg.gru(x, randn(1, 12, 3), randn(1, 12, 4), output="Y_c")


# --- save/load and diagrams --------------------------------------------------------------------------


def small_cnn(dtype=np.float32):
    rng = np.random.default_rng(1)

    def p(*shape):
        return tg.parameter(rng.standard_normal(shape).astype(dtype) * 0.3)

    x = tg.input("x", shape=(None, 3, 16, 16), dtype=dtype)
    h = tg.conv(x, p(8, 3, 3, 3), p(8), padding=1)
    h = tg.batch_norm(h, p(8), p(8), p(8), tg.parameter(np.abs(rng.standard_normal(8)).astype(dtype) + 0.5))
    h = tg.max_pool(tg.relu(h), 2)
    h = tg.conv(h, p(8, 4, 3, 3), stride=2, padding="same", groups=2)
    h = tg.group_norm(h, p(8), p(8), num_groups=4)
    h = tg.avg_pool(tg.relu(h), 3, 1, 1, count_include_pad=False)
    h = tg.conv(h, p(8, 1, 3, 3), padding=(0, 1, 2, 1), dilation=1, groups=8)
    h = tg.instance_norm(h, p(8), p(8))
    h = tg.global_avg_pool(tg.dropout(h, 0.2))
    h = tg.flatten(h)
    h = tg.layer_norm(h, p(8), p(8))
    return x, h @ p(8, 4)


def sequence_model(dtype=np.float32):
    x = tg.input("x", shape=(5, None, 3), dtype=dtype)
    lstm_y = tg.lstm(x, randn(2, 16, 3), randn(2, 16, 4), randn(2, 32), direction="bidirectional")
    gru_h = tg.gru(x, randn(1, 12, 3), randn(1, 12, 4), randn(1, 24), output="Y_h", linear_before_reset=True)
    rnn_y = tg.rnn(x, randn(1, 4, 3), randn(1, 4, 4), layout=0, direction="reverse", clip=2.0)
    lstm_c = tg.lstm(x, randn(1, 16, 3), randn(1, 16, 4), p=randn(1, 12), output="Y_c")
    return x, [lstm_y, gru_h, rnn_y, lstm_c]


def test_save_and_load_round_trip():
    for make, shape in ((small_cnn, (2, 3, 16, 16)), (sequence_model, (5, 2, 3))):
        x, out = make()
        outs = out if isinstance(out, list) else [out]
        loaded = tg.loads(tg.dumps(outs))
        assert str(loaded) == str(tg.Graph(outs))
        value = randn(*shape)
        for a, b in zip(tg.evaluate(loaded, {"x": value}), tg.evaluate(outs, {x: value})):
            np.testing.assert_array_equal(a, b)


def test_listing_and_diagram_name_the_ops():
    x, y = small_cnn()
    listing = str(tg.Graph(y))
    for kind in ("conv[", "batch_norm[", "max_pool[", "group_norm[", "avg_pool[", "global_avg_pool(", "flatten[",
                 "layer_norm[", "dropout[", "instance_norm["):
        assert kind in listing, kind
    dot = tg.diagrams.to_dot(y).source
    assert "Conv(stride=1, padding=1" in dot and "MaxPool(kernel_size=2" in dot


# --- ONNX --------------------------------------------------------------------------------------------


def _ort(model, feeds):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


@pytest.mark.parametrize("opset", [18, 21])
def test_small_cnn_exports_to_onnxruntime_and_back(opset):
    onnx = pytest.importorskip("onnx")
    x, y = small_cnn()
    model = tg.onnx.to_model(y, opset=opset)
    onnx.checker.check_model(model, full_check=True)
    value = randn(3, 3, 16, 16)
    want = tg.evaluate(y, {x: value})
    np.testing.assert_allclose(_ort(model, {"x": value})[0], want, **TOL)
    back = tg.onnx.from_model(model)
    np.testing.assert_allclose(tg.evaluate(back, {"x": value})[0], want, **TOL)


def test_recurrent_layers_export_to_onnxruntime_and_back():
    onnx = pytest.importorskip("onnx")
    x, outs = sequence_model()
    model = tg.onnx.to_model(outs)
    onnx.checker.check_model(model, full_check=True)
    value = randn(5, 2, 3)
    want = tg.evaluate(outs, {x: value})
    for got, w in zip(_ort(model, {"x": value}), want):
        np.testing.assert_allclose(got, w, **TOL)
    for got, w in zip(tg.evaluate(tg.onnx.from_model(model), {"x": value}), want):
        np.testing.assert_allclose(got, w, **TOL)


def test_onnx_export_refuses_what_the_opset_cannot_say():
    x = tg.input("x", shape=(1, 1, 8, 8), dtype=np.float32)
    with pytest.raises(tg.onnx.OnnxExportError, match="dilations only from opset 19"):
        tg.onnx.to_model(tg.avg_pool(x, 2, dilation=2))
    assert tg.onnx.to_model(tg.avg_pool(x, 2, dilation=2), opset=19) is not None


def test_onnx_import_refuses_unsupported_recurrent_options():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    def model(**attrs):
        node = helper.make_node("RNN", ["X", "W", "R"], ["Y"], hidden_size=2, **attrs)
        graph = helper.make_graph(
            [node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [3, 1, 2])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
            initializer=[onnx.numpy_helper.from_array(randn(1, 2, 2), "W"),
                         onnx.numpy_helper.from_array(randn(1, 2, 2), "R")])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])

    assert tg.onnx.from_model(model()).outputs[0].shape == (3, 1, 1, 2)
    with pytest.raises(tg.onnx.OnnxImportError, match=r"activations \['Relu'\] are not supported"):
        tg.onnx.from_model(model(activations=["Relu"]))


# --- attention ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kv_heads", [4, 2, 1])
@pytest.mark.parametrize("mask", [None, "bool", "float"])
@pytest.mark.parametrize("is_causal", [False, True])
def test_attention_matches_torch(kv_heads, mask, is_causal):
    q, k, v = randn(2, 4, 5, 8), randn(2, kv_heads, 7, 8), randn(2, kv_heads, 7, 6)
    masks = {None: None, "bool": RNG.random((5, 7)) > 0.3, "float": randn(2, 1, 5, 7)}
    m = masks[mask]
    if mask == "bool":
        m[:, 0] = True  # every query may attend some key under the causal mask too
    y = tg.attention(q, k, v, m, is_causal=is_causal, scale=0.3)
    assert y.shape == (2, 4, 5, 6)
    reps = 4 // kv_heads
    tk, tv = (t(np.repeat(a, reps, axis=1)) for a in (k, v))
    bias = None if m is None else t(m)
    if is_causal:
        causal = np.tril(np.ones((5, 7), bool))
        bias = t(causal) if m is None else (t(causal & m) if mask == "bool" else
                                            t(np.where(causal, m, -np.inf).astype(np.float32)))
    want = F.scaled_dot_product_attention(t(q), tk, tv, attn_mask=bias, scale=0.3).numpy()
    np.testing.assert_allclose(tg.evaluate(y), want, **TOL)


def test_attention_3d_heads_and_fully_masked_rows():
    x = tg.input("q", shape=(None, 5, 12), dtype=np.float32)
    k, v = randn(1, 7, 6), randn(1, 7, 6)
    mask = np.ones((5, 7), bool)
    mask[2] = False  # query 2 may attend nothing: ONNX gives zeros
    y = tg.attention(x, k, v, mask, q_num_heads=4, kv_num_heads=2)
    assert y.shape == (1, 5, 12)  # the batch size of k and v
    value = randn(1, 5, 12)
    got = tg.evaluate(y, {x: value})
    heads = lambda a, h: t(a.reshape(1, a.shape[1], h, -1).transpose(0, 2, 1, 3))  # noqa: E731
    m = mask.copy()
    m[2] = True
    # Each of the 2 K/V heads serves 2 query heads: repeat them to 4 heads for torch.
    k4, v4 = (np.repeat(a.reshape(1, 7, 2, 3), 2, axis=2).reshape(1, 7, 12) for a in (k, v))
    want = F.scaled_dot_product_attention(heads(value, 4), heads(k4, 4), heads(v4, 4), attn_mask=t(m)).numpy()
    want = want.transpose(0, 2, 1, 3).reshape(1, 5, 12)
    want[:, 2] = 0
    np.testing.assert_allclose(got, want, **TOL)
    with pytest.raises(tg.ShapeError, match="not a multiple of"):
        tg.attention(randn(1, 3, 5, 8), randn(1, 2, 7, 8), randn(1, 2, 7, 8))
    with pytest.raises(tg.ShapeError, match=r"different batch sizes \[1, 2\]"):
        tg.attention(x, randn(2, 7, 6), v, q_num_heads=4, kv_num_heads=2)
    with pytest.raises(tg.ShapeError, match="3-D inputs need q_num_heads"):
        tg.attention(x, k, v)


def test_attention_exports_at_opset_23():
    onnx = pytest.importorskip("onnx")
    q, k, v = (tg.input(n, shape=(None, h, s, 4), dtype=np.float32)
               for n, h, s in (("q", 2, 5), ("k", 1, 6), ("v", 1, 6)))
    y = tg.attention(q, k, v, randn(5, 6), is_causal=True, softcap=2.0)
    with pytest.raises(tg.onnx.OnnxExportError, match="Attention from opset 23"):
        tg.onnx.to_model(y)
    model = tg.onnx.to_model(y, opset=23)
    onnx.checker.check_model(model, full_check=True)
    feeds = {"q": randn(3, 2, 5, 4), "k": randn(3, 1, 6, 4), "v": randn(3, 1, 6, 4)}
    want = tg.evaluate(y, {q: feeds["q"], k: feeds["k"], v: feeds["v"]})
    np.testing.assert_allclose(tg.evaluate(tg.onnx.from_model(model), feeds)[0], want, **TOL)
    np.testing.assert_allclose(_ort(model, feeds)[0], want, **TOL)
