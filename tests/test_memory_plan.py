"""Memory planning: dead intermediates are reused in place, never what the caller owns or keeps."""

import warnings

import numpy as np

import tinygraph as tg
from tests.nets import textbook_network
from tinygraph.plan import plan_for


def read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


network = textbook_network


def test_in_place_reuse_is_planned_for_the_textbook_network():
    x, params, h, y = network(np.random.default_rng(0))
    kinds = sorted(n.op.kind for n in plan_for(y).inplace)
    assert kinds == ["add", "add", "sigmoid"]
    # h is an output too: its buffer must not be donated to the matmul after it (matmul never
    # writes in place anyway) and it must come back intact.
    assert h not in [n.inputs[j] for n, j in plan_for([h, y]).inplace.items()]


def test_feeds_and_parameters_are_never_written():
    rng = np.random.default_rng(1)
    x, params, h, y = network(rng)
    batch = read_only(rng.standard_normal((10, 2)))
    saved = [p.value.copy() for p in params]
    before = batch.copy()
    f = tg.compile([h, y])
    for _ in range(3):  # read-only arrays make any write raise; contents are compared too
        tg.evaluate([h, y], {x: batch})
        f(batch)
        tg.profile(y, {x: batch})
    assert np.array_equal(batch, before)
    for p, s in zip(params, saved):
        assert np.array_equal(p.value, s)


def test_writable_feeds_are_not_written_either():
    # A writable feed would not raise on a stray write: compare contents, with an op chain
    # (x + 0 -> sigmoid -> ...) where the first elementwise op reads the feed directly.
    x = tg.input("x", shape=(None, 3))
    y = tg.tanh(tg.sigmoid(x * 1.0) + x)
    batch = np.random.default_rng(2).standard_normal((4, 3))
    before = batch.copy()
    out = tg.evaluate(y, {x: batch})
    assert np.array_equal(tg.compile(y)(batch), out)
    assert np.array_equal(batch, before)
    assert out is not batch


def test_outputs_are_distinct_arrays_and_not_clobbered():
    x = tg.input("x", shape=(None, 3))
    a = tg.exp(x) * 2.0
    b = tg.sigmoid(a)          # would reuse a's buffer if a were not an output
    c = tg.tanh(b)             # would reuse b's buffer if b were not an output
    batch = np.linspace(-1, 1, 6).reshape(2, 3)
    for run in (lambda: tg.evaluate([a, b, c], {x: batch}), lambda: tg.compile([a, b, c])(batch)):
        ra, rb, rc = run()
        assert np.array_equal(ra, np.exp(batch) * 2.0)
        assert np.array_equal(rb, 1 / (1 + np.exp(-(np.exp(batch) * 2.0))))
        assert np.array_equal(rc, np.tanh(rb))
        assert not np.shares_memory(ra, rb) and not np.shares_memory(rb, rc)


def test_trace_values_are_not_clobbered_by_buffer_reuse():
    rng = np.random.default_rng(3)
    x, params, h, y = network(rng)
    batch = rng.standard_normal((5, 2))
    values = tg.trace(y, {x: batch})
    W1, b1, W2, b2 = (p.value for p in params)
    pre = batch @ W1 + b1
    hidden = 1 / (1 + np.exp(-pre))
    nodes = {n.op.kind + str(i): n for i, n in enumerate(tg.Graph(y).nodes)}
    by_kind = {}
    for n in tg.Graph(y).nodes:
        by_kind.setdefault(n.op.kind, []).append(values[n])
    assert np.array_equal(by_kind["matmul"][0], batch @ W1)
    assert np.array_equal(by_kind["add"][0], pre)
    assert np.array_equal(by_kind["sigmoid"][0], hidden)
    assert np.array_equal(by_kind["add"][1], hidden @ W2 + b2)
    assert len({id(v) for v in values.values()}) == len(values)
    assert nodes  # every node traced


def test_observers_see_values_that_stay_intact():
    rng = np.random.default_rng(4)
    x, params, h, y = network(rng)
    batch = rng.standard_normal((5, 2))
    seen = {}
    tg.evaluate(y, {x: batch}, observers=[lambda n, v: seen.__setitem__(n, v)])
    values = tg.trace(y, {x: batch})
    for n, v in seen.items():
        assert np.array_equal(v, values[n])


def test_views_of_a_buffer_block_its_reuse():
    # t is a view of m; m's last reader writes in place would corrupt t, which is read later.
    x = tg.input("x", shape=(3, 3))
    m = tg.exp(x)
    t = tg.transpose(m)
    late = tg.tanh(m) + t
    batch = np.arange(9.0).reshape(3, 3) / 9
    want = np.tanh(np.exp(batch)) + np.exp(batch).T
    assert np.array_equal(tg.evaluate(late, {x: batch}), want)
    assert np.array_equal(tg.compile(late)(batch), want)
    assert m not in [n.inputs[j] for n, j in plan_for(late).inplace.items()]


