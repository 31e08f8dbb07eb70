"""The docs stay true: their code runs, and the API page covers every public name."""

import os
import re

import numpy as np
import pytest

import tinygraph as tg

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def python_blocks(page):
    with open(os.path.join(DOCS, page)) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def test_extending_snippets_run(monkeypatch):
    # The page assigns Sigmoid.backward; undo that after the test.
    monkeypatch.setattr(tg.ops.Sigmoid, "backward", tg.ops.Sigmoid.backward)
    # ... and its op classes' registrations (its Hardtanh would take aten.hardtanh over from Clip).
    from tinygraph import registry
    for table in ("_by_name", "_name_of", "_operators"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))
    code = "\n".join(b for b in python_blocks("extending.md") if not b.lstrip().startswith("def backward"))
    namespace = {}
    exec(compile(code, "extending.md", "exec"), namespace)
    assert namespace["shapes"] == {"x": (5, 3), "W": (3, 3), "matmul_0": (5, 3), "swish_1": (5, 3)}
    assert namespace["RowNorm"]()(namespace["x"]).shape == (None,)
    check = namespace["CheckFinite"]()
    x = namespace["x"]
    with pytest.raises(tg.ExecutionError, match="non-finite"), np.errstate(invalid="ignore"):
        check.run(tg.log(x - 1.0), {x: np.zeros((1, 3))})


def test_concepts_first_snippet_runs():
    namespace = {}
    exec(compile(python_blocks("concepts.md")[0], "concepts.md", "exec"), namespace)
    assert namespace["h"].shape == (None, 4)


# The core API of issue 3; other features (export, diagrams, compile, ...) have their own pages.
CORE = ["GraphError", "ShapeError", "FeedError", "ExecutionError", "Executor", "Plan", "evaluate", "trace",
        "Graph", "Node", "Site", "scope", "Op", "Spec", "input", "parameter", "constant", "add", "sub",
        "subtract", "mul", "multiply", "div", "divide", "neg", "negative", "pow", "power", "matmul", "exp", "log",
        "tanh", "sigmoid", "relu", "softmax", "sum", "mean", "transpose", "reshape"]


def test_api_page_lists_every_core_name():
    with open(os.path.join(DOCS, "api.md")) as f:
        text = f.read()
    for name in CORE:
        assert hasattr(tg, name), name
        assert f"tg.{name}" in text or f"`{name}" in text, name
    for name in ["MatMul", "Add", "Sigmoid", "Softmax", "Reshape", "Affine", "Sequential", "from_torch"]:
        assert name in text


def test_errors_page_covers_every_error_type():
    with open(os.path.join(DOCS, "errors.md")) as f:
        text = f.read()
    for cls in [tg.GraphError, tg.ShapeError, tg.FeedError, tg.ExecutionError]:
        assert f"## `tg.{cls.__name__}`" in text
