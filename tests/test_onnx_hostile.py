"""Hostile and damaged ONNX models: tg.onnx.load raises OnnxImportError, never a foreign exception."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygraph as tg

onnx = pytest.importorskip("onnx")
from onnx import AttributeProto, TensorProto, helper, numpy_helper  # noqa: E402

F = TensorProto.FLOAT


def model(nodes, inputs, outputs, initializers=(), opset=18):
    graph = helper.make_graph(nodes, "m", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def external(location, dims=(4,), **fields):
    w = helper.make_tensor("W", F, list(dims), [0.0] * int(np.prod(dims)))
    w.ClearField("float_data")
    w.data_location = TensorProto.EXTERNAL
    for key, value in {"location": location, **fields}.items():
        entry = w.external_data.add()
        entry.key, entry.value = key, str(value)
    return model([helper.make_node("Identity", ["W"], ["y"])], [], [vi("y", list(dims))], [w])


def import_error(source, *fragments, **kwargs):
    with pytest.raises(tg.onnx.OnnxImportError) as info:
        tg.onnx.load(source, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return info.value


# --- external data (item 2) ----------------------------------------------------------------------------


@pytest.fixture
def secret_in_cwd(tmp_path, monkeypatch):
    """A 16-byte .env in the current directory: what the reproducer read into a parameter."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes(b"API_KEY=hunter2!")
    return tmp_path


@pytest.mark.parametrize("as_bytes", [True, False])
def test_bytes_or_modelproto_do_not_read_external_data_from_the_current_directory(secret_in_cwd, as_bytes):
    m = external(".env")
    source = m.SerializeToString() if as_bytes else m
    import_error(source, "initializer 'W' keeps its data in an external file ('.env')", "pass base_dir=")
    with pytest.raises(tg.onnx.OnnxImportError):
        tg.onnx.from_model(m)


def test_base_dir_names_where_external_data_is(secret_in_cwd, tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "w.bin").write_bytes(np.arange(6, dtype=np.float32).tobytes())
    m = external("w.bin", offset=8, length=16)
    for graph in (tg.onnx.load(m.SerializeToString(), base_dir=folder), tg.onnx.from_model(m, base_dir=str(folder))):
        [y] = tg.evaluate(graph, {})
        assert y.tolist() == [2.0, 3.0, 4.0, 5.0]


def test_a_model_file_reads_external_data_beside_it(tmp_path, monkeypatch):
    w = numpy_helper.from_array(np.arange(64, dtype=np.float32).reshape(8, 8), "W")
    m = model([helper.make_node("MatMul", ["x", "W"], ["y"])], [vi("x", [1, 8])], [vi("y", [1, 8])], [w])
    onnx.save(m, tmp_path / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
              location="m.data", size_threshold=0)
    monkeypatch.chdir("/")  # not the model's folder: its folder is what counts
    [y] = tg.evaluate(tg.onnx.load(tmp_path / "m.onnx"), {"x": np.ones((1, 8), np.float32)})
    assert y.tolist() == [np.arange(64, dtype=np.float32).reshape(8, 8).sum(axis=0).tolist()]


@pytest.mark.parametrize("fields, fragment", [
    ({"offset": -1}, "its offset must be a non-negative integer, got '-1'"),
    ({"offset": "abc"}, "its offset must be a non-negative integer, got 'abc'"),
    ({"offset": "1e3"}, "its offset must be a non-negative integer"),
    ({"length": -5}, "its length must be a non-negative integer"),
    ({"offset": 0, "length": 1000}, "offset 0 and length 1000 go past its end (16 bytes)"),
    ({"offset": 8, "length": 16}, "offset 8 and length 16 go past its end (16 bytes)"),
    ({"offset": 99}, "offset 99 and length 0 go past its end (16 bytes)"),
    ({"length": 8}, "cannot read initializer 'W'"),  # 8 bytes for 4 floats
])
def test_bad_external_data_offsets_and_lengths(tmp_path, fields, fragment):
    (tmp_path / "w.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    onnx.save(external("w.bin", **fields), tmp_path / "m.onnx")
    import_error(tmp_path / "m.onnx", fragment)
    import_error(external("w.bin", **fields), fragment, base_dir=tmp_path)


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/hostname", "a/../../secret.bin", "./w.bin", "",
                                      "sub//w.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path, location):
    (tmp_path / "model").mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 16)
    import_error(external(location), "external data must be a relative path inside the model's folder",
                 base_dir=tmp_path / "model")


def test_external_data_through_a_symlink_is_refused(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 16)
    os.symlink(tmp_path / "secret.bin", tmp_path / "model" / "w.bin")
    os.symlink(tmp_path, tmp_path / "model" / "up")
    import_error(external("w.bin"), "symlink", base_dir=tmp_path / "model")
    import_error(external("up/secret.bin"), "symlink", base_dir=tmp_path / "model")
    onnx.save(external("w.bin"), tmp_path / "model" / "m.onnx")
    import_error(tmp_path / "model" / "m.onnx", "symlink")


