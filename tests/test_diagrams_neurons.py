"""The neuron diagram of tg.nn models, read back from the SVG that ``dot`` draws."""

from __future__ import annotations

import numpy as np
import pytest

import tinygraph as tg
from tests.diagram_helpers import groups, parse_svg, texts
from tinygraph.diagrams import dot
from tinygraph.diagrams.neurons import NEGATIVE, NEUTRAL, POSITIVE, shown
from tinygraph.zoo import textbook_network


def neuron_svg(model, **options):
    return parse_svg(dot.svg(tg.to_dot(model, style="neurons", **options)))


def neurons_of(root):
    """Neuron node ids per column: {0: ['L0_0', 'L0_1'], ...} (headers, bias and gaps left out)."""
    cols: dict[int, list[str]] = {}
    for title in groups(root, "node"):
        col, _, rest = title[1:].partition("_")
        if rest.isdigit():
            cols.setdefault(int(col), []).append(title)
    return cols


def test_textbook_network_one_circle_per_neuron_one_arrow_per_weight():
    model, _, _ = textbook_network()
    root = neuron_svg(model)
    cols = neurons_of(root)
    assert {k: len(v) for k, v in cols.items()} == {0: 2, 1: 4, 2: 3}
    edges = set(groups(root, "edge"))
    expected = {f"L0_{i}->L1_{j}" for i in range(2) for j in range(4)}
    expected |= {f"L1_{i}->L2_{j}" for i in range(4) for j in range(3)}
    assert edges == expected
    nodes = groups(root, "node")
    # Joined: Graphviz writes a subscript as its own <text> or as a <tspan>, depending on version.
    assert "".join(texts(nodes["L0_0"])) == "x1" and "".join(texts(nodes["L2_2"])) == "y3"
    assert "".join(texts(nodes["L1_3"])) == "h4"
    headers = [" ".join(texts(nodes[f"L{k}_head"])) for k in range(3)]
    assert headers[0].startswith("input layer") and "2 neurons" in headers[0]
    assert headers[1].startswith("hidden layer 1") and "affine1 → sigmoid1" in headers[1]
    assert "12 params" in headers[1]
    assert headers[2].startswith("output layer") and "3 neurons" in headers[2]


def test_columns_are_drawn_left_to_right_and_in_index_order():
    model, _, _ = textbook_network()
    root = neuron_svg(model, bias=True)
    nodes = groups(root, "node")

    def centre(node_id):
        ellipse = next(e for e in nodes[node_id].iter() if e.tag.endswith("ellipse"))
        return float(ellipse.get("cx")), float(ellipse.get("cy"))

    xs = [centre(f"L{k}_0")[0] for k in range(3)]
    assert xs == sorted(xs) and len(set(xs)) == 3
    for k, n in ((0, 2), (1, 4), (2, 3)):
        ys = [centre(f"L{k}_{i}")[1] for i in range(n)]
        assert ys == sorted(ys)  # SVG y grows downwards: neuron 1 on top
        if k < 2:
            assert centre(f"L{k}_bias")[1] < ys[0]  # the bias sits on top, as in the textbook


def test_weights_set_colour_and_width():
    model, _, _ = textbook_network()
    W1 = model.layers[0].W.value
    source = tg.to_dot(model, style="neurons").source
    strongest = np.unravel_index(np.argmax(np.abs(W1)), W1.shape)
    for (i, j), w in np.ndenumerate(W1):
        line = next(line for line in source.splitlines() if f"L0_{i} -> L1_{j} " in line)
        assert (POSITIVE if w >= 0 else NEGATIVE) in line
        width = float(line.split("penwidth=")[1].split()[0])
        assert width == pytest.approx(0.3 + 2.7 * abs(w) / np.abs(W1).max(), abs=0.01)
        assert f"W1[{i},{j}] = {w:.4g}" in line
    assert (strongest[0], strongest[1]) in {(i, j) for i in range(2) for j in range(4)}
    plain = tg.to_dot(model, style="neurons", weights=False).source
    arrows = [line for line in plain.splitlines() if " -> L" in line and "invis" not in line]
    assert len(arrows) == 20
    assert all(NEUTRAL in line and "penwidth" not in line for line in arrows)
    assert POSITIVE not in plain and "positive" not in plain
    labelled = tg.to_dot(model, style="neurons", weight_labels=True).source
    first = next(line for line in labelled.splitlines() if "L0_0 -> L1_0 " in line)
    assert f"xlabel={W1[0, 0]:.2f}" in first or f'xlabel="{W1[0, 0]:.2f}"' in first


