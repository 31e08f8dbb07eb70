"""Array-library cases for ops no ONNX conformance case reaches (see tests/array_cases.py).

Family A: elementwise, activations, math. Besides ``CastLike`` (which the ONNX importer turns
into a ``cast``), the corners the conformance cases miss: integer division and remainders by
zero, integers to negative powers, integer operands of float functions, Python scalars, bounds
left out, and dtypes torch stores but has no kernels for (uint16/32/64, computed through numpy).
"""

import numpy as np

import tinygraph as tg

_RNG = np.random.default_rng(12)


def _ints(shape, dtype=np.int64, low=-5, high=6):
    return _RNG.integers(low, high, shape).astype(dtype)


def _floats(shape, dtype=np.float64, scale=3.0):
    return (_RNG.normal(size=shape) * scale).astype(dtype)


def cast_like():
    a = tg.input("a", shape=(2, 3), dtype=np.float64)
    i = tg.input("i", shape=(2, 3), dtype=np.int32)
    like_int = tg.input("like_int", shape=(1,), dtype=np.int16)
    like_float = tg.input("like_float", shape=(), dtype=np.float32)
    like_bool = tg.input("like_bool", shape=(4,), dtype=np.bool_)
    outputs = [tg.cast_like(a, like_int), tg.cast_like(i, like_float), tg.cast_like(a, like_bool),
               tg.cast_like(i, like_bool), tg.cast_like(a, a)]
    a_value = np.array([[1.5, -2.7, 0.0], [300.2, -0.4, 7.0]])
    feeds = {"a": a_value, "i": np.array([[1, 0, -3], [2**20, 5, 0]], np.int32),
             "like_int": np.zeros(1, np.int16), "like_float": np.float32(0), "like_bool": np.zeros(4, bool)}
    return outputs, feeds


def integer_division():
    a = tg.input("a", shape=(4, 5), dtype=np.int32)
    b = tg.input("b", shape=(5,), dtype=np.int32)
    c = tg.input("c", shape=(4, 5), dtype=np.int8)
    f = tg.input("f", shape=(4, 5), dtype=np.float32)
    outputs = [tg.trunc_div(a, b), tg.trunc_div(a, 3), tg.trunc_div(-7, b), tg.trunc_div(c, b), tg.trunc_div(f, b),
               tg.mod(a, b), tg.mod(a, b, fmod=True), tg.mod(c, -3), tg.mod(c, 3, fmod=True), tg.mod(f, b),
               tg.mod(f, b, fmod=True), a / b, c / 4]
    feeds = {"a": _ints((4, 5), np.int32, -20, 21), "b": np.array([3, -2, 0, 7, -1], np.int32),
             "c": _ints((4, 5), np.int8, -100, 101), "f": _floats((4, 5), np.float32, 10)}
    return outputs, feeds


def integer_powers():
    a = tg.input("a", shape=(3, 4), dtype=np.int64)
    b = tg.input("b", shape=(4,), dtype=np.int64)
    s = tg.input("s", shape=(3, 4), dtype=np.int16)
    x = tg.input("x", shape=(3, 4), dtype=np.float32)
    outputs = [tg.pow(a, b), a ** 2, a ** -1, tg.pow(2, b), tg.pow(s, b), x ** 2, x ** b, tg.pow(x, 0.5)]
    feeds = {"a": np.array([[-2, -1, 0, 1], [2, 3, -1, 1], [5, -3, 2, 0]], np.int64),
             "b": np.array([-1, -2, 3, 0], np.int64), "s": _ints((3, 4), np.int16),
             "x": np.abs(_floats((3, 4), np.float32)) + 0.5}
    return outputs, feeds


