"""tg.cast: numpy's astype as an op (used by ONNX import and export to match ONNX's types)."""

import numpy as np

import tinygraph as tg


def test_cast_converts_like_astype_and_prints_its_dtype():
    x = tg.input("x", shape=(None,))
    y = tg.cast(x, np.int32, name="y")
    assert y.dtype == np.int32 and y.shape == (None,)
    data = np.array([2.7, -2.7, 0.5])
    out = tg.evaluate(y, {x: data})
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [2, -2, 0])  # toward zero
    assert "y: i32[?] = cast[dtype='int32'](x)" in str(tg.Graph(y))
    assert tg.ops.Cast("float32").attributes() == {"dtype": "float32"}  # plain data, not a np.dtype
