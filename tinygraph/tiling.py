"""Broadcast tiles: a small parameter operand (the ``b`` of ``x @ W + b``) stored at full shape.

For small arrays numpy spends most of an elementwise call setting up broadcasting:
``m + b`` with ``m`` of shape ``(10, 4)`` and ``b`` of shape ``(4,)`` costs about
three times ``m + m``. When one operand of ``add``, ``subtract``, ``multiply`` or
``true_divide`` is a parameter or constant that broadcasts against the other, the
executor keeps a read-only copy of it expanded to the other operand's shape and
reuses it while the parameter's value and that shape stay the same. These four
ufuncs are exactly rounded, so the result is bit-identical to broadcasting. Tiles
are only made up to ``TILE_LIMIT`` elements: beyond that the setup cost is noise
and the memory is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .node import Node
from .op import Constant, Parameter
from .shapes import Spec

__all__ = ["TILE_LIMIT", "TileCache", "tiled_operand"]

TILE_LIMIT = 16384
_TILED_UFUNCS = {np.add, np.subtract, np.multiply, np.true_divide}

Entry = tuple[Any, Any, Any]  # (parameter value, shape, the array to use)


class TileCache:
    """One step's cached tile; the entry tuple is replaced whole, so threads may share it."""

    __slots__ = ("entry",)

    def __init__(self) -> None:
        self.entry: Entry = (None, None, None)

    def retile(self, value: Any, shape: tuple[int, ...]) -> Entry:
        """A new entry for ``value`` broadcast to ``shape`` (``value`` itself if too large)."""
        size = 1
        for d in shape:
            size *= d
        if size > TILE_LIMIT:
            entry: Entry = (value, shape, value)
        else:
            tile = np.array(np.broadcast_to(value, shape))  # C-contiguous copy
            tile.flags.writeable = False
            entry = (value, shape, tile)
        self.entry = entry
        return entry


def _broadcast_keeps(target: Spec, other: Spec) -> bool:
    nd = len(target.shape)
    for axis, dim in enumerate(target.shape):
        k = axis - (nd - len(other.shape))
        if dim is None and k >= 0 and other.shape[k] != 1:
            return False
    return True


def tiled_operand(node: Node) -> int | None:
    """The position of ``node``'s operand worth tiling, or ``None``.

    That operand is a parameter (or an array constant) that broadcasts, and the other operand
    surely has the output's shape at run time, so its shape is the tile's shape.
    """
    from .ops import Elementwise

    op = node.op
    cls = type(op)
    if not (isinstance(op, Elementwise) and cls.forward is Elementwise.forward and len(node.inputs) == 2
            and op.ufunc in _TILED_UFUNCS):
        return None
    for pos in (1, 0):
        leaf, big = node.inputs[pos], node.inputs[1 - pos]
        if type(leaf.op) is Parameter or (type(leaf.op) is Constant and isinstance(leaf.op.value, np.ndarray)):
            if (leaf.spec.shape != node.spec.shape and big.spec.shape == node.spec.shape
                    and _broadcast_keeps(big.spec, leaf.spec)):
                return pos
    return None


def tiled_step(ufunc: Any, pos: int, inplace: bool) -> Callable[..., Any]:
    """The executor's step for a tiled node: ``ufunc`` of the operands (and ``out``), tile cached."""
    cache = TileCache()
    retile = cache.retile

    def big_first_into(big: Any, leaf: Any, out: Any) -> Any:
        e = cache.entry
        if e[0] is not leaf or e[1] != big.shape:
            e = retile(leaf, big.shape)
        return ufunc(big, e[2], out)

    def big_first(big: Any, leaf: Any) -> Any:
        e = cache.entry
        if e[0] is not leaf or e[1] != big.shape:
            e = retile(leaf, big.shape)
        return ufunc(big, e[2])

    def leaf_first_into(leaf: Any, big: Any, out: Any) -> Any:
        e = cache.entry
        if e[0] is not leaf or e[1] != big.shape:
            e = retile(leaf, big.shape)
        return ufunc(e[2], big, out)

    def leaf_first(leaf: Any, big: Any) -> Any:
        e = cache.entry
        if e[0] is not leaf or e[1] != big.shape:
            e = retile(leaf, big.shape)
        return ufunc(e[2], big)

    if pos == 1:
        return big_first_into if inplace else big_first
    return leaf_first_into if inplace else leaf_first
