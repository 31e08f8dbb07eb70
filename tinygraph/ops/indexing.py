"""Selecting and joining: ``concat``, ``stack``, ``split``, ``slice``, ``gather``, ``gather_elements``,
``squeeze``, ``unsqueeze``, and ``x[...]`` on nodes (basic slicing, ``None``, ``...``, integer arrays).

Ops that move small integer values (``Gather`` of a shape, ``Concat`` of sizes) carry what is
known of them in their spec (``Spec.value``), so that a shape computed in the graph keeps every
size known at build time.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, promoted
from ..errors import GraphError, ShapeError
from ..node import Node
from ..op import Op, constant
from ..shapes import MAX_KNOWN_VALUE, Dim, Spec, format_spec, normalize_axes, result_dtype
from .layout import int_or_ints
from .shaping import as_int_operand, host_ints, known_elements, library_operands

__all__ = [
    "Concat", "Stack", "Slice", "Gather", "GatherElements", "Squeeze", "Unsqueeze",
    "concat", "concatenate", "stack", "split", "slice", "gather", "gather_elements", "squeeze", "unsqueeze",
]

_INT64 = np.dtype(np.int64)
_slice = builtins.slice
# What ONNX writes for "to the end" (INT64_MAX) and "to before the start" (INT64_MIN).
_END = np.iinfo(np.int64).max
_BEFORE = np.iinfo(np.int64).min


def _axis(axis: int, ndim: int) -> int:
    return normalize_axes(axis, ndim)[0]


def _axes(axes: Sequence[int], ndim: int) -> tuple[int, ...]:
    """``axes`` counted from 0, checked as numpy checks them (in range, no repeats)."""
    try:
        return normalize_axes(axes, ndim)
    except ShapeError as e:  # an error of the values at run time, as numpy's
        raise ValueError(str(e)) from None


def _keep_value(values: Any) -> tuple[Dim, ...] | None:
    """``values`` as a spec's known value, if small enough."""
    values = tuple(values)
    return values if len(values) <= MAX_KNOWN_VALUE else None


class Concat(Op):
    """``np.concatenate(values, axis)``."""

    fresh_output = True
    onnx_type = "Concat"
    torch_ops = ("aten.cat.default",)

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``cat(tensors, dim)``."""
        tensors, dim = args
        return cls(dim)(*tensors)

    arrays = "any"

    def forward(self, *values: Any) -> Any:
        """``np.concatenate``; ``concat`` of the operands promoted as numpy does on other libraries."""
        # A numpy first operand means a numpy run (one library per run): no call on the fast path.
        xp = np if type(values[0]) is np.ndarray else array_namespace(*values)
        if xp is np:
            return np.concatenate(values, axis=self.axis)
        _, arrays = library_operands(values)
        return xp.concat(promoted(xp, *arrays), axis=self.axis)

    def infer(self, *specs: Spec) -> Spec:
        """Same sizes except along ``axis``, where they add up."""
        if not specs:
            raise ShapeError("needs at least one operand")
        ndim = specs[0].ndim
        if ndim == 0 or any(s.ndim != ndim for s in specs):
            raise ShapeError(f"needs operands of one rank (at least 1), got {', '.join(format_spec(s) for s in specs)}")
        axis = _axis(self.axis, ndim)
        dims: list[Dim] = []
        for i in range(ndim):
            sizes = [s.shape[i] for s in specs]
            if i == axis:
                dims.append(None if None in sizes else builtins.sum(d for d in sizes if d is not None))
                continue
            known = {d for d in sizes if d is not None}
            if len(known) > 1:
                raise ShapeError(f"sizes along axis {i} differ: {sorted(known)}")
            dims.append(known.pop() if known else None)
        dtype = result_dtype(*(Spec(s.shape, s.dtype) for s in specs))
        value = None
        if ndim == 1 and dtype.kind in "iu" and dims[0] is not None:
            value = _keep_value([v for s in specs for v in known_elements(s, "operand")])
        return Spec(tuple(dims), dtype, False, value)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``axis`` (opset 1-3 default 1)."""
        return {"axis": ctx.int_attr("axis", 1 if ctx.opset < 4 else 0)}


