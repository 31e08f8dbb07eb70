"""tg.compile: generated straight-line code, bit-identical to tg.evaluate."""

import traceback

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygraph as tg


def textbook_network(rng):
    net = tg.nn.Sequential(tg.nn.Affine.init(2, 4, rng=rng), tg.nn.Sigmoid(), tg.nn.Affine.init(4, 3, rng=rng))
    x = tg.input("x", shape=(None, 2))
    return net, x, net(x)


def textbook_numpy(params, batch):
    W1, b1, W2, b2 = (p.value for p in params)
    h = 1 / (1 + np.exp(-(np.matmul(batch, W1) + b1)))
    return np.matmul(h, W2) + b2


def test_textbook_network_bit_identical():
    rng = np.random.default_rng(1)
    net, x, y = textbook_network(rng)
    batch = rng.standard_normal((10, 2))
    f = tg.compile(y)
    out = f(batch)
    assert out.shape == (10, 3)
    assert np.array_equal(out, tg.evaluate(y, {x: batch}))
    assert np.array_equal(out, textbook_numpy(net.params, batch))
    assert np.array_equal(f(x=batch), out)


def test_source_is_inspectable_and_names_nodes():
    net, x, y = textbook_network(np.random.default_rng(0))
    f = tg.compile(y)
    src = f.source
    for name in ("matmul_0", "add_1", "sigmoid_2", "W1", "b2", "def forward"):
        assert name in src
    assert "[in place]" in src  # the memory plan is visible
    assert isinstance(f, tg.CompiledGraph)
    assert "CompiledGraph" in repr(f)


def test_parameter_value_changed_after_compile_is_used():
    rng = np.random.default_rng(2)
    net, x, y = textbook_network(rng)
    f = tg.compile(y)
    batch = rng.standard_normal((5, 2))
    before = f(batch)
    W1 = net.params[0]
    W1.value = W1.value * 2
    after = f(batch)
    assert not np.array_equal(before, after)
    assert np.array_equal(after, textbook_numpy(net.params, batch))
    assert np.array_equal(after, tg.evaluate(y, {x: batch}))


def test_feeds_validated_like_evaluate():
    net, x, y = textbook_network(np.random.default_rng(0))
    f = tg.compile(y)
    cases = [
        {},                                     # missing
        {"x": np.ones((3, 5))},                 # wrong fixed size
        {"x": np.ones(3)},                      # wrong rank
        {"x": np.ones((3, 2), dtype=np.int64)},  # wrong dtype kind
        {"x": np.ones((3, 2)), "z": 1.0},       # unknown name
    ]
    for feeds in cases:
        with pytest.raises(tg.FeedError) as compiled_error:
            f(**feeds)
        with pytest.raises(tg.FeedError) as evaluate_error:
            tg.evaluate(y, feeds)
        assert str(compiled_error.value) == str(evaluate_error.value)
    with pytest.raises(tg.FeedError):
        f(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(TypeError, match="multiple values"):  # Python's own check of the signature
        f(np.ones((3, 2)), x=np.ones((3, 2)))
    # lists and other float widths are converted, as evaluate does
    assert np.array_equal(f([[1.0, 2.0]]), tg.evaluate(y, {x: [[1.0, 2.0]]}))
    assert np.array_equal(f(np.ones((2, 2), np.float32)), tg.evaluate(y, {x: np.ones((2, 2), np.float32)}))


def test_positional_order_follows_inputs():
    a = tg.input("a", shape=(3,))
    b = tg.input("b", shape=(3,))
    y = a - b
    va, vb = np.arange(3.0), np.ones(3)
    assert np.array_equal(tg.compile(y)(va, vb), va - vb)
    assert np.array_equal(tg.compile(y, inputs=["b", "a"])(vb, va), va - vb)
    assert np.array_equal(tg.compile(y, inputs=[b, a])(b=vb, a=va), va - vb)
    with pytest.raises(tg.GraphError, match="missing"):
        tg.compile(y, inputs=["a"])


def test_several_outputs_and_leaf_outputs():
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.arange(4.0).reshape(2, 2), name="W")
    h = x @ W
    y = tg.sigmoid(h + 1.0)
    batch = np.ones((3, 2))
    got = tg.compile([h, y, W, x])(batch)
    want = tg.evaluate([h, y, W, x], {x: batch})
    assert len(got) == 4
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


class Boom(tg.Op):
    arity = 1

    def forward(self, a):
        raise RuntimeError("boom")


