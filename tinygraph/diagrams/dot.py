"""DOT text and Graphviz output shared by both diagram styles.

Names and values are user text, never DOT: every label is an HTML-like label
built here, with the text escaped by ``html_text`` (``& < > "`` as entities,
newlines as ``<BR/>``, other non-printable characters shown as escapes by
``tinygraph.text.printable``: ``\\x1b``, ``\\u202e``, ``\\ufffe``), and every
plain attribute holding user text goes through ``esc_string``. The ``graphviz``
package quotes attribute values itself but only escapes ``"``: backslashes keep
their escString meaning (``\\N``, ``\\l``) and a value shaped like ``<...>`` is
taken as HTML, so neither is safe for raw user text.
"""

from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import graphviz  # type: ignore[import-untyped]
import numpy as np

from ..errors import GraphvizNotFoundError
from ..text import printable

FONT = "Helvetica"
MONO = "Courier"

#: Node styles by kind: one colour family and outline per kind, so kinds differ at a glance
#: (and without colour: inputs are rounded, parameters square, constants dashed, ops rounded and shaded).
KIND_STYLES: dict[str, dict[str, str]] = {
    "input": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#d5e8d4", "color": "#5b8c4a"},
    "parameter": {"shape": "box", "style": "filled", "fillcolor": "#fff2cc", "color": "#b89230"},
    "constant": {"shape": "box", "style": "filled,dashed", "fillcolor": "#f2f2f2", "color": "#888888"},
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#dae8fc", "color": "#6c8ebf"},
    "collapsed": {"shape": "box3d", "style": "filled", "fillcolor": "#e1d5e7", "color": "#9673a6"},
}
HIGHLIGHT = {"fillcolor": "#f8cecc", "color": "#b85450", "penwidth": "2.5"}
SUBTLE = "#555555"

# Backslash too: Graphviz expands escapes such as \N (the node id) and \G even inside HTML-like
# labels, after decoding entities, so a literal backslash must be doubled to survive.
_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\\": "&#92;&#92;"}
_HTML_SPECIAL = re.compile(r'[&<>"\\]')

INSTALL_HELP = (
    "Graphviz's 'dot' program is needed to render diagrams and was not found on PATH.\n"
    "Install Graphviz, then try again:\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  Fedora:         sudo dnf install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install -c conda-forge graphviz\n"
    "  Windows:        winget install graphviz  (or the installer from https://graphviz.org/download/),\n"
    "                  then add its bin folder, e.g. C:\\Program Files\\Graphviz\\bin, to PATH\n"
    "The DOT source needs no Graphviz: use .to_dot().source, or render to a .gv/.dot file."
)


def _html_line(line: str) -> str:
    line = _HTML_SPECIAL.sub(lambda m: _HTML_ESCAPES[m.group()], printable(line))
    # Graphviz 2.43 rejects a label whose text between two tags is exactly "]" or "]]" (a syntax
    # error, whatever the escaping around it); an entity for a leading "]" avoids both.
    return "&#93;" + line[1:] if line.startswith("]") else line


def html_text(text: str) -> str:
    """User text for an HTML-like label: entities for ``& < > "``, ``<BR/>`` for newlines, escapes for the rest."""
    # Non-printable characters become visible escapes: XML, and so Graphviz, refuses U+FFFE, U+FFFF
    # and lone surrogates outright, and bidi overrides would reorder the label's text.
    return "<BR/>".join(_html_line(line) for line in str(text).split("\n"))


def esc_string(text: str) -> str:
    """User text for a plain (escString) attribute such as ``tooltip``: shown verbatim."""
    text = "\n".join(map(printable, str(text).split("\n"))).replace("\\", "\\\\").replace("\n", "\\n")
    # nohtml: a value like "<b>" must stay text; graphviz's quoting then escapes the quotes.
    escaped: str = graphviz.nohtml(text)
    return escaped


def small(text: str) -> str:
    """Already-escaped ``text`` as a label's small grey line."""
    return font(text, size=9, color=SUBTLE)


def font(text: str, size: int | None = None, color: str | None = None, face: str | None = None) -> str:
    """Already-escaped ``text`` wrapped in a ``<FONT>`` tag with the given attributes."""
    attrs = "".join(
        f' {k}="{v}"' for k, v in (("POINT-SIZE", size), ("COLOR", color), ("FACE", face)) if v is not None
    )
    return f"<FONT{attrs}>{text}</FONT>" if attrs else text


def html_label(lines: Iterable[str]) -> str:
    """An HTML-like label from already-escaped, already-formatted lines."""
    return "<" + "<BR/>".join(lines) + ">"


_ATTR_CACHE: dict[tuple[str, str], str] = {}


