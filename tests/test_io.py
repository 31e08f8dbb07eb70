"""Round trips through tg.save / tg.load: structure, names, specs, attributes and values, exactly."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg
from tinygraph import ops, registry


def textbook_network(dtype=np.float64):
    rng = np.random.default_rng(1)
    x = tg.input("x", shape=(None, 2), dtype=dtype)
    model = tg.nn.Sequential(
        tg.nn.Affine.init(2, 4, rng=rng, dtype=dtype), tg.nn.Sigmoid(), tg.nn.Affine.init(4, 3, rng=rng, dtype=dtype)
    )
    return x, model(x)


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_same_graph(g1, g2):
    assert str(g1) == str(g2)
    assert len(g1.nodes) == len(g2.nodes)
    for a, b in zip(g1.nodes, g2.nodes):
        assert type(a.op) is type(b.op)
        assert a.op.attributes() == b.op.attributes()
        assert a.spec == b.spec
        assert a.user_name == b.user_name
        assert a.scope == b.scope
        assert [g1.nodes.index(i) for i in a.inputs] == [g2.nodes.index(i) for i in b.inputs]
        if isinstance(a.op, (tg.ops.Parameter, tg.ops.Constant)):
            assert type(a.value) is type(b.value)
            assert same_bits(a.value, b.value)
    assert [g1.nodes.index(o) for o in g1.outputs] == [g2.nodes.index(o) for o in g2.outputs]


def test_textbook_network_round_trips_through_a_file(tmp_path):
    x, y = textbook_network()
    path = tmp_path / "textbook.tg"
    tg.save(y, path)
    loaded = tg.load(path)
    original = tg.Graph(y)
    assert_same_graph(original, loaded)
    assert [n.name for n in loaded.parameters] == ["W1", "b1", "W2", "b2"]
    assert [n.scope for n in loaded.nodes if n.name == "sigmoid_2"] == [("sigmoid1",)]
    batch = np.random.default_rng(2).standard_normal((10, 2))
    out = tg.evaluate(loaded, {"x": batch})[0]
    assert out.shape == (10, 3)
    assert same_bits(out, tg.evaluate(y, {x: batch}))
    assert not [p for p in os.listdir(tmp_path) if p != "textbook.tg"]  # no temporary file left behind


def test_unnamed_nodes_stay_unnamed_and_user_names_stay():
    x = tg.input("x", shape=(3,))
    a = tg.exp(x, name="a")
    b = tg.exp(x)
    c = tg.add(a, b, name="a")  # a repeated user name: the listing calls it a_1
    loaded = tg.loads(tg.dumps(c))
    assert [n.user_name for n in loaded.nodes] == ["x", "a", None, "a"]
    assert [loaded.name_of(n) for n in loaded.nodes] == ["x", "a", "exp_0", "a_1"]


def test_several_outputs_keep_their_order_and_repeats():
    x = tg.input("x", shape=(2,))
    a, b = tg.exp(x), tg.tanh(x)
    loaded = tg.loads(tg.dumps([b, a, b]))
    assert [loaded.name_of(n) for n in loaded.outputs] == ["tanh_0", "exp_1", "tanh_0"]


def test_weak_python_scalars_stay_weak():
    x = tg.input("x", shape=(None, 3), dtype=np.float32)
    y = (x * 2.5 + 1) / 3 - True
    loaded = tg.loads(tg.dumps(y))
    assert loaded.outputs[0].dtype == np.float32
    consts = [n for n in loaded.nodes if isinstance(n.op, tg.ops.Constant)]
    assert [type(c.value) for c in consts] == [float, int, int, bool]
    assert [c.spec.weak for c in consts] == [True, True, True, False]
    batch = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert same_bits(tg.evaluate(loaded, {"x": batch})[0], tg.evaluate(y, {x: batch}))


@pytest.mark.parametrize(
    "value",
    [
        np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324, 1 / 3]),
        np.array([[1.5, -2.25]], dtype=np.float16),
        np.arange(6, dtype=np.int8).reshape(2, 3),
        np.array([2**64 - 1], dtype=np.uint64),
        np.array([1 + 2j, np.nan * 1j], dtype=np.complex64),
        np.array([True, False]),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.arange(4.0).astype(">f8"),
        np.zeros((0, 3)),
        np.float32(7.0),
    ],
    ids=["special-floats", "f16", "i8", "u64", "c64", "bool", "fortran", "big-endian", "empty", "0-d"],
)
def test_parameter_and_constant_values_round_trip_bit_for_bit(value):
    p = tg.parameter(value, name="p")
    c = tg.constant(value, name="c")
    loaded = tg.loads(tg.dumps([p, c]))
    for node in loaded.nodes:
        assert same_bits(node.value, np.asarray(value))
        assert not node.value.flags.writeable


@pytest.mark.parametrize("scalar", [0.1, -0.0, float("nan"), float("inf"), 2**62, -7, 1e-310, 3 - 4j, True, False])
def test_scalar_constants_round_trip_exactly(scalar):
    loaded = tg.loads(tg.dumps(tg.constant(scalar)))
    value = loaded.outputs[0].value
    assert type(value) is type(scalar)
    assert repr(value) == repr(scalar)
    assert loaded.outputs[0].spec == tg.constant(scalar).spec


BUILTIN_OPS = [
    ops.MatMul(), ops.Add(), ops.Sub(), ops.Mul(), ops.Div(), ops.Pow(), ops.Neg(), ops.Exp(), ops.Log(),
    ops.Tanh(), ops.Sigmoid(), ops.ReLU(), ops.Softmax(), ops.Softmax(axis=0), ops.Sum(), ops.Sum(axis=1),
    ops.Sum(axis=(0, 1), keepdims=True), ops.Mean(), ops.Mean(axis=[1], keepdims=True), ops.Transpose(),
    ops.Transpose((1, 0)), ops.Reshape((-1,)), ops.Reshape([4, 3]), ops.Softplus(), ops.TruncDiv(),
    *([ops.Cast("float32"), ops.Cast(np.int8)] if hasattr(ops, "Cast") else []),  # added with the ONNX importer
]


@pytest.mark.parametrize("op", BUILTIN_OPS, ids=repr)
def test_every_builtin_op_round_trips(op):
    x = tg.input("x", shape=(3, 4))
    w = tg.parameter(np.ones((4, 4)), name="w")
    arity = 1 if op.arity is None else op.arity  # Reshape: one operand in its static form
    operands = {0: (), 1: (x,), 2: (x, w) if isinstance(op, ops.MatMul) else (x, x)}[arity]
    y = op(*operands)
    loaded = tg.loads(tg.dumps(y))
    assert_same_graph(tg.Graph(y), loaded)
    feed = np.linspace(0.5, 2, 12).reshape(3, 4)
    assert same_bits(tg.evaluate(loaded, {"x": feed})[0], tg.evaluate(y, {x: feed}))


def test_builtin_op_list_covers_every_builtin_op_of_the_first_families():
    # The textbook's families are listed here; every op that imports from ONNX is also saved and
    # loaded by tests/test_onnx_conformance.py::test_imported_graphs_save_and_load.
    tested = {type(op) for op in BUILTIN_OPS}
    families = ("tinygraph.ops.elementwise", "tinygraph.ops.activations", "tinygraph.ops.linalg")
    builtins = {cls for cls in registry.registered_ops().values()
                if cls.__module__ in families and cls.__name__ in ops.__all__ and cls.__name__ != "Elementwise"}
    assert builtins
    assert {c.__name__ for c in builtins - tested} == set()


class Clip(tg.Op):
    """A custom op with attributes of every encodable kind."""

    arity = 1

    def __init__(self, low, high, mode="both", axes=(0,), extra=None, dtype=np.dtype("float32")):
        self.low, self.high, self.mode, self.axes, self.extra, self.dtype = low, high, mode, axes, extra, dtype

    def forward(self, a):
        return np.clip(a, self.low, self.high)


def test_custom_op_with_attributes_round_trips():
    x = tg.input("x", shape=(4,))
    y = Clip(-0.5, float("inf"), axes=(0, -1), extra={"tags": ["a", None], "pair": (1.5, 2j)})(x, name="clipped")
    loaded = tg.loads(tg.dumps(y))
    op = loaded.outputs[0].op
    assert type(op) is Clip
    assert op.attributes() == y.op.attributes()
    assert type(op.axes) is tuple and type(op.extra["pair"]) is tuple and type(op.extra["tags"]) is list
    assert op.dtype == np.float32
    assert str(loaded) == str(tg.Graph(y))


def test_a_users_subclass_of_a_builtin_loads_as_that_subclass():
    class MatMul(tg.ops.MatMul):
        pass

    x = tg.input("x", shape=(2, 2))
    y = MatMul()(x, x) @ x
    loaded = tg.loads(tg.dumps(y))
    assert [type(n.op) for n in loaded.nodes[1:]] == [MatMul, tg.ops.MatMul]


def test_an_op_that_cannot_be_rebuilt_from_its_attributes_is_refused_when_saving(tmp_path):
    class Scale(tg.Op):
        def __init__(self, factor):
            self.factor = factor
            self.cache = []  # looks like an attribute, but __init__ doesn't take it

        def forward(self, a):
            return a * self.factor

    x = tg.input("x", shape=(2,))
    with pytest.raises(tg.GraphError, match=r"cannot save node scale_0 .*rebuildable from attributes\(\)"):
        tg.save(Scale(2.0)(x), tmp_path / "scale.tg")
    assert not os.listdir(tmp_path)


def test_an_attribute_that_is_not_data_is_refused_when_saving():
    class Apply(tg.Op):
        def __init__(self, fn):
            self.fn = fn

        def forward(self, a):
            return self.fn(a)

    with pytest.raises(tg.GraphError, match=r"attribute 'fn': a ufunc"):
        tg.dumps(Apply(np.sin)(tg.input("x", shape=(2,))))


def test_string_parameters_are_refused_before_they_reach_a_file():
    with pytest.raises(tg.GraphError, match="numeric arrays"):
        tg.dumps(tg.parameter(np.array(["a"]), name="s"))


def test_same_graph_gives_the_same_bytes():
    data = tg.dumps(textbook_network()[1])
    assert tg.dumps(textbook_network()[1]) == data
    assert tg.dumps(tg.loads(data)) == data


def test_saving_a_graph_object_and_a_node_list_is_the_same():
    x, y = textbook_network()
    assert tg.dumps(tg.Graph([y])) == tg.dumps([y]) == tg.dumps(y)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A 100,000-node chain, saved to a file and loaded back: (input, output, loaded graph)."""
    x = tg.input("x", shape=(2,))
    node = x
    for _ in range(100_000):
        node = tg.tanh(node)
    path = tmp_path_factory.mktemp("chain") / "chain.tg"
    tg.save(node, path)
    return x, node, tg.load(path)


