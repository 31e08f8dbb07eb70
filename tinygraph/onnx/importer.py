"""ONNX -> Graph: each ONNX node is lowered to tinygraph's built-in ops.

Graph inputs become ``tg.input`` nodes (unknown or symbolic dims -> ``None``), initializers
become parameters (made when first used as data), ``Constant`` nodes become constants. Values
that tinygraph needs when the graph is built (a Reshape's shape, a reduction's axes) must come
from an initializer, a ``Constant`` node, or the ``constants=`` argument.

ONNX computes an op in the type of its first operand (``Pow(f32, i64)`` is f32, integer ``Div``
truncates); numpy promotes. After lowering a node, the importer casts its result back to the
type ONNX gives when the two differ (float -> int casts truncate toward zero, as ONNX's Div).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ops
from ..graph import Graph
from ..node import Node
from ..op import Constant, constant, input, parameter
from .common import SUPPORTED_DTYPES, OnnxImportError, UnsupportedOpsError, require_onnx

if TYPE_CHECKING:
    import onnx

_KINDS_NOTE = "which numpy can't hold: tinygraph imports bool, int, uint and float (16, 32, 64 bit) tensors"

#: ``fn(ctx) -> one Node (or None) per output of ctx.node``.
Importer = Callable[["ImportContext"], Sequence[Node | None]]

_IMPORTERS: dict[str, Importer] = {}


def register_importer(op_type: str) -> Callable[[Importer], Importer]:
    """Decorator: ``fn(ctx) -> [node per output]`` imports ONNX nodes of ``op_type`` (default domain)."""

    def decorate(fn: Importer) -> Importer:
        _IMPORTERS[op_type] = fn
        return fn

    return decorate


def supported_ops() -> list[str]:
    """The ONNX op types ``load`` can import, sorted."""
    return sorted(_IMPORTERS)


class ImportContext:
    """One ONNX node being imported: its operands as nodes or load-time values, its attributes."""

    def __init__(self, loader: _Loader, node: onnx.NodeProto) -> None:
        self._loader = loader
        self.node = node
        self.opset = loader.opset
        self.label = node.name or (node.output[0] if node.output else node.op_type)
        self._attrs = {a.name: a for a in node.attribute}

    def has_input(self, i: int) -> bool:
        """Whether operand ``i`` is given (ONNX leaves optional operands out or names them "")."""
        return i < len(self.node.input) and self.node.input[i] != ""

    def input(self, i: int) -> Node:
        """Operand ``i`` as a node."""
        if not self.has_input(i):
            raise self.error(f"operand {i} is missing")
        return self._loader.node_for(self.node.input[i], self)

    def static(self, i: int, what: str) -> np.ndarray[Any, Any]:
        """Operand ``i``'s value, which must be known at load time (``what`` says what it is for)."""
        value = self._loader.static_value(self.node.input[i])
        if value is None:
            raise self.error(
                f"its {what} (operand {i}, {self.node.input[i]!r}) must be known when the graph is built: "
                f"give it as an initializer or a Constant node, or pass "
                f"constants={{{self.node.input[i]!r}: value}} to tg.onnx.load"
            )
        return value

    def attr(self, name: str, default: Any = None) -> Any:
        """Attribute ``name``'s value (ints, floats, lists, tensors as arrays), or ``default``."""
        a = self._attrs.get(name)
        if a is None:
            return default
        onnx_ = self._loader.onnx
        value = onnx_.helper.get_attribute_value(a)
        if isinstance(value, onnx_.TensorProto):
            return self._loader.array(value, f"attribute {name} of node {self.label}")
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value

    def attr_names(self) -> list[str]:
        """The names of the attributes the node sets."""
        return list(self._attrs)

    def name(self, suffix: str = "") -> str:
        """The node's first output name, or an intermediate's name derived from it."""
        base = self.node.output[0]
        return f"{base}_{suffix}" if suffix else base

    def error(self, message: str) -> OnnxImportError:
        """An OnnxImportError naming this node."""
        return OnnxImportError(f"ONNX node {self.label!r} ({self.node.op_type}, opset {self.opset}): {message}")


