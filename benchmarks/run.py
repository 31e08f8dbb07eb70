"""tinygraph's benchmark suite: ``python benchmarks/run.py`` (``make bench``); ``--quick`` for tiny sizes.

W1  2-4-3 MLP, batch 10, float64 (the textbook network: per-call overhead)
W2  1024-1024-1024-10 sigmoid MLP, batch 4096, float32 (arithmetic bound; also peak memory)
W3  200 x (Affine 16->16 + Sigmoid), batch 32, float64 (many small nodes)
W4  scale: a chain and a wide random DAG of 1,000 / 10,000 / 100,000 nodes: build, sort,
    evaluate, DOT export (time per node)

W1-W3 time, on the same weights and input, interleaved in one process: the textbook's
numpy classes (``Affine``: ``np.matmul(x, W) + b``, ``Sigmoid``: ``1 / (1 + np.exp(-x))``,
``predict`` looping over the layers), a hand-fused numpy floor (preallocated buffers, in-place
sigmoid), ``tg.evaluate``, ``tg.compile`` and torch eager when installed; then ``tg.compile``'s
backends (numba, jax, onnxruntime) and the peers written directly for each compiler (JAX jit,
PyTensor in numba mode, torch.jit, an ONNX model run by ONNX Runtime), each where installed,
with its build + first-call time beside its run time (``--no-backends`` leaves them out;
``--quick`` keeps the backends for W1 only and leaves the peers out). Figures are medians of
many rounds; ratios are to the textbook code. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygraph as tg  # noqa: E402

try:
    import torch

    DEFAULT_TORCH_THREADS = torch.get_num_threads()
except ImportError:  # torch is optional
    torch = None
    DEFAULT_TORCH_THREADS = 1


# --- the textbook's numpy classes ------------------------------------------------------------------


class Affine:
    def __init__(self, W: Any, b: Any) -> None:
        self.params = [W, b]

    def forward(self, x: Any) -> Any:
        W, b = self.params
        return np.matmul(x, W) + b


class Sigmoid:
    def __init__(self) -> None:
        self.params: list[Any] = []

    def forward(self, x: Any) -> Any:
        return 1 / (1 + np.exp(-x))


def _activated(k: int, depth: int, final_sigmoid: bool) -> bool:
    """Whether layer ``k`` is followed by a sigmoid: between layers, and after the last in W3."""
    return k < depth - 1 or final_sigmoid


class TextbookNet:
    def __init__(self, weights: list[tuple[Any, Any]], final_sigmoid: bool = False) -> None:
        self.layers: list[Any] = []
        for k, (W, b) in enumerate(weights):
            self.layers.append(Affine(W, b))
            if _activated(k, len(weights), final_sigmoid):
                self.layers.append(Sigmoid())

    def predict(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer.forward(x)
        return x


def make_floor(weights: list[tuple[Any, Any]], batch: int, dtype: Any, final_sigmoid: bool) -> Callable[[Any], Any]:
    """The hand-fused numpy floor: buffers allocated once, sigmoid in place."""
    bufs = [np.empty((batch, W.shape[1]), dtype) for W, _ in weights]
    one = np.dtype(dtype).type(1)
    matmul, add, negative, exp, divide = np.matmul, np.add, np.negative, np.exp, np.divide
    activated = [_activated(k, len(weights), final_sigmoid) for k in range(len(weights))]

    def forward(x: Any) -> Any:
        h = x
        for k, (W, b) in enumerate(weights):
            out = bufs[k]
            matmul(h, W, out)
            add(out, b, out)
            if activated[k]:
                negative(out, out)
                exp(out, out)
                add(out, one, out)
                divide(one, out, out)
            h = out
        return h

    return forward


def make_tinygraph(weights: list[tuple[Any, Any]], dtype: Any, final_sigmoid: bool) -> tuple[tg.Node, tg.Node]:
    layers: list[tg.nn.Layer] = []
    for k, (W, b) in enumerate(weights):
        layers.append(tg.nn.Affine(W, b))
        if _activated(k, len(weights), final_sigmoid):
            layers.append(tg.nn.Sigmoid())
    net = tg.nn.Sequential(*layers)
    x = tg.input("x", shape=(None, weights[0][0].shape[0]), dtype=dtype)
    return x, net(x)


def make_torch(weights: list[tuple[Any, Any]], final_sigmoid: bool) -> Callable[[Any], Any] | None:
    if torch is None:
        return None
    # Small layers gain nothing from torch's intra-op threads, and on a 2-core machine their
    # spinning workers slow down whatever runs next in the interleaved rounds.
    model = _torch_model(weights, final_sigmoid)

    def forward(x: Any) -> Any:
        with torch.inference_mode():
            return model(torch.from_numpy(x)).numpy()

    return forward


# --- timing ----------------------------------------------------------------------------------------


def calibrate(fn: Callable[[], Any], target: float) -> int:
    """How many calls make one sample last about ``target`` seconds."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target / 4 or n >= 1 << 20:
            return max(1, int(n * target / max(dt, 1e-9)))
        n *= 4


