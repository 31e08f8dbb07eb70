"""Damaged and hostile files: each raises tg.FormatError saying what is wrong, never anything else."""

import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygraph as tg
from tinygraph import io as tgio
from tinygraph import registry


def valid_file():
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.arange(6.0).reshape(2, 3), name="W")
    with tg.scope("layer"):
        y = tg.sigmoid(x @ W + 1.5)
    flat = tg.reshape(tg.transpose(y, (1, 0)), (-1,), name="flat")
    return tg.dumps([tg.sum(y, axis=1), tg.mean(flat * (2 - 1j), axis=(0,), keepdims=True)])


VALID = valid_file()


def entries(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def make_zip(files, compress=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compress) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def with_description(edit, data=VALID):
    """The valid file with graph.json changed in place by edit(description)."""
    files = entries(data)
    description = json.loads(files["graph.json"])
    edit(description)
    files["graph.json"] = json.dumps(description).encode()
    return make_zip(files)


def node(description, op):
    return next(n for n in description["nodes"] if n["op"] == op)


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def expect_error(data, *fragments):
    with pytest.raises(tg.FormatError) as info:
        tg.loads(data)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_the_valid_file_loads():
    assert tg.loads(VALID).outputs[0].shape == (None,)


@pytest.mark.parametrize("cut", [0, 1, 10, 100, len(VALID) // 2, len(VALID) - 22, len(VALID) - 1])
def test_truncated_file(cut):
    expect_error(VALID[:cut], "not a tinygraph file")


def test_not_a_zip(tmp_path):
    path = tmp_path / "net.tg"
    path.write_text("graph(x): return x\n")
    expect_error(path.read_bytes(), "not a readable zip")
    with pytest.raises(tg.FormatError, match="net.tg is not a tinygraph file"):
        tg.load(path)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        tg.load(tmp_path / "nowhere.tg")


def test_zip_without_description():
    expect_error(make_zip({"weights.npy": npy_bytes(np.zeros(2))}), "has no graph.json")


@pytest.mark.parametrize("content", [b"\xff\xfe{", b"{nodes: 1}", b"[1, 2", b"", b'"tinygraph"'])
def test_description_is_not_json(content):
    files = entries(VALID)
    files["graph.json"] = content
    expect_error(make_zip(files))


def test_not_a_tinygraph_description():
    expect_error(with_description(lambda d: d.update(format="onnx")), "not a tinygraph description")


def test_newer_format_version():
    expect_error(with_description(lambda d: d.update(version=2)), "format version 2", "upgrade tinygraph")


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, None, True])
def test_invalid_format_version(version):
    expect_error(with_description(lambda d: d.update(version=version)), "version")


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("id", "3", "id must be an int"),
        ("id", True, "id must be an int"),
        ("op", 7, "op must be a non-empty string"),
        ("name", 12, "name must be a non-empty string or null"),
        ("name", "", "name must be a non-empty string or null"),
        ("inputs", [0.0], "inputs must be a list of node ids"),
        ("inputs", {"0": 1}, "inputs must be a list of node ids"),
        ("shape", ["2", 3], "shape must be a list"),
        ("shape", [-1, 3], "shape must be a list"),
        ("shape", 6, "shape must be a list"),
        ("dtype", "object", "unknown dtype 'object'"),
        ("dtype", "O", "unknown dtype 'O'"),
        ("dtype", ["f8"], "unknown dtype"),
        ("weak", "no", "weak must be true or false"),
        ("scope", "layer", "scope must be a list"),
        ("scope", [""], "scope must be a list"),
        ("attributes", [1], "attributes must be an object"),
        ("array", 5, "array must be a string key"),
    ],
)
def test_wrong_json_types(field, value, fragment):
    def edit(d):
        node(d, "Parameter")[field] = value

    expect_error(with_description(edit), fragment)


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda d: d.update(nodes={}), "'nodes' must be a non-empty list"),
        (lambda d: d.update(nodes=[]), "'nodes' must be a non-empty list"),
        (lambda d: d["nodes"].append(3), "is a int, not an object"),
        (lambda d: d.update(outputs=[]), "'outputs' must be a non-empty list"),
        (lambda d: d.update(outputs=["0"]), "'outputs' must be a non-empty list"),
        (lambda d: d.update(outputs=[99]), "output 99 is not the id of a node"),
        (lambda d: d.pop("outputs"), "lacks outputs"),
        (lambda d: d.update(comment="hi"), "unknown field(s) comment"),
        (lambda d: d["nodes"][0].pop("shape"), "lacks shape"),
        (lambda d: d["nodes"][0].update(colour="red"), "unknown field(s) colour"),
    ],
)
def test_wrong_structure(edit, fragment):
    expect_error(with_description(edit), fragment)