class Stack(Op):
    """``np.stack(values, axis)``: a new axis."""

    fresh_output = True

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    arrays = "any"

    def forward(self, *values: Any) -> Any:
        """``np.stack``; ``stack`` of the operands promoted as numpy does on other libraries."""
        xp = np if type(values[0]) is np.ndarray else array_namespace(*values)
        if xp is np:
            return np.stack(values, axis=self.axis)
        _, arrays = library_operands(values)
        return xp.stack(promoted(xp, *arrays), axis=self.axis)

    def infer(self, *specs: Spec) -> Spec:
        """The common shape with a new axis of ``len(values)``."""
        if not specs:
            raise ShapeError("needs at least one operand")
        ndim = specs[0].ndim
        if any(s.ndim != ndim for s in specs):
            raise ShapeError(f"needs operands of one shape, got {', '.join(format_spec(s) for s in specs)}")
        dims: list[Dim] = []
        for i in range(ndim):
            known = {s.shape[i] for s in specs} - {None}
            if len(known) > 1:
                raise ShapeError(f"sizes along axis {i} differ: {sorted(known)}")  # type: ignore[type-var]
            dims.append(known.pop() if known else None)
        axis = _axis(self.axis, ndim + 1)
        dims.insert(axis, len(specs))
        dtype = result_dtype(*(Spec(s.shape, s.dtype) for s in specs))
        value = None
        if ndim == 0 and dtype.kind in "iu":
            value = _keep_value([v for s in specs for v in known_elements(s, "operand")])
        return Spec(tuple(dims), dtype, False, value)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Unsqueeze`` each operand, then ``Concat``."""
        axis = _axis(self.axis, node.ndim)
        axes = ctx.constant(np.array([axis], dtype=np.int64), f"{ctx.name(node)}_axis")
        parts = [ctx.emit("Unsqueeze", [ctx.operand(i, node.dtype), axes]) for i in node.inputs]
        return str(ctx.emit("Concat", parts, output=ctx.name(node), axis=axis))


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
    gather: tuple[int, Any] | None = None
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
            if gather is not None:
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
            gather = (axis, idx)
            pos += kdim
        axis += 1
    if gather is not None and squeezed:
        raise IndexError("mixing an integer-array index with integer indices is not supported; "
                         "index with a slice (i:i+1) and squeeze, or use tg.gather")
    y = x
    if axes:
        y = Slice(starts, ends, axes, steps)(y)
    if gather is not None:
        y = Gather(gather[0])(y, gather[1])
    if squeezed:
        y = Squeeze(squeezed)(y)
    if new_axes:
        y = Unsqueeze(new_axes)(y)
    return y


class Gather(Op):
    """``np.take(a, indices, axis)``: negative indices count from the end."""

    arity = 2
    onnx_type = "Gather"
    torch_ops = ("aten.select.int", "aten.index_select.default")

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``select(x, dim, index)`` (a scalar index drops the axis) and ``index_select(x, dim, indices)``."""
        x, dim, index = args
        if not isinstance(index, Node):
            index = constant(np.asarray(index, dtype=np.int64))
        return cls(dim)(x, index)

    arrays = "any"

    def forward(self, a: Any, indices: Any) -> Any:
        """``np.take``; ``take`` of the flattened indices (the standard's are 1-D) on other libraries."""
        xp = np if type(a) is np.ndarray else array_namespace(a, indices)
        if xp is np:
            return np.take(a, indices, axis=self.axis)
        _, (a, indices) = library_operands([a, indices])
        axis = _axis(self.axis, a.ndim)
        flat = _index_array(xp, indices if indices.ndim == 1 else xp.reshape(indices, (-1,)), a.shape[axis])
        y = xp.take(a, flat, axis=axis)
        if indices.ndim == 1:
            return y
        return xp.reshape(y, tuple(a.shape[:axis]) + tuple(indices.shape) + tuple(a.shape[axis + 1:]))

    def infer(self, a: Spec, indices: Spec) -> Spec:
        """``a``'s shape with ``axis`` replaced by the indices' shape."""
        if indices.dtype.kind not in "iu":
            raise ShapeError(f"indices must be integers, got {format_spec(indices)}")
        if a.ndim == 0:
            raise ShapeError("cannot gather from a scalar")
        axis = _axis(self.axis, a.ndim)
        shape = a.shape[:axis] + indices.shape + a.shape[axis + 1:]
        value = None
        d = a.shape[axis]
        if indices.value is not None and d is not None:
            bad = [i for i in indices.value if i is not None and not -d <= i < d]
            if bad:
                raise ShapeError(f"index {bad[0]} is out of bounds for axis {axis} with size {d}")
            if a.value is not None and a.ndim == 1:
                value = tuple(None if i is None else a.value[i] for i in indices.value)
        return Spec(shape, a.dtype, False, value)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Gather``, the indices as int64."""
        x, i = node.inputs
        return str(ctx.emit("Gather", [ctx.operand(x), ctx.operand(i, _INT64)], output=ctx.name(node),
                            axis=self.axis))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``axis``."""
        return {"axis": ctx.int_attr("axis", 0)}


