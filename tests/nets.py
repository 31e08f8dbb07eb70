"""Networks several test modules build."""

import tinygraph as tg


def textbook_network(rng):
    """The textbook 2-4-3 network on input ``x``: ``(x, (W1, b1, W2, b2), h, y)``."""
    x = tg.input("x", shape=(None, 2))
    W1 = tg.parameter(rng.standard_normal((2, 4)), name="W1")
    b1 = tg.parameter(rng.standard_normal(4), name="b1")
    W2 = tg.parameter(rng.standard_normal((4, 3)), name="W2")
    b2 = tg.parameter(rng.standard_normal(3), name="b2")
    h = tg.sigmoid(x @ W1 + b1)
    return x, (W1, b1, W2, b2), h, h @ W2 + b2