def test_node_naming_a_missing_input():
    def edit(d):
        node(d, "Sigmoid")["inputs"] = [42]

    expect_error(with_description(edit), "names input 42, which is not in the file")


def test_cycle():
    def edit(d):
        add, sig = node(d, "Add"), node(d, "Sigmoid")
        add["inputs"][0] = sig["id"]  # sigmoid(add(sigmoid(...), c)): a loop of two nodes

    expect_error(with_description(edit), "the nodes form a cycle")


def test_self_loop():
    def edit(d):
        sig = node(d, "Sigmoid")
        sig["inputs"] = [sig["id"]]

    message = expect_error(with_description(edit), "the nodes form a cycle")
    sig_id = node(json.loads(entries(VALID)["graph.json"]), "Sigmoid")["id"]
    assert f"{sig_id} <- {sig_id}" in message


def test_duplicate_ids():
    def edit(d):
        node(d, "Sigmoid")["id"] = node(d, "Add")["id"]

    expect_error(with_description(edit), "two nodes have id")


def test_duplicate_json_keys():
    files = entries(VALID)
    text = files["graph.json"].decode()
    files["graph.json"] = text.replace('"version":1', '"version":1,"version":1').encode()
    expect_error(make_zip(files), "repeated key")


def test_non_json_number_tokens():
    files = entries(VALID)
    files["graph.json"] = files["graph.json"].decode().replace('"value":1.5', '"value":NaN').encode()
    expect_error(make_zip(files), "NaN, which is not JSON")


def test_deeply_nested_json():
    files = entries(VALID)
    files["graph.json"] = b"[" * 200_000 + b"]" * 200_000
    expect_error(make_zip(files, zipfile.ZIP_DEFLATED), "graph.json is damaged")


def test_deeply_nested_attribute():
    def edit(d):
        value = 1
        for _ in range(100):
            value = [value]
        node(d, "Sum")["attributes"]["axis"] = value

    expect_error(with_description(edit), "nested deeper than")


def test_huge_integer_literal():
    files = entries(VALID)
    files["graph.json"] = files["graph.json"].decode().replace('"value":1.5', '"value":' + "9" * 5000).encode()
    expect_error(make_zip(files), "graph.json is damaged")


@pytest.mark.parametrize("shape", [[10**30, 2], [1] * 65, [2**62 + 1]])
def test_absurd_shape(shape):
    def edit(d):
        node(d, "Input")["shape"] = shape

    expect_error(with_description(edit), "shape must be a list of at most 64 sizes")


def test_parameter_declaring_a_huge_shape_is_refused_before_allocating():
    def edit(d):
        node(d, "Parameter")["shape"] = [2**40, 2**20]

    expect_error(with_description(edit), "holds float64[2, 3] but the node declares float64[1099511627776, 1048576]")


def test_array_header_declaring_more_data_than_the_entry_holds():
    """Header and JSON agree on a 48-terabyte array; the entry holds 48 bytes: refused before allocating."""
    files = entries(with_description(lambda d: node(d, "Parameter").update(shape=[2, 3 * 10**12])))
    key = next(k for k in files if k.startswith("arrays/"))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2, 3 * 10**12)})
    files[key] = header.getvalue() + np.zeros(6).tobytes()
    expect_error(make_zip(files), "declares 48000000000000 bytes of data but the entry holds 48")


def test_array_entry_cut_short():
    files = entries(VALID)
    key = next(k for k in files if k.startswith("arrays/"))
    files[key] = files[key][:-8]
    expect_error(make_zip(files), "declares 48 bytes of data but the entry holds 40")


def test_graph_json_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(tgio, "MAX_JSON_BYTES", 100)
    expect_error(VALID, "over the 100-byte limit")


def test_array_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(tgio, "MAX_ARRAY_BYTES", 40)
    expect_error(VALID, "limit 40")


def test_object_array_is_refused_without_unpickling():
    files = entries(VALID)
    key = next(k for k in files if k.startswith("arrays/"))
    files[key] = npy_bytes(np.array([print, 2], dtype=object), allow_pickle=True)
    expect_error(make_zip(files), "dtype object can't be saved")