def interleaved(runners: dict[str, Callable[[], Any]], rounds: int, target: float) -> dict[str, float]:
    """Median seconds per call of each runner, sampled round-robin so that noise hits all alike."""
    numbers = {name: calibrate(fn, target) for name, fn in runners.items()}
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            n = numbers[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


def peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak memory traced (numpy reports its buffers to tracemalloc) during one call."""
    fn()  # warm: plans, caches
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        tracemalloc.stop()
    return peak


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:9.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:9.2f} ms"
    return f"{seconds:9.2f} s "


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join([line, sep, *body])


# --- peers: the same network written directly for each compiler ----------------------------------


def _layers(weights: list[tuple[Any, Any]], final_sigmoid: bool) -> list[bool]:
    return [_activated(k, len(weights), final_sigmoid) for k in range(len(weights))]


def make_jax_direct(weights: list[tuple[Any, Any]], final_sigmoid: bool) -> Callable[[Any], Any] | None:
    """JAX written directly: one jitted function, weights as arguments, float64 enabled globally."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)  # what a JAX user does for float64 (this process only)
    acts = _layers(weights, final_sigmoid)

    @jax.jit
    def forward(params: Any, x: Any) -> Any:
        for (W, b), act in zip(params, acts):
            x = x @ W + b
            if act:
                x = jax.nn.sigmoid(x)
        return x

    params = [(jax.device_put(W), jax.device_put(b)) for W, b in weights]
    return lambda x: np.asarray(forward(params, x))


def make_pytensor(weights: list[tuple[Any, Any]], final_sigmoid: bool) -> Callable[[Any], Any] | None:
    """PyTensor compiled in its numba mode, weights as shared variables."""
    try:
        import pytensor
        import pytensor.tensor as pt
    except ImportError:
        return None
    dtype = str(weights[0][0].dtype)
    x = pt.matrix("x", dtype=dtype)
    h = x
    for (W, b), act in zip(weights, _layers(weights, final_sigmoid)):
        h = pt.dot(h, pytensor.shared(W)) + pytensor.shared(b)
        if act:
            h = pt.sigmoid(h)
    return pytensor.function([x], h, mode="NUMBA")  # type: ignore[no-any-return]


def make_torch_jit(weights: list[tuple[Any, Any]], final_sigmoid: bool) -> Callable[[Any], Any] | None:
    """torch.jit.trace of the torch.nn model, frozen, numpy in and out."""
    if torch is None:
        return None
    model = _torch_model(weights, final_sigmoid)
    example = torch.zeros((2, weights[0][0].shape[0]), dtype=torch.from_numpy(weights[0][0]).dtype)
    with torch.inference_mode():
        traced = torch.jit.freeze(torch.jit.trace(model, example))

    def forward(x: Any) -> Any:
        with torch.inference_mode():
            return traced(torch.from_numpy(x)).numpy()

    return forward


def make_ort_direct(weights: list[tuple[Any, Any]], final_sigmoid: bool) -> Callable[[Any], Any] | None:
    """An ONNX model written with onnx.helper (MatMul, Add, Sigmoid), run with ONNX Runtime's defaults."""
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        return None
    h = onnx.helper
    elem = h.np_dtype_to_tensor_dtype(weights[0][0].dtype)
    nodes, inits, cur = [], [], "x"
    for k, ((W, b), act) in enumerate(zip(weights, _layers(weights, final_sigmoid))):
        inits += [onnx.numpy_helper.from_array(W, f"W{k}"), onnx.numpy_helper.from_array(b, f"b{k}")]
        nodes += [h.make_node("MatMul", [cur, f"W{k}"], [f"m{k}"]), h.make_node("Add", [f"m{k}", f"b{k}"], [f"a{k}"])]
        cur = f"a{k}"
        if act:
            nodes.append(h.make_node("Sigmoid", [cur], [f"s{k}"]))
            cur = f"s{k}"
    graph = h.make_graph(nodes, "mlp", [h.make_tensor_value_info("x", elem, [None, weights[0][0].shape[0]])],
                         [h.make_tensor_value_info(cur, elem, None)], initializer=inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 18)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = [cur]
    return lambda x: session.run(out, {"x": x})[0]


def _torch_model(weights: list[tuple[Any, Any]], final_sigmoid: bool) -> Any:
    big = max(W.size for W, _ in weights) >= 1 << 16
    torch.set_num_threads(DEFAULT_TORCH_THREADS if big else 1)
    mods: list[Any] = []
    for k, (W, b) in enumerate(weights):
        if k:
            mods.append(torch.nn.Sigmoid())
        lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.from_numpy(W).dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        mods.append(lin)
    if final_sigmoid:
        mods.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*mods).eval()