def test_errors_wrapped_like_evaluate_and_traceback_shows_generated_line():
    x = tg.input("x", shape=(None, 2))
    y = Boom()(tg.tanh(x) + 1.0, name="exploder")
    f = tg.compile(y)
    with pytest.raises(tg.ExecutionError) as compiled_error:
        f(np.ones((2, 2)))
    with pytest.raises(tg.ExecutionError) as evaluate_error:
        tg.evaluate(y, {x: np.ones((2, 2))})
    assert str(compiled_error.value) == str(evaluate_error.value)
    assert "exploder" in str(compiled_error.value) and "test_compile.py" in str(compiled_error.value)
    cause = compiled_error.value.__cause__
    assert isinstance(cause, RuntimeError)
    text = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
    assert f.filename in text
    assert "exploder = " in text  # the generated line itself, with the node's name


# --- random graphs ------------------------------------------------------------------------------

UNARY = [tg.sigmoid, tg.tanh, tg.neg, lambda a: a * 0.5, lambda a: 1.0 - a, tg.relu]
BINARY = [tg.add, tg.sub, tg.mul, lambda a, b: a / (1.5 + b * b)]


@st.composite
def random_graphs(draw):
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    x = tg.input("x", shape=(None, 3), dtype=dtype)
    nodes = [x, tg.parameter(rng.standard_normal(3).astype(dtype), name="b"),
             tg.parameter(rng.standard_normal((3, 3)).astype(dtype), name="W")]
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["unary", "binary", "matmul"]))
        a = nodes[draw(st.integers(0, len(nodes) - 1))]
        if a.shape == (3, 3):  # W only enters through matmul: (None, 3) + (3, 3) needs a batch of 3
            a = x
        if a.ndim == 1 or kind == "unary":
            if a.ndim == 1 and kind != "unary":
                a = a + x
            nodes.append(UNARY[draw(st.integers(0, len(UNARY) - 1))](a))
        elif kind == "binary":
            b = nodes[draw(st.integers(0, len(nodes) - 1))]
            if b.shape == (3, 3):  # W only enters through matmul: (None, 3) + (3, 3) needs a batch of 3
                b = x
            nodes.append(BINARY[draw(st.integers(0, len(BINARY) - 1))](a, b))
        else:
            nodes.append(tg.tanh(a @ nodes[2]))
    outs = [nodes[-1]] + [n for n in nodes[3:-1] if draw(st.booleans())][:2]
    batch = (rng.standard_normal((draw(st.integers(1, 5)), 3)) * 3).astype(dtype)
    return x, outs, batch


@settings(max_examples=60, deadline=None)
@given(random_graphs())
def test_random_graphs_compiled_evaluate_and_stepwise_agree_bit_for_bit(case):
    x, outs, batch = case
    batch.flags.writeable = False
    copy = batch.copy()
    fast = tg.evaluate(outs, {x: batch})
    stepwise = tg.evaluate(outs, {x: batch}, observers=[lambda n, v: None])  # no buffer reuse on this path
    compiled = tg.compile(outs, inputs=[x])(batch)
    for a, b, c in zip(fast, stepwise, compiled):
        assert a.dtype == b.dtype == c.dtype
        assert np.array_equal(a, b, equal_nan=True)
        assert np.array_equal(a, c, equal_nan=True)
    assert np.array_equal(batch, copy)


@pytest.mark.slow
def test_100k_node_chain_compiled_equals_evaluate():
    x = tg.input("x", shape=(4,))
    v = x
    for i in range(100_000):
        v = tg.tanh(v) if i % 2 else v + 0.25
    feeds = np.linspace(-2, 2, 4)
    f = tg.compile(v)
    assert np.array_equal(f(feeds), tg.evaluate(v, {x: feeds}))


def test_compiled_graphs_follow_parameter_values_and_batch_sizes():
    rng = np.random.default_rng(5)
    net, x, y = textbook_network(rng)
    f = tg.compile(y)
    b1 = net.params[1]
    for batch_size, new_bias in ((10, None), (3, rng.standard_normal(4)), (3, None), (7, rng.standard_normal(4))):
        if new_bias is not None:
            b1.value = new_bias
        batch = rng.standard_normal((batch_size, 2))
        want = textbook_numpy(net.params, batch)
        assert np.array_equal(f(batch), want)
        assert np.array_equal(tg.evaluate(y, {x: batch}), want)


INJECTIONS = ['h\n        print("INJECTED") #', 'x""";print("INJECTED");"""', "a\u2028b", "\r", "\\"]


@pytest.mark.parametrize("name", INJECTIONS)
def test_names_never_become_code_in_compiled_source(name, capsys):
    x = tg.input(name, shape=(None, 3))
    y = tg.exp(x, name=name + "!") + 1.0
    f = tg.compile(y)
    out = f(np.ones((1, 3)))
    np.testing.assert_array_equal(out, tg.evaluate(y, {x: np.ones((1, 3))}))
    assert "INJECTED" not in capsys.readouterr().out
    assert len(f.source.splitlines()) == len(f.source.split("\n")) - 1  # no stray line breaks