def test_array_dtype_differs_from_declared_spec():
    files = entries(VALID)
    key = next(k for k in files if k.startswith("arrays/"))
    files[key] = npy_bytes(np.zeros((2, 3), dtype=np.float32))
    expect_error(make_zip(files), "holds float32[2, 3] but the node declares float64[2, 3]")


def test_structured_array_is_refused():
    files = entries(VALID)
    key = next(k for k in files if k.startswith("arrays/"))
    files[key] = npy_bytes(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]))
    expect_error(make_zip(files), "can't be saved")


def test_compressed_array_is_refused():
    files = entries(VALID)
    expect_error(make_zip(files, zipfile.ZIP_DEFLATED), "arrays must be stored uncompressed")


def test_missing_array_entry():
    files = entries(VALID)
    del files[next(k for k in files if k.startswith("arrays/"))]
    expect_error(make_zip(files), "is missing from the archive")


def test_unexpected_archive_entry():
    files = entries(VALID)
    files["payload.py"] = b"import os"
    expect_error(make_zip(files), "unexpected entries in the archive: 'payload.py'")


def test_array_key_with_a_path():
    def edit(d):
        node(d, "Parameter")["array"] = "../../etc/passwd"

    expect_error(with_description(edit), "keys are 1-64 of")


def test_corrupted_array_bytes_fail_the_checksum():
    data = bytearray(VALID)
    marker = np.arange(6.0).reshape(2, 3).tobytes()
    at = bytes(data).index(marker)
    data[at + 3] ^= 0xFF
    expect_error(bytes(data), "damaged")


def test_unknown_op_names_it_and_how_to_register():
    def edit(d):
        node(d, "Sigmoid")["op"] = "mylib.activations:Swish"

    expect_error(with_description(edit), "unknown op 'mylib.activations:Swish'",
                 "tg.register_op(TheOpClass, name='mylib.activations:Swish')")


@pytest.mark.parametrize(
    "op, attributes, fragment",
    [
        ("Sum", {"axis": "rows"}, "Sum(**{'axis': 'rows'}) fails: TypeError: Sum: expected an int"),
        ("Sum", {"axis": 5, "keepdims": False}, "its op rejects its inputs"),
        ("Sum", {"axis": 1, "keepdims": False, "dtype": "f8"}, "unexpected keyword argument 'dtype'"),
        ("Sum", {"axis": {"tuple": "x"}, "keepdims": False}, "malformed tagged value"),
        ("Sum", {"axis": {"float": "big"}, "keepdims": False}, "expected a float"),
    ],
)
def test_attributes_that_make_construction_fail(op, attributes, fragment):
    def edit(d):
        node(d, op)["attributes"] = attributes

    expect_error(with_description(edit), fragment)


def test_wrong_number_of_inputs():
    def edit(d):
        add = node(d, "Add")
        add["inputs"] = add["inputs"][:1]

    expect_error(with_description(edit), "has 1 input(s); the op takes 2")


def test_leaf_with_inputs():
    def edit(d):
        node(d, "Parameter")["inputs"] = [node(d, "Input")["id"]]

    expect_error(with_description(edit), "(Parameter) has 1 input(s); the op takes 0")


def test_declared_spec_differs_from_what_the_op_gives():
    def edit(d):
        node(d, "MatMul")["shape"] = [None, 4]

    expect_error(with_description(edit), "declares f64[?,4] but its op and inputs give f64[?,3]")


def test_weak_flag_differs_from_the_value():
    def edit(d):
        node(d, "Constant")["weak"] = False

    expect_error(with_description(edit), "(weak)")


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda c: c.update(value={"complex": [1]}), "malformed tagged value"),
        (lambda c: c.update(value="1.5"), "a scalar constant must be"),
        (lambda c: c.pop("value"), "either an array or a scalar value"),
    ],
)
def test_bad_scalar_constant(edit, fragment):
    expect_error(with_description(lambda d: edit(node(d, "Constant"))), fragment)


def test_parameter_without_array():
    files = entries(with_description(lambda d: node(d, "Parameter").pop("array")))
    del files[next(k for k in files if k.startswith("arrays/"))]
    expect_error(make_zip(files), "a parameter needs an array")


def test_parameter_with_a_scalar_value():
    expect_error(with_description(lambda d: node(d, "Parameter").update(value=1)), "a parameter needs an array")


def test_op_node_holding_a_value():
    expect_error(with_description(lambda d: node(d, "Sigmoid").update(value=1)), "only parameters and constants")


