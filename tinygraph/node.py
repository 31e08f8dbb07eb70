"""Nodes: the vertices of a graph, built by ordinary Python expressions.

A ``Node`` is an op applied to input nodes, with the static ``Spec`` (shape and
dtype) of what it will hold. It computes nothing. Nodes are immutable once built
(their inputs never change), compare and hash by identity, and remember the line
of user code that created them, so that errors can point back at it.
"""

from __future__ import annotations

import contextlib
import contextvars
import linecache
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .shapes import Spec, format_spec
from .text import check_name, printable

if TYPE_CHECKING:
    from .op import Op

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_scope: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("tinygraph_scope", default=())
# Bumped whenever a user renames a node, so cached automatic names are recomputed.
_rename_epoch = 0


def rename_epoch() -> int:
    """A counter bumped by every rename: cached automatic names older than it are stale."""
    return _rename_epoch


@dataclass(frozen=True)
class Site:
    """Where a node was created: the first frame outside the tinygraph package."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def source(self) -> str:
        """The line of code itself, stripped, or ``""`` when it can't be read."""
        return linecache.getline(self.file, self.line).strip()

    def describe(self) -> str:
        """``file:line in function: code`` for error messages."""
        code = self.source
        where = f"{self}" + (f" in {self.function}" if self.function != "<module>" else "")
        return f"{where}: {code}" if code else where


_UNKNOWN_SITE = Site("<unknown>", 0, "<module>")


def creation_site() -> Site:
    """The caller's site, skipping frames inside tinygraph (so ``nn`` layers point at user code)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return _UNKNOWN_SITE
    return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """Group the nodes built inside the ``with`` block under ``name`` (diagrams draw a cluster)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"scope name must be a non-empty str, got {name!r}")
    check_name(name, "a scope name")
    token = _scope.set((*_scope.get(), name))
    try:
        yield
    finally:
        _scope.reset(token)


class Node:
    """A vertex of the graph: ``op`` applied to ``inputs``, holding a value of ``spec``."""

    __slots__ = ("op", "inputs", "spec", "site", "scope", "_name", "_auto_name", "_plans", "__weakref__")

    # numpy must hand ``array @ node`` and ``2.0 * node`` to our reflected operators
    # instead of trying to build an object array.
    __array_ufunc__ = None

    op: Op
    inputs: tuple[Node, ...]
    spec: Spec
    site: Site
    scope: tuple[str, ...]

    def __init__(self, op: Op, inputs: tuple[Node, ...], spec: Spec, name: str | None = None,
                 site: Site | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"a node name must be a non-empty str, got {name!r}")
        if name is not None:
            check_name(name)
        self.op = op
        self.inputs = inputs
        self.spec = spec
        self.site = site if site is not None else creation_site()
        self.scope = _scope.get()
        self._name = name
        self._auto_name: tuple[int, str] | None = None
        # Execution plans whose first output is this node, cached by tinygraph.plan. Stored here
        # (not in a global table) so a graph dropped by the user is collected with its plans.
        self._plans: dict[tuple[Node, ...], Any] | None = None

    # --- what it is --------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int | None, ...]:
        """Static shape; ``None`` marks a size known only at run time."""
        return self.spec.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """Static numpy dtype."""
        return self.spec.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.spec.shape)

    @property
    def user_name(self) -> str | None:
        """The name given by the user, or ``None`` when the graph names the node."""
        return self._name

    @property
    def name(self) -> str:
        """The user's name, or else its automatic name (``add_1``) in the newest graph built over it."""
        if self._name is not None:
            return self._name
        cached = self._auto_name
        if cached is None or cached[0] != _rename_epoch:
            # Not Graph(self): naming must work even for nodes no valid graph can hold (two inputs
            # sharing a name), so that repr and error messages never fail.
            from .graph import assign_names, topological_order

            cached = (_rename_epoch, assign_names(topological_order([self]))[0][self])
            self._auto_name = cached
        return cached[1]

    @name.setter
    def name(self, name: str) -> None:
        global _rename_epoch
        if not isinstance(name, str) or not name:
            raise TypeError(f"a node name must be a non-empty str, got {name!r}")
        check_name(name)
        self._name = name
        _rename_epoch += 1

    @property
    def value(self) -> Any:
        """The array held by a parameter or constant node."""
        return self.op.value_of(self)

    @value.setter
    def value(self, new: Any) -> None:
        self.op.set_value(self, new)

    def __repr__(self) -> str:
        from .graph import format_node

        return f"<Node {format_node(self, _name_of)}>"

    # --- building: numpy-like operators ------------------------------------------------------------

    def __matmul__(self, other: Any) -> Node:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Node:
        return ops.matmul(other, self)

    def __add__(self, other: Any) -> Node:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Node:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Node:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Node:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Node:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Node:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Node:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Node:
        return ops.div(other, self)

    def __pow__(self, other: Any) -> Node:
        return ops.pow(self, other)

    def __rpow__(self, other: Any) -> Node:
        return ops.pow(other, self)

    def __neg__(self) -> Node:
        return ops.neg(self)

    def __pos__(self) -> Node:
        return self

    @property
    def T(self) -> Node:
        """Transpose with the axes reversed, like ``ndarray.T``."""
        return ops.transpose(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        from .export import mimebundle

        return mimebundle(self, include, exclude)

    def __bool__(self) -> bool:
        raise TypeError(
            "a tinygraph Node has no truth value: it is a symbolic value, not computed yet "
            "(use tg.evaluate to get an array)"
        )


def _name_of(node: Node) -> str:
    return printable(node.name)


def describe_operands(nodes: tuple[Node, ...]) -> str:
    """``x f64[?,2], W1 f64[3,4]``: operands with their specs, for error messages."""
    return ", ".join(f"{printable(n.name)} {format_spec(n.spec)}" for n in nodes)


from . import ops  # noqa: E402  (ops builds Nodes, so it is imported once Node exists)
