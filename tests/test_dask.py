"""tg.dask.map_batches: lazy dask arrays, one task per chunk, equal to tg.evaluate (threads and a cluster)."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tinygraph as tg

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

from dask_helpers import CountedSwish, Sleepy, mlp  # noqa: E402

from tinygraph.dask._worker import GraphPayload  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rows(n, width, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, width)).astype(dtype)


def graph_values(collection):
    """The task graph's values: tasks, and data nodes unwrapped to what they hold."""
    return [getattr(v, "value", v) for v in dict(collection.__dask_graph__()).values()]


# --- the threaded scheduler ------------------------------------------------------------------------


def test_one_output_is_a_lazy_array_with_known_chunks_equal_to_evaluate():
    x, y = mlp(np.random.default_rng(0))
    data = rows(50, 6)
    result = tg.dask.map_batches(y, da.from_array(data, chunks=(16, 6)))
    assert isinstance(result, da.Array)
    assert result.shape == (50, 3) and result.dtype == np.float32
    assert result.chunks == ((16, 16, 16, 2), (3,))
    assert type(result._meta) is np.ndarray and result._meta.dtype == np.float32
    out = result.compute(scheduler="threads")
    np.testing.assert_array_equal(out, tg.evaluate(y, {x: data}))
    # A Graph of one output gives one array too.
    np.testing.assert_array_equal(tg.dask.map_batches(tg.Graph(y), da.from_array(data, chunks=7)).compute(),
                                  tg.evaluate(y, {x: data}))


def test_one_task_per_chunk_and_the_graph_is_one_key():
    x, y = mlp(np.random.default_rng(0), sizes=(6, 32, 32, 3))
    X = da.from_array(rows(100, 6), chunks=(10, 6))
    result = tg.dask.map_batches(y, X)
    values = graph_values(result)
    payloads = [v for v in values if isinstance(v, GraphPayload)]
    assert len(payloads) == 1
    forward = [k for k in dict(result.__dask_graph__()) if isinstance(k, tuple) and k[0].startswith("tinygraph")]
    assert len(forward) == 10  # the whole forward pass of a chunk is one task, not one per op
    assert len(dict(result.__dask_graph__())) == 10 + 10 + 1  # forward, from_array's blocks, the graph
    # The parameters' bytes are in the pickled task graph once, not once per chunk.
    blob = pickle.dumps(dict(result.__dask_graph__()))
    assert blob.count(payloads[0].data) == 1


def test_several_outputs_run_the_forward_pass_once_per_chunk():
    x = tg.input("x", shape=(None, 4), dtype=np.float32)
    W = tg.parameter(rows(4, 5, seed=3), name="W")
    h = CountedSwish()(x @ W)
    outputs = [h, tg.sum(h, axis=1), tg.sigmoid(h) * 2]
    data = rows(40, 4)
    result = tg.dask.map_batches(outputs, da.from_array(data, chunks=(10, 4)))
    assert isinstance(result, list) and len(result) == 3
    assert [r.chunks for r in result] == [((10,) * 4, (5,)), ((10,) * 4,), ((10,) * 4, (5,))]
    before = CountedSwish.calls
    got = dask.compute(*result, scheduler="threads")
    assert CountedSwish.calls - before == 4  # 4 chunks: the op ran once per chunk, not once per output
    for g, e in zip(got, tg.evaluate(outputs, {x: data})):
        np.testing.assert_array_equal(g, e)
    forward = {k for k in dict(result[0].__dask_graph__()) if k[0].startswith("tinygraph-forward")}
    assert len(forward) == 4


def test_several_inputs_by_name_with_different_chunks():
    a = tg.input("a", shape=(None, 3))
    b = tg.input("b", shape=(None,))
    y = tg.tanh(a) * tg.reshape(b, (-1, 1)) if hasattr(tg, "reshape") else tg.tanh(a)
    A, B = rows(30, 3, dtype=np.float64), rows(30, 1, seed=2, dtype=np.float64)[:, 0]
    result = tg.dask.map_batches(y, {"a": da.from_array(A, chunks=(10, 3)), b: da.from_array(B, chunks=15)})
    assert result.chunks[0] == (10, 5, 5, 10)  # the common refinement of both inputs' chunks
    np.testing.assert_array_equal(result.compute(), tg.evaluate(y, {a: A, b: B}))