class GatherElements(Op):
    """``np.take_along_axis(a, indices, axis)``."""

    kind = "gather_elements"
    arity = 2
    onnx_type = "GatherElements"

    def __init__(self, axis: int = 0) -> None:
        self.axis = int(axis)

    arrays = "any"

    def forward(self, a: Any, indices: Any) -> Any:
        """``np.take_along_axis``; the standard's ``take_along_axis`` on other libraries."""
        xp = np if type(a) is np.ndarray else array_namespace(a, indices)
        if xp is np:
            return np.take_along_axis(np.asarray(a), np.asarray(indices), axis=self.axis)
        _, (a, indices) = library_operands([a, indices])
        axis = _axis(self.axis, a.ndim)
        return xp.take_along_axis(a, _index_array(xp, indices, a.shape[axis]), axis=axis)

    def infer(self, a: Spec, indices: Spec) -> Spec:
        """The indices' shape, ``a``'s dtype."""
        if indices.dtype.kind not in "iu":
            raise ShapeError(f"indices must be integers, got {format_spec(indices)}")
        if a.ndim != indices.ndim or a.ndim == 0:
            raise ShapeError("data and indices must have one rank (at least 1)")
        _axis(self.axis, a.ndim)
        return Spec(indices.shape, a.dtype)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``GatherElements``, the indices as int64."""
        x, i = node.inputs
        return str(ctx.emit("GatherElements", [ctx.operand(x), ctx.operand(i, _INT64)], output=ctx.name(node),
                            axis=self.axis))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``axis``."""
        return {"axis": ctx.int_attr("axis", 0)}


def _index_array(xp: Any, indices: Any, size: int) -> Any:
    """Integer indices as int64 with the negative ones counted from the end (as numpy takes them).

    The standard leaves negative indices to each library (torch refuses them), and torch takes
    int64 indices only in some functions.
    """
    if indices.dtype != xp.int64:
        indices = xp.astype(indices, xp.int64)
    return xp.where(indices < 0, indices + size, indices)


def _operand_axes(axes: Any) -> tuple[int, ...]:
    return tuple(host_ints(axes))


