"""Diagrams of graphs and models: ``to_dot`` and ``render`` for both styles, and their options.

Two styles: ``"ops"`` (every node and operand of the graph, ``tinygraph.opgraph``)
and ``"neurons"`` (the textbook picture of a ``tg.nn`` model, ``tinygraph.neurons``).
This module imports neither, nor ``graphviz``, until a diagram is asked for, so
``import tinygraph`` stays light. ``RENDER_OPTIONS`` and ``parse_option`` are what
a command line needs to offer every option as a flag.
"""

from __future__ import annotations

import inspect
import os
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import GraphvizNotFoundError
from ..graph import Graph
from ..hooks import register_drawing
from ..nn import Affine, Layer, model_of
from ..node import Node
from ..op import input as _input

if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped]

STYLES = ("ops", "neurons")

#: Every drawing option, name -> help text (the styles it applies to in brackets).
RENDER_OPTIONS: dict[str, str] = {
    "style": "diagram style: 'ops' (the operation graph, default) or 'neurons' (the textbook neuron diagram)",
    "rankdir": "direction of the flow: LR (left to right, default), TB, RL or BT [both]",
    "title": "a caption under the diagram [both]",
    "param_counts": "show parameter counts: per parameter, per cluster/layer and in total (default on) [both]",
    "params": "draw parameter nodes; when off their names are listed in the ops using them (default on) [ops]",
    "constants": "draw constant nodes; when off they are listed in the ops using them (default on) [ops]",
    "shapes": "show shape and dtype (f64[?,4]) in nodes and on edges (default on) [ops]",
    "unknown_dim": "how a size known only at run time is written, e.g. N (default ?) [ops]",
    "clusters": "group each tg.nn layer / tg.scope block in a labelled cluster (default on) [ops]",
    "collapse": "draw these clusters as single boxes: comma-separated names, or 'all' [ops]",
    "highlight": "highlight these nodes: comma-separated node names [ops]",
    "values": "values of a run, {node: array} as tg.trace returns; small arrays printed, large summarised [ops]",
    "max_items": "arrays with at most this many elements are printed in full under values (default 12) [ops]",
    "weights": "colour arrows by the weight's sign and set their width by its magnitude (default on) [neurons]",
    "bias": "draw a bias node '1' per layer with an arrow per bias (default off) [neurons]",
    "weight_labels": "write each weight's value on its arrow (default off) [neurons]",
    "max_neurons": "a wider layer shows its first and last few neurons and a '⋮ n more' marker (default 10) [neurons]",
    "dpi": "resolution of PNG/JPEG/GIF output (default 150) [render only]",
}
_BOOL = {"param_counts", "params", "constants", "shapes", "clusters", "weights", "bias", "weight_labels"}
_INT = {"max_items", "max_neurons", "dpi"}
_LIST = {"highlight"}


def parse_option(name: str, text: str) -> Any:
    """Convert a command-line string to the value ``name`` takes (``"off"`` -> False, ``"a,b"`` -> list)."""
    if name not in RENDER_OPTIONS:
        raise ValueError(f"unknown drawing option {name!r}; the options are: {', '.join(RENDER_OPTIONS)}")
    if name == "values":
        raise ValueError("the values option takes arrays from a run (tg.trace), not text")
    if name in _BOOL:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"option {name} takes on/off (or true/false, yes/no, 1/0), got {text!r}")
    if name in _INT:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"option {name} takes an integer, got {text!r}") from None
    if name == "collapse":
        return True if text.strip().lower() == "all" else [s.strip() for s in text.split(",") if s.strip()]
    if name in _LIST:
        return [s.strip() for s in text.split(",") if s.strip()]
    return text


def _builder(style: str) -> Callable[..., graphviz.Digraph]:
    if style == "ops":
        from .opgraph import op_diagram

        return op_diagram
    if style == "neurons":
        from .neurons import neuron_diagram

        return neuron_diagram
    raise ValueError(f"unknown diagram style {style!r}: use one of {', '.join(map(repr, STYLES))}")


