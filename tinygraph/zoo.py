"""Ready-made example networks, by name, for demos, diagrams and the command line."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .nn import Affine, Sequential, Sigmoid
from .node import Node
from .op import input
from .site import Site, here


def textbook_network(seed: int = 0) -> tuple[Sequential, Node, Node]:
    """The textbook's 2-4-3 network: ``(model, x, y)`` with ``y = model(x)``; weights from ``seed``."""
    rng = np.random.default_rng(seed)
    model = Sequential(Affine.init(2, 4, rng=rng), Sigmoid(), Affine.init(4, 3, rng=rng))
    x = _declared_at(input("x", shape=(None, 2)), here())
    y = model(x)
    y.name = "y"  # the zoo's own new node: naming it touches no node of the user's
    return model, x, y


def _declared_at(node: Node, site: Site) -> Node:
    # An example's input is declared here, not in the code that asked for the example: feed
    # errors then point at this line.
    node.site = site
    return node


#: Example networks by name: each returns ``(model, input node, output node)``.
EXAMPLES: dict[str, Callable[[], tuple[Sequential, Node, Node]]] = {"textbook": textbook_network}
