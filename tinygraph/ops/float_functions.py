"""Float functions of CNNs and transformers: ``gelu``, ``erf``, ``leaky_relu``, ``hard_sigmoid``,
``hard_swish``, ``elu``, ``selu``, ``celu``, ``softsign``, ``mish`` and ``log_softmax``.

Float functions keep their operand's float dtype (integers give float64, as numpy's ``exp``);
float16 is computed in float32 and rounded once, as onnxruntime does, so that a float16 graph is
as accurate as its dtype allows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.special import erf as _scipy_erf  # type: ignore[import-untyped]

from ..arrays import array_namespace, floating, special, via_numpy
from ..node import Node
from ..op import Op
from ..shapes import Spec, normalize_axes, ufunc_dtype
from .activations import softmax_from_onnx

__all__ = [
    "Gelu", "Erf", "LeakyReLU", "HardSigmoid", "HardSwish", "LogSoftmax", "Elu", "Selu", "Celu", "Softsign", "Mish",
    "gelu", "erf", "leaky_relu", "hard_sigmoid", "hard_swish", "log_softmax", "elu", "selu", "celu", "softsign",
    "mish",
]

_FLOAT16 = np.dtype(np.float16)
_FLOAT32 = np.dtype(np.float32)


def float_dtype(a: Spec) -> np.dtype[Any]:
    """The float dtype a float function of ``a`` gives: ``a``'s own, float64 for integers."""
    return ufunc_dtype(np.exp, a)


def _working(a: Any) -> tuple[Any, np.dtype[Any]]:
    # The array to compute on (float16 widened to float32) and the dtype of the result.
    x = np.asarray(a)
    out = np.dtype(np.exp.resolve_dtypes((x.dtype, None))[-1])
    return x.astype(_FLOAT32 if out == _FLOAT16 else out, copy=False), out


def _working_xp(xp: Any, a: Any) -> tuple[Any, Any]:
    # _working on another library: the array to compute on and the dtype of the result.
    x = floating(xp, a)
    if x.dtype == getattr(xp, "float16", None):  # array-api-strict has no float16
        return xp.astype(x, xp.float32), x.dtype
    return x, x.dtype


def _erf(x: Any, op: str) -> Any:
    """``scipy.special.erf`` on any library: its own (``torch.special.erf``...), else through numpy for ``op``."""
    if isinstance(x, np.ndarray):
        return _scipy_erf(x)
    xp = array_namespace(x)
    fn = special(xp, "erf")
    if fn is None:  # the standard has no erf: numpy's, with a one-time warning
        return via_numpy(f"{op} (erf)", _scipy_erf, [x])
    return fn(x)


class _FloatFunction(Op):
    """A float function applied elementwise: ``compute`` on the working dtype, rounded once."""

    arity = 1
    fresh_output = True
    neuron_role: ClassVar[str | None] = "activation"
    arrays = "any"

    def compute(self, x: Any, xp: Any) -> Any:
        """The function on a float32 or float64 array, with the functions of namespace ``xp``."""
        raise NotImplementedError

    def forward(self, a: Any) -> Any:
        """``compute`` in float32 for float16 operands, else in the operand's float dtype."""
        xp = array_namespace(a)
        if xp is not np:
            x, out = _working_xp(xp, a)
            y = self.compute(x, xp)
            return y if y.dtype == out else xp.astype(y, out)
        x, out = _working(a)
        with np.errstate(over="ignore", under="ignore"):
            return np.asarray(self.compute(x, np)).astype(out, copy=False)

    def infer(self, a: Spec) -> Spec:
        """Same shape; the float dtype ``exp`` gives."""
        return Spec(a.shape, float_dtype(a))

    def _typed(self, x: Any, value: float) -> Any:
        # numpy: a scalar of x's dtype; other libraries: the Python float, weak, which they cast to it.
        return x.dtype.type(value) if isinstance(x, np.ndarray) else value


