"""Scaled dot-product attention as ONNX's ``Attention`` (opset 23): heads, grouped K/V heads, masks, causal.

``q`` ``(B, Hq, S, d)``, ``k`` ``(B, Hkv, L, d)``, ``v`` ``(B, Hkv, L, dv)``; or 3-D ``(B, S, Hq * d)``,
``(B, L, Hkv * d)``, ``(B, L, Hkv * dv)`` with ``q_num_heads`` and ``kv_num_heads`` given. With fewer
K/V heads than query heads (grouped-query attention) each K/V head serves ``Hq / Hkv`` query heads.
``attn_mask`` is boolean (true: may attend) or added to the scores, broadcast to ``(B, Hq, S, L)``
(a mask shorter than ``L`` is padded with "may not attend"). ``is_causal``: query ``i`` attends
keys ``j <= i``. A query that may attend no key gets zeros. The KV cache (``past_key``,
``past_value``, the ``present_*`` outputs), ``nonpad_kv_seqlen``, sliding windows and the
``qk_matmul_output`` output are not supported. It computes on any array library (``arrays = "any"``)
with the array API standard's ``matmul``, ``exp``, ``where``, ``repeat``...
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..arrays import array_namespace, common_library
from ..errors import ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Spec, broadcast_shapes, format_shape

__all__ = ["Attention", "attention"]


class Attention(Op):
    """``softmax(q k^T * scale + mask) v`` per head (ONNX ``Attention``); see the module's docstring."""

    kind = "attention"
    fresh_output = True
    onnx_type = "Attention"
    torch_ops = ("aten.scaled_dot_product_attention.default",)
    dot_style: ClassVar[dict[str, str]] = {"fillcolor": "#efe3f6"}

    def __init__(self, scale: float | None = None, is_causal: bool = False, q_num_heads: int | None = None,
                 kv_num_heads: int | None = None, softcap: float = 0.0) -> None:
        if (q_num_heads is None) != (kv_num_heads is None):
            raise ValueError("give both q_num_heads and kv_num_heads (3-D inputs) or neither (4-D inputs)")
        for heads in (q_num_heads, kv_num_heads):
            if heads is not None and (isinstance(heads, bool) or not isinstance(heads, (int, np.integer))
                                      or heads < 1):
                raise ValueError(f"head counts must be ints >= 1, got {heads!r}")
        self.scale = None if scale is None else float(scale)
        self.is_causal = bool(is_causal)
        self.q_num_heads = None if q_num_heads is None else int(q_num_heads)
        self.kv_num_heads = None if kv_num_heads is None else int(kv_num_heads)
        self.softcap = float(softcap)

    def infer(self, *specs: Spec) -> Spec:
        """``(B, Hq, S, dv)`` (3-D: ``(B, S, Hq * dv)``); heads, sizes and the mask checked."""
        if len(specs) not in (3, 4):
            raise ShapeError(f"takes q, k, v and an optional attn_mask, got {len(specs)} operand(s)")
        q, k, v = specs[:3]
        rank = q.ndim
        if rank not in (3, 4) or k.ndim != rank or v.ndim != rank:
            raise ShapeError(f"q, k, v must all be 4-D (B, heads, seq, size) or all 3-D, got ranks "
                             f"{q.ndim}, {k.ndim}, {v.ndim}")
        if (rank == 3) != (self.q_num_heads is not None):
            raise ShapeError("3-D inputs need q_num_heads and kv_num_heads; 4-D inputs take them from their shape")
        for spec in specs[:3]:
            if spec.dtype.kind != "f":
                raise ShapeError(f"needs float q, k, v, got {spec.dtype}")
        batches = {d for d in (spec.shape[0] for spec in specs[:3]) if d is not None}
        if len(batches) > 1:
            raise ShapeError(f"q, k and v have different batch sizes {sorted(batches)}")
        b = next(iter(batches), None)
        if rank == 4:
            hq, s, d, hk, lk, dk, hv, lv, dv = (*q.shape[1:], *k.shape[1:], *v.shape[1:])
        else:
            hq, hk = self.q_num_heads, self.kv_num_heads
            hv = hk
            s, lk, lv = q.shape[1], k.shape[1], v.shape[1]
            d, dk, dv = (_split(spec.shape[2], heads, name) for spec, heads, name in
                         ((q, hq, "q"), (k, hk, "k"), (v, hk, "v")))
        for a, c, what in ((d, dk, "q and k head sizes"), (lk, lv, "k and v lengths"), (hk, hv, "k and v heads")):
            if a is not None and c is not None and a != c:
                raise ShapeError(f"{what} differ: {a} and {c}")
        if hq is not None and hk is not None and hq % hk:
            raise ShapeError(f"{hq} query heads are not a multiple of {hk} key/value heads")
        if len(specs) == 4:
            mask = specs[3]
            if mask.dtype.kind not in "bf":
                raise ShapeError(f"attn_mask must be bool or float, got {mask.dtype}")
            if mask.ndim > 4 or mask.ndim < 2:
                raise ShapeError(f"attn_mask {format_shape(mask.shape)} should have rank 2 to 4")
            target = (b, hq, s, mask.shape[-1])
            broadcast_shapes(mask.shape, target)
            if mask.shape[-1] is not None and lk is not None and mask.shape[-1] > lk:
                raise ShapeError(f"attn_mask covers {mask.shape[-1]} keys, there are {lk}")
        shape = (b, hq, s, dv) if rank == 4 else (b, s, None if hq is None or dv is None else hq * dv)
        return Spec(shape, q.dtype)

    arrays = "any"

    def forward(self, q: Any, k: Any, v: Any, mask: Any = None) -> Any:
        """One batched matmul for the scores, a guarded softmax, one for the values."""
        xp = array_namespace(q, k, v) if mask is None else array_namespace(q, k, v, mask)
        if xp is not np:
            return self._forward_on(xp, q, k, v, mask)
        dtype = np.asarray(q).dtype
        work = np.dtype(np.float32) if dtype == np.float16 else dtype
        zero, never, one = work.type(0), work.type(-np.inf), work.type(1)
        q, k, v = (np.asarray(a, dtype=work) for a in (q, k, v))
        if q.ndim == 3:
            q, k, v = (_heads(a, h) for a, h in ((q, self.q_num_heads), (k, self.kv_num_heads),
                                                  (v, self.kv_num_heads)))
        s, length = q.shape[2], k.shape[2]
        bias = np.zeros((s, length), dtype=work)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape[-1] < length:
                fill = False if mask.dtype == np.bool_ else -np.inf
                mask = np.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, length - mask.shape[-1])],
                              constant_values=fill)
            bias = bias + (np.where(mask, zero, never) if mask.dtype == np.bool_ else mask.astype(work))
        if self.is_causal:
            allowed = np.arange(length)[None, :] <= np.arange(s)[:, None]
            bias = bias + np.where(allowed, zero, never)
        groups = q.shape[1] // k.shape[1]
        if groups > 1:
            k, v = np.repeat(k, groups, axis=1), np.repeat(v, groups, axis=1)
        scale = self.scale if self.scale is not None else 1 / math.sqrt(q.shape[3])
        scores = q @ np.swapaxes(k, -1, -2) * work.type(scale)
        if self.softcap > 0:
            scores = np.tanh(scores / work.type(self.softcap)) * work.type(self.softcap)
        scores = scores + bias
        with np.errstate(invalid="ignore", under="ignore"):
            top = np.max(scores, axis=-1, keepdims=True)
            e = np.exp(scores - np.where(np.isneginf(top), zero, top))
            total = np.sum(e, axis=-1, keepdims=True)
            weights = e / np.where(total == 0, one, total)
        # A query that may attend no key (its mask row all -inf) gets zeros, as ONNX specifies.
        weights = np.where(np.isneginf(np.max(bias, axis=-1, keepdims=True)), zero, weights)
        y = weights @ v
        if self.q_num_heads is not None:
            y = y.transpose(0, 2, 1, 3).reshape(y.shape[0], s, -1)
        return np.ascontiguousarray(y, dtype=dtype)

    def _forward_on(self, xp: Any, q: Any, k: Any, v: Any, mask: Any) -> Any:
        """``forward`` with the namespace's functions (Python scalars are weak: they keep the work dtype)."""
        lib = common_library([q, k, v])
        dtype = q.dtype
        half = getattr(xp, "float16", None)
        work = xp.float32 if half is not None and dtype == half else dtype
        device = q.device
        zero = xp.zeros((), dtype=work, device=device)  # where() takes one scalar at most
        q, k, v = (xp.astype(a, work, copy=False) for a in (q, k, v))
        if q.ndim == 3:
            q, k, v = (_heads_on(xp, a, h) for a, h in ((q, self.q_num_heads), (k, self.kv_num_heads),
                                                         (v, self.kv_num_heads)))
        s, length = q.shape[2], k.shape[2]
        bias = xp.zeros((s, length), dtype=work, device=device)
        if mask is not None:
            boolean = mask.dtype == xp.bool
            if mask.shape[-1] < length:
                fill = xp.full((*mask.shape[:-1], length - mask.shape[-1]), False if boolean else -math.inf,
                               dtype=mask.dtype, device=device)
                mask = xp.concat([mask, fill], axis=-1)
            bias = bias + (xp.where(mask, zero, -math.inf) if boolean else xp.astype(mask, work))
        if self.is_causal:
            allowed = xp.arange(length, device=device)[None, :] <= xp.arange(s, device=device)[:, None]
            bias = bias + xp.where(allowed, zero, -math.inf)
        groups = q.shape[1] // k.shape[1]
        if groups > 1:
            k, v = xp.repeat(k, groups, axis=1), xp.repeat(v, groups, axis=1)
        scale = self.scale if self.scale is not None else 1 / math.sqrt(q.shape[3])
        scores = xp.matmul(q, xp.matrix_transpose(k)) * float(lib.numpy_dtype(work).type(scale))
        if self.softcap > 0:
            softcap = float(lib.numpy_dtype(work).type(self.softcap))
            scores = xp.tanh(scores / softcap) * softcap
        scores = scores + bias
        top = xp.max(scores, axis=-1, keepdims=True)
        e = xp.exp(scores - xp.where(_neginf(xp, top), 0.0, top))
        total = xp.sum(e, axis=-1, keepdims=True)
        weights = e / xp.where(total == 0, 1.0, total)
        # A query that may attend no key (its mask row all -inf) gets zeros, as ONNX specifies.
        weights = xp.where(_neginf(xp, xp.max(bias, axis=-1, keepdims=True)), 0.0, weights)
        y = xp.matmul(weights, v)
        if self.q_num_heads is not None:
            y = xp.reshape(xp.permute_dims(y, (0, 2, 1, 3)), (y.shape[0], s, -1))
        return xp.astype(y, dtype, copy=False)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, *, scale, enable_gqa)``."""
        q, k, v, mask, dropout_p, is_causal = args
        if dropout_p:
            raise ValueError(f"attention dropout ({dropout_p}) is not supported: tinygraph runs inference")
        if q.ndim != 4:
            raise ValueError(f"needs 4-D (batch, heads, seq, size) q, k, v, got rank {q.ndim}")
        op = cls(kwargs.get("scale"), is_causal)
        return op(q, k, v) if mask is None else op(q, k, v, mask)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Attention`` (opset 23 or newer)."""
        if ctx.opset < 23:
            return self._decomposed_onnx(ctx, node)
        attrs: dict[str, Any] = {"is_causal": int(self.is_causal)}
        if self.scale is not None:
            attrs["scale"] = self.scale
        if self.softcap:
            attrs["softcap"] = self.softcap
        if self.q_num_heads is not None:
            attrs["q_num_heads"], attrs["kv_num_heads"] = self.q_num_heads, self.kv_num_heads
        q = node.inputs[0]
        operands = [ctx.operand(i, q.dtype) for i in node.inputs[:3]]
        if len(node.inputs) == 4:
            mask = node.inputs[3]
            operands.append(ctx.operand(mask, None if mask.dtype == np.bool_ else q.dtype))
        return str(ctx.emit("Attention", operands, output=ctx.name(node), **attrs))

    def _decomposed_onnx(self, ctx: Any, node: Node) -> str:
        """Before opset 23: ``Softmax(q k^T * scale) v`` in MatMul and Softmax nodes (4-D, kv heads = q heads)."""
        q, k = node.inputs[0], node.inputs[1]
        if q.ndim != 4 or self.softcap or q.shape[3] is None or (q.shape[1] != k.shape[1] or q.shape[1] is None):
            raise ctx.error(node, f"ONNX has Attention from opset 23 (export uses opset {ctx.opset}); before, only "
                                  "4-D attention with as many key/value heads as query heads, known head sizes and "
                                  "no softcap is written as its formula: pass opset=23 or newer")
        name = ctx.name(node)
        dtype = q.dtype
        qs, ks, vs = (ctx.operand(i, dtype) for i in node.inputs[:3])
        scale = self.scale if self.scale is not None else 1 / math.sqrt(q.shape[3])
        scores = ctx.emit("MatMul", [qs, ctx.emit("Transpose", [ks], perm=[0, 1, 3, 2])])
        scores = ctx.emit("Mul", [scores, ctx.constant(np.asarray(scale, dtype=dtype), f"{name}_scale")])
        if len(node.inputs) > 3:
            # A row masking every key is zeros in ONNX's Attention, NaN in Softmax: only Attention is exact.
            raise ctx.error(node, "masked attention is written only as ONNX's Attention: pass opset=23 or newer")
        if self.is_causal:  # the diagonal is always allowed, so no row is empty
            s, length = q.shape[2], k.shape[2]
            if s is None or length is None:
                raise ctx.error(node, "causal attention before opset 23 needs the sequence lengths known")
            allowed = np.arange(length)[None, :] <= np.arange(s)[:, None]
            causal = np.where(allowed, 0, -np.inf).astype(dtype)
            scores = ctx.emit("Add", [scores, ctx.constant(causal, f"{name}_causal")])
        weights = ctx.emit("Softmax", [scores], axis=-1)
        return str(ctx.emit("MatMul", [weights, vs], output=name))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """The output ``Y``; the KV cache, ``nonpad_kv_seqlen``, windows and extra outputs are refused."""
        if ctx.has_input(4) or ctx.has_input(5):
            raise ctx.error("past_key/past_value (the KV cache) are not supported")
        if ctx.has_input(6):
            raise ctx.error("nonpad_kv_seqlen is not supported")
        if any(ctx.node.output[1:]):
            raise ctx.error("only output Y is supported (not present_key/present_value/qk_matmul_output)")
        for name in ("left_window_size", "right_window_size"):
            if ctx.int_attr(name, -1) != -1:
                raise ctx.error(f"{name} (sliding-window attention) is not supported")
        scale = ctx.attr("scale", None)
        q_heads = ctx.attr("q_num_heads", None)
        kv_heads = ctx.attr("kv_num_heads", None)
        if ctx.input(0).ndim == 4:
            q_heads = kv_heads = None  # 4-D inputs carry their head counts (opset 23 allowed both)
        operands = [ctx.input(i) for i in range(4) if ctx.has_input(i)]
        try:
            op = cls(None if scale is None else float(scale), bool(ctx.int_attr("is_causal", 0)), q_heads, kv_heads,
                     ctx.float_attr("softcap", 0.0))
        except ValueError as e:
            raise ctx.error(str(e)) from None
        return [op(*operands, name=ctx.name())]


