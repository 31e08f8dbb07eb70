"""Normalization layers as run at inference (batch, layer, instance and group norm) and ``dropout`` (identity).

Statistics of float16 inputs are accumulated in float32 (ONNX's ``stash_type=1``); the result has
the input's dtype. Channels are axis 1 (NCHW), as in ONNX and torch. Every op computes on any array
library (``arrays = "any"``) with the array API standard's ``mean``, ``sqrt`` and arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..arrays import array_namespace
from ..errors import GraphError, ShapeError
from ..node import Node
from ..op import Op, constant
from ..shapes import Spec, broadcast_shapes, format_shape

__all__ = [
    "BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm", "Dropout",
    "batch_norm", "layer_norm", "instance_norm", "group_norm", "dropout",
]

_STYLE = {"fillcolor": "#e6f4e6"}


def _work(x: Any) -> Any:
    # float16 statistics lose too much in float16 sums: compute in float32, as ONNX's stash_type=1.
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _work_on(xp: Any, x: Any) -> Any:
    """``_work`` on another library: float16 as float32, other dtypes as they are."""
    half = getattr(xp, "float16", None)  # array-api-strict has no float16
    return xp.astype(x, xp.float32) if half is not None and x.dtype == half else x


def _channel_shaped_on(xp: Any, value: Any, ndim: int) -> Any:
    return xp.reshape(value, (-1, *(1,) * (ndim - 2)))


def _normalize_on(xp: Any, w: Any, axes: tuple[int, ...], epsilon: float, scale: Any, bias: Any,
                  shape: tuple[int, ...] | None = None) -> Any:
    """``_normalize`` with the namespace's functions (Python's ``epsilon`` is weak: it keeps ``w``'s dtype)."""
    mean = xp.mean(w, axis=axes, keepdims=True)
    centered = w - mean
    var = xp.mean(centered * centered, axis=axes, keepdims=True)
    y = centered / xp.sqrt(var + epsilon)
    if shape is not None:
        y = xp.reshape(y, shape)
    scale, bias = _work_on(xp, scale), _work_on(xp, bias)
    return y * _channel_shaped_on(xp, scale, y.ndim) + _channel_shaped_on(xp, bias, y.ndim)


def _as_input(xp: Any, y: Any, x: Any) -> Any:
    """``y`` in ``x``'s dtype (the result's, whatever the parameters' dtypes)."""
    return xp.astype(y, x.dtype, copy=False)


def _float_input(x: Spec, what: str, min_rank: int) -> None:
    if x.dtype.kind != "f":
        raise ShapeError(f"{what} needs a float input, got {x.dtype}")
    if x.ndim < min_rank:
        raise ShapeError(f"{what} needs an input of rank {min_rank} or more (N, C, ...), got {format_shape(x.shape)}")


def _per_channel(x: Spec, params: Sequence[Spec], names: Sequence[str]) -> None:
    c = x.shape[1]
    for spec, name in zip(params, names):
        if spec.ndim != 1 or (c is not None and spec.shape[0] is not None and spec.shape[0] != c):
            raise ShapeError(f"{name} {format_shape(spec.shape)} should be ({c},): one value per channel of the "
                             f"input {format_shape(x.shape)}")
        if spec.dtype.kind != "f":
            raise ShapeError(f"{name} must be float, got {spec.dtype}")


def _default_affine(weight: Any, bias: Any, like: Node) -> tuple[Any, Any]:
    """torch's missing affine parameters: ones and zeros, ``like``'s shape and dtype (known sizes)."""
    if like.shape[0] is None:
        raise ValueError(f"normalization without affine parameters needs a known size, got {format_shape(like.shape)}")
    if weight is None:
        weight = constant(np.ones(like.shape, like.dtype))
    if bias is None:
        bias = constant(np.zeros(like.shape, like.dtype))
    return weight, bias


def _channel_shaped(value: Any, ndim: int) -> Any:
    return np.asarray(value).reshape(-1, *(1,) * (ndim - 2))


