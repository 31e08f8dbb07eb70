"""The leaves of every graph: ``Input`` (fed at run time), ``Parameter`` and ``Constant``.

``Op`` itself lives with ``Node`` in ``tinygraph.node`` (each refers to the other) and is
re-exported here: subclass ``tg.Op`` to add an operation. A new op needs one method,
``forward(self, *values)`` (arrays in, array out); calling an op instance on nodes,
``MyOp()(a, b)``, checks the operands with ``infer`` and returns a new ``Node``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import GraphError, ShapeError
from .node import Constant, Node, Op, as_node, constant_node, format_attribute, frozen_copy
from .shapes import Dim, Spec, format_spec, make_spec
from .site import creation_site
from .text import printable

__all__ = ["Op", "Input", "Parameter", "Constant", "ParameterValue", "input", "parameter", "constant", "as_node",
           "format_attribute"]


class Input(Op):
    """A value fed at run time; ``None`` dims in its shape take any size."""

    kind = "input"
    arity = 0
    arrays = "any"

    def __init__(self, shape: Sequence[Dim], dtype: Any = np.float64) -> None:
        spec = make_spec(shape, dtype)
        self.shape = spec.shape
        self.dtype = spec.dtype

    def listing(self, node: Node, operands: list[str]) -> str:
        """``input()``: graph listings show inputs in the signature instead."""
        return "input()"

    def forward(self, fed: Any) -> Any:
        """The fed value: an executor's ``step`` receives it as the input node's only input value."""
        return fed


class ParameterValue(np.ndarray):
    """A parameter's value as ``node.value`` returns it: read-only, and ``p.value -= step`` works.

    The textbook updates weights in place (``W -= lr * dW``). A parameter's array is shared with
    every run, so it is never written; instead an augmented assignment computes a new array,
    which ``node.value = ...`` then stores (with the usual shape and dtype checks).
    """

    # Only the read-only value itself computes anew; a copy (writeable) behaves as an ndarray.
    def __iadd__(self, other: Any) -> Any:  # type: ignore[misc]
        return super().__iadd__(other) if self.flags.writeable else np.add(self.view(np.ndarray), other)

    def __isub__(self, other: Any) -> Any:  # type: ignore[misc]
        return super().__isub__(other) if self.flags.writeable else np.subtract(self.view(np.ndarray), other)

    def __imul__(self, other: Any) -> Any:  # type: ignore[misc]
        return super().__imul__(other) if self.flags.writeable else np.multiply(self.view(np.ndarray), other)

    def __itruediv__(self, other: Any) -> Any:  # type: ignore[misc]
        return super().__itruediv__(other) if self.flags.writeable else np.true_divide(self.view(np.ndarray), other)

    def __setitem__(self, key: Any, value: Any) -> None:
        if not self.flags.writeable:
            raise ValueError(
                "a parameter's value is read-only (every run shares it): assign a whole new array instead, "
                "e.g. v = p.value.copy(); v[...] = ...; p.value = v"
            )
        super().__setitem__(key, value)

    def copy(self, order: Any = "C") -> Any:
        """A writeable plain ndarray copy."""
        return self.view(np.ndarray).copy(order)

    def __array_wrap__(self, array: Any, context: Any = None, return_scalar: bool = False) -> Any:
        # Results computed from a parameter's value are plain arrays, not ParameterValues.
        if isinstance(array, np.ndarray):
            array = array.view(np.ndarray)
            if return_scalar and array.ndim == 0:
                return array[()]
        return array


class Parameter(Op):
    """A leaf holding an array (a weight); its value may be replaced but keeps its shape and dtype."""

    kind = "parameter"
    arity = 0

    def __init__(self, value: Any, dtype: Any = None) -> None:
        self.value = frozen_copy(value, dtype)

    def attributes(self) -> dict[str, Any]:
        """Parameters have no configuration: the value is data, not an attribute."""
        return {}

    def forward(self) -> Any:
        """The current value."""
        return self.value

    def value_of(self, node: Node) -> Any:
        """The current value, read-only (``p.value -= step`` assigns a new array)."""
        return self.value.view(ParameterValue)

    def set_value(self, node: Node, value: Any) -> None:
        """Replace the value with a copy of ``value``, which must keep the shape and dtype kind."""
        arr = np.asarray(value)
        old = self.value
        if arr.shape != old.shape or arr.dtype.kind != old.dtype.kind:
            raise ShapeError(
                f"parameter {printable(node.name)} holds {format_spec(node.spec)}; the new value is "
                f"{arr.dtype} of shape {arr.shape}: a parameter's shape and dtype kind are fixed "
                f"when the graph is built (created at {node.site.describe()})"
            )
        self.value = frozen_copy(arr, old.dtype)


def input(name: str, shape: Sequence[Dim], dtype: Any = np.float64) -> Node:  # noqa: A001
    """A graph input named ``name``: fed at run time, e.g. ``tg.input("x", shape=(None, 2))``."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"an input needs a non-empty str name, got {name!r}")
    op = Input(shape, dtype)
    return Node(op, (), Spec(op.shape, op.dtype), name, creation_site())


def parameter(value: Any, name: str | None = None, dtype: Any = None) -> Node:
    """A parameter node holding a private copy of ``value`` in ``.value``."""
    site = creation_site()
    try:
        op = Parameter(value, dtype)
    except (TypeError, ValueError) as e:
        raise GraphError(f"cannot make a parameter from {type(value).__name__}: {e}") from None
    if op.value.dtype.kind not in "biufc":
        raise GraphError(
            f"cannot make a parameter from {type(value).__name__} (dtype {op.value.dtype}): tinygraph holds "
            f"numeric arrays; at {site.describe()}"
        )
    return Node(op, (), Spec(op.value.shape, op.value.dtype), name, site)


def constant(value: Any, name: str | None = None) -> Node:
    """A constant node; Python scalars in expressions are wrapped by this automatically."""
    return constant_node(value, name, creation_site())


