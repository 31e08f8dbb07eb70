"""Every option of the operation-graph diagram changes what it should and nothing else."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygraph as tg
from tests.diagram_helpers import groups, parse_svg
from tinygraph.diagrams import dot
from tinygraph.diagrams.export import RENDER_OPTIONS, option_defaults, parse_option
from tinygraph.zoo import textbook_network


@pytest.fixture
def net():
    model, x, y = textbook_network()
    return model, x, y, tg.Graph(y)


def node_line(source, label_start):
    for line in source.splitlines():
        if f"label=<<B>{label_start}" in line:
            return line
    raise AssertionError(f"no node labelled {label_start!r}")


def test_rankdir(net):
    graph = net[3]
    assert "rankdir=LR" in graph.to_dot().source
    assert "rankdir=TB" in graph.to_dot(rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        graph.to_dot(rankdir="sideways")


def test_hiding_parameters_lists_them_in_their_ops(net):
    graph = net[3]
    source = graph.to_dot(params=False).source
    assert "parameter ·" not in source and "<B>W1</B>" not in source
    matmul = node_line(source, "MatMul")
    assert "b: W1 f64[2,4]" in matmul
    assert "with b1 f64[4]" in node_line(source, "Add")
    assert source.count(" -> ") == 5  # x->matmul, matmul->add, add->sigmoid, sigmoid->matmul, matmul->add


def test_hiding_constants():
    x = tg.input("x", shape=(3,))
    y = 2.0 * x - 1.0
    shown, hidden = tg.to_dot(y).source, tg.to_dot(y, constants=False).source
    assert "<B>2.0</B>" in shown and "<B>1.0</B>" in shown
    assert "<B>2.0</B>" not in hidden and "with 2.0<" in hidden and "b: 1.0<" in hidden
    assert hidden.count(" -> ") == 2


def test_shapes_and_unknown_dim(net):
    graph = net[3]
    labels_only = re.sub(r'tooltip="[^"]*"', "", graph.to_dot(shapes=False).source)
    assert "f64[" not in labels_only
    named = re.sub(r'tooltip="[^"]*"', "", graph.to_dot(unknown_dim="N").source)
    assert "f64[N,2]" in named and "[?" not in named


def test_values_small_printed_large_summarised(net):
    model, x, y, graph = net
    batch = np.arange(20.0).reshape(10, 2) / 10
    values = tg.trace(y, {x: batch})
    source = graph.to_dot(values=values).source
    b1 = model.layers[0].b.value
    assert np.array2string(b1, precision=3, suppress_small=True, separator=" ") in node_line(source, "b1")
    assert "10×2: min 0  max 1.9  mean 0.95" in node_line(source, "x")
    out = values[y]
    y_line = next(line for line in source.splitlines() if "y · output" in line)
    assert f"10×3: min {out.min():.3g}  max {out.max():.3g}" in y_line
    assert "min" not in graph.to_dot().source
    few = graph.to_dot(values=values, max_items=30).source
    assert "10×2" not in node_line(few, "x")


def test_parameter_counts_per_parameter_cluster_and_total(net):
    graph = net[3]
    source = graph.to_dot().source
    assert "parameter · 8 params" in node_line(source, "W1")
    assert "affine1 · 12 params" in source and "affine2 · 15 params" in source
    assert "27 params in total" in source
    plain = graph.to_dot(param_counts=False).source
    assert "params" not in plain


def test_clusters_off(net):
    assert "cluster" not in net[3].to_dot(clusters=False).source
    with pytest.raises(ValueError, match="needs clusters=True"):
        net[3].to_dot(clusters=False, collapse=True)


def test_shared_parameter_stays_outside_and_nested_scopes_nest():
    W = tg.parameter(np.eye(2), name="W")
    x = tg.input("x", shape=(None, 2))
    with tg.scope("outer"):
        h = x @ W
        with tg.scope("inner"):
            h = tg.tanh(h) @ W
    source = tg.to_dot(h).source
    outer = source.index("subgraph cluster_0")
    inner = source.index("subgraph cluster_1")
    w_line = source.index("<B>W</B>")
    assert outer < inner
    assert w_line < outer  # W is used in two scopes: it stays where it was made
    # inner's block closes before outer's does: it is nested in it
    closing = [m.start() for m in re.finditer(r"^\t+}$", source, re.M)]
    assert len(closing) == 2 and inner < closing[0] < closing[1]
    root = parse_svg(dot.svg(tg.to_dot(h)))
    assert len(groups(root, "cluster")) == 2


def test_collapse_one_cluster_into_a_box(net):
    graph = net[3]
    source = graph.to_dot(collapse=["affine1"]).source
    assert "<B>W1</B>" not in source and "MatMul, Add" in source and "12 params" in source
    assert "c0 [" in source and "box3d" in source
    root = parse_svg(dot.svg(graph.to_dot(collapse=["affine1"])))
    edges = set(groups(root, "edge"))
    index = {graph.name_of(n): i for i, n in enumerate(graph.nodes)}
    assert f"n{index['x']}->c0" in edges and f"c0->n{index['sigmoid_2']}" in edges
    assert len(groups(root, "cluster")) == 2
    everything = graph.to_dot(collapse=True).source
    assert everything.count("box3d") == 3 and "cluster" not in everything
    assert "→ f64[?,3]" in everything  # the box says what leaves it


def test_collapse_unknown_name_is_a_clear_error(net):
    with pytest.raises(tg.GraphError, match=r"no cluster named 'affine9'.*'affine1'"):
        net[3].to_dot(collapse=["affine9"])


def test_highlight(net):
    graph = net[3]
    source = graph.to_dot(highlight=["W1", graph.outputs[0]]).source
    assert dot.HIGHLIGHT["fillcolor"] in node_line(source, "W1")
    assert dot.HIGHLIGHT["fillcolor"] not in node_line(source, "b1")
    assert source.count(dot.HIGHLIGHT["fillcolor"]) == 2
    with pytest.raises(tg.GraphError, match="no node named 'nope'"):
        graph.to_dot(highlight=["nope"])
    stranger = tg.input("stranger", shape=(1,))
    with pytest.raises(tg.GraphError, match="not part of this graph"):
        graph.to_dot(highlight=[stranger])


def test_title_is_text(net):
    source = net[3].to_dot(title="<i>net</i> & co").source
    assert "&lt;i&gt;net&lt;/i&gt; &amp; co" in source


def test_unknown_option_and_style_are_clear_errors(net):
    with pytest.raises(TypeError, match=r"'colour'.*style='ops'.*rankdir"):
        tg.to_dot(net[3], colour="red")
    with pytest.raises(TypeError, match=r"'bias'.*style='ops'"):
        tg.to_dot(net[3], bias=True)
    with pytest.raises(ValueError, match="unknown diagram style 'fancy'"):
        tg.to_dot(net[3], style="fancy")


def test_a_model_draws_as_ops_on_an_input_x(net):
    model = net[0]
    source = tg.to_dot(model).source
    assert "<B>x</B>" in source and "f64[?,2]" in source and "affine2 · 15 params" in source


def test_render_options_table_covers_every_option():
    names = set(option_defaults("ops")) | set(option_defaults("neurons")) | {"style", "dpi"}
    assert names == set(RENDER_OPTIONS)
    assert parse_option("params", "off") is False and parse_option("bias", "yes") is True
    assert parse_option("max_neurons", "6") == 6
    assert parse_option("collapse", "all") is True
    assert parse_option("collapse", "affine1, affine2") == ["affine1", "affine2"]
    assert parse_option("highlight", "W1") == ["W1"]
    assert parse_option("rankdir", "TB") == "TB"
    with pytest.raises(ValueError, match="on/off"):
        parse_option("params", "maybe")
    with pytest.raises(ValueError, match="unknown drawing option"):
        parse_option("colour", "red")
