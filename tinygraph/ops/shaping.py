"""Ops that take sizes as an operand: ``expand`` (a shape), ``tile`` (repeats), ``pad`` (pads), and
``trilu`` (``triu``/``tril``, whose diagonal may be an operand).

A shape-taking op takes the shape (or repeats, pads, axes) as an *operand*: a constant when it is
known (``tg.expand(x, (3, 4))`` wraps the tuple), or any 1-D integer node computed at run time
(``tg.shape(x)`` and arithmetic on it, as PyTorch's exporter writes batch sizes). The operand's
static length gives the output's rank; every element the spec knows (``Spec.value``, carried by
constants, ``Shape``, ``Gather``, ``Concat``...) gives a static size, and the others are ``None``.
A value that does not fit at run time fails with an ``ExecutionError`` naming the node.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, common_library
from ..errors import GraphError, ShapeError
from ..node import Node
from ..op import Op, constant
from ..shapes import Dim, Spec, broadcast_shapes, format_spec
from ._operands import _dims_text, as_int_operand, host_ints, known_elements, library_operands

__all__ = [
    "Expand", "Tile", "Pad", "Trilu",
    "expand", "tile", "pad", "trilu", "tril", "triu",
]

_INT64 = np.dtype(np.int64)
_range = builtins.range
_slice = builtins.slice


def _target_shape(a: Spec, shape: Spec) -> tuple[Dim, ...]:
    dims = known_elements(shape, "shape")
    for d in dims:
        if d is not None and d < 0:
            raise ShapeError(f"negative size in shape {_dims_text(dims)}")
    return broadcast_shapes(a.shape, tuple(dims))


class Expand(Op):
    """``np.broadcast_to(a, broadcast_shapes(a.shape, shape))``: ONNX's two-way broadcast."""

    arity = 2
    onnx_type = "Expand"
    torch_ops = ("aten.expand.default",)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``expand(x, size)``: a ``-1`` keeps the size (as a 1 in ONNX's two-way broadcast)."""
        x, size = args[0], list(args[1])
        if None in size:
            node = getattr(size, "node", None)
            if node is None or -1 in size:
                raise ValueError(f"expand to {size}: sizes known only at run time are not supported here")
            return cls()(x, node)
        return cls()(x, constant(np.array([1 if d == -1 else d for d in size], dtype=np.int64).reshape(len(size))))

    arrays = "any"

    def forward(self, a: Any, shape: Any) -> Any:
        """A broadcast copy (read-only views would be shared with later ops)."""
        xp = np if type(a) is np.ndarray else array_namespace(a, shape)
        if xp is np:
            a = np.asarray(a)
            return np.array(np.broadcast_to(a, np.broadcast_shapes(a.shape, tuple(host_ints(shape)))))
        _, (a, shape) = library_operands([a, shape])
        target = np.broadcast_shapes(tuple(a.shape), tuple(host_ints(shape)))
        # A copy, as numpy's: a broadcast view (torch's expand) cannot be written to by the caller.
        return xp.asarray(xp.broadcast_to(a, target), copy=True)

    def infer(self, a: Spec, shape: Spec) -> Spec:
        """The broadcast shape, ``a``'s dtype."""
        return Spec(_target_shape(a, shape), a.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Expand``."""
        x, s = node.inputs
        return str(ctx.emit("Expand", [ctx.operand(x), ctx.operand(s, _INT64)], output=ctx.name(node)))


class Tile(Op):
    """``np.tile(a, repeats)`` with one repeat per axis."""

    arity = 2
    fresh_output = True
    onnx_type = "Tile"
    arrays = "any"

    def forward(self, a: Any, repeats: Any) -> Any:
        """``tile``, refusing a repeat count per axis that does not match the rank."""
        xp = np if type(a) is np.ndarray else array_namespace(a, repeats)
        if xp is not np:
            _, (a, repeats) = library_operands([a, repeats])
        shape = np.shape(a) if xp is np else tuple(a.shape)
        reps = host_ints(repeats)
        if len(reps) != len(shape) or min(reps, default=0) < 0:
            raise ValueError(f"Tile needs one non-negative repeat per axis of {shape}, got {reps}")
        return np.tile(a, reps) if xp is np else xp.tile(a, tuple(reps))

    def infer(self, a: Spec, repeats: Spec) -> Spec:
        """Each size times its repeat."""
        reps = known_elements(repeats, "repeats")
        if len(reps) != a.ndim:
            raise ShapeError(f"needs one repeat per axis ({a.ndim}), got {len(reps)}")
        return Spec(tuple(None if d is None or r is None else d * r for d, r in zip(a.shape, reps)), a.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Tile``."""
        x, r = node.inputs
        return str(ctx.emit("Tile", [ctx.operand(x), ctx.operand(r, _INT64)], output=ctx.name(node)))


_PAD_MODES = ("constant", "reflect", "edge", "wrap")


class Pad(Op):
    """Padding as ONNX's Pad: operands ``(a, pads[, value[, axes]])``, ``pads`` = all begins then all ends
    (of ``axes``, default every axis); negative pads crop."""

    arity = None
    fresh_output = True
    onnx_type = "Pad"
    arrays = "any"

    def __init__(self, mode: str = "constant") -> None:
        if mode not in _PAD_MODES:
            raise ValueError(f"Pad mode must be one of {_PAD_MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, a: Any, pads: Any, value: Any = None, axes: Any = None) -> Any:
        """``np.pad`` for the growth, slicing for negative pads."""
        xp = np if type(a) is np.ndarray else array_namespace(a, pads, value, axes)
        if xp is not np:
            return self._pad_on(xp, a, pads, value, axes)
        a = np.asarray(a)
        n = a.ndim
        p = _spread(host_ints(pads), None if axes is None else host_ints(axes), n)
        if p is None:
            raise ValueError(f"pads {host_ints(pads)} do not fit a rank-{n} input (axes {axes})")
        crop = tuple(_slice(max(-p[i], 0), a.shape[i] - max(-p[i + n], 0)) for i in _range(n))
        a = a[crop]
        width = [(max(p[i], 0), max(p[i + n], 0)) for i in _range(n)]
        if self.mode == "constant":
            fill = 0 if value is None or np.size(value) == 0 else np.asarray(value).reshape(-1)[0]
            return np.pad(a, width, mode="constant", constant_values=np.asarray(fill).astype(a.dtype))
        return np.pad(a, width, mode=self.mode)  # type: ignore[call-overload]

    def _pad_on(self, xp: Any, a: Any, pads: Any, value: Any, axes: Any) -> Any:
        # The array API has no pad: constant padding joins blocks of the fill value, the other
        # modes take along each axis the indices np.pad gives an arange (sizes only: host work).
        lib, (a, _, fill) = library_operands([a, pads, 0 if value is None else value])
        n = a.ndim
        p = _spread(host_ints(pads), None if axes is None else host_ints(axes), n)
        if p is None:
            raise ValueError(f"pads {host_ints(pads)} do not fit a rank-{n} input (axes {axes})")
        a = a[tuple(_slice(max(-p[i], 0), a.shape[i] - max(-p[i + n], 0)) for i in _range(n))]
        if self.mode != "constant":
            fill = None
        elif math.prod(fill.shape) == 0:
            fill = xp.zeros((), dtype=a.dtype, device=lib.device)
        else:
            fill = xp.astype(xp.reshape(fill, (-1,))[0], a.dtype)
        grown = False
        for i in _range(n):
            before, after = max(p[i], 0), max(p[i + n], 0)
            if not before and not after:
                continue
            grown = True
            if fill is not None:
                blocks = [xp.broadcast_to(fill, tuple(a.shape[:i]) + (w,) + tuple(a.shape[i + 1:]))
                          for w in (before, after)]
                a = xp.concat([blocks[0], a, blocks[1]], axis=i)
            else:
                index = np.pad(np.arange(a.shape[i]), (before, after), mode=self.mode)  # type: ignore[call-overload]
                a = xp.take(a, lib.asarray(index), axis=i)
        # np.pad's result is always a new array; so is this one.
        return a if grown else xp.asarray(a, copy=True)

    def infer(self, a: Spec, pads: Spec, *rest: Spec) -> Spec:
        """Each size plus its two pads."""
        if len(rest) > 2:
            raise ShapeError("Pad takes the input, the pads, a fill value and axes")
        if rest and rest[0].ndim > 1:
            raise ShapeError(f"the fill value must be a scalar, got {format_spec(rest[0])}")
        n = a.ndim
        given = known_elements(pads, "pads")
        axes = known_elements(rest[1], "axes") if len(rest) > 1 else None
        if axes is not None and None in axes:
            if len(given) != 2 * len(axes):
                raise ShapeError(f"{len(given)} pads for {len(axes)} axes")
            return Spec((None,) * n, a.dtype)
        p = _spread(given, axes, n)  # type: ignore[arg-type]
        if p is None:
            raise ShapeError(f"pads {_dims_text(given)} (begins then ends) do not fit a rank-{n} input"
                             + (f" and axes {axes}" if axes is not None else ""))
        dims: list[Dim] = []
        for i, d in enumerate(a.shape):
            b, e = p[i], p[i + n]
            size = None if d is None or b is None or e is None else d + b + e
            if size is not None and size < 0:
                raise ShapeError(f"pads {_dims_text(given)} crop axis {i} (size {d}) below zero")
            dims.append(size)
        return Spec(tuple(dims), a.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Pad`` with pads (the fill value, axes) as inputs."""
        x, p, *rest = node.inputs
        if self.mode == "wrap" and ctx.opset < 19:
            raise GraphError(f"cannot export {ctx.name(node)}: ONNX's Pad has mode 'wrap' from opset 19, "
                             f"not {ctx.opset}")
        if len(rest) > 1 and ctx.opset < 18:
            raise GraphError(f"cannot export {ctx.name(node)}: ONNX's Pad takes axes from opset 18, not {ctx.opset}")
        operands = [ctx.operand(x), ctx.operand(p, _INT64)]
        if rest:
            operands.append(ctx.operand(rest[0], node.dtype))
        if len(rest) > 1:
            operands.append(ctx.operand(rest[1], _INT64))
        return str(ctx.emit("Pad", operands, output=ctx.name(node), mode=self.mode))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Pads from the attribute (opset < 11) or operands (with ``axes`` since opset 18)."""
        x = ctx.input(0)
        mode = ctx.attr("mode", "constant")
        if mode not in _PAD_MODES:
            raise ctx.error(f"mode {mode!r} is not supported ({', '.join(_PAD_MODES)} are)")
        if ctx.opset < 11:
            pads: Any = np.array(ctx.ints_attr("pads", []), dtype=np.int64)
            fill: Any = np.asarray(ctx.float_attr("value", 0.0), dtype=x.dtype)
            return [cls(mode)(x, pads, fill, name=ctx.name())]
        operands: list[Any] = [x, ctx.input(1)]
        if ctx.has_input(2) or ctx.has_input(3):
            operands.append(ctx.input(2) if ctx.has_input(2) else np.zeros((), dtype=x.dtype))
        if ctx.has_input(3):
            operands.append(ctx.input(3))
        return [cls(mode)(*operands, name=ctx.name())]


def _spread(pads: list[Any], axes: list[int] | None, n: int) -> list[Any] | None:
    """Pads for ``axes`` (begins then ends) as pads for all ``n`` axes; ``None`` if they don't fit."""
    if axes is None:
        return pads if len(pads) == 2 * n else None
    if len(pads) != 2 * len(axes) or any(not -n <= ax < n for ax in axes):
        return None
    out: list[Any] = [0] * (2 * n)
    for j, ax in enumerate(axes):
        out[ax % n], out[ax % n + n] = pads[j], pads[j + len(axes)]
    return out


class Trilu(Op):
    """``np.triu(a, k)`` (``upper``) or ``np.tril(a, k)`` over the last two axes; ``k`` may be an operand."""

    arity = None
    fresh_output = True
    onnx_type = "Trilu"

    def __init__(self, upper: bool = True, k: int = 0) -> None:
        self.upper = bool(upper)
        self.k = int(k)

    arrays = "any"

    def forward(self, a: Any, *k: Any) -> Any:
        """``np.triu``/``np.tril``; elsewhere a mask of the kept triangle (the standard has neither)."""
        diagonal = host_ints(k[0])[0] if k else self.k
        xp = np if type(a) is np.ndarray else array_namespace(a)
        if xp is np:
            return np.triu(a, diagonal) if self.upper else np.tril(a, diagonal)
        device = common_library([a]).device
        rows = xp.arange(a.shape[-2], device=device)[:, None]
        cols = xp.arange(a.shape[-1], device=device)[None, :]
        keep = cols - rows >= diagonal if self.upper else cols - rows <= diagonal
        return xp.where(keep, a, xp.zeros_like(a))

    def infer(self, a: Spec, *k: Spec) -> Spec:
        """Same shape and dtype; at least 2-D."""
        if a.ndim < 2:
            raise ShapeError(f"needs at least 2 dimensions, got {format_spec(a)}")
        if len(k) > 1 or (k and (k[0].dtype.kind not in "iu" or k[0].ndim > 1)):
            raise ShapeError("k must be one integer")
        return Spec(a.shape, a.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Trilu`` with ``k`` as an input."""
        x, *k = node.inputs
        kk = ctx.operand(k[0], _INT64) if k else ctx.constant(np.array(self.k, dtype=np.int64), f"{ctx.name(node)}_k")
        return str(ctx.emit("Trilu", [ctx.operand(x), kk], output=ctx.name(node), upper=int(self.upper)))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """``upper``, and ``k`` as an operand."""
        upper = bool(ctx.int_attr("upper", 1))
        operands = [ctx.input(0)] + ([ctx.input(1)] if ctx.has_input(1) else [])
        return [cls(upper)(*operands, name=ctx.name())]


# --- function forms --------------------------------------------------------------------------------


def expand(a: Any, shape: Any, *, name: str | None = None) -> Node:
    """``a`` broadcast with ``shape`` (ONNX's Expand); ``shape`` may be a node."""
    return Expand()(a, as_int_operand(shape, "expand"), name=name)


def tile(a: Any, repeats: Any, *, name: str | None = None) -> Node:
    """``np.tile(a, repeats)`` with one repeat per axis; ``repeats`` may be a node."""
    return Tile()(a, as_int_operand(repeats, "tile"), name=name)


def pad(a: Any, pad_width: Any, mode: str = "constant", constant_value: Any = 0, *, name: str | None = None) -> Node:
    """``np.pad(a, pad_width, mode)`` for ``constant``/``reflect``/``edge``.

    ``pad_width`` is numpy's (an int, one ``(before, after)``, or one per axis), or a node
    holding ONNX's layout (all begins, then all ends).
    """
    if isinstance(pad_width, Node):
        pads: Any = pad_width
    else:
        a_node = a
        ndim = a_node.ndim if isinstance(a_node, Node) else np.ndim(a_node)
        width = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else
                                np.full((1, 2), int(pad_width)), (ndim, 2))
        pads = np.concatenate([width[:, 0], width[:, 1]]).astype(np.int64)
    operands = [a, pads] + ([constant_value] if mode == "constant" else [])
    return Pad(mode)(*operands, name=name)


def trilu(a: Any, upper: bool = True, k: Any = 0, *, name: str | None = None) -> Node:
    """``np.triu(a, k)`` or ``np.tril(a, k)``; ``k`` may be a node."""
    if isinstance(k, Node):
        return Trilu(upper)(a, k, name=name)
    return Trilu(upper, int(k))(a, name=name)


def triu(a: Any, k: Any = 0, *, name: str | None = None) -> Node:
    """``np.triu(a, k)``."""
    return trilu(a, True, k, name=name)


def tril(a: Any, k: Any = 0, *, name: str | None = None) -> Node:
    """``np.tril(a, k)``."""
    return trilu(a, False, k, name=name)
