"""Sliding windows over the spatial axes of ``(N, C, *spatial)`` inputs, shared by convolution and pooling.

Where the windows go (``_Window``: the padding, each spatial axis's output size, ceil mode's
overhang), the settings' checks and their ONNX and torch spellings, and the windows on other
array libraries: padding (``_pad_on``), torch's ``torch.nn.functional`` for 1-D to 3-D, and
strided slices of the padded input, one per kernel position (``_window_parts``), where the array
API standard has no sliding-window view.

``padding`` is an int (every side), a tuple with one int per spatial axis (both sides of it), a tuple
of ``2 * ndim`` ints (ONNX's ``pads``: all the starts, then all the ends), or ``"valid"`` (none),
``"same"``/``"same_upper"`` (output size ``ceil(size / stride)``, the odd pixel at the end, as
torch's ``"same"`` and ONNX's ``SAME_UPPER``) or ``"same_lower"`` (the odd pixel at the start).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ShapeError
from ..shapes import Dim, Spec, format_shape, result_dtype

__all__ = [
    "Padding", "_int_or_ints", "_padding", "_per_axis", "_explicit_pads", "_Window", "_torch_functional", "_pad_on",
    "_window_parts", "_spatial", "_float_dtype", "_compute_dtype", "_onnx_padding", "_onnx_pad_attributes",
    "_torch_ints", "_spatial_rank",
]

Padding = int | tuple[int, ...] | str
_PAD_MODES = ("valid", "same_upper", "same_lower")
_ONNX_AUTO_PAD = {"valid": "VALID", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER"}


# --- geometry shared by convolution and pooling ----------------------------------------------------


def _int_or_ints(value: Any, what: str, minimum: int) -> int | tuple[int, ...]:
    """An int or a tuple of ints, each at least ``minimum`` (bools and floats refused)."""
    def one(v: Any) -> int:
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= minimum:
            return int(v)
        raise ValueError(f"{what} must be an int >= {minimum} or a sequence of them, got {value!r}")

    if isinstance(value, (int, np.integer, bool, np.bool_)):
        return one(value)
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{what} must be an int >= {minimum} or a sequence of them, got {value!r}")
    return tuple(one(v) for v in value)


def _padding(value: Any) -> Padding:
    if isinstance(value, str):
        mode = {"same": "same_upper"}.get(value.lower(), value.lower())
        if mode not in _PAD_MODES:
            raise ValueError(f"padding must be an int, ints, 'valid', 'same', 'same_upper' or 'same_lower', "
                             f"not {value!r}")
        return mode
    return _int_or_ints(value, "padding", 0)


def _per_axis(value: int | tuple[int, ...], n: int, what: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    if len(value) != n:
        raise ShapeError(f"{what} {value} has {len(value)} entries for {n} spatial axes")
    return value


def _explicit_pads(padding: Padding, n: int) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(starts, ends) of an explicit padding; ``None`` for the modes computed from the input's size."""
    if isinstance(padding, str):
        return ((0,) * n, (0,) * n) if padding == "valid" else None
    if isinstance(padding, int):
        return (padding,) * n, (padding,) * n
    if len(padding) == n:
        return padding, padding
    if len(padding) == 2 * n:
        return padding[:n], padding[n:]
    raise ShapeError(f"padding {padding} has {len(padding)} entries: give {n} (one per spatial axis) or {2 * n}")