class PassThrough(tg.ops.Tanh):
    """Overrides forward to return its input: must not inherit Tanh's in-place promises."""

    def forward(self, a):
        return a


def test_custom_op_overriding_forward_is_not_reused_in_place():
    x = tg.input("x", shape=(None, 2))
    p = PassThrough()(x)
    y = tg.exp(p)
    batch = read_only(np.ones((2, 2)))
    assert not plan_for(y).inplace
    assert np.array_equal(tg.evaluate(y, {x: batch}), np.exp(batch))
    assert np.array_equal(tg.compile(y)(batch), np.exp(batch))


def test_sigmoid_stable_and_bit_identical_to_the_formula():
    values = np.array([-1e4, -1000.0, -745.0, -709.0, -30.0, -1.5, 0.0, 1e-8, 2.0, 40.0, 1e4])
    for dtype in (np.float64, np.float32):
        v = values.astype(dtype)
        x = tg.input("x", shape=(None,), dtype=dtype)
        y = tg.sigmoid(x * 1.0)  # x * 1.0 is an owned buffer, so sigmoid runs in place
        assert y in plan_for(y).inplace
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = tg.evaluate(y, {x: v})
            compiled = tg.compile(y)(v)
        assert got.dtype == dtype and not np.isnan(got).any()
        assert np.array_equal(got, compiled)
        with np.errstate(over="ignore"):
            formula = 1 / (1 + np.exp(-(v * 1.0)))
        assert np.array_equal(got, formula)
        assert got[0] == 0.0 and got[-1] == 1.0


def test_sigmoid_silences_only_its_own_overflow():
    x = tg.input("x", shape=(2,))
    y = tg.exp(tg.sigmoid(x) * 1000.0)  # exp overflows here: numpy's warning must still appear
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tg.evaluate(y, {x: np.array([-1e4, 1e4])})
    assert any("overflow" in str(w.message) for w in caught)
    with np.errstate(divide="raise"):  # the caller's other settings survive inside sigmoid
        assert np.geterr()["divide"] == "raise"
        tg.evaluate(tg.sigmoid(x * 2.0), {x: np.array([-1e4, 1e4])})
        assert np.geterr()["divide"] == "raise" and np.geterr()["over"] == "warn"


def test_guarded_reuse_when_shapes_match_only_at_run_time():
    # relu(h) and tanh(h) are both (None, 3): only at run time is it known that neither
    # broadcasts the other, so the sum reuses relu's buffer after a shape comparison.
    x = tg.input("x", shape=(None, 3))
    a = tg.input("a", shape=(None, 3))
    h = x * 2.0
    y = tg.relu(h - 0.5) + tg.tanh(h)
    plan = plan_for(y)
    assert y in plan.guarded and y in plan.inplace
    batch = np.linspace(-2, 2, 12).reshape(4, 3)
    want = np.maximum(batch * 2.0 - 0.5, 0) + np.tanh(batch * 2.0)
    assert np.array_equal(tg.evaluate(y, {x: batch}), want)
    assert np.array_equal(tg.compile(y)(batch), want)
    assert "[in place if shapes match]" in tg.compile(y).source
    assert tg.profile(y, {x: batch}).peak_bytes == 2 * batch.nbytes
    # operands that do broadcast at run time: (1, 3) against (4, 3) must not be written into
    z = tg.exp(x * 1.0) + tg.exp(a * 1.0)
    small, big = np.ones((1, 3)), np.arange(12.0).reshape(4, 3)
    want = np.exp(small) + np.exp(big)
    assert z in plan_for(z).guarded
    assert np.array_equal(tg.evaluate(z, {x: small, a: big}), want)
    assert np.array_equal(tg.compile(z)(x=small, a=big), want)
    assert np.array_equal(tg.evaluate(z, {x: big, a: small}), np.exp(big) + np.exp(small))
    assert np.array_equal(tg.compile(z)(x=big, a=small), np.exp(big) + np.exp(small))


def test_sigmoid_under_all_raise():
    # Overflow and underflow inside sigmoid's exp are intended; callers running with
    # np.errstate(all="raise") get the values, not FloatingPointError, on both paths.
    x = tg.input("x", shape=(None,))
    y = tg.sigmoid(x * 1.0)
    v = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    with np.errstate(all="raise"):
        got = tg.evaluate(y, {x: v})
        assert np.array_equal(tg.compile(y)(v), got)
        assert np.array_equal(tg.evaluate(tg.sigmoid(x), {x: v}), got)
        assert np.geterr()["over"] == "raise" and np.geterr()["under"] == "raise"
    assert got[0] == 0.0 and got[-1] == 1.0
