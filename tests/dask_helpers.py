"""Custom ops for tests/test_dask.py, in a module dask's worker processes can import too."""

import threading
import time

import numpy as np

import tinygraph as tg

_lock = threading.Lock()


class CountedSwish(tg.Op):
    """x * sigmoid(x), counting its calls in this process (how often the forward pass ran)."""

    calls = 0

    def forward(self, a):
        with _lock:
            CountedSwish.calls += 1
        return a / (1 + np.exp(-a))


class Sleepy(tg.Op):
    """The identity, taking ``seconds`` per call: tasks that last long enough to kill a worker mid-run."""

    def __init__(self, seconds):
        self.seconds = seconds

    def forward(self, a):
        time.sleep(self.seconds)
        return a.copy()


def mlp(rng, sizes=(6, 8, 3), dtype=np.float32):
    """An MLP on input ``x`` of ``sizes``: ``(x, y)``; sigmoid between layers."""
    x = tg.input("x", shape=(None, sizes[0]), dtype=dtype)
    h = x
    for k, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = tg.parameter(rng.standard_normal((m, n)).astype(dtype), name=f"W{k + 1}")
        b = tg.parameter(rng.standard_normal(n).astype(dtype), name=f"b{k + 1}")
        h = h @ W + b
        if k < len(sizes) - 2:
            h = tg.sigmoid(h)
    return x, h
