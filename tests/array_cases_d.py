"""Array-library cases for ops no ONNX conformance case reaches (see tests/array_cases.py).

Every op class of conv, normalization, recurrent and attention has ONNX cases; these reach the
paths those cases don't: more than 3 spatial axes (the standard-only im2col and folds, on torch
too), integer pooling with ceil mode, parameters of another float dtype than the input, clipped
and peephole recurrences, grouped 3-D attention with a short float mask and a softcap.
"""

from __future__ import annotations

import numpy as np

import tinygraph as tg

_RNG = np.random.default_rng(12)


def _normal(*shape: int, dtype=np.float64) -> np.ndarray:
    return _RNG.standard_normal(shape).astype(dtype)


def conv_4d():
    """Four spatial axes (torch has no conv4d): groups, dilation, stride, asymmetric padding, a bias."""
    x = tg.input("x", (2, 4, 5, 4, 6, 5), np.float64)
    w = tg.parameter(_normal(6, 2, 2, 1, 3, 2))
    b = tg.parameter(_normal(6))
    y = tg.conv(x, w, b, stride=(1, 2, 1, 2), padding=(1, 0, 2, 0, 0, 1, 1, 1), dilation=(2, 1, 1, 1), groups=2)
    return [y], {"x": _normal(2, 4, 5, 4, 6, 5)}


def conv_mixed_dtypes_same_padding():
    """A float32 input with a float64 kernel: a float64 result, as numpy promotes; SAME_LOWER padding."""
    x = tg.input("x", (1, 3, 7, 6), np.float32)
    w = tg.constant(_normal(4, 3, 3, 2))
    return [tg.conv(x, w, padding="same_lower", stride=2), tg.conv(x, w, padding="same_upper")], \
        {"x": _normal(1, 3, 7, 6, dtype=np.float32)}


def pools_4d():
    """Four spatial axes: integer max pooling in ceil mode, dilated average pooling without the padding counted."""
    x = tg.input("x", (1, 2, 5, 4, 5, 3), np.int32)
    f = tg.input("f", (1, 2, 5, 4, 5, 3), np.float32)
    return [tg.max_pool(x, (2, 2, 3, 1), stride=2, padding=(1, 0, 1, 0), ceil_mode=True),
            tg.avg_pool(f, (2, 2, 2, 2), stride=(2, 1, 2, 1), padding=(1, 1, 0, 1, 0, 0, 1, 0), dilation=(1, 2, 1, 1),
                        ceil_mode=True, count_include_pad=False),
            tg.avg_pool(f, 2, stride=1, padding=(1, 0, 0, 0, 0, 0, 1, 1)),
            tg.max_pool(f, 1, stride=2),
            tg.global_max_pool(x), tg.global_avg_pool(f)], \
        {"x": _RNG.integers(-1000, 1000, (1, 2, 5, 4, 5, 3)).astype(np.int32),
         "f": _normal(1, 2, 5, 4, 5, 3, dtype=np.float32)}


def pools_2d_ceil_include_pad():
    """torch's pooling with ceil mode's overhang past explicit padding that is counted."""
    x = tg.input("x", (2, 3, 7, 8), np.float32)
    return [tg.avg_pool(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=True),
            tg.max_pool(x, (3, 2), stride=(2, 3), padding=(1, 0, 0, 1), dilation=(1, 2), ceil_mode=True)], \
        {"x": _normal(2, 3, 7, 8, dtype=np.float32)}


def norms_mixed_dtypes():
    """float32 inputs normalized with float64 parameters: the result keeps the input's dtype."""
    x = tg.input("x", (2, 6, 3, 4), np.float32)
    scale, bias = tg.parameter(_normal(6)), tg.parameter(_normal(6))
    mean, var = tg.parameter(_normal(6)), tg.parameter(np.abs(_normal(6)) + 0.5)
    ln_scale = tg.parameter(_normal(3, 4))
    return [tg.batch_norm(x, scale, bias, mean, var), tg.instance_norm(x, scale, bias),
            tg.group_norm(x, scale, bias, 3), tg.layer_norm(x, ln_scale, axis=2),
            tg.ops.LayerNorm(1, 1e-3, "InvStdDev")(x, tg.parameter(_normal(6, 3, 4))), tg.dropout(x)], \
        {"x": _normal(2, 6, 3, 4, dtype=np.float32)}


def recurrent_clipped():
    """A batch-first bidirectional GRU (torch's reset) and a reversed LSTM with peepholes, both clipped."""
    h = 3
    x = tg.input("x", (2, 5, 4), np.float64)
    gru = [tg.gru(x, tg.parameter(_normal(2, 3 * h, 4)), tg.parameter(_normal(2, 3 * h, h)),
                  tg.parameter(_normal(2, 6 * h)), tg.parameter(_normal(2, 2, h)), direction="bidirectional",
                  layout=1, output=out, clip=1.5, linear_before_reset=True) for out in ("Y", "Y_h")]
    xs = tg.input("xs", (5, 2, 4), np.float32)
    lstm = [tg.lstm(xs, tg.parameter(_normal(1, 4 * h, 4, dtype=np.float32)),
                    tg.parameter(_normal(1, 4 * h, h, dtype=np.float32)), None,
                    tg.parameter(_normal(1, 2, h, dtype=np.float32)), tg.parameter(_normal(1, 2, h, dtype=np.float32)),
                    tg.parameter(_normal(1, 3 * h, dtype=np.float32)), direction="reverse", output=out, clip=2.0)
            for out in ("Y", "Y_c")]
    rnn = tg.rnn(xs, tg.parameter(_normal(1, h, 4, dtype=np.float32)), tg.parameter(_normal(1, h, h, dtype=np.float32)))
    return [*gru, *lstm, rnn], {"x": _normal(2, 5, 4), "xs": _normal(5, 2, 4, dtype=np.float32)}


def attention_3d_grouped_softcap():
    """3-D grouped-query attention, causal, with a float mask shorter than the keys and a softcap."""
    q = tg.input("q", (2, 4, 6 * 3), np.float32)
    k = tg.input("k", (2, 5, 2 * 3), np.float32)
    v = tg.input("v", (2, 5, 2 * 2), np.float32)
    mask = tg.input("mask", (4, 3), np.float32)
    bool_mask = tg.input("bool_mask", (2, 1, 4, 5), np.bool_)
    return [tg.attention(q, k, v, mask, is_causal=True, q_num_heads=6, kv_num_heads=2, softcap=2.5),
            tg.attention(q, k, v, bool_mask, scale=0.3, q_num_heads=6, kv_num_heads=2)], \
        {"q": _normal(2, 4, 18, dtype=np.float32), "k": _normal(2, 5, 6, dtype=np.float32),
         "v": _normal(2, 5, 4, dtype=np.float32), "mask": _normal(4, 3, dtype=np.float32),
         "bool_mask": _RNG.random((2, 1, 4, 5)) < 0.6}


CASES: list = [
    (conv_4d, "conv_4d"),
    (conv_mixed_dtypes_same_padding, "conv_mixed_dtypes_same_padding"),
    (pools_4d, "pools_4d"),
    (pools_2d_ceil_include_pad, "pools_2d_ceil_include_pad"),
    (norms_mixed_dtypes, "norms_mixed_dtypes"),
    (recurrent_clipped, "recurrent_clipped"),
    (attention_3d_grouped_softcap, "attention_3d_grouped_softcap"),
]
