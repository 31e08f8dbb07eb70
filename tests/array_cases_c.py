"""Array-library cases for ops no ONNX conformance case reaches (see tests/array_cases.py).

Layout, shaping and indexing ops: ``Size`` and ``Stack`` (no ONNX op makes them), and the paths
the conformance cases miss on other libraries: shapes, pads, bounds and axes computed at run
time (read on the host as ints), Python scalars as operands, negative steps and indices.
"""

from __future__ import annotations

import numpy as np

import tinygraph as tg

_RNG = np.random.default_rng(12)


def _floats(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape).astype(np.float32)


def size_and_shape():
    x = tg.input("x", (None, 3, 4), np.float32)
    n = tg.size(x)
    return [n, tg.shape(x, 1), n * 2, tg.shape(x, -2, -1)], {"x": _floats(2, 3, 4)}


def stack_mixed():
    a = tg.input("a", (2, 3), np.float32)
    b = tg.input("b", (2, 3), np.int64)
    s = tg.input("s", (), np.int32)
    return [tg.stack([a, b], axis=-1), tg.stack([s, 2, s]), tg.stack([a, a, a], axis=1)], {
        "a": _floats(2, 3), "b": np.arange(6).reshape(2, 3), "s": np.array(7, np.int32)}


def shapes_at_run_time():
    x = tg.input("x", (None, 6), np.float32)
    y = tg.input("y", (None, 3, 2), np.float32)
    flat = tg.reshape(x, tg.shape(y))
    full = tg.constant_of_shape(tg.shape(y), 1.5, np.float32)
    grown = tg.expand(tg.input("z", (None, 1, 2), np.float32), tg.shape(y))
    tiled = tg.tile(x, tg.concat([tg.shape(x, 0, 1), [2]]))
    return [flat, full, grown, tiled, tg.expand(2.0, tg.shape(y))], {
        "x": _floats(2, 6), "y": _floats(2, 3, 2), "z": _floats(2, 1, 2)}


def copy_zeros_reshape():
    x = tg.input("x", (2, 3, 4), np.float32)
    target = tg.input("t", (3,), np.int64)
    return [tg.ops.Reshape(copy_zeros=True)(x, target)], {"x": _floats(2, 3, 4), "t": np.array([0, -1, 2])}


def pads():
    x = tg.input("x", (3, 4), np.float32)
    i = tg.input("i", (2, 3), np.int32)
    p = tg.input("p", (4,), np.int64)
    value = tg.input("v", (), np.float32)
    outs = [tg.pad(x, ((1, 2), (0, 3))), tg.pad(i, 2, constant_value=-1.7), tg.pad(x, ((0, 0), (0, 0))),
            tg.ops.Pad()(x, p, value), tg.ops.Pad("constant")(i, np.array([1, -1, 0, 2]))]
    outs += [tg.pad(x, ((2, 1), (3, 5)), mode=m) for m in ("reflect", "edge", "wrap")]
    outs += [tg.ops.Pad("edge")(x, p), tg.ops.Pad("wrap")(i, np.array([-1, 0, 0, 0]))]
    return outs, {"x": _floats(3, 4), "i": np.arange(6, dtype=np.int32).reshape(2, 3),
                  "p": np.array([1, -2, 0, 3]), "v": np.array(9.5, np.float32)}


def slices():
    x = tg.input("x", (5, 6), np.float32)
    starts = tg.input("starts", (2,), np.int64)
    ends = tg.input("ends", (2,), np.int64)
    outs = [x[::-1], x[3:0:-2, ::-3], x[-1:-7:-1, 1:5:2], x[0:4:-1], x[:, 4], x[None, ..., 2:3],
            tg.slice(x, starts, ends, steps=[-1, 2]), tg.slice(x, starts, ends, axes=[1, 0])]
    return outs, {"x": _floats(5, 6), "starts": np.array([4, 1]), "ends": np.array([-10, 5])}


def gathers():
    x = tg.input("x", (4, 5), np.float32)
    idx = tg.input("idx", (2, 3), np.int32)
    one = tg.input("one", (), np.int64)
    el = tg.input("el", (4, 2), np.uint8)
    outs = [tg.gather(x, idx, axis=1), tg.gather(x, one), tg.gather(x, [-1, 0, -4]), x[[3, -2]],
            tg.gather_elements(x, el, axis=1), tg.gather_elements(x, -tg.cast(el, np.int64) - 1, axis=-1)]
    return outs, {"x": _floats(4, 5), "idx": np.array([[0, -1, 2], [4, -5, 3]], np.int32),
                  "one": np.array(-1), "el": np.array([[0, 4], [1, 1], [2, 0], [3, 3]], np.uint8)}


def squeezes():
    x = tg.input("x", (1, 3, 1, 2), np.float32)
    axes = tg.input("axes", (2,), np.int64)
    outs = [tg.squeeze(x), tg.squeeze(x, -2), tg.ops.Squeeze()(x, axes), tg.unsqueeze(x, (-1, 0)),
            tg.ops.Unsqueeze()(x, axes), tg.unsqueeze(tg.squeeze(x), 1)]
    return outs, {"x": _floats(1, 3, 1, 2), "axes": np.array([0, -2])}


def transposes_and_casts():
    x = tg.input("x", (2, 3, 4), np.float32)
    s = tg.input("s", (), np.float64)
    outs = [tg.transpose(x), tg.transpose(x, (-1, 0, 1)), x.T, tg.transpose(s), tg.cast(x * 3, np.int16),
            tg.cast(x, np.bool_), tg.cast(tg.cast(x * 100, np.int32), np.uint8), tg.cast(s, np.float32)]
    return outs, {"x": _floats(2, 3, 4), "s": np.array(2.75)}


def triangles_and_ranges():
    x = tg.input("x", (2, 3, 4), np.float32)
    b = tg.input("b", (4, 3), np.bool_)
    k = tg.input("k", (), np.int64)
    n = tg.input("n", (), np.int32)
    d = tg.input("d", (), np.float32)
    outs = [tg.triu(x, k), tg.tril(x, -1), tg.triu(b, 5), tg.tril(b, k),
            tg.range(n), tg.range(n, 1, -2), tg.range(d, 2.0, 0.25), tg.range(1, n, 3), tg.range(n, 0)]
    return outs, {"x": _floats(2, 3, 4), "b": _RNG.random((4, 3)) > 0.3, "k": np.array(1),
                  "n": np.array(9, np.int32), "d": np.array(-0.6, np.float32)}


def concats():
    a = tg.input("a", (2, 3), np.float32)
    b = tg.input("b", (2, 1), np.int64)
    c = tg.input("c", (2, 2), np.bool_)
    return [tg.concat([a, b, c], axis=1), tg.concat([b, c], axis=-1), tg.concat([c, c])], {
        "a": _floats(2, 3), "b": np.array([[5], [-6]]), "c": np.array([[True, False], [False, True]])}


CASES: list = [
    (size_and_shape, "size-and-shape"), (stack_mixed, "stack"), (shapes_at_run_time, "run-time-shapes"),
    (copy_zeros_reshape, "reshape-copy-zeros"), (pads, "pad"), (slices, "slice"), (gathers, "gather"),
    (squeezes, "squeeze-unsqueeze"), (transposes_and_casts, "transpose-cast"),
    (triangles_and_ranges, "trilu-range"), (concats, "concat"),
]
