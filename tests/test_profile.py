"""tg.profile: per-node time, bytes and peak live memory of one run."""

import numpy as np

import tinygraph as tg


def test_profile_lists_every_node_sorted_by_cost():
    rng = np.random.default_rng(0)
    net = tg.nn.Sequential(tg.nn.Affine.init(2, 4, rng=rng), tg.nn.Sigmoid(), tg.nn.Affine.init(4, 3, rng=rng))
    x = tg.input("x", shape=(None, 2))
    y = net(x)
    batch = rng.standard_normal((10, 2))
    prof = tg.profile(y, {x: batch})
    graph = tg.Graph(y)
    text = str(prof)
    assert len(prof) == len(graph)
    for node in graph.nodes:
        assert graph.name_of(node) in text
    times = [r.seconds for r in prof.by_cost()]
    assert times == sorted(times, reverse=True)
    rows = text.splitlines()[2:]
    assert rows[0].split()[0] == prof.by_cost()[0].name  # the table is printed in cost order
    assert np.array_equal(prof.result, tg.evaluate(y, {x: batch}))
    # bytes: outputs of f64[10,4] nodes are 320 bytes; in place steps add no new buffer
    row = {r.name: r for r in prof}
    assert row["matmul_0"].out_bytes == 10 * 4 * 8
    assert row["sigmoid_2"].in_place and row["sigmoid_2"].live_bytes == 10 * 4 * 8
    assert prof.peak_bytes == 10 * 4 * 8 + 10 * 3 * 8  # hidden and output alive during the last matmul
    assert prof.total_seconds > 0


def test_profile_reports_op_errors_like_evaluate():
    x = tg.input("x", shape=(2,))
    y = tg.log(x) + tg.reshape(x, (2,))

    class Bad(tg.Op):
        def forward(self, a):
            raise ValueError("bad")

    z = Bad()(y, name="bad_node")
    try:
        tg.profile(z, {x: np.ones(2)}, warmup=False)
    except tg.ExecutionError as e:
        assert "bad_node" in str(e)
    else:
        raise AssertionError("no ExecutionError")


def test_by_op_groups_the_time_per_kind_of_op():
    x = tg.input("x", shape=(None, 4))
    h = x
    for _ in range(3):
        h = tg.sigmoid(h @ tg.parameter(np.eye(4)) + 1.0)
    p = tg.profile(h, {x: np.ones((2, 4))})
    lines = p.by_op().splitlines()
    counts = {line.split()[0]: int(line.split()[1]) for line in lines}
    assert counts == {"sigmoid": 3, "matmul": 3, "add": 3, "parameter": 3, "constant": 3, "input": 1}
