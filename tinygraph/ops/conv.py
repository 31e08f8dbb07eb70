"""Convolution and pooling over N-d spatial axes in NCHW layout (as ONNX and torch), and ``flatten``.

Every op here takes ``x`` of shape ``(N, C, *spatial)``, one or more spatial axes (1-D, 2-D, 3-D...).
Sliding windows are views (``numpy.lib.stride_tricks.sliding_window_view``): a convolution copies
them once into an im2col matrix and multiplies it with the kernel through BLAS; pooling reduces them.

On other array libraries (``arrays = "any"``): torch's 1-D to 3-D convolution and pooling run through
``torch.nn.functional`` (on the tensors' device), the padding, ``ceil_mode``'s overhang and the divisor
computed here as for numpy; every other library, and more than 3 spatial axes, use the array API
standard only: the windows are strided slices of the padded input, one per kernel position (the
standard has no sliding-window view), stacked into the im2col matrix or folded with ``maximum``/``add``.

``padding`` is an int (every side), a tuple with one int per spatial axis (both sides of it), a tuple
of ``2 * ndim`` ints (ONNX's ``pads``: all the starts, then all the ends), or ``"valid"`` (none),
``"same"``/``"same_upper"`` (output size ``ceil(size / stride)``, the odd pixel at the end, as
torch's ``"same"`` and ONNX's ``SAME_UPPER``) or ``"same_lower"`` (the odd pixel at the start).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..arrays import array_namespace, common_library
from ..errors import ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Dim, Shape, Spec, format_shape, result_dtype

__all__ = [
    "Conv", "MaxPool", "AvgPool", "GlobalAvgPool", "GlobalMaxPool", "Flatten",
    "conv", "max_pool", "avg_pool", "global_avg_pool", "global_max_pool", "flatten",
]

Padding = int | tuple[int, ...] | str
_PAD_MODES = ("valid", "same_upper", "same_lower")
_ONNX_AUTO_PAD = {"valid": "VALID", "same_upper": "SAME_UPPER", "same_lower": "SAME_LOWER"}


# --- geometry shared by convolution and pooling -----------------------------------------------------


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


def _fold_windows(views: Any, nd: int, ufunc: Any) -> Any:
    """``ufunc.reduce`` over the last ``nd`` (window) axes of ``views``, one kernel position at a time.

    Each step combines one strided slice of all windows at once: for the few positions of a kernel,
    this is several times faster than a reduction over the view's small trailing axes.
    """
    out: Any = None
    for position in np.ndindex(*views.shape[-nd:]):
        part = views[(Ellipsis,) + tuple(position)]
        if out is None:
            out = np.array(part)
        else:
            ufunc(out, part, out=out)
    return out


# --- other array libraries ----------------------------------------------------------------------------


def _numpy_result_type(xp: Any, *values: Any) -> np.dtype[Any]:
    """The dtype numpy's promotion gives arrays of another library (what the node's spec says)."""
    lib = common_library(values)
    return np.result_type(*(lib.numpy_dtype(v.dtype) for v in values))


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


def _fold_on(xp: Any, x: Any, out: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
             dilation: Sequence[int], combine: Any) -> Any:
    """``combine`` (``xp.maximum``, ``xp.add``) folded over the kernel positions of every window."""
    result: Any = None
    for part in _window_parts(x, out, kernel, stride, dilation):
        result = part if result is None else combine(result, part)
    if math.prod(kernel) == 1:  # a single slice is a view of the input: the op's result is fresh
        result = xp.asarray(result, copy=True)
    return result


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


# --- convolution ------------------------------------------------------------------------------------


class Conv(Op):
    """Cross-correlation of ``x (N, C, *S)`` with ``w (M, C / groups, *K)``, plus an optional bias ``b (M,)``."""

    kind = "conv"
    fresh_output = True
    onnx_type = "Conv"
    torch_ops = ("aten.conv1d.default", "aten.conv2d.default", "aten.conv3d.default", "aten.conv1d.padding",
                 "aten.conv2d.padding", "aten.conv3d.padding", "aten.convolution.default")
    dot_style: ClassVar[dict[str, str]] = {"fillcolor": "#dde8fb"}

    def __init__(self, stride: int | Sequence[int] = 1, padding: Padding | Sequence[int] = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1) -> None:
        self.stride = _int_or_ints(stride, "stride", 1)
        self.padding = _padding(padding)
        self.dilation = _int_or_ints(dilation, "dilation", 1)
        count = _int_or_ints(groups, "groups", 1)
        if not isinstance(count, int):
            raise ValueError(f"groups must be an int >= 1, got {groups!r}")
        self.groups = count

    def _geometry(self, x: Shape, w: Shape) -> tuple[_Window, tuple[int, ...], tuple[int, ...]]:
        n = len(x) - 2
        stride = _per_axis(self.stride, n, "stride")
        dilation = _per_axis(self.dilation, n, "dilation")
        kernel = w[2:]
        if any(k is None for k in kernel):
            raise ShapeError(f"the kernel's spatial sizes must be known, got {format_shape(w)}")
        return _Window(x[2:], kernel, stride, dilation, self.padding), stride, dilation  # type: ignore[arg-type]

    def infer(self, *specs: Spec) -> Spec:
        """``(N, M, *out)``; channels, groups and the kernel checked against the input."""
        if len(specs) not in (2, 3):
            raise ShapeError(f"takes x, w and an optional bias, got {len(specs)} operand(s)")
        x, w, b = specs[0], specs[1], specs[2] if len(specs) == 3 else None
        _spatial(x, "conv")
        if w.ndim != x.ndim:
            raise ShapeError(f"the kernel {format_shape(w.shape)} should have rank {x.ndim} (M, C/groups, *kernel), "
                             f"like the input {format_shape(x.shape)}")
        c, m, cg, g = x.shape[1], w.shape[0], w.shape[1], self.groups
        if m is not None and m % g:
            raise ShapeError(f"{m} output channels are not divisible by groups={g}")
        if c is not None and c % g:
            raise ShapeError(f"{c} input channels are not divisible by groups={g}")
        if c is not None and cg is not None and c != cg * g:
            raise ShapeError(f"channel mismatch: the input has {c} channels, the kernel {format_shape(w.shape)} "
                             f"expects {cg} x groups={g} = {cg * g}")
        if b is not None and (b.ndim != 1 or (b.shape[0] is not None and m is not None and b.shape[0] != m)):
            raise ShapeError(f"the bias {format_shape(b.shape)} should be ({m},): one per output channel")
        window, _, _ = self._geometry(x.shape, w.shape)
        return Spec((x.shape[0], m, *window.out), _float_dtype(*specs))

    arrays = "any"

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        """im2col of the windows (one copy), then one matmul per group through BLAS."""
        xp = array_namespace(x, w) if b is None else array_namespace(x, w, b)
        if xp is not np:
            return self._forward_on(xp, x, w, b)
        window, stride, dilation = self._geometry(x.shape, w.shape)
        dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
        work = _compute_dtype(dtype)
        x = np.asarray(x, dtype=work)
        pads = window.pad_width()
        if any(p != (0, 0) for p in pads):
            x = np.pad(x, [(0, 0), (0, 0), *pads])
        n, c = x.shape[:2]
        m, g = w.shape[0], self.groups
        cols = window.windows(x, stride, dilation)  # (N, C, *out, *K)
        out, k = cols.shape[2:2 + len(stride)], w.shape[2:]
        nd = len(stride)
        # im2col as (G, C/G * K, N * out): each group's window pixels along the rows, every output position of
        # every sample along the columns, so that each group is one large GEMM (many small BLAS calls, one
        # per sample, cost far more: each has a fixed threading overhead).
        cols = cols.reshape(n, g, c // g, *out, *k)
        order = (1, 2, *range(3 + nd, 3 + 2 * nd), 0, *range(3, 3 + nd))
        cols = cols.transpose(order).reshape(g, (c // g) * math.prod(k), n * math.prod(out))
        kernel = np.asarray(w, dtype=work).reshape(g, m // g, -1)
        y = np.matmul(kernel, cols).reshape(m, n, *out)
        if b is not None:
            y += np.asarray(b, dtype=work).reshape(m, 1, *(1,) * nd)
        return np.ascontiguousarray(np.swapaxes(y, 0, 1), dtype=dtype)

    def _forward_on(self, xp: Any, x: Any, w: Any, b: Any) -> Any:
        """Another library: torch's ``conv1d``-``conv3d``, else im2col from strided slices and one matmul."""
        window, stride, dilation = self._geometry(tuple(x.shape), tuple(w.shape))
        lib = common_library([x, w] if b is None else [x, w, b])
        dtype = _numpy_result_type(xp, x, w) if b is None else _numpy_result_type(xp, x, w, b)
        work = lib.dtype(_compute_dtype(dtype))
        x, w = xp.astype(x, work, copy=False), xp.astype(w, work, copy=False)
        b = None if b is None else xp.astype(b, work, copy=False)
        x = _pad_on(xp, x, window.pad_width())
        nd = len(stride)
        functional = _torch_functional(xp, nd)
        if functional is not None:
            conv_nd = (functional.conv1d, functional.conv2d, functional.conv3d)[nd - 1]
            y = conv_nd(x, w, b, stride, 0, dilation, self.groups)
        else:
            n, c = x.shape[:2]
            m, g = w.shape[0], self.groups
            out, k = [int(o) for o in window.out], math.prod(w.shape[2:])  # type: ignore[arg-type]
            # (N, C, K, *out) -> (N, G, C/G * K, out): rows ordered as the kernel's (channel, then pixel).
            cols = xp.stack(list(_window_parts(x, out, w.shape[2:], stride, dilation)), axis=2)
            cols = xp.reshape(cols, (n, g, (c // g) * k, math.prod(out)))
            kernel = xp.reshape(w, (1, g, m // g, (c // g) * k))
            y = xp.reshape(xp.matmul(kernel, cols), (n, m, *out))
            if b is not None:
                y = y + xp.reshape(b, (1, m, *(1,) * nd))
        return xp.astype(y, lib.dtype(dtype), copy=False)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``strides``, ``dilations``, ``group``, ``kernel_shape`` and ``pads`` or ``auto_pad``."""
        n = node.inputs[0].ndim - 2
        return {"strides": list(_per_axis(self.stride, n, "stride")),
                "dilations": list(_per_axis(self.dilation, n, "dilation")), "group": self.groups,
                "kernel_shape": list(node.inputs[1].shape[2:]), **_onnx_pad_attributes(self.padding, n)}

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``convNd(x, w, b, stride, padding, dilation, groups)`` and ``convolution`` (not transposed)."""
        if target == "aten.convolution.default":
            x, w, b, stride, padding, dilation, transposed, _, groups = args
            if transposed:
                raise ValueError("transposed convolution is not supported")
        else:
            x, w, b, stride, padding, dilation, groups = args
        return conv(x, w, b, _torch_ints(stride), padding if isinstance(padding, str) else _torch_ints(padding),
                    _torch_ints(dilation), groups)

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``strides``, ``pads``/``auto_pad``, ``dilations``, ``group``; ``kernel_shape`` checked against W."""
        n = _spatial_rank(ctx)
        kernel = ctx.ints_attr("kernel_shape", None)
        w = ctx.input(1)
        if kernel is not None and any(d is not None and d != k for d, k in zip(w.shape[2:], kernel)):
            raise ctx.error(f"kernel_shape {kernel} differs from the weights' shape {w.shape}")
        return {"stride": tuple(ctx.ints_attr("strides", [1] * n)), "padding": _onnx_padding(ctx, n),
                "dilation": tuple(ctx.ints_attr("dilations", [1] * n)), "groups": ctx.int_attr("group", 1)}


# --- pooling ----------------------------------------------------------------------------------------


class _Pool(Op):
    arity = 1
    fresh_output = True

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: Padding | Sequence[int] = 0, dilation: int | Sequence[int] = 1,
                 ceil_mode: bool = False) -> None:
        self.kernel_size = _int_or_ints(kernel_size, "kernel_size", 1)
        # None: the kernel's size, as in torch (ONNX's default, 1, is written explicitly on import).
        self.stride = None if stride is None else _int_or_ints(stride, "stride", 1)
        self.padding = _padding(padding)
        self.dilation = _int_or_ints(dilation, "dilation", 1)
        self.ceil_mode = bool(ceil_mode)

    def _geometry(self, x: Shape) -> tuple[_Window, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        n = len(x) - 2
        kernel = _per_axis(self.kernel_size, n, "kernel_size")
        stride = kernel if self.stride is None else _per_axis(self.stride, n, "stride")
        dilation = _per_axis(self.dilation, n, "dilation")
        if self.ceil_mode and isinstance(self.padding, str) and self.padding != "valid":
            raise ShapeError("ceil_mode does not apply to 'same' padding")
        explicit = _explicit_pads(self.padding, n)
        if explicit is not None:
            for i, (lo, hi) in enumerate(zip(*explicit)):
                if max(lo, hi) >= (kernel[i] - 1) * dilation[i] + 1:
                    raise ShapeError(f"padding {lo}, {hi} on spatial axis {i} is not smaller than the window")
        return _Window(x[2:], kernel, stride, dilation, self.padding, self.ceil_mode), kernel, stride, dilation

    def infer(self, x: Spec) -> Spec:
        """``(N, C, *out)``, the input's dtype."""
        _spatial(x, self.kind)
        window = self._geometry(x.shape)[0]
        return Spec((*x.shape[:2], *window.out), self._dtype(x))

    def _dtype(self, x: Spec) -> np.dtype[Any]:
        return _float_dtype(x)

    def _onnx_common(self, node: Node) -> dict[str, Any]:
        n = node.inputs[0].ndim - 2
        kernel = _per_axis(self.kernel_size, n, "kernel_size")
        attrs = {"kernel_shape": list(kernel),
                 "strides": list(kernel if self.stride is None else _per_axis(self.stride, n, "stride")),
                 **_onnx_pad_attributes(self.padding, n)}
        if self.ceil_mode:
            attrs["ceil_mode"] = 1
        dilation = _per_axis(self.dilation, n, "dilation")
        if any(d != 1 for d in dilation):
            attrs["dilations"] = list(dilation)
        return attrs

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``kernel_shape``, ``strides`` (default 1), ``pads``/``auto_pad``, ``dilations``, ``ceil_mode``."""
        n = _spatial_rank(ctx)
        kernel = ctx.ints_attr("kernel_shape", None)
        if kernel is None or len(kernel) != n:
            raise ctx.error(f"kernel_shape {kernel} should have {n} entries")
        return {"kernel_size": tuple(kernel), "stride": tuple(ctx.ints_attr("strides", [1] * n)),
                "padding": _onnx_padding(ctx, n), "dilation": tuple(ctx.ints_attr("dilations", [1] * n)),
                "ceil_mode": bool(ctx.int_attr("ceil_mode", 0))}


class MaxPool(_Pool):
    """The maximum of each window; padding never wins (it is ``-inf``, or the integer minimum)."""

    kind = "max_pool"
    onnx_type = "MaxPool"
    torch_ops = ("aten.max_pool1d.default", "aten.max_pool2d.default", "aten.max_pool3d.default",
                 "aten.max_pool2d_with_indices.default")

    def _dtype(self, x: Spec) -> np.dtype[Any]:
        if x.dtype.kind not in "iuf":
            raise ShapeError(f"needs a numeric input, got {x.dtype}")
        return x.dtype

    arrays = "any"

    def forward(self, x: Any) -> Any:
        """Pad with the lowest value, then the max over each window view."""
        xp = array_namespace(x)
        if xp is not np:
            return self._forward_on(xp, x)
        window, kernel, stride, dilation = self._geometry(x.shape)
        x = np.asarray(x)
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        pads = window.pad_width()
        if any(p != (0, 0) for p in pads):
            x = np.pad(x, [(0, 0), (0, 0), *pads], constant_values=low)
        return _fold_windows(window.windows(x, stride, dilation), len(kernel), np.maximum)

    def _forward_on(self, xp: Any, x: Any) -> Any:
        """Another library: torch's ``max_pool1d``-``max_pool3d`` on the padded input, else ``maximum`` folded."""
        window, kernel, stride, dilation = self._geometry(tuple(x.shape))
        floating = xp.isdtype(x.dtype, "real floating")
        x = _pad_on(xp, x, window.pad_width(), -math.inf if floating else int(xp.iinfo(x.dtype).min))
        out = [int(o) for o in window.out]  # type: ignore[arg-type]
        # torch's CUDA max_pool kernels are for floats only: integers take the standard's path everywhere.
        functional = _torch_functional(xp, len(kernel)) if floating else None
        if functional is None:
            return _fold_on(xp, x, out, kernel, stride, dilation, xp.maximum)
        pool = (functional.max_pool1d, functional.max_pool2d, functional.max_pool3d)[len(kernel) - 1]
        # The padding (and ceil mode's overhang) is in x already: torch's own limits it to half the kernel.
        return pool(x, kernel, stride, 0, dilation, ceil_mode=False)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``kernel_shape``, ``strides``, ``pads``/``auto_pad``, ``dilations``, ``ceil_mode``."""
        return self._onnx_common(node)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """``max_poolNd(x, kernel_size, stride, padding, dilation, ceil_mode)``; an empty stride is the kernel's."""
        x, kernel, stride, padding, dilation, ceil_mode = args
        y = cls(_torch_ints(kernel), _torch_ints(stride) if stride else None, _torch_ints(padding),
                _torch_ints(dilation), ceil_mode)(x)
        return [y, None] if target.endswith("with_indices.default") else y

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """The pooled values; the ``Indices`` output is refused."""
        if len(ctx.node.output) > 1 and ctx.node.output[1]:
            raise ctx.error("MaxPool's Indices output (argmax positions) is not supported")
        if ctx.int_attr("storage_order", 0):
            raise ctx.error("storage_order=1 only changes the Indices output, which is not supported")
        return [cls(**cls.onnx_config(ctx))(ctx.input(0), name=ctx.name())]


class AvgPool(_Pool):
    """The mean of each window; ``count_include_pad`` counts the padding's zeros (ceil mode's overhang never)."""

    kind = "avg_pool"
    onnx_type = "AveragePool"
    torch_ops = ("aten.avg_pool1d.default", "aten.avg_pool2d.default", "aten.avg_pool3d.default")

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: Padding | Sequence[int] = 0, dilation: int | Sequence[int] = 1,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    arrays = "any"

    def forward(self, x: Any) -> Any:
        """Window sums of the zero-padded input, divided by how many pixels each window counts."""
        xp = array_namespace(x)
        if xp is not np:
            return self._forward_on(xp, x)
        window, kernel, stride, dilation = self._geometry(x.shape)
        dtype, shape = np.asarray(x).dtype, x.shape[2:]
        x = np.asarray(x, dtype=_compute_dtype(dtype))
        nd = len(kernel)
        pads = window.pad_width()
        if any(p != (0, 0) for p in pads):
            x = np.pad(x, [(0, 0), (0, 0), *pads])
        sums = _fold_windows(window.windows(x, stride, dilation), nd, np.add)
        # The divisor: how many pixels of each window are the input (and the explicit padding, if counted);
        # ceil mode's overhang past the end padding never counts.
        inside = np.zeros(x.shape[2:], dtype=x.dtype)
        if self.count_include_pad:
            core = tuple(slice(0, size - int(e)) for size, e in zip(x.shape[2:], window.extra))  # type: ignore[arg-type]
        else:
            core = tuple(slice(int(b), int(b) + size) for b, size in zip(window.begin, shape))  # type: ignore[arg-type]
        inside[core] = 1
        counts = _fold_windows(window.windows(inside, stride, dilation), nd, np.add)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / counts).astype(dtype, copy=False)

    def _forward_on(self, xp: Any, x: Any) -> Any:
        """Another library: window sums (torch: means) of the padded input over those of the counted pixels' mask."""
        window, kernel, stride, dilation = self._geometry(tuple(x.shape))
        lib = common_library([x])
        dtype = lib.numpy_dtype(x.dtype)
        x = xp.astype(x, lib.dtype(_compute_dtype(dtype)), copy=False)
        sizes = x.shape[2:]
        pads = window.pad_width()
        x = _pad_on(xp, x, pads)
        # The pixels each window counts: the input (and the explicit padding, if counted), never ceil mode's
        # overhang: ones over those, zero-padded to x's shape.
        if self.count_include_pad:
            counted = [int(size) + lo + hi - int(e) for size, (lo, hi), e in zip(sizes, pads, window.extra)]  # type: ignore[arg-type]
            mask_pads = [(0, int(e)) for e in window.extra]  # type: ignore[arg-type]
        else:
            counted, mask_pads = [int(size) for size in sizes], pads
        everything = not any(lo or hi for lo, hi in mask_pads)
        mask = None if everything else _pad_on(xp, xp.ones((1, 1, *counted), dtype=x.dtype, device=x.device), mask_pads)
        out = [int(o) for o in window.out]  # type: ignore[arg-type]
        functional = _torch_functional(xp, len(kernel))
        if functional is not None and all(d == 1 for d in dilation):  # torch's avg_pool has no dilation
            pool = (functional.avg_pool1d, functional.avg_pool2d, functional.avg_pool3d)[len(kernel) - 1]
            sums = pool(x, kernel, stride, 0, False, True)  # means of whole windows: the ratio is the same
            counts = None if mask is None else pool(mask, kernel, stride, 0, False, True)
            if counts is None:
                return xp.astype(sums, lib.dtype(dtype), copy=False)
        else:
            sums = _fold_on(xp, x, out, kernel, stride, dilation, xp.add)
            counts = float(math.prod(kernel)) if mask is None else _fold_on(xp, mask, out, kernel, stride, dilation,
                                                                            xp.add)
        return xp.astype(sums / counts, lib.dtype(dtype), copy=False)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """``avg_poolNd(x, kernel_size, stride, padding, ceil_mode, count_include_pad[, divisor_override])``."""
        x, kernel, stride, padding, ceil_mode, count_include_pad = args[:6]
        if len(args) > 6 and args[6] is not None:
            raise ValueError("divisor_override is not supported")
        return cls(_torch_ints(kernel), _torch_ints(stride) if stride else None, _torch_ints(padding), 1, ceil_mode,
                   count_include_pad)(x)

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """Pooling attributes plus ``count_include_pad``; dilations need opset 19."""
        return {**self._onnx_common(node), "count_include_pad": int(self.count_include_pad)}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """``AveragePool``; a dilated one needs opset 19 or newer."""
        attrs = self.onnx_attributes(node)
        if "dilations" in attrs and ctx.opset < 19:
            raise ctx.error(node, f"AveragePool has dilations only from opset 19 (export uses opset {ctx.opset})")
        return str(ctx.emit("AveragePool", [ctx.operand(node.inputs[0])], output=ctx.name(node), **attrs))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """Pooling attributes plus ``count_include_pad`` (ONNX's default: 0)."""
        return {**super().onnx_config(ctx), "count_include_pad": bool(ctx.int_attr("count_include_pad", 0))}


class _GlobalPool(Op):
    arity = 1
    fresh_output = True
    reducer: ClassVar[Any]

    def infer(self, x: Spec) -> Spec:
        """``(N, C, 1, ..., 1)``."""
        _spatial(x, self.kind)
        if x.dtype.kind not in "iuf":
            raise ShapeError(f"needs a numeric input, got {x.dtype}")
        dtype = _float_dtype(x) if type(self).reducer is np.mean else x.dtype
        return Spec((*x.shape[:2], *(1,) * (x.ndim - 2)), dtype)

    arrays = "any"

    def forward(self, x: Any) -> Any:
        """The reduction over every spatial axis, kept as size-1 axes."""
        xp = array_namespace(x)
        if xp is not np:
            reduce = xp.mean if type(self).reducer is np.mean else xp.max
            return reduce(x, axis=tuple(range(2, x.ndim)), keepdims=True)
        return type(self).reducer(x, axis=tuple(range(2, np.ndim(x))), keepdims=True)


class GlobalAvgPool(_GlobalPool):
    """The mean over all spatial axes: ``(N, C, *S) -> (N, C, 1, ..., 1)``."""

    kind = "global_avg_pool"
    onnx_type = "GlobalAveragePool"
    torch_ops = ("aten.adaptive_avg_pool1d.default", "aten.adaptive_avg_pool2d.default",
                 "aten.adaptive_avg_pool3d.default", "aten._adaptive_avg_pool2d.default")
    reducer = np.mean

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Node:
        """Output size 1 everywhere: the global mean; sizes dividing the input's: an average pool."""
        x, size = args
        size = tuple(size)
        if all(s == 1 for s in size):
            return cls()(x)
        spatial = x.shape[2:]
        if len(size) != len(spatial) or any(d is None or d % s for d, s in zip(spatial, size)):
            raise ValueError(f"adaptive pooling of spatial size {format_shape(spatial)} to {size} is supported "
                             "only when each output size divides the input's (known) size")
        kernel = tuple(d // s for d, s in zip(spatial, size))
        return AvgPool(kernel, kernel)(x)


class GlobalMaxPool(_GlobalPool):
    """The max over all spatial axes: ``(N, C, *S) -> (N, C, 1, ..., 1)``."""

    kind = "global_max_pool"
    onnx_type = "GlobalMaxPool"
    reducer = np.max


class Flatten(Op):
    """ONNX ``Flatten``: a 2-D matrix, the axes before ``axis`` as rows, the rest as columns."""

    arity = 1
    onnx_type = "Flatten"

    def __init__(self, axis: int = 1) -> None:
        self.axis = int(axis)

    def _axis(self, ndim: int) -> int:
        if not -ndim <= self.axis <= ndim:
            raise ShapeError(f"axis {self.axis} is out of range for rank {ndim}")
        return self.axis % ndim if self.axis < 0 else self.axis

    def infer(self, x: Spec) -> Spec:
        """``(prod(shape[:axis]), prod(shape[axis:]))``, unknown if either part has an unknown dim."""
        axis = self._axis(x.ndim)

        def prod(dims: Shape) -> Dim:
            return None if any(d is None for d in dims) else math.prod(dims)  # type: ignore[arg-type]

        return Spec((prod(x.shape[:axis]), prod(x.shape[axis:])), x.dtype)

    arrays = "any"

    def forward(self, x: Any) -> Any:
        """``reshape`` to two axes (a view when the library can make one)."""
        xp = array_namespace(x)
        if xp is not np:
            axis = self._axis(x.ndim)
            return xp.reshape(x, (math.prod(x.shape[:axis]), math.prod(x.shape[axis:])))
        axis = self._axis(np.ndim(x))
        shape = np.shape(x)
        return np.reshape(x, (math.prod(shape[:axis]), math.prod(shape[axis:])))

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``axis``."""
        return {"axis": self.axis}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``axis`` (default 1)."""
        return {"axis": ctx.int_attr("axis", 1)}


# --- function forms ---------------------------------------------------------------------------------


def conv(x: Any, w: Any, b: Any = None, stride: int | Sequence[int] = 1, padding: Padding | Sequence[int] = 0,
         dilation: int | Sequence[int] = 1, groups: int = 1, *, name: str | None = None) -> Node:
    """Convolution (cross-correlation, as torch and ONNX): ``x (N, C, *S)``, ``w (M, C/groups, *K)``, ``b (M,)``."""
    op = Conv(stride, padding, dilation, groups)
    return op(x, w, name=name) if b is None else op(x, w, b, name=name)


def max_pool(x: Any, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
             padding: Padding | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False, *,
             name: str | None = None) -> Node:
    """Max pooling over the spatial axes of ``x (N, C, *S)``; ``stride`` defaults to ``kernel_size``."""
    return MaxPool(kernel_size, stride, padding, dilation, ceil_mode)(x, name=name)


def avg_pool(x: Any, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
             padding: Padding | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
             count_include_pad: bool = True, *, name: str | None = None) -> Node:
    """Average pooling over the spatial axes of ``x (N, C, *S)``; ``stride`` defaults to ``kernel_size``."""
    return AvgPool(kernel_size, stride, padding, dilation, ceil_mode, count_include_pad)(x, name=name)


def global_avg_pool(x: Any, *, name: str | None = None) -> Node:
    """The mean over the spatial axes of ``x (N, C, *S)``, kept as size-1 axes."""
    return GlobalAvgPool()(x, name=name)


def global_max_pool(x: Any, *, name: str | None = None) -> Node:
    """The max over the spatial axes of ``x (N, C, *S)``, kept as size-1 axes."""
    return GlobalMaxPool()(x, name=name)


def flatten(x: Any, axis: int = 1, *, name: str | None = None) -> Node:
    """``x`` as a matrix: the axes before ``axis`` as rows, the rest as columns (ONNX ``Flatten``)."""
    return Flatten(axis)(x, name=name)
