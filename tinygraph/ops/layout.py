"""Ops that rearrange or reinterpret values: ``transpose``, ``reshape``, ``cast``, ``cast_like``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, common_library
from ..errors import ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Spec, normalize_axes, reshape_shape, transpose_shape
from ._operands import host_ints, known_elements, library_operands
from .elementwise import _SCALARS

__all__ = ["Transpose", "Reshape", "Cast", "CastLike", "transpose", "reshape", "cast", "cast_like"]


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

    arrays = "any"

    def forward(self, a: Any) -> Any:
        """``np.transpose``; ``permute_dims`` on other libraries."""
        # A numpy first operand means a numpy run (one library per run): no call on the fast path.
        xp = np if type(a) is np.ndarray else array_namespace(a)
        if xp is np:
            return np.transpose(a, self.axes)
        ndim = a.ndim
        if self.axes is None:
            return xp.permute_dims(a, tuple(range(ndim - 1, -1, -1)))
        return xp.permute_dims(a, tuple(ax % ndim if -ndim <= ax < ndim else ax for ax in self.axes))

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

    @classmethod
    def node_method(cls, node: Node, *axes: Any) -> Node:
        """``node.transpose()``, ``node.transpose(1, 0)`` or ``node.transpose((1, 0))``, as numpy takes them."""
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = tuple(axes[0]) if axes[0] is not None else ()
        return cls(axes or None)(node)

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
    """``np.reshape(a, shape)``; one ``-1`` is inferred.

    Two forms: ``Reshape(shape)`` with the target as static configuration (one operand), or
    ``Reshape()`` taking the target as a second operand, a 1-D integer node whose value may be
    known only at run time (``tg.reshape(x, tg.shape(y))``). The run-time form's spec has the
    target's length as its rank and every size the target's spec knows; ``copy_zeros=True``
    gives ONNX's meaning of a 0 (copy the input's size there) instead of numpy's.
    """

    arity = None
    python_operator = "reshape"
    onnx_type = "Reshape"
    torch_ops = ("aten.view.default", "aten.reshape.default", "aten._unsafe_view.default", "aten.flatten.using_ints",
                 "aten.unflatten.int")

    def __init__(self, shape: int | Sequence[int] | None = None, copy_zeros: bool = False) -> None:
        if shape is None:
            self.shape: tuple[int, ...] | None = None
        else:
            # An int is a 1-D shape, as in np.reshape(a, 6).
            target = int_or_ints(shape, "Reshape")
            self.shape = (target,) if isinstance(target, int) else target
        self.copy_zeros = bool(copy_zeros)
        if self.copy_zeros and self.shape is not None:
            raise ValueError("copy_zeros is for a target given as an operand")

    def attributes(self) -> dict[str, Any]:
        """``shape`` (static form) or ``copy_zeros`` (run-time form, when set)."""
        if self.shape is not None:
            return {"shape": self.shape}
        return {"copy_zeros": True} if self.copy_zeros else {}

    arrays = "any"

    def forward(self, a: Any, *target: Any) -> Any:
        """``np.reshape``; ``reshape`` of the array's own library on others."""
        xp = np if type(a) is np.ndarray else array_namespace(a, *target)
        if xp is not np:
            a = library_operands([a, *target])[1][0]  # the target is read on the host
        if self.shape is not None:
            return np.reshape(a, self.shape) if xp is np else xp.reshape(a, self.shape)
        dims = host_ints(target[0])
        if self.copy_zeros:
            shape = np.shape(a) if xp is np else tuple(a.shape)
            if any(d == 0 and i >= len(shape) for i, d in enumerate(dims)):
                raise ValueError(f"target {dims} copies a dimension a rank-{len(shape)} input lacks")
            dims = [shape[i] if d == 0 else d for i, d in enumerate(dims)]
        return np.reshape(a, dims) if xp is np else xp.reshape(a, tuple(dims))

    def infer(self, a: Spec, *target: Spec) -> Spec:
        """The new shape (unknown where the target or a ``-1`` depends on run-time sizes), same dtype."""
        if self.shape is not None:
            if target:
                raise ShapeError("a Reshape with a static shape takes one operand")
            shape = reshape_shape(a.shape, self.shape)
            return Spec(shape, a.dtype, False, a.value if len(shape) <= 1 else None)
        if len(target) != 1:
            raise ShapeError("a Reshape without a static shape takes the target as its second operand")
        dims = known_elements(target[0], "target shape")
        if self.copy_zeros:
            if any(d == 0 and i >= a.ndim for i, d in enumerate(dims)):
                raise ShapeError(f"target {tuple(dims)} copies a dimension a rank-{a.ndim} input lacks")
            dims = [a.shape[i] if d == 0 else d for i, d in enumerate(dims)]
        if None not in dims:
            return Spec(reshape_shape(a.shape, dims), a.dtype)  # type: ignore[arg-type]
        known = [d for d in dims if d is not None]
        if known.count(-1) > 1 or any(d < -1 for d in known):
            raise ShapeError(f"invalid reshape target {tuple(dims)}")
        return Spec(tuple(None if d is None or d == -1 else d for d in dims), a.dtype)

    def lowering(self, backend: str, node: Node) -> Any:
        """``reshape`` on each backend (numba reshapes a contiguous copy or view)."""
        if backend == "jax":
            return lambda jax, a: jax.numpy.reshape(a, self.shape)
        return ("array", f"np.reshape(np.ascontiguousarray({{0}}), {self.shape!r})") if backend == "numba" else None

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Reshape`` with the target as a constant or the operand (``allowzero`` keeps numpy's 0)."""
        if self.shape is None:
            shape = ctx.operand(node.inputs[1], np.int64)
            extra: dict[str, Any] = {} if self.copy_zeros else {"allowzero": 1}
        else:
            shape = ctx.constant(np.array(self.shape, dtype=np.int64), f"{ctx.name(node)}_shape")
            # In ONNX a 0 copies the input's dimension; numpy's 0 is a size. allowzero=1 keeps numpy's meaning.
            extra = {"allowzero": 1} if 0 in self.shape else {}
        return str(ctx.emit("Reshape", [ctx.operand(node.inputs[0]), shape], output=ctx.name(node), **extra))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """The target from the attribute (opset < 5), a value known at load time, or a run-time operand."""
        x = ctx.input(0)
        allowzero = ctx.bool_attr("allowzero", False)
        if ctx.opset < 5:
            target = ctx.ints_attr("shape", [])
        elif not ctx.is_static(1):
            return [cls(copy_zeros=not allowzero)(x, ctx.input(1), name=ctx.name())]
        else:
            target = ctx.static_ints(1, "target shape")
        return [cls(_numpy_target(ctx, x.shape, target, allowzero))(x, name=ctx.name())]

    @classmethod
    def node_method(cls, node: Node, *shape: Any) -> Node:
        """``node.reshape(2, 3)``, ``node.reshape((2, 3))`` or ``node.reshape(shape_node)``."""
        target = shape[0] if len(shape) == 1 else shape
        return reshape(node, target)

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
        if target == "aten.unflatten.int":
            dim = normalize_axes(args[1], x.ndim)[0]
            dims = list(x.shape)
            return cls(_torch_target(x.shape, [*dims[:dim], *args[2], *dims[dim + 1:]]))(x)
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
    target = [d if d is None or isinstance(d, int) else None for d in target]  # run-time sizes given as nodes
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

    onnx_own_result_dtype = True
    arity = 1
    onnx_type = "Cast"
    torch_ops = ("aten.to.dtype", "aten._to_copy.default")

    def __init__(self, dtype: Any) -> None:
        # Kept as a name ("float32") so that the attribute is plain data for listings and files.
        self.dtype = np.dtype(dtype).name

    arrays = "any"

    def forward(self, a: Any) -> Any:
        """``np.asarray(a).astype(dtype)``; ``astype`` to the library's dtype of that name on others."""
        xp = np if type(a) is np.ndarray else array_namespace(a)
        if xp is np:
            return np.asarray(a).astype(self.dtype)
        return xp.astype(a, common_library([a]).dtype(np.dtype(self.dtype)))

    def infer(self, a: Spec) -> Spec:
        """Same shape, the new dtype (a known integer value stays known)."""
        dtype = np.dtype(self.dtype)
        value = a.value
        if value is not None and (dtype.kind not in "iu" or not all(
                np.iinfo(dtype).min <= v <= np.iinfo(dtype).max for v in value if v is not None)):
            value = None  # a narrowing cast wraps: what was known no longer is
        return Spec(a.shape, dtype, False, value)

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

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``x.to(dtype)``; ``_to_copy`` without a dtype (a copy to a device) keeps ``x``."""
        dtype = args[1] if target == "aten.to.dtype" else kwargs["dtype"]
        x: Node = args[0]
        return x if dtype is None else cls(dtype)(x)


class CastLike(Op):
    """``a.astype(like.dtype)``: only ``like``'s dtype is used, not its value."""

    kind = "cast_like"
    arity = 2
    formula = "a as b's dtype"
    onnx_type = "CastLike"
    onnx_own_result_dtype = True

    arrays = "any"

    def forward(self, a: Any, like: Any) -> Any:
        """``np.asarray(a).astype(like.dtype)``."""
        xp = array_namespace(a, like)
        if xp is not np:
            lib = common_library((a, like))
            dtype = lib.dtype(np.asarray(like).dtype) if isinstance(like, _SCALARS) else like.dtype
            return xp.astype(xp.asarray(a, device=lib.device) if isinstance(a, _SCALARS) else a, dtype)
        return np.asarray(a).astype(np.asarray(like).dtype)

    def infer(self, a: Spec, like: Spec) -> Spec:
        """``a``'s shape, ``like``'s dtype."""
        return Spec(a.shape, like.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``CastLike`` from opset 15, ``Cast`` before."""
        a, like = node.inputs
        if ctx.opset >= 15:
            return str(ctx.emit("CastLike", [ctx.operand(a), ctx.operand(like)], output=ctx.name(node)))
        return str(ctx.emit("Cast", [ctx.operand(a)], output=ctx.name(node), to=ctx.elem_type(node.dtype, node)))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """A ``cast`` to the dtype of the second operand (whose value the graph then doesn't need)."""
        return [cast(ctx.input(0), ctx.input(1).dtype, name=ctx.name())]



def transpose(a: Any, axes: Sequence[int] | None = None, *, name: str | None = None) -> Node:
    """``np.transpose(a, axes)``."""
    return Transpose(axes)(a, name=name)


def reshape(a: Any, shape: Any, *, name: str | None = None) -> Node:
    """``np.reshape(a, shape)``; ``shape`` may be a 1-D integer node (the run-time form)."""
    if isinstance(shape, Node):
        return Reshape()(a, shape, name=name)
    return Reshape(shape)(a, name=name)


def cast(a: Any, dtype: Any, *, name: str | None = None) -> Node:
    """``a.astype(dtype)``."""
    return Cast(dtype)(a, name=name)


def cast_like(a: Any, like: Any, *, name: str | None = None) -> Node:
    """``a`` converted to ``like``'s dtype."""
    return CastLike()(a, like, name=name)
