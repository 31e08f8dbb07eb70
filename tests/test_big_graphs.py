"""No recursion over the graph: a 100,000-node chain builds, sorts, evaluates, prints and traces."""

import sys

import numpy as np

import tinygraph as tg

N = 100_000


def test_100k_node_chain():
    # A recursive walk would need one frame per node; keep the limit low so any recursion shows.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(500)
    try:
        x = tg.input("x", shape=(3,))
        one = tg.constant(1.0, name="one")
        y = x
        for _ in range(N):
            y = y + one
        g = tg.Graph(y)
        assert len(g.nodes) == N + 2
        assert g.nodes[0] is x and g.nodes[-1] is y
        text = str(g)
        assert text.count("\n") == N + 2
        assert f"add_{N - 1}: f64[3] = add(add_{N - 2}, one)" in text
        assert g.name_of(y) == f"add_{N - 1}"
        steps = []
        out = tg.evaluate(g, {x: np.zeros(3)}, observers=[lambda node, value: steps.append(1)])
        np.testing.assert_array_equal(out[0], [N, N, N])
        assert len(steps) == N + 2  # each node exactly once: linear work
        values = {}
        tg.evaluate(g, {x: np.ones(3)}, trace=values)
        assert len(values) == N + 2 and values[y][0] == N + 1
        del values, g, text
        del y  # freeing the chain must not recurse either
    finally:
        sys.setrecursionlimit(old)


def test_wide_graph():
    x = tg.input("x", shape=(2,))
    terms = [x * float(i) for i in range(2000)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    out = tg.evaluate(total, {x: np.ones(2)})
    np.testing.assert_array_equal(out, [sum(range(2000))] * 2)