@pytest.mark.slow
def test_a_100000_node_chain_saves_and_loads(chain):
    x, node, loaded = chain
    assert len(loaded.nodes) == 100_001
    feed = np.array([0.5, -2.0])
    assert same_bits(tg.evaluate(loaded, {"x": feed})[0], tg.evaluate(node, {x: feed}))


@pytest.mark.slow
def test_a_100000_node_chain_lists_the_same(chain):
    _, node, loaded = chain
    assert str(loaded) == str(tg.Graph(node))


@pytest.mark.slow
def test_a_100000_node_chain_draws_the_same(chain):
    _, node, loaded = chain
    assert tg.to_dot(loaded).source == tg.to_dot(tg.Graph(node)).source


def test_diagram_of_a_loaded_graph_is_the_same():
    x, y = textbook_network()
    original = tg.Graph(y)
    loaded = tg.loads(tg.dumps(original))
    assert tg.to_dot(loaded).source == tg.to_dot(original).source


# --- random graphs -------------------------------------------------------------------------------

UNARY = [tg.exp, tg.log, tg.tanh, tg.sigmoid, tg.relu, tg.neg, lambda a: tg.softmax(a, axis=-1),
         lambda a: tg.sum(a, axis=1, keepdims=True), lambda a: tg.mean(a, axis=0, keepdims=True), tg.sum]
