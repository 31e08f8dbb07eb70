"""Elementwise math beyond arithmetic: activations of CNNs and transformers, rounding, trigonometry.

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

from ..arrays import array_namespace, common_library, floating, special, via_numpy
from ..errors import ShapeError
from ..node import Node
from ..op import Op, constant
from ..shapes import Spec, broadcast_shapes, normalize_axes, ufunc_dtype
from .activations import softmax_from_onnx
from .elementwise import _SCALARS, Elementwise, _lacking, int_remainder, ufunc_operands
from .layout import cast, reshape

__all__ = [
    "Gelu", "Erf", "Sqrt", "Abs", "Reciprocal", "Clip", "LeakyReLU", "HardSigmoid", "HardSwish", "LogSoftmax",
    "Elu", "Selu", "Celu", "Softsign", "Mish", "PReLU", "Maximum", "Minimum", "Mod", "Floor", "Ceil", "Round",
    "Sign", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "CastLike",
    "gelu", "erf", "sqrt", "abs", "reciprocal", "clip", "leaky_relu", "hard_sigmoid", "hard_swish", "log_softmax",
    "elu", "selu", "celu", "softsign", "mish", "prelu", "maximum", "minimum", "mod", "floor", "ceil", "round",
    "sign", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "cast_like",
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


def _erf(x: Any) -> Any:
    """``scipy.special.erf`` on any library: its own (``torch.special.erf``...), else through numpy."""
    if isinstance(x, np.ndarray):
        return _scipy_erf(x)
    xp = array_namespace(x)
    fn = special(xp, "erf")
    if fn is None:  # the standard has no erf: numpy's, with a one-time warning
        return via_numpy("erf", _scipy_erf, [x])
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
        return half * x * (1 + _erf(x * self._typed(x, 1 / math.sqrt(2))))

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
        return _erf(x)


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


class PReLU(Op):
    """``x`` where positive, else ``slope * x``; ``slope`` broadcasts against ``x``."""

    kind = "prelu"
    arity = 2
    fresh_output = True
    formula = "prelu(a, slope b)"
    onnx_type = "PRelu"

    arrays = "any"

    def forward(self, x: Any, slope: Any) -> Any:
        """``np.where(x >= 0, x, slope * x)``."""
        xp = array_namespace(x, slope)
        if xp is not np:
            operands = ufunc_operands(xp, np.multiply, (x, slope))
            lacking = _lacking(self, operands)
            if lacking is not None:
                return via_numpy(lacking, self.forward, (x, slope))
            x, slope = operands
            return xp.where(x >= 0, x, x * slope)
        return np.where(np.asarray(x) >= 0, x, np.multiply(x, slope))

    def infer(self, x: Spec, slope: Spec) -> Spec:
        """Broadcast shapes; the dtype ``x * slope`` gives."""
        return Spec(broadcast_shapes(x.shape, slope.shape), ufunc_dtype(np.multiply, x, slope))

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """``PRelu(X, slope)``; before opset 7 a 1-D slope holds one value per channel (axis 1)."""
        x, slope = ctx.operands()
        if ctx.opset < 7 and slope.ndim == 1 and x.ndim >= 2 and slope.shape[0] != 1:
            slope = reshape(slope, (-1,) + (1,) * (x.ndim - 2), name=ctx.name("slope"))
        return [cls()(x, slope, name=ctx.name())]


# --- ufunc-based ops: numpy's own loops and dtypes -----------------------------------------------


class Sqrt(Elementwise):
    """``sqrt(a)``."""

    arity = 1
    ufunc = np.sqrt
    onnx_type = "Sqrt"


class Abs(Elementwise):
    """``|a|``."""

    arity = 1
    ufunc = np.absolute
    onnx_type = "Abs"


class Reciprocal(Elementwise):
    """``1 / a``."""

    arity = 1
    ufunc = np.reciprocal
    onnx_type = "Reciprocal"

    def forward_xp(self, xp: Any, a: Any) -> Any:
        """``xp.reciprocal`` of floats; integers through numpy (the standard's is for floats only)."""
        if xp.isdtype(a.dtype, "integral"):
            # numpy's integer 1 / a truncates, and its 1 / 0 is whatever the CPU's division gives.
            return via_numpy("Reciprocal of integers", np.reciprocal, [a])
        return super().forward_xp(xp, a)


class Floor(Elementwise):
    """``floor(a)``."""

    arity = 1
    ufunc = np.floor
    onnx_type = "Floor"


class Ceil(Elementwise):
    """``ceil(a)``."""

    arity = 1
    ufunc = np.ceil
    onnx_type = "Ceil"


class Round(Elementwise):
    """Round to the nearest integer, halves to even (``np.rint``), as ONNX's ``Round``."""

    arity = 1
    ufunc = np.rint
    onnx_type = "Round"


class Sign(Elementwise):
    """``-1``, ``0`` or ``1`` (``np.sign``)."""

    arity = 1
    ufunc = np.sign
    onnx_type = "Sign"


class Sin(Elementwise):
    """``sin(a)``."""

    arity = 1
    ufunc = np.sin
    onnx_type = "Sin"


class Cos(Elementwise):
    """``cos(a)``."""

    arity = 1
    ufunc = np.cos
    onnx_type = "Cos"


class Tan(Elementwise):
    """``tan(a)``."""

    arity = 1
    ufunc = np.tan
    onnx_type = "Tan"


class Asin(Elementwise):
    """``arcsin(a)``."""

    arity = 1
    ufunc = np.arcsin
    onnx_type = "Asin"


class Acos(Elementwise):
    """``arccos(a)``."""

    arity = 1
    ufunc = np.arccos
    onnx_type = "Acos"


class Atan(Elementwise):
    """``arctan(a)``."""

    arity = 1
    ufunc = np.arctan
    onnx_type = "Atan"


class Sinh(Elementwise):
    """``sinh(a)``."""

    arity = 1
    ufunc = np.sinh
    onnx_type = "Sinh"


class Cosh(Elementwise):
    """``cosh(a)``."""

    arity = 1
    ufunc = np.cosh
    onnx_type = "Cosh"


class Asinh(Elementwise):
    """``arcsinh(a)``."""

    arity = 1
    ufunc = np.arcsinh
    onnx_type = "Asinh"


class Acosh(Elementwise):
    """``arccosh(a)``."""

    arity = 1
    ufunc = np.arccosh
    onnx_type = "Acosh"


class Atanh(Elementwise):
    """``arctanh(a)``."""

    arity = 1
    ufunc = np.arctanh
    onnx_type = "Atanh"


class _Variadic(Elementwise):
    """A binary ufunc that ONNX writes as a variadic op: imported as a chain of binary nodes."""

    arity = 2
    commutative = True

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """One node per operand after the first (a single operand is passed through)."""
        operands = ctx.operands()
        if not operands:
            raise ctx.error("needs at least one operand")
        y = operands[0]
        for k, b in enumerate(operands[1:], start=1):
            y = cls()(y, b, name=ctx.name() if k == len(operands) - 1 else ctx.name(str(k)))
        return [y]

    def kernel(self, node: Node) -> Any:
        """None: numpy 2.4 deprecates ``np.maximum(a, b, out)`` with ``out`` positional, as kernels are called."""
        return None


class Maximum(_Variadic):
    """``np.maximum(a, b)``: NaN wins, as in ONNX's ``Max``."""

    ufunc = np.maximum
    onnx_type = "Max"


class Minimum(_Variadic):
    """``np.minimum(a, b)``: NaN wins, as in ONNX's ``Min``."""

    ufunc = np.minimum
    onnx_type = "Min"


class Mod(Elementwise):
    """``a % b``: the sign of ``b`` (``np.mod``), or of ``a`` with ``fmod=True`` (``np.fmod``, C's)."""

    arity = 2
    formula = "a % b"
    onnx_type = "Mod"

    def __init__(self, fmod: bool = False) -> None:
        self.fmod = bool(fmod)

    arrays = "any"

    def forward(self, a: Any, b: Any) -> Any:
        """``np.fmod`` or ``np.mod``; a zero divisor gives 0 for integers, NaN for floats."""
        xp = array_namespace(a, b)
        if xp is not np:
            operands = ufunc_operands(xp, np.fmod if self.fmod else np.mod, (a, b), arrays=True)
            lacking = _lacking(self, operands)
            if lacking is not None:
                return via_numpy(lacking, self.forward, (a, b))
            a, b = operands
            if xp.isdtype(a.dtype, "integral"):
                return int_remainder(xp, a, b, self.fmod)
            if self.fmod:  # C's fmod: the remainder of the magnitudes (exact), with the dividend's sign
                return xp.copysign(xp.remainder(xp.abs(a), xp.abs(b)), a)
            return xp.remainder(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.fmod if self.fmod else np.mod)(a, b)

    def forward_into(self, out: Any, a: Any, b: Any) -> Any:
        """The same, into ``out``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.fmod if self.fmod else np.mod)(a, b, out=out)

    def kernel(self, node: Node) -> Any:
        """No fast path: the ufunc depends on ``fmod``, and zero divisors must stay silent."""
        return None

    def infer(self, *specs: Spec) -> Spec:
        """Broadcast shapes; numpy's dtype."""
        return Spec(broadcast_shapes(*(s.shape for s in specs)), ufunc_dtype(np.fmod if self.fmod else np.mod, *specs))

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Mod(fmod)``; ONNX's float ``Mod`` is C's ``fmod`` only, so numpy's float ``mod`` is fixed up.

        ``np.mod`` takes the divisor's sign: where ``fmod``'s remainder is nonzero and its sign
        differs from the divisor's, the divisor is added (``Where(r * b < 0, r + b, r)``).
        """
        a, b = (ctx.operand(i, node.dtype) for i in node.inputs)
        if self.fmod or node.dtype.kind != "f":
            return str(ctx.emit("Mod", [a, b], output=ctx.name(node), fmod=int(self.fmod)))
        r = ctx.emit("Mod", [a, b], fmod=1)
        zero = ctx.constant(np.zeros((), dtype=node.dtype), f"{ctx.name(node)}_zero")
        flip = ctx.emit("Less", [ctx.emit("Mul", [r, b]), zero])
        return str(ctx.emit("Where", [flip, ctx.emit("Add", [r, b]), r], output=ctx.name(node)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``fmod`` (0)."""
        return {"fmod": bool(ctx.int_attr("fmod", 0))}


class Clip(Op):
    """``min(max(a, lo), hi)``; either bound may be left out (``has_min``, ``has_max``)."""

    arity = None
    fresh_output = True
    onnx_type = "Clip"
    torch_ops = ("aten.hardtanh.default", "aten.relu6.default", "aten.clamp.default", "aten.clamp.Tensor")

    def __init__(self, has_min: bool = True, has_max: bool = True) -> None:
        self.has_min = bool(has_min)
        self.has_max = bool(has_max)

    arrays = "any"

    def forward(self, a: Any, *bounds: Any) -> Any:
        """``np.minimum(np.maximum(a, lo), hi)`` (``hi`` wins where ``lo > hi``, as in ONNX)."""
        xp = array_namespace(a, *bounds)
        lo, hi = self._split(bounds)
        if xp is not np:
            if lo is None and hi is None:
                return xp.asarray(a, copy=True)
            y = a
            for bound, ufunc, fn in ((lo, np.maximum, xp.maximum), (hi, np.minimum, xp.minimum)):
                if bound is not None:
                    operands = ufunc_operands(xp, ufunc, (y, bound))
                    lacking = _lacking(self, operands)
                    if lacking is not None:
                        return via_numpy(lacking, self.forward, (a, *bounds))
                    y = fn(*operands)
            return y
        y = np.asarray(a) if lo is None else np.maximum(a, lo)
        y = y if hi is None else np.minimum(y, hi)
        return np.array(y, copy=True) if lo is None and hi is None else y

    def _split(self, items: Sequence[Any]) -> tuple[Any, Any]:
        it = iter(items)
        lo = next(it) if self.has_min else None
        hi = next(it) if self.has_max else None
        return lo, hi

    def infer(self, a: Spec, *bounds: Spec) -> Spec:
        """Broadcast shapes; the dtype of ``a`` with the bounds (numpy's ``maximum``)."""
        if len(bounds) != self.has_min + self.has_max:
            raise ShapeError(f"expected {1 + self.has_min + self.has_max} operands, got {1 + len(bounds)}")
        lo, hi = self._split(bounds)
        dtype = a if lo is None else Spec((), ufunc_dtype(np.maximum, a, lo))
        dtype = dtype if hi is None else Spec((), ufunc_dtype(np.minimum, dtype, hi))
        return Spec(broadcast_shapes(a.shape, *(b.shape for b in bounds)), dtype.dtype)

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``Clip(x, min, max)`` for scalar bounds; ``Max``/``Min`` nodes for array bounds."""
        x = ctx.operand(node.inputs[0], node.dtype)
        bounds = node.inputs[1:]
        lo, hi = self._split([ctx.operand(b, node.dtype) for b in bounds])
        if all(b.ndim == 0 for b in bounds):
            operands = [x, lo or "", hi or ""] if hi else ([x, lo] if lo else [x])
            return str(ctx.emit("Clip", operands, output=ctx.name(node)))
        if lo is not None:
            x = ctx.emit("Max", [x, lo], output=None if hi else ctx.name(node))
        if hi is not None:
            x = ctx.emit("Min", [x, hi], output=ctx.name(node))
        return str(x)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``hardtanh(x, lo, hi)``, ``relu6(x)``, ``clamp(x, min, max)`` (either bound may be absent)."""
        x = args[0]
        lo, hi = (0, 6) if target == "aten.relu6.default" else args[1:3]
        bounds = [b if isinstance(b, Node) else constant(np.asarray(b, dtype=x.dtype)) for b in (lo, hi)
                  if b is not None]
        return cls(lo is not None, hi is not None)(x, *bounds)

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Bounds as operands (opset >= 11) or as the ``min``/``max`` attributes before."""
        x = ctx.input(0)
        if ctx.opset >= 11:
            lo = ctx.input(1) if ctx.has_input(1) else None
            hi = ctx.input(2) if ctx.has_input(2) else None
        else:
            low, high = ctx.attr("min"), ctx.attr("max")
            lo = None if low is None else constant(np.asarray(low, dtype=x.dtype))
            hi = None if high is None else constant(np.asarray(high, dtype=x.dtype))
        bounds = [b for b in (lo, hi) if b is not None]
        return [cls(lo is not None, hi is not None)(x, *bounds, name=ctx.name())]


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


# --- function forms ------------------------------------------------------------------------------


def gelu(a: Any, approximate: str = "none", *, name: str | None = None) -> Node:
    """``x * Phi(x)`` with erf, or its tanh approximation (``approximate="tanh"``)."""
    return Gelu(approximate)(a, name=name)


def erf(a: Any, *, name: str | None = None) -> Node:
    """The error function."""
    return Erf()(a, name=name)


def sqrt(a: Any, *, name: str | None = None) -> Node:
    """``sqrt(a)``."""
    return Sqrt()(a, name=name)


def abs(a: Any, *, name: str | None = None) -> Node:  # noqa: A001
    """``|a|``."""
    return Abs()(a, name=name)


def reciprocal(a: Any, *, name: str | None = None) -> Node:
    """``1 / a``."""
    return Reciprocal()(a, name=name)


def clip(a: Any, min: Any = None, max: Any = None, *, name: str | None = None) -> Node:  # noqa: A002
    """``np.clip(a, min, max)``; ``None`` leaves that side open."""
    bounds = [b for b in (min, max) if b is not None]
    return Clip(min is not None, max is not None)(a, *bounds, name=name)


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


def prelu(a: Any, slope: Any, *, name: str | None = None) -> Node:
    """``a`` where positive, else ``slope * a`` (``slope`` broadcasts, typically a parameter)."""
    return PReLU()(a, slope, name=name)


def maximum(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``np.maximum(a, b)``."""
    return Maximum()(a, b, name=name)


def minimum(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``np.minimum(a, b)``."""
    return Minimum()(a, b, name=name)


def mod(a: Any, b: Any, fmod: bool = False, *, name: str | None = None) -> Node:
    """``a % b`` with the divisor's sign (``np.mod``), or the dividend's with ``fmod=True``."""
    return Mod(fmod)(a, b, name=name)


def floor(a: Any, *, name: str | None = None) -> Node:
    """``floor(a)``."""
    return Floor()(a, name=name)


def ceil(a: Any, *, name: str | None = None) -> Node:
    """``ceil(a)``."""
    return Ceil()(a, name=name)


def round(a: Any, *, name: str | None = None) -> Node:  # noqa: A001
    """Round halves to even (``np.rint``)."""
    return Round()(a, name=name)


def sign(a: Any, *, name: str | None = None) -> Node:
    """``np.sign(a)``."""
    return Sign()(a, name=name)


def sin(a: Any, *, name: str | None = None) -> Node:
    """``sin(a)``."""
    return Sin()(a, name=name)


def cos(a: Any, *, name: str | None = None) -> Node:
    """``cos(a)``."""
    return Cos()(a, name=name)


def tan(a: Any, *, name: str | None = None) -> Node:
    """``tan(a)``."""
    return Tan()(a, name=name)


def asin(a: Any, *, name: str | None = None) -> Node:
    """``arcsin(a)``."""
    return Asin()(a, name=name)


def acos(a: Any, *, name: str | None = None) -> Node:
    """``arccos(a)``."""
    return Acos()(a, name=name)


def atan(a: Any, *, name: str | None = None) -> Node:
    """``arctan(a)``."""
    return Atan()(a, name=name)


def sinh(a: Any, *, name: str | None = None) -> Node:
    """``sinh(a)``."""
    return Sinh()(a, name=name)


def cosh(a: Any, *, name: str | None = None) -> Node:
    """``cosh(a)``."""
    return Cosh()(a, name=name)


def asinh(a: Any, *, name: str | None = None) -> Node:
    """``arcsinh(a)``."""
    return Asinh()(a, name=name)


def acosh(a: Any, *, name: str | None = None) -> Node:
    """``arccosh(a)``."""
    return Acosh()(a, name=name)


def atanh(a: Any, *, name: str | None = None) -> Node:
    """``arctanh(a)``."""
    return Atanh()(a, name=name)


def cast_like(a: Any, like: Any, *, name: str | None = None) -> Node:
    """``a`` converted to ``like``'s dtype."""
    return CastLike()(a, like, name=name)

