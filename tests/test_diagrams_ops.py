"""The operation-graph diagram: rendered with the real ``dot`` and read back from the SVG."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygraph as tg
from tests.diagram_helpers import groups, parse_svg, texts, tooltip
from tinygraph.diagrams import dot
from tinygraph.text import printable
from tinygraph.zoo import textbook_network


def svg_of(obj, **options):
    return parse_svg(dot.svg(tg.to_dot(obj, **options)))


def test_textbook_svg_has_every_node_edge_and_one_cluster_per_layer():
    model, x, y = textbook_network()
    graph = tg.Graph(y)
    root = svg_of(graph)
    nodes = groups(root, "node")
    assert set(nodes) == {f"n{i}" for i in range(len(graph.nodes))}
    index = {n: i for i, n in enumerate(graph.nodes)}
    for node, i in index.items():
        assert graph.name_of(node) in " ".join(texts(nodes[f"n{i}"]))
    expected_edges = {f"n{index[a]}->n{index[b]}" for b in graph.nodes for a in b.inputs}
    assert set(groups(root, "edge")) == expected_edges
    clusters = groups(root, "cluster")
    labels = sorted(texts(c)[0].split(" · ")[0] for c in clusters.values())
    assert labels == ["affine1", "affine2", "sigmoid1"]
    # Each layer's cluster holds the layer's parameters, adopted from outside its scope.
    source = graph.to_dot().source
    affine1 = source[source.index("subgraph cluster_0"):source.index("subgraph cluster_1")]
    for name in ("W1", "b1", "MatMul", "matmul_0", "add_1"):
        assert name in affine1
    assert "<B>x</B>" not in affine1


def test_kinds_are_styled_apart_and_shapes_flow_on_edges():
    model, x, y = textbook_network()
    graph = tg.Graph(y)
    source = graph.to_dot().source
    fills = {kind: style["fillcolor"] for kind, style in dot.KIND_STYLES.items()}
    assert len(set(fills.values())) == len(fills)
    line_of = {m.group(1): m.group(0) for m in re.finditer(r"\t+(n\d+) \[.*", source)}
    index = {graph.name_of(n): i for i, n in enumerate(graph.nodes)}
    assert fills["input"] in line_of[f"n{index['x']}"]
    assert fills["parameter"] in line_of[f"n{index['W1']}"]
    assert fills["op"] in line_of[f"n{index['matmul_0']}"]
    assert "peripheries=2" in line_of[f"n{index['y']}"]
    assert "f64[?,2]" in line_of[f"n{index['x']}"]
    edge = re.search(rf"n{index['W1']} -> n{index['matmul_0']} \[(.*)\]", source)
    assert edge is not None and "<B>b</B> f64[2,4]" in edge.group(1)


def test_operand_positions_are_labelled_where_order_matters():
    a = tg.input("a", shape=(3,))
    b = tg.input("b", shape=(3,))
    graph = tg.Graph([a - b, b / a, a ** b, a + b, a * b])
    root = svg_of(graph)
    index = {graph.name_of(n): i for i, n in enumerate(graph.nodes)}
    edges = groups(root, "edge")

    def edge_text(src, dst):
        return " ".join(texts(edges[f"n{index[src]}->n{index[dst]}"]))

    sub, div, pow_, add, mul = (graph.name_of(n) for n in graph.outputs)
    assert edge_text("a", sub).startswith("a") and edge_text("b", sub).startswith("b")
    assert edge_text("b", div).startswith("a") and edge_text("a", div).startswith("b")
    assert edge_text("a", pow_).startswith("a")
    assert edge_text("a", add) == "f64[3]" and edge_text("b", mul) == "f64[3]"
    assert "= a - b" in " ".join(texts(groups(root, "node")[f"n{index[sub]}"]))


def test_same_graph_built_twice_gives_identical_source():
    sources = []
    for _ in range(2):
        model, x, y = textbook_network(seed=3)
        graph = tg.Graph(y)
        sources.append(graph.to_dot(values=tg.trace(y, {x: np.ones((2, 2))})).source)
    assert sources[0] == sources[1]
    assert re.search(r"0x[0-9a-f]{6,}", sources[0]) is None
    ids = [i for i in re.findall(r"^\t+(\w+) \[", sources[0], re.M) if i not in ("graph", "node", "edge")]
    assert ids == [f"n{i}" for i in range(10)]


def test_special_characters_round_trip_and_inject_nothing():
    names = ['q"uote', "back\\slash", "\\N", "\\G\\L\\n", "end\\", "{brace}|[x]", "<b>html</b> & &amp;", "한국어 이름",
             '"]; evil [label="pwned"', "port:name", "node"]
    inputs = [tg.input(n, shape=(2,)) for n in names]
    with tg.scope('scope "<&>" \\ 한'):
        total = inputs[0]
        for node in inputs[1:]:
            total = total + node
    two = tg.parameter(np.ones(2), name="two\nlines")
    out = tg.mul(total, two, name="out</FONT>")
    graph = tg.Graph(out)
    root = svg_of(graph)
    nodes = groups(root, "node")
    assert len(nodes) == len(graph.nodes)
    for i, node in enumerate(graph.nodes):
        lines = texts(nodes[f"n{i}"])
        name = graph.name_of(node)
        if "\n" in name:
            assert lines[0] == name.replace("\n", "\\n")  # one line: a name never breaks a label
        elif node.op.kind in ("input", "parameter"):
            assert lines[0] == name
        else:
            assert any(line.startswith(name) for line in lines), (name, lines)
    out_index = graph.nodes.index(out)
    assert tooltip(nodes[f"n{out_index}"]) == graph.format_node(out)
    clusters = groups(root, "cluster")
    assert [texts(c)[0].split(" · ")[0] for c in clusters.values()] == ['scope "<&>" \\ 한']
    assert "pwned" not in dot.svg(tg.to_dot(graph)).replace("evil [label=&quot;pwned", "")


# Names are arbitrary text: printable characters (others, newline included, are
# shown escaped, as \n or \xNN, by design) with no blank line, no line that is only spaces, and no leading or
# trailing spaces on a line, which Graphviz trims.
_line = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, min_size=1, max_size=2))
def test_any_name_round_trips_through_svg(lines):
    name = "\n".join(lines)
    x = tg.input(name, shape=(None, 2))
    W = tg.parameter(np.ones((2, 2)), name=name)
    graph = tg.Graph(x @ W)
    nodes = groups(svg_of(graph), "node")
    assert len(nodes) == 3
    for i in (0, 1):
        shown = graph.name_of(graph.nodes[i])  # the parameter is renamed name_1: names are unique
        assert texts(nodes[f"n{i}"])[0] == printable(shown)  # escaped as in the listing, on one line
    assert graph.name_of(x) == name


def test_custom_op_renders_with_no_rendering_code():
    class Clip(tg.Op):
        def __init__(self, lo, hi):
            self.lo, self.hi = lo, hi

        def forward(self, a):
            return np.clip(a, self.lo, self.hi)

    x = tg.input("x", shape=(None, 3))
    y = Clip(0.0, 1.0)(x * 2.0)
    root = svg_of(y)
    nodes = groups(root, "node")
    assert len(nodes) == 4
    all_text = [t for g in nodes.values() for t in texts(g)]
    assert "Clip(lo=0.0, hi=1.0)" in all_text
    assert "clip_2 · output" in all_text
    assert "2.0" in all_text  # the scalar constant shows its value


def test_custom_op_changes_label_and_style_with_one_override_each():
    class Gate(tg.Op):
        dot_style = {"fillcolor": "#ff00ff", "shape": "hexagon", "label": "ignored"}

        def forward(self, a, b):
            return a * b

        def dot_label(self):
            return "gate ⊙"

    a, b = tg.input("a", shape=(2,)), tg.input("b", shape=(2,))
    root = svg_of(Gate()(a, b))
    gate = groups(root, "node")["n2"]
    assert texts(gate)[0] == "gate ⊙"
    assert any(p.get("fill") == "#ff00ff" for p in gate.iter())
    # Two operands of a custom op: their order may matter, so the edges say which is which.
    edges = groups(root, "edge")
    assert "".join(texts(edges["n0->n2"])).startswith("a ") and "".join(texts(edges["n1->n2"])).startswith("b ")


def test_node_and_graph_display_as_svg_in_notebooks():
    model, x, y = textbook_network()
    bundle = y._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]
    graph = tg.Graph(y)
    assert "<svg" in graph._repr_svg_()
    png = graph._repr_mimebundle_(include=["image/png"])
    assert png["image/png"].startswith(b"\x89PNG")


@pytest.mark.slow
def test_long_chain_exports_to_dot_source():
    x = tg.input("x", shape=(None,))
    node = x
    for _ in range(100_000):
        node = tg.neg(node)
    graph = tg.Graph(node)
    source = tg.to_dot(graph).source
    assert source.count(" -> ") == 100_000
    assert "n100000 [" in source
