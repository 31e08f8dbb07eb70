"""Elementwise arithmetic and math: each op is a numpy ufunc applied with broadcasting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..arrays import (
    array_namespace,
    check_weak_ints,
    common_library,
    lacks_kernels,
    promoted,
    standard_function,
    via_numpy,
)
from ..node import Node
from ..op import Op
from ..shapes import Spec, broadcast_shapes, ufunc_dtype

__all__ = [
    "Elementwise", "Add", "Sub", "Mul", "Div", "TruncDiv", "Pow", "Neg", "Exp", "Log", "Tanh",
    "add", "sub", "mul", "div", "trunc_div", "pow", "neg", "exp", "log", "tanh",
    "subtract", "multiply", "divide", "negative", "power",
]

_SCALARS = (int, float, complex, bool)
# Per (ufunc, operand dtypes or Python scalar types): the one dtype numpy's loop computes in, or None.
_LOOPS: dict[tuple[Any, ...], np.dtype[Any] | None] = {}


def ufunc_operands(xp: Any, ufunc: Any, values: Sequence[Any], *, arrays: bool = False) -> list[Any]:
    """``values`` (of another library than numpy) cast to the dtype numpy's ``ufunc`` loop computes in.

    numpy casts its operands to the loop's dtype (``exp`` of int8 computes in float16, ``true_divide``
    of integers in float64); other libraries would compute in their own (torch: float32) or refuse
    (array-api-strict). Loops whose operands differ in dtype (``less(int64, uint64)``) take
    ``promoted``'s common dtype. Python scalars stay scalars, weak as in numpy, unless ``arrays``
    asks for 0-d arrays of the computing dtype in their place.
    """
    lib = common_library(values)
    # The library's name before its dtypes: array-api-strict warns when its dtypes meet numpy's.
    key = (ufunc, lib.name, *(type(v) if isinstance(v, _SCALARS) else v.dtype for v in values))
    if key in _LOOPS:
        loop = _LOOPS[key]
    else:
        args = [np.dtype(bool) if isinstance(v, bool) else type(v) if isinstance(v, _SCALARS)
                else lib.numpy_dtype(v.dtype) for v in values]
        try:
            ins = ufunc.resolve_dtypes((*args, None))[:-1]
        except (TypeError, ValueError):  # no loop: the library says what is wrong
            ins = ()
        loop = _LOOPS[key] = np.dtype(ins[0]) if ins and len(set(ins)) == 1 else None
    if loop is None:
        cast = promoted(xp, *values)
    else:
        check_weak_ints([v for v in values if isinstance(v, _SCALARS)], loop)
        want = lib.dtype(loop)
        cast = [v if isinstance(v, _SCALARS) or v.dtype == want else xp.astype(v, want) for v in values]
    if arrays:
        dtype = next(v.dtype for v in cast if not isinstance(v, _SCALARS))
        cast = [xp.asarray(v, dtype=dtype, device=lib.device) if isinstance(v, _SCALARS) else v for v in cast]
    return cast


def _lacking(op: Op, values: Sequence[Any]) -> str | None:
    # The name via_numpy warns with when the operands' library cannot compute on their dtype.
    dtype = lacks_kernels(values)
    return None if dtype is None else f"{type(op).__name__} of {dtype}"


_BOOL_LOGIC = {"add": "logical_or", "maximum": "logical_or", "multiply": "logical_and", "minimum": "logical_and"}

# numpy's ufunc names the standard spells differently and arrays.standard_function doesn't know.
_MORE_NAMES = {"rint": "round"}


class Elementwise(Op):
    """An op that applies a numpy ufunc elementwise, broadcasting its operands.

    A subclass declares ``ufunc`` (and ``onnx_type``); evaluation, shape and dtype
    inference, in-place reuse of dead buffers and ONNX follow from it.
    """

    ufunc: ClassVar[Any]
    fresh_output = True
    arrays = "any"

    def forward(self, *values: Any) -> Any:
        """Apply the ufunc; on another array library, its function of the same name (``xp.pow``...)."""
        xp = array_namespace(*values)
        if xp is np:
            return self.ufunc(*values)
        return self.forward_xp(xp, *values)

    def forward_xp(self, xp: Any, *values: Any) -> Any:
        """``forward`` on another library than numpy: the standard's function of the ufunc's name."""
        name = self.ufunc.__name__
        fn = getattr(xp, _MORE_NAMES[name], None) if name in _MORE_NAMES else standard_function(xp, self.ufunc)
        if fn is None:  # a ufunc the standard lacks (np.fmod...)
            return via_numpy(type(self).__name__, self.ufunc, values)
        operands = ufunc_operands(xp, self.ufunc, values)
        lacking = _lacking(self, operands)
        if lacking is not None:
            return via_numpy(lacking, self.ufunc, values)
        if name in _BOOL_LOGIC and all(isinstance(v, bool) or not isinstance(v, _SCALARS) and v.dtype == xp.bool
                                       for v in operands):
            # numpy's bool +, *, maximum, minimum are or/and; the standard's arithmetic takes numbers.
            fn = getattr(xp, _BOOL_LOGIC[name])
        return fn(*operands)

    def forward_into(self, out: Any, *values: Any) -> Any:
        """Apply the ufunc writing into ``out`` (numpy handles ``out`` being one of the operands)."""
        return self.ufunc(*values, out=out)

    def infer(self, *specs: Spec) -> Spec:
        """Broadcast shapes; the ufunc's own dtype resolution."""
        return Spec(broadcast_shapes(*(s.shape for s in specs)), ufunc_dtype(self.ufunc, *specs))

    def lowering(self, backend: str, node: Node) -> Any:
        """The ufunc of the same name: ``jax.numpy``'s, and numba's on one element of each operand."""
        name = self.ufunc.__name__
        if backend == "jax":
            return lambda jax, *v: getattr(jax.numpy, name)(*v)
        if backend == "numba":
            return ("map", f"np.{name}({', '.join(f'{{{i}}}' for i in range(self.ufunc.nin))})")
        return None


