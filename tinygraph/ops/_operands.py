"""Small integer operands and attributes that several op families read: shapes, axes, pads, counts.

A shape-taking op takes the shape (or repeats, pads, axes) as an *operand*: a constant when it is
known (``tg.expand(x, (3, 4))`` wraps the tuple), or any 1-D integer node computed at run time
(``tg.shape(x)`` and arithmetic on it, as PyTorch's exporter writes batch sizes). The operand's
static length gives the output's rank; every element the spec knows (``Spec.value``, carried by
constants, ``Shape``, ``Gather``, ``Concat``...) gives a static size, and the others are ``None``.
These helpers read what such an operand tells at build time, and the few ints it holds at run
time whatever its array library; ``_axis`` counts an axis attribute from 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arrays import NUMPY, ArrayLibrary, array_namespace, common_library, library_of
from ..errors import ShapeError
from ..node import Node
from ..shapes import MAX_KNOWN_VALUE, Dim, Spec, format_spec, normalize_axes

__all__ = [
    "known_elements", "values_spec", "as_int_operand", "host_ints", "library_operands", "_dims_text", "_axis",
    "_one_int", "_ints", "_operand_or_attribute",
]

_INT64 = np.dtype(np.int64)


# --- what shape operands tell at build time --------------------------------------------------------


def known_elements(spec: Spec, what: str) -> list[Dim]:
    """A 1-D integer operand's elements as far as known at build time (``None``: run time only)."""
    if spec.dtype.kind not in "iu":
        raise ShapeError(f"the {what} must be integers, got {format_spec(spec)}")
    if spec.ndim > 1:
        raise ShapeError(f"the {what} must be 1-D, got {format_spec(spec)}")
    n = 1 if spec.ndim == 0 else spec.shape[0]
    if n is None:
        raise ShapeError(f"the {what} ({format_spec(spec)}) must have a length known at build time: it sets a rank")
    if spec.value is not None:
        return list(spec.value)
    return [None] * n


def values_spec(values: Sequence[Dim], dtype: Any = _INT64, scalar: bool = False) -> Spec:
    """The spec of a small integer value whose elements are (partly) known."""
    dims: tuple[Dim, ...] = () if scalar else (len(values),)
    known = tuple(values) if len(values) <= MAX_KNOWN_VALUE else None
    return Spec(dims, np.dtype(dtype), False, known)


def as_int_operand(value: Any, what: str) -> Any:
    """``value`` as an operand: a node as it is; ints and sequences of ints as an int64 array."""
    if isinstance(value, Node):
        return value
    arr = np.asarray(value)
    if arr.dtype == object or (arr.size and arr.dtype.kind not in "iu"):
        raise TypeError(f"{what}: expected ints or an integer node, got {value!r}")
    return arr.astype(np.int64)


def _operand_or_attribute(attribute: int | None, operand: Sequence[Spec], what: str) -> int | None:
    """The value an attribute or, when it is ``None``, the one operand gives at build time (``None``: unknown)."""
    if len(operand) != (1 if attribute is None else 0):
        raise ShapeError(f"the {what} is an attribute or, when that is None, the second operand")
    if attribute is not None:
        return attribute
    elements = known_elements(operand[0], what)
    if len(elements) != 1:
        raise ShapeError(f"the {what} must be one integer, got {len(elements)}")
    return None if elements[0] is None else int(elements[0])


# --- what they hold at run time --------------------------------------------------------------------


def host_ints(value: Any) -> list[int]:
    """A small integer operand (a shape, repeats, pads, axes) as Python ints, whatever its array library."""
    # Sizes are metadata, not data: a shape vector arriving as a torch or CuPy array (perhaps on a
    # GPU) is copied to the host to read its few ints, as every library keeps its arrays' sizes there.
    if type(value) is not np.ndarray:
        lib = library_of(value)
        if lib is not None and lib is not NUMPY:
            value = lib.to_numpy(value)
    return [int(v) for v in np.asarray(value).reshape(-1)]


def library_operands(values: Sequence[Any]) -> tuple[ArrayLibrary, list[Any]]:
    """The one library of ``values`` and the values as its arrays (Python and numpy scalars converted).

    A constant holding a Python scalar reaches ``forward`` as that scalar on every library; it
    becomes a 0-d array of the dtype its spec has (numpy's ``asarray``'s), on the operands' device.
    """
    lib = common_library(values)
    return lib, [lib.asarray(np.asarray(v)) if isinstance(v, (int, float, complex, bool, np.generic)) else v
                 for v in values]


def _one_int(value: Any, what: str) -> int:
    """A run-time operand holding one integer (0-D or of one element), as an int."""
    values = _ints(value)
    if len(values) != 1:
        raise ValueError(f"the {what} must be one integer, got {len(values)} values")
    return values[0]


def _ints(value: Any) -> list[int]:
    """A run-time operand's integers (axes, counts), in order, as Python ints."""
    xp = array_namespace(value)
    if xp is np:
        return [int(v) for v in np.asarray(value).reshape(-1)]
    # They decide shapes, so they are read on the host, one by one (the standard has no tolist).
    flat = xp.reshape(value, (-1,))
    return [int(flat[i]) for i in range(flat.shape[0])]


# --- axes and messages -----------------------------------------------------------------------------


def _axis(axis: int, ndim: int) -> int:
    return normalize_axes(axis, ndim)[0]


def _dims_text(dims: Sequence[Dim]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"
