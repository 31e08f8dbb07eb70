"""Slicing: ``slice``, ``split``, and ``x[...]`` on nodes (basic slicing, ints, ``None``, ``...``, and one
integer array or integer node).

``x[key]`` is a ``Slice`` of the sliced and indexed axes, then a ``gather`` for an integer array,
a ``squeeze`` of the axes an int picks and an ``unsqueeze`` for each ``None``. A slice of a small
integer value (a shape) carries what is known of it in its spec (``Spec.value``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace
from ..errors import GraphError, ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Dim, Spec, format_spec, normalize_axes
from ._operands import _axis, as_int_operand, host_ints, known_elements, library_operands
from .gathering import gather
from .squeezing import squeeze, unsqueeze

__all__ = ["Slice", "slice", "split"]

_INT64 = np.dtype(np.int64)
_slice = builtins.slice
# What ONNX writes for "to the end" (INT64_MAX) and "to before the start" (INT64_MIN).
_END = np.iinfo(np.int64).max
_BEFORE = np.iinfo(np.int64).min


def _onnx_slice(start: int, end: int, step: int, dim: int) -> _slice:
    """ONNX Slice's clamping (which differs from Python's for negative steps) as a Python slice."""
    if step == 0:
        raise ValueError("slice step cannot be zero")
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        return _slice(start, end, step)
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return _slice(start, None if end < 0 else end, step)


def _slice_len(s: _slice, dim: int) -> int:
    return len(builtins.range(*s.indices(dim)))


class Slice(Op):
    """``a[start:end:step, ...]`` along ``axes``.

    Two forms: static (``starts``/``ends`` attributes, Python's slicing rules, ``None`` for an
    open end), or ONNX's: operands ``(a, starts, ends[, axes[, steps]])`` with ONNX's clamping,
    their values known at build time or not (``axes``/``steps`` attributes when not operands).
    """

    arity = None
    python_operator = "getitem"
    onnx_type = "Slice"
    torch_ops = ("aten.slice.Tensor", "aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default")

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """``slice(x, dim, start, end, step)`` (Python's rules); ``split``/``chunk`` as one slice per part."""
        x = args[0]
        if target == "aten.slice.Tensor":
            dim, start, end, step = args[1:5]
            return cls([start], [end], [dim], [step])(x)
        dim = normalize_axes(args[2], x.ndim)[0]
        d = x.shape[dim]
        if target == "aten.split_with_sizes.default":
            sizes = [int(v) for v in args[1]]
        else:
            if d is None:
                raise ValueError(f"splitting axis {dim} of size known only at run time")
            step = int(args[1]) if target == "aten.split.Tensor" else -(-d // int(args[1]))
            sizes = [min(step, d - i) for i in builtins.range(0, d, step)] if step else []
        if d is not None and sum(sizes) != d:
            raise ValueError(f"sizes {sizes} don't add up to axis {dim}'s size {d}")
        bounds = np.cumsum([0, *sizes]).tolist()
        return [cls([b], [e], [dim])(x) for b, e in zip(bounds, bounds[1:])]

    def __init__(self, starts: Sequence[int | None] | None = None, ends: Sequence[int | None] | None = None,
                 axes: Sequence[int] | None = None, steps: Sequence[int] | None = None) -> None:
        self.starts = None if starts is None else [None if s is None else int(s) for s in starts]
        self.ends = None if ends is None else [None if e is None else int(e) for e in ends]
        if (self.starts is None) != (self.ends is None) or (self.starts is not None and self.ends is not None
                                                             and len(self.starts) != len(self.ends)):
            raise ValueError("Slice needs starts and ends of one length (or neither, for operands)")
        self.axes = None if axes is None else [int(a) for a in axes]
        self.steps = None if steps is None else [int(s) for s in steps]
        if self.steps is not None and 0 in self.steps:
            raise ValueError("Slice steps cannot be zero")

    def _bounds(self, operands: Sequence[Sequence[Dim]]) -> tuple[list[Any], list[Any], list[Any] | None,
                                                                   list[Any], bool]:
        """starts, ends, axes (None: unknown), steps and whether ONNX's clamping applies."""
        if self.starts is not None:
            if operands:
                raise ShapeError("a Slice with static starts and ends takes one operand")
            starts: list[Any] = list(self.starts)
            ends: list[Any] = list(self.ends or [])
            onnx = False
        else:
            if not 2 <= len(operands) <= 4:
                raise ShapeError("a Slice without static starts and ends takes (x, starts, ends[, axes[, steps]])")
            starts, ends, onnx = list(operands[0]), list(operands[1]), True
        n = len(starts)
        if len(ends) != n:
            raise ShapeError(f"{n} starts but {len(ends)} ends")
        axes: list[Any] | None = list(operands[2]) if len(operands) > 2 else (
            list(builtins.range(n)) if self.axes is None else list(self.axes))
        if axes is not None and None in axes:
            axes = None
        steps = list(operands[3]) if len(operands) > 3 else ([1] * n if self.steps is None else list(self.steps))
        if (axes is not None and len(axes) != n) or len(steps) != n:
            raise ShapeError(f"{n} starts and ends for {len(axes or [])} axes and {len(steps)} steps")
        return starts, ends, axes, steps, onnx

    arrays = "any"

    def forward(self, a: Any, *operands: Any) -> Any:
        """Basic slicing: a view of ``a`` (on other libraries, a copy along axes with a negative step)."""
        xp = np if type(a) is np.ndarray else array_namespace(a, *operands)
        if xp is np:
            a = np.asarray(a)
        else:
            a = library_operands([a, *operands])[1][0]  # the bounds are read on the host
        starts, ends, axes, steps, onnx = self._bounds([host_ints(o) for o in operands])
        key = [_slice(None)] * a.ndim
        seen = set()
        for ax, s, e, st in zip(axes or [], starts, ends, steps):
            ax = _axis(ax, a.ndim)
            if ax in seen:
                raise ValueError(f"repeated axis {ax}")
            seen.add(ax)
            if st == 0:
                raise ValueError("slice step cannot be zero")
            key[ax] = _onnx_slice(s, e, st, a.shape[ax]) if onnx else _slice(s, e, st)
        if xp is np:
            return a[tuple(key)]
        # torch refuses negative steps: those axes take the same elements by a positive step, then flip.
        flips = []
        for ax, k in enumerate(key):
            if k.step is not None and k.step < 0:
                picked = builtins.range(*k.indices(a.shape[ax]))
                key[ax] = _slice(picked[-1], picked[0] + 1, -k.step) if picked else _slice(0, 0)
                flips.append(ax)
        y = a[tuple(key)]
        return xp.flip(y, axis=tuple(flips)) if flips else y

    def infer(self, a: Spec, *operands: Spec) -> Spec:
        """Sliced sizes where the size and the bounds are known."""
        names = ("starts", "ends", "axes", "steps")
        starts, ends, axes, steps, onnx = self._bounds([known_elements(s, w) for s, w in zip(operands, names)])
        if axes is None:
            return Spec((None,) * a.ndim, a.dtype)
        dims = list(a.shape)
        picked = [_axis(ax, a.ndim) for ax in axes]
        if len(set(picked)) != len(picked):
            raise ShapeError(f"repeated axis in {axes}")
        if 0 in steps:
            raise ShapeError("slice step cannot be zero")
        value = None
        for ax, s, e, st in zip(picked, starts, ends, steps):
            d = a.shape[ax]
            if d is None or st is None or (onnx and (s is None or e is None)):
                dims[ax] = None
                continue
            key = _onnx_slice(s, e, st, d) if onnx else _slice(s, e, st)
            dims[ax] = _slice_len(key, d)
            if a.value is not None and a.ndim == 1:
                value = tuple(a.value[key])
        if a.value is not None and a.ndim == 1 and not picked:
            value = a.value
        return Spec(tuple(dims), a.dtype, False, value)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Slice`` with starts, ends, axes and steps as inputs."""
        x = node.inputs[0]
        name = ctx.name(node)
        if self.starts is None:
            inputs = [ctx.operand(x)] + [ctx.operand(o, _INT64) for o in node.inputs[1:]]
            n = len(known_elements(node.inputs[1].spec, "starts"))
            if len(node.inputs) < 4:
                all_axes = list(builtins.range(n)) if self.axes is None else self.axes
                inputs.append(ctx.constant(np.array(all_axes, dtype=np.int64), f"{name}_axes"))
            if len(node.inputs) < 5:
                inputs.append(ctx.constant(np.array([1] * n if self.steps is None else self.steps, dtype=np.int64),
                                           f"{name}_steps"))
            return str(ctx.emit("Slice", inputs, output=name))
        starts, ends, axes, steps, _ = self._bounds([])
        s_list, e_list = [], []
        for ax, s, e, st in zip(axes or [], starts, ends, steps):
            d = x.shape[_axis(ax, x.ndim)]
            if st < 0 and s is not None and s < 0:
                if d is None:
                    # Python's x[-k::-1] is empty when k > size, ONNX's is not: the size decides.
                    raise GraphError(f"cannot export {name}: a negative start with a negative step needs "
                                     f"axis {ax}'s size known")
                if s < -d:
                    s, e = 0, 0  # empty either way
            s_list.append((0 if st > 0 else _END) if s is None else s)
            e_list.append((_END if st > 0 else _BEFORE) if e is None else e)
        inputs = [ctx.operand(x), ctx.constant(np.array(s_list, dtype=np.int64), f"{name}_starts"),
                  ctx.constant(np.array(e_list, dtype=np.int64), f"{name}_ends"),
                  ctx.constant(np.array(axes, dtype=np.int64), f"{name}_axes"),
                  ctx.constant(np.array(steps, dtype=np.int64), f"{name}_steps")]
        return str(ctx.emit("Slice", inputs, output=name))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Attributes before opset 10, then operands (known at load time or not), with ONNX's clamping."""
        x = ctx.input(0)
        if ctx.opset < 10:
            starts, ends = ctx.ints_attr("starts", []), ctx.ints_attr("ends", [])
            axes = ctx.ints_attr("axes", None)
            return [cls(axes=axes)(x, np.array(starts, np.int64), np.array(ends, np.int64), name=ctx.name())]
        operands = [ctx.input(i) for i in builtins.range(1, 5) if ctx.has_input(i)]
        if ctx.has_input(4) and not ctx.has_input(3):
            rank = len(known_elements(ctx.input(1).spec, "starts"))
            operands.insert(2, np.arange(rank, dtype=np.int64))
        return [cls()(x, *operands, name=ctx.name())]

    @classmethod
    def node_method(cls, node: Node, key: Any) -> Node:
        """``node[key]``: slices, ints, ``None``, ``...`` and one integer array (a gather)."""
        return _getitem(node, key)


def _is_int(k: Any) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _getitem(x: Node, key: Any) -> Node:
    items = list(key) if isinstance(key, tuple) else [key]
    ellipses = [i for i, k in enumerate(items) if k is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = builtins.sum(1 for k in items if k is not None and k is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for {format_spec(x.spec)}: {consumed} given")
    if ellipses:
        e = ellipses[0]
        items[e:e + 1] = [_slice(None)] * (x.ndim - consumed)
    items += [_slice(None)] * (x.ndim - consumed)
    starts: list[int | None] = []
    ends: list[int | None] = []
    steps: list[int] = []
    axes: list[int] = []
    squeezed: list[int] = []
    new_axes: list[int] = []
    taken: tuple[int, Any] | None = None
    axis = pos = 0
    for k in items:
        if k is None:
            new_axes.append(pos)
            pos += 1
            continue
        if isinstance(k, _slice):
            if not (k.start is None or _is_int(k.start)) or not (k.stop is None or _is_int(k.stop)) \
                    or not (k.step is None or _is_int(k.step)):
                raise TypeError(f"slice bounds must be ints or None, got {k!r}")
            if k.step == 0:
                raise ValueError("slice step cannot be zero")
            if k != _slice(None) and k != _slice(None, None, 1):
                axes.append(axis)
                starts.append(None if k.start is None else int(k.start))
                ends.append(None if k.stop is None else int(k.stop))
                steps.append(1 if k.step is None else int(k.step))
            pos += 1
        elif _is_int(k):
            d = x.shape[axis]
            i = int(k)
            if d is not None and not -d <= i < d:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {d}")
            axes.append(axis)
            starts.append(i)
            ends.append(None if i == -1 else i + 1)
            steps.append(1)
            squeezed.append(axis)
        else:
            if taken is not None:
                raise IndexError("only one integer-array index is supported (use tg.gather for more)")
            if isinstance(k, Node):
                idx: Any = k
                kdim = k.ndim
                bad = k.dtype.kind not in "iu"
            else:
                idx = np.asarray(k)
                kdim = idx.ndim
                bad = idx.dtype.kind not in "iu" or idx.dtype == object
            if bad:
                raise IndexError(f"only integers, slices, None, ... and integer arrays are valid indices, got {k!r}")
            taken = (axis, idx)
            pos += kdim
        axis += 1
    if taken is not None and squeezed:
        raise IndexError("mixing an integer-array index with integer indices is not supported; "
                         "index with a slice (i:i+1) and squeeze, or use tg.gather")
    y = x
    if axes:
        y = Slice(starts, ends, axes, steps)(y)
    if taken is not None:
        y = gather(y, taken[1], taken[0])
    if squeezed:
        y = squeeze(y, squeezed)
    if new_axes:
        y = unsqueeze(y, new_axes)
    return y


# --- function forms --------------------------------------------------------------------------------


def slice(a: Any, starts: Any, ends: Any, axes: Sequence[int] | None = None,  # noqa: A001
          steps: Sequence[int] | None = None, *, name: str | None = None) -> Node:
    """``a[starts:ends:steps]`` along ``axes`` (Python's rules); nodes as bounds take ONNX's."""
    if isinstance(starts, Node) or isinstance(ends, Node):
        return Slice(axes=axes, steps=steps)(a, as_int_operand(starts, "slice"), as_int_operand(ends, "slice"),
                                             name=name)
    return Slice(list(starts), list(ends), axes, steps)(a, name=name)


def split(a: Node, indices_or_sections: int | Sequence[int], axis: int = 0, *,
          name: str | None = None) -> list[Node]:
    """``np.split(a, indices_or_sections, axis)``: one slice node per part (named ``{name}_{k}``)."""
    ax = normalize_axes(axis, a.ndim)[0]
    d = a.shape[ax]
    if _is_int(indices_or_sections):
        n = int(indices_or_sections)  # type: ignore[arg-type]
        if n <= 0:
            raise ValueError("split needs a positive number of sections")
        if d is None:
            raise ShapeError(f"splitting axis {ax} of {format_spec(a.spec)} into {n} needs its size known")
        if d % n:
            raise ShapeError(f"axis {ax} of size {d} does not split into {n} equal parts")
        bounds: list[int | None] = [k * (d // n) for k in builtins.range(n)] + [None]
    else:
        bounds = [0, *(int(i) for i in indices_or_sections), None]  # type: ignore[union-attr]
    return [Slice([s], [e], [ax])(a, name=None if name is None else f"{name}_{k}")
            for k, (s, e) in enumerate(zip(bounds, bounds[1:]))]