class Add(Elementwise):
    """``a + b``."""

    python_operator = "add"
    arity = 2
    ufunc = np.add
    commutative = True
    neuron_role = "bias"
    onnx_type = "Add"
    torch_ops = ("aten.add.Tensor", "aten.add.Scalar")

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``a + alpha * b``."""
        return cls()(args[0], _scaled(args[1], kwargs["alpha"]))


class Sub(Elementwise):
    """``a - b``."""

    python_operator = "sub"
    arity = 2
    ufunc = np.subtract
    formula = "a - b"
    onnx_type = "Sub"
    torch_ops = ("aten.sub.Tensor", "aten.sub.Scalar", "aten.rsub.Tensor", "aten.rsub.Scalar")

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``a - alpha * b``; ``rsub`` is ``b - alpha * a``."""
        a, b = args[:2]
        alpha = kwargs["alpha"] if "alpha" in kwargs else args[2]
        return cls()(b, _scaled(a, alpha)) if ".rsub." in target else cls()(a, _scaled(b, alpha))


class Mul(Elementwise):
    """``a * b``."""

    python_operator = "mul"
    arity = 2
    ufunc = np.multiply
    commutative = True
    onnx_type = "Mul"
    torch_ops = ("aten.mul.Tensor", "aten.mul.Scalar")


class Div(Elementwise):
    """``a / b`` (true division: integers give floats, as in numpy)."""

    python_operator = "truediv"
    arity = 2
    ufunc = np.true_divide
    formula = "a / b"
    onnx_type = "Div"
    torch_ops = ("aten.div.Tensor", "aten.div.Scalar")

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """ONNX's integer ``Div`` truncates toward zero: ``TruncDiv``, exact, with no float detour."""
        a, b = ctx.operands()
        op: Op = TruncDiv() if a.dtype.kind in "iu" and b.dtype.kind in "iu" else cls()
        return [op(a, b, name=ctx.name())]


