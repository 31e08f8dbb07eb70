"""Scoring a batch larger than memory with ``tg.dask.map_batches`` on a dask.distributed cluster.

``python benchmarks/dask_scale.py`` (40 GB: about 10 million float32 rows of width 1024) runs the
W2 network (1024-1024-1024-10, sigmoid, random weights) over rows generated lazily, chunk by
chunk, inside the workers of a ``LocalCluster``; only the count of each row's argmax class comes
back. It prints the throughput (rows/s), each worker's peak memory (bounded by the chunk size
times the threads, not by the batch) and, beside them, plain numpy ``tg.evaluate`` on one chunk,
in this process and in one worker. ``--gb 0.5`` is a run of seconds. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygraph as tg  # noqa: E402

SIZES = (1024, 1024, 1024, 10)
WIDTH = SIZES[0]
ROW_BYTES = WIDTH * 4  # float32


def w2_network(seed: int) -> tuple[tg.Node, tg.Node]:
    """The W2 network of benchmarks/run.py: ``(x, logits)``, float32, weights scaled by 1/sqrt(fan-in)."""
    rng = np.random.default_rng(seed)
    x = tg.input("x", shape=(None, WIDTH), dtype=np.float32)
    h = x
    for k, (m, n) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        W = tg.parameter((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32), name=f"W{k + 1}")
        b = tg.parameter(rng.standard_normal(n).astype(np.float32), name=f"b{k + 1}")
        h = h @ W + b
        if k < len(SIZES) - 2:
            h = tg.sigmoid(h)
    return x, h


def make_rows(block_id: tuple[int, ...], rows: int, seed: int) -> np.ndarray[Any, Any]:
    """One chunk of rows, from a generator seeded by the chunk's index: any chunk is made again alike."""
    rng = np.random.default_rng([seed, block_id[0]])
    out = rng.random((rows, WIDTH), dtype=np.float32)
    out -= 0.5
    out *= 3.4  # about unit variance, at a fraction of standard_normal's cost
    return out


def lazy_rows(total: int, chunk: int, seed: int) -> Any:
    """``total`` rows as a dask array of chunks of ``chunk`` rows, each made only when a task needs it."""
    import dask.array as da

    chunks = (tuple([chunk] * (total // chunk) + ([total % chunk] if total % chunk else [])), (WIDTH,))

    def block(block_info: Any = None) -> np.ndarray[Any, Any]:
        info = block_info[None]
        start, stop = info["array-location"][0]
        return make_rows(tuple(info["chunk-location"]), stop - start, seed)

    return da.map_blocks(block, chunks=chunks, dtype=np.float32, meta=np.empty((0, 0), np.float32),
                         name=f"rows-{seed}-{total}-{chunk}")


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """This process's resident memory now."""
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def numpy_rate(seed: int, chunk: int, rounds: int = 3) -> tuple[float, float]:
    """Rows/s of ``tg.evaluate`` on one chunk (best of ``rounds``), and of generating that chunk."""
    x, y = w2_network(seed)
    data = make_rows((0,), chunk, seed)
    tg.evaluate(y, {x: data})
    best = min(_timed(lambda: tg.evaluate(y, {x: data})) for _ in range(rounds))
    gen = min(_timed(lambda: make_rows((0,), chunk, seed)) for _ in range(rounds))
    return chunk / best, chunk / gen


def _baselines(client: Any, seed: int, chunk: int) -> tuple[float, float, float]:
    """Rows/s of tg.evaluate on one chunk here and in one worker, and of generating a chunk here."""
    rate, gen_rate = numpy_rate(seed, chunk)
    worker_rate, _ = client.submit(numpy_rate, seed, chunk, pure=False).result()
    return rate, worker_rate, gen_rate


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=40.0, help="size of the batch in GB (10^9 bytes) of float32 rows")
    parser.add_argument("--chunk-rows", type=int, default=16384, help="rows per chunk (16384 rows: 64 MiB)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    import distributed

    total = int(args.gb * 1e9) // ROW_BYTES
    chunk = min(args.chunk_rows, total)
    import psutil

    memory = psutil.virtual_memory().total
    print(f"tinygraph {tg.__version__} | numpy {np.__version__} | dask {dask.__version__} | distributed "
          f"{distributed.__version__} | Python {platform.python_version()} | {os.cpu_count()} cores | "
          f"{memory / 2**30:.1f} GiB RAM")
    print(f"batch: {total:,} rows x {WIDTH} float32 = {total * ROW_BYTES / 1e9:.1f} GB "
          f"({total * ROW_BYTES / memory:.2f} x this machine's memory), generated lazily in the workers")
    print(f"chunks: {chunk:,} rows = {chunk * ROW_BYTES / 2**20:.0f} MiB each, {-(-total // chunk):,} chunks; "
          f"network W2 {'-'.join(map(str, SIZES))} sigmoid, float32")

    x, y = w2_network(args.seed)
    rows = lazy_rows(total, chunk, args.seed)
    logits = tg.dask.map_batches(y, rows)
    counts = da.bincount(logits.argmax(axis=1), minlength=SIZES[-1])

    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=args.threads, processes=True,
                                  dashboard_address=":0", silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        # The baselines are taken just before and just after the run: on a shared machine the load
        # changes, and the pair shows by how much.
        rates = [_baselines(client, args.seed, chunk)]
        before = client.run(rss_mib)
        print(f"cluster: {args.workers} worker processes x {args.threads} thread(s) (BLAS: 1 thread per worker, "
              f"dask's default); worker memory before the run: "
              f"{', '.join(f'{v:.0f}' for v in before.values())} MiB")
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        result = client.compute(counts, sync=True)
        seconds = time.perf_counter() - start
        load_after = os.getloadavg()[0]
        peaks = client.run(peak_rss_mib)
        rates.append(_baselines(client, args.seed, chunk))
    assert int(result.sum()) == total, (int(result.sum()), total)

    def pair(k: int, factor: int = 1) -> str:
        return " / ".join(f"{r[k] * factor:,.0f}" for r in rates)

    print()
    print("| what | rows/s | notes |")
    print("|---|---|---|")
    print(f"| tg.dask.map_batches, {args.workers} workers | {total / seconds:,.0f} | {seconds:,.1f} s for "
          f"{total:,} rows, row generation included |")
    print(f"| plain numpy tg.evaluate, one chunk, this process | {pair(0)} | before / after the run; BLAS with "
          f"its default threads |")
    print(f"| plain numpy tg.evaluate, one chunk, in one worker | {pair(1)} | before / after; one BLAS thread; "
          f"x {args.workers} workers = {pair(1, args.workers)} |")
    print(f"| generating one chunk of rows, this process | {pair(2)} | before / after; numpy Generator.random |")
    print()
    for address, peak in sorted(peaks.items()):
        print(f"peak memory of worker {address}: {peak:,.0f} MiB (before the run: {before[address]:,.0f} MiB)")
    print(f"peak memory of this process (the client): {peak_rss_mib():,.0f} MiB")
    print(f"one chunk: {chunk * ROW_BYTES / 2**20:.0f} MiB of input; the batch: {total * ROW_BYTES / 2**30:,.1f} GiB")
    print(f"argmax class counts: {result.tolist()}")
    # Other work on the machine slows every figure above; the load average says how busy it was.
    print(f"load average (1 min) at the start / end of the run: {load_before:.2f} / {load_after:.2f} "
          f"on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
