"""The textbook's neuron diagram of a ``tg.nn`` model: circles in columns, an arrow per weight.

An ``Affine(W, b)`` with ``W`` of shape ``(in, out)`` joins a column of ``in``
neurons to one of ``out``: the arrow from neuron ``i`` to neuron ``j`` is the
weight ``W[i, j]``. Activation layers add no column; they name the activation
of the column before them. A layer wider than ``max_neurons`` shows its first
and last few neurons around a "⋮ n more" marker, so 784-100-10 stays legible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import graphviz  # type: ignore[import-untyped]
import numpy as np

from ..errors import GraphError
from ..nn import Activation, Affine, Layer, Sequential
from ..text import printable
from . import dot

POSITIVE, NEGATIVE, NEUTRAL = "#2b6cb0", "#c0392b", "#8c8c8c"
_COLUMN_STYLES = {
    "input": {"fillcolor": "#d5e8d4", "color": "#5b8c4a"},
    "hidden": {"fillcolor": "#dae8fc", "color": "#6c8ebf"},
    "output": {"fillcolor": "#ffe6cc", "color": "#d79b00"},
}


def layers_of(model: Layer) -> list[Layer]:
    """The model's layers in order, nested ``Sequential`` containers flattened."""
    if not isinstance(model, Layer):
        raise TypeError(f"expected a tg.nn layer or Sequential, got {type(model).__name__}")
    out: list[Layer] = []
    stack: list[Layer] = [model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, Sequential):
            stack.extend(reversed(layer.layers))
        else:
            out.append(layer)
    return out


@dataclass
class Column:
    """One layer of neurons: its width, the layers that produce it, and how it is labelled."""

    size: int
    symbol: str
    layers: list[str] = field(default_factory=list)
    params: int = 0
    kind: str = "hidden"


@dataclass
class Link:
    """The weights joining column ``k`` to column ``k + 1``."""

    W: np.ndarray[Any, Any]
    b: np.ndarray[Any, Any]
    W_name: str
    b_name: str


def columns_of(model: Layer) -> tuple[list[Column], list[Link]]:
    """The model as columns of neurons and the weight matrices between them."""
    columns: list[Column] = []
    links: list[Link] = []
    for layer in layers_of(model):
        if isinstance(layer, Affine):
            W, b = np.asarray(layer.W.value), np.asarray(layer.b.value)
            if not columns:
                columns.append(Column(W.shape[0], "x", kind="input"))
            elif columns[-1].size != W.shape[0]:
                raise GraphError(
                    f"layer {layer.name!r} takes {W.shape[0]} inputs but the layer before it has "
                    f"{columns[-1].size} neurons"
                )
            columns.append(Column(W.shape[1], "h", [layer.name], W.size + b.size))
            links.append(Link(W, b, layer.W.name, layer.b.name))
        elif isinstance(layer, Activation):
            if not columns:
                raise GraphError(f"a neuron diagram must start with an Affine layer, not {layer!r}")
            columns[-1].layers.append(layer.name)
        else:
            raise GraphError(f"neuron diagrams draw Affine and activation layers; {layer!r} is neither")
    if not links:
        raise GraphError("a neuron diagram needs at least one Affine layer")
    columns[-1].kind, columns[-1].symbol = "output", "y"
    return columns, links


def shown(size: int, max_neurons: int) -> list[int | None]:
    """Indices of the neurons drawn; ``None`` marks the "n more" gap."""
    if size <= max_neurons:
        return list(range(size))
    head = max_neurons // 2
    tail = max_neurons - 1 - head
    return [*range(head), None, *range(size - tail, size)]


def _neuron_label(column: Column, layer_number: int, i: int, numbered: bool) -> str:
    sup = f"<SUP>({layer_number})</SUP>" if column.kind == "hidden" and numbered else ""
    return f"<<I>{column.symbol}</I><SUB>{i + 1}</SUB>{sup}>"


def _circle_width(column: Column, hidden_layers: int) -> str:
    # All circles of a column share one size, large enough for its longest label (h₁₀₀⁽²⁾).
    small_chars = len(str(column.size)) + (3 if column.kind == "hidden" and hidden_layers > 1 else 0)
    return f"{max(0.5, 0.16 + 0.11 * len(column.symbol) + 0.07 * small_chars):.2f}"


def _header(column: Column, number: int, param_counts: bool) -> list[str]:
    title = {"input": "input layer", "output": "output layer"}.get(column.kind, f"hidden layer {number}")
    lines = [f"<B>{title}</B>"]
    if column.layers:
        lines.append(dot.font(dot.html_text(" → ".join(map(printable, column.layers))), size=10, color=dot.SUBTLE))
    noun = "neuron" if column.size == 1 else "neurons"
    lines.append(dot.font(f"{column.size:,} {noun}", size=10, color=dot.SUBTLE))
    if param_counts and column.params:
        lines.append(dot.font(dot.count_label(column.params), size=10, color=dot.SUBTLE))
    return lines


