"""The topological executor: what it runs, how often, in what order, what it keeps, and from how many threads."""

import threading
import weakref
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tinygraph as tg


def diamond():
    """x -> a = exp(x); b = a + a; c = a * 2; y = b - c; plus nodes y does not need."""
    x = tg.input("x", shape=(None, 3))
    a = tg.exp(x)
    b = a + a
    c = a * 2.0
    y = b - c + tg.sigmoid(a)
    unused = tg.log(x) * 100.0
    return x, a, y, unused


def test_evaluate_single_and_several_outputs():
    x, a, y, unused = diamond()
    v = np.random.default_rng(0).standard_normal((4, 3))
    out = tg.evaluate(y, {x: v})
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-np.exp(v))), rtol=1e-15)
    both = tg.evaluate([y, a], {"x": v})
    assert isinstance(both, list) and len(both) == 2
    np.testing.assert_allclose(both[1], np.exp(v))
    np.testing.assert_array_equal(both[0], out)
    via_graph = tg.evaluate(tg.Graph([a, y]), {x: v})
    np.testing.assert_array_equal(via_graph[0], both[1])
    np.testing.assert_array_equal(tg.Executor().run(y, {x: v}), out)
    np.testing.assert_array_equal(tg.Executor().run([y, a], {"x": v})[1], both[1])
    # the same output twice is returned twice
    twice = tg.evaluate([a, a], {x: v})
    np.testing.assert_array_equal(twice[0], twice[1])


def test_same_graph_many_times_with_different_feeds():
    x, a, y, unused = diamond()
    for n in [1, 5, 2, 0]:
        v = np.full((n, 3), float(n))
        assert tg.evaluate(y, {x: v}).shape == (n, 3)
        np.testing.assert_allclose(tg.evaluate(a, {x: v}), np.exp(v))


def test_graph_without_inputs_needs_no_feeds():
    w = np.arange(4.0).reshape(2, 2)
    W = tg.parameter(w)
    np.testing.assert_array_equal(tg.evaluate(W @ W + 1), w @ w + 1)
    np.testing.assert_array_equal(tg.evaluate(tg.constant(2.0) * 3), 6.0)


class CountingExecutor(tg.Executor):
    def __init__(self):
        super().__init__()
        self.calls = Counter()
        self.order = []

    def step(self, node, input_values):
        self.calls[node] += 1
        self.order.append(node)
        return super().step(node, input_values)


def test_only_needed_nodes_are_computed_each_once_in_topological_order():
    x, a, y, unused = diamond()
    ex = CountingExecutor()
    ex.run(y, {x: np.ones((2, 3))})
    graph = tg.Graph(y)
    assert set(ex.calls) == set(graph.nodes)  # inputs too: step sees every node
    assert all(count == 1 for count in ex.calls.values())
    assert unused not in ex.calls and unused.inputs[0] not in ex.calls
    position = {n: i for i, n in enumerate(ex.order)}
    for node in ex.order:
        for i in node.inputs:
            assert position[i] < position[node]


def test_shared_nodes_of_several_outputs_are_computed_once():
    x, a, y, unused = diamond()
    ex = CountingExecutor()
    out_y, out_a, out_u = ex.run([y, a, unused], {x: np.ones((2, 3))})
    assert all(count == 1 for count in ex.calls.values())
    assert set(ex.calls) == set(tg.Graph([y, a, unused]).nodes)
    np.testing.assert_allclose(out_a, np.exp(np.ones((2, 3))))
    np.testing.assert_allclose(out_u, 0.0)
    # the executor keeps no state between runs: a second run counts the same again
    ex.run(y, {x: np.zeros((1, 3))})
    assert ex.calls[a] == 2 and ex.calls[unused] == 1


def test_observers_see_every_needed_node_once_after_it_is_computed():
    x, a, y, unused = diamond()
    seen = []
    v = np.ones((2, 3))
    out = tg.evaluate(y, {x: v}, observers=[lambda node, value: seen.append((node, np.array(value)))])
    nodes = [n for n, _ in seen]
    assert Counter(nodes) == Counter(tg.Graph(y).nodes)
    assert unused not in nodes
    values = dict(seen)
    np.testing.assert_array_equal(values[a], np.exp(v))
    np.testing.assert_array_equal(values[y], out)
    np.testing.assert_array_equal(values[x], v)
    # several observers are all called
    counts = [0, 0]
    tg.evaluate(y, {x: v}, observers=[lambda n, _: counts.__setitem__(0, counts[0] + 1),
                                      lambda n, _: counts.__setitem__(1, counts[1] + 1)])
    assert counts[0] == counts[1] == len(tg.Graph(y).nodes)