def test_leaf_with_attributes():
    expect_error(with_description(lambda d: node(d, "Input").update(attributes={"shape": [3]})),
                 "Input nodes have no attributes, got ['shape']")


def test_unnamed_input():
    expect_error(with_description(lambda d: node(d, "Input").update(name=None)), "an input needs a name")


def test_two_inputs_with_one_name():
    x = tg.input("x", shape=(2,))
    z = tg.input("z", shape=(2,))
    data = tg.dumps(x + z)

    def edit(d):
        node(d, "Input")["name"] = "z"

    expect_error(with_description(edit, data), "two different inputs are named 'z'")


def test_shared_array_key():
    x = tg.parameter(np.zeros(2), name="a")
    data = tg.dumps(x + tg.parameter(np.ones(2), name="b"))

    def edit(d):
        for n in d["nodes"]:
            if n["op"] == "Parameter":
                n["array"] = "0"

    expect_error(with_description(edit, data), "shares array '0'")


# --- fuzzing ---------------------------------------------------------------------------------------


def load_or_format_error(data):
    # Only FormatError: any other exception, GraphError or not, is a loader bug.
    try:
        graph = tg.loads(data)
    except tg.FormatError:
        return None
    assert isinstance(graph, tg.Graph)
    return graph


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(VALID)))
def test_fuzz_bytes(changes, length):
    data = bytearray(VALID)
    for at, byte in changes:
        data[at] = byte
    load_or_format_error(bytes(data[:length]))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = ["id", "op", "name", "inputs", "shape", "dtype", "weak", "scope", "attributes", "array", "value",
        "axis", "keepdims", "format", "version", "nodes", "outputs", "tuple", "float", "complex"]


@st.composite
def mutated_descriptions(draw):
    description = json.loads(entries(VALID)["graph.json"])
    if draw(st.booleans()):
        # any registered op (built-in or added by another module) in place of a node's own
        target = draw(st.sampled_from(description["nodes"]))
        target["op"] = draw(st.sampled_from(sorted(registry.registered_ops())))
        target["attributes"] = draw(st.dictionaries(st.sampled_from(KEYS + ["axes", "shape"]), json_values, max_size=2))
    for _ in range(draw(st.integers(1, 4))):
        # walk down to a random container, then replace, delete or add one of its members
        container = description
        while True:
            children = list(container.values()) if isinstance(container, dict) else container
            inner = [c for c in children if isinstance(c, (dict, list)) and c]
            if not inner or draw(st.booleans()):
                break
            container = draw(st.sampled_from(inner))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if isinstance(container, dict):
            key = draw(st.sampled_from(sorted(container) or KEYS)) if action != "add" else draw(st.sampled_from(KEYS))
            if action == "delete":
                container.pop(key, None)
            else:
                container[key] = draw(json_values)
        elif container:
            at = draw(st.integers(0, len(container) - 1))
            if action == "delete":
                del container[at]
            elif action == "replace":
                container[at] = draw(json_values)
            else:
                container.insert(at, draw(json_values))
    return description


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_descriptions())
def test_fuzz_description(description):
    files = entries(VALID)
    files["graph.json"] = json.dumps(description).encode()
    load_or_format_error(make_zip(files))


# --- compression bombs and foreign exceptions (issue 10: items 3 and 4) -----------------------------


def deflated(text, level=9):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        zf.writestr("graph.json", text)
    return buffer.getvalue()


def description_text(nodes, outputs=(0,)):
    head = '{"format":"tinygraph","version":1,"nodes":['
    return head + ",".join(nodes) + '],"outputs":' + json.dumps(list(outputs)) + "}"


def leaf(i, op="Constant", scope="[]", extra=',"value":1.0'):
    weak = "true" if op == "Constant" else "false"
    name = '"x"' if op == "Input" else "null"
    return (f'{{"id":{i},"op":"{op}","name":{name},"inputs":[],"shape":[],"dtype":"float64","weak":{weak},'
            f'"scope":{scope}{extra if op == "Constant" else ""}}}')


