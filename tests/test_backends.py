"""Compile backends (jax, numba, onnxruntime): one correctness suite run on each, against tg.evaluate."""

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygraph as tg
from tests.nets import textbook_network
from tests.test_properties import Builder

AVAILABLE = {}
for _name, _module in (("jax", "jax"), ("numba", "numba"), ("onnxruntime", "onnxruntime")):
    try:
        __import__(_module)
        AVAILABLE[_name] = True
    except ImportError:
        AVAILABLE[_name] = False

BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(not ok, reason=f"{b} is not installed"))
            for b, ok in AVAILABLE.items()]


def assert_agrees(got, want):
    """float64 to 1e-12 relative, float32 to 1e-5 (relative to the values' scale), integers exactly."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    assert type(got) is np.ndarray
    if want.dtype.kind in "iub":
        assert np.array_equal(got, want)
        return
    rtol = 1e-12 if want.dtype == np.float64 else 1e-5
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def mlp(sizes, batch, dtype, final_sigmoid, seed=0):
    rng = np.random.default_rng(seed)
    x = tg.input("x", shape=(None, sizes[0]), dtype=dtype)
    h = x
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = tg.parameter((rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype), name=f"W{k}")
        bias = tg.parameter(rng.standard_normal(b).astype(dtype), name=f"b{k}")
        h = h @ W + bias
        if k < len(sizes) - 2 or final_sigmoid:
            h = tg.sigmoid(h)
    return x, h, rng.standard_normal((batch, sizes[0])).astype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
def test_textbook_network_agrees_by_position_and_name(backend):
    rng = np.random.default_rng(1)
    x, params, h, y = textbook_network(rng)
    batch = rng.standard_normal((10, 2))
    f = tg.compile(y, backend=backend)
    assert isinstance(f, tg.CompiledGraph) and f.backend == backend and backend in repr(f)
    want = tg.evaluate(y, {x: batch})
    assert_agrees(f(batch), want)
    assert_agrees(f(x=batch), want)
    assert f.source and f.compile_seconds >= 0
    assert_agrees(f(batch[:3]), want[:3])  # another batch size: a new shape
    out = f(batch)
    out[0, 0] = 123.0  # results belong to the caller
    assert_agrees(f(batch), want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_new_parameter_value_is_used(backend):
    rng = np.random.default_rng(2)
    x, (W1, b1, W2, b2), h, y = textbook_network(rng)
    f = tg.compile(y, backend=backend)
    batch = rng.standard_normal((5, 2))
    before = f(batch)
    W1.value = W1.value * 2
    after = f(batch)
    assert not np.allclose(before, after)
    assert_agrees(after, tg.evaluate(y, {x: batch}))


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_feeds_raise_the_same_feed_errors_as_evaluate(backend):
    x, _, _, y = textbook_network(np.random.default_rng(0))
    f = tg.compile(y, backend=backend)
    for feeds in ({}, {"x": np.ones((3, 5))}, {"x": np.ones(3)}, {"x": np.ones((3, 2), dtype=np.int64)},
                  {"x": np.ones((3, 2)), "z": 1.0}):
        with pytest.raises(tg.FeedError) as compiled_error:
            f(**feeds)
        with pytest.raises(tg.FeedError) as evaluate_error:
            tg.evaluate(y, feeds)
        assert str(compiled_error.value) == str(evaluate_error.value)
    with pytest.raises(tg.FeedError):
        f(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(tg.FeedError, match="x"):
        f(np.ones((3, 4)))
    with pytest.raises(tg.FeedError, match="fed twice"):
        f(np.ones((3, 2)), x=np.ones((3, 2)))
    # lists and other float widths are converted, as evaluate does
    assert_agrees(f([[1.0, 2.0]]), tg.evaluate(y, {x: [[1.0, 2.0]]}))
    assert_agrees(f(np.ones((2, 2), np.float32)), tg.evaluate(y, {x: np.ones((2, 2), np.float32)}))


@pytest.mark.parametrize("backend", BACKENDS)
def test_positional_order_several_outputs_and_leaf_outputs(backend):
    a = tg.input("a", shape=(None, 3))
    b = tg.input("b", shape=(None, 3))
    W = tg.parameter(np.arange(9.0).reshape(3, 3) / 9, name="W")
    d = a - b
    y = tg.tanh(d @ W) * 0.5
    va, vb = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    assert_agrees(tg.compile(d, backend=backend)(va, vb), va - vb)
    assert_agrees(tg.compile(d, inputs=["b", "a"], backend=backend)(vb, va), va - vb)
    assert_agrees(tg.compile(d, inputs=[b, a], backend=backend)(b=vb, a=va), va - vb)
    with pytest.raises(tg.GraphError, match="missing"):
        tg.compile(d, inputs=["a"], backend=backend)
    outs = [y, d, W, a]
    got = tg.compile(outs, backend=backend)(va, vb)
    want = tg.evaluate(outs, {a: va, b: vb})
    assert len(got) == 4
    for g, w in zip(got, want):
        assert_agrees(g, w)


@pytest.mark.parametrize("backend", BACKENDS)
def test_w1_and_a_short_w3(backend):
    for sizes, batch, final in (([2, 4, 3], 10, False), ([16] * 11, 32, True)):
        x, y, data = mlp(sizes, batch, np.float64, final)
        assert_agrees(tg.compile(y, backend=backend)(data), tg.evaluate(y, {x: data}))


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_w3_200_layers_and_a_small_float32_w2(backend):
    x, y, data = mlp([16] * 201, 32, np.float64, True)
    assert_agrees(tg.compile(y, backend=backend)(data), tg.evaluate(y, {x: data}))
    x, y, data = mlp([64, 64, 64, 10], 128, np.float32, False)
    assert_agrees(tg.compile(y, backend=backend)(data), tg.evaluate(y, {x: data}))


class Square(tg.Op):
    arity = 1

    def forward(self, a):
        return a * a


class Doubled(tg.ops.Tanh):
    """Overrides forward: must not inherit Tanh's lowerings (they compute tanh)."""

    def forward(self, a):
        return 2 * np.tanh(a)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_op_without_a_lowering_is_refused_naming_op_and_backend(backend):
    x = tg.input("x", shape=(None, 2))
    for op in (Square(), Doubled()):
        y = tg.exp(op(x)) + 1.0
        with pytest.raises(tg.backends.LoweringError) as e:
            tg.compile(y, backend=backend)
        assert type(op).__name__ in str(e.value) and backend in str(e.value)
        assert e.value.backend == backend and type(op).__name__ in e.value.ops