def emit_output(ctx: Any, op_type: str, inputs: Sequence[str], index: int, output: str, **attrs: Any) -> str:
    """One ONNX node whose output ``index`` is ``output`` (the outputs before it left out as ``""``)."""
    outputs = [""] * index + [output]
    ctx.nodes.append(ctx.onnx.helper.make_node(op_type, list(inputs), outputs, name=output, **attrs))
    return output


class BatchNorm(Op):
    """Inference batch normalization: ``(x - mean) / sqrt(var + epsilon) * scale + bias`` per channel (axis 1)."""

    kind = "batch_norm"
    arity = 5
    fresh_output = True
    onnx_type = "BatchNormalization"
    torch_ops = ("aten.batch_norm.default", "aten._native_batch_norm_legit_no_training.default")
    dot_style: ClassVar[dict[str, str]] = _STYLE

    def __init__(self, epsilon: float = 1e-5) -> None:
        self.epsilon = float(epsilon)

    def infer(self, x: Spec, scale: Spec, bias: Spec, mean: Spec, var: Spec) -> Spec:
        """The input's shape and dtype; each parameter one value per channel."""
        _float_input(x, "batch_norm", 2)
        _per_channel(x, (scale, bias, mean, var), ("scale", "bias", "mean", "var"))
        return x

    arrays = "any"

    def forward(self, x: Any, scale: Any, bias: Any, mean: Any, var: Any) -> Any:
        """Folded into one multiply and one add per element."""
        xp = array_namespace(x, scale, bias, mean, var)
        if xp is not np:
            w = _work_on(xp, x)
            factor = _work_on(xp, scale) / xp.sqrt(_work_on(xp, var) + self.epsilon)
            shift = _work_on(xp, bias) - _work_on(xp, mean) * factor
            factor = xp.astype(_channel_shaped_on(xp, factor, w.ndim), w.dtype, copy=False)
            shift = xp.astype(_channel_shaped_on(xp, shift, w.ndim), w.dtype, copy=False)
            return _as_input(xp, w * factor + shift, x)
        dtype = np.asarray(x).dtype
        w = _work(x)
        factor = _work(scale) / np.sqrt(_work(var) + self.epsilon)
        shift = _work(bias) - _work(mean) * factor
        return (w * _channel_shaped(factor, w.ndim).astype(w.dtype, copy=False)
                + _channel_shaped(shift, w.ndim).astype(w.dtype, copy=False)).astype(dtype, copy=False)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``epsilon``."""
        return {"epsilon": self.epsilon}

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """With running statistics (eval mode) only; a missing weight is ones, a missing bias zeros."""
        if target == "aten.batch_norm.default":
            x, weight, bias, mean, var, training, _, eps, _ = args
            if training or mean is None or var is None:
                raise ValueError("batch statistics (training mode, or no running statistics) are not supported: "
                                 "call module.eval() first")
        else:
            x, weight, bias, mean, var, _, eps = args
        weight, bias = _default_affine(weight, bias, mean)
        y = cls(eps)(x, weight, bias, mean, var)
        return y if target == "aten.batch_norm.default" else [y, None, None]

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Inference mode only: training (``training_mode``, ``is_test=0``, statistics outputs) is refused."""
        if ctx.int_attr("training_mode", 0) or (ctx.opset < 7 and not ctx.int_attr("is_test", 0)):
            raise ctx.error("training-mode batch normalization (batch statistics) is not supported: "
                            "tinygraph runs BatchNormalization as at inference")
        if any(ctx.node.output[1:]):
            raise ctx.error("the running statistics outputs exist only in training mode, which is not supported")
        if ctx.opset < 9 and not ctx.int_attr("spatial", 1):
            raise ctx.error("spatial=0 (statistics per channel and pixel) is not supported")
        return [cls(ctx.float_attr("epsilon", 1e-5))(*ctx.operands()[:5], name=ctx.name())]


_LN_OUTPUTS = ("Y", "Mean", "InvStdDev")