def load_measured(data):
    """(the FormatError's message, seconds, peak bytes allocated while loading)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(tg.FormatError) as info:
            tg.loads(data)
        return str(info.value), time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_one_node_with_millions_of_inputs_is_refused_before_inflating():
    # The fuzzer's file: 259 KB, one node with 133 million inputs, 34 s and 3.2 GB before this fix.
    # The same shape, smaller: 4 million inputs in a few kilobytes.
    data = deflated(description_text([leaf(0, "Input"), '{"id":1,"op":"Add","name":null,"inputs":['
                                      + "0," * 4_000_000 + '0],"shape":[],"dtype":"float64","weak":false,"scope":[]}']))
    assert len(data) < 20_000
    message, seconds, peak = load_measured(data)
    assert f"more than {tgio.MAX_JSON_RATIO} times its compressed size" in message and "compression bomb" in message
    assert seconds < 1 and peak < 1_000_000


def test_huge_scope_list_is_refused_before_inflating():
    # The fuzzer's file: 257 KB with a 63-million-entry scope list, loaded using 1.06 GB.
    data = deflated(description_text([leaf(0, scope="[" + '"s",' * 2_000_000 + '"s"]')]))
    message, seconds, peak = load_measured(data)
    assert f"more than {tgio.MAX_JSON_RATIO} times its compressed size" in message
    assert seconds < 1 and peak < 1_000_000


@pytest.mark.slow
def test_millions_of_tiny_nodes_are_refused_while_parsing():
    # The fuzzer's file: 6.2 MB, 2.2 million constant nodes, 2.7 GB. Constants compress to under
    # 3 bytes each; a real graph takes over 5. 40,000 here: refused at the budget, mid-parse.
    data = deflated(description_text([leaf(i) for i in range(40_000)]))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        budget = zf.getinfo("graph.json").compress_size // tgio.MIN_BYTES_PER_NODE
    assert tgio.NODES_FLOOR < budget < 40_000
    message, seconds, peak = load_measured(data)
    assert f"<stream>: graph.json declares more than {budget} nodes" in message
    # stopped at the budget: memory is bounded by the file (see docs/format.md), not by the node count
    assert peak < 750 * len(data) + 100 * 2**20


@pytest.mark.parametrize("item", ["[]", '{"a":0}', '"s"'])
def test_json_that_would_take_far_more_memory_than_its_size_is_refused_before_parsing(item):
    # Within the inflation ratio, JSON objects still cost far more than their text ({} is 2 bytes
    # of JSON, 64 of Python): the parser's memory is estimated from the text and bounded first.
    noise = iter(f'"{k:x}"' for k in range(10**9))
    body = ",".join(item if k % 50 else next(noise) for k in range(1_500_000))  # inflates 56 to 110 times
    data = deflated('{"format":"tinygraph","version":1,"nodes":[{"x":[' + body + "]}],\"outputs\":[0]}")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("graph.json")
    assert info.file_size < tgio.MAX_JSON_RATIO * info.compress_size  # the ratio alone would let it in
    message, seconds, peak = load_measured(data)
    assert "parsing graph.json would take up to" in message and "over the limit of" in message
    assert peak < 3 * info.file_size + 2**20  # the text as read (and zipfile's buffers): nothing parsed


def zf_read(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("graph.json")


def test_a_real_graph_is_well_inside_the_limits():
    x = tg.input("x", shape=(None, 4))
    y = x
    for _ in range(5_000):
        y = tg.relu(y)
    data = tg.dumps(y)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("graph.json")
    assert info.file_size < tgio.MAX_JSON_RATIO / 4 * info.compress_size
    assert tgio.parse_cost(zf_read(data)) < tgio.MAX_PARSE_BYTES_PER_BYTE / 1.5 * info.compress_size
    assert len(tg.Graph(y)) * 5 < info.compress_size  # the node budget is one per 4 bytes
    assert len(tg.loads(data)) == 5_001


@pytest.mark.parametrize("field, value, fragment", [
    ("inputs", [0] * 4097, "4097 inputs, over the limit of 4096 per node"),
    ("scope", ["s"] * 257, "scope is 257 deep, over the limit of 256"),
    ("scope", ["s" * 4097], "is 4097 characters long, over the limit of 4096"),
    ("name", "n" * 4097, "is 4097 characters long, over the limit of 4096"),
])
def test_per_node_limits(field, value, fragment):
    expect_error(with_description(lambda d: node(d, "Sigmoid").update({field: value})), fragment)


def test_graph_json_larger_than_declared_is_refused(monkeypatch):
    files = entries(VALID)
    data = make_zip(files, zipfile.ZIP_DEFLATED)
    # understate graph.json's size in both headers: zipfile then stops short and fails its CRC
    size = len(files["graph.json"]).to_bytes(4, "little")
    forged = data.replace(size, (len(files["graph.json"]) - 10).to_bytes(4, "little"))
    assert forged != data
    expect_error(forged)


def npy_with_header(header_text):
    text = header_text + " " * (117 - len(header_text)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode() + np.zeros(6).tobytes()


@pytest.mark.parametrize("header", [
    "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3",  # tokenize.TokenError before the fix
    "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': '''",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)} \\",
])
def test_damaged_npy_header_is_a_format_error(header):
    files = entries(VALID)
    files[next(k for k in files if k.startswith("arrays/"))] = npy_with_header(header)
    expect_error(make_zip(files), "is damaged")


@pytest.mark.parametrize("method", [zipfile.ZIP_LZMA, zipfile.ZIP_BZIP2])
def test_graph_json_in_another_compression_is_refused_before_decompressing(method):
    files = entries(VALID)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content, compress_type=method if name == "graph.json" else zipfile.ZIP_STORED)
    data = bytearray(buffer.getvalue())
    at = bytes(data).index(b"graph.json") + 40  # inside the LZMA/BZIP2 stream: _lzma.LZMAError before the fix
    data[at:at + 8] = b"\xff" * 8
    for file in (buffer.getvalue(), bytes(data)):
        expect_error(file, f"compression method {method}")


# --- runaway work at run time (issue 10, item 8) --------------------------------------------------------


def test_max_bytes_refuses_a_tiny_file_asking_for_a_huge_value(tmp_path):
    # The fuzzer's file: 537 bytes, a (2**27, 0) constant summed over axis 1 -> 1 GiB when run.
    y = tg.sum(tg.constant(np.zeros((2**27, 0))), axis=1)
    path = tmp_path / "bomb.tg"
    tg.save(y, path)
    assert path.stat().st_size < 1000
    assert tg.load(path).outputs[0].shape == (2**27,)  # no limit asked for: loads (running it is the cost)
    with pytest.raises(tg.FormatError) as info:
        tg.load(path, max_bytes=2**28)
    assert "node 1 (Sum) holds f64[134217728], 1,073,741,824 bytes or more, over the limit of 268,435,456" in str(
        info.value)
    assert tg.load(path, max_bytes=2**30).outputs[0].shape == (2**27,)  # exactly at the limit


def test_max_bytes_counts_unknown_dims_as_one():
    x = tg.input("x", shape=(None, 1000))
    data = tg.dumps(x * np.ones((1, 1000), dtype=np.float32))
    tg.loads(data, max_bytes=8000)
    with pytest.raises(tg.FormatError, match=r"node 0 \(Input\) holds f64\[\?,1000\], 8,000 bytes or more"):
        tg.loads(data, max_bytes=7999)


# --- what docs/format.md promises ------------------------------------------------------------------------

_UNITS = {"MiB": 2**20, "GiB": 2**30}


def documented_limits():
    import os
    import re

    docs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "format.md")
    with open(docs, encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("## Limits"):]
    rows = re.findall(r"^\| [^|]+ \| ([\d,]+)(?: (MiB|GiB))? \| `(tinygraph\.[\w.]+)` \|$", table, re.M)
    return text, [(int(n.replace(",", "")) * _UNITS.get(unit, 1), where) for n, unit, where in rows]


def test_format_md_states_the_limits_the_code_has():
    import importlib

    text, rows = documented_limits()
    assert len(rows) == 14
    for value, where in rows:
        module, name = where.rsplit(".", 1)
        assert getattr(importlib.import_module(module), name) == value, where
    from tinygraph import cli

    assert cli.RUN_MAX_BYTES == 256 * 2**20 and "256 MiB in `tinygraph run`" in text
    assert "at most about **750 × S + 100 MB**" in text  # checked by the bomb tests above


def test_format_md_figures_match_the_code():
    text, _ = documented_limits()
    assert f"may inflate to at most {tgio.MAX_JSON_RATIO} times" in text
    assert f"Each node costs at least {tgio.MIN_BYTES_PER_NODE}\n  compressed" in text
    assert f"may be at\n  most {tgio.MAX_PARSE_BYTES_PER_BYTE} bytes per compressed byte" in text


@pytest.mark.slow
def test_fuzz_loaders_runs_briefly():
    # docs/format.md's fuzzing figures come from this script; here it only has to run and find nothing.
    import os
    import subprocess
    import sys

    pytest.importorskip("onnx")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run(
        [sys.executable, os.path.join(root, "benchmarks", "fuzz_loaders.py"), "--seconds", "0.5"],
        capture_output=True, text=True, timeout=120, cwd=root,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tg.loads: " in proc.stdout and "tg.onnx.load: " in proc.stdout
    assert proc.stdout.count(", 0 escaped") == 2, proc.stdout
