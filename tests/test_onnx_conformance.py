"""ONNX conformance: every backend test case made only of ops tinygraph imports is loaded with
``tg.onnx.load``, evaluated with ``tg.evaluate`` and compared with ONNX's expected outputs
(same dtype, same shape, values within the case's rtol/atol, as onnx's backend runner checks)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygraph as tg

pytest.importorskip("onnx")

from onnx_cases import WIDER_RTOL, Case, rejected, supported_cases  # noqa: E402

CASES = supported_cases()
REJECTED = rejected(CASES)
RUN = [c for c in CASES if c.name not in REJECTED]


def test_the_conformance_set_is_substantial():
    # Guards against the enumeration silently finding nothing (a moved data directory, say).
    assert len(RUN) >= 300
    for op in ("Gemm", "Softmax", "ReduceSum", "ReduceMean", "Transpose", "Reshape", "MatMul", "Pow", "Shape",
               "Gather", "Unsqueeze", "Concat", "Slice", "Split", "Pad", "Expand", "ConstantOfShape"):
        assert any(op in c.op_types for c in RUN), op
    assert {c.name for c in CASES} >= set(REJECTED) | set(WIDER_RTOL)


@pytest.mark.parametrize("case", RUN, ids=[c.name for c in RUN])
def test_backend_case(case: Case):
    initializers = {t.name for t in case.model.graph.initializer}
    graph_inputs = [i.name for i in case.model.graph.input if i.name not in initializers]
    for inputs, expected in case.data_sets:
        values = dict(zip(graph_inputs, inputs))
        # No constants=: a shape or axes fed as a graph input is a run-time operand.
        graph = tg.onnx.load(case.model)
        # An input no output depends on (CastLike's ``like``, once expanded) is not in the graph.
        feeds = {n.name: values[n.name] for n in graph.inputs}
        with np.errstate(all="ignore"):  # ONNX semantics: log(0) is -inf without a warning
            actual = tg.evaluate(graph, feeds)
        assert len(actual) == len(expected)
        for out, got, want in zip(case.model.graph.output, actual, expected):
            want = np.asarray(want)
            assert got.dtype == want.dtype, f"{out.name}: dtype {got.dtype}, ONNX expects {want.dtype}"
            assert got.shape == want.shape, f"{out.name}: shape {got.shape}, ONNX expects {want.shape}"
            np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol, equal_nan=True, err_msg=out.name)


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_case_says_why(name: str):
    case = next(c for c in CASES if c.name == name)
    with pytest.raises(tg.onnx.OnnxImportError, match=REJECTED[name]):
        tg.onnx.load(case.model)


def _one_case_per_op_type() -> list[Case]:
    picked: dict[str, Case] = {}
    for case in RUN:
        for op in sorted(case.op_types):
            picked.setdefault(op, case)
    return list({c.name: c for c in picked.values()}.values())


ROUND_TRIP = _one_case_per_op_type()


@pytest.mark.parametrize("case", ROUND_TRIP, ids=[c.name for c in ROUND_TRIP])
def test_imported_graphs_save_and_load(case: Case):
    # Every op class an ONNX model imports as saves its attributes as plain data: tg.dumps and
    # tg.loads give back the same graph, which computes the same numbers.
    graph = tg.onnx.load(case.model)
    loaded = tg.loads(tg.dumps(graph))
    assert str(loaded) == str(graph)
    inputs, _ = case.data_sets[0]
    initializers = {t.name for t in case.model.graph.initializer}
    values = dict(zip([i.name for i in case.model.graph.input if i.name not in initializers], inputs))
    feeds = {n.name: values[n.name] for n in graph.inputs}
    with np.errstate(all="ignore"):
        for a, b in zip(tg.evaluate(graph, feeds), tg.evaluate(loaded, feeds)):
            np.testing.assert_array_equal(a, b)