BINARY = [tg.add, tg.sub, tg.mul, tg.div, tg.pow]


@st.composite
def random_graphs(draw):
    """A random DAG over two (3, 4) inputs and a parameter; every node broadcasts to (3, 4)."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = tg.input("x", shape=(None, 4), dtype=dtype)
    w = tg.parameter(np.linspace(-1, 1, 12).reshape(3, 4).astype(dtype), name="w")
    pool = [x, w]
    for _ in range(draw(st.integers(1, 12))):
        name = draw(st.one_of(st.none(), st.sampled_from(["h", "h", "out", "층"])))
        scope = draw(st.sampled_from([None, "layer1", "layer2"]))
        kind = draw(st.sampled_from(["unary", "binary", "scalar"]))
        a = draw(st.sampled_from(pool))
        if a.ndim < 2:  # the axis ops below need a matrix
            kind = "binary"
        with tg.scope(scope) if scope else _nullcontext():
            if kind == "unary":
                node = draw(st.sampled_from(UNARY))(a)
            elif kind == "binary":
                node = draw(st.sampled_from(BINARY))(a, draw(st.sampled_from(pool)))
            else:
                k = draw(st.one_of(st.floats(allow_nan=True), st.integers(-3, 3)))
                node = draw(st.sampled_from(BINARY))(a, k)
        if name is not None:
            node.name = name
        pool.append(node)
    outputs = draw(st.lists(st.sampled_from(pool[2:]), min_size=1, max_size=3))
    return x, outputs


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@settings(max_examples=40, deadline=None)
@given(random_graphs())
def test_random_graphs_round_trip(case):
    x, outputs = case
    original = tg.Graph(outputs)
    loaded = tg.loads(tg.dumps(original))
    assert_same_graph(original, loaded)
    feed = np.linspace(-2, 2, 12).reshape(3, 4).astype(x.dtype)
    with np.errstate(all="ignore"):
        expected = tg.evaluate(original, {x: feed})
        got = tg.evaluate(loaded, {n: feed for n in loaded.inputs})
    assert all(same_bits(a, b) for a, b in zip(expected, got))
    assert tg.to_dot(loaded).source == tg.to_dot(original).source


def test_saving_into_a_missing_directory_names_the_target(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        tg.save(tg.input("x", shape=(1,)), tmp_path / "no" / "net.tg")
    assert info.value.filename == str(tmp_path / "no" / "net.tg")


def test_save_and_load_through_file_objects(tmp_path):
    x, y = textbook_network()
    with open(tmp_path / "net.tg", "wb") as f:
        tg.save(y, f)
    with open(tmp_path / "net.tg", "rb") as f:
        loaded = tg.load(f)
    assert str(loaded) == str(tg.Graph(y))


def test_nan_constants_keep_their_sign_and_payload():
    import struct

    odd_nan = struct.unpack(">d", bytes.fromhex("fff8000000000123"))[0]
    x = tg.input("x", shape=(2,))
    y = x + odd_nan
    (c,) = [n for n in tg.Graph(tg.loads(tg.dumps(y))).nodes if isinstance(n.op, tg.ops.Constant)]
    assert type(c.value) is float
    assert struct.pack(">d", c.value).hex() == "fff8000000000123"
