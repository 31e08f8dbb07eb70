"""The importers of the built-in ONNX ops: each lowers one ONNX node to tinygraph ops.

Version differences are handled here: Softmax before opset 13 (flatten to 2-D at ``axis``),
reduction axes as an attribute or an input, Reshape's 0 and allowzero, and the ``broadcast``
attribute of binary ops before opset 7.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import ops
from ..node import Node
from ..op import constant
from .importer import KINDS_NOTE, ImportContext, Importer, register_importer


def _typed_scalar(value: float, like: Node) -> Node:
    # A 0-d constant of the operand's dtype: ``alpha * y`` stays in y's type, as ONNX computes.
    return constant(np.asarray(value, dtype=like.dtype))


def _legacy_broadcast(ctx: ImportContext, a: Node, b: Node) -> Node:
    # Before opset 7, binary ops broadcast only with broadcast=1, aligning B at ``axis`` of A.
    if ctx.opset >= 7 or not ctx.bool_attr("broadcast", False):
        return b
    axis = ctx.int_attr("axis", None)
    if axis is None:
        return b  # suffix alignment: numpy's rule
    axis = axis % a.ndim if a.ndim else 0
    trailing = a.ndim - axis - b.ndim
    if trailing < 0:
        raise ctx.error(f"broadcast axis {axis} does not fit operands of ranks {a.ndim} and {b.ndim}")
    if trailing == 0:
        return b
    if sum(d is None for d in b.shape) > 1:
        raise ctx.error("legacy axis broadcasting needs B's shape known (at most one unknown dim)")
    target = tuple(-1 if d is None else d for d in b.shape) + (1,) * trailing
    return ops.reshape(b, target, name=ctx.name("b_aligned"))


def _binary(fn: Callable[..., Node]) -> Importer:
    def import_binary(ctx: ImportContext) -> list[Node]:
        a = ctx.input(0)
        b = _legacy_broadcast(ctx, a, ctx.input(1))
        return [fn(a, b, name=ctx.name())]

    return import_binary


def _unary(fn: Callable[..., Node]) -> Importer:
    def import_unary(ctx: ImportContext) -> list[Node]:
        return [fn(ctx.input(0), name=ctx.name())]

    return import_unary


_BINARY: dict[str, Callable[..., Node]] = {"Add": ops.add, "Sub": ops.sub, "Mul": ops.mul, "Div": ops.div,
                                           "Pow": ops.pow, "MatMul": ops.matmul}
_UNARY: dict[str, Callable[..., Node]] = {"Neg": ops.neg, "Exp": ops.exp, "Log": ops.log, "Tanh": ops.tanh,
                                          "Relu": ops.relu, "Sigmoid": ops.sigmoid}
for _op_type, _fn in _BINARY.items():
    register_importer(_op_type)(_binary(_fn))
for _op_type, _fn in _UNARY.items():
    register_importer(_op_type)(_unary(_fn))


@register_importer("Identity")
def _identity(ctx: ImportContext) -> list[Node]:
    return [ctx.input(0)]


@register_importer("Constant")
def _constant(ctx: ImportContext) -> list[Node]:
    given = ctx.attr_names()
    if len(given) != 1:
        raise ctx.error(f"a Constant needs exactly one value attribute, got {given}")
    key = given[0]
    scalar_types = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64,
                    "value_ints": np.int64}
    if key == "value":
        value = ctx.tensor_attr("value")
    elif key in ("value_float", "value_floats"):
        value = np.asarray(ctx.float_attr(key, 0.0) if key == "value_float" else ctx.floats_attr(key, []),
                           dtype=scalar_types[key])
    elif key in ("value_int", "value_ints"):
        value = np.asarray(ctx.int_attr(key, 0) if key == "value_int" else ctx.ints_attr(key, []),
                           dtype=scalar_types[key])
    else:
        raise ctx.error(f"Constant {key} is not supported: tinygraph imports numeric dense tensors")
    return [constant(value, name=ctx.name())]


@register_importer("Cast")
def _cast(ctx: ImportContext) -> list[Node]:
    dtype = ctx.numpy_dtype(ctx.int_attr("to", 0))
    if isinstance(dtype, str):
        raise ctx.error(f"Cast to element type {dtype}, {KINDS_NOTE}")
    return [ops.cast(ctx.input(0), dtype, name=ctx.name())]


@register_importer("Gemm")
def _gemm(ctx: ImportContext) -> list[Node]:
    a, b = ctx.input(0), ctx.input(1)
    if ctx.bool_attr("transA", False):
        a = ops.transpose(a, name=ctx.name("a_t"))
    if ctx.bool_attr("transB", False):
        b = ops.transpose(b, name=ctx.name("b_t"))
    alpha, beta = ctx.float_attr("alpha", 1.0), ctx.float_attr("beta", 1.0)
    has_c = ctx.has_input(2)
    y = ops.matmul(a, b, name=ctx.name("matmul") if alpha != 1.0 or has_c else ctx.name())
    if alpha != 1.0:
        y = ops.mul(y, _typed_scalar(alpha, y), name=ctx.name("alpha") if has_c else ctx.name())
    if has_c:
        c = ctx.input(2)
        if beta != 1.0:
            c = ops.mul(c, _typed_scalar(beta, c), name=ctx.name("beta"))
        y = ops.add(y, c, name=ctx.name())
    return [y]


@register_importer("Softmax")
def _softmax(ctx: ImportContext) -> list[Node]:
    x = ctx.input(0)
    if ctx.opset >= 13:
        return [ops.softmax(x, ctx.int_attr("axis", -1), name=ctx.name())]
    # Before opset 13, Softmax flattens the input to 2-D at ``axis`` (default 1) and normalises
    # each row: one softmax over all the trailing axes together.
    if x.ndim == 0:
        raise ctx.error("softmax of a scalar")
    axis = ctx.int_attr("axis", 1)
    if not -x.ndim <= axis < x.ndim:
        raise ctx.error(f"axis {axis} is out of range for rank {x.ndim}")
    axis %= x.ndim
    if axis == x.ndim - 1:
        return [ops.softmax(x, -1, name=ctx.name())]
    inner = x.shape[axis:]
    if any(d is None for d in inner) or sum(d is None for d in x.shape) > 1:
        raise ctx.error(
            f"opset-{ctx.opset} Softmax over axes {axis}.. of a {x.shape} input needs those sizes known "
            "(and at most one unknown dim) to flatten them"
        )
    flat = ops.reshape(x, (-1, math.prod(inner)), name=ctx.name("flat"))  # type: ignore[arg-type]
    y = ops.softmax(flat, -1, name=ctx.name("softmax"))
    return [ops.reshape(y, tuple(-1 if d is None else d for d in x.shape), name=ctx.name())]


def _reduction(fn: Callable[..., Node], axes_input_since: int) -> Importer:
    def import_reduction(ctx: ImportContext) -> list[Node]:
        x = ctx.input(0)
        keepdims = ctx.bool_attr("keepdims", True)
        if ctx.opset >= axes_input_since:
            axes = ctx.static_ints(1, "axes") if ctx.has_input(1) else []
            if not axes and ctx.bool_attr("noop_with_empty_axes", False):
                return [x]
        else:
            axes = ctx.ints_attr("axes", [])
        return [fn(x, tuple(axes) if axes else None, keepdims, name=ctx.name())]

    return import_reduction


register_importer("ReduceSum")(_reduction(ops.sum, 13))
register_importer("ReduceMean")(_reduction(ops.mean, 18))


@register_importer("Transpose")
def _transpose(ctx: ImportContext) -> list[Node]:
    return [ops.transpose(ctx.input(0), ctx.ints_attr("perm", None), name=ctx.name())]


@register_importer("Reshape")
def _reshape(ctx: ImportContext) -> list[Node]:
    x = ctx.input(0)
    target = ctx.ints_attr("shape", []) if ctx.opset < 5 else ctx.static_ints(1, "target shape")
    return [ops.reshape(x, _resolve_reshape(ctx, x.shape, target, ctx.bool_attr("allowzero", False)), name=ctx.name())]


def _resolve_reshape(ctx: ImportContext, shape: tuple[int | None, ...], target: list[int],
                     allowzero: bool) -> tuple[int, ...]:
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
