"""Importers of the ONNX ops that are not one tinygraph op: ``Identity``, ``Constant``, ``Gemm``, ``Sum``, ``Mean``,
``Split``.

Every other ONNX op is imported by the tinygraph op declaring it (``onnx_type``, ``from_onnx``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..node import Node
from ..op import constant
from .importer import ImportContext, register_importer


def _typed_scalar(value: float, like: Node) -> Node:
    # A 0-d constant of the operand's dtype: ``alpha * y`` stays in y's type, as ONNX computes.
    return constant(np.asarray(value, dtype=like.dtype))


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


def _added(ctx: ImportContext, operands: list[Node], last: str) -> Node:
    # ONNX's variadic Sum as a chain of adds, the last one named ``last``.
    if not operands:
        raise ctx.error("needs at least one operand")
    y = operands[0]
    for k, b in enumerate(operands[1:], start=1):
        y = ops.add(y, b, name=last if k == len(operands) - 1 else ctx.name(str(k)))
    return y


@register_importer("Sum")
def _variadic_sum(ctx: ImportContext) -> list[Node]:
    return [_added(ctx, ctx.operands(), ctx.name())]


@register_importer("Mean")
def _variadic_mean(ctx: ImportContext) -> list[Node]:
    operands = ctx.operands()
    if len(operands) == 1:
        return [operands[0]]
    total = _added(ctx, operands, ctx.name("sum"))
    return [ops.div(total, _typed_scalar(len(operands), total), name=ctx.name())]


@register_importer("Split")
def _split(ctx: ImportContext) -> list[Node]:
    # One slice node per output: sizes from the attribute (< 13), the operand, or equal parts
    # (opset 18's num_outputs lets the last part be smaller).
    x = ctx.input(0)
    axis = ctx.int_attr("axis", 0)
    if not -x.ndim <= axis < x.ndim:
        raise ctx.error(f"axis {axis} is out of range for rank {x.ndim}")
    axis %= x.ndim
    n = len(ctx.node.output)
    if ctx.opset < 13:
        sizes = ctx.ints_attr("split", None)
    elif ctx.has_input(1) and not ctx.is_static(1):
        return _split_at_run_time(ctx, x, axis)
    else:
        sizes = [int(v) for v in ctx.static(1, "split sizes").reshape(-1)] if ctx.has_input(1) else None
    d = x.shape[axis]
    if sizes is None:
        if d is None:
            raise ctx.error(f"splitting axis {axis} of unknown size into {n} parts needs the size known")
        if ctx.opset < 18 and d % n:
            raise ctx.error(f"axis {axis} of size {d} does not split into {n} equal parts")
        chunk = math.ceil(d / n)
        sizes = [min(chunk, max(d - k * chunk, 0)) for k in range(n)]
    if len(sizes) != n or min(sizes, default=0) < 0 or (d is not None and sum(sizes) != d):
        raise ctx.error(f"split sizes {sizes} do not fit axis {axis} (size {d}) into {n} outputs")
    parts, start = [], 0
    for size, name in zip(sizes, ctx.node.output):
        parts.append(ops.slice(x, [start], [start + size], [axis], name=name or None))
        start += size
    return parts


def _split_at_run_time(ctx: ImportContext, x: Node, axis: int) -> list[Node]:
    # Part k runs from sum(sizes[:k]) to that plus sizes[k], computed in the graph.
    sizes = ctx.input(1)
    zero = np.zeros(1, dtype=np.int64)
    parts = []
    for k, name in enumerate(ctx.node.output):
        start = ops.runtime_reduce(ops.slice(sizes, [0], [k], name=ctx.name(f"sizes_{k}")), zero, "sum",
                                   keepdims=True, name=ctx.name(f"start_{k}"))
        end = ops.add(start, ops.slice(sizes, [k], [k + 1], name=ctx.name(f"size_{k}")), name=ctx.name(f"end_{k}"))
        parts.append(ops.slice(x, start, end, [axis], name=name or None))
    return parts