def test_compiled_graph_is_compiled_once_per_process_and_agrees():
    from tinygraph.dask import _worker

    x, y = mlp(np.random.default_rng(1))
    f = tg.compile(y)
    data = rows(64, 6)
    result = tg.dask.map_batches(f, da.from_array(data, chunks=8))
    np.testing.assert_array_equal(result.compute(scheduler="threads"), f(data))
    np.testing.assert_array_equal(result.compute(scheduler="threads"), tg.evaluate(y, {x: data}))
    token = next(v for v in graph_values(result) if isinstance(v, GraphPayload)).token
    assert isinstance(_worker._cache[token](
        [data[:2]])[0], np.ndarray)  # loaded and compiled once, reused by every chunk and compute


def test_unknown_non_batch_dims_are_inferred_from_the_dask_array():
    x = tg.input("x", shape=(None, None))
    y = tg.exp(x) + 1
    data = rows(12, 5, dtype=np.float64)
    result = tg.dask.map_batches(y, da.from_array(data, chunks=(4, 5)))
    assert result.shape == (12, 5) and result.chunks == ((4, 4, 4), (5,))
    np.testing.assert_array_equal(result.compute(), tg.evaluate(y, {x: data}))


def test_dtype_conversion_follows_the_feed_rules():
    x, y = mlp(np.random.default_rng(0))
    data = rows(20, 6, dtype=np.float64)  # narrowed to float32 per chunk, as tg.evaluate does
    result = tg.dask.map_batches(y, da.from_array(data, chunks=(5, -1)))
    np.testing.assert_array_equal(result.compute(), tg.evaluate(y, {x: data}))
    with pytest.raises(tg.FeedError, match=r"input 'x' expects f32\[\?,6\].*int64"):
        tg.dask.map_batches(y, da.zeros((20, 6), dtype=np.int64, chunks=(5, -1)))
    with pytest.raises(tg.FeedError, match=r"input 'x' expects f32\[\?,6\].*\(0, 7\)"):
        tg.dask.map_batches(y, da.zeros((20, 7), dtype=np.float32, chunks=(5, -1)))


def test_chunks_along_a_non_batch_axis_are_refused_or_rechunked():
    x, y = mlp(np.random.default_rng(0))
    data = rows(20, 6)
    X = da.from_array(data, chunks=(5, 3))
    with pytest.raises(tg.FeedError, match=r"'x'.*2 chunks along axis 1.*rechunk\(\{1: -1\}\).*rechunk=True"):
        tg.dask.map_batches(y, X)
    result = tg.dask.map_batches(y, X, rechunk=True)
    assert result.chunks == ((5, 5, 5, 5), (3,))
    np.testing.assert_array_equal(result.compute(), tg.evaluate(y, {x: data}))


def test_errors_name_the_input_or_output():
    x, y = mlp(np.random.default_rng(0))
    X = da.zeros((20, 6), dtype=np.float32, chunks=(5, -1))
    with pytest.raises(tg.GraphError, match=r"output 'sum_\d+' is f32\[\].*no batch axis"):
        tg.dask.map_batches(tg.sum(y), X)
    with pytest.raises(tg.FeedError, match="unknown input 'z'.*'x'"):
        tg.dask.map_batches(y, {"z": X})
    with pytest.raises(tg.FeedError, match="input 'x' was given a ndarray, not a dask array"):
        tg.dask.map_batches(y, {"x": np.zeros((20, 6), np.float32)})
    fixed = tg.input("f", shape=(20, 6), dtype=np.float32)
    with pytest.raises(tg.FeedError, match=r"'f' is declared f32\[20,6\]: its axis 0 is not a batch axis"):
        tg.dask.map_batches(tg.sigmoid(fixed), X)
    two = tg.input("a", shape=(None, 6), dtype=np.float32) + tg.input("b", shape=(None, 6), dtype=np.float32)
    with pytest.raises(tg.FeedError, match="2 inputs .'a', 'b'."):
        tg.dask.map_batches(two, X)
    with pytest.raises(tg.FeedError, match="missing batches for input.*'b'"):
        tg.dask.map_batches(two, {"a": X})
    with pytest.raises(tg.FeedError, match="different numbers of rows"):
        tg.dask.map_batches(two, {"a": X, "b": X[:10]})
    with pytest.raises(TypeError, match="map_batches needs a node"):
        tg.dask.map_batches("y", X)


def test_an_output_changing_the_number_of_rows_fails_when_computed():
    x = tg.input("x", shape=(None, 4))
    y = tg.reshape(x, (-1, 2))  # f64[?,2]: a None axis 0, but two rows per input row
    result = tg.dask.map_batches(y, da.zeros((8, 4), chunks=(4, -1)))
    with pytest.raises(tg.ExecutionError, match=r"output 'reshape_\d+' of a chunk of 4 rows has shape \(8, 2\)"):
        result.compute(scheduler="sync")