def test_numba_refuses_what_it_has_no_loop_for():
    pytest.importorskip("numba")
    x = tg.input("x", shape=(None, 3))
    y = tg.sum(tg.softmax(x, axis=1), axis=0)
    with pytest.raises(tg.backends.LoweringError, match=r"Softmax, Sum.*numba") as e:
        tg.compile(y, backend="numba")
    assert "softmax" in str(e.value) and "test_backends.py" in str(e.value)  # the node and the user's line


def test_unknown_backend_and_options():
    y = tg.input("x", shape=(2,)) + 1.0
    with pytest.raises(ValueError, match="unknown backend 'tvm'.*numpy, jax, numba, onnxruntime"):
        tg.compile(y, backend="tvm")
    with pytest.raises(TypeError, match="no options"):
        tg.compile(y, cache=False)


@pytest.mark.parametrize("backend,extra", [("jax", "jax"), ("numba", "numba"), ("onnxruntime", "onnx")])
def test_a_missing_backend_names_the_extra_to_install(backend, extra, monkeypatch):
    monkeypatch.setitem(sys.modules, backend, None)  # import of it now raises ModuleNotFoundError
    y = tg.input("x", shape=(2,)) + 1.0
    with pytest.raises(ImportError, match=rf"pip install 'tinygraph\[{extra}\]'"):
        tg.compile(y, backend=backend)


