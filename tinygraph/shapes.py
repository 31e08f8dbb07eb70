"""Static shapes and dtypes: what a node will hold, known before anything runs.

A ``Spec`` is a shape (a tuple whose entries are ints, or ``None`` for a size
known only at run time) and a numpy dtype. The rules follow numpy: broadcasting,
``np.matmul``'s treatment of 1-D operands and stacks, and numpy 2's type
promotion in which Python scalars are *weak* (``x32 * 2.0`` stays float32).
Functions here raise ``ShapeError`` with a short reason; the op that called them
adds which node, which operands and which line of user code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ShapeError

Dim = int | None
Shape = tuple[Dim, ...]

# numpy 2 accepts these Python types in resolve_dtypes as stand-ins for weak scalars.
_WEAK_TYPES: dict[str, type] = {"i": int, "u": int, "f": float, "c": complex}
_WEAK_VALUES: dict[str, Any] = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}


@dataclass(frozen=True)
class Spec:
    """The static shape and dtype of a node; ``weak`` marks a bare Python scalar.

    ``value`` is what is known at build time of a small integer value (a shape being computed,
    ``Shape(x)`` -> ``(None, 3)``): its elements in order, ``None`` where only known at run time.
    """

    shape: Shape
    dtype: np.dtype[Any]
    weak: bool = False
    value: tuple[int | None, ...] | None = field(default=None, compare=False)

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def __str__(self) -> str:
        return format_spec(self)


def make_spec(shape: Sequence[Dim], dtype: Any = np.float64, weak: bool = False) -> Spec:
    """Validate and normalise a user's shape and dtype into a ``Spec``."""
    dims: list[Dim] = []
    for d in shape:
        if d is None:
            dims.append(None)
        elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
            dims.append(int(d))
        else:
            raise ShapeError(f"invalid dimension {d!r} in shape {tuple(shape)!r}: use a non-negative int or None")
    return Spec(tuple(dims), np.dtype(dtype), weak)


def spec_of_value(value: Any) -> Spec:
    """The spec of a concrete value; a bare Python int, float or complex is weak."""
    weak = type(value) in (int, float, complex)
    arr = np.asarray(value)
    known = None
    if arr.dtype.kind in "iu" and arr.ndim <= 1 and arr.size <= MAX_KNOWN_VALUE:
        known = tuple(int(v) for v in arr.reshape(-1))
    return Spec(tuple(int(d) for d in arr.shape), arr.dtype, weak, known)


#: The largest integer value (in elements, rank 0 or 1) whose elements specs carry: shapes, axes.
MAX_KNOWN_VALUE = 64


def dtype_name(dtype: np.dtype[Any]) -> str:
    """Short dtype name as in the listing: ``f64``, ``f32``, ``i64``, ``bool``."""
    if dtype.kind == "b":
        return "bool"
    if dtype.kind in "iufc":
        return f"{dtype.kind}{dtype.itemsize * 8}"
    return str(dtype)


def format_shape(shape: Shape) -> str:
    """``(None, 4)`` as ``[?,4]``."""
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def format_spec(spec: Spec) -> str:
    """A spec as ``f64[?,4]``, the form used in listings, errors and diagrams."""
    return dtype_name(spec.dtype) + format_shape(spec.shape)


def fits(spec: Spec, shape: tuple[int, ...]) -> bool:
    """Whether a concrete shape matches a spec's shape (``None`` matches any size)."""
    return len(shape) == len(spec.shape) and all(d is None or d == s for d, s in zip(spec.shape, shape))


# --- dtypes -----------------------------------------------------------------------------------------


def _dtype_arg(spec: Spec) -> Any:
    return _WEAK_TYPES.get(spec.dtype.kind, spec.dtype) if spec.weak else spec.dtype


def ufunc_dtype(ufunc: np.ufunc, *specs: Spec) -> np.dtype[Any]:
    """The dtype numpy's ``ufunc`` gives for operands of these specs (weak scalars honoured)."""
    try:
        resolved = ufunc.resolve_dtypes((*(_dtype_arg(s) for s in specs), None))
    except (TypeError, ValueError) as e:  # numpy's "no loop matching..." / "not supported"
        kinds = ", ".join(str(s.dtype) for s in specs)
        raise ShapeError(f"{ufunc.__name__} is not defined for dtypes ({kinds}): {e}") from None
    return np.dtype(resolved[-1])


