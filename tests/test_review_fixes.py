"""Regression tests for problems found in review."""

import numpy as np
import pytest

import tinygraph as tg


def test_render_returns_the_path_as_given(tmp_path):
    y = tg.input("x", shape=(2,)) + 1.0
    as_str = str(tmp_path / "a.gv")
    assert tg.Graph(y).render(as_str) == as_str
    as_path = tmp_path / "b.gv"
    assert tg.Graph(y).render(as_path) == as_path


@pytest.mark.parametrize("axes", [(0, 3), (2, 1), (-3, 0)])
def test_transpose_axes_out_of_range_are_shape_errors(axes):
    q = tg.input("q", shape=(2, 3))
    with pytest.raises(tg.ShapeError, match="out of bounds") as info:
        tg.transpose(q, axes)
    assert "test_review_fixes.py" in str(info.value)


def test_non_numeric_parameter_is_refused():
    with pytest.raises(tg.GraphError, match="numeric"):
        tg.parameter(np.array(["abc"]))


def test_affine_with_mismatched_bias_is_a_shape_error_at_the_users_line():
    with pytest.raises(tg.ShapeError, match=r"b of shape \(out,\)") as info:
        tg.nn.Affine(np.ones((2, 3)), np.ones(4))
    assert "test_review_fixes.py" in str(info.value)


def test_sequential_keeps_names_given_by_an_earlier_sequential():
    shared = tg.nn.Affine.init(2, 2, rng=np.random.default_rng(0))
    first = tg.nn.Sequential(tg.nn.Affine.init(2, 2, rng=np.random.default_rng(1)), shared)
    tg.nn.Sequential(shared)
    assert [p.name for p in first.params] == ["W1", "b1", "W2", "b2"]


def test_error_wording_uses_the_right_article():
    x = tg.input("x", shape=(2,))
    with pytest.raises(AttributeError, match="x is an input node"):
        x.value


def test_cli_show_into_a_closed_pipe_is_not_an_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "chain.tg"
    x = tg.input("x", shape=(None, 2))
    y = x
    for _ in range(3000):
        y = y + 1.0
    tg.save(y, path)
    shown = subprocess.run(
        f"{sys.executable} -m tinygraph show {path} | head -n 1", shell=True, capture_output=True, text=True
    )
    assert shown.stdout.startswith("graph(x: f64[?,2])")
    assert "error" not in shown.stderr.lower()


def test_onnx_model_with_bad_external_data_is_an_import_error(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    weight = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../../etc/hostname"
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [weight],
    )
    path = tmp_path / "ext.onnx"
    onnx.save(helper.make_model(graph), path)
    with pytest.raises(tg.GraphError, match="external data"):
        tg.onnx.load(path)


def test_node_names_agree_with_the_graph_and_are_unique():
    x = tg.input("x", shape=(None, 2))
    y = tg.exp(x) + tg.tanh(x)
    g = tg.Graph(y)
    assert [n.name for n in g.nodes] == [g.name_of(n) for n in g.nodes] == ["x", "exp_0", "tanh_1", "add_2"]
    z = x * 2.0 + 1.0
    names = [n.name for n in tg.Graph(z).nodes]
    assert len(set(names)) == len(names)
    assert repr(y.inputs[1]) == "<Node tanh_1: f64[?,2] = tanh(x)>"


def test_repr_and_shape_errors_work_when_two_inputs_share_a_name():
    a = tg.input("x", shape=(None, 2))
    b = tg.input("x", shape=(None, 2))
    s = a + b
    assert repr(s).startswith("<Node add_0: f64[?,2] = add(x, x")
    with pytest.raises(tg.ShapeError, match="inner dimensions"):
        s @ np.ones((3, 3))
    with pytest.raises(tg.GraphError, match="two different inputs are named 'x'"):
        tg.Graph(s)


INJECTIONS = ['h\n        print("INJECTED") #', 'x""";print("INJECTED");"""', "a\u2028b", "\r", "\\"]


@pytest.mark.parametrize("name", INJECTIONS)
def test_names_never_become_code_in_compiled_source(name, capsys):
    x = tg.input(name, shape=(None, 3))
    y = tg.exp(x, name=name + "!") + 1.0
    f = tg.compile(y)
    out = f(np.ones((1, 3)))
    np.testing.assert_array_equal(out, tg.evaluate(y, {x: np.ones((1, 3))}))
    assert "INJECTED" not in capsys.readouterr().out
    assert len(f.source.splitlines()) == len(f.source.split("\n")) - 1  # no stray line breaks


def test_a_graph_keeps_its_own_plan_across_renames():
    x = tg.input("x", shape=(None, 3))
    y = tg.exp(x)
    g = tg.Graph(y)
    x.name = "inp"
    a = np.ones((1, 3))
    tg.evaluate(g, {"x": a})  # g took its names before the rename
    np.testing.assert_array_equal(tg.evaluate(y, {"inp": a}), np.exp(a))
    with pytest.raises(tg.FeedError):
        tg.evaluate(y, {"x": a})


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


def test_reshape_takes_an_int_and_axes_must_be_ints():
    x = tg.input("x", shape=(2, 3))
    assert tg.reshape(x, 6).shape == (6,)
    assert tg.sum(x, np.int64(1)).shape == (2,)
    for bad in (lambda: tg.sum(x, axis=1.5), lambda: tg.reshape(x, "ab"), lambda: tg.mean(x, [1.0])):
        with pytest.raises(TypeError, match="expected an int or a sequence of ints"):
            bad()


def test_a_custom_op_cannot_write_into_the_users_feed():
    class AddOneInPlace(tg.Op):
        def forward(self, a):
            a += 1
            return a

    x = tg.input("x", shape=(1, 2))
    y = AddOneInPlace()(x)
    for run in (lambda b: tg.evaluate(y, {x: b}), lambda b: tg.compile(y)(b),
                lambda b: tg.evaluate(y, {"x": b.tolist()}), lambda b: tg.trace(y, {x: b})):
        b = np.zeros((1, 2))
        with pytest.raises(tg.ExecutionError, match="read-only"):
            run(b)
        assert not b.any()
    # built-in graphs keep the fast path: nothing is wrapped
    z = x * 2.0
    b = np.ones((1, 2))
    np.testing.assert_array_equal(tg.evaluate(z, {x: b}), [[2.0, 2.0]])