class TruncDiv(Op):
    """``a / b`` rounded toward zero (C's and ONNX's integer division), exact for any integers."""

    kind = "trunc_div"
    arity = 2
    fresh_output = True
    formula = "trunc(a / b)"
    onnx_type = "Div"
    arrays = "any"

    def forward(self, a: Any, b: Any) -> Any:
        """Floor division corrected toward zero; a zero divisor gives 0, as numpy's ``//`` does."""
        xp = array_namespace(a, b)
        if xp is not np:
            operands = ufunc_operands(xp, np.floor_divide, (a, b), arrays=True)
            lacking = _lacking(self, operands)
            if lacking is not None:
                return via_numpy(lacking, self.forward, (a, b))
            a, b = operands
            if xp.isdtype(a.dtype, "real floating"):
                return xp.trunc(a / b)
            return int_trunc_divide(xp, a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.result_type(a, b).kind == "f":
                return np.trunc(np.true_divide(a, b))
            q, r = np.divmod(a, b)
            return q + ((r != 0) & ((np.less(a, 0)) ^ (np.less(b, 0)))).astype(q.dtype)

    def infer(self, a: Spec, b: Spec) -> Spec:
        """Broadcast shapes; the operands' common dtype (integers stay integers)."""
        return Spec(broadcast_shapes(a.shape, b.shape), ufunc_dtype(np.floor_divide, a, b))


def _safe_divisor(xp: Any, b: Any) -> tuple[Any, Any]:
    # Integer division by zero raises on torch: divide by 1 there, and the caller zeroes the result.
    zero = b == 0
    return zero, xp.where(zero, xp.ones_like(b), b)


def int_trunc_divide(xp: Any, a: Any, b: Any) -> Any:
    """Integer ``a / b`` rounded toward zero on any library, 0 where ``b`` is 0 (numpy's ``//`` gives 0)."""
    zero, d = _safe_divisor(xp, b)
    q = xp.floor_divide(a, d)
    inexact = (a - q * d) != 0
    q = q + xp.astype(inexact & ((a < 0) ^ (d < 0)), q.dtype)
    return xp.where(zero, xp.zeros_like(q), q)


def int_remainder(xp: Any, a: Any, b: Any, fmod: bool) -> Any:
    """Integer ``a % b`` on any library, the sign of ``b`` (``np.mod``) or of ``a`` (``fmod``); 0 where ``b`` is 0."""
    zero, d = _safe_divisor(xp, b)
    r = xp.remainder(a, d)
    if fmod:  # floor's remainder has the divisor's sign; C's has the dividend's
        r = xp.where((r != 0) & ((a < 0) != (d < 0)), r - d, r)
    return xp.where(zero, xp.zeros_like(r), r)


class Pow(Elementwise):
    """``a ** b``."""

    python_operator = "pow"
    arity = 2
    ufunc = np.power
    formula = "a ** b"
    onnx_type = "Pow"
    torch_ops = ("aten.pow.Tensor_Tensor", "aten.pow.Tensor_Scalar", "aten.pow.Scalar")
    arrays = "any"

    def forward(self, a: Any, b: Any) -> Any:
        """``np.power``; integers to negative integer powers as ONNX computes them (truncated: 0, or +-1)."""
        xp = array_namespace(a, b)
        if xp is not np:
            operands = ufunc_operands(xp, np.power, (a, b), arrays=True)
            lacking = _lacking(self, operands)
            if lacking is not None:
                return via_numpy(lacking, self.forward, (a, b))
            a, b = operands
            if not xp.isdtype(a.dtype, "integral"):
                return xp.pow(a, b)
            # numpy's code below, without its data-dependent test (a ** -n: array-api-strict refuses it).
            negative = b < 0
            y = xp.pow(a, xp.where(negative, xp.zeros_like(b), b))
            unit = xp.where(b % 2 == 0, xp.ones_like(y), a)
            return xp.where(negative, xp.where(xp.abs(a) == 1, unit, xp.zeros_like(unit)), y)
        if np.result_type(a, b).kind in "iu" and np.any(np.less(b, 0)):
            negative = np.less(b, 0)
            y = np.power(a, np.where(negative, 0, b))
            # 1 / a**|b| truncates to 0 unless |a| == 1; a ** -n is then a ** n (+-1). 0 ** -n gives 0.
            unit = np.where(np.remainder(b, 2) == 0, np.ones_like(y), np.asarray(a, dtype=y.dtype))
            return np.where(negative, np.where(np.abs(a) == 1, unit, 0), y).astype(y.dtype, copy=False)
        return np.power(a, b)

    def forward_into(self, out: Any, a: Any, b: Any) -> Any:
        """The same, written into ``out``."""
        if np.result_type(a, b).kind in "iu":
            out[...] = self.forward(a, b)
            return out
        return np.power(a, b, out=out)

    def lowering(self, backend: str, node: Node) -> Any:
        """Float powers as every ufunc lowers; integer powers (ONNX's negative exponents) are refused."""
        return super().lowering(backend, node) if node.dtype.kind in "fc" else None

    def kernel(self, node: Node) -> Any:
        """``np.power`` for floats only: integer powers may have negative exponents."""
        return np.power if node.dtype.kind in "fc" else None


class Neg(Elementwise):
    """``-a``."""

    python_operator = "neg"
    arity = 1
    ufunc = np.negative
    onnx_type = "Neg"
    torch_ops = ("aten.neg.default",)


class Exp(Elementwise):
    """``exp(a)``."""

    arity = 1
    ufunc = np.exp
    onnx_type = "Exp"
    torch_ops = ("aten.exp.default",)


class Log(Elementwise):
    """``log(a)``, the natural logarithm."""

    arity = 1
    ufunc = np.log
    onnx_type = "Log"
    torch_ops = ("aten.log.default",)


class Tanh(Elementwise):
    """``tanh(a)``."""

    arity = 1
    ufunc = np.tanh
    neuron_role = "activation"
    torch_module = "Tanh"
    onnx_type = "Tanh"
    torch_ops = ("aten.tanh.default",)


def _scaled(value: Any, alpha: Any) -> Any:
    # torch's ``alpha`` multiplies the second operand; 1 (always, from operators) adds no node.
    return value if alpha == 1 else value * alpha


def add(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a + b``."""
    return Add()(a, b, name=name)


def sub(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a - b``."""
    return Sub()(a, b, name=name)


def mul(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a * b``."""
    return Mul()(a, b, name=name)


def div(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a / b``."""
    return Div()(a, b, name=name)


def trunc_div(a: Any, b: Any, *, name: str | None = None) -> Node:
    """``a / b`` rounded toward zero; integers stay integers (ONNX's integer ``Div``)."""
    return TruncDiv()(a, b, name=name)


def pow(a: Any, b: Any, *, name: str | None = None) -> Node:  # noqa: A001
    """``a ** b``."""
    return Pow()(a, b, name=name)


def neg(a: Any, *, name: str | None = None) -> Node:
    """``-a``."""
    return Neg()(a, name=name)


def exp(a: Any, *, name: str | None = None) -> Node:
    """``exp(a)``."""
    return Exp()(a, name=name)


def log(a: Any, *, name: str | None = None) -> Node:
    """``log(a)``."""
    return Log()(a, name=name)


def tanh(a: Any, *, name: str | None = None) -> Node:
    """``tanh(a)``."""
    return Tanh()(a, name=name)


# numpy's spellings, for users who reach for them.
subtract, multiply, divide, negative, power = sub, mul, div, neg, pow