class _Loader:
    def __init__(self, model: onnx.ModelProto, constants: Mapping[str, Any],
                 shapes: Mapping[str, Sequence[int | None]]) -> None:
        self.onnx = require_onnx()
        self.model = model
        graph = model.graph
        self.opset = _default_opset(model)
        self.env: dict[str, Node] = {}
        self.defined: set[Node] = set()  # every node in env, for identity checks in O(1)
        self.raw: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
        self.constants = constants
        self.shapes = shapes
        unknown = sorted(set(constants) - {i.name for i in graph.input})
        if unknown:
            raise OnnxImportError(f"constants= names {unknown}, which are not inputs of the model")

    def define(self, name: str, node: Node) -> None:
        self.env[name] = node
        self.defined.add(node)

    def array(self, tensor: onnx.TensorProto, what: str) -> np.ndarray[Any, Any]:
        try:
            arr = np.asarray(self.onnx.numpy_helper.to_array(tensor))
        except Exception as e:  # a malformed tensor: onnx raises several types
            raise OnnxImportError(f"cannot read {what}: {type(e).__name__}: {e}") from None
        if arr.dtype not in SUPPORTED_DTYPES:
            raise OnnxImportError(f"{what} has dtype {arr.dtype}, {_KINDS_NOTE}")
        return arr

    def static_value(self, name: str) -> np.ndarray[Any, Any] | None:
        node = self.env.get(name)
        if node is not None:
            return np.asarray(node.op.value) if isinstance(node.op, Constant) else None
        if name in self.raw:
            return self.array(self.raw[name], f"initializer {name!r}")
        return None

    def node_for(self, name: str, ctx: ImportContext) -> Node:
        node = self.env.get(name)
        if node is None and name in self.raw:
            node = parameter(self.array(self.raw[name], f"initializer {name!r}"), name=name)
            self.define(name, node)
        if node is None:
            raise ctx.error(f"operand {name!r} is not a graph input, an initializer or an earlier node's output")
        return node

    def add_inputs(self) -> None:
        for vi in self.model.graph.input:
            if vi.name in self.raw:
                continue  # an initializer listed as an input (IR < 4): a parameter with a default
            if vi.name in self.constants:
                self.define(vi.name, constant(np.asarray(self.constants[vi.name], dtype=self._dtype(vi)), name=vi.name))
                continue
            dtype = self._dtype(vi)
            if vi.name in self.shapes:
                shape = tuple(self.shapes[vi.name])
            else:
                tt = vi.type.tensor_type
                if not tt.HasField("shape"):
                    raise OnnxImportError(
                        f"input {vi.name!r} has no known rank; pass shapes={{{vi.name!r}: (...)}} to tg.onnx.load"
                    )
                shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
            self.define(vi.name, input(vi.name, shape, dtype))

    def _dtype(self, vi: onnx.ValueInfoProto) -> np.dtype[Any]:
        kind = vi.type.WhichOneof("value")
        if kind != "tensor_type":
            raise OnnxImportError(f"input {vi.name!r} is a {kind}; tinygraph values are tensors")
        dtype = self.numpy_dtype(vi.type.tensor_type.elem_type)
        if isinstance(dtype, str):
            raise OnnxImportError(f"input {vi.name!r} has element type {dtype}, {_KINDS_NOTE}")
        return dtype

    def numpy_dtype(self, elem_type: int) -> np.dtype[Any] | str:
        """The numpy dtype of an ONNX element type, or the type's name when tinygraph has none."""
        try:
            dtype: np.dtype[Any] = np.dtype(self.onnx.helper.tensor_dtype_to_np_dtype(elem_type))
            if dtype in SUPPORTED_DTYPES:
                return dtype
        except Exception:  # onnx raises KeyError/ValueError/TypeError for unknown and special types
            pass
        names = self.onnx.TensorProto.DataType
        return str(names.Name(elem_type)) if elem_type in names.values() else f"#{elem_type}"

    def run(self) -> Graph:
        self.add_inputs()
        for proto in self.model.graph.node:
            ctx = ImportContext(self, proto)
            results = list(_IMPORTERS[proto.op_type](ctx))
            onnx_dtype = _onnx_result_dtype(ctx)
            for out_name, node in zip(proto.output, results):
                if out_name == "" or node is None:
                    continue
                if onnx_dtype is not None and node.dtype != onnx_dtype:
                    if node not in self.defined:  # made by this importer, not an operand passed through
                        node.name = f"{out_name}_{node.op.kind}"
                    node = ops.cast(node, onnx_dtype, name=out_name)
                self.define(out_name, node)
        outputs = []
        for vi in self.model.graph.output:
            node = self.env.get(vi.name)
            if node is None and vi.name in self.raw:
                node = self.node_for(vi.name, ImportContext(self, self.onnx.NodeProto()))
            if node is None:
                raise OnnxImportError(f"graph output {vi.name!r} is produced by no node, input or initializer")
            outputs.append(node)
        if not outputs:
            raise OnnxImportError("the model's graph has no outputs")
        return Graph(outputs)