def test_external_data_longer_than_the_tensor_is_refused_before_reading(tmp_path):
    (tmp_path / "big.bin").write_bytes(b"\0" * 4096)
    import_error(external("big.bin", dims=(2,)), "4096 bytes for a tensor of 8 bytes", base_dir=tmp_path)
    [y] = tg.evaluate(tg.onnx.load(external("big.bin", dims=(2,), offset=8, length=8), base_dir=tmp_path), {})
    assert y.tolist() == [0.0, 0.0]


def test_missing_external_file(tmp_path):
    import_error(external("nothing.bin"), "no such file in", base_dir=tmp_path)


# --- attributes of the wrong type (item 4) ----------------------------------------------------------------


def attribute(name, value, attr_type):
    a = AttributeProto(name=name, type=attr_type)
    if attr_type == AttributeProto.FLOAT:
        a.f = value
    elif attr_type == AttributeProto.INT:
        a.i = value
    elif attr_type == AttributeProto.STRING:
        a.s = value
    elif attr_type == AttributeProto.INTS:
        a.ints.extend(value)
    elif attr_type == AttributeProto.FLOATS:
        a.floats.extend(value)
    return a


def one_node(op_type, attrs, inputs=("x",), shape=(2, 3), initializers=(), out_shape=None, opset=18):
    node = helper.make_node(op_type, list(inputs), ["y"])
    node.attribute.extend(attrs)
    return model([node], [vi("x", list(shape))], [vi("y", None)], initializers, opset)


@pytest.mark.parametrize("op_type, attr, fragment", [
    ("Cast", attribute("to", float("inf"), AttributeProto.FLOAT), "attribute to must be of type INT, got FLOAT"),
    ("Softmax", attribute("axis", float("inf"), AttributeProto.FLOAT), "attribute axis must be of type INT"),
    ("Softmax", attribute("axis", 1.5, AttributeProto.FLOAT), "attribute axis must be of type INT, got FLOAT"),
    ("Transpose", attribute("perm", b"10", AttributeProto.STRING), "attribute perm must be of type INTS, got STRING"),
    ("ReduceSum", attribute("keepdims", 2, AttributeProto.INT), "attribute keepdims must be 0 or 1, got 2"),
    ("ReduceSum", attribute("keepdims", b"1", AttributeProto.STRING), "keepdims must be of type INT"),
])
def test_loosely_typed_attributes_are_refused(op_type, attr, fragment):
    import_error(one_node(op_type, [attr]), f"({op_type}, opset 18)", fragment)


@pytest.mark.parametrize("attr, fragment", [
    (attribute("transB", b"1", AttributeProto.STRING), "attribute transB must be of type INT, got STRING"),
    (attribute("transA", 1.0, AttributeProto.FLOAT), "attribute transA must be of type INT, got FLOAT"),
    (attribute("alpha", 2, AttributeProto.INT), "attribute alpha must be of type FLOAT, got INT"),
])
def test_gemm_attributes_must_have_their_types(attr, fragment):
    w = numpy_helper.from_array(np.ones((3, 3), np.float32), "w")
    import_error(one_node("Gemm", [attr], inputs=("x", "w"), initializers=[w]), fragment)


def test_cast_to_a_huge_int_is_an_import_error():
    import_error(one_node("Cast", [attribute("to", 2**62, AttributeProto.INT)]), "Cast to element type #")


@pytest.mark.parametrize("values, fragment", [
    (np.array([1.5], np.float32), "its axes (operand 1) must be integers, got a float32 tensor"),
    (np.array([np.inf], np.float64), "must be integers, got a float64 tensor"),
])
def test_float_axes_are_refused_not_rounded(values, fragment):
    axes = numpy_helper.from_array(values, "axes")
    import_error(one_node("ReduceSum", [], inputs=("x", "axes"), initializers=[axes]), fragment)


def test_float_reshape_target_is_refused():
    target = numpy_helper.from_array(np.array([3.0, 2.0]), "shape")
    import_error(one_node("Reshape", [], inputs=("x", "shape"), initializers=[target]), "must be integers")


def test_the_right_types_still_import():
    m = one_node("Softmax", [attribute("axis", 0, AttributeProto.INT)])
    [y] = tg.evaluate(tg.onnx.load(m), {"x": np.zeros((2, 3), np.float32)})
    assert np.allclose(y, 0.5)


# --- shape conflicts are import errors (item 4) --------------------------------------------------------


def test_shape_conflict_is_an_onnx_shape_error():
    w = numpy_helper.from_array(np.ones((4, 5), np.float32), "w")
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [vi("x", [2, 3])], [vi("y", None)], [w])
    error = import_error(m, "ONNX node 'mm' (MatMul, opset 18)")
    assert isinstance(error, tg.onnx.OnnxShapeError) and isinstance(error, tg.ShapeError)
    assert isinstance(error.__cause__, tg.ShapeError)


@pytest.mark.parametrize("axis", [2**62, -(2**62), 7])
def test_softmax_axis_out_of_range(axis):
    import_error(one_node("Softmax", [attribute("axis", axis, AttributeProto.INT)]), "(Softmax, opset 18)")