def float_functions_of_integers():
    a = tg.input("a", shape=(2, 5), dtype=np.int32)
    u = tg.input("u", shape=(2, 5), dtype=np.int16)  # int8 and uint8 give float16, which array-api-strict lacks
    w = tg.input("w", shape=(2, 5), dtype=np.uint8)
    h = tg.input("h", shape=(2, 5), dtype=np.int64)
    outputs = [tg.exp(u), tg.sqrt(u), tg.sin(a), tg.tanh(h), tg.log(u + 1), tg.softplus(a), tg.sigmoid(h),
               tg.erf(a), tg.gelu(h), tg.gelu(a, approximate="tanh"), tg.elu(a), tg.selu(h), tg.celu(a, 2.0),
               tg.leaky_relu(h), tg.hard_sigmoid(a), tg.hard_swish(h), tg.softsign(a), tg.mish(h),
               tg.log_softmax(a, axis=0), tg.softmax(h, axis=1), tg.round(a), tg.floor(h), tg.ceil(u), tg.sign(a),
               tg.abs(a), tg.reciprocal(a), tg.reciprocal(w), tg.relu(a), tg.prelu(a, h), tg.neg(w), tg.abs(w), w * 3]
    feeds = {"a": _ints((2, 5), np.int32), "u": _ints((2, 5), np.int16, 0, 9), "w": _ints((2, 5), np.uint8, 0, 9),
             "h": _ints((2, 5))}
    return outputs, feeds


def float_corners():
    x = tg.input("x", shape=(8,), dtype=np.float64)
    y = tg.input("y", shape=(8,), dtype=np.float32)
    outputs = [tg.round(x), tg.sign(x), tg.reciprocal(x), tg.maximum(x, y), tg.minimum(y, x), tg.erf(y),
               tg.gelu(y), tg.prelu(y, x), tg.clip(x), tg.clip(x, max=y), tg.clip(y, min=0.5), tg.clip(x, y, 1.0),
               tg.mod(x, y), tg.mod(x, y, fmod=True), tg.log_softmax(y), 2 - x, x / 3, 1.5 * y, y ** 3]
    feeds = {"x": np.array([0.5, 1.5, 2.5, -0.5, -2.5, np.nan, 0.0, np.inf]),
             "y": np.array([1.0, -2.0, 0.5, np.inf, 3.0, 2.0, -0.0, 4.0], np.float32)}
    return outputs, feeds


def clip_integers():
    a = tg.input("a", shape=(3, 4), dtype=np.int8)
    lo = tg.input("lo", shape=(4,), dtype=np.int64)
    hi = tg.input("hi", shape=(), dtype=np.float32)
    outputs = [tg.clip(a), tg.clip(a, lo), tg.clip(a, max=hi), tg.clip(a, lo, hi), tg.clip(a, -2, 3)]
    feeds = {"a": _ints((3, 4), np.int8, -9, 10), "lo": np.array([-3, 0, 2, -9]), "hi": np.float32(4.5)}
    return outputs, feeds


def unsigned():
    # torch has no kernels for uint16/32/64: these compute through numpy there, natively elsewhere.
    outputs, feeds = [], {}
    for dtype in (np.uint16, np.uint32, np.uint64):
        name = np.dtype(dtype).name
        a = tg.input(f"a_{name}", shape=(6,), dtype=dtype)
        b = tg.input(f"b_{name}", shape=(6,), dtype=dtype)
        outputs += [a + b, a - b, a * b, tg.trunc_div(a, b), tg.mod(a, b), tg.mod(a, b, fmod=True), tg.pow(a, b),
                    tg.maximum(a, b), tg.minimum(a, b), tg.clip(a, b), tg.relu(a), tg.abs(a), tg.sign(a),
                    a / b, tg.exp(b), tg.prelu(a, b)]
        feeds[f"a_{name}"] = np.array([7, 0, 9, 2**15, 5, 1], dtype)
        feeds[f"b_{name}"] = np.array([2, 3, 0, 1, 5, 4], dtype)
    return outputs, feeds


CASES: list = [
    (cast_like, "cast_like"),
    (integer_division, "integer_division"),
    (integer_powers, "integer_powers"),
    (float_functions_of_integers, "float_functions_of_integers"),
    (float_corners, "float_corners"),
    (clip_integers, "clip_integers"),
    (unsigned, "unsigned"),
]