class Gelu(_FloatFunction):
    """``x * Phi(x)``: exact with erf, or the tanh approximation (``approximate="tanh"``)."""

    torch_module = "GELU"
    onnx_type = "Gelu"
    torch_ops = ("aten.gelu.default",)

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"Gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
        self.approximate = approximate

    def compute(self, x: Any, xp: Any) -> Any:
        """``0.5 x (1 + erf(x / sqrt 2))`` or ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
        half = self._typed(x, 0.5)
        if self.approximate == "tanh":
            inner = self._typed(x, math.sqrt(2 / math.pi)) * (x + self._typed(x, 0.044715) * x * x * x)
            return half * x * (1 + xp.tanh(inner))
        return half * x * (1 + _erf(x * self._typed(x, 1 / math.sqrt(2)), type(self).__name__))

    @classmethod
    def from_torch_module(cls, module: Any) -> Gelu:
        """``torch.nn.GELU(approximate=...)``."""
        return cls(module.approximate)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``gelu(x, *, approximate)``."""
        return cls(kwargs.get("approximate", "none"))(args[0])

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Gelu`` from opset 20; before, its formula in Erf (or Tanh), Mul and Add nodes."""
        x = ctx.operand(node.inputs[0], node.dtype)
        if ctx.opset >= 20:
            return str(ctx.emit("Gelu", [x], output=ctx.name(node), approximate=self.approximate))
        name = ctx.name(node)

        def c(value: float) -> str:
            return str(ctx.constant(np.asarray(value, dtype=node.dtype), f"{name}_c"))

        if self.approximate == "tanh":
            cube = ctx.emit("Mul", [ctx.emit("Mul", [x, x]), x])
            inner = ctx.emit("Add", [x, ctx.emit("Mul", [cube, c(0.044715)])])
            t = ctx.emit("Tanh", [ctx.emit("Mul", [inner, c(math.sqrt(2 / math.pi))])])
        else:
            t = ctx.emit("Erf", [ctx.emit("Mul", [x, c(1 / math.sqrt(2))])])
        half_x = ctx.emit("Mul", [x, c(0.5)])
        return str(ctx.emit("Mul", [half_x, ctx.emit("Add", [t, c(1.0)])], output=name))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``approximate``."""
        return {"approximate": str(ctx.attr("approximate", "none"))}


class Erf(_FloatFunction):
    """The error function, ``scipy.special.erf``."""

    neuron_role = None
    onnx_type = "Erf"

    def compute(self, x: Any, xp: Any) -> Any:
        """``scipy.special.erf`` (``torch.special.erf``..., through numpy where the library has none)."""
        return _erf(x, type(self).__name__)


class _AlphaFunction(_FloatFunction):
    """A float function with one ``alpha`` setting, an ONNX attribute and a torch module argument."""

    #: ONNX's default ``alpha``, and the torch module's attribute holding it.
    onnx_alpha_default: ClassVar[float]
    torch_alpha: ClassVar[str] = "alpha"

    def __init__(self, alpha: float) -> None:
        self.alpha = float(alpha)

    @classmethod
    def from_torch_module(cls, module: Any) -> _AlphaFunction:
        """The torch module's ``alpha`` (``negative_slope`` for ``LeakyReLU``)."""
        return cls(getattr(module, cls.torch_alpha))

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``alpha``."""
        return {"alpha": self.alpha}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``alpha``, ONNX's default when absent."""
        return {"alpha": ctx.float_attr("alpha", cls.onnx_alpha_default)}


class LeakyReLU(_AlphaFunction):
    """``x`` where positive, else ``alpha * x``."""

    kind = "leaky_relu"
    torch_module = "LeakyReLU"
    onnx_type = "LeakyRelu"

    onnx_alpha_default = 0.01
    torch_alpha = "negative_slope"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__(alpha)

    def compute(self, x: Any, xp: Any) -> Any:
        """``where(x >= 0, x, alpha * x)``."""
        return xp.where(x >= 0, x, x * self._typed(x, self.alpha))