def _default_opset(model: onnx.ModelProto) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    raise OnnxImportError("the model imports no version of the default ONNX domain (opset_import)")


def _onnx_result_dtype(ctx: ImportContext) -> np.dtype[Any] | None:
    # Every op imported here computes in the type of its first operand (ONNX's type variable T).
    if ctx.node.op_type in ("Constant", "Cast") or not ctx.has_input(0):
        return None
    return ctx._loader.node_for(ctx.node.input[0], ctx).dtype


def _check_supported(model: onnx.ModelProto) -> None:
    unsupported: dict[str, list[str]] = {}
    for i, node in enumerate(model.graph.node):
        op_type = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        if node.domain not in ("", "ai.onnx") or node.op_type not in _IMPORTERS:
            unsupported.setdefault(op_type, []).append(node.name or (node.output[0] if node.output else f"#{i}"))
    if unsupported:
        listed = "; ".join(
            f"{op} ({len(names)} node{'s' * (len(names) > 1)}: {', '.join(names[:3])}{', ...' * (len(names) > 3)})"
            for op, names in sorted(unsupported.items())
        )
        raise UnsupportedOpsError(
            f"the model uses {len(unsupported)} ONNX op type(s) tinygraph can't import: {listed}. "
            f"Supported: {', '.join(supported_ops())}; add one with @tg.onnx.register_importer(op_type)",
            unsupported,
        )


def from_model(model: onnx.ModelProto, *, constants: Mapping[str, Any] | None = None,
               shapes: Mapping[str, Sequence[int | None]] | None = None) -> Graph:
    """An ``onnx.ModelProto`` as a tinygraph ``Graph`` (see ``load``)."""
    _check_supported(model)
    return _Loader(model, constants or {}, shapes or {}).run()


def load(source: str | os.PathLike[str] | bytes | onnx.ModelProto, *, constants: Mapping[str, Any] | None = None,
         shapes: Mapping[str, Sequence[int | None]] | None = None) -> Graph:
    """Import an ONNX model (a path, serialized bytes or a ModelProto) as a ``Graph``.

    ``constants`` fixes graph inputs to values at load time (an input that feeds a Reshape's
    shape, say); ``shapes`` gives the shape of inputs whose rank the model leaves unknown.
    """
    onnx_ = require_onnx()
    if isinstance(source, onnx_.ModelProto):
        model = source
    else:
        from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

        try:
            model = onnx_.load_from_string(source) if isinstance(source, bytes) else onnx_.load(os.fspath(source))
        except DecodeError as e:
            what = "<bytes>" if isinstance(source, bytes) else os.fspath(source)
            raise OnnxImportError(f"not a readable ONNX model: {what}: {e}") from None
    return from_model(model, constants=constants, shapes=shapes)


# --- the ops -----------------------------------------------------------------------------------------


def _typed_scalar(value: float, like: Node) -> Node:
    # A 0-d constant of the operand's dtype: ``alpha * y`` stays in y's type, as ONNX computes.
    return constant(np.asarray(value, dtype=like.dtype))


