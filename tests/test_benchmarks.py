"""The benchmark suite runs (tiny sizes); it prints figures and is never timed here."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_benchmark_runs_quick():
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--quick"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for label in ("W1", "W2", "W3", "chain", "random DAG", "textbook numpy", "hand-fused numpy",
                  "tg.evaluate", "tg.compile", "peak memory"):
        assert label in out, label


def test_fuzz_loaders_runs_briefly():
    # docs/format.md's fuzzing figures come from this script; here it only has to run and find nothing.
    pytest.importorskip("onnx")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "fuzz_loaders.py"), "--seconds", "0.5"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tg.loads: " in proc.stdout and "tg.onnx.load: " in proc.stdout
    assert proc.stdout.count(", 0 escaped") == 2, proc.stdout
