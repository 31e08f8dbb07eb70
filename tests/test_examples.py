"""The examples run, print what they promise, and fail loudly when a check fails."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_forward_pass_demo_runs_and_reports():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "forward_pass.py")], capture_output=True,
                          text=True, env=env, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "output: shape (10, 3)" in out
    for line in ["W1  shape (2, 4)", "b1  shape (4,)", "W2  shape (4, 3)", "b2  shape (3,)"]:
        assert line in out
    assert "graph(x: f64[?,2]):" in out and "sigmoid_2: f64[?,4] = sigmoid(add_1)" in out
    assert "[ok] tinygraph == textbook numpy TwoLayerNet.predict" in out
    assert "FAILED" not in out and "All checks passed." in out
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "[skipped] PyTorch" in out
    else:
        assert "[ok] tinygraph == torch NN_torch (float32" in out
    # the printed (10, 3) block: ten rows of three numbers
    rows = [line for line in out.splitlines() if line.strip().startswith("[") and line.count(".") == 3]
    assert len(rows) == 10


def test_forward_pass_exits_nonzero_when_a_check_fails(monkeypatch, capsys):
    demo = load("forward_pass")
    # Break the textbook reference: the comparison must notice and the demo must fail.
    monkeypatch.setattr(demo.Sigmoid, "forward", lambda self, x: np.tanh(x))
    assert demo.main() == 1
    assert "FAILED" in capsys.readouterr().out


def test_textbook_classes_in_the_demo_are_the_textbook_ones():
    demo = load("forward_pass")
    np.random.seed(1)
    net = demo.TwoLayerNet(2, 4, 3)
    assert [p.shape for p in net.params] == [(2, 4), (4,), (4, 3), (3,)]
    assert net.predict(np.zeros((10, 2))).shape == (10, 3)


@pytest.mark.slow
def test_backprop_example_runs():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "backprop_hooks.py")], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "finite differences" in proc.stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


def test_interop_example(tmp_path, capsys):
    for module in ("torch", "onnx", "onnxruntime"):
        pytest.importorskip(module)
    module = load("interop")
    module.main(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "tinygraph vs torch" in out and "onnxruntime vs tinygraph" in out
    assert out.rstrip().endswith("all steps agree")
    assert (tmp_path / "net.onnx").stat().st_size > 0
    assert (tmp_path / "interop.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


@pytest.mark.slow
def test_benchmark_runs_quick():
    # The benchmark suite runs at tiny sizes; it prints figures and is never timed here.
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--quick"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for label in ("W1", "W2", "W3", "chain", "random DAG", "textbook numpy", "hand-fused numpy",
                  "tg.evaluate", "tg.compile", "peak memory"):
        assert label in out, label


def test_score_on_dask_example(capsys):
    pytest.importorskip("dask.array")
    module = load("score_on_dask")
    assert module.main(["--rows", "20000", "--chunk", "5000"]) == 0
    out = capsys.readouterr().out
    assert "dask's threaded scheduler" in out and "[ok] equal to tg.evaluate" in out
