"""Plan caching for tg.evaluate: planned once per outputs, reused, and never keeping graphs alive."""

import gc
import threading
import weakref

import numpy as np
import pytest

import tinygraph as tg
from tests.nets import textbook_network
from tinygraph.plan import plan_for


def _net(rng):
    x, _, h, y = textbook_network(rng)
    return x, h, y


def test_plan_is_computed_once_and_reused():
    x, h, y = _net(np.random.default_rng(0))
    assert plan_for(y) is plan_for(y)
    assert plan_for([h, y]) is plan_for([h, y])
    assert plan_for([h, y]) is not plan_for([y, h])
    g = tg.Graph(y)
    assert plan_for(g) is plan_for(g)  # a Graph keeps its own plan (its names are its own snapshot)
    assert plan_for(g).graph is g


def test_evaluate_does_not_sort_again(monkeypatch):
    x, h, y = _net(np.random.default_rng(0))
    batch = np.ones((3, 2))
    first = tg.evaluate(y, {x: batch})
    import tinygraph.graph as graph_module

    def no_sorting(outputs):
        raise AssertionError("evaluate re-sorted a graph it had planned already")

    monkeypatch.setattr(graph_module, "topological_order", no_sorting)
    assert np.array_equal(tg.evaluate(y, {x: batch}), first)
    assert np.array_equal(tg.evaluate(y, {"x": batch}), first)


def test_a_graph_passed_in_is_used_as_it_is():
    x, h, y = _net(np.random.default_rng(0))
    g = tg.Graph([h, y])
    plan = plan_for(g)
    assert plan.graph is g and plan.nodes is g.nodes


def test_dropped_graph_is_garbage_collected():
    x, h, y = _net(np.random.default_rng(0))
    tg.evaluate(y, {x: np.ones((2, 2))})
    tg.evaluate([h, y], {"x": np.ones((2, 2))})
    tg.compile(y)(np.ones((2, 2)))
    refs = [weakref.ref(n) for n in (x, h, y)]
    plan_ref = weakref.ref(plan_for(y))
    del x, h, y
    gc.collect()
    assert all(r() is None for r in refs)
    assert plan_ref() is None


def test_renaming_an_input_replans_and_other_renames_keep_plans():
    x, h, y = _net(np.random.default_rng(0))
    other_x, _, other_y = _net(np.random.default_rng(1))
    plan, other = plan_for(y), plan_for(other_y)
    h.name = "hidden"  # feeds don't depend on it: the plan stays, and errors name it anew
    assert plan_for(y) is plan and plan_for(other_y) is other
    x.name = "inp"  # feeds by name do: y's plan is made again, the other graph's is kept
    assert plan_for(y) is not plan and plan_for(other_y) is other
    batch = np.ones((2, 2))
    np.testing.assert_array_equal(tg.evaluate(y, {"inp": batch}), tg.evaluate(y, {x: batch}))
    with pytest.raises(tg.FeedError, match="unknown input name"):
        tg.evaluate(y, {"x": batch})


def test_cached_plan_is_safe_across_threads():
    x, h, y = _net(np.random.default_rng(0))
    batches = [np.random.default_rng(i).standard_normal((50, 2)) for i in range(8)]
    expected = [tg.evaluate(y, {x: b}) for b in batches]
    f = tg.compile(y)
    errors = []

    def work(i):
        for _ in range(30):
            for b, e in zip(batches, expected):
                if not (np.array_equal(tg.evaluate(y, {x: b}), e) and np.array_equal(f(b), e)):
                    errors.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_nodes_with_cached_plans_still_pickle_and_copy():
    import copy
    import pickle

    x, h, y = _net(np.random.default_rng(0))
    batch = np.ones((2, 2))
    want = tg.evaluate(y, {x: batch})
    tg.compile(y)
    for clone in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        assert not clone._plans
        assert np.array_equal(tg.evaluate(clone, {"x": batch}), want)


def test_step_overrides_and_observers_still_see_every_node():
    # The fast path is only taken when nothing could notice it; a subclass's step is still
    # called once per non-input node, in topological order, even after the plan is cached.
    x, h, y = _net(np.random.default_rng(0))
    batch = np.ones((2, 2))
    tg.evaluate(y, {x: batch})
    calls = []

    class Counting(tg.Executor):
        def step(self, node, input_values):
            calls.append(node)
            return super().step(node, input_values)

    out = Counting().run(y, {x: batch})
    graph = tg.Graph(y)
    assert calls == list(graph.nodes)
    assert np.array_equal(out, tg.evaluate(y, {x: batch}))
    seen = []
    tg.evaluate(y, {x: batch}, observers=[lambda n, v: seen.append(n)])
    assert seen == list(graph.nodes)


def test_evaluating_several_outputs_does_not_keep_a_dropped_one_alive():
    import gc
    import weakref

    x = tg.input("x", shape=(None, 3))
    kept = tg.tanh(x)
    dropped = tg.exp(x) + 5.0
    ref = weakref.ref(dropped)
    tg.evaluate([kept, dropped], {x: np.ones((1, 3))})
    tg.evaluate([dropped, kept], {x: np.ones((1, 3))})
    del dropped
    gc.collect()
    assert ref() is None
