import numpy as np

import tinygraph as tg


def test_textbook_expression_evaluates_like_numpy():
    rng = np.random.default_rng(0)
    x = tg.input("x", shape=(None, 2))
    W1 = tg.parameter(rng.standard_normal((2, 4)), name="W1")
    b1 = tg.parameter(rng.standard_normal(4), name="b1")
    h = tg.sigmoid(x @ W1 + b1)
    batch = rng.standard_normal((10, 2))
    expected = 1 / (1 + np.exp(-(batch @ W1.value + b1.value)))
    np.testing.assert_allclose(tg.evaluate(h, {x: batch}), expected, rtol=0, atol=1e-15)
    assert h.shape == (None, 4)
