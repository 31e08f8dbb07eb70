"""Real models in tinygraph against onnxruntime and torch: ``python benchmarks/models.py`` [--rounds N] [--threads N].

M1  resnet18, batch 1, 3x224x224, float32
M2  resnet18, batch 8, 3x224x224, float32
M3  nn.TransformerEncoderLayer(d_model=32, nhead=4, batch_first=True), batch 8, sequence 64, float32

Each model (tests/torch_models.py, random weights, eval mode) is imported with ``tg.from_torch``
and written with ``tg.onnx.export`` for onnxruntime. Per workload, one call of each of
``tg.evaluate``, ``tg.compile``'s callable, an onnxruntime session and torch eager (``no_grad``)
runs per round, the four interleaved so that a busy machine slows them alike; the table gives
medians and ratios to torch. Every engine gets ``--threads`` threads (BLAS included; default 1,
fair on a shared machine). Then ``tg.profile(...).by_op()`` of each workload: where tinygraph's
time goes, the convolutions' share first. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per workload (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="threads for every engine (default 1)")
    return parser.parse_args()


ARGS = _args() if __name__ == "__main__" else argparse.Namespace(rounds=7, threads=1)
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads BLAS
    os.environ.setdefault(var, str(ARGS.threads))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from torch_models import build  # noqa: E402

import tinygraph as tg  # noqa: E402

WORKLOADS = [
    ("M1 resnet18 b1 224x224", "resnet18", (3, 224, 224), 1),
    ("M2 resnet18 b8 224x224", "resnet18", (3, 224, 224), 8),
    ("M3 transformer layer b8 s64", "transformer_layer", (64, 32), 8),
]
ENGINES = ["tg.evaluate", "tg.compile", "onnxruntime", "torch eager"]


def engines(name: str, shape: tuple[int, ...], batch: int, workdir: str) -> tuple[dict[str, Callable[[], Any]], Any]:
    """One zero-argument call per engine, computing the model on the same batch, and the tg graph."""
    model, example = build(name, shape=shape)
    data = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(1))
    array = data.numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = tg.from_torch(model, example)
    (x,) = g.inputs
    compiled = tg.compile(g)
    path = os.path.join(workdir, f"{name}.onnx")
    tg.onnx.export(g, path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = ARGS.threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed_name = session.get_inputs()[0].name

    def eager() -> Any:
        with torch.no_grad():
            return model(data).numpy()

    calls = {
        "tg.evaluate": lambda: tg.evaluate(g, {x: array})[0],
        "tg.compile": lambda: compiled(array)[0],
        "onnxruntime": lambda: session.run(None, {feed_name: array})[0],
        "torch eager": eager,
    }
    want = eager()
    for engine, call in calls.items():  # the engines compute the same thing, or the times mean nothing
        got = np.asarray(call())
        err = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
        assert err <= 1e-4, f"{engine} differs from torch by {err:.2e} of the output's scale"
    return calls, (g, {x: array})


def median_times(calls: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    for call in calls.values():
        call()  # warm: caches, plans, allocators
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(rounds):
        for engine, call in calls.items():
            t0 = time.perf_counter()
            call()
            times[engine].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    torch.set_num_threads(ARGS.threads)
    print(f"numpy {np.__version__}, torch {torch.__version__}, onnxruntime {ort.__version__}; "
          f"{ARGS.threads} thread(s) per engine, {ARGS.rounds} rounds, medians")
    rows, profiles = [], []
    with tempfile.TemporaryDirectory() as workdir:
        for label, name, shape, batch in WORKLOADS:
            calls, (g, feeds) = engines(name, shape, batch, workdir)
            rows.append((label, median_times(calls, ARGS.rounds)))
            profiles.append((label, tg.profile(g, feeds)))
    header = "| workload | " + " | ".join(ENGINES) + " | " + " | ".join(f"{e} / torch" for e in ENGINES[:3]) + " |"
    print()
    print(header)
    print("|" + "---|" * (1 + 2 * len(ENGINES) - 1))
    for label, t in rows:
        cells = [f"{1e3 * t[e]:.1f} ms" for e in ENGINES]
        ratios = [f"{t[e] / t['torch eager']:.2f}x" for e in ENGINES[:3]]
        print(f"| {label} | " + " | ".join(cells + ratios) + " |")
    for label, prof in profiles:
        conv = sum(r.seconds for r in prof if r.op == "conv")
        share = f"; conv {100 * conv / prof.total_seconds:.0f} % of it" if conv else ""
        print(f"\n{label}: tg.profile, {1e3 * prof.total_seconds:.1f} ms in nodes{share}. By op:")
        print("\n".join(prof.by_op().splitlines()[:6]))


if __name__ == "__main__":
    main()
