"""tg.onnx.export: valid models (onnx.checker, full check) whose onnxruntime outputs match tinygraph's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygraph as tg

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_ort(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def checked_model(outputs):
    model = tg.onnx.to_model(outputs)
    onnx.checker.check_model(model, full_check=True)
    return model


def textbook(dtype=np.float64):
    rng = np.random.default_rng(0)
    x = tg.input("x", shape=(None, 2), dtype=dtype)
    net = tg.nn.Sequential(tg.nn.Affine.init(2, 4, rng=rng, dtype=dtype), tg.nn.Sigmoid(),
                           tg.nn.Affine.init(4, 3, rng=rng, dtype=dtype))
    return x, net(x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_textbook_network_runs_in_onnxruntime(tmp_path, dtype):
    x, y = textbook(dtype)
    path = tmp_path / "net.onnx"
    tg.onnx.export(y, path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    batch = np.random.default_rng(1).standard_normal((10, 2)).astype(dtype)
    (got,) = run_ort(model, {"x": batch})
    want = tg.evaluate(y, {x: batch})
    assert got.dtype == want.dtype and got.shape == (10, 3)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-7)
    # Parameters are initializers under their names; the unknown batch size is a symbolic dim.
    assert {t.name for t in model.graph.initializer} == {"W1", "b1", "W2", "b2"}
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].HasField("dim_value") and dims[1].dim_value == 2
    assert [n.op_type for n in model.graph.node] == ["MatMul", "Add", "Sigmoid", "MatMul", "Add"]
    assert [n.name for n in model.graph.node] == [n.name for n in tg.Graph(y).nodes if n.inputs]


def test_round_trip_keeps_names_parameters_and_constants(tmp_path):
    x, y = textbook()
    z = tg.softmax(y * tg.constant(np.array([1.0, 2.0, 3.0]), name="scale"), axis=1, name="probs")
    tg.onnx.export(z, tmp_path / "m.onnx")
    g = tg.onnx.load(tmp_path / "m.onnx")
    assert [n.name for n in g.parameters] == ["W1", "b1", "W2", "b2"]
    assert [n.name for n in g.constants] == ["scale"]
    assert str(g) == str(tg.Graph(z))
    batch = np.random.default_rng(2).standard_normal((5, 2))
    np.testing.assert_array_equal(tg.evaluate(g, {"x": batch})[0], tg.evaluate(z, {x: batch}))


def test_weak_scalars_take_the_operand_dtype():
    x = tg.input("x", shape=(3,), dtype=np.float32)
    i = tg.input("i", shape=(3,), dtype=np.int32)
    y = (x * 2.0 + 1) / 3
    z = i * 2 + 1  # int32 stays int32
    w = i / 2  # numpy: true division of ints is float64
    model = checked_model([y, z, w])
    types = [o.type.tensor_type.elem_type for o in model.graph.output]
    assert types == [onnx.TensorProto.FLOAT, onnx.TensorProto.INT32, onnx.TensorProto.DOUBLE]
    feeds = {"x": np.array([1, 2, 3], np.float32), "i": np.array([1, -3, 5], np.int32)}
    for got, want in zip(run_ort(model, feeds), tg.evaluate([y, z, w], feeds)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_mixed_dtypes_get_casts():
    a = tg.input("a", shape=(None, 3), dtype=np.float32)
    b = tg.parameter(np.arange(3.0), name="b")  # float64
    s = tg.sum(tg.sigmoid(a + b), axis=1)  # numpy promotes to float64
    model = checked_model(s)
    assert "Cast" in [n.op_type for n in model.graph.node]
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    batch = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(run_ort(model, {"a": batch})[0], tg.evaluate(s, {a: batch}), rtol=1e-12)


def test_every_builtin_op_and_attribute():
    x = tg.input("x", shape=(None, 2, 3))
    outs = [
        tg.softmax(x, axis=1), tg.sum(x, axis=(0, 2), keepdims=True), tg.mean(x, axis=-1), tg.sum(x),
        tg.mean(x, axis=()), tg.transpose(x, (1, 2, 0)), x.T, tg.reshape(x, (-1, 6)),
        tg.reshape(tg.parameter(np.zeros((3, 0))), (0, 3)),  # numpy's 0 is a size: ONNX's allowzero=1
        tg.relu(x) - tg.neg(x) ** 2, tg.log(tg.exp(x) + 1), tg.tanh(x) @ tg.parameter(np.ones((3, 4))),
        tg.cast(x, np.int64), tg.cast(x, np.float32) * 0.5,
    ]
    model = checked_model(outs)
    reshapes = [n for n in model.graph.node if n.op_type == "Reshape"]
    assert [a.i for n in reshapes for a in n.attribute if a.name == "allowzero"] == [1]
    batch = np.random.default_rng(3).standard_normal((4, 2, 3))
    for got, want in zip(run_ort(model, {"x": batch}), tg.evaluate(outs, {x: batch})):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_outputs_that_are_inputs_parameters_or_repeated():
    x = tg.input("x", shape=(2,))
    p = tg.parameter(np.ones(2), name="p")
    y = x + p
    model = checked_model([x, p, y, y])
    got = run_ort(model, {"x": np.array([1.0, 2.0])})
    np.testing.assert_array_equal(got[0], [1, 2])
    np.testing.assert_array_equal(got[1], [1, 1])
    np.testing.assert_array_equal(got[2], [2, 3])
    np.testing.assert_array_equal(got[3], [2, 3])


class Square(tg.Op):
    def forward(self, a):
        return a * a


def test_custom_op_without_mapping_is_named():
    x = tg.input("x", shape=(2,))
    y = Square()(x) + Square()(x)
    with pytest.raises(tg.onnx.OnnxExportError, match=r"no ONNX mapping for op\(s\) Square") as e:
        tg.onnx.to_model(y)
    assert "square_0" in str(e.value) and "square_1" in str(e.value)
    assert "test_onnx_export.py" in str(e.value)  # where the user built it
    assert isinstance(e.value, tg.GraphError)


def test_custom_op_with_registered_mapping_exports():
    class Cube(tg.Op):
        def forward(self, a):
            return a * a * a

    @tg.onnx.register_exporter(Cube)
    def _(ctx, node):
        x = ctx.operand(node.inputs[0], node.dtype)
        three = ctx.constant(np.array(3, dtype=node.dtype), "three")
        return ctx.emit("Pow", [x, three], output=ctx.name(node))

    x = tg.input("x", shape=(None,))
    y = Cube()(x) + 1
    model = checked_model(y)
    np.testing.assert_allclose(run_ort(model, {"x": np.array([1.0, 2.0])})[0], [2.0, 9.0])


def test_subclass_of_builtin_exports_as_its_base():
    class TracedMatMul(tg.ops.MatMul):  # as examples/backprop_hooks.py adds backward
        def backward(self, grad, inputs, output):
            a, b = inputs
            return grad @ b.T, a.T @ grad

    x = tg.input("x", shape=(1, 2))
    y = TracedMatMul()(x, tg.parameter(np.eye(2)))
    assert [n.op_type for n in checked_model(y).graph.node] == ["MatMul"]


def test_complex_dtype_is_refused():
    x = tg.input("x", shape=(2,), dtype=np.complex128)
    with pytest.raises(tg.onnx.OnnxExportError, match="complex128"):
        tg.onnx.to_model(x * 2)


def test_dtype_onnx_does_not_define_an_op_for(tmp_path):
    b = tg.input("b", shape=(2,), dtype=np.bool_)
    with pytest.raises(tg.onnx.OnnxExportError, match="fails onnx.checker.*Add"):
        tg.onnx.export(b + b, tmp_path / "bool.onnx")  # numpy: logical or; ONNX Add: no bool
    assert not (tmp_path / "bool.onnx").exists()


@pytest.mark.slow
def test_long_chain_exports():
    x = tg.input("x", shape=(None,))
    y = x
    for _ in range(10_000):
        y = y + 1.0
    model = tg.onnx.to_model(y)  # far deeper than Python's recursion limit: export and load iterate
    assert len(model.graph.node) == 20_000  # an Add and its scalar per step
    back = tg.onnx.load(model)
    assert len(back.nodes) == 20_001
    assert tg.evaluate(back, {"x": np.zeros(2)})[0].tolist() == [10_000.0, 10_000.0]


# --- random graphs ------------------------------------------------------------------------------------


@st.composite
def random_graphs(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    k = draw(st.integers(1, 4))
    x = tg.input("x", shape=(None, k), dtype=dtype)
    u = tg.input("u", shape=(k,), dtype=draw(st.sampled_from([np.float32, np.float64])))
    pool = [x]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    for _ in range(draw(st.integers(1, 8))):
        a = draw(st.sampled_from(pool))
        choice = draw(st.integers(0, 12))
        same = [n for n in pool if n.shape == a.shape]
        if choice == 0:
            n = draw(st.sampled_from([tg.tanh, tg.sigmoid, tg.relu, tg.neg]))(a)
        elif choice == 1:
            n = tg.exp(tg.tanh(a))
        elif choice == 2:
            n = tg.log(tg.sigmoid(a) + draw(st.sampled_from([0.5, 1])))
        elif choice == 3:
            op = draw(st.sampled_from([tg.add, tg.sub, tg.mul]))
            n = op(a, draw(st.sampled_from(same)))
        elif choice == 4:
            n = a / (1.5 + tg.sigmoid(draw(st.sampled_from(same))))
        elif choice == 5:
            n = draw(st.sampled_from([a * 2, 3.0 - a, a ** 2, 0.5 * a, a + 1]))
        elif choice == 6 and a.ndim == 2 and a.shape[1] is not None:
            m = draw(st.integers(1, 4))
            n = a @ tg.parameter(rng.standard_normal((a.shape[1], m)).astype(dtype))
        elif choice == 7 and a.ndim == 2:
            n = tg.softmax(a, axis=draw(st.sampled_from([0, 1, -1])))
        elif choice == 8 and a.ndim == 2:
            n = draw(st.sampled_from([tg.sum, tg.mean]))(a, axis=draw(st.sampled_from([0, 1, None, (0, 1)])),
                                                         keepdims=True)
        elif choice == 9:
            n = a.T
        elif choice == 10 and a.shape == (None, k):
            n = tg.reshape(tg.reshape(a, (-1,)), (-1, k))
        elif choice == 11 and a.shape[-1:] == (k,):
            n = a + u  # the two inputs may differ in dtype: a Cast
        elif choice == 12:
            n = tg.cast(a, draw(st.sampled_from([np.float32, np.float64])))
        else:
            continue
        pool.append(n)
    outputs = [pool[-1]] + draw(st.lists(st.sampled_from(pool[1:] or pool), max_size=2))
    return x, u, outputs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(), st.integers(1, 5))
def test_random_graphs_match_onnxruntime_and_round_trip(graph, batch):
    x, u, outputs = graph
    model = checked_model(outputs)
    rng = np.random.default_rng(batch)
    feeds = {"x": rng.standard_normal((batch, x.shape[1])).astype(x.dtype),
             "u": rng.standard_normal(u.shape).astype(u.dtype)}
    want = tg.evaluate(outputs, {x: feeds["x"], u: feeds["u"]})
    names = {i.name for i in model.graph.input}
    got = run_ort(model, {k: v for k, v in feeds.items() if k in names})
    # onnxruntime's float32 kernels differ from numpy's in the last bits; float64 ones barely.
    tol = 1e-5 if any(n.dtype == np.float32 for n in tg.Graph(outputs).nodes) else 1e-12
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    loaded = tg.onnx.load(model)
    again = tg.evaluate(loaded, {k: v for k, v in feeds.items() if k in {n.name for n in loaded.inputs}})
    for a, w in zip(again, want):
        assert a.dtype == w.dtype
        np.testing.assert_array_equal(a, w)
