"""tg.onnx.load: what it imports (checked against onnxruntime) and how it refuses what it can't."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

F = TensorProto.FLOAT


def model(nodes, inputs, outputs, initializers=(), opset=18):
    graph = helper.make_graph(nodes, "m", inputs, outputs, initializer=list(initializers))
    m = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", opset)])
    # The checker wants every graph input and output to declare a shape; some tests leave one out.
    if all(v.type.tensor_type.HasField("shape") for v in [*graph.input, *graph.output]):
        onnx.checker.check_model(m, full_check=True)
    return m


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def ort_run(m, feeds):
    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_inputs_dims_dtypes_and_parameters():
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), "w")
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
              [vi("x", ["batch", 3])], [vi("y", ["batch", 2])], [w])
    g = tg.onnx.load(m)
    (x,) = g.inputs
    assert x.name == "x" and x.shape == (None, 3) and x.dtype == np.float32
    assert [p.name for p in g.parameters] == ["w"]
    np.testing.assert_array_equal(g.parameters[0].value, np.arange(6).reshape(3, 2))
    assert g.outputs[0].name == "y" and g.outputs[0].shape == (None, 2)
    batch = np.ones((4, 3), np.float32)
    np.testing.assert_array_equal(tg.evaluate(g, {"x": batch})[0], ort_run(m, {"x": batch})[0])


def test_every_unsupported_op_is_listed_at_once():
    # Op types tinygraph has no importer for (local response normalization, Lp pooling, max unpooling).
    nodes = [
        helper.make_node("LRN", ["x"], ["c1"], size=3, name="lrn1"),
        helper.make_node("Relu", ["c1"], ["r"]),
        helper.make_node("LRN", ["r"], ["c2"], size=3, name="lrn2"),
        helper.make_node("LpPool", ["c2"], ["p"], kernel_shape=[2, 2], name="pool"),
        helper.make_node("MaxUnpool", ["p", "w"], ["y"], kernel_shape=[2, 2], name="unpool"),
    ]
    w = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.int64), "w")
    m = model(nodes, [vi("x", [1, 1, 4, 4])], [vi("y", None)], [w])
    with pytest.raises(tg.onnx.UnsupportedOpsError) as e:
        tg.onnx.load(m)
    msg = str(e.value)
    assert "3 ONNX op type(s)" in msg
    for part in ("LRN (2 nodes: lrn1, lrn2)", "MaxUnpool (1 node: unpool)", "LpPool (1 node: pool)"):
        assert part in msg
    assert "Relu" not in msg.split("Supported")[0]
    assert e.value.ops == {"LRN": ["lrn1", "lrn2"], "LpPool": ["pool"], "MaxUnpool": ["unpool"]}
    assert isinstance(e.value, tg.GraphError)


def test_custom_domain_op_is_unsupported():
    node = helper.make_node("Gelu", ["x"], ["y"], domain="com.microsoft")
    graph = helper.make_graph([node], "m", [vi("x", [2])], [vi("y", [2])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)])
    with pytest.raises(tg.onnx.UnsupportedOpsError, match="com.microsoft.Gelu"):
        tg.onnx.load(m)


@pytest.mark.parametrize("attr, value, expected", [
    ("value_float", 2.5, np.float32(2.5)),
    ("value_floats", [1.0, 2.0], np.array([1, 2], np.float32)),
    ("value_int", 3, np.int64(3)),
    ("value_ints", [4, 5], np.array([4, 5], np.int64)),
    ("value", numpy_helper.from_array(np.eye(2)), np.eye(2)),
])
def test_constant_attributes(attr, value, expected):
    m = model([helper.make_node("Constant", [], ["c"], **{attr: value})], [],
              [helper.make_tensor_value_info("c", helper.np_dtype_to_tensor_dtype(np.asarray(expected).dtype), None)])
    g = tg.onnx.load(m)
    assert [n.name for n in g.constants] == ["c"] and not g.parameters
    got = tg.evaluate(g)[0]
    assert got.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(got, expected)


def test_reshape_zero_copies_a_symbolic_dim():
    shape = numpy_helper.from_array(np.array([0, -1], np.int64), "shape")
    m = model([helper.make_node("Reshape", ["x", "shape"], ["y"])], [vi("x", ["n", 4, 5])], [vi("y", None)], [shape])
    g = tg.onnx.load(m)
    assert g.outputs[0].shape == (None, 20)
    assert not g.parameters  # an initializer used only as a shape is not a parameter
    batch = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(tg.evaluate(g, {"x": batch})[0], ort_run(m, {"x": batch})[0])


def test_reshape_that_cannot_be_static_says_so():
    shape = numpy_helper.from_array(np.array([0, 0, -1], np.int64), "shape")
    m = model([helper.make_node("Reshape", ["x", "shape"], ["y"])], [vi("x", ["n", "m", 5])], [vi("y", None)], [shape])
    with pytest.raises(tg.onnx.OnnxImportError, match="shapes="):
        tg.onnx.load(m)
    g = tg.onnx.load(m, shapes={"x": (None, 3, 5)})  # one unknown dim left: expressible
    assert g.outputs[0].shape == (None, 3, 5)


def test_a_shape_from_a_graph_input_is_a_run_time_operand_or_a_constant():
    m = model([helper.make_node("Reshape", ["x", "s"], ["y"])], [vi("x", [2, 3]), vi("s", [1], TensorProto.INT64)],
              [vi("y", None)])
    g = tg.onnx.load(m)  # the target's length gives the rank; its value comes at run time
    assert [n.name for n in g.inputs] == ["x", "s"] and g.outputs[0].shape == (None,)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tg.evaluate(g, {"x": x, "s": np.array([6])})[0], x.reshape(6))
    with pytest.raises(tg.ExecutionError, match="y"):
        tg.evaluate(g, {"x": x, "s": np.array([5])})
    g = tg.onnx.load(m, constants={"s": [6]})
    assert [n.name for n in g.inputs] == ["x"] and g.outputs[0].shape == (6,)
    with pytest.raises(tg.onnx.OnnxImportError, match="not inputs of the model"):
        tg.onnx.load(m, constants={"nope": 1})


def test_legacy_softmax_flattens_at_axis():
    # Before opset 13, Softmax(axis=1) of a [n, 3, 4] input normalises over 12 values per row.
    m = model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [vi("x", ["n", 3, 4])], [vi("y", None)], opset=11)
    g = tg.onnx.load(m)
    batch = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    got = tg.evaluate(g, {"x": batch})[0]
    np.testing.assert_allclose(got.reshape(2, -1).sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(got, ort_run(m, {"x": batch})[0], rtol=1e-6)
    m13 = model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [vi("x", ["n", 3, 4])], [vi("y", None)], opset=13)
    np.testing.assert_allclose(tg.evaluate(tg.onnx.load(m13), {"x": batch})[0].sum(axis=1), 1, rtol=1e-6)


def test_legacy_softmax_with_unknown_inner_dims_is_refused():
    m = model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [vi("x", [2, "a", 4])], [vi("y", None)], opset=11)
    with pytest.raises(tg.onnx.OnnxImportError, match="Softmax over axes 1"):
        tg.onnx.load(m)


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_reduce_mean_axes_by_opset(opset):
    if opset >= 18:
        axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
        node, inits = helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0), [axes]
    else:
        node, inits = helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0), []
    m = model([node], [vi("x", [2, 3])], [vi("y", None)], inits, opset=opset)
    batch = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(tg.evaluate(tg.onnx.load(m), {"x": batch})[0], [1, 4])


def test_reduce_sum_noop_with_empty_axes():
    m = model([helper.make_node("ReduceSum", ["x"], ["y"], noop_with_empty_axes=1)], [vi("x", [2])], [vi("y", None)])
    np.testing.assert_array_equal(tg.evaluate(tg.onnx.load(m), {"x": np.array([1, 2], np.float32)})[0], [1, 2])


def test_gemm_is_lowered_and_named():
    a = numpy_helper.from_array(np.ones((3, 2), np.float32), "B")
    c = numpy_helper.from_array(np.ones(3, np.float32), "C")
    m = model([helper.make_node("Gemm", ["x", "B", "C"], ["y"], transB=1, alpha=2.0, beta=0.5, name="fc")],
              [vi("x", ["n", 2])], [vi("y", ["n", 3])], [a, c])
    g = tg.onnx.load(m)
    assert [n.op.kind for n in g.nodes if n.inputs] == ["transpose", "matmul", "mul", "mul", "add"]
    assert g.outputs[0].name == "y"
    batch = np.random.default_rng(2).standard_normal((4, 2)).astype(np.float32)
    np.testing.assert_allclose(tg.evaluate(g, {"x": batch})[0], ort_run(m, {"x": batch})[0], rtol=1e-6)


def test_integer_div_truncates_like_onnx():
    m = model([helper.make_node("Div", ["a", "b"], ["y"])], [vi("a", [4], TensorProto.INT32),
              vi("b", [4], TensorProto.INT32)], [vi("y", [4], TensorProto.INT32)])
    feeds = {"a": np.array([7, -7, 9, -1], np.int32), "b": np.array([2, 2, -4, 3], np.int32)}
    got = tg.evaluate(tg.onnx.load(m), feeds)[0]
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [3, -3, -2, 0])
    np.testing.assert_array_equal(got, ort_run(m, feeds)[0])


def test_non_tensor_input_and_no_rank():
    seq = helper.make_tensor_sequence_value_info("s", F, None)
    m = helper.make_model(helper.make_graph([helper.make_node("Identity", ["s"], ["y"])], "m", [seq],
                                            [helper.make_tensor_sequence_value_info("y", F, None)]))
    with pytest.raises(tg.onnx.OnnxImportError, match="'s' is a sequence_type"):
        tg.onnx.load(m)
    m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", None)], [vi("y", None)])
    with pytest.raises(tg.onnx.OnnxImportError, match=r"no known rank; pass shapes="):
        tg.onnx.load(m)
    assert tg.onnx.load(m, shapes={"x": (None, 2)}).inputs[0].shape == (None, 2)


def test_damaged_file(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07\x12\xff\xff this is not a protobuf")
    with pytest.raises(tg.onnx.OnnxImportError, match="not a readable ONNX model"):
        tg.onnx.load(path)


def test_undefined_operand():
    node = helper.make_node("Relu", ["ghost"], ["y"], name="r")
    m = helper.make_model(helper.make_graph([node], "m", [vi("x", [2])], [vi("y", [2])]))
    with pytest.raises(tg.onnx.OnnxImportError, match="'ghost' is not a graph input"):
        tg.onnx.load(m)


def test_custom_importer():
    @tg.onnx.register_importer("Softplus")
    def _(ctx):
        return [tg.log(tg.exp(ctx.input(0)) + 1, name=ctx.name())]

    try:
        m = model([helper.make_node("Softplus", ["x"], ["y"])], [vi("x", [3])], [vi("y", [3])])
        x = np.array([-1.0, 0.0, 2.0], np.float32)
        np.testing.assert_allclose(tg.evaluate(tg.onnx.load(m), {"x": x})[0], ort_run(m, {"x": x})[0], rtol=1e-6)
    finally:
        from tinygraph.onnx import importer

        del importer._IMPORTERS["Softplus"]


def test_without_onnx_installed_the_error_names_the_extra():
    code = (
        "import sys; sys.modules['onnx'] = None\n"
        "import tinygraph as tg\n"
        "x = tg.input('x', shape=(2,))\n"
        "try:\n"
        "    tg.onnx.export(x + 1, 'never.onnx')\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("ModuleNotFoundError") and "pip install 'tinygraph[onnx]'" in out


def _textbook_bytes():
    rng = np.random.default_rng(0)
    x = tg.input("x", shape=(None, 2))
    net = tg.nn.Sequential(tg.nn.Affine.init(2, 4, rng=rng), tg.nn.Sigmoid(), tg.nn.Affine.init(4, 3, rng=rng),
                           tg.nn.Softmax())
    y = tg.reshape(tg.sum(net(x), axis=1, keepdims=True), (-1,))
    return tg.onnx.to_model(y).SerializeToString()


TEXTBOOK_BYTES = _textbook_bytes()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzzed_files_raise_graph_errors_only(data):
    raw = bytearray(TEXTBOOK_BYTES)
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        g = tg.onnx.load(bytes(raw))
    except tg.GraphError:
        return
    # What loads must evaluate, or fail with a tinygraph error (a value may have changed).
    try:
        with np.errstate(all="ignore"):
            tg.evaluate(g, {n.name: np.zeros([1 if d is None else d for d in n.shape], n.dtype) for n in g.inputs})
    except tg.GraphError:
        pass


def test_onnx_model_with_bad_external_data_is_an_import_error(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    weight = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../../etc/hostname"
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [weight],
    )
    path = tmp_path / "ext.onnx"
    onnx.save(helper.make_model(graph), path)
    with pytest.raises(tg.GraphError, match="external data"):
        tg.onnx.load(path)


def test_a_nodes_later_outputs_keep_their_own_onnx_types():
    # Only the first output takes the first operand's type: LayerNormalization's statistics
    # of a float16 input are float32 (stash_type=1), as ONNX specifies.
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("LayerNormalization", ["x", "s", "b"], ["y", "mean", "inv"], axis=-1)
    graph = helper.make_graph(
        [node], "ln",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT16, shape) for n, shape in
         (("x", [2, 4]), ("s", [4]), ("b", [4]))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2, 4]),
         helper.make_tensor_value_info("mean", TensorProto.FLOAT, [2, 1]),
         helper.make_tensor_value_info("inv", TensorProto.FLOAT, [2, 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    g = tg.onnx.load(model)
    x = np.array([[1, 2, 3, 4], [0.5, -1, 2, 8]], dtype=np.float16)
    y, mean, inv = tg.evaluate(g, {"x": x, "s": np.ones(4, np.float16), "b": np.zeros(4, np.float16)})
    assert (y.dtype, mean.dtype, inv.dtype) == (np.float16, np.float32, np.float32)
    x32 = x.astype(np.float32)
    np.testing.assert_allclose(mean[:, 0], x32.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(inv[:, 0], 1 / np.sqrt(x32.var(axis=1) + 1e-5), rtol=1e-5)
    assert onnx is not None