class _Window:
    """Where the windows of a convolution or pooling go along each spatial axis."""

    def __init__(self, sizes: Sequence[Dim], kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                 padding: Padding, ceil_mode: bool = False) -> None:
        n = len(sizes)
        self.span = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation))
        explicit = _explicit_pads(padding, n)
        self.begin: list[int | None] = []
        self.end: list[int | None] = []
        self.extra: list[int | None] = []  # ceil mode's windows running past the end padding
        self.out: list[Dim] = []
        for i, size in enumerate(sizes):
            axis = self._axis(i, size, kernel, stride[i], dilation, padding, explicit, ceil_mode)
            for values, v in zip((self.begin, self.end, self.extra, self.out), axis):
                values.append(v)

    def _axis(self, i: int, size: Dim, kernel: Sequence[int], s: int, dilation: Sequence[int], padding: Padding,
              explicit: tuple[tuple[int, ...], tuple[int, ...]] | None, ceil_mode: bool) -> tuple[Dim, Dim, Dim, Dim]:
        """(start padding, end padding, ceil mode's extra, output size) along spatial axis ``i``."""
        span = self.span[i]
        if explicit is None:  # "same": output ceil(size / stride), padded as little as that needs
            if size is None:
                return None, None, 0, None
            out = -(-size // s)
            total = max(0, (out - 1) * s + span - size)
            lo = total // 2 if padding == "same_upper" else total - total // 2
            return lo, total - lo, 0, out
        lo, hi = explicit[0][i], explicit[1][i]
        if size is None:
            return lo, hi, None, None
        room = size + lo + hi - span
        if room < 0:
            raise ShapeError(
                f"the window (kernel {tuple(kernel)}, dilation {tuple(dilation)}: {span} pixels on spatial "
                f"axis {i}) is larger than the padded input ({size} + {lo} + {hi})"
            )
        out = room // s + 1
        if ceil_mode:
            out = -(-room // s) + 1
            if (out - 1) * s >= size + lo:  # the last window must start inside the input or its start padding
                out -= 1
        return lo, hi, max(0, (out - 1) * s + span - (size + lo + hi)), out

    def pad_width(self) -> list[tuple[int, int]]:
        """``np.pad``'s widths for the spatial axes (known sizes only), ceil mode's extra at the ends."""
        return [(int(b), int(e) + int(x)) for b, e, x in zip(self.begin, self.end, self.extra)]  # type: ignore[arg-type]

    def windows(self, padded: Any, stride: Sequence[int], dilation: Sequence[int]) -> Any:
        """A view ``(..., *out, *kernel)`` of every window of ``padded`` (spatial axes last)."""
        n = len(stride)
        axes = tuple(range(padded.ndim - n, padded.ndim))
        view = sliding_window_view(padded, self.span, axis=axes)
        index = (Ellipsis, *(slice(None, None, s) for s in stride), *(slice(None, None, d) for d in dilation))
        return view[index]  # type: ignore[index]


# --- other array libraries -------------------------------------------------------------------------


def _torch_functional(xp: Any, nd: int) -> Any:
    """``torch.nn.functional`` when ``xp`` is torch's namespace and it has ``nd``-d pooling and convolution."""
    if nd > 3 or not getattr(xp, "__name__", "").endswith("torch"):
        return None
    import torch.nn.functional

    return torch.nn.functional


def _pad_on(xp: Any, x: Any, pads: Sequence[tuple[int, int]], fill: float | int = 0) -> Any:
    """``x`` padded with ``fill`` on its last ``len(pads)`` axes (``(start, end)`` each), on any library."""
    if not any(lo or hi for lo, hi in pads):
        return x
    functional = _torch_functional(xp, 0)
    if functional is not None:  # one kernel instead of a concatenation per axis
        flat = [int(v) for lo_hi in reversed(pads) for v in lo_hi]  # torch lists the last axis first
        return functional.pad(x, flat, value=fill)
    first = x.ndim - len(pads)
    for axis, (lo, hi) in enumerate(pads, start=first):
        # The standard has no pad: concatenate blocks of the fill value (works on immutable arrays too).
        parts = []
        for width in (lo, hi):
            shape = list(x.shape)
            shape[axis] = width
            parts.append(xp.full(tuple(shape), fill, dtype=x.dtype, device=x.device) if width else None)
        x = xp.concat([p for p in (parts[0], x, parts[1]) if p is not None], axis=axis)
    return x


def _window_parts(x: Any, out: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                  dilation: Sequence[int]) -> Iterator[Any]:
    """Every kernel position's pixels of every window of the padded ``x``: one strided slice ``(N, C, *out)`` each."""
    for position in np.ndindex(*kernel):  # C order: the order of the kernel's flattened pixels
        spatial = tuple(slice(k * d, k * d + (o - 1) * s + 1, s) for k, d, o, s in zip(position, dilation, out, stride))
        yield x[(slice(None), slice(None)) + spatial]


# --- checks, and the ONNX and torch spellings of the settings --------------------------------------


def _spatial(x: Spec, what: str, min_rank: int = 3) -> None:
    if x.ndim < min_rank:
        raise ShapeError(f"{what} needs an input of shape (N, C, *spatial), got rank {x.ndim} {format_shape(x.shape)}")


def _float_dtype(*specs: Spec) -> np.dtype[Any]:
    dtype = result_dtype(*specs)
    if dtype.kind != "f":
        raise ShapeError(f"needs float operands, got {', '.join(str(s.dtype) for s in specs)}")
    return dtype


def _compute_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    # numpy's float16 matmul and sums are slow and round every step: accumulate in float32.
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _onnx_padding(ctx: Any, n: int) -> Padding:
    auto = ctx.attr("auto_pad", "NOTSET")
    if auto in ("", "NOTSET"):
        pads = ctx.ints_attr("pads", None)
        if pads is None:
            return 0
        if len(pads) != 2 * n:
            raise ctx.error(f"pads {pads} should have {2 * n} entries for {n} spatial axes")
        return tuple(pads)
    modes = {v: k for k, v in _ONNX_AUTO_PAD.items()}
    if auto not in modes:
        raise ctx.error(f"auto_pad {auto!r} is not NOTSET, SAME_UPPER, SAME_LOWER or VALID")
    return modes[auto]


def _onnx_pad_attributes(padding: Padding, n: int) -> dict[str, Any]:
    if isinstance(padding, str):
        return {"auto_pad": _ONNX_AUTO_PAD[padding]}
    starts, ends = _explicit_pads(padding, n)  # type: ignore[misc]
    return {"pads": [*starts, *ends]} if any(starts) or any(ends) else {}


def _torch_ints(value: Any) -> int | tuple[int, ...]:
    """A torch size argument (an int or a list, one entry standing for every axis) as this module's form."""
    if isinstance(value, int):
        return value
    values = tuple(int(v) for v in value)
    return values[0] if len(values) == 1 else values


def _spatial_rank(ctx: Any) -> int:
    x = ctx.input(0)
    if x.ndim < 3:
        raise ctx.error(f"needs an input of shape (N, C, *spatial), got rank {x.ndim}")
    return int(x.ndim - 2)