def _edge_attrs(value: float, scale: float, weights: bool, weight_labels: bool, tip: str) -> dict[str, str]:
    attrs = {"tooltip": dot.esc_string(tip)}
    if weights:
        attrs["color"] = POSITIVE if value >= 0 else NEGATIVE
        attrs["penwidth"] = f"{0.3 + 2.7 * min(abs(value) / scale, 1.0):.2f}" if scale > 0 else "1"
    else:
        attrs["color"] = NEUTRAL
    if weight_labels:
        # xlabel: placed beside the arrow after layout, so the columns keep their places.
        attrs.update(xlabel=f"{value:.2f}", fontsize="8", fontcolor=attrs["color"])
    return attrs


def neuron_diagram(
    model: Layer,
    *,
    rankdir: str = "LR",
    weights: bool = True,
    bias: bool = False,
    weight_labels: bool = False,
    max_neurons: int = 10,
    param_counts: bool = True,
    title: str | None = None,
) -> graphviz.Digraph:
    """The textbook neuron diagram of a ``tg.nn`` model (options: see docs/diagrams.md)."""
    if not isinstance(max_neurons, int) or max_neurons < 3:
        raise ValueError(f"max_neurons must be an int of at least 3, got {max_neurons!r}")
    columns, links = columns_of(model)
    root = dot.new_digraph("neurons", rankdir, splines="line", nodesep="0.15", ranksep="1.3")
    root.attr("node", shape="circle", style="filled", width="0.5", fixedsize="true", fontsize="13")
    root.attr("edge", arrowsize="0.5", penwidth="0.8")
    drawn = [shown(c.size, max_neurons) for c in columns]
    # A column is a rank of its own: its header, the bias node (on top, as in the textbook), then
    # the neurons. Invisible edges inside the rank pin that order; dot would otherwise reorder it
    # (and clusters would defeat the pinning, so headers are plain nodes, not cluster labels).
    hidden_layers = sum(1 for c in columns if c.kind == "hidden")
    headers = [_header(column, k, param_counts) for k, column in enumerate(columns)]
    for k, column in enumerate(columns):
        ids = [f"L{k}_head"]
        # Headers padded to one height, so that their titles line up as well as their centres.
        header = headers[k] + [dot.font(" ", size=10)] * (max(map(len, headers)) - len(headers[k]))
        width = _circle_width(column, hidden_layers)
        root.node(ids[0], label=dot.html_label(header), shape="plaintext", style="", fixedsize="false")
        if bias and k < len(links):
            ids.append(f"L{k}_bias")
            root.node(ids[-1], label="1", fillcolor="#eeeeee", color="#888888", width="0.4", fontsize="11",
                      tooltip=dot.esc_string(f"bias input of {columns[k + 1].layers[0]}"))
        style = _COLUMN_STYLES[column.kind]
        for i in drawn[k]:
            if i is None:
                more = column.size - len(drawn[k]) + 1
                ids.append(f"L{k}_more")
                root.node(ids[-1], label=dot.html_label(["⋮", dot.font(f"{more:,} more", size=9)]),
                          shape="plaintext", style="", fontsize="16", fixedsize="false", height="0.5")
            else:
                ids.append(f"L{k}_{i}")
                root.node(ids[-1], label=_neuron_label(column, k, i, hidden_layers > 1), width=width, **style)
        root.body.append("\t{rank=same; " + " ".join(ids) + "}\n")
        for a, b in zip(ids, ids[1:]):
            root.edge(a, b, style="invis")
        if k:
            # A heavy invisible edge between headers: dot keeps heavy edges straight, so they line up.
            root.edge(f"L{k - 1}_head", ids[0], style="invis", weight="100")
    for k, link in enumerate(links):
        scale = float(np.max(np.abs(link.W))) if link.W.size else 0.0
        targets = [j for j in drawn[k + 1] if j is not None]
        for i in drawn[k]:
            if i is None:
                continue
            for j in targets:
                w = float(link.W[i, j])
                tip = f"{link.W_name}[{i},{j}] = {w:.4g}"
                root.edge(f"L{k}_{i}", f"L{k + 1}_{j}", **_edge_attrs(w, scale, weights, weight_labels, tip))
        if bias:
            bscale = float(np.max(np.abs(link.b))) if link.b.size else 0.0
            for j in targets:
                v = float(link.b[j])
                attrs = _edge_attrs(v, bscale, weights, weight_labels, f"{link.b_name}[{j}] = {v:.4g}")
                root.edge(f"L{k}_bias", f"L{k + 1}_{j}", style="dashed", **attrs)
    name = title if title is not None else "-".join(str(c.size) for c in columns) + " network"
    caption = [dot.font(" ", size=8), dot.html_text(name)]
    if param_counts:
        caption.append(dot.font(dot.count_label(sum(c.params for c in columns)), size=10, color=dot.SUBTLE))
    if weights:
        legend = f'<FONT COLOR="{POSITIVE}">■ positive</FONT>   <FONT COLOR="{NEGATIVE}">■ negative</FONT>'
        legend += "   weight (width: |w|)" + ("   dashed: bias" if bias else "")
        caption.append(dot.font(legend, size=9, color=dot.SUBTLE))
    root.attr("graph", label=dot.html_label(caption), labelloc="b")
    return root