class HardSigmoid(_FloatFunction):
    """``clip(alpha * x + beta, 0, 1)``; ONNX's defaults (torch's ``Hardsigmoid`` is alpha 1/6)."""

    kind = "hard_sigmoid"
    torch_module = "Hardsigmoid"
    onnx_type = "HardSigmoid"

    def __init__(self, alpha: float = 0.2, beta: float = 0.5) -> None:
        self.alpha = float(alpha)
        self.beta = float(beta)

    def compute(self, x: Any, xp: Any) -> Any:
        """``clip(alpha * x + beta, 0, 1)``."""
        return xp.clip(x * self._typed(x, self.alpha) + self._typed(x, self.beta), 0, 1)

    @classmethod
    def from_torch_module(cls, module: Any) -> HardSigmoid:
        """``torch.nn.Hardsigmoid()``: ``relu6(x + 3) / 6``."""
        return cls(1 / 6, 0.5)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``alpha``, ``beta``."""
        return {"alpha": self.alpha, "beta": self.beta}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``alpha`` (0.2), ``beta`` (0.5)."""
        return {"alpha": ctx.float_attr("alpha", 0.2), "beta": ctx.float_attr("beta", 0.5)}


class HardSwish(_FloatFunction):
    """``x * clip(x / 6 + 1/2, 0, 1)``."""

    kind = "hard_swish"
    torch_module = "Hardswish"
    onnx_type = "HardSwish"

    def compute(self, x: Any, xp: Any) -> Any:
        """``x * clip(x / 6 + 0.5, 0, 1)``."""
        return x * xp.clip(x * self._typed(x, 1 / 6) + self._typed(x, 0.5), 0, 1)