def test_step_override_can_change_the_computation():
    x = tg.input("x", shape=(2,))
    y = tg.exp(x) + 1.0

    class Doubling(tg.Executor):
        def step(self, node, input_values):
            return 2 * super().step(node, input_values)

    # exp(x) doubled, the constant doubled, their sum doubled: 2 * (2 e^x + 2)
    np.testing.assert_allclose(Doubling().run(y, {x: np.zeros(2)}), [8.0, 8.0])


def test_trace_keeps_every_value():
    x, a, y, unused = diamond()
    v = np.random.default_rng(1).standard_normal((3, 3))
    values = tg.trace(y, {x: v})
    assert set(values) == set(tg.Graph(y).nodes)
    np.testing.assert_allclose(values[a], np.exp(v))
    np.testing.assert_array_equal(values[x], v)
    np.testing.assert_array_equal(values[y], tg.evaluate(y, {x: v}))
    kept = {}
    tg.evaluate(y, {x: v}, trace=kept)
    assert set(kept) == set(values)


class Fresh(tg.Op):
    """Returns a new array each time, so a weak reference tells when the executor drops it."""

    def forward(self, a):
        return np.array(a) + 1.0


def _chain(n):
    x = tg.input("x", shape=(3,))
    nodes = [x]
    for _ in range(n):
        nodes.append(Fresh()(nodes[-1]))
    return x, nodes


def test_intermediates_are_released_once_no_later_node_needs_them():
    x, nodes = _chain(8)
    refs = {}
    alive_while_running = []

    def observe(node, value):
        if node is not x:
            refs[node] = weakref.ref(value)
        alive_while_running.append(sum(1 for r in refs.values() if r() is not None))

    out = tg.evaluate(nodes[-1], {x: np.zeros(3)}, observers=[observe])
    np.testing.assert_array_equal(out, [8.0, 8.0, 8.0])
    # A chain step needs only its predecessor: never more than two values of the chain are alive.
    assert max(alive_while_running) <= 2
    dead = [n for n, r in refs.items() if r() is None]
    assert set(dead) == set(nodes[1:-1])


def test_trace_keeps_intermediates_alive():
    x, nodes = _chain(8)
    refs = {}
    kept = {}
    tg.evaluate(nodes[-1], {x: np.zeros(3)}, trace=kept,
                observers=[lambda node, value: refs.__setitem__(node, weakref.ref(value))])
    assert all(r() is not None for r in refs.values())
    assert [float(kept[n][0]) for n in nodes] == [float(i) for i in range(9)]


def test_a_value_used_by_a_late_node_stays_alive_until_then():
    x = tg.input("x", shape=(3,))
    first = Fresh()(x)
    y = first
    for _ in range(5):
        y = Fresh()(y)
    y = y + first  # first is needed again at the very end
    ref = []
    out = tg.evaluate(y, {x: np.zeros(3)},
                      observers=[lambda node, value: ref.append(weakref.ref(value)) if node is first else None])
    np.testing.assert_array_equal(out, [7.0, 7.0, 7.0])
    assert ref[0]() is None


def test_evaluation_from_several_threads_at_once():
    x = tg.input("x", shape=(None, 4))
    W = tg.parameter(np.random.default_rng(5).standard_normal((4, 4)))
    barrier = threading.Barrier(6)

    class Slow(tg.Op):
        def forward(self, a):
            return np.tanh(a)

    h = x
    for _ in range(10):
        h = Slow()(h @ W) + 0.5
    y = tg.sum(h, axis=1)

    def reference(v):
        for _ in range(10):
            v = np.tanh(v @ W.value) + 0.5
        return v.sum(axis=1)

    def work(seed):
        barrier.wait()
        rng = np.random.default_rng(seed)
        for _ in range(30):
            v = rng.standard_normal((int(rng.integers(1, 8)), 4))
            np.testing.assert_allclose(tg.evaluate(y, {x: v}), reference(v), rtol=1e-12)
            vals = tg.trace(y, {"x": v})
            np.testing.assert_allclose(vals[y], reference(v), rtol=1e-12)
        return seed

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert sorted(pool.map(work, range(6))) == list(range(6))


def test_outputs_must_be_nodes():
    with pytest.raises(TypeError):
        tg.evaluate("x", {})
    with pytest.raises(TypeError):
        tg.evaluate([np.ones(3)], {})
    with pytest.raises(tg.GraphError):
        tg.evaluate([], {})


def test_an_input_nodes_step_receives_the_fed_array():
    x = tg.input("x", shape=(2,))
    y = x * 3.0
    seen = {}

    class Recording(tg.Executor):
        def step(self, node, input_values):
            seen[node] = list(input_values)
            return super().step(node, input_values)

    fed = np.array([1.0, 2.0])
    np.testing.assert_array_equal(Recording().run(y, {x: fed}), [3.0, 6.0])
    assert len(seen[x]) == 1 and seen[x][0] is fed
    assert len(seen) == len(tg.Graph(y).nodes)
