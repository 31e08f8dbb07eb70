"""Shapes as values: ``shape``, ``size``, ``constant_of_shape`` and ``range``.

``Shape`` and ``Size`` give an array's sizes as an int64 value whose spec knows every static size
(``Spec.value``), so that a shape computed in the graph keeps what is known of it at build time.
``constant_of_shape`` takes such a shape as an operand (a constant, or any 1-D integer node
computed at run time), and ``range``'s length is known when its three operands' values are. A
value that does not fit at run time fails with an ``ExecutionError`` naming the node.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, common_library, promoted
from ..errors import ShapeError
from ..node import Node
from ..op import Op, constant
from ..shapes import MAX_KNOWN_VALUE, Spec, format_spec
from ._operands import _dims_text, as_int_operand, host_ints, known_elements, library_operands, values_spec

__all__ = [
    "Shape", "Size", "ConstantOfShape", "Range",
    "shape", "size", "constant_of_shape", "range",
]

_INT64 = np.dtype(np.int64)
_END = np.iinfo(np.int64).max
_range = builtins.range


class Shape(Op):
    """``np.array(a.shape[start:end])`` as int64; its spec knows every static size."""

    arity = 1
    fresh_output = True
    onnx_type = "Shape"
    onnx_own_result_dtype = True

    def __init__(self, start: int = 0, end: int | None = None) -> None:
        self.start = int(start)
        self.end = None if end is None else int(end)

    arrays = "any"

    def forward(self, a: Any) -> Any:
        """The shape as an int64 array (of ``a``'s library, on its device)."""
        # A numpy first operand means a numpy run (one library per run): no call on the fast path.
        xp = np if type(a) is np.ndarray else array_namespace(a)
        if xp is np:
            return np.array(np.shape(a)[self.start:self.end], dtype=np.int64)
        # Every library keeps sizes on the host: only the small int64 result goes to the device.
        return common_library([a]).asarray(np.array(tuple(a.shape)[self.start:self.end], dtype=np.int64))

    def infer(self, a: Spec) -> Spec:
        """1-D int64 of the sliced rank; the static sizes as its known value."""
        return values_spec(a.shape[self.start:self.end])

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``start``/``end`` when not the whole shape."""
        attrs: dict[str, Any] = {"start": self.start} if self.start else {}
        if self.end is not None:
            attrs["end"] = self.end
        return attrs

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Shape`` (``start``/``end`` since opset 15; a ``Slice`` of the whole shape before)."""
        x = ctx.operand(node.inputs[0])
        attrs = self.onnx_attributes(node)
        if ctx.opset >= 15 or not attrs:
            return str(ctx.emit("Shape", [x], output=ctx.name(node), **attrs))
        whole = ctx.emit("Shape", [x])
        bounds = [ctx.constant(np.array([v], dtype=np.int64), f"{ctx.name(node)}_{w}")
                  for v, w in ((self.start, "start"), (_END if self.end is None else self.end, "end"))]
        return str(ctx.emit("Slice", [whole, *bounds], output=ctx.name(node)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``start`` and ``end``."""
        end = ctx.attr("end", None)
        return {"start": ctx.int_attr("start", 0), "end": None if end is None else int(end)}


class Size(Op):
    """``np.size(a)`` as an int64 scalar."""

    arity = 1
    fresh_output = True
    onnx_type = "Size"
    onnx_own_result_dtype = True

    arrays = "any"

    def forward(self, a: Any) -> Any:
        """The number of elements (an array of ``a``'s library, on its device)."""
        xp = np if type(a) is np.ndarray else array_namespace(a)
        if xp is np:
            return np.array(np.size(a), dtype=np.int64)
        return common_library([a]).asarray(np.array(math.prod(a.shape), dtype=np.int64))

    def infer(self, a: Spec) -> Spec:
        """An int64 scalar, known when every size is."""
        n = None if None in a.shape else math.prod(d for d in a.shape if d is not None)
        return values_spec([n], scalar=True)


class ConstantOfShape(Op):
    """``np.full(shape, value, dtype)`` with the shape an operand (known at build time or not)."""

    kind = "constant_of_shape"
    arity = 1
    fresh_output = True
    onnx_type = "ConstantOfShape"
    onnx_own_result_dtype = True
    torch_ops = ("aten.zeros.default", "aten.ones.default", "aten.full.default", "aten.new_zeros.default",
                 "aten.new_ones.default", "aten.new_full.default")

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``zeros``/``ones``/``full(size, [value])`` and their ``new_`` forms (the dtype: torch's default's).

        Sizes known only at run time need the size list's ``node`` (a 1-D int64 node computing it),
        which ``tg.from_torch`` attaches when they are sizes of tensors (an input's batch size).
        """
        name = target.split(".")[1]
        size = args[1] if name.startswith("new_") else args[0]
        value = {"zeros": 0, "ones": 1}.get(name.removeprefix("new_"))
        if value is None:
            value = args[2] if name.startswith("new_") else args[1]
        dtype = kwargs.get("dtype")
        if dtype is None:
            dtype = args[0].dtype if name.startswith("new_") else np.float32
        if all(p is not None for p in size):
            shape: Any = constant(np.array([int(p) for p in size], dtype=np.int64).reshape(len(size)))
        else:
            shape = getattr(size, "node", None)
            if shape is None:
                raise ValueError(f"{name} of size {list(size)}: tinygraph can't compute the sizes known only at "
                                 "run time")
        return cls(value, dtype)(shape)

    def __init__(self, value: float | int | bool = 0.0, dtype: Any = "float64") -> None:
        self.dtype = np.dtype(dtype).name
        self.value = np.asarray(value, dtype=self.dtype).item()

    arrays = "any"

    def forward(self, shape: Any) -> Any:
        """``full``, on the library and device of the shape operand."""
        xp = np if type(shape) is np.ndarray else array_namespace(shape)
        if xp is np:
            return np.full(tuple(host_ints(shape)), self.value, dtype=self.dtype)
        lib = common_library([shape])
        return xp.full(tuple(host_ints(shape)), self.value, dtype=lib.dtype(np.dtype(self.dtype)), device=lib.device)

    def infer(self, shape: Spec) -> Spec:
        """The shape's known sizes, ``dtype``."""
        dims = known_elements(shape, "shape")
        if any(d is not None and d < 0 for d in dims):
            raise ShapeError(f"negative size in shape {_dims_text(dims)}")
        return Spec(tuple(dims), np.dtype(self.dtype))

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``ConstantOfShape`` with ``value`` a one-element tensor of the dtype."""
        value = np.full((1,), self.value, dtype=self.dtype)
        ctx.elem_type(node.dtype, node)
        return str(ctx.emit("ConstantOfShape", [ctx.operand(node.inputs[0], _INT64)], output=ctx.name(node),
                            value=ctx.onnx.numpy_helper.from_array(value)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``value`` (default float32 0)."""
        value = ctx.attr("value", None)
        if value is None:
            return {"value": 0.0, "dtype": "float32"}
        arr = np.asarray(value)
        if arr.size != 1:
            raise ctx.error(f"value must hold one element, got {arr.size}")
        return {"value": arr.reshape(-1)[0].item(), "dtype": arr.dtype.name}


class Range(Op):
    """``start + delta * arange(n)`` with ``n = max(ceil((limit - start) / delta), 0)``, as ONNX's Range."""

    arity = 3
    fresh_output = True
    onnx_type = "Range"

    arrays = "any"

    def forward(self, start: Any, limit: Any, delta: Any) -> Any:
        """The sequence, in the operands' promoted dtype."""
        xp = np if type(start) is np.ndarray else array_namespace(start, limit, delta)
        if xp is np:
            start, limit, delta = np.asarray(start), np.asarray(limit), np.asarray(delta)
            if delta == 0:
                raise ValueError("range with delta 0")
            n = max(math.ceil((float(limit) - float(start)) / float(delta)), 0)
            dtype = np.result_type(start, limit, delta)
            return (np.arange(n, dtype=dtype) * delta.astype(dtype) + start.astype(dtype)).astype(dtype)
        lib, (start, limit, delta) = library_operands([start, limit, delta])
        # The length is the result's shape, metadata: the three scalars are read on the host for it,
        # and the values are then computed on the device from the operands themselves.
        first, last, step = (float(lib.to_numpy(v).reshape(-1)[0]) for v in (start, limit, delta))
        if step == 0:
            raise ValueError("range with delta 0")
        n = max(math.ceil((last - first) / step), 0)
        start, limit, delta = promoted(xp, start, limit, delta)
        return xp.arange(n, dtype=start.dtype, device=lib.device) * delta + start

    def infer(self, start: Spec, limit: Spec, delta: Spec) -> Spec:
        """1-D of the operands' dtype; its length known when the three integer values are."""
        for s, what in ((start, "start"), (limit, "limit"), (delta, "delta")):
            if s.ndim != 0 and s.shape != (1,):
                raise ShapeError(f"{what} must be a scalar, got {format_spec(s)}")
        dtype = np.result_type(start.dtype, limit.dtype, delta.dtype)
        values = [s.value[0] if s.value is not None else None for s in (start, limit, delta)]
        if None in values or dtype.kind not in "iu":
            return Spec((None,), dtype)
        a, b, d = (int(v) for v in values)  # type: ignore[arg-type]
        if d == 0:
            raise ShapeError("range with delta 0")
        n = max(-((a - b) // d), 0)
        return values_spec([a + i * d for i in _range(n)], dtype) if n <= MAX_KNOWN_VALUE else Spec((n,), dtype)


# --- function forms --------------------------------------------------------------------------------


def shape(a: Any, start: int = 0, end: int | None = None, *, name: str | None = None) -> Node:
    """``np.array(a.shape[start:end])``, int64: a shape to compute with."""
    return Shape(start, end)(a, name=name)


def size(a: Any, *, name: str | None = None) -> Node:
    """``np.size(a)``, an int64 scalar."""
    return Size()(a, name=name)


def constant_of_shape(shape: Any, value: float | int | bool = 0.0, dtype: Any = np.float64, *,
                      name: str | None = None) -> Node:
    """``np.full(shape, value, dtype)``; ``shape`` may be a node computed at run time."""
    return ConstantOfShape(value, dtype)(as_int_operand(shape, "constant_of_shape"), name=name)


def range(start: Any, limit: Any = None, delta: Any = 1, *, name: str | None = None) -> Node:  # noqa: A001
    """``np.arange(start, limit, delta)`` (``range(n)`` counts from 0); operands may be nodes."""
    if limit is None:
        start, limit = 0, start
    return Range()(start, limit, delta, name=name)
