"""Ops that rearrange or reinterpret values: ``transpose``, ``reshape``, ``cast``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..node import Node
from ..op import Op
from ..shapes import Spec, normalize_axes, reshape_shape, transpose_shape

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
    torch_ops = ("aten.t.default", "aten.numpy_T.default", "aten.permute.default", "aten.transpose.int")

    def __init__(self, axes: Sequence[int] | None = None) -> None:
        self.axes = None if axes is None else tuple(int(a) for a in axes)

    def forward(self, a: Any) -> Any:
        """``np.transpose``."""
        return np.transpose(a, self.axes)

    def infer(self, a: Spec) -> Spec:
        """Permuted shape, same dtype."""
        return Spec(transpose_shape(a.shape, self.axes), a.dtype)

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

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``t(x)`` and ``x.T`` reverse the axes, ``permute(x, dims)``, ``transpose(x, d0, d1)`` swaps two."""
        x = args[0]
        if target == "aten.permute.default":
            return cls(args[1])(x)
        if target == "aten.transpose.int":
            axes = list(range(x.ndim))
            d0, d1 = (normalize_axes(d, x.ndim)[0] for d in args[1:3])
            axes[d0], axes[d1] = axes[d1], axes[d0]
            return cls(axes)(x)
        return cls()(x)


class Reshape(Op):
    """``np.reshape(a, shape)``; one ``-1`` is inferred."""

    arity = 1
    onnx_type = "Reshape"
    torch_ops = ("aten.view.default", "aten.reshape.default", "aten._unsafe_view.default", "aten.flatten.using_ints")

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

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``view``/``reshape(x, size)`` and ``flatten(x, start_dim, end_dim)``."""
        x = args[0]
        if target == "aten.flatten.using_ints":
            if x.ndim == 0:
                return cls((1,))(x)
            start, end = (normalize_axes(d, x.ndim)[0] for d in args[1:3])
            dims = list(x.shape)
            merged = dims[start:end + 1]
            size = None if None in merged else math.prod(d for d in merged if d is not None)
            return cls(_torch_target(x.shape, [*dims[:start], size, *dims[end + 1:]]))(x)
        return cls(_torch_target(x.shape, list(args[1])))(x)


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


def _torch_target(shape: tuple[int | None, ...], target: list[int | None]) -> tuple[int, ...]:
    """A torch target size, with ``None`` for each size known only at run time, as a numpy target."""
    unknown = [i for i, d in enumerate(target) if d is None]
    out = [-1 if d is None else int(d) for d in target]
    if not unknown or (len(unknown) == 1 and -1 not in target):
        return tuple(out)
    if len(unknown) == 1 and target.count(-1) == 1 and shape.count(None) == 1:
        # The elements are as many as before, so the run-time size must be the input's one unknown
        # dim, and the -1 the ratio of the known sizes (tg.from_torch checks it against torch's).
        known_in = math.prod(d for d in shape if d is not None)
        known_out = math.prod(d for d in out if d != -1)
        if known_out and known_in % known_out == 0:
            out[target.index(-1)] = known_in // known_out
            return tuple(out)
    raise ValueError(f"a reshape of a {shape} input to {target} ({len(unknown)} sizes known only at run time)")


class Cast(Op):
    """``a.astype(dtype)``: float to int truncates toward zero, as numpy does."""

    arity = 1
    onnx_type = "Cast"
    torch_ops = ("aten.to.dtype", "aten._to_copy.default")

    def __init__(self, dtype: Any) -> None:
        # Kept as a name ("float32") so that the attribute is plain data for listings and files.
        self.dtype = np.dtype(dtype).name

    def forward(self, a: Any) -> Any:
        """``np.asarray(a).astype(dtype)``."""
        return np.asarray(a).astype(self.dtype)

    def infer(self, a: Spec) -> Spec:
        """Same shape, the new dtype."""
        return Spec(a.shape, np.dtype(self.dtype))

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Cast`` to the element type of the node's dtype."""
        return str(ctx.emit("Cast", [ctx.operand(node.inputs[0])], output=ctx.name(node),
                            to=ctx.elem_type(node.dtype, node)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``to`` as a numpy dtype; element types numpy can't hold are refused."""
        return {"dtype": ctx.dtype_attr("to")}

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``x.to(dtype)``; ``_to_copy`` without a dtype (a copy to a device) keeps ``x``."""
        dtype = args[1] if target == "aten.to.dtype" else kwargs["dtype"]
        x: Node = args[0]
        return x if dtype is None else cls(dtype)(x)


def transpose(a: Any, axes: Sequence[int] | None = None, *, name: str | None = None) -> Node:
    """``np.transpose(a, axes)``."""
    return Transpose(axes)(a, name=name)


def reshape(a: Any, shape: int | Sequence[int], *, name: str | None = None) -> Node:
    """``np.reshape(a, shape)``."""
    return Reshape(shape)(a, name=name)


def cast(a: Any, dtype: Any, *, name: str | None = None) -> Node:
    """``a.astype(dtype)``."""
    return Cast(dtype)(a, name=name)
