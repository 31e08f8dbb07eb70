"""Pooling over N-d spatial axes in NCHW layout (as ONNX and torch): ``max_pool``, ``avg_pool``,
``global_avg_pool``, ``global_max_pool``; and ``flatten`` (ONNX's), which turns pooled
``(N, C, 1, 1)`` features into the ``(N, C)`` matrix a classifier takes.

``x`` has shape ``(N, C, *spatial)``, one or more spatial axes. A pooling reduces the sliding
windows (views, ``numpy.lib.stride_tricks.sliding_window_view``) one kernel position at a time.
On other array libraries, torch's 1-D to 3-D pooling runs through ``torch.nn.functional``, the
padding, ``ceil_mode``'s overhang and the divisor computed here as for numpy; every other library,
and more than 3 spatial axes, fold strided slices of the padded input with ``maximum``/``add``.
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
from ..shapes import Dim, Shape, Spec, format_shape
from ._windows import (
    Padding,
    _compute_dtype,
    _explicit_pads,
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

__all__ = [
    "MaxPool", "AvgPool", "GlobalAvgPool", "GlobalMaxPool", "Flatten",
    "max_pool", "avg_pool", "global_avg_pool", "global_max_pool", "flatten",
]


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


def _fold_on(xp: Any, x: Any, out: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
             dilation: Sequence[int], combine: Any) -> Any:
    """``combine`` (``xp.maximum``, ``xp.add``) folded over the kernel positions of every window."""
    result: Any = None
    for part in _window_parts(x, out, kernel, stride, dilation):
        result = part if result is None else combine(result, part)
    if math.prod(kernel) == 1:  # a single slice is a view of the input: the op's result is fresh
        result = xp.asarray(result, copy=True)
    return result


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


# --- function forms --------------------------------------------------------------------------------


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
