"""Diagrams: the operation graph (``opgraph``) and the textbook neuron diagram (``neurons``).

``export`` is the front (``tg.to_dot``, ``tg.render``); importing this package registers it
with the core, so that ``Graph.render``, ``Graph.to_dot`` and notebook display work.
"""

from .export import RENDER_OPTIONS, render, to_dot

__all__ = ["RENDER_OPTIONS", "render", "to_dot"]
