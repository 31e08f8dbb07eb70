"""Ops that rearrange or reinterpret values: ``transpose``, ``reshape``, ``cast``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..node import Node
from ..op import Op
from ..shapes import Spec, reshape_shape, transpose_shape

__all__ = ["Transpose", "Reshape", "Cast", "transpose", "reshape", "cast"]


def int_or_ints(value: Any, op: str) -> int | tuple[int, ...]:
    """``value`` as an int or a tuple of ints, as numpy takes axes (np.int64 yes; bool, float no)."""
    def one(v: Any) -> int:
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            return int(v)
        raise TypeError(f"{op}: expected an int or a sequence of ints, got {value!r}")

    if isinstance(value, (int, np.integer, bool, np.bool_)):
        return one(value)
    try:
        return tuple(one(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: expected an int or a sequence of ints, got {value!r}") from None


class Transpose(Op):
    """``np.transpose(a, axes)``; ``axes=None`` reverses them, as ``.T`` does."""

    python_operator = "T"
    arity = 1
    onnx_type = "Transpose"

    def __init__(self, axes: Sequence[int] | None = None) -> None:
        self.axes = None if axes is None else tuple(int(a) for a in axes)

    def forward(self, a: Any) -> Any:
        """``np.transpose``."""
        return np.transpose(a, self.axes)

    def infer(self, a: Spec) -> Spec:
        """Permuted shape, same dtype."""
        return Spec(transpose_shape(a.shape, self.axes), a.dtype)

    def lowering(self, backend: str, node: Node) -> Any:
        """``transpose`` on each backend (a view in numba)."""
        if backend == "jax":
            return lambda jax, a: jax.numpy.transpose(a, self.axes)
        if backend == "numba":
            ndim = node.ndim
            axes = tuple(range(ndim))[::-1] if self.axes is None else tuple(a % max(ndim, 1) for a in self.axes)
            return ("array", f"np.transpose({{0}}, {axes!r})") if ndim else ("array", "{0}")
        return None

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Transpose`` with ``perm`` (none: reversed, as in numpy)."""
        x = node.inputs[0]
        if self.axes is None:
            return str(ctx.emit("Transpose", [ctx.operand(x)], output=ctx.name(node)))
        perm = [int(a) % max(x.ndim, 1) for a in self.axes]
        return str(ctx.emit("Transpose", [ctx.operand(x)], output=ctx.name(node), perm=perm))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``perm`` as ``axes``."""
        perm = ctx.ints_attr("perm", None)
        return {"axes": perm}


class Reshape(Op):
    """``np.reshape(a, shape)``; one ``-1`` is inferred."""

    arity = 1
    onnx_type = "Reshape"

    def __init__(self, shape: int | Sequence[int]) -> None:
        # An int is a 1-D shape, as in np.reshape(a, 6).
        shape = int_or_ints(shape, "Reshape")
        self.shape = (shape,) if isinstance(shape, int) else shape

    def forward(self, a: Any) -> Any:
        """``np.reshape``."""
        return np.reshape(a, self.shape)

    def infer(self, a: Spec) -> Spec:
        """The new shape, same dtype."""
        return Spec(reshape_shape(a.shape, self.shape), a.dtype)

    def lowering(self, backend: str, node: Node) -> Any:
        """``reshape`` on each backend (numba reshapes a contiguous copy or view)."""
        if backend == "jax":
            return lambda jax, a: jax.numpy.reshape(a, self.shape)
        return ("array", f"np.reshape(np.ascontiguousarray({{0}}), {self.shape!r})") if backend == "numba" else None

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Reshape`` with the target as a constant (``allowzero`` keeps numpy's meaning of 0)."""
        shape = ctx.constant(np.array(self.shape, dtype=np.int64), f"{ctx.name(node)}_shape")
        # In ONNX a 0 copies the input's dimension; numpy's 0 is a size. allowzero=1 keeps numpy's meaning.
        extra: dict[str, Any] = {"allowzero": 1} if 0 in self.shape else {}
        return str(ctx.emit("Reshape", [ctx.operand(node.inputs[0]), shape], output=ctx.name(node), **extra))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """The target from the attribute (opset < 5) or a value known at load time."""
        x = ctx.input(0)
        if ctx.opset < 5:
            target = [int(d) for d in ctx.ints_attr("shape", [])]
        else:
            target = [int(d) for d in ctx.static(1, "target shape").reshape(-1)]
        allowzero = bool(ctx.int_attr("allowzero", 0))
        return [cls(_numpy_target(ctx, x.shape, target, allowzero))(x, name=ctx.name())]


