"""examples/interop.py runs: torch -> tinygraph -> ONNX -> tinygraph with equal outputs at each step."""

from __future__ import annotations

import importlib.util
import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "interop.py")


def test_interop_example(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("interop_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "tinygraph vs torch" in out and "onnxruntime vs tinygraph" in out
    assert out.rstrip().endswith("all steps agree")
    assert (tmp_path / "net.onnx").stat().st_size > 0
    assert (tmp_path / "interop.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
