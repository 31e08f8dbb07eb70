"""Running a graph on torch tensors and array-api-strict arrays: what comes back, what is refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from array_libraries import LIBRARIES, OTHER_LIBRARIES, is_library_array, to_library, to_numpy

import tinygraph as tg
from tinygraph import arrays

pytest.importorskip("array_api_compat")


def textbook_net(dtype=np.float64):
    rng = np.random.default_rng(0)
    x = tg.input("x", shape=(None, 2), dtype=dtype)
    W1 = tg.parameter(rng.normal(size=(2, 4)), name="W1", dtype=dtype)
    b1 = tg.parameter(rng.normal(size=4), name="b1", dtype=dtype)
    W2 = tg.parameter(rng.normal(size=(4, 3)), name="W2", dtype=dtype)
    b2 = tg.parameter(rng.normal(size=3), name="b2", dtype=dtype)
    h = tg.sigmoid(x @ W1 + b1)
    y = h @ W2 + b2
    return x, (W1, b1, W2, b2), h, y


BATCH = np.random.default_rng(1).normal(size=(10, 2))


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_graph_returns_arrays_of_the_library_it_was_fed(library, dtype):
    x, _, h, y = textbook_net(dtype)
    batch = BATCH.astype(dtype)
    want = tg.evaluate(y, {x: batch})
    got = tg.evaluate(y, {x: to_library(library, batch)})
    assert is_library_array(library, got)
    assert to_numpy(got).dtype == dtype and to_numpy(got).shape == (10, 3)
    np.testing.assert_allclose(to_numpy(got), want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    both = tg.evaluate([h, y], {"x": to_library(library, batch)})
    assert all(is_library_array(library, v) for v in both)
    named = tg.evaluate({"hidden": h, "out": y}, {x: to_library(library, batch)})
    assert is_library_array(library, named["out"])


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_trace_profile_and_compile_work_on_each_library(library):
    x, params, h, y = textbook_net()
    want = tg.evaluate(y, {x: BATCH})
    fed = to_library(library, BATCH)
    values = tg.trace(y, {x: fed})
    assert set(values) == set(tg.Graph(y).nodes)
    assert all(is_library_array(library, v) for n, v in values.items() if n.op.kind != "constant")
    np.testing.assert_allclose(to_numpy(values[y]), want, rtol=1e-12)
    prof = tg.profile(y, {x: fed})
    assert is_library_array(library, prof.result)
    assert "f64[10,3]" in str(prof)
    f = tg.compile(y)
    out = f(fed)
    assert is_library_array(library, out)
    np.testing.assert_allclose(to_numpy(out), want, rtol=1e-12)
    assert library in f.library_sources and "_leaf(" in f.library_sources[library]
    assert type(f(BATCH)) is np.ndarray  # the numpy function is still the numpy one
    seen = []
    tg.evaluate(y, {x: fed}, observers=[lambda node, value: seen.append(value)])
    assert all(is_library_array(library, v) or isinstance(v, (int, float)) for v in seen)


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_parameters_move_to_a_library_once_and_again_after_a_new_value(library, monkeypatch):
    x, (W1, *_), _, y = textbook_net()
    fed = to_library(library, BATCH)
    moved = []
    real = arrays.ArrayLibrary.asarray

    def counting(self, value):
        moved.append(value.shape)
        return real(self, value)

    monkeypatch.setattr(arrays.ArrayLibrary, "asarray", counting)
    tg.evaluate(y, {x: fed})
    first = len(moved)
    assert first == 4  # W1, b1, W2, b2: once each
    tg.evaluate(y, {x: fed})
    tg.compile(y)(fed)
    assert len(moved) == first  # cached: not per call, not per op, not per way of running
    W1.value = W1.value * 2
    got = tg.evaluate(y, {x: fed})
    assert moved[first:] == [(2, 4)]  # only the parameter whose value changed
    np.testing.assert_allclose(to_numpy(got), tg.evaluate(y, {x: BATCH}), rtol=1e-12)


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_lists_and_scalars_take_the_library_of_the_arrays_fed_beside_them(library):
    a = tg.input("a", shape=(None, 2))
    b = tg.input("b", shape=(2,))
    got = tg.evaluate(a * b, {a: to_library(library, BATCH), b: [1.0, 2.0]})
    assert is_library_array(library, got)
    np.testing.assert_allclose(to_numpy(got), BATCH * [1.0, 2.0])


def test_two_libraries_in_one_run_are_refused_naming_both_inputs():
    torch = pytest.importorskip("torch")
    strict = pytest.importorskip("array_api_strict")
    a = tg.input("a", shape=(2,))
    b = tg.input("b", shape=(2,))
    with pytest.raises(tg.FeedError, match=r"inputs 'a' and 'b' are fed arrays of two libraries \(torch on cpu, "
                                           r"array_api_strict"):
        tg.evaluate(a + b, {a: torch.ones(2, dtype=torch.float64), b: strict.ones(2)})
    with pytest.raises(tg.FeedError, match=r"'a' and 'b'.*torch on cpu, numpy on cpu"):
        tg.evaluate(a + b, {a: torch.ones(2, dtype=torch.float64), b: np.ones(2)})
    with pytest.raises(tg.FeedError, match="two libraries"):
        tg.compile(a + b)(torch.ones(2, dtype=torch.float64), np.ones(2))


class Clip01(tg.Op):
    """A custom op written with plain numpy, as a user would."""

    arity = 1

    def forward(self, a):
        return np.clip(a, 0, 1)


class Clip01Anywhere(tg.Op):
    """The same op written for any array library."""

    arity = 1
    arrays = "any"

    def forward(self, a):
        xp = tg.array_namespace(a)
        return xp.clip(a, 0.0, 1.0)


class Clip01ViaNumpy(Clip01):
    """The numpy op, allowed to run on other libraries through numpy copies."""

    arrays = "via-numpy"

    def forward(self, a):
        return np.clip(a, 0, 1)


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_a_plain_numpy_custom_op_is_refused_on_other_libraries_with_the_fix(library):
    x = tg.input("x", shape=(None, 2))
    y = Clip01()(x * 2.0)
    np.testing.assert_array_equal(tg.evaluate(y, {x: BATCH}), np.clip(BATCH * 2, 0, 1))
    message = (r"clip01_\d+ = Clip01\(\) computes with numpy only, and this run's feeds are \w+ arrays: "
               r"test_arrays.Clip01 does not declare arrays = \"any\".*xp = tg.array_namespace\(\*values\)"
               r"(.|\n)*test_arrays.py:\d+")
    with pytest.raises(tg.ExecutionError, match=message):
        tg.evaluate(y, {x: to_library(library, BATCH)})
    with pytest.raises(tg.ExecutionError, match=message):
        tg.compile(y)(to_library(library, BATCH))
    with pytest.raises(tg.ExecutionError, match=message):
        tg.trace(y, {x: to_library(library, BATCH)})


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_a_custom_op_written_with_array_namespace_runs_everywhere(library):
    x = tg.input("x", shape=(None, 2))
    y = Clip01Anywhere()(x * 2.0)
    got = tg.evaluate(y, {x: to_library(library, BATCH)})
    assert is_library_array(library, got)
    np.testing.assert_array_equal(to_numpy(got), np.clip(BATCH * 2, 0, 1))


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_a_numpy_fallback_warns_once_naming_the_op(library):
    arrays._WARNED.discard(("Clip01ViaNumpy (test_arrays)", library))
    x = tg.input("x", shape=(None, 2))
    y = Clip01ViaNumpy()(x * 2.0)
    with pytest.warns(tg.ArrayFallbackWarning, match=r"Clip01ViaNumpy \(test_arrays\) has no \w+ implementation; "
                                                     r"it computes through numpy"):
        got = tg.evaluate(y, {x: to_library(library, BATCH)})
    assert is_library_array(library, got)
    np.testing.assert_array_equal(to_numpy(got), np.clip(BATCH * 2, 0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.evaluate(y, {x: to_library(library, BATCH)})  # once per op and library, not per call


class WrongDtype(tg.Op):
    """Claims float64 (``infer``) but computes float32 on other libraries."""

    arity = 1
    arrays = "any"

    def forward(self, a):
        xp = tg.array_namespace(a)
        return a if xp is np else xp.astype(a, xp.float32)


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_a_result_of_another_dtype_than_the_graph_says_is_an_error(library):
    x = tg.input("x", shape=(None, 2))
    y = WrongDtype()(x) + 1.0
    with pytest.raises(tg.ExecutionError, match=r"wrongdtype_\d+ = WrongDtype\(\).*WrongDtype.forward returned "
                                                r"\w+ .*float32; the graph computes float64"):
        tg.evaluate(y, {x: to_library(library, BATCH)})
    with pytest.raises(tg.ExecutionError, match="the graph computes float64"):
        tg.compile(y)(to_library(library, BATCH))


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_library_feeds_are_checked_like_numpy_feeds(library):
    x = tg.input("x", shape=(None, 2), dtype=np.float64)
    y = x * 2.0
    got = tg.evaluate(y, {x: to_library(library, BATCH.astype(np.float32))})  # widened, as numpy's are
    assert to_numpy(got).dtype == np.float64
    with pytest.raises(tg.FeedError, match=r"input 'x' expects f64\[\?,2\].*got a \w+ array of shape \(10, 3\)"):
        tg.evaluate(y, {x: to_library(library, np.zeros((10, 3)))})
    with pytest.raises(tg.FeedError, match=r"input 'x' expects .*got a \w+ array of dtype .*int64"):
        tg.evaluate(y, {x: to_library(library, np.zeros((10, 2), dtype=np.int64))})
    i8 = tg.input("i", shape=(2,), dtype=np.int8)
    with pytest.raises(tg.FeedError, match="do not fit in int8"):
        tg.evaluate(i8 + 1, {i8: to_library(library, np.array([1, 1000]))})
    np.testing.assert_array_equal(to_numpy(tg.evaluate(i8 + 1, {i8: to_library(library, np.array([1, 100]))})),
                                  [2, 101])


def test_torch_feeds_are_never_written_to():
    torch = pytest.importorskip("torch")
    x, _, _, y = textbook_net()
    fed = torch.asarray(BATCH.copy())
    before = fed.clone()
    tg.evaluate(y, {x: fed})
    tg.compile(y)(fed)
    assert torch.equal(fed, before)


class AddOneInPlace(tg.Op):
    """A careless custom op: it writes into its operand."""

    arity = 1
    arrays = "any"

    def forward(self, a):
        a += 1
        return a


def test_a_custom_op_writing_into_a_torch_feed_or_parameter_changes_nothing_else():
    torch = pytest.importorskip("torch")
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.zeros(2), name="W")
    y = AddOneInPlace()(x) + x + AddOneInPlace()(W)
    fed = torch.zeros(3, 2, dtype=torch.float64)
    ones = torch.ones(3, 2, dtype=torch.float64)
    for run in (lambda: tg.evaluate(y, {x: fed}), lambda: tg.compile(y)(fed), lambda: tg.trace(y, {x: fed})[y]):
        for _ in range(2):  # the parameter's cached copy is not changed by the first run
            assert torch.equal(run(), 2 * ones)
    assert torch.equal(fed, torch.zeros(3, 2, dtype=torch.float64))


def test_a_dtype_a_library_lacks_is_refused_naming_the_node():
    strict = pytest.importorskip("array_api_strict")
    x = tg.input("x", shape=(2,), dtype=np.float32)
    half = tg.parameter(np.ones(2, dtype=np.float16), name="half")
    y = x + tg.cast(half, np.float32)
    with pytest.raises(tg.ExecutionError, match=r"half \(float16\) cannot move to array_api_strict: "
                                                r"array_api_strict has no float16"):
        tg.evaluate(y, {x: strict.ones(2, dtype=strict.float32)})
    with pytest.raises(tg.ExecutionError, match=r"sigmoid_\d+ = Sigmoid\(\) computes in float16, and "
                                                r"array_api_strict has no float16 dtype"):
        tg.evaluate(x + tg.sigmoid(half), {x: strict.ones(2, dtype=strict.float32)})


def test_other_compile_backends_refuse_other_libraries_by_name():
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    x, _, _, y = textbook_net()
    f = tg.compile(y, backend="onnxruntime")
    with pytest.raises(tg.FeedError, match="the onnxruntime backend computes on numpy arrays"):
        f(torch.asarray(BATCH))


def test_an_executor_subclass_sees_library_values():
    torch = pytest.importorskip("torch")
    x, _, _, y = textbook_net()

    class Recorder(tg.Executor):
        def __init__(self):
            self.kinds = set()

        def step(self, node, input_values):
            value = super().step(node, input_values)
            self.kinds.add(type(value).__module__.split(".")[0])
            return value

    rec = Recorder()
    got = rec.run(y, {x: torch.asarray(BATCH)})
    assert isinstance(got, torch.Tensor)
    assert "torch" in rec.kinds and "numpy" in rec.kinds  # parameters are stepped as themselves, then moved


def _gpu_library():
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return "cupy", lambda a: cupy.asarray(a), lambda v: v.get()
    except Exception:  # noqa: BLE001 (no CuPy, or no driver: try torch)
        pass
    try:
        import torch
        if torch.cuda.is_available():
            return "torch", lambda a: torch.asarray(a, device="cuda"), lambda v: v.cpu().numpy()
    except ImportError:
        pass
    return None


GPU = _gpu_library()


@pytest.mark.skipif(GPU is None, reason="no GPU here: neither CuPy nor a CUDA build of torch sees a device")
def test_a_graph_runs_on_the_gpu_and_stays_there():
    name, to_gpu, to_host = GPU
    x, _, _, y = textbook_net(np.float32)
    batch = BATCH.astype(np.float32)
    fed = to_gpu(batch)
    got = tg.evaluate(y, {x: fed})
    assert type(got) is type(fed) and str(got.device) == str(fed.device)
    np.testing.assert_allclose(to_host(got), tg.evaluate(y, {x: batch}), rtol=1e-4, atol=1e-5)
    out = tg.compile(y)(fed)
    assert str(out.device) == str(fed.device)


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_a_parameter_returned_as_an_output_is_the_callers_own_copy(library):
    x = tg.input("x", shape=(2,))
    W = tg.parameter(np.arange(2.0), name="W")
    two = tg.constant(np.full(2, 2.0))
    fed = to_library(library, np.ones(2))
    for run in (lambda: tg.evaluate([x + W, W, two], {x: fed}), lambda: tg.compile([x + W, W, two])(fed),
                lambda: [v for n, v in tg.trace([x + W, W, two], {x: fed}).items() if n in (W, two)]):
        got = run()
        assert all(is_library_array(library, v) for v in got)
        cached = arrays.leaf_value(W.op, arrays.library_of(fed))
        assert all(v is not cached for v in got)
    np.testing.assert_array_equal(to_numpy(tg.evaluate(x + W, {x: fed})), [1.0, 2.0])


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_views_of_parameters_handed_back_are_copies(library):
    x = tg.input("x", shape=(2, 3))
    W = tg.parameter(np.arange(6.0).reshape(2, 3), name="W")
    fed = to_library(library, np.zeros((2, 3)))
    outs = [x + W, W.T, tg.reshape(W, (6,))]
    for got in (tg.evaluate(outs, {x: fed}), tg.compile(outs)(fed)):
        for view in got[1:]:
            if library == "torch":
                view.mul_(0)  # a user writing into a result
    np.testing.assert_array_equal(to_numpy(tg.evaluate(x + W, {x: fed})), np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_python_ints_out_of_an_int_dtypes_range_are_refused_as_numpy_refuses_them(library):
    i8 = tg.input("i8", shape=(3,), dtype=np.int8)
    fed = to_library(library, np.ones(3, dtype=np.int8))
    for y in (i8 + 300, i8 * 1000):
        with pytest.raises(tg.ExecutionError, match="Python integer .* out of bounds for int8"):
            tg.evaluate(y, {i8: np.ones(3, dtype=np.int8)})  # numpy refuses it
        with pytest.raises(tg.ExecutionError, match="Python integer .* out of bounds for int8"):
            tg.evaluate(y, {i8: fed})


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_bool_arithmetic_is_logic_as_in_numpy(library):
    b = tg.input("b", shape=(4,), dtype=bool)
    v = np.array([True, True, False, False])
    w = np.array([True, False, True, False])
    c = tg.constant(w)
    for y in (b + c, b * c, tg.maximum(b, c), tg.minimum(b, c)):
        want = tg.evaluate(y, {b: v})
        got = tg.evaluate(y, {b: to_library(library, v)})
        assert to_numpy(got).dtype == np.bool_
        np.testing.assert_array_equal(to_numpy(got), want)


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_sigmoid_of_unsigned_ints_agrees_everywhere(library):
    u = tg.input("u", shape=(3,), dtype=np.uint16)  # computed in float32 (uint8's float16: not in strict)
    v = np.array([0, 5, 60000], dtype=np.uint16)
    want = tg.evaluate(tg.sigmoid(u), {u: v})
    np.testing.assert_allclose(want, [0.5, 1 / (1 + np.exp(-5.0)), 1.0], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(tg.evaluate(tg.sigmoid(u), {u: to_library(library, v)})), want, rtol=2e-3)


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_every_way_of_running_handles_subexpressions_of_constants_only(library):
    x = tg.input("x", shape=(3,), dtype=np.float32)
    y = x * tg.cast(tg.constant(2) + 3, np.float32)
    fed = to_library(library, np.ones(3, dtype=np.float32))
    seen = []
    for got in (tg.evaluate(y, {x: fed}), tg.trace(y, {x: fed})[y], tg.compile(y)(fed),
                tg.evaluate(y, {x: fed}, observers=[lambda n, v: seen.append(n)])):
        assert is_library_array(library, got)
        np.testing.assert_array_equal(to_numpy(got), [5, 5, 5])


class NumpyInside(tg.Op):
    """Declares any library but calls numpy: a silent round trip to the host."""

    arity = 1
    arrays = "any"

    def forward(self, a):
        return np.tanh(np.asarray(a))


def test_an_op_computing_with_numpy_on_another_librarys_arrays_is_an_error():
    torch = pytest.importorskip("torch")
    x = tg.input("x", shape=(3,))
    y = NumpyInside()(x) + 1.0
    fed = torch.zeros(3, dtype=torch.float64)
    match = r"NumpyInside.forward was given torch arrays and returned a numpy.ndarray: it computed outside torch"
    for run in (lambda: tg.evaluate(y, {x: fed}), lambda: tg.trace(y, {x: fed}), lambda: tg.compile(y)(fed)):
        with pytest.raises(tg.ExecutionError, match=match):
            run()


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
def test_a_wrong_dtype_is_an_error_on_every_way_of_running(library):
    x = tg.input("x", shape=(None, 2))
    y = WrongDtype()(x) + 1.0
    with pytest.raises(tg.ExecutionError, match="the graph computes float64"):
        tg.trace(y, {x: to_library(library, BATCH)})
    with pytest.raises(tg.ExecutionError, match="the graph computes float64"):
        tg.evaluate(y, {x: to_library(library, BATCH)}, observers=[lambda n, v: None])


def test_compile_names_a_parameter_the_library_cannot_hold():
    strict = pytest.importorskip("array_api_strict")
    x = tg.input("x", shape=(2,), dtype=np.float32)
    half = tg.parameter(np.ones(2, dtype=np.float16), name="half")
    with pytest.raises(tg.ExecutionError, match=r"half \(float16\) cannot move to array_api_strict"):
        tg.compile(x + tg.cast(half, np.float32))(strict.ones(2, dtype=strict.float32))


def test_jax_arrays_whose_dtypes_are_numpy_dtypes_are_a_library_too():
    # CuPy's and JAX's arrays carry numpy dtypes (cupy.float32 is np.float32); JAX stands in for
    # CuPy here, which needs a GPU.
    jnp = pytest.importorskip("jax.numpy")
    x, _, _, y = textbook_net(np.float32)
    batch = BATCH.astype(np.float32)
    got = tg.evaluate(y, {x: jnp.asarray(batch)})
    assert type(got).__module__.startswith("jax")
    np.testing.assert_allclose(np.asarray(got), tg.evaluate(y, {x: batch}), rtol=1e-5, atol=1e-6)