def _numpy_target(ctx: Any, shape: tuple[int | None, ...], target: list[int], allowzero: bool) -> tuple[int, ...]:
    """ONNX's target (0 copies the input's dim unless allowzero) as a numpy target."""
    out: list[int] = []
    copied_unknown: list[int] = []
    for i, t in enumerate(target):
        if t == 0 and not allowzero:
            if i >= len(shape):
                raise ctx.error(f"target {target} copies dim {i} of a rank-{len(shape)} input")
            d = shape[i]
            if d is None:
                copied_unknown.append(i)
                out.append(-1)
                continue
            out.append(d)
        else:
            out.append(t)
    if not copied_unknown:
        return tuple(out)
    # A copied unknown dim becomes numpy's -1 when nothing else is inferred, or when every
    # unknown input dim is copied, so that any other -1 is computable from known sizes.
    explicit = [i for i, t in enumerate(target) if t == -1]
    if len(copied_unknown) == 1 and not explicit:
        return tuple(out)
    all_unknown = [i for i, d in enumerate(shape) if d is None]
    if len(copied_unknown) == 1 and len(explicit) == 1 and all_unknown == copied_unknown:
        known_in = math.prod(d for d in shape if d is not None)
        known_out = math.prod(t for i, t in enumerate(out) if i not in copied_unknown and i not in explicit)
        if known_out and known_in % known_out == 0:
            out[explicit[0]] = known_in // known_out
            return tuple(out)
    raise ctx.error(
        f"Reshape of a {shape} input to {target}: copying unknown dims (0) together with -1 can't be "
        "expressed with a static target; give the input's sizes with shapes= in tg.onnx.load"
    )


class Cast(Op):
    """``a.astype(dtype)``: float to int truncates toward zero, as numpy does."""

    arity = 1
    onnx_type = "Cast"

    def __init__(self, dtype: Any) -> None:
        # Kept as a name ("float32") so that the attribute is plain data for listings and files.
        self.dtype = np.dtype(dtype).name

    def forward(self, a: Any) -> Any:
        """``np.asarray(a).astype(dtype)``."""
        return np.asarray(a).astype(self.dtype)

    def infer(self, a: Spec) -> Spec:
        """Same shape, the new dtype."""
        return Spec(a.shape, np.dtype(self.dtype))

    def lowering(self, backend: str, node: Node) -> Any:
        """The operand itself: backends hand it over already converted to the node's dtype."""
        if backend == "jax":
            return lambda jax, a: a
        return ("map", "{0}") if backend == "numba" else None

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Cast`` to the element type of the node's dtype."""
        return str(ctx.emit("Cast", [ctx.operand(node.inputs[0])], output=ctx.name(node),
                            to=ctx.elem_type(node.dtype, node)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``to`` as a numpy dtype; element types numpy can't hold are refused."""
        return {"dtype": ctx.dtype_attr("to")}


def transpose(a: Any, axes: Sequence[int] | None = None, *, name: str | None = None) -> Node:
    """``np.transpose(a, axes)``."""
    return Transpose(axes)(a, name=name)


def reshape(a: Any, shape: int | Sequence[int], *, name: str | None = None) -> Node:
    """``np.reshape(a, shape)``."""
    return Reshape(shape)(a, name=name)


def cast(a: Any, dtype: Any, *, name: str | None = None) -> Node:
    """``a.astype(dtype)``."""
    return Cast(dtype)(a, name=name)