def test_two_graph_inputs_of_one_name():
    m = model([helper.make_node("Add", ["x", "x"], ["y"])], [vi("x", [2]), vi("x", [3])], [vi("y", None)])
    import_error(m, "tensor 'x' is defined twice")


def test_a_node_output_redefining_a_tensor():
    m = model([helper.make_node("Relu", ["x"], ["x"], name="again")], [vi("x", [2])], [vi("x", None)])
    import_error(m, "ONNX node 'again' (Relu, opset 18): tensor 'x' is defined twice (ONNX graphs")


# --- fuzzing ---------------------------------------------------------------------------------------------


def seed_model():
    rng = np.random.default_rng(0)
    x = tg.input("x", shape=(None, 4), dtype=np.float32)
    W = tg.parameter(rng.normal(size=(4, 3)).astype(np.float32), name="W")
    h = tg.softmax(tg.sigmoid(x @ W + 1.0), axis=1)
    y = tg.sum(tg.reshape(tg.transpose(h), (-1, 2)), axis=0, keepdims=True)
    return tg.onnx.to_model([y, tg.cast(tg.mean(h, axis=1), np.float64)])


SEED = seed_model()
SEED_BYTES = SEED.SerializeToString()
ATTR_VALUES = st.one_of(
    st.builds(lambda v: ("i", v), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: ("f", v), st.floats(width=32)),
    st.builds(lambda v: ("s", v), st.binary(max_size=4)),
    st.builds(lambda v: ("ints", v), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4)),
)


def mutate_structure(m, data):
    """Change what a byte flip rarely reaches: attributes, dims, operand names, initializer bytes."""
    graph = m.graph
    for _ in range(data.draw(st.integers(1, 3))):
        what = data.draw(st.sampled_from(["attribute", "dim", "operand", "initializer", "elem_type"]))
        if what == "attribute" and graph.node:
            node = data.draw(st.sampled_from(list(graph.node)))
            kind, value = data.draw(ATTR_VALUES)
            name = data.draw(st.sampled_from(["axis", "to", "perm", "keepdims", "transA", "alpha", "allowzero",
                                              "noop_with_empty_axes", "value_int", "value_float"]))
            del node.attribute[:]
            if kind == "i":
                node.attribute.append(attribute(name, value, AttributeProto.INT))
            elif kind == "f":
                node.attribute.append(attribute(name, value, AttributeProto.FLOAT))
            elif kind == "s":
                node.attribute.append(attribute(name, value, AttributeProto.STRING))
            else:
                node.attribute.append(attribute(name, value, AttributeProto.INTS))
        elif what == "dim":
            dims = [d for v in graph.input for d in v.type.tensor_type.shape.dim]
            if dims:
                data.draw(st.sampled_from(dims)).dim_value = data.draw(st.integers(-3, 2**40))
        elif what == "operand" and graph.node:
            node = data.draw(st.sampled_from(list(graph.node)))
            names = [v.name for v in graph.input] + [t.name for t in graph.initializer] + [o for n in graph.node
                                                                                           for o in n.output]
            if node.input:
                node.input[data.draw(st.integers(0, len(node.input) - 1))] = data.draw(st.sampled_from(names + [""]))
        elif what == "initializer" and graph.initializer:
            t = data.draw(st.sampled_from(list(graph.initializer)))
            if data.draw(st.booleans()):
                t.raw_data = data.draw(st.binary(max_size=64))
            else:
                del t.dims[:]
                t.dims.extend(data.draw(st.lists(st.integers(0, 2**20), max_size=3)))
        elif what == "elem_type" and graph.input:
            graph.input[0].type.tensor_type.elem_type = data.draw(st.integers(0, 30))


def assert_only_import_errors(source):
    try:
        graph = tg.onnx.load(source)
    except tg.onnx.OnnxImportError:
        return
    assert isinstance(graph, tg.Graph)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_bytes_only_import_errors(data):
    raw = bytearray(SEED_BYTES)
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    assert_only_import_errors(bytes(raw))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_structure_only_import_errors(data):
    m = onnx.ModelProto()
    m.CopyFrom(SEED)
    mutate_structure(m, data)
    assert_only_import_errors(m.SerializeToString())


def test_onnx_md_documents_what_the_importer_does():
    docs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "onnx.md")
    with open(docs, encoding="utf-8") as f:
        text = f.read()
    for helper_name in ["int_attr", "bool_attr", "float_attr", "ints_attr", "floats_attr", "tensor_attr",
                        "static_ints"]:
        assert f"ctx.{helper_name}" in text and callable(getattr(tg.onnx.ImportContext, helper_name))
    assert "external data is **refused** unless the caller names" in text  # test_bytes_or_modelproto_...
    assert "`OnnxShapeError`" in text and issubclass(tg.onnx.OnnxShapeError, tg.ShapeError)
    assert issubclass(tg.onnx.OnnxShapeError, tg.onnx.OnnxImportError)
