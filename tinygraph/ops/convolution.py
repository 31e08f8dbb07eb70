"""Convolution over N-d spatial axes in NCHW layout (as ONNX and torch): ``conv``.

``x`` has shape ``(N, C, *spatial)``, one or more spatial axes (1-D, 2-D, 3-D...). The sliding
windows are views (``numpy.lib.stride_tricks.sliding_window_view``), copied once into an im2col
matrix and multiplied with the kernel through BLAS, one matmul per group.

On other array libraries (``arrays = "any"``): torch's 1-D to 3-D convolution runs through
``torch.nn.functional`` (on the tensors' device), the padding computed here as for numpy; every
other library, and more than 3 spatial axes, use the array API standard only: the windows are
strided slices of the padded input, one per kernel position, stacked into the im2col matrix.
``padding`` and the other settings are described in ``_windows``.
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
from ..shapes import Shape, Spec, format_shape
from ._windows import (
    Padding,
    _compute_dtype,
    _float_dtype,
    _int_or_ints,
    _onnx_pad_attributes,
    _onnx_padding,
    _pad_on,
    _padding,
    _per_axis,
    _spatial,
    _spatial_rank,
    _torch_functional,
    _torch_ints,
    _Window,
    _window_parts,
)

__all__ = ["Conv", "conv"]


def _numpy_result_type(xp: Any, *values: Any) -> np.dtype[Any]:
    """The dtype numpy's promotion gives arrays of another library (what the node's spec says)."""
    lib = common_library(values)
    return np.result_type(*(lib.numpy_dtype(v.dtype) for v in values))


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


# --- function forms --------------------------------------------------------------------------------


def conv(x: Any, w: Any, b: Any = None, stride: int | Sequence[int] = 1, padding: Padding | Sequence[int] = 0,
         dilation: int | Sequence[int] = 1, groups: int = 1, *, name: str | None = None) -> Node:
    """Convolution (cross-correlation, as torch and ONNX): ``x (N, C, *S)``, ``w (M, C/groups, *K)``, ``b (M,)``."""
    op = Conv(stride, padding, dilation, groups)
    return op(x, w, name=name) if b is None else op(x, w, b, name=name)