def test_bias_nodes_and_arrows():
    model, _, _ = textbook_network()
    root = neuron_svg(model, bias=True)
    edges = set(groups(root, "edge"))
    assert {f"L0_bias->L1_{j}" for j in range(4)} <= edges
    assert {f"L1_bias->L2_{j}" for j in range(3)} <= edges
    assert len(edges) == 8 + 12 + 4 + 3
    assert texts(groups(root, "node")["L0_bias"]) == ["1"]


def test_wide_layers_are_elided_so_784_100_10_stays_legible():
    rng = np.random.default_rng(1)
    model = tg.nn.Sequential(tg.nn.Affine.init(784, 100, rng=rng), tg.nn.ReLU(),
                             tg.nn.Affine.init(100, 10, rng=rng), tg.nn.Softmax())
    root = neuron_svg(model)
    cols = neurons_of(root)
    assert {k: len(v) for k, v in cols.items()} == {0: 9, 1: 9, 2: 10}
    assert "L0_783" in cols[0] and "L0_0" in cols[0] and "L0_500" not in cols[0]
    nodes = groups(root, "node")
    assert texts(nodes["L0_more"]) == ["⋮", "775 more"]
    assert texts(nodes["L1_more"]) == ["⋮", "91 more"]
    assert "L2_more" not in nodes
    assert len(groups(root, "edge")) == 9 * 9 + 9 * 10
    assert "affine2 → softmax1" in " ".join(texts(nodes["L2_head"]))
    assert shown(5, 4) == [0, 1, None, 4]
    assert len(groups(neuron_svg(model, max_neurons=4), "edge")) == 3 * 3 + 3 * 3


def test_single_affine_and_deeper_models():
    rng = np.random.default_rng(2)
    cols = neurons_of(neuron_svg(tg.nn.Affine.init(3, 2, rng=rng)))
    assert {k: len(v) for k, v in cols.items()} == {0: 3, 1: 2}
    deep = tg.nn.Sequential(tg.nn.Affine.init(2, 3, rng=rng), tg.nn.Tanh(),
                            tg.nn.Sequential(tg.nn.Affine.init(3, 3, rng=rng), tg.nn.ReLU()),
                            tg.nn.Affine.init(3, 1, rng=rng))
    root = neuron_svg(deep)
    assert {k: len(v) for k, v in neurons_of(root).items()} == {0: 2, 1: 3, 2: 3, 3: 1}
    nodes = groups(root, "node")
    assert "".join(texts(nodes["L2_0"])) == "h1(2)"  # with two hidden layers, each says which
    assert " ".join(texts(nodes["L3_head"])).startswith("output layer")


def test_models_it_cannot_draw_say_why():
    class Dropout(tg.nn.Layer):
        def forward(self, x):
            return x

    rng = np.random.default_rng(0)
    with pytest.raises(tg.GraphError, match="Dropout"):
        tg.to_dot(tg.nn.Sequential(tg.nn.Affine.init(2, 2, rng=rng), Dropout()), style="neurons")
    with pytest.raises(tg.GraphError, match="start with an Affine"):
        tg.to_dot(tg.nn.Sequential(tg.nn.Sigmoid(), tg.nn.Affine.init(2, 2, rng=rng)), style="neurons")
    with pytest.raises(tg.GraphError, match="takes 3 inputs but the layer before it has 2"):
        tg.to_dot(tg.nn.Sequential(tg.nn.Affine.init(1, 2, rng=rng), tg.nn.Affine.init(3, 2, rng=rng)),
                  style="neurons")
    x = tg.input("x", shape=(None, 2))
    with pytest.raises(TypeError, match="style='neurons' draws tg.nn models.*draw it with style='ops'"):
        tg.to_dot(tg.exp(x), style="neurons")
    with pytest.raises(ValueError, match="max_neurons"):
        tg.to_dot(textbook_network()[0], style="neurons", max_neurons=2)


def test_layer_names_are_text():
    rng = np.random.default_rng(0)
    model = tg.nn.Sequential(tg.nn.Affine.init(2, 2, rng=rng, name='<a "b">\\ 층'), tg.nn.Sigmoid())
    nodes = groups(neuron_svg(model), "node")
    assert '<a "b">\\ 층 → sigmoid1' in texts(nodes["L1_head"])


def test_graphs_and_nodes_made_of_layers_draw_as_neurons():
    model, x, y = textbook_network()
    from_model = tg.to_dot(model, style="neurons").source
    assert tg.to_dot(y, style="neurons").source == from_model
    assert tg.to_dot(tg.Graph(y), style="neurons").source == from_model
    loaded = tg.loads(tg.dumps(y))  # no model object: the layers are read back from the graph
    assert tg.to_dot(loaded, style="neurons").source == from_model
