"""Score a dask array with a tinygraph network, chunk by chunk: ``python examples/score_on_dask.py``.

The rows are a lazy ``dask.array`` (here made from a seeded generator, one chunk at a time);
``tg.dask.map_batches`` turns the network into a lazy array of scores, one task per chunk,
and nothing runs until ``.compute()``. By default dask's threaded scheduler runs it in this
process; ``--cluster`` starts a ``dask.distributed`` LocalCluster of two worker processes
instead (the graph travels to them in tinygraph's own format). Either way the result must
equal ``tg.evaluate`` on the same rows. See docs/scale.md.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import tinygraph as tg

WIDTH, HIDDEN, CLASSES = 32, 64, 5


def network(seed: int = 0) -> tuple[tg.Node, tg.Node, tg.Node]:
    """A 32-64-5 classifier: ``(x, probabilities, predicted class score)``."""
    rng = np.random.default_rng(seed)
    x = tg.input("x", shape=(None, WIDTH), dtype=np.float32)
    W1 = tg.parameter((rng.standard_normal((WIDTH, HIDDEN)) / np.sqrt(WIDTH)).astype(np.float32), name="W1")
    b1 = tg.parameter(np.zeros(HIDDEN, np.float32), name="b1")
    W2 = tg.parameter((rng.standard_normal((HIDDEN, CLASSES)) / np.sqrt(HIDDEN)).astype(np.float32), name="W2")
    b2 = tg.parameter(np.zeros(CLASSES, np.float32), name="b2")
    probabilities = tg.softmax(tg.relu(x @ W1 + b1) @ W2 + b2, axis=-1)
    return x, probabilities, probabilities.max(axis=1)


def rows(n: int, chunk: int, seed: int = 1) -> object:
    """``n`` rows as a lazy dask array: each chunk is generated only when a task needs it."""
    import dask.array as da

    return da.random.default_rng(seed).standard_normal((n, WIDTH), chunks=(chunk, WIDTH), dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=25_000, help="rows per chunk (one task each)")
    parser.add_argument("--cluster", action="store_true", help="run on a LocalCluster of 2 worker processes")
    args = parser.parse_args(argv)

    import dask

    x, probabilities, confidence = network()
    batch = rows(args.rows, args.chunk)
    # Both outputs from one forward pass per chunk: a list of two lazy arrays.
    probs, conf = tg.dask.map_batches([probabilities, confidence], batch)
    print(f"input: {batch!r}")
    print(f"probabilities: shape {probs.shape}, dtype {probs.dtype}, chunks {probs.chunks[0][:3]}... (not computed)")
    predicted = probs.argmax(axis=1)
    counts = dask.array.bincount(predicted, minlength=CLASSES)
    mean_confidence = conf.mean()

    if args.cluster:
        import distributed

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      silence_logs=40) as cluster, distributed.Client(cluster) as client:
            start = time.perf_counter()  # the cluster's start-up (a few seconds) left out
            got_counts, got_mean, first = client.compute([counts, mean_confidence, probs[:1000]], sync=True)
        where = "a LocalCluster of 2 worker processes"
    else:
        start = time.perf_counter()
        got_counts, got_mean, first = dask.compute(counts, mean_confidence, probs[:1000], scheduler="threads")
        where = "dask's threaded scheduler"
    seconds = time.perf_counter() - start
    print(f"scored {args.rows:,} rows on {where} in {seconds:.2f} s ({args.rows / seconds:,.0f} rows/s)")
    print(f"predicted classes: {got_counts.tolist()}; mean confidence {float(got_mean):.4f}")

    # The same rows through tg.evaluate in one piece: the chunked result must be the same.
    whole = batch.compute()
    expected = tg.evaluate([probabilities, confidence], {x: whole})
    same = (np.array_equal(first, expected[0][:1000])
            and np.array_equal(got_counts, np.bincount(expected[0].argmax(axis=1), minlength=CLASSES))
            and np.isclose(float(got_mean), float(expected[1].mean()), rtol=1e-5))
    print("[ok] equal to tg.evaluate on the same rows" if same else "FAILED: differs from tg.evaluate")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