class Squeeze(Op):
    """``np.squeeze(a, axes)``; ``axes`` may be an operand; none removes every size-1 axis (sizes known)."""

    arity = None
    onnx_type = "Squeeze"
    torch_ops = ("aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default")

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``squeeze(x[, dims])``: torch keeps an axis whose size is not 1, so those must be known."""
        x = args[0]
        dims = list(builtins.range(x.ndim)) if len(args) == 1 else (
            [args[1]] if isinstance(args[1], int) else list(args[1]))
        picked = [d for d in normalize_axes(dims, x.ndim) if x.shape[d] == 1] if x.ndim else []
        if any(x.shape[d] is None for d in normalize_axes(dims, x.ndim)):
            raise ValueError(f"squeezing an axis whose size is known only at run time (shape {x.shape})")
        return cls(picked)(x) if picked else x

    def __init__(self, axes: int | Sequence[int] | None = None) -> None:
        if axes is None:
            self.axes: list[int] | None = None
        else:
            value = int_or_ints(axes, "Squeeze")
            self.axes = [value] if isinstance(value, int) else list(value)

    arrays = "any"

    def forward(self, a: Any, *axes: Any) -> Any:
        """``np.squeeze``; a ``reshape`` dropping those axes on other libraries."""
        picked = _operand_axes(axes[0]) if axes else (None if self.axes is None else tuple(self.axes))
        xp = np if type(a) is np.ndarray else array_namespace(a, *axes)
        if xp is np:
            return np.squeeze(a, axis=picked)
        a = library_operands([a, *axes])[1][0]
        shape = tuple(a.shape)
        dropped = {i for i, d in enumerate(shape) if d == 1} if picked is None else set(_axes(picked, len(shape)))
        if any(shape[i] != 1 for i in dropped):
            raise ValueError(f"cannot squeeze axes {sorted(dropped)} of shape {shape}: not all of size 1")
        return xp.reshape(a, tuple(d for i, d in enumerate(shape) if i not in dropped))

    def infer(self, a: Spec, *axes: Spec) -> Spec:
        """The shape without the squeezed axes (an unknown size there must be 1 at run time)."""
        if len(axes) > 1 or (axes and self.axes is not None):
            raise ShapeError("takes its axes as an attribute or as one operand, not both")
        given: list[Dim] | None = known_elements(axes[0], "axes") if axes else self.axes  # type: ignore[assignment]
        if given is not None and None in given:
            if len(given) > a.ndim:
                raise ShapeError(f"{len(given)} axes for a rank-{a.ndim} input")
            return Spec((None,) * (a.ndim - len(given)), a.dtype)
        if given is None or (axes and not given):
            if None in a.shape:
                raise ShapeError(f"squeezing every size-1 axis of {format_spec(a)} needs its sizes known: give axes")
            picked = tuple(i for i, d in enumerate(a.shape) if d == 1)
        else:
            picked = normalize_axes(given, a.ndim)  # type: ignore[arg-type]
            bad = [i for i in picked if a.shape[i] not in (1, None)]
            if bad:
                raise ShapeError(f"cannot squeeze axis {bad[0]} of size {a.shape[bad[0]]}")
        return Spec(tuple(d for i, d in enumerate(a.shape) if i not in picked), a.dtype, False, a.value)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Squeeze`` with axes as an input."""
        x = node.inputs[0]
        if len(node.inputs) > 1:
            axes = ctx.operand(node.inputs[1], _INT64)
        else:
            picked = list(normalize_axes(self.axes, x.ndim)) if self.axes is not None else \
                [i for i, d in enumerate(x.shape) if d == 1]
            axes = ctx.constant(np.array(picked, dtype=np.int64), f"{ctx.name(node)}_axes")
        return str(ctx.emit("Squeeze", [ctx.operand(x), axes], output=ctx.name(node)))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Axes from the attribute (opset < 13) or the operand."""
        if ctx.opset < 13:
            return [cls(ctx.ints_attr("axes", None))(ctx.input(0), name=ctx.name())]
        if ctx.is_static(1):
            return [cls(_operand_axes(ctx.static(1, "axes")) or None)(ctx.input(0), name=ctx.name())]
        return [cls()(*ctx.operands(), name=ctx.name())]


class Unsqueeze(Op):
    """``np.expand_dims(a, axes)``: size-1 axes at ``axes`` of the result; ``axes`` may be an operand."""

    arity = None
    onnx_type = "Unsqueeze"
    torch_ops = ("aten.unsqueeze.default",)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``unsqueeze(x, dim)``."""
        return cls([args[1]])(args[0])

    def __init__(self, axes: int | Sequence[int] | None = None) -> None:
        if axes is None:
            self.axes: list[int] | None = None
        else:
            value = int_or_ints(axes, "Unsqueeze")
            self.axes = [value] if isinstance(value, int) else list(value)

    arrays = "any"

    def forward(self, a: Any, *axes: Any) -> Any:
        """``np.expand_dims``; a ``reshape`` with those size-1 axes on other libraries."""
        picked = _operand_axes(axes[0]) if axes else tuple(self.axes or ())
        xp = np if type(a) is np.ndarray else array_namespace(a, *axes)
        if xp is np:
            return np.expand_dims(a, picked)
        a = library_operands([a, *axes])[1][0]
        ndim = a.ndim + len(picked)
        new = _axes(picked, ndim)
        rest = iter(a.shape)
        return xp.reshape(a, tuple(1 if i in new else next(rest) for i in builtins.range(ndim)))

    def infer(self, a: Spec, *axes: Spec) -> Spec:
        """One more size-1 axis per entry of ``axes``."""
        if len(axes) != (self.axes is None):
            raise ShapeError("takes its axes as an attribute or as one operand")
        given: list[Dim] = known_elements(axes[0], "axes") if axes else list(self.axes or [])
        ndim = a.ndim + len(given)
        if None in given:
            return Spec((None,) * ndim, a.dtype)
        picked = normalize_axes(given, ndim)  # type: ignore[arg-type]
        rest = iter(a.shape)
        return Spec(tuple(1 if i in picked else next(rest) for i in builtins.range(ndim)), a.dtype, False, a.value)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Unsqueeze`` with axes as an input."""
        if len(node.inputs) > 1:
            axes = ctx.operand(node.inputs[1], _INT64)
        else:
            axes = ctx.constant(np.array(self.axes, dtype=np.int64), f"{ctx.name(node)}_axes")
        return str(ctx.emit("Unsqueeze", [ctx.operand(node.inputs[0]), axes], output=ctx.name(node)))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Axes from the attribute (opset < 13) or the operand."""
        if ctx.opset < 13:
            return [cls(ctx.ints_attr("axes", []))(ctx.input(0), name=ctx.name())]
        if ctx.is_static(1):
            return [cls(_operand_axes(ctx.static(1, "axes")))(ctx.input(0), name=ctx.name())]
        return [cls()(ctx.input(0), ctx.input(1), name=ctx.name())]


# --- function forms -----------------------------------------------------------------------------------


def concat(values: Sequence[Any], axis: int = 0, *, name: str | None = None) -> Node:
    """``np.concatenate(values, axis)``."""
    return Concat(axis)(*values, name=name)


concatenate = concat


def stack(values: Sequence[Any], axis: int = 0, *, name: str | None = None) -> Node:
    """``np.stack(values, axis)``."""
    return Stack(axis)(*values, name=name)


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


def gather(a: Any, indices: Any, axis: int = 0, *, name: str | None = None) -> Node:
    """``np.take(a, indices, axis)``."""
    return Gather(axis)(a, indices, name=name)


def gather_elements(a: Any, indices: Any, axis: int = 0, *, name: str | None = None) -> Node:
    """``np.take_along_axis(a, indices, axis)``."""
    return GatherElements(axis)(a, indices, name=name)


def squeeze(a: Any, axis: int | Sequence[int] | None = None, *, name: str | None = None) -> Node:
    """``np.squeeze(a, axis)``."""
    return Squeeze(axis)(a, name=name)


def unsqueeze(a: Any, axis: int | Sequence[int], *, name: str | None = None) -> Node:
    """``np.expand_dims(a, axis)``."""
    return Unsqueeze(axis)(a, name=name)