def _legacy_broadcast(ctx: ImportContext, a: Node, b: Node) -> Node:
    # Before opset 7, binary ops broadcast only with broadcast=1, aligning B at ``axis`` of A.
    if ctx.opset >= 7 or not ctx.attr("broadcast", 0):
        return b
    axis = ctx.attr("axis")
    if axis is None:
        return b  # suffix alignment: numpy's rule
    axis = axis % a.ndim if a.ndim else 0
    trailing = a.ndim - axis - b.ndim
    if trailing < 0:
        raise ctx.error(f"broadcast axis {axis} does not fit operands of ranks {a.ndim} and {b.ndim}")
    if trailing == 0:
        return b
    if sum(d is None for d in b.shape) > 1:
        raise ctx.error("legacy axis broadcasting needs B's shape known (at most one unknown dim)")
    target = tuple(-1 if d is None else d for d in b.shape) + (1,) * trailing
    return ops.reshape(b, target, name=ctx.name("b_aligned"))


def _binary(fn: Callable[..., Node]) -> Importer:
    def import_binary(ctx: ImportContext) -> list[Node]:
        a = ctx.input(0)
        b = _legacy_broadcast(ctx, a, ctx.input(1))
        return [fn(a, b, name=ctx.name())]

    return import_binary


def _unary(fn: Callable[..., Node]) -> Importer:
    def import_unary(ctx: ImportContext) -> list[Node]:
        return [fn(ctx.input(0), name=ctx.name())]

    return import_unary


_BINARY: dict[str, Callable[..., Node]] = {"Add": ops.add, "Sub": ops.sub, "Mul": ops.mul, "Div": ops.div,
                                           "Pow": ops.pow, "MatMul": ops.matmul}
_UNARY: dict[str, Callable[..., Node]] = {"Neg": ops.neg, "Exp": ops.exp, "Log": ops.log, "Tanh": ops.tanh,
                                          "Relu": ops.relu, "Sigmoid": ops.sigmoid}
for _op_type, _fn in _BINARY.items():
    register_importer(_op_type)(_binary(_fn))
for _op_type, _fn in _UNARY.items():
    register_importer(_op_type)(_unary(_fn))


@register_importer("Identity")
def _identity(ctx: ImportContext) -> list[Node]:
    return [ctx.input(0)]


@register_importer("Constant")
def _constant(ctx: ImportContext) -> list[Node]:
    given = ctx.attr_names()
    if len(given) != 1:
        raise ctx.error(f"a Constant needs exactly one value attribute, got {given}")
    key = given[0]
    scalar_types = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64,
                    "value_ints": np.int64}
    if key == "value":
        value = ctx.attr("value")
    elif key in scalar_types:
        value = np.asarray(ctx.attr(key), dtype=scalar_types[key])
    else:
        raise ctx.error(f"Constant {key} is not supported: tinygraph imports numeric dense tensors")
    return [constant(value, name=ctx.name())]


@register_importer("Cast")
def _cast(ctx: ImportContext) -> list[Node]:
    dtype = ctx._loader.numpy_dtype(int(ctx.attr("to", 0)))
    if isinstance(dtype, str):
        raise ctx.error(f"Cast to element type {dtype}, {_KINDS_NOTE}")
    return [ops.cast(ctx.input(0), dtype, name=ctx.name())]


@register_importer("Gemm")
def _gemm(ctx: ImportContext) -> list[Node]:
    a, b = ctx.input(0), ctx.input(1)
    if ctx.attr("transA", 0):
        a = ops.transpose(a, name=ctx.name("a_t"))
    if ctx.attr("transB", 0):
        b = ops.transpose(b, name=ctx.name("b_t"))
    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    has_c = ctx.has_input(2)
    y = ops.matmul(a, b, name=ctx.name("matmul") if alpha != 1.0 or has_c else ctx.name())
    if alpha != 1.0:
        y = ops.mul(y, _typed_scalar(alpha, y), name=ctx.name("alpha") if has_c else ctx.name())
    if has_c:
        c = ctx.input(2)
        if beta != 1.0:
            c = ops.mul(c, _typed_scalar(beta, c), name=ctx.name("beta"))
        y = ops.add(y, c, name=ctx.name())
    return [y]


