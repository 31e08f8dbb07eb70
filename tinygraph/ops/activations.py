"""Activation functions: what a textbook layer applies to each neuron's value."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, floating, lacks_kernels, special, via_numpy
from ..node import Node
from ..op import Op
from ..shapes import Spec, normalize_axes, ufunc_dtype
from .elementwise import ufunc_operands
from .layout import reshape

__all__ = ["Sigmoid", "ReLU", "Softmax", "Softplus", "sigmoid", "relu", "softmax", "softplus"]

_WEAK_ZERO = Spec((), np.dtype(np.int64), weak=True)


# Not scipy's expit: its exp is not numpy's (numpy's SIMD exp differs in the last bit on some
# CPUs), and the textbook's numbers are the formula's on the machine it runs on. exp(-a) overflows
# to inf for very negative a, and 1 / inf == 0 is the right answer; underflow to 0 likewise gives 1.
# errstate as a decorator switches the error state for a call at about half the cost of a `with`.
@np.errstate(over="ignore", under="ignore")
def _textbook_sigmoid(out: Any, a: Any) -> Any:
    # Each step is the formula's own ufunc on its own dtype, in ``out``'s buffer when there is one.
    if out is None or out.dtype.kind != "f":
        return np.divide(1, np.add(1, np.exp(np.negative(a))), out=out)
    buf = np.negative(a, out)
    np.exp(buf, buf)
    np.add(buf, 1, buf)
    return np.divide(1, buf, buf)


class Sigmoid(Op):
    """``1 / (1 + exp(-a))``, without overflow warnings or NaN for any finite input."""

    arity = 1
    fresh_output = True
    neuron_role = "activation"
    torch_module = "Sigmoid"
    onnx_type = "Sigmoid"
    torch_ops = ("aten.sigmoid.default",)

    arrays = "any"

    def forward(self, a: Any) -> Any:
        """The textbook formula, bit for bit: numpy's own ``exp``, ``add`` and ``divide`` on the operand's dtype."""
        xp = array_namespace(a)
        if xp is not np:
            a = floating(xp, a)
            expit_xp = special(xp, "expit")
            return expit_xp(a) if expit_xp is not None else 1 / (1 + xp.exp(-a))
        return self.forward_into(None, a)

    def forward_into(self, out: Any, a: Any) -> Any:
        """The same, written into ``out`` (which may be ``a``'s buffer, or ``None`` for a new one)."""
        if getattr(a, "dtype", np.dtype(float)).kind in "biu":
            # Integers become the float dtype exp gives them first: -a of an unsigned int wraps around.
            a = np.asarray(a).astype(ufunc_dtype(np.exp, Spec((), np.asarray(a).dtype)))
        return _textbook_sigmoid(out, a)

    def lowering(self, backend: str, node: Node) -> Any:
        """``jax.nn.sigmoid``; numba: the formula per element in the node's dtype (``exp`` overflowing gives 0)."""
        if backend == "jax":
            return lambda jax, a: jax.nn.sigmoid(a)
        return ("map", "{t}(1) / ({t}(1) + np.exp(-{0}))") if backend == "numba" else None

    def infer(self, a: Spec) -> Spec:
        """Same shape; the float dtype ``exp`` gives."""
        return Spec(a.shape, ufunc_dtype(np.exp, a))


class ReLU(Op):
    """``max(a, 0)``."""

    kind = "relu"
    arity = 1
    fresh_output = True
    neuron_role = "activation"
    torch_module = "ReLU"
    onnx_type = "Relu"
    torch_ops = ("aten.relu.default",)

    arrays = "any"

    def forward(self, a: Any) -> Any:
        """``maximum(a, 0)``."""
        xp = array_namespace(a)
        if xp is np:
            return np.maximum(a, 0)
        operands = ufunc_operands(xp, np.maximum, (a, 0))  # bool: numpy's maximum(a, 0) is int64
        if lacks_kernels(operands) is not None:
            return via_numpy("ReLU", self.forward, [a])
        return xp.maximum(*operands)

    def forward_into(self, out: Any, a: Any) -> Any:
        """``np.maximum(a, 0, out=out)``."""
        return np.maximum(a, 0, out=out)

    def lowering(self, backend: str, node: Node) -> Any:
        """``maximum(a, 0)`` on each backend (NaN stays NaN)."""
        if backend == "jax":
            return lambda jax, a: jax.numpy.maximum(a, 0)
        return ("map", "np.maximum({0}, {t}(0))") if backend == "numba" else None

    def infer(self, a: Spec) -> Spec:
        """Same shape and dtype."""
        return Spec(a.shape, ufunc_dtype(np.maximum, a, _WEAK_ZERO))


class Softmax(Op):
    """``exp(a) / sum(exp(a))`` along ``axis``, shifted by the max so it never overflows."""

    arity = 1
    fresh_output = True
    neuron_role = "activation"
    torch_module = "Softmax"
    onnx_type = "Softmax"
    torch_ops = ("aten.softmax.int", "aten._softmax.default")

    def __init__(self, axis: int = -1) -> None:
        self.axis = int(axis)

    arrays = "any"

    def forward(self, a: Any) -> Any:
        """Stable softmax; float16 computed in float32 and rounded once, as onnxruntime does."""
        xp = array_namespace(a)
        if xp is not np:
            x = floating(xp, a)
            half = x.dtype == getattr(xp, "float16", None)  # array-api-strict has no float16
            work = xp.astype(x, xp.float32) if half else x
            e = xp.exp(work - xp.max(work, axis=self.axis, keepdims=True))
            y = e / xp.sum(e, axis=self.axis, keepdims=True)
            return xp.astype(y, xp.float16) if work is not x else y
        x = np.asarray(a)
        work = x.astype(np.float32) if x.dtype == np.float16 else x
        with np.errstate(under="ignore"):  # exp of a large negative shift is 0, which is the right answer
            e = np.exp(np.subtract(work, np.max(work, axis=self.axis, keepdims=True)))
        y = np.divide(e, np.sum(e, axis=self.axis, keepdims=True))
        return y.astype(np.float16) if work is not x else y

    def infer(self, a: Spec) -> Spec:
        """Same shape; the float dtype ``exp`` gives."""
        normalize_axes(self.axis, a.ndim)
        return Spec(a.shape, ufunc_dtype(np.exp, a))

    def lowering(self, backend: str, node: Node) -> Any:
        """``jax.nn.softmax`` (shifted by the max too); no numba lowering."""
        return (lambda jax, a: jax.nn.softmax(a, axis=self.axis)) if backend == "jax" else None

    @classmethod
    def from_torch_module(cls, module: Any) -> Softmax:
        """``torch.nn.Softmax(dim)``; a missing ``dim`` is refused (torch guesses it from the rank)."""
        if module.dim is None:
            raise ValueError("give it an explicit dim: torch picks one from the input's rank")
        return cls(int(module.dim))

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``softmax(x, dim, dtype=None)`` and ``_softmax(x, dim, half_to_float=False)``."""
        x, dim, extra = args
        if extra is not None and extra is not False:  # a dtype, or half_to_float=True
            raise ValueError(f"a softmax computed in another dtype ({extra}) is not supported")
        return cls(dim)(x)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Opset 13's per-axis softmax, or the older one over all axes from ``axis`` on."""
        return [softmax_from_onnx(cls, ctx)]


class Softplus(Op):
    """``log(1 + exp(a))``, computed as ``logaddexp(0, a)`` so that it never overflows."""

    arity = 1
    fresh_output = True
    neuron_role = "activation"
    torch_module = "Softplus"
    onnx_type = "Softplus"
    torch_ops = ("aten.softplus.default",)
    arrays = "any"

    def forward(self, a: Any) -> Any:
        """``np.logaddexp(0, a)``."""
        xp = array_namespace(a)
        if xp is np:
            return np.logaddexp(0, a)
        return xp.logaddexp(0, floating(xp, a))

    def forward_into(self, out: Any, a: Any) -> Any:
        """``np.logaddexp(0, a, out=out)``."""
        return np.logaddexp(0, a, out=out)

    def lowering(self, backend: str, node: Node) -> Any:
        """``logaddexp(0, a)`` on each backend."""
        if backend == "jax":
            return lambda jax, a: jax.numpy.logaddexp(0, a)
        return ("map", "np.logaddexp({t}(0), {0})") if backend == "numba" else None

    def infer(self, a: Spec) -> Spec:
        """Same shape; the float dtype ``exp`` gives."""
        return Spec(a.shape, ufunc_dtype(np.logaddexp, _WEAK_ZERO, Spec((), ufunc_dtype(np.exp, a))))

    @classmethod
    def from_torch_module(cls, module: Any) -> Softplus:
        """``torch.nn.Softplus()``; other ``beta``/``threshold`` settings compute something else."""
        if module.beta != 1 or module.threshold != 20:
            raise ValueError("only beta=1 is log(1 + exp(x)); torch's threshold switches to x above it")
        return cls()

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``softplus(x, beta=1, threshold=20)``, the defaults only, as in ``from_torch_module``."""
        x, beta, threshold = args
        if beta != 1 or threshold != 20:
            raise ValueError("only beta=1 is log(1 + exp(x)); torch's threshold switches to x above it")
        return cls()(x)


def softmax_from_onnx(cls: Any, ctx: Any) -> Node:
    """``cls(axis)`` for an ONNX (Log)Softmax node: per axis from opset 13, over all axes from ``axis`` before.

    Before opset 13 these ops flatten the input to 2-D at ``axis`` (default 1) and normalise each
    row: one softmax over all the trailing axes together.
    """
    x = ctx.input(0)
    if ctx.opset >= 13:
        node: Node = cls(ctx.int_attr("axis", -1))(x, name=ctx.name())
        return node
    if x.ndim == 0:
        raise ctx.error(f"{cls.kind} of a scalar")
    axis = ctx.int_attr("axis", 1)
    if not -x.ndim <= axis < x.ndim:
        raise ctx.error(f"axis {axis} is out of range for rank {x.ndim}")
    axis %= x.ndim
    if axis == x.ndim - 1:
        node = cls(-1)(x, name=ctx.name())
        return node
    inner = x.shape[axis:]
    if any(d is None for d in inner) or sum(d is None for d in x.shape) > 1:
        raise ctx.error(
            f"opset-{ctx.opset} {ctx.node.op_type} over axes {axis}.. of a {x.shape} input needs those sizes "
            "known (and at most one unknown dim) to flatten them"
        )
    flat = reshape(x, (-1, math.prod(inner)), name=ctx.name("flat"))
    y = cls(-1)(flat, name=ctx.name(cls.kind))
    return reshape(y, tuple(-1 if d is None else d for d in x.shape), name=ctx.name())


def sigmoid(a: Any, *, name: str | None = None) -> Node:
    """``1 / (1 + exp(-a))``, numerically stable."""
    return Sigmoid()(a, name=name)


def relu(a: Any, *, name: str | None = None) -> Node:
    """``max(a, 0)``."""
    return ReLU()(a, name=name)


def softmax(a: Any, axis: int = -1, *, name: str | None = None) -> Node:
    """Softmax along ``axis``."""
    return Softmax(axis)(a, name=name)


def softplus(a: Any, *, name: str | None = None) -> Node:
    """``log(1 + exp(a))``, numerically stable."""
    return Softplus()(a, name=name)