class LayerNorm(Op):
    """Normalization over the axes from ``axis`` on, times ``scale`` plus ``bias`` (ONNX ``LayerNormalization``).

    ``output`` picks the ONNX output the node holds: ``"Y"`` (the result), or the statistics ``"Mean"``
    and ``"InvStdDev"`` (``1 / sqrt(var + epsilon)``, shaped ``x.shape[:axis] + (1, ...)``).
    """

    kind = "layer_norm"
    fresh_output = True
    onnx_type = "LayerNormalization"
    torch_ops = ("aten.layer_norm.default",)
    dot_style: ClassVar[dict[str, str]] = _STYLE

    def __init__(self, axis: int = -1, epsilon: float = 1e-5, output: str = "Y") -> None:
        if output not in _LN_OUTPUTS:
            raise ValueError(f"output must be one of {_LN_OUTPUTS}, got {output!r}")
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.output = output

    def _axis(self, ndim: int) -> int:
        if not -ndim <= self.axis < ndim:
            raise ShapeError(f"axis {self.axis} is out of range for rank {ndim}")
        return self.axis % ndim

    def infer(self, *specs: Spec) -> Spec:
        """The input's spec for ``Y``; ``x.shape[:axis] + (1, ...)`` for the statistics."""
        if len(specs) not in (2, 3):
            raise ShapeError(f"takes x, scale and an optional bias, got {len(specs)} operand(s)")
        x, scale, bias = specs[0], specs[1], specs[2] if len(specs) == 3 else None
        _float_input(x, "layer_norm", 1)
        axis = self._axis(x.ndim)
        normalized = x.shape[axis:]
        for spec, name in ((scale, "scale"), (bias, "bias")):
            if spec is None:
                continue
            if spec.ndim > len(normalized) or broadcast_shapes(spec.shape, normalized) != normalized:
                raise ShapeError(f"{name} {format_shape(spec.shape)} does not broadcast to the normalized axes "
                                 f"{format_shape(normalized)} of the input {format_shape(x.shape)}")
        if self.output == "Y":
            return x
        # ONNX keeps the statistics in float32 at least (stash_type=1).
        stat = np.dtype(np.float32) if x.dtype == np.float16 else x.dtype
        return Spec((*x.shape[:axis], *(1,) * (x.ndim - axis)), stat)

    arrays = "any"

    def forward(self, x: Any, scale: Any, bias: Any = None) -> Any:
        """Mean and variance over the trailing axes, accumulated in float32 at least."""
        xp = array_namespace(x, scale) if bias is None else array_namespace(x, scale, bias)
        if xp is not np:
            return self._forward_on(xp, x, scale, bias)
        dtype = np.asarray(x).dtype
        w = _work(x)
        axes = tuple(range(self._axis(w.ndim), w.ndim))
        mean = np.mean(w, axis=axes, keepdims=True)
        centered = w - mean
        inv = 1 / np.sqrt(np.mean(np.square(centered), axis=axes, keepdims=True) + w.dtype.type(self.epsilon))
        if self.output == "Mean":
            return mean
        if self.output == "InvStdDev":
            return inv
        y = centered * inv * _work(scale)
        if bias is not None:
            y += _work(bias)
        return y.astype(dtype, copy=False)

    def _forward_on(self, xp: Any, x: Any, scale: Any, bias: Any) -> Any:
        """``forward`` with the namespace's functions (Python's ``epsilon`` is weak: it keeps ``w``'s dtype)."""
        w = _work_on(xp, x)
        axes = tuple(range(self._axis(w.ndim), w.ndim))
        mean = xp.mean(w, axis=axes, keepdims=True)
        centered = w - mean
        inv = 1 / xp.sqrt(xp.mean(centered * centered, axis=axes, keepdims=True) + self.epsilon)
        if self.output == "Mean":
            return mean
        if self.output == "InvStdDev":
            return inv
        y = centered * inv * _work_on(xp, scale)
        if bias is not None:
            y = y + _work_on(xp, bias)
        return _as_input(xp, y, x)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``layer_norm(x, normalized_shape, weight, bias, eps)``: a missing weight is ones."""
        x, shape, weight, bias, eps = args[:5]
        if weight is None:
            if any(d is None for d in x.shape[-len(shape):]):
                raise ValueError("layer_norm without a weight needs the normalized sizes known")
            weight = constant(np.ones(tuple(shape), x.dtype))
        op = cls(-len(shape), eps)
        return op(x, weight) if bias is None else op(x, weight, bias)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``LayerNormalization`` (opset 17), this node's value as its output ``Y``, ``Mean`` or ``InvStdDev``."""
        if ctx.opset < 17:
            raise ctx.error(node, f"LayerNormalization needs opset 17 or newer (export uses opset {ctx.opset})")
        operands = [ctx.operand(i, node.inputs[0].dtype) for i in node.inputs]
        return emit_output(ctx, "LayerNormalization", operands, _LN_OUTPUTS.index(self.output), ctx.name(node),
                           axis=self.axis, epsilon=self.epsilon)

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """One node per requested output (each computes the statistics again)."""
        axis, epsilon = ctx.int_attr("axis", -1), ctx.float_attr("epsilon", 1e-5)
        operands = ctx.operands()
        out: list[Node | None] = []
        for k, name in enumerate(ctx.node.output[:3]):
            out.append(cls(axis, epsilon, _LN_OUTPUTS[k])(*operands, name=name) if name else None)
        return out