@register_importer("Softmax")
def _softmax(ctx: ImportContext) -> list[Node]:
    x = ctx.input(0)
    if ctx.opset >= 13:
        return [ops.softmax(x, int(ctx.attr("axis", -1)), name=ctx.name())]
    # Before opset 13, Softmax flattens the input to 2-D at ``axis`` (default 1) and normalises
    # each row: one softmax over all the trailing axes together.
    if x.ndim == 0:
        raise ctx.error("softmax of a scalar")
    axis = int(ctx.attr("axis", 1))
    if not -x.ndim <= axis < x.ndim:
        raise ctx.error(f"axis {axis} is out of range for rank {x.ndim}")
    axis %= x.ndim
    if axis == x.ndim - 1:
        return [ops.softmax(x, -1, name=ctx.name())]
    inner = x.shape[axis:]
    if any(d is None for d in inner) or sum(d is None for d in x.shape) > 1:
        raise ctx.error(
            f"opset-{ctx.opset} Softmax over axes {axis}.. of a {x.shape} input needs those sizes known "
            "(and at most one unknown dim) to flatten them"
        )
    flat = ops.reshape(x, (-1, math.prod(inner)), name=ctx.name("flat"))  # type: ignore[arg-type]
    y = ops.softmax(flat, -1, name=ctx.name("softmax"))
    return [ops.reshape(y, tuple(-1 if d is None else d for d in x.shape), name=ctx.name())]


def _reduction(fn: Callable[..., Node], axes_input_since: int) -> Importer:
    def import_reduction(ctx: ImportContext) -> list[Node]:
        x = ctx.input(0)
        keepdims = bool(ctx.attr("keepdims", 1))
        if ctx.opset >= axes_input_since:
            axes = ctx.static(1, "axes").reshape(-1).tolist() if ctx.has_input(1) else []
            if not axes and ctx.attr("noop_with_empty_axes", 0):
                return [x]
        else:
            axes = list(ctx.attr("axes", []))
        return [fn(x, tuple(int(a) for a in axes) if axes else None, keepdims, name=ctx.name())]

    return import_reduction


register_importer("ReduceSum")(_reduction(ops.sum, 13))
register_importer("ReduceMean")(_reduction(ops.mean, 18))


@register_importer("Transpose")
def _transpose(ctx: ImportContext) -> list[Node]:
    perm = ctx.attr("perm")
    return [ops.transpose(ctx.input(0), None if perm is None else [int(p) for p in perm], name=ctx.name())]


@register_importer("Reshape")
def _reshape(ctx: ImportContext) -> list[Node]:
    x = ctx.input(0)
    if ctx.opset < 5:
        target = [int(d) for d in ctx.attr("shape", [])]
    else:
        target = [int(d) for d in ctx.static(1, "target shape").reshape(-1)]
    return [ops.reshape(x, _resolve_reshape(ctx, x.shape, target, bool(ctx.attr("allowzero", 0))), name=ctx.name())]


def _resolve_reshape(ctx: ImportContext, shape: tuple[int | None, ...], target: list[int],
                     allowzero: bool) -> tuple[int, ...]:
    """ONNX's target (0 copies the input's dim unless allowzero) as a numpy target."""
    out: list[int] = []
    copied_unknown: list[int] = []
    for i, t in enumerate(target):
        if t == 0 and not allowzero:
            if i >= len(shape):
                raise ctx.error(f"target {target} copies dim {i} of a rank-{len(shape)} input")
            d = shape[i]
            if d is None:
                copied_unknown.append(i)
                out.append(-1)
                continue
            out.append(d)
        else:
            out.append(t)
    if not copied_unknown:
        return tuple(out)
    # A copied unknown dim becomes numpy's -1 when nothing else is inferred, or when every
    # unknown input dim is copied, so that any other -1 is computable from known sizes.
    explicit = [i for i, t in enumerate(target) if t == -1]
    if len(copied_unknown) == 1 and not explicit:
        return tuple(out)
    all_unknown = [i for i, d in enumerate(shape) if d is None]
    if len(copied_unknown) == 1 and len(explicit) == 1 and all_unknown == copied_unknown:
        known_in = math.prod(d for d in shape if d is not None)
        known_out = math.prod(t for i, t in enumerate(out) if i not in copied_unknown and i not in explicit)
        if known_out and known_in % known_out == 0:
            out[explicit[0]] = known_in // known_out
            return tuple(out)
    raise ctx.error(
        f"Reshape of a {shape} input to {target}: copying unknown dims (0) together with -1 can't be "
        "expressed with a static target; give the input's sizes with shapes= in tg.onnx.load"
    )
