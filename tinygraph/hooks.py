"""What the core offers but leaves to a layer above it: drawing graphs and nodes.

The core never imports the diagram layer (not even lazily); ``tinygraph.diagrams``
registers itself here when it is imported, which ``import tinygraph`` does.
"""

from __future__ import annotations

from typing import Any, Protocol


class Drawing(Protocol):
    """What the diagram layer provides to ``Graph.render``, ``Graph.to_dot`` and notebook display."""

    def to_dot(self, obj: Any, **options: Any) -> Any:
        """The diagram of ``obj`` as a ``graphviz.Digraph``."""

    def render(self, obj: Any, path: Any, **options: Any) -> Any:
        """Draw ``obj`` into ``path``; returns ``path`` as given."""

    def mimebundle(self, obj: Any, include: Any = None, exclude: Any = None) -> Any:
        """Jupyter's rich display of ``obj``."""

    def svg(self, obj: Any) -> Any:
        """The SVG text of ``obj``'s diagram, or ``None`` when Graphviz is missing."""


_DRAWING: list[Drawing] = []


def register_drawing(drawing: Drawing) -> None:
    """Make ``drawing`` the one graphs and nodes use (called by ``tinygraph.diagrams``)."""
    _DRAWING[:] = [drawing]


def drawing() -> Drawing:
    """The registered diagram layer."""
    if not _DRAWING:
        raise RuntimeError("tinygraph's diagram layer is not loaded: import tinygraph.diagrams")
    return _DRAWING[0]
