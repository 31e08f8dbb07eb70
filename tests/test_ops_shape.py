"""Shape and indexing ops (tinygraph/ops/joining.py, slicing.py, gathering.py, squeezing.py, shape_values.py,
shaping.py), run-time shapes, node methods, and the ONNX importer's load-time folding: numpy semantics,
static specs with ``None`` dims, save/load, ONNX both ways (checked against onnxruntime), and PyTorch's
batch-size arithmetic."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import tinygraph as tg

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3, 5))


def run(outputs, x=X):
    return tg.evaluate(outputs, {"x": x})


def x_input(shape=(None, 3, 5), dtype=np.float64):
    return tg.input("x", shape, dtype)


# --- each op: numpy's result, and the static spec -------------------------------------------------


def test_concat_stack_split_against_numpy():
    x = x_input()
    c = tg.concat([x, x * 2], axis=1)
    s = tg.stack([x, x], axis=-1)
    parts = tg.split(x, [1, 3], axis=2, name="part")
    halves = tg.split(tg.transpose(x, (1, 0, 2))[:2], 2)
    assert c.shape == (None, 6, 5) and s.shape == (None, 3, 5, 2)
    assert [p.shape for p in parts] == [(None, 3, 1), (None, 3, 2), (None, 3, 2)]
    assert [p.name for p in parts] == ["part_0", "part_1", "part_2"]
    got = run([c, s, *parts, *halves])
    np.testing.assert_array_equal(got[0], np.concatenate([X, X * 2], axis=1))
    np.testing.assert_array_equal(got[1], np.stack([X, X], axis=-1))
    for g, w in zip(got[2:5], np.split(X, [1, 3], axis=2)):
        np.testing.assert_array_equal(g, w)
    for g, w in zip(got[5:], np.split(X.transpose(1, 0, 2)[:2], 2)):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(tg.ShapeError, match="sizes along axis 2 differ"):
        tg.concat([x, tg.input("y", (None, 3, 4))], axis=1)
    with pytest.raises(tg.ShapeError, match="needs its size known"):
        tg.split(x, 2, axis=0)


def test_slice_python_rules_and_onnx_operand_form():
    x = x_input()
    y = tg.slice(x, [1, -1], [None, None], axes=[1, 2], steps=[1, -2])
    assert y.shape == (None, 2, 3)
    np.testing.assert_array_equal(run(y), X[:, 1:, ::-2])
    # Bounds as nodes take ONNX's clamping; unknown bounds leave the sizes unknown.
    starts = tg.input("starts", (1,), np.int64)
    z = tg.slice(x, starts, np.array([100]), axes=[2])
    assert z.shape == (None, 3, None)
    np.testing.assert_array_equal(tg.evaluate(z, {"x": X, "starts": np.array([-3])}), X[:, :, -3:])
    # ONNX's negative step clamps a too-negative start to 0, where Python's slice would be empty.
    onnx_style = tg.slice(x, tg.constant(np.array([-100])), np.array([-200]), axes=[2], steps=[-1])
    python_style = tg.slice(x, [-100], [-200], axes=[2], steps=[-1])
    assert onnx_style.shape == (None, 3, 1) and python_style.shape == (None, 3, 0)
    np.testing.assert_array_equal(run(onnx_style), X[:, :, :1])
    assert run(python_style).shape == (4, 3, 0)


def test_gather_and_gather_elements():
    x = x_input()
    g = tg.gather(x, np.array([[0, -1], [1, 1]]), axis=2)
    assert g.shape == (None, 3, 2, 2)
    np.testing.assert_array_equal(run(g), np.take(X, [[0, -1], [1, 1]], axis=2))
    idx = RNG.integers(0, 3, size=(4, 2, 5))
    ge = tg.gather_elements(x, idx, axis=1)
    assert ge.shape == (4, 2, 5)
    np.testing.assert_array_equal(run(ge), np.take_along_axis(X, idx, axis=1))
    with pytest.raises(tg.ShapeError, match="index 5 is out of bounds"):
        tg.gather(x, np.array([5]), axis=2)
    with pytest.raises(tg.ShapeError, match="integers"):
        tg.gather(x, np.array([0.5]), axis=2)
    # An index out of range at run time fails naming the node.
    i = tg.input("i", (), np.int64)
    with pytest.raises(tg.ExecutionError, match="pick"):
        tg.evaluate(tg.gather(x, i, axis=0, name="pick"), {"x": X, "i": np.int64(9)})


def test_squeeze_unsqueeze():
    x = tg.input("x", (None, 1, 5))
    s = tg.squeeze(x, 1)
    u = tg.unsqueeze(x, (0, -1))
    assert s.shape == (None, 5) and u.shape == (1, None, 1, 5, 1)
    v = RNG.standard_normal((2, 1, 5))
    got = run([s, u], v)
    np.testing.assert_array_equal(got[0], v.squeeze(1))
    np.testing.assert_array_equal(got[1], np.expand_dims(v, (0, -1)))
    with pytest.raises(tg.ShapeError, match="cannot squeeze axis 2 of size 5"):
        tg.squeeze(x, 2)
    with pytest.raises(tg.ShapeError, match="give axes"):
        tg.squeeze(x)
    assert tg.squeeze(tg.input("z", (1, 3, 1))).shape == (3,)


def test_shape_size_and_shape_arithmetic_keep_known_sizes():
    x = x_input()
    s = tg.shape(x)
    assert s.shape == (3,) and s.dtype == np.int64 and s.spec.value == (None, 3, 5)
    assert tg.shape(x, 1).spec.value == (3, 5) and tg.shape(x, -1).spec.value == (5,)
    assert tg.size(x).spec.value == (None,) and tg.size(tg.input("y", (2, 3))).spec.value == (6,)
    assert tg.cast(s, np.int32).spec.value == (None, 3, 5)
    assert tg.cast(tg.shape(tg.input("w", (None, 300))), np.int8).spec.value is None  # 300 wraps in int8
    batch = tg.unsqueeze(s[0], 0)
    target = tg.concat([batch, np.array([15])])
    assert target.spec.value == (None, 15)
    y = tg.reshape(x, target)
    assert y.shape == (None, 15)
    zeros = tg.constant_of_shape(tg.concat([batch, np.array([7])]), 1.5, np.float32)
    assert zeros.shape == (None, 7) and zeros.dtype == np.float32
    got = run([s, tg.size(x), y, zeros])
    np.testing.assert_array_equal(got[0], [4, 3, 5])
    assert got[1] == 60 and got[1].dtype == np.int64
    np.testing.assert_array_equal(got[2], X.reshape(4, 15))
    np.testing.assert_array_equal(got[3], np.full((4, 7), 1.5, np.float32))


def test_a_run_time_reshape_that_cannot_fit_fails_naming_the_node():
    x = x_input()
    target = tg.concat([tg.unsqueeze(tg.shape(x)[0], 0), np.array([7])])
    y = tg.reshape(x, target, name="flat")
    assert y.shape == (None, 7)
    with pytest.raises(tg.ExecutionError, match=r"flat = Reshape\(\)\(x f64\[4,3,5\]") as e:
        run(y)
    assert "cannot reshape" in str(e.value.__cause__)


def test_range_expand_tile_trilu():
    r = tg.range(2, 11, 3)
    assert r.shape == (3,) and r.spec.value == (2, 5, 8)
    n = tg.input("n", (), np.int64)
    rn = tg.range(n)
    assert rn.shape == (None,)
    np.testing.assert_array_equal(tg.evaluate(rn, {"n": np.int64(4)}), np.arange(4))
    rf = tg.range(np.float32(0.5), np.float32(2), np.float32(0.5))
    np.testing.assert_allclose(tg.evaluate(rf), [0.5, 1.0, 1.5])
    x = tg.input("x", (None, 1, 5))
    v = RNG.standard_normal((2, 1, 5))
    e = tg.expand(x, (3, 1))
    t = tg.tile(x, (1, 2, 1))
    assert e.shape == (None, 3, 5) and t.shape == (None, 2, 5)
    m = tg.input("m", (4, 4))
    up, low = tg.triu(m, 1), tg.tril(m, tg.constant(np.int64(-1)))
    got = tg.evaluate([e, t], {"x": v})
    np.testing.assert_array_equal(got[0], np.broadcast_to(v, (2, 3, 5)))
    np.testing.assert_array_equal(got[1], np.tile(v, (1, 2, 1)))
    mv = RNG.standard_normal((4, 4))
    got = tg.evaluate([up, low], {"m": mv})
    np.testing.assert_array_equal(got[0], np.triu(mv, 1))
    np.testing.assert_array_equal(got[1], np.tril(mv, -1))
    with pytest.raises(tg.ShapeError, match="one repeat per axis"):
        tg.tile(x, (2, 2))


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_modes_and_negative_pads(mode):
    x = tg.input("x", (None, 4))
    v = RNG.standard_normal((3, 4))
    y = tg.pad(x, ((0, 1), (2, 1)), mode, constant_value=7.0)
    assert y.shape == (None, 7)
    want = np.pad(v, ((0, 1), (2, 1)), mode, **({"constant_values": 7.0} if mode == "constant" else {}))
    np.testing.assert_array_equal(tg.evaluate(y, {"x": v}), want)
    crop = tg.pad(x, tg.constant(np.array([0, -1, 0, 2])), mode)  # ONNX layout: begins, then ends
    assert crop.shape == (None, 5)
    np.testing.assert_array_equal(tg.evaluate(crop, {"x": v}), np.pad(v[:, 1:], ((0, 0), (0, 2)), mode))


def test_axes_fed_at_run_time_keep_the_rank():
    x = x_input()
    axes = tg.input("axes", (1,), np.int64)
    r = tg.runtime_reduce(x, axes, "sum", keepdims=False)
    k = tg.runtime_reduce(x, axes, "mean", keepdims=True)
    u = tg.ops.Unsqueeze()(x, axes)
    assert r.shape == (None, None) and k.shape == (None, None, None) and u.shape == (None,) * 4
    feeds = {"x": X, "axes": np.array([-1])}
    got = tg.evaluate([r, k, u], feeds)
    np.testing.assert_allclose(got[0], X.sum(axis=-1))
    np.testing.assert_allclose(got[1], X.mean(axis=-1, keepdims=True))
    np.testing.assert_array_equal(got[2], X[..., None])
    known = tg.runtime_reduce(x, np.array([1]), "sum", keepdims=False)  # known axes: the exact shape
    assert known.shape == (None, 5)
    noop = tg.runtime_reduce(x, np.zeros(0, np.int64), noop_with_empty_axes=True)
    assert noop.shape == (None, 3, 5)
    np.testing.assert_array_equal(run(noop), X)


# --- x[...], methods, len --------------------------------------------------------------------------


@pytest.mark.parametrize("key", [
    0, -1, (slice(None), 1), (Ellipsis, 2), (slice(1, None), None, slice(None, None, -1)), (None, Ellipsis, None),
    (1, slice(0, 2), slice(3, 0, -2)), ([0, 2],), (slice(None), np.array([[2, 0], [1, 1]])), (Ellipsis, [4, -1]),
    (slice(-100, 100), 1, slice(None)),
], ids=repr)
def test_getitem_matches_numpy(key):
    x = tg.input("x", (4, 3, 5))
    y = x[key]
    want = X[key]
    assert y.shape == want.shape
    np.testing.assert_array_equal(run(y), want)


def test_getitem_errors_and_unknown_sizes():
    x = x_input()
    assert x[1:, :2].shape == (None, 2, 5)
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 3"):
        x[:, 3]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(IndexError, match="integer-array"):
        x[0, [1, 2]]
    with pytest.raises(IndexError, match="only integers"):
        x[np.array([True, False])]


def test_methods_and_len():
    x = tg.input("x", (4, 3, 5))
    assert len(x) == 4 and len(list(x)) == 4
    np.testing.assert_array_equal(run(list(x)[2]), X[2])
    outs = [x.sum(), x.sum(axis=1, keepdims=True), x.mean(axis=(0, 2)), x.reshape(12, 5), x.reshape((5, -1)),
            x.flatten(), x.transpose(), x.transpose(2, 0, 1), x.transpose((1, 0, 2))]
    wants = [X.sum(), X.sum(axis=1, keepdims=True), X.mean(axis=(0, 2)), X.reshape(12, 5), X.reshape((5, -1)),
             X.flatten(), X.transpose(), X.transpose(2, 0, 1), X.transpose((1, 0, 2))]
    for got, want, node in zip(run(outs), wants, outs):
        assert node.shape == want.shape
        np.testing.assert_allclose(got, want)
    with pytest.raises(TypeError, match="only known at run time"):
        len(x_input())
    with pytest.raises(TypeError, match="scalar"):
        len(x.sum())
    y = x_input()
    assert y.reshape(tg.shape(x)).shape == (4, 3, 5)


# --- save/load ---------------------------------------------------------------------------------------


def every_new_op():
    x = x_input()
    n = tg.input("n", (), np.int64)
    s = tg.shape(x)
    return [
        tg.concat([x, x], 1), tg.stack([x, x]), *tg.split(x, 3, axis=1), x[1:, ::-1, None, 2], x[:, [2, 0]],
        tg.slice(x, tg.unsqueeze(n, 0), np.array([5]), axes=[2]), tg.gather_elements(x, np.zeros((4, 3, 5), int)),
        tg.squeeze(x[:, :1], 1), tg.unsqueeze(x, 0), s, tg.size(x), tg.reshape(x, tg.concat([s[:1], [-1]])),
        tg.constant_of_shape(s, 2, np.int32), tg.range(n), tg.expand(x[:, :1], (3, 1)), tg.tile(x, (1, 1, 2)),
        tg.pad(x, ((0, 0), (1, 1), (0, 2)), "reflect"), tg.pad(x, 1, constant_value=3.0), tg.triu(x, 1),
        tg.tril(x, n), tg.runtime_reduce(x, tg.unsqueeze(n, 0), "mean", keepdims=False), x.reshape(-1, 15),
        x.transpose(1, 0, 2), tg.cast(s, np.int32),
    ]


def test_every_new_op_saves_loads_and_compiles():
    outs = every_new_op()
    loaded = tg.loads(tg.dumps(outs))
    assert [o.shape for o in loaded.outputs] == [o.shape for o in outs]
    feeds = {"x": X, "n": np.int64(2)}
    want = tg.evaluate(outs, feeds)
    for got, w in zip(tg.evaluate(loaded, feeds), want):
        np.testing.assert_array_equal(got, w)
    for got, w in zip(tg.compile(outs)(**feeds), want):
        np.testing.assert_array_equal(got, w)


# --- ONNX ----------------------------------------------------------------------------------------------

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402


def ort_run(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_every_new_op_exports_to_onnxruntime_and_back():
    outs = every_new_op()
    model = tg.onnx.to_model(outs)
    onnx.checker.check_model(model, full_check=True)
    feeds = {"x": X, "n": np.array(2)}
    want = tg.evaluate(outs, feeds)
    for got, w in zip(ort_run(model, feeds), want):
        assert got.shape == w.shape and got.dtype == w.dtype
        np.testing.assert_allclose(got, w, rtol=1e-12)
    back = tg.onnx.load(model)
    for got, w in zip(tg.evaluate(back, feeds), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_export_by_opset():
    x = tg.input("x", (None, 3, 5))
    for opset in (14, 18):
        m = tg.onnx.to_model([tg.shape(x, 1)], opset=opset)
        onnx.checker.check_model(m, full_check=True)
        assert [n.op_type for n in m.graph.node][-1] == ("Slice" if opset < 15 else "Shape")
        np.testing.assert_array_equal(ort_run(m, {"x": X})[0], [3, 5])
    with pytest.raises(tg.GraphError, match="'wrap' from opset 19"):
        tg.onnx.to_model(tg.pad(x, 1, "wrap"))


def model(nodes, inputs, outputs, initializers=(), opset=18):
    graph = helper.make_graph(nodes, "m", inputs, outputs, initializer=list(initializers))
    return helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, value):
    return helper.make_node("Constant", [], [name], value=onnx.numpy_helper.from_array(np.asarray(value)))


def test_load_time_folding_makes_constants_up_to_a_bound():
    # A shape computed from constants only is computed at load time; so is Shape of static sizes.
    nodes = [const("s", np.array([2, 3], np.int64)), const("big", np.array([1000, 1000], np.int64)),
             helper.make_node("ConstantOfShape", ["s"], ["z"]), helper.make_node("Shape", ["x"], ["xs"]),
             helper.make_node("Reshape", ["x", "xs"], ["y"]), helper.make_node("ConstantOfShape", ["big"], ["huge"])]
    m = model(nodes, [vi("x", [2, 3])], [vi("z", None), vi("y", None), vi("huge", None)])
    g = tg.onnx.load(m)
    z, y, huge = g.outputs
    assert z.op.kind == "constant" and np.array_equal(z.value, np.zeros((2, 3), np.float32))
    assert y.op.attributes() == {"shape": (2, 3)}  # Shape(x) was known: the static form, no shape node
    assert huge.op.kind == "constant_of_shape" and huge.shape == (1000, 1000)  # over FOLD_MAX_ELEMENTS
    assert tg.onnx.importer.FOLD_MAX_ELEMENTS < 1000 * 1000
    assert tg.evaluate(huge).shape == (1000, 1000)


@pytest.mark.parametrize("opset", [11, 13])
def test_squeeze_unsqueeze_axes_by_opset(opset):
    if opset < 13:
        nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0, 3]),
                 helper.make_node("Squeeze", ["u"], ["y"], axes=[0])]
    else:
        nodes = [const("a", np.array([0, 3])), const("b", np.array([0])),
                 helper.make_node("Unsqueeze", ["x", "a"], ["u"]), helper.make_node("Squeeze", ["u", "b"], ["y"])]
    m = model(nodes, [vi("x", ["n", 3])], [vi("y", None)], opset=opset)
    g = tg.onnx.load(m)
    assert g.outputs[0].shape == (None, 3, 1)
    v = RNG.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(tg.evaluate(g, {"x": v})[0], ort_run(m, {"x": v})[0])


def test_slice_attributes_before_opset_10_and_inputs_after():
    old = model([helper.make_node("Slice", ["x"], ["y"], starts=[1, -100], ends=[100, -1], axes=[0, 1])],
                [vi("x", [4, 5])], [vi("y", None)], opset=9)
    new = model([const("s", np.array([-1])), const("e", np.array([-100])), const("a", np.array([1])),
                 const("st", np.array([-2])), helper.make_node("Slice", ["x", "s", "e", "a", "st"], ["y"])],
                [vi("x", [4, 5])], [vi("y", None)], opset=13)
    v = RNG.standard_normal((4, 5)).astype(np.float32)
    for m, want in ((old, v[1:, :-1]), (new, v[:, ::-2])):
        g = tg.onnx.load(m)
        assert g.outputs[0].shape == want.shape
        np.testing.assert_array_equal(tg.evaluate(g, {"x": v})[0], want)
        np.testing.assert_array_equal(ort_run(m, {"x": v})[0], want)


def test_a_reshape_target_fed_at_run_time():
    m = model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
              [vi("x", ["n", 3, 4]), vi("shape", [3], TensorProto.INT64)], [vi("y", None)])
    g = tg.onnx.load(m)  # no constants=
    assert g.outputs[0].shape == (None, None, None)
    v = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    for target in ([0, 4, -1], [4, 0, 2]):  # ONNX's 0 copies the input's size
        feeds = {"x": v, "shape": np.array(target)}
        np.testing.assert_array_equal(tg.evaluate(g, feeds)[0], ort_run(m, feeds)[0])
    with pytest.raises(tg.ExecutionError, match="y = Reshape"):
        tg.evaluate(g, {"x": v, "shape": np.array([5, -1, 7])})


# --- PyTorch's batch-size arithmetic ------------------------------------------------------------------


def test_torch_export_with_batch_size_arithmetic_loads_without_constants():
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.fc = torch.nn.Linear(12, 6)
            self.cell = torch.nn.Linear(6, 6)

        def forward(self, x):
            h = torch.zeros(x.size(0), 6)  # a GRU-like state, as big as the batch
            flat = x.view(x.size(0), -1)
            h = torch.tanh(self.cell(h) + torch.relu(self.fc(flat)))
            return h

    net = Net().eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.randn(2, 3, 4),), f, dynamo=False, input_names=["x"], output_names=["h"],
                          dynamic_axes={"x": {0: "batch"}, "h": {0: "batch"}})
    m = onnx.load_from_string(f.getvalue())
    assert {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "ConstantOfShape"} <= {n.op_type for n in m.graph.node}
    g = tg.onnx.load(m)
    assert g.outputs[0].shape == (None, 6)
    for batch in (1, 5):
        x = torch.randn(batch, 3, 4)
        with torch.no_grad():
            want = net(x).numpy()
        got = tg.evaluate(g, {"x": x.numpy()})[0]
        assert got.shape == (batch, 6)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_node_max_and_min_methods_reduce_like_numpy():
    x = tg.input("x", shape=(None, 3))
    v = np.array([[1.0, -2.0, 5.0], [4.0, 0.5, -1.0]])
    np.testing.assert_array_equal(tg.evaluate(x.max(), {x: v}), v.max())
    np.testing.assert_array_equal(tg.evaluate(x.max(axis=1), {x: v}), v.max(axis=1))
    np.testing.assert_array_equal(tg.evaluate(x.min(0, keepdims=True), {x: v}), v.min(0, keepdims=True))
    assert x.max(axis=1).shape == (None,) and x.min(axis=0, keepdims=True).shape == (1, 3)