class InstanceNorm(Op):
    """Normalization of each channel of each sample over its spatial axes, times ``scale`` plus ``bias``."""

    kind = "instance_norm"
    arity = 3
    fresh_output = True
    onnx_type = "InstanceNormalization"
    dot_style: ClassVar[dict[str, str]] = _STYLE

    def __init__(self, epsilon: float = 1e-5) -> None:
        self.epsilon = float(epsilon)

    def infer(self, x: Spec, scale: Spec, bias: Spec) -> Spec:
        """The input's spec; ``scale`` and ``bias`` one value per channel."""
        _float_input(x, "instance_norm", 3)
        _per_channel(x, (scale, bias), ("scale", "bias"))
        return x

    arrays = "any"

    def forward(self, x: Any, scale: Any, bias: Any) -> Any:
        """Statistics over axes 2.., per sample and channel."""
        xp = array_namespace(x, scale, bias)
        if xp is not np:
            w = _work_on(xp, x)
            return _as_input(xp, _normalize_on(xp, w, tuple(range(2, w.ndim)), self.epsilon, scale, bias), x)
        dtype = np.asarray(x).dtype
        w = _work(x)
        return _normalize(w, tuple(range(2, w.ndim)), self.epsilon, scale, bias).astype(dtype, copy=False)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``epsilon``."""
        return {"epsilon": self.epsilon}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``epsilon``."""
        return {"epsilon": ctx.float_attr("epsilon", 1e-5)}


def _normalize(w: Any, axes: tuple[int, ...], epsilon: float, scale: Any, bias: Any,
               shape: tuple[int, ...] | None = None) -> Any:
    mean = np.mean(w, axis=axes, keepdims=True)
    centered = w - mean
    var = np.mean(np.square(centered), axis=axes, keepdims=True)
    y = centered / np.sqrt(var + w.dtype.type(epsilon))
    if shape is not None:
        y = y.reshape(shape)
    return y * _channel_shaped(_work(scale), y.ndim) + _channel_shaped(_work(bias), y.ndim)