def _split(size: int | None, heads: int | None, name: str) -> int | None:
    if size is None or heads is None:
        return None
    if size % heads:
        raise ShapeError(f"{name}'s last axis ({size}) does not split into {heads} heads")
    return size // heads


def _heads(a: Any, heads: int | None) -> Any:
    assert heads is not None
    return a.reshape(a.shape[0], a.shape[1], heads, -1).transpose(0, 2, 1, 3)


def _heads_on(xp: Any, a: Any, heads: int | None) -> Any:
    assert heads is not None
    return xp.permute_dims(xp.reshape(a, (a.shape[0], a.shape[1], heads, -1)), (0, 2, 1, 3))


def _neginf(xp: Any, a: Any) -> Any:
    return xp.isinf(a) & (a < 0)


def attention(q: Any, k: Any, v: Any, attn_mask: Any = None, scale: float | None = None, is_causal: bool = False,
              q_num_heads: int | None = None, kv_num_heads: int | None = None, softcap: float = 0.0, *,
              name: str | None = None) -> Node:
    """``softmax(q k^T * scale + mask) v`` per head (ONNX ``Attention``); ``scale`` defaults to ``1/sqrt(d)``."""
    op = Attention(scale, is_causal, q_num_heads, kv_num_heads, softcap)
    return op(q, k, v, name=name) if attn_mask is None else op(q, k, v, attn_mask, name=name)
