"""The op set on other array libraries: array-api-strict and torch (CPU) give numpy's numbers.

Every ONNX conformance case tinygraph runs (tests/onnx_cases.py: each op type ONNX defines a
case for), the random expression DAGs of tests/test_properties.py and a case for each op no
ONNX case reaches are evaluated with their feeds converted to each library: the outputs must
be arrays of that library with the dtype and shape of the numpy run, and its values within
the dtype's tolerance. array-api-strict rejects anything outside the standard, so an op that
calls numpy by mistake fails there.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from array_libraries import LIBRARIES, OTHER_LIBRARIES, is_library_array, supports, to_library, to_numpy, tolerance
from hypothesis import given
from hypothesis import strategies as st

import tinygraph as tg
from tinygraph.arrays import ArrayFallbackWarning
from tinygraph.registry import is_builtin, registered_ops


def check_same(library: str, got, want, node=None) -> None:
    """``got`` (from a run on ``library``) is ``want`` (numpy's run) in that library.

    The tolerance is that of the least precise float dtype ``node`` is computed through: a
    float32 ``exp`` one ulp apart between libraries stays that far apart in a float64 sum.
    """
    assert is_library_array(library, got), f"expected a {library} array, got {type(got).__name__}"
    value = to_numpy(got)
    assert value.dtype == want.dtype, f"dtype {value.dtype} on {library}, {want.dtype} on numpy"
    assert value.shape == want.shape, f"shape {value.shape} on {library}, {want.shape} on numpy"
    tol = tolerance(want.dtype)
    if node is not None:
        for n in tg.Graph(node).nodes:
            if n.dtype.kind in "fc":
                other = tolerance(n.dtype)
                tol = {k: max(tol[k], other[k]) for k in tol}
    np.testing.assert_allclose(value, want, equal_nan=True, **tol)


def run_on(library: str, outputs, feeds: dict):
    """``tg.evaluate`` with the feeds converted to ``library`` (fallback warnings allowed)."""
    converted = {k: to_library(library, v) for k, v in feeds.items()}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ArrayFallbackWarning)
        return tg.evaluate(outputs, converted)


# --- ONNX's conformance cases ---------------------------------------------------------------------

try:
    import onnx  # noqa: F401
    from onnx_cases import rejected, supported_cases
    _CASES = supported_cases()
    _REJECTED = rejected(_CASES)
    CASES = [c for c in _CASES if c.name not in _REJECTED]
except ImportError:  # the onnx extra is missing: the conformance-based tests skip below
    CASES = []


def _feeds(case) -> tuple[tg.Graph, dict]:
    graph = tg.onnx.load(case.model)
    initializers = {t.name for t in case.model.graph.initializer}
    names = [i.name for i in case.model.graph.input if i.name not in initializers]
    inputs, _ = case.data_sets[0]
    values = dict(zip(names, inputs))
    return graph, {n.name: np.asarray(values[n.name]) for n in graph.inputs}


def _library_cases(library: str) -> list:
    params = []
    for case in CASES:
        inputs, outputs = case.data_sets[0]
        # A library without float16 (array-api-strict) cannot even be fed such a case.
        if all(supports(library, np.asarray(v).dtype) for v in inputs):
            params.append(pytest.param(case, id=case.name))
    return params


@pytest.mark.parametrize("library", [p for p in OTHER_LIBRARIES if p.values[0] == "torch"])
@pytest.mark.parametrize("case", _library_cases("torch") if CASES else [])
def test_conformance_case_on_torch(case, library):
    _check_case(case, library)


@pytest.mark.parametrize("library", [p for p in OTHER_LIBRARIES if p.values[0] == "array_api_strict"])
@pytest.mark.parametrize("case", _library_cases("array_api_strict") if CASES else [])
def test_conformance_case_on_array_api_strict(case, library):
    _check_case(case, library)


def _check_case(case, library: str) -> None:
    graph, feeds = _feeds(case)
    with np.errstate(all="ignore"):
        expected = tg.evaluate(graph, feeds)
    if not feeds:
        # Folded at load time (Shape of a static input, Constant): nothing is fed, so nothing says
        # which library to compute with, and the result is numpy's, as for any graph without inputs.
        assert all(type(v) is np.ndarray for v in run_on(library, graph, {}))
        return
    lacking = [n for n in graph.nodes if not supports(library, n.dtype)]
    if lacking:
        # A value the library has no dtype for (a float16 constant on array-api-strict): refused by name.
        with pytest.raises(tg.ExecutionError, match=f"has no {lacking[0].dtype}|cannot move"):
            run_on(library, graph, feeds)
        return
    actual = run_on(library, graph, feeds)
    for node, got, want in zip(graph.outputs, actual, expected):
        check_same(library, got, want, node)


def test_the_conformance_cases_reach_most_ops():
    pytest.importorskip("onnx")
    assert len(CASES) >= 1000


# --- random expression DAGs -----------------------------------------------------------------------

from test_properties import SETTINGS, expressions  # noqa: E402


@pytest.mark.parametrize("library", LIBRARIES)
def test_random_dags_evaluate_on_each_library_as_on_numpy(library):
    @SETTINGS
    @given(expressions(), st.data())
    def check(b, data):
        nodes = [n for n, _ in b.pool]
        outputs = data.draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=4))
        with np.errstate(all="ignore"):
            expected = tg.evaluate(outputs, b.feeds)
        for node, got, want in zip(outputs, run_on(library, outputs, b.feeds), expected):
            check_same(library, got, want, node)
    check()


# --- every op is run on every library -------------------------------------------------------------

def _op_classes(graph: tg.Graph) -> set[type]:
    return {type(n.op) for n in graph.nodes}


def test_every_builtin_op_runs_on_every_library():
    pytest.importorskip("onnx")
    covered: set[type] = set()
    for case in CASES:
        covered |= _op_classes(tg.onnx.load(case.model))
    covered |= {type(n.op) for n in _extra_graph_nodes()}
    # A class defining forward is run when it, or a subclass inheriting that forward, is.
    defining = {cls for cls in registered_ops().values() if is_builtin(cls) and "forward" in vars(cls)}
    missing = sorted(cls.__name__ for cls in defining if not any(issubclass(c, cls) for c in covered))
    assert not missing, f"ops no test runs on the other libraries: {missing}"


def _extra_graph_nodes():
    for build, _ in EXTRA_CASES:
        outputs, _ = build()
        yield from tg.Graph(outputs).nodes


#: Ops no ONNX conformance case reaches: ``(build, name)``, ``build()`` returning (outputs, feeds).
from array_cases import CASES as EXTRA_CASES  # noqa: E402


@pytest.mark.parametrize("library", OTHER_LIBRARIES)
@pytest.mark.parametrize("build", [b for b, _ in EXTRA_CASES], ids=[n for _, n in EXTRA_CASES])
def test_ops_without_onnx_cases_on_each_library(build, library):
    outputs, feeds = build()
    with np.errstate(all="ignore"):
        expected = tg.evaluate(outputs, feeds)
    outputs = [outputs] if isinstance(outputs, tg.Node) else list(tg.Graph(outputs).outputs)
    for node, got, want in zip(outputs, run_on(library, outputs, feeds), expected if isinstance(expected, list)
                               else [expected]):
        check_same(library, got, want, node)