def test_numba_fuses_chains_into_the_matmul_buffer_and_caches_on_disk(tmp_path, monkeypatch):
    pytest.importorskip("numba")
    import subprocess

    x, y, data = mlp([3, 4, 2], 5, np.float64, True)
    f = tg.compile(y, backend="numba")
    src = f.source
    assert src.count("# fused loop") == 2 and src.count("[in place in matmul_") == 2  # bias + sigmoid after each matmul
    assert "cache=True" in src and f.filename.endswith(".py")
    # another process compiling the same graph loads the machine code numba cached on disk
    code = ("import numpy as np, tinygraph as tg\nfrom tests.test_backends import mlp\n"
            "x, y, d = mlp([3, 4, 2], 5, np.float64, True)\nf = tg.compile(y, backend='numba')\n"
            "print(f.filename, f.compile_seconds)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__('pathlib').Path(__file__).parents[1])).stdout.split()
    assert out[0] == f.filename
    assert float(out[1]) < 5.0  # loaded, not compiled (a cold compile of this takes seconds)


def test_jax_keeps_the_users_x64_setting_and_recompiles_only_for_new_shapes():
    jax = pytest.importorskip("jax")
    x, y, data = mlp([2, 4, 3], 10, np.float64, False)
    before = jax.config.jax_enable_x64
    f = tg.compile(y, backend="jax")
    out = f(data)
    assert out.dtype == np.float64
    assert jax.config.jax_enable_x64 == before
    assert_agrees(out, tg.evaluate(y, {x: data}))


def test_jax_runs_on_a_gpu_when_there_is_one():
    jax = pytest.importorskip("jax")
    try:
        gpu = jax.devices("gpu")[0]
    except RuntimeError:
        pytest.skip("no GPU here: the jax backend runs wherever JAX does (device=jax.devices('gpu')[0])")
    x, y, data = mlp([2, 4, 3], 10, np.float32, False)
    assert_agrees(tg.compile(y, backend="jax", device=gpu)(data), tg.evaluate(y, {x: data}))


def test_onnxruntime_session_options_are_exposed():
    ort = pytest.importorskip("onnxruntime")
    x, y, data = mlp([2, 4, 3], 10, np.float64, False)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    assert_agrees(tg.compile(y, backend="onnxruntime", session_options=so)(data), tg.evaluate(y, {x: data}))
    assert tg.backends.onnxruntime.default_session_options(threads=3).intra_op_num_threads == 3
    assert "MatMul" in tg.compile(y, backend="onnxruntime", threads=1).source


# --- random DAGs of the ops each backend supports -----------------------------------------------------

EXAMPLES = {"jax": 20, "onnxruntime": 25, "numba": 8}


def lowerable(node, backend):
    if backend == "onnxruntime":
        return True
    # The backends' own rule: a lowering counts only when declared with the op's forward.
    from tinygraph.node import declared_with_forward

    return all(declared_with_forward(type(n.op), "lowering") and n.op.lowering(backend, n) is not None
               for n in tg.Graph(node).nodes
               if not isinstance(n.op, (tg.ops.Input, tg.ops.Parameter, tg.ops.Constant)))


@st.composite
def dags(draw):
    """tests/test_properties.py's random expressions, longer: 1-3 inputs, up to 24 steps."""
    b = Builder(draw)
    for k in range(draw(st.integers(1, 3))):
        b.add_input(k)
    for _ in range(draw(st.integers(4, 24))):
        b.step()
    return b


def check_random_dag(backend, b, data):
    candidates = [n for n, _ in b.pool if lowerable(n, backend)]
    outputs = [candidates[-1], *data.draw(st.lists(st.sampled_from(candidates), max_size=2))]
    want = tg.evaluate(outputs, b.feeds)
    try:
        f = tg.compile(outputs, backend=backend)
    except tg.backends.LoweringError as e:
        # only ONNX Runtime refuses here: an op it has no kernel for at that dtype, named
        assert backend == "onnxruntime" and "kernel" in str(e)
        return
    got = f(**{n.name: v for n, v in b.feeds.items() if n in f.graph})
    for g, w in zip(got, want):
        assert_agrees(g, w)


def _random_dag_test(backend):
    @settings(max_examples=EXAMPLES[backend], deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(dags(), st.data())
    def test(b, data):
        check_random_dag(backend, b, data)
    return test


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_dags_agree_with_evaluate(backend):
    _random_dag_test(backend)()