def result_dtype(*specs: Spec) -> np.dtype[Any]:
    """``np.result_type`` of the operands, with Python scalars weak."""
    # np.result_type treats the *type* float as float64 (strong); only a scalar *value* is weak.
    try:
        return np.dtype(np.result_type(*(_WEAK_VALUES.get(s.dtype.kind, s.dtype) if s.weak else s.dtype
                                         for s in specs)))
    except TypeError as e:
        raise ShapeError(f"no common dtype for ({', '.join(str(s.dtype) for s in specs)}): {e}") from None


# --- shapes -----------------------------------------------------------------------------------------


def _broadcast_dim(a: Dim, b: Dim) -> Dim:
    if a == 1:
        return b
    if b == 1 or a == b:
        return a
    if a is None:
        return b  # the unknown size must be 1 or b at run time; either way the result is b
    if b is None:
        return a
    raise ShapeError(f"sizes {a} and {b} cannot be broadcast together")


def broadcast_shapes(*shapes: Shape) -> Shape:
    """numpy broadcasting of shapes that may contain ``None`` dims."""
    ndim = max((len(s) for s in shapes), default=0)
    out: list[Dim] = [1] * ndim
    try:
        for shape in shapes:
            for i, d in enumerate(shape, start=ndim - len(shape)):
                out[i] = _broadcast_dim(out[i], d)
    except ShapeError as e:
        listed = " and ".join(format_shape(s) for s in shapes)
        raise ShapeError(f"shapes {listed} do not broadcast: {e}") from None
    return tuple(out)


def matmul_shape(a: Shape, b: Shape) -> Shape:
    """The shape of ``np.matmul(a, b)``: 1-D operands promoted, stacks broadcast."""
    if not a or not b:
        raise ShapeError("matmul needs operands of at least one dimension, not scalars")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    k1, k2 = a2[-1], b2[-2]
    if k1 is not None and k2 is not None and k1 != k2:
        raise ShapeError(
            f"inner dimensions differ: {format_shape(a)} @ {format_shape(b)} needs {k1} == {k2}"
        )
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def normalize_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Axes as non-negative ints in increasing order; ``None`` means all axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise ShapeError(f"axis {ax} is out of bounds for an array of {ndim} dimensions")
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def reduce_shape(shape: Shape, axis: int | Sequence[int] | None, keepdims: bool) -> Shape:
    """The shape after reducing ``axis`` (all axes for ``None``)."""
    axes = normalize_axes(axis, len(shape))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def transpose_shape(shape: Shape, axes: Sequence[int] | None) -> Shape:
    """The shape of ``np.transpose(x, axes)``; ``None`` reverses the axes."""
    if axes is None:
        return shape[::-1]
    for a in axes:
        if not -len(shape) <= a < len(shape):
            raise ShapeError(f"axis {a} is out of bounds for {format_shape(shape)} ({len(shape)} dimensions)")
    if sorted(int(a) % max(len(shape), 1) for a in axes) != list(range(len(shape))) or len(axes) != len(shape):
        raise ShapeError(
            f"axes {tuple(axes)!r} are not a permutation of the {len(shape)} axes of {format_shape(shape)}"
        )
    return tuple(shape[a] for a in axes)


def reshape_shape(shape: Shape, target: Sequence[int]) -> Shape:
    """The shape of ``np.reshape(x, target)``; ``-1`` is inferred where the input's size is known."""
    if sum(1 for t in target if t == -1) > 1:
        raise ShapeError(f"reshape target {tuple(target)!r} has more than one -1")
    if any(t < -1 for t in target):
        raise ShapeError(f"reshape target {tuple(target)!r} has a negative size")
    known = [t for t in target if t != -1]
    fixed = 1
    for t in known:
        fixed *= t
    if any(d is None for d in shape):
        # The input's size is only known at run time: -1 stays unknown, the rest is checked by numpy.
        return tuple(None if t == -1 else int(t) for t in target)
    size = 1
    for d in shape:
        size *= d  # type: ignore[operator]
    if -1 in target:
        if fixed == 0 or size % fixed:
            raise ShapeError(f"cannot reshape {format_shape(shape)} (size {size}) into {tuple(target)!r}")
        return tuple(size // fixed if t == -1 else int(t) for t in target)
    if fixed != size:
        raise ShapeError(f"cannot reshape {format_shape(shape)} (size {size}) into {tuple(target)!r} (size {fixed})")
    return tuple(int(t) for t in target)
