"""No recursion over the graph: a 100,000-node chain builds, sorts, evaluates, prints and traces."""

import sys

import numpy as np
import pytest

import tinygraph as tg

N = 100_000


@pytest.mark.slow
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


@pytest.mark.slow
def test_wide_graph():
    x = tg.input("x", shape=(2,))
    terms = [x * float(i) for i in range(2000)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    out = tg.evaluate(total, {x: np.ones(2)})
    np.testing.assert_array_equal(out, [sum(range(2000))] * 2)


@pytest.mark.slow
def test_deep_graphs_deepcopy_and_pickle():
    import copy
    import pickle

    x = tg.input("x", shape=(None, 2))
    y = x
    for i in range(5000):  # pickle's own recursion gave up at a depth of ~200, deepcopy at ~100
        y = tg.tanh(y) if i % 2 else y * 1.0
    g = tg.Graph([y, y.inputs[0]])
    batch = np.ones((2, 2))
    want = tg.evaluate(g, {"x": batch})
    for copied in (copy.deepcopy(g), pickle.loads(pickle.dumps(g))):
        assert str(copied) == str(g)
        got = tg.evaluate(copied, {"x": batch})
        assert all(np.array_equal(a, b) for a, b in zip(got, want))
        assert copied.outputs[1] is copied.outputs[0].inputs[0]  # shared nodes stay shared
    for node in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        assert node is not y and np.array_equal(tg.evaluate(node, {"x": batch}), want[0])