# --- W1-W3 -----------------------------------------------------------------------------------------


Rows = list[list[str]]
#: tg.compile's backends beside the default numpy path, and the peers (each where installed).
BACKENDS = ("numba", "jax", "onnxruntime")
PEERS: dict[str, Callable[[list[tuple[Any, Any]], bool], Callable[[Any], Any] | None]] = {
    "JAX jit (direct)": make_jax_direct,
    "PyTensor (numba mode)": make_pytensor,
    "torch.jit (traced)": make_torch_jit,
    "ONNX Runtime (direct)": make_ort_direct,
}


def _built(make: Callable[[], Callable[[Any], Any] | None], x: Any) -> tuple[Callable[[Any], Any] | None, float]:
    """``make()`` and its first call, timed together: what a user waits before the first result."""
    t0 = time.perf_counter()
    try:
        fn = make()
    except ImportError:
        return None, 0.0
    if fn is None:
        return None, 0.0
    fn(x)
    return fn, time.perf_counter() - t0


def mlp_workload(name: str, sizes: list[int], batch: int, dtype: Any, rounds: int, target: float,
                 memory: bool = False, final_sigmoid: bool = False, seed: int = 0,
                 others: bool = True, peers: bool = True) -> tuple[Rows, Rows]:
    rng = np.random.default_rng(seed)
    weights = [
        (rng.standard_normal((a, b)).astype(dtype) / np.sqrt(a).astype(dtype), rng.standard_normal(b).astype(dtype))
        for a, b in zip(sizes[:-1], sizes[1:])
    ]
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    textbook = TextbookNet(weights, final_sigmoid)
    floor = make_floor(weights, batch, dtype, final_sigmoid)
    xin, y = make_tinygraph(weights, dtype, final_sigmoid)
    feeds = {xin: x}
    builds: dict[str, float] = {}
    fns: dict[str, Callable[[Any], Any]] = {}
    for label, make in [("tg.compile", lambda: tg.compile(y))] + (
            [(f"tg.compile {b}", (lambda b=b: tg.compile(y, backend=b))) for b in BACKENDS] if others else []):
        fn, seconds = _built(make, x)
        if fn is not None:
            fns[label], builds[label] = fn, seconds
    runners: dict[str, Callable[[], Any]] = {
        "textbook numpy": lambda: textbook.predict(x),
        "hand-fused numpy": lambda: floor(x),
        "tg.evaluate": lambda: tg.evaluate(y, feeds),
    }
    for label, fn in fns.items():
        runners[label] = (lambda fn=fn: fn(x))
    torch_fn = make_torch(weights, final_sigmoid)
    if torch_fn is not None:
        runners["torch eager"] = lambda: torch_fn(x)
    if others and peers:
        for label, make_peer in PEERS.items():
            fn, seconds = _built(lambda make_peer=make_peer: make_peer(weights, final_sigmoid), x)
            if fn is not None:
                runners[label], builds[label] = (lambda fn=fn: fn(x)), seconds
    expected = textbook.predict(x)
    for label, fn in runners.items():
        got = fn()
        tol = 1e-4 if dtype == np.float32 else 1e-9
        if label in ("tg.evaluate", "tg.compile"):
            assert np.array_equal(got, expected), f"{label} differs from the textbook code"
        else:
            assert np.allclose(got, expected, rtol=tol, atol=tol), label
    medians = interleaved(runners, rounds, target)
    base = medians["textbook numpy"]
    rows = [[name, label, fmt_time(t), f"{t / base:.2f}", fmt_time(builds[label]).strip() if label in builds else ""]
            for label, t in medians.items()]
    mem_rows: list[list[str]] = []
    if memory:
        for label in runners:
            if label in ("textbook numpy", "hand-fused numpy", "tg.evaluate", "tg.compile"):
                traced = f"{peak_bytes(runners[label]) / 2**20:.1f} MiB"
            else:
                traced = "(not seen)"
            mem_rows.append([name, label, traced, f"{peak_rss(runners[label]) / 2**20:.1f} MiB"])
    return rows, mem_rows


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _trim() -> None:
    """Give the C heap's free memory back to the system, so that reusing it shows as growth again."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_rss(fn: Callable[[], Any]) -> int:
    """Peak growth of the resident set during one call, sampled every 0.2 ms by a thread.

    Unlike tracemalloc it sees every allocator (numba's, XLA's, ONNX Runtime's arenas). Memory an
    implementation keeps between calls (ONNX Runtime's arena, XLA's buffers, preallocated
    buffers) is not counted: each is warmed up by two calls, then the C heap's free memory is
    returned to the system (``malloc_trim``) so that memory malloc recycles shows as growth.
    """
    if not os.path.exists("/proc/self/statm"):
        return 0
    import threading

    fn()
    fn()
    gc.collect()
    _trim()
    base = _rss()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.0002)

    t = threading.Thread(target=sample)
    t.start()
    try:
        result = fn()
        peak[0] = max(peak[0], _rss())
        del result
    finally:
        done.set()
        t.join()
    return max(0, peak[0] - base)


# --- W4 ----------------------------------------------------------------------------------------------


def build_chain(n: int) -> tg.Node:
    """About ``n`` nodes: x, then alternately tanh and ``+ c``."""
    x = tg.input("x", shape=(4,))
    c = tg.constant(np.full(4, 0.5))
    v = x
    for i in range(n - 2):
        v = tg.tanh(v) if i % 2 else tg.add(v, c)
    return v


def build_dag(n: int, seed: int = 0) -> tg.Node:
    """``n`` nodes: alternately ``tanh`` of the last node and ``last + (a random earlier node)``.

    The long random edges keep many values alive at once (a wide graph); every node is an
    ancestor of the output, so all of them are sorted, evaluated and exported.
    """
    rng = np.random.default_rng(seed)
    x = tg.input("x", shape=(4,))
    nodes = [x]
    picks = rng.random(n)
    for i in range(n - 1):
        if i % 2:
            nodes.append(tg.add(nodes[-1], nodes[int(picks[i] * len(nodes))]))
        else:
            nodes.append(tg.tanh(nodes[-1]))
    return nodes[-1]


def _scale_once(builder: Callable[[int], tg.Node], n: int, to_dot: Any) -> dict[str, float]:
    gc.collect()
    t0 = time.perf_counter()
    y = builder(n)
    times = {"build": time.perf_counter() - t0}
    # The same build with the cyclic collector paused: shows how much of the growth is CPython's
    # full collections walking a heap that grows with the graph.
    gc.disable()
    try:
        t0 = time.perf_counter()
        builder(n)
        times["build (gc paused)"] = time.perf_counter() - t0
    finally:
        gc.enable()
    gc.collect()
    t0 = time.perf_counter()
    graph = tg.Graph(y)
    times["sort"] = time.perf_counter() - t0
    times["nodes"] = len(graph)
    feeds = {"x": np.linspace(-1, 1, 4)}
    t0 = time.perf_counter()
    tg.evaluate(graph, feeds)  # cold: sorts and plans (cached), then runs
    times["evaluate (cold)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tg.evaluate(graph, feeds)
    times["evaluate (warm)"] = time.perf_counter() - t0
    if to_dot is not None:
        t0 = time.perf_counter()
        to_dot(graph)
        times["DOT export"] = time.perf_counter() - t0
    return times


SCALE_COLUMNS = ["build", "build (gc paused)", "sort", "evaluate (cold)", "evaluate (warm)", "DOT export"]


def scale_workload(sizes: list[int]) -> list[list[str]]:
    # DOT export comes with the diagrams module (tg.to_dot / Graph.to_dot) where present.
    to_dot = getattr(tg, "to_dot", None) or getattr(tg.Graph, "to_dot", None)
    rows: list[list[str]] = []
    for shape, builder in (("chain", build_chain), ("random DAG", build_dag)):
        per_node: dict[str, dict[int, float]] = {k: {} for k in SCALE_COLUMNS}
        for n in sizes:
            # Small graphs take milliseconds: the median of a few runs steadies them.
            runs = [_scale_once(builder, n, to_dot) for _ in range(5 if n <= 10_000 else 3)]
            times = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            count = int(times["nodes"])
            for key in SCALE_COLUMNS:
                if key in times:
                    per_node[key][n] = times[key] / count
            rows.append([shape, f"{count:,}", *(fmt_time(times[k]) if k in times else "n/a" for k in SCALE_COLUMNS)])
        growth = []
        for key in SCALE_COLUMNS:
            values = per_node[key]
            growth.append(f"{values[max(values)] / values[min(values)]:.2f}" if len(values) >= 2 else "n/a")
        rows.append([shape, f"per-node time {max(sizes):,} / {min(sizes):,}", *growth])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few rounds (a smoke test)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per workload")
    parser.add_argument("--only", default="W1,W2,W3,W4", help="comma-separated workloads to run")
    parser.add_argument("--no-torch", action="store_true", help="leave torch out even if installed")
    parser.add_argument("--no-backends", action="store_true",
                        help="leave out tg.compile's jax/numba/onnxruntime backends and the peers")
    args = parser.parse_args(argv)
    global torch
    if args.no_torch:
        torch = None
    only = set(args.only.upper().split(","))
    others = not args.no_backends
    quick = args.quick
    rounds = args.rounds or (3 if quick else 41)
    target = 0.002 if quick else 0.02
    print(f"tinygraph {tg.__version__} | numpy {np.__version__} | torch {torch.__version__ if torch else 'n/a'} | "
          f"Python {platform.python_version()} | {os.cpu_count()} cores | "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    suffix = " [--quick]" if quick else ""
    print(f"median of {rounds} interleaved rounds; ratio = time / textbook numpy time{suffix}")
    rows: list[list[str]] = []
    mem: list[list[str]] = []
    if "W1" in only:
        r, _ = mlp_workload("W1", [2, 4, 3], 10, np.float64, rounds, target, others=others, peers=not quick)
        rows += r
    if "W2" in only:
        sizes, batch = ([64, 64, 64, 10], 128) if quick else ([1024, 1024, 1024, 10], 4096)
        r, m = mlp_workload("W2", sizes, batch, np.float32, max(3, rounds // 4) if not quick else rounds,
                            target * 5, memory=True, others=others and not quick, peers=not quick)
        rows += r
        mem += m
    if "W3" in only:
        depth = 10 if quick else 200
        r, _ = mlp_workload("W3", [16] * (depth + 1), 32, np.float64, rounds, target, final_sigmoid=True,
                            others=others and not quick, peers=not quick)
        rows += r
    if rows:
        print()
        print(table(rows, ["workload", "implementation", "median per call", "ratio", "build + first call"]))
    if mem:
        print()
        print(table(mem, ["workload", "implementation", "peak memory of one forward (tracemalloc)",
                          "peak RSS growth of one forward"]))
    if "W4" in only:
        sizes = [100, 1000] if quick else [1000, 10000, 100000]
        print()
        print(table(scale_workload(sizes), ["W4 graph", "nodes", *SCALE_COLUMNS]))


if __name__ == "__main__":
    main()