class Elu(_AlphaFunction):
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""

    torch_module = "ELU"
    onnx_type = "Elu"

    onnx_alpha_default = 1.0

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(alpha)

    def compute(self, x: Any, xp: Any) -> Any:
        """``where(x > 0, x, alpha * expm1(x))``."""
        return xp.where(x > 0, x, self._typed(x, self.alpha) * xp.expm1(xp.minimum(x, 0)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_GAMMA = 1.0507009873554804934193349852946


class Selu(_FloatFunction):
    """``gamma * (x where positive, else alpha * (exp(x) - 1))``; defaults from the SELU paper."""

    torch_module = "SELU"
    onnx_type = "Selu"

    def __init__(self, alpha: float = _SELU_ALPHA, gamma: float = _SELU_GAMMA) -> None:
        self.alpha = float(alpha)
        self.gamma = float(gamma)

    def compute(self, x: Any, xp: Any) -> Any:
        """``gamma * where(x > 0, x, alpha * expm1(x))``."""
        neg = self._typed(x, self.alpha) * xp.expm1(xp.minimum(x, 0))
        return self._typed(x, self.gamma) * xp.where(x > 0, x, neg)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``alpha``, ``gamma``."""
        return {"alpha": self.alpha, "gamma": self.gamma}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``alpha``, ``gamma`` (ONNX's float32 defaults)."""
        return {"alpha": ctx.float_attr("alpha", 1.67326319217681884765625),
                "gamma": ctx.float_attr("gamma", 1.05070102214813232421875)}


class Celu(_AlphaFunction):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""

    torch_module = "CELU"
    onnx_type = "Celu"

    onnx_alpha_default = 1.0

    def __init__(self, alpha: float = 1.0) -> None:
        if alpha == 0:
            raise ValueError("Celu: alpha must not be 0")
        super().__init__(alpha)

    def compute(self, x: Any, xp: Any) -> Any:
        """The formula, with ``expm1``."""
        alpha = self._typed(x, self.alpha)
        return xp.maximum(x, 0) + xp.minimum(0, alpha * xp.expm1(xp.minimum(x, 0) / alpha))


class Softsign(_FloatFunction):
    """``x / (1 + |x|)``."""

    torch_module = "Softsign"
    onnx_type = "Softsign"

    def compute(self, x: Any, xp: Any) -> Any:
        """The formula."""
        return x / (1 + xp.abs(x))


class Mish(_FloatFunction):
    """``x * tanh(softplus(x))``."""

    torch_module = "Mish"
    onnx_type = "Mish"

    def compute(self, x: Any, xp: Any) -> Any:
        """``x * tanh(logaddexp(0, x))``."""
        return x * xp.tanh(xp.logaddexp(0, x))

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Mish`` from opset 18; before, ``x * Tanh(Softplus(x))``."""
        x = ctx.operand(node.inputs[0], node.dtype)
        if ctx.opset >= 18:
            return str(ctx.emit("Mish", [x], output=ctx.name(node)))
        return str(ctx.emit("Mul", [x, ctx.emit("Tanh", [ctx.emit("Softplus", [x])])], output=ctx.name(node)))


class LogSoftmax(Op):
    """``a - logsumexp(a)`` along ``axis``, shifted by the max so it never overflows."""

    kind = "log_softmax"
    arity = 1
    fresh_output = True
    neuron_role = "activation"
    torch_module = "LogSoftmax"
    onnx_type = "LogSoftmax"

    def __init__(self, axis: int = -1) -> None:
        self.axis = int(axis)

    arrays = "any"

    def forward(self, a: Any) -> Any:
        """Stable log-softmax; float16 computed in float32."""
        xp = array_namespace(a)
        if xp is not np:
            w, dtype = _working_xp(xp, a)
            shifted = w - xp.max(w, axis=self.axis, keepdims=True)
            y = shifted - xp.log(xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True))
            return y if y.dtype == dtype else xp.astype(y, dtype)
        x, out = _working(a)
        shifted = x - np.max(x, axis=self.axis, keepdims=True)
        with np.errstate(under="ignore", divide="ignore"):
            return (shifted - np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))).astype(out, copy=False)

    def infer(self, a: Spec) -> Spec:
        """Same shape; the float dtype ``exp`` gives."""
        normalize_axes(self.axis, a.ndim)
        return Spec(a.shape, float_dtype(a))

    @classmethod
    def from_torch_module(cls, module: Any) -> LogSoftmax:
        """``torch.nn.LogSoftmax(dim)``; a missing ``dim`` is refused (torch guesses it from the rank)."""
        if module.dim is None:
            raise ValueError("give it an explicit dim: torch picks one from the input's rank")
        return cls(int(module.dim))

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Opset 13's per-axis form, or the older one over all axes from ``axis`` on (flattened)."""
        return [softmax_from_onnx(cls, ctx)]


# --- function forms --------------------------------------------------------------------------------


def gelu(a: Any, approximate: str = "none", *, name: str | None = None) -> Node:
    """``x * Phi(x)`` with erf, or its tanh approximation (``approximate="tanh"``)."""
    return Gelu(approximate)(a, name=name)


def erf(a: Any, *, name: str | None = None) -> Node:
    """The error function."""
    return Erf()(a, name=name)


def leaky_relu(a: Any, alpha: float = 0.01, *, name: str | None = None) -> Node:
    """``a`` where positive, else ``alpha * a``."""
    return LeakyReLU(alpha)(a, name=name)


def hard_sigmoid(a: Any, alpha: float = 0.2, beta: float = 0.5, *, name: str | None = None) -> Node:
    """``clip(alpha * a + beta, 0, 1)``."""
    return HardSigmoid(alpha, beta)(a, name=name)


def hard_swish(a: Any, *, name: str | None = None) -> Node:
    """``a * clip(a / 6 + 1/2, 0, 1)``."""
    return HardSwish()(a, name=name)


def log_softmax(a: Any, axis: int = -1, *, name: str | None = None) -> Node:
    """``log(softmax(a, axis))``, computed stably."""
    return LogSoftmax(axis)(a, name=name)


def elu(a: Any, alpha: float = 1.0, *, name: str | None = None) -> Node:
    """``a`` where positive, else ``alpha * (exp(a) - 1)``."""
    return Elu(alpha)(a, name=name)


def selu(a: Any, alpha: float = _SELU_ALPHA, gamma: float = _SELU_GAMMA, *, name: str | None = None) -> Node:
    """Scaled ELU."""
    return Selu(alpha, gamma)(a, name=name)


def celu(a: Any, alpha: float = 1.0, *, name: str | None = None) -> Node:
    """Continuously differentiable ELU."""
    return Celu(alpha)(a, name=name)


def softsign(a: Any, *, name: str | None = None) -> Node:
    """``a / (1 + |a|)``."""
    return Softsign()(a, name=name)


def mish(a: Any, *, name: str | None = None) -> Node:
    """``a * tanh(softplus(a))``."""
    return Mish()(a, name=name)