class GroupNorm(Op):
    """Channels split into ``num_groups`` groups, each normalized per sample; then ``scale``/``bias`` per channel."""

    kind = "group_norm"
    arity = 3
    fresh_output = True
    onnx_type = "GroupNormalization"
    dot_style: ClassVar[dict[str, str]] = _STYLE

    def __init__(self, num_groups: int, epsilon: float = 1e-5) -> None:
        if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
            raise ValueError(f"num_groups must be an int >= 1, got {num_groups!r}")
        self.num_groups = int(num_groups)
        self.epsilon = float(epsilon)

    def infer(self, x: Spec, scale: Spec, bias: Spec) -> Spec:
        """The input's spec; channels divisible by ``num_groups``; ``scale``/``bias`` one value per channel."""
        _float_input(x, "group_norm", 2)
        c = x.shape[1]
        if c is not None and c % self.num_groups:
            raise ShapeError(f"{c} channels do not split into num_groups={self.num_groups} groups")
        _per_channel(x, (scale, bias), ("scale", "bias"))
        return x

    arrays = "any"

    def forward(self, x: Any, scale: Any, bias: Any) -> Any:
        """Statistics over each group's channels and pixels."""
        xp = array_namespace(x, scale, bias)
        if xp is not np:
            w = _work_on(xp, x)
            grouped = xp.reshape(w, (w.shape[0], self.num_groups, -1))
            return _as_input(xp, _normalize_on(xp, grouped, (2,), self.epsilon, scale, bias, tuple(w.shape)), x)
        dtype = np.asarray(x).dtype
        w = _work(x)
        grouped = w.reshape(w.shape[0], self.num_groups, -1)
        return _normalize(grouped, (2,), self.epsilon, scale, bias, w.shape).astype(dtype, copy=False)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``GroupNormalization`` from opset 21; before, InstanceNormalization of the grouped input, then scale/bias.

        Opset 18's GroupNormalization takes one scale per group, not per channel: it can't express this op.
        """
        x, scale, bias = node.inputs
        dtype = node.dtype
        xs, ss, bs = (ctx.operand(i, dtype) for i in (x, scale, bias))
        attrs = {"num_groups": self.num_groups, "epsilon": self.epsilon}
        if ctx.opset >= 21:
            return str(ctx.emit("GroupNormalization", [xs, ss, bs], output=ctx.name(node), **attrs))
        name = ctx.name(node)
        if all(d is not None for d in x.shape[1:]):  # Reshape's 0 copies the batch size: no Shape op needed
            shape = ctx.constant(np.array([0, *x.shape[1:]], dtype=np.int64), f"{name}_shape")
        else:
            shape = ctx.emit("Shape", [xs], output=ctx.fresh(f"{name}_shape"))
        grouped_shape = ctx.constant(np.array([0, self.num_groups, -1], dtype=np.int64), f"{name}_grouped_shape")
        grouped = ctx.emit("Reshape", [xs, grouped_shape], output=ctx.fresh(f"{name}_grouped"))
        ones = ctx.constant(np.ones(self.num_groups, dtype=dtype), f"{name}_ones")
        zeros = ctx.constant(np.zeros(self.num_groups, dtype=dtype), f"{name}_zeros")
        normed = ctx.emit("InstanceNormalization", [grouped, ones, zeros], output=ctx.fresh(f"{name}_normed"),
                          epsilon=self.epsilon)
        back = ctx.emit("Reshape", [normed, shape], output=ctx.fresh(f"{name}_ungrouped"))
        per_channel = ctx.constant(np.array([-1, *(1,) * (x.ndim - 2)], dtype=np.int64), f"{name}_channel_shape")
        s = ctx.emit("Reshape", [ss, per_channel], output=ctx.fresh(f"{name}_scale"))
        b = ctx.emit("Reshape", [bs, per_channel], output=ctx.fresh(f"{name}_bias"))
        scaled = ctx.emit("Mul", [back, s], output=ctx.fresh(f"{name}_scaled"))
        return str(ctx.emit("Add", [scaled, b], output=name))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Opset 21's per-channel scale/bias; opset 18's per-group ones are repeated per channel (load-time values)."""
        groups = ctx.int_attr("num_groups", 0)
        if groups < 1:
            raise ctx.error(f"num_groups must be >= 1, got {groups}")
        x = ctx.input(0)
        scale, bias = ctx.input(1), ctx.input(2)
        if ctx.opset < 21:
            c = x.shape[1] if x.ndim > 1 else None
            if c is None:
                raise ctx.error("opset-18 GroupNormalization (one scale per group) needs the channel count known")
            scale = constant(np.repeat(ctx.static(1, "scale"), c // groups), name=ctx.name("scale"))
            bias = constant(np.repeat(ctx.static(2, "bias"), c // groups), name=ctx.name("bias"))
        return [cls(groups, ctx.float_attr("epsilon", 1e-5))(x, scale, bias, name=ctx.name())]


class Dropout(Op):
    """Dropout as at inference: the input unchanged (``ratio`` is kept for export and display)."""

    arity = 1
    onnx_type = "Dropout"

    def __init__(self, ratio: float = 0.5) -> None:
        ratio = float(ratio)
        if not 0 <= ratio < 1:
            raise ValueError(f"ratio must be in [0, 1), got {ratio}")
        self.ratio = ratio

    def infer(self, x: Spec) -> Spec:
        """The input's spec."""
        return x

    arrays = "any"

    def forward(self, x: Any) -> Any:
        """``x`` itself."""
        return x

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Dropout`` in inference mode, ``ratio`` as an input (opset 12+)."""
        ratio = ctx.constant(np.array(self.ratio, dtype=node.dtype), f"{ctx.name(node)}_ratio")
        return str(ctx.emit("Dropout", [ctx.operand(node.inputs[0]), ratio], output=ctx.name(node)))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Inference mode only; the ``mask`` output is refused (it would be all true)."""
        if len(ctx.node.output) > 1 and ctx.node.output[1]:
            raise ctx.error("Dropout's mask output is not supported (tinygraph runs Dropout as at inference)")
        training = ctx.opset >= 12 and ctx.has_input(2) and bool(np.any(ctx.static(2, "training_mode")))
        if training or (ctx.opset < 7 and not ctx.int_attr("is_test", 0)):
            raise ctx.error("training-mode Dropout (random zeros) is not supported: tinygraph runs it as at inference")
        ratio = 0.5
        if ctx.opset < 12:
            ratio = ctx.float_attr("ratio", 0.5)
        elif ctx.has_input(1):
            try:
                ratio = float(ctx.static(1, "ratio"))
            except GraphError:  # the ratio plays no part at inference: unknown is fine
                ratio = 0.5
        return [cls(ratio)(ctx.input(0), name=ctx.name())]


def batch_norm(x: Any, scale: Any, bias: Any, mean: Any, var: Any, epsilon: float = 1e-5, *,
               name: str | None = None) -> Node:
    """Inference batch normalization of ``x (N, C, ...)`` with per-channel ``scale, bias, mean, var`` (ONNX order)."""
    return BatchNorm(epsilon)(x, scale, bias, mean, var, name=name)


def layer_norm(x: Any, scale: Any, bias: Any = None, axis: int = -1, epsilon: float = 1e-5, *,
               name: str | None = None) -> Node:
    """Normalization over the axes ``axis..``, times ``scale`` plus ``bias`` (ONNX ``LayerNormalization``)."""
    op = LayerNorm(axis, epsilon)
    return op(x, scale, name=name) if bias is None else op(x, scale, bias, name=name)


def instance_norm(x: Any, scale: Any, bias: Any, epsilon: float = 1e-5, *, name: str | None = None) -> Node:
    """Normalization of each sample's channels over their spatial axes, then per-channel ``scale``, ``bias``."""
    return InstanceNorm(epsilon)(x, scale, bias, name=name)


def group_norm(x: Any, scale: Any, bias: Any, num_groups: int, epsilon: float = 1e-5, *,
               name: str | None = None) -> Node:
    """Normalization over groups of ``num_groups`` channels, then per-channel ``scale``, ``bias``."""
    return GroupNorm(num_groups, epsilon)(x, scale, bias, name=name)


def dropout(x: Any, ratio: float = 0.5, *, name: str | None = None) -> Node:
    """Dropout at inference: ``x`` unchanged."""
    return Dropout(ratio)(x, name=name)