@pytest.mark.slow
def test_without_dask_tg_dask_says_what_to_install():
    code = textwrap.dedent("""
        import sys
        sys.modules["dask"] = None  # as if dask were not installed
        import tinygraph as tg
        assert "distributed" not in sys.modules
        x = tg.input("x", shape=(None, 2))
        try:
            tg.dask.map_batches(x, None)
        except ImportError as e:
            assert isinstance(e, tg.dask.DaskUnavailableError), type(e)
            print(e)
    """)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'pip install "tinygraph[dask]"' in proc.stdout


# --- a dask.distributed cluster of two worker processes -----------------------------------------------


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.mark.slow
def test_cluster_results_equal_evaluate(client):
    x, y = mlp(np.random.default_rng(4), sizes=(6, 16, 16, 3))
    h = CountedSwish()(y)
    data = rows(200, 6)
    outs = tg.dask.map_batches([y, h], da.from_array(data, chunks=25))
    got = client.compute(outs, sync=True)
    for g, e in zip(got, tg.evaluate([y, h], {x: data})):
        np.testing.assert_array_equal(g, e)
    compiled = tg.dask.map_batches(tg.compile(y), da.from_array(data, chunks=50))
    np.testing.assert_array_equal(client.compute(compiled, sync=True), tg.evaluate(y, {x: data}))
    # Each worker process loaded each graph once: the workers' caches hold one entry per graph.
    caches = client.run(lambda: sorted(__import__("tinygraph.dask._worker").dask._worker._cache))
    assert all(len(tokens) <= 2 for tokens in caches.values())


@pytest.mark.slow
def test_cluster_custom_op_the_workers_cannot_import_is_named(client, tmp_path, monkeypatch):
    module = "client_only_ops_" + str(os.getpid())
    (tmp_path / f"{module}.py").write_text(textwrap.dedent("""
        import numpy as np
        import tinygraph as tg

        class Cube(tg.Op):
            def forward(self, a):
                return a ** 3
    """))
    monkeypatch.syspath_prepend(str(tmp_path))  # on this process's path only, after the workers started
    Cube = __import__(module).Cube
    x = tg.input("x", shape=(None, 3))
    y = Cube()(x)
    result = tg.dask.map_batches(y, da.ones((6, 3), chunks=3))
    np.testing.assert_array_equal(result.compute(scheduler="threads"), np.ones((6, 3)))  # here it imports
    with pytest.raises(tg.GraphError, match=rf"custom op '{module}:Cube' \(class Cube of module '{module}'\) "
                                            rf"cannot be loaded in worker process .*ModuleNotFoundError"):
        client.compute(result, sync=True)
    sys.modules.pop(module, None)


@pytest.mark.slow
def test_cluster_worker_killed_mid_run_still_gives_the_full_result(client):
    x = tg.input("x", shape=(None, 4))
    W = tg.parameter(rows(4, 4, seed=5, dtype=np.float64), name="W")
    y = tg.tanh(Sleepy(0.05)(x) @ W)
    data = rows(400, 4, dtype=np.float64)
    result = tg.dask.map_batches(y, da.from_array(data, chunks=10))  # 40 chunks, 2 s of work on 2 workers
    before = client.run(os.getpid)
    future = client.compute(result)
    deadline = time.monotonic() + 30
    while not any(client.run(lambda: __import__("tinygraph.dask._worker").dask._worker._cache).values()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    assert not future.done()
    address, pid = sorted(before.items())[0]
    os.kill(pid, signal.SIGKILL)
    np.testing.assert_array_equal(future.result(timeout=60), tg.evaluate(y, {x: data}))
    client.wait_for_workers(2, timeout=30)
    assert pid not in client.run(os.getpid).values()  # the worker did die, and the nanny replaced it


def test_a_graph_mixing_rows_is_refused_before_anything_is_built():
    x = tg.input("x", shape=(None, 4))
    centred = x - tg.mean(x, axis=0, keepdims=True)  # each row depends on the whole batch
    data = da.from_array(rows(40, 4).astype(np.float64), chunks=(10, 4))
    with pytest.raises(tg.GraphError, match=r"output 'sub_\d+' mixes rows.*per-chunk answers.*test_dask.py:\d+"):
        tg.dask.map_batches(centred, data)
    softmax_rows = tg.softmax(x, axis=1)  # rowwise: accepted
    np.testing.assert_allclose(tg.dask.map_batches(softmax_rows, data).compute(scheduler="threads"),
                               tg.evaluate(softmax_rows, {x: data.compute()}))