def _attr(key: str, value: str) -> str:
    if key == "label" and value.startswith("<") and value.endswith(">"):
        return f"label={value}"  # our HTML-like labels, built from escaped text
    if key == "tooltip":
        # esc_string doubled every backslash, so each quote is unescaped: what graphviz's quote() does.
        return 'tooltip="' + value.replace('"', '\\"') + '"'
    # Style attributes repeat on every node: quote each distinct one once.
    text = _ATTR_CACHE.get((key, value))
    if text is None:
        text = _ATTR_CACHE.setdefault((key, value), f"{graphviz.quoting.quote(key)}={graphviz.quoting.quote(value)}")
    return text


def statement(head: str, attrs: Mapping[str, str]) -> str:
    """A body line ``\thead [label=... a=b ...]`` as ``graphviz`` writes it, label first, the rest sorted.

    The same text ``Digraph.node``/``edge`` produce, a few times faster: exports of
    100,000-node graphs spend most of their time here.
    """
    items = sorted(attrs.items(), key=lambda kv: (kv[0] != "label", kv[0]))
    return f"\t{head} [" + " ".join(_attr(k, v) for k, v in items) + "]\n"


def new_digraph(name: str, rankdir: str, **graph_attr: str) -> graphviz.Digraph:
    """An empty digraph with tinygraph's fonts and spacing."""
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be one of LR, RL, TB, BT; got {rankdir!r}")
    return graphviz.Digraph(
        name=name,
        graph_attr={"rankdir": rankdir, "fontname": FONT, "bgcolor": "white", **graph_attr},
        node_attr={"fontname": FONT, "fontsize": "12"},
        edge_attr={"fontname": FONT, "fontsize": "9", "color": "#666666", "arrowsize": "0.7"},
    )


# --- output ----------------------------------------------------------------------------------------

#: File extensions ``render`` understands and the Graphviz format each one asks for.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".jpg": "jpg", ".jpeg": "jpeg", ".gif": "gif",
           ".gv": "dot", ".dot": "dot"}
_RASTER = {"png", "jpg", "jpeg", "gif"}


def pipe(digraph: graphviz.Digraph, format: str) -> bytes:
    """Run ``dot`` on the source; a missing program raises ``GraphvizNotFoundError``."""
    try:
        return bytes(digraph.pipe(format=format))
    except graphviz.ExecutableNotFound:
        pass
    raise GraphvizNotFoundError(INSTALL_HELP)


def write(digraph: graphviz.Digraph, path: str | os.PathLike[str], dpi: int | None = None) -> str | pathlib.Path:
    """Write ``digraph`` in the format ``path``'s extension names; returns ``path`` as given (str or Path)."""
    out = pathlib.Path(path)
    format = FORMATS.get(out.suffix.lower())
    if format is None:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"cannot tell the format from {str(out)!r}: use one of the extensions {known}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "dot":
        out.write_text(digraph.source, encoding="utf-8")
        return path if isinstance(path, str) else out
    if format in _RASTER and dpi is not None:
        # A copy: the caller's digraph must not change, and SVG sizes must not depend on dpi.
        digraph = digraph.copy()
        digraph.attr("graph", dpi=str(int(dpi)))
    out.write_bytes(pipe(digraph, format))
    return path if isinstance(path, str) else out


def svg(digraph: graphviz.Digraph) -> str:
    """The diagram as an SVG string (what notebooks display)."""
    return pipe(digraph, "svg").decode("utf-8")


def count_label(n: int) -> str:
    """``1 param``, ``1,234 params``."""
    return f"{n:,} param" + ("" if n == 1 else "s")


def shape_text(shape: tuple[int | None, ...], unknown_dim: str = "?") -> str:
    """``[?,4]`` with ``unknown_dim`` in place of ``None``."""
    return "[" + ",".join(unknown_dim if d is None else str(d) for d in shape) + "]"


def summarize(value: Any, max_items: int) -> list[str]:
    """A run's value as text lines: a small array printed, a large one as shape and min/max/mean."""
    arr = np.asarray(value)
    if arr.size <= max_items:
        text = np.array2string(arr, precision=3, suppress_small=True, max_line_width=48, separator=" ")
        return text.splitlines()
    head = "×".join(str(d) for d in arr.shape)
    try:
        stats = f"min {_g(arr.min())}  max {_g(arr.max())}  mean {_g(arr.mean())}"
    except (TypeError, ValueError):
        return [f"{head} {arr.dtype}"]
    return [f"{head}: {stats}"]


def _g(x: Any) -> str:
    return f"{x:.3g}" if isinstance(x, (float, np.floating)) else str(x)