def model_graph(model: Layer) -> Graph:
    """A model's graph, built on an input ``x`` as wide as its first ``Affine`` layer takes."""
    from .neurons import layers_of

    first = next((layer for layer in layers_of(model) if isinstance(layer, Affine)), None)
    if first is None:
        raise TypeError(f"cannot tell the input width of {model!r}: it has no Affine layer; build it on a "
                        "tg.input yourself and draw the output node")
    x = _input("x", shape=(None, first.in_features), dtype=first.W.dtype)
    return Graph(model(x))


def as_graph(obj: Any) -> Graph:
    """A ``Graph`` from a graph, an output node, a sequence of output nodes, or a ``tg.nn`` model."""
    if isinstance(obj, Graph):
        return obj
    if isinstance(obj, Layer):
        return model_graph(obj)
    return Graph(obj)


def neuron_model(obj: Any) -> Layer:
    """The ``tg.nn`` model a neuron diagram draws: ``obj`` itself, or the layers a graph is made of."""
    if isinstance(obj, Layer):
        return obj
    model = model_of(as_graph(obj))
    if model is None:
        raise TypeError(
            "style='neurons' draws tg.nn models and graphs made of layers (x @ W + b with parameters W and b, "
            f"and activations such as sigmoid), from one input to one output; this {type(obj).__name__} is not "
            "one: draw it with style='ops'"
        )
    return model


def to_dot(obj: Graph | Node | Sequence[Node] | Layer, style: str = "ops", **options: Any) -> graphviz.Digraph:
    """The diagram of ``obj`` as a ``graphviz.Digraph``; ``style`` is ``"ops"`` or ``"neurons"``."""
    build = _builder(style)
    accepted = [p for p in inspect.signature(build).parameters if p not in ("graph", "model")]
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for style={style!r}; "
            f"it takes: {', '.join(accepted)}"
        )
    if style == "neurons":
        return build(neuron_model(obj), **options)
    return build(as_graph(obj), **options)


def render(obj: Graph | Node | Sequence[Node] | Layer, path: str | os.PathLike[str], style: str = "ops", *,
           dpi: int = 150, **options: Any) -> str | pathlib.Path:
    """Draw ``obj`` into ``path`` (.svg .png .pdf .jpg .gif; .gv/.dot: DOT source only); returns ``path``.

    Raises ``tg.GraphvizNotFoundError`` (a ``RuntimeError``) explaining how to install
    Graphviz when the ``dot`` program is missing; writing DOT source never needs it.
    """
    from . import dot

    return dot.write(to_dot(obj, style, **options), path, dpi=dpi)


# --- notebooks ---------------------------------------------------------------------------------------


#: Graphs larger than this display as text in notebooks: ``dot`` would take minutes to lay them out.
MAX_INLINE_NODES = 2000


def mimebundle(obj: Graph | Node, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """Jupyter's rich display of a graph or node: SVG, or the text listing when Graphviz is missing."""
    import graphviz

    graph = obj if isinstance(obj, Graph) else Graph(obj)
    text = str(graph) if isinstance(obj, Graph) else repr(obj)
    if len(graph) > MAX_INLINE_NODES:
        return {"text/plain": f"{text}\n({len(graph)} nodes: too many to draw inline; use .render('graph.svg'))"}
    try:
        bundle: dict[str, Any] = to_dot(graph)._repr_mimebundle_(include=include, exclude=exclude)
    except graphviz.ExecutableNotFound:
        return {"text/plain": f"{text}\n(install Graphviz to see this as a diagram)"}
    return bundle


def option_defaults(style: str) -> Mapping[str, Any]:
    """The default value of each option ``style`` takes."""
    sig = inspect.signature(_builder(style))
    return {name: p.default for name, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}


def svg(obj: Graph | Node) -> str | None:
    """The SVG of a graph or node, or ``None`` (no SVG to show) when Graphviz is missing."""
    from . import dot

    try:
        return dot.svg(to_dot(obj))
    except GraphvizNotFoundError:
        return None


class _Drawing:
    """What graphs and nodes draw themselves with (registered with the core's hooks)."""

    to_dot = staticmethod(to_dot)
    render = staticmethod(render)
    mimebundle = staticmethod(mimebundle)
    svg = staticmethod(svg)


register_drawing(_Drawing())
