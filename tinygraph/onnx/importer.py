"""ONNX -> Graph: each ONNX node is lowered to tinygraph's built-in ops.

Graph inputs become ``tg.input`` nodes (unknown or symbolic dims -> ``None``), initializers
become parameters (made when first used as data; integer and bool ones become constants),
``Constant`` nodes become constants. A node whose operands are all known at load time is computed
then and becomes a constant (up to ``FOLD_MAX_ELEMENTS``); a shape that is not known stays a
run-time operand of the op taking it (Reshape, Expand, ConstantOfShape, Slice...).

ONNX computes an op in the type of its first operand (``Pow(f32, i64)`` is f32, integer ``Div``
truncates); numpy promotes. After lowering a node, the importer casts its result back to the
type ONNX gives when the two differ (float -> int casts truncate toward zero, as ONNX's Div).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .. import ops, registry
from ..errors import GraphError, ShapeError
from ..executor import evaluate
from ..graph import Graph
from ..node import Node
from ..op import Constant, constant, input, parameter
from .common import SUPPORTED_DTYPES, OnnxError, OnnxImportError, OnnxShapeError, UnsupportedOpsError, require_onnx

if TYPE_CHECKING:
    import onnx

#: The most elements a value computed at load time may have: a node whose operands are all known
#: when the model is loaded (constants, integer initializers, sizes known statically) is computed
#: then and becomes a constant, unless its result is larger than this (or of unknown size).
FOLD_MAX_ELEMENTS = 1 << 16

KINDS_NOTE = "which numpy can't hold: tinygraph imports bool, int, uint and float (16, 32, 64 bit) tensors"

#: ``fn(ctx) -> one Node (or None) per output of ctx.node``.
Importer = Callable[["ImportContext"], Sequence[Node | None]]

_IMPORTERS: dict[str, Importer] = {}
_D = TypeVar("_D")
# AttributeProto.AttributeType values (onnx is imported lazily, so not onnx.AttributeProto.INT).
_FLOAT, _INT, _TENSOR, _FLOATS, _INTS = 1, 2, 4, 6, 7
_TYPE_NAMES = {0: "UNDEFINED", 1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 5: "GRAPH", 6: "FLOATS", 7: "INTS",
               8: "STRINGS", 9: "TENSORS", 10: "GRAPHS", 11: "SPARSE_TENSOR", 12: "SPARSE_TENSORS",
               13: "TYPE_PROTO", 14: "TYPE_PROTOS"}
# What a damaged model makes the importer's own code raise (onnx's helpers, numpy, the ops' checks).
_MALFORMED = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, ArithmeticError,
              RecursionError)


def register_importer(op_type: str) -> Callable[[Importer], Importer]:
    """Decorator: ``fn(ctx) -> [node per output]`` imports ONNX nodes of ``op_type`` (default domain)."""

    def decorate(fn: Importer) -> Importer:
        _IMPORTERS[op_type] = fn
        return fn

    return decorate


def importers() -> dict[str, Importer]:
    """ONNX op type -> importer: those registered, then the ops declaring ``onnx_type``.

    A built-in op's declaration wins over a user's class declaring the same type; a user's
    op declaring a type no built-in op has (``onnx_type = "Shrink"``) is imported as itself.
    """
    table: dict[str, Importer] = {}
    for cls in sorted(registry.registered_ops().values(), key=lambda c: not registry.is_builtin(c)):
        op_type = cls.__dict__.get("onnx_type")
        if op_type and op_type not in table:
            table[op_type] = cls.from_onnx
    table.update(_IMPORTERS)
    return table


def supported_ops() -> list[str]:
    """The ONNX op types ``load`` can import, sorted."""
    return sorted(importers())


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

    def operands(self) -> list[Node]:
        """Every operand as a node; before opset 7, B aligned at ``axis`` of A as ``broadcast=1`` asks."""
        nodes = [self.input(i) for i in range(len(self.node.input)) if self.has_input(i)]
        if len(nodes) == 2 and self.opset < 7 and self.bool_attr("broadcast", False):
            nodes[1] = _legacy_broadcast(self, nodes[0], nodes[1])
        return nodes

    def static(self, i: int, what: str) -> np.ndarray[Any, Any]:
        """Operand ``i``'s value, which must be known at load time (``what`` says what it is for)."""
        if not self.has_input(i):
            raise self.error(f"its {what} (operand {i}) is missing")
        value = self._loader.static_value(self.node.input[i])
        if value is None:
            raise self.error(
                f"its {what} (operand {i}, {self.node.input[i]!r}) must be known when the graph is built: "
                f"give it as an initializer or a Constant node, or pass "
                f"constants={{{self.node.input[i]!r}: value}} to tg.onnx.load"
            )
        return value

    def is_static(self, i: int) -> bool:
        """Whether operand ``i`` is given and its value is known at load time (``static`` would succeed)."""
        return self.has_input(i) and self._loader.static_value(self.node.input[i]) is not None

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

    def _typed(self, name: str, expected: int) -> Any:
        # ONNX declares each attribute's type; a model that gives another (transB as a string,
        # axis as 1.5) is malformed, and coercing it would compute something the model never said.
        a = self._attrs.get(name)
        if a is not None and a.type != expected:
            got = _TYPE_NAMES.get(a.type, f"#{a.type}")
            raise self.error(f"attribute {name} must be of type {_TYPE_NAMES[expected]}, got {got}")
        return a

    def int_attr(self, name: str, default: _D) -> int | _D:
        """Attribute ``name``, which must be an INT, or ``default``."""
        a = self._typed(name, _INT)
        return default if a is None else int(a.i)

    def bool_attr(self, name: str, default: bool) -> bool:
        """Attribute ``name``, an INT that must be 0 or 1 (transA, keepdims, ...), or ``default``."""
        value = self.int_attr(name, None)
        if value is None:
            return default
        if value not in (0, 1):
            raise self.error(f"attribute {name} must be 0 or 1, got {value}")
        return bool(value)

    def float_attr(self, name: str, default: float) -> float:
        """Attribute ``name``, which must be a FLOAT, or ``default``."""
        a = self._typed(name, _FLOAT)
        return default if a is None else float(a.f)

    def ints_attr(self, name: str, default: _D) -> list[int] | _D:
        """Attribute ``name``, which must be INTS, or ``default``."""
        a = self._typed(name, _INTS)
        return default if a is None else [int(v) for v in a.ints]

    def floats_attr(self, name: str, default: _D) -> list[float] | _D:
        """Attribute ``name``, which must be FLOATS, or ``default``."""
        a = self._typed(name, _FLOATS)
        return default if a is None else [float(v) for v in a.floats]

    def tensor_attr(self, name: str) -> np.ndarray[Any, Any] | None:
        """Attribute ``name``, which must be a TENSOR, as an array, or ``None``."""
        a = self._typed(name, _TENSOR)
        return None if a is None else self._loader.array(a.t, f"attribute {name} of node {self.label!r}")

    def static_ints(self, i: int, what: str) -> list[int]:
        """Operand ``i``'s load-time value as ints (axes, a shape): it must hold integers, not floats to round."""
        value = self.static(i, what)
        if value.dtype.kind not in "iu":
            raise self.error(f"its {what} (operand {i}) must be integers, got a {value.dtype} tensor")
        return [int(v) for v in value.reshape(-1).tolist()]

    def numpy_dtype(self, elem_type: int) -> np.dtype[Any] | str:
        """The numpy dtype of an ONNX element type, or the type's name when tinygraph has none."""
        return self._loader.numpy_dtype(elem_type)

    def dtype_attr(self, name: str) -> np.dtype[Any]:
        """Element-type attribute ``name`` (Cast's ``to``) as a numpy dtype; types numpy can't hold are refused."""
        dtype = self.numpy_dtype(self.int_attr(name, 0))
        if isinstance(dtype, str):
            raise self.error(f"{self.node.op_type} {name} element type {dtype}, {KINDS_NOTE}")
        return dtype

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
                 shapes: Mapping[str, Sequence[int | None]], base_dir: str | None) -> None:
        self.onnx = require_onnx()
        self.model = model
        self.base_dir = base_dir
        graph = model.graph
        self.opset = _default_opset(model)
        self.env: dict[str, Node] = {}
        self.defined: set[Node] = set()  # every node in env, for identity checks in O(1)
        self.raw: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
        self.constants = constants
        self.shapes = shapes
        self.importers = importers()
        unknown = sorted(set(constants) - {i.name for i in graph.input})
        if unknown:
            raise OnnxImportError(f"constants= names {unknown}, which are not inputs of the model")

    def define(self, name: str, node: Node) -> None:
        if name in self.env:
            # ONNX assigns each tensor name once; a second definition would silently shadow the first.
            raise OnnxImportError(f"tensor {name!r} is defined twice (as a graph input or a node's output)")
        self.env[name] = node
        self.defined.add(node)

    def array(self, tensor: onnx.TensorProto, what: str) -> np.ndarray[Any, Any]:
        if tensor.data_location == self.onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            tensor = self._with_external_data(tensor, what)
        try:
            arr = np.asarray(self.onnx.numpy_helper.to_array(tensor))
        except Exception as e:  # a malformed tensor: onnx raises several types
            raise OnnxImportError(f"cannot read {what}: {type(e).__name__}: {e}") from None
        if arr.dtype not in SUPPORTED_DTYPES:
            raise OnnxImportError(f"{what} has dtype {arr.dtype}, {KINDS_NOTE}")
        return arr

    def _with_external_data(self, tensor: onnx.TensorProto, what: str) -> onnx.TensorProto:
        # Read here, not by onnx (which reads relative to the current directory when given no
        # folder): only a regular file inside base_dir, reached without symlinks, within its size.
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        where = f"{what} keeps its data in an external file ({location!r})"
        if self.base_dir is None:
            raise OnnxImportError(
                f"{where}, but a model given as bytes or a ModelProto has no folder to read it from: pass "
                f"base_dir= (the folder the model came from) to tg.onnx.load or tg.onnx.from_model"
            )
        parts = location.replace("\\", "/").split("/")
        if not location or os.path.isabs(location) or "\0" in location or any(p in ("", ".", "..") for p in parts) \
                or os.path.splitdrive(location)[0]:
            raise OnnxImportError(f"{where}: external data must be a relative path inside the model's folder")
        base = os.path.realpath(self.base_dir)
        path = os.path.join(base, *parts)
        if os.path.realpath(path) != path:
            raise OnnxImportError(f"{where}: the path goes through a symlink, which external data may not")
        if not os.path.isfile(path):
            raise OnnxImportError(f"{where}: no such file in {self.base_dir}")
        offset, length = _count(info, "offset", where), _count(info, "length", where)
        size = os.path.getsize(path)
        offset = offset or 0
        length = max(size - offset, 0) if length is None else length
        if offset + length > size:
            raise OnnxImportError(f"{where}: offset {offset} and length {length} go past its end ({size} bytes)")
        dtype = self.numpy_dtype(tensor.data_type)
        needed = math.prod(tensor.dims) * (dtype.itemsize if isinstance(dtype, np.dtype) else 1)
        if length > needed:  # refused before reading: the file may be far larger than the tensor
            raise OnnxImportError(f"{where}: {length} bytes for a tensor of {needed} bytes")
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(length)
        except OSError as e:
            raise OnnxImportError(f"{where}: cannot read it: {e}") from None
        inline: onnx.TensorProto = self.onnx.TensorProto()
        inline.CopyFrom(tensor)
        inline.ClearField("external_data")
        inline.data_location = self.onnx.TensorProto.DEFAULT
        inline.raw_data = data
        return inline

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
            value = self.array(self.raw[name], f"initializer {name!r}")
            # Integer and bool initializers (indices, shapes, axes) are data, never trained: constants,
            # so that what depends on them is known when the graph is built.
            small_ints = value.dtype.kind in "biu" and value.size <= FOLD_MAX_ELEMENTS
            node = constant(value, name=name) if small_ints else parameter(value, name=name)
            self.define(name, node)
        if node is None:
            raise ctx.error(f"operand {name!r} is not a graph input, an initializer or an earlier node's output")
        return node

    def known_at_load(self, name: str) -> bool:
        """Whether tensor ``name`` is a constant (or an initializer that becomes one)."""
        node = self.env.get(name)
        if node is not None:
            return isinstance(node.op, Constant)
        tensor = self.raw.get(name)
        return tensor is not None and self.numpy_dtype(tensor.data_type) in _DATA_TYPES \
            and math.prod(tensor.dims) <= FOLD_MAX_ELEMENTS

    def fold(self, ctx: ImportContext, node: Node, name: str) -> Node:
        """``node`` computed now as a constant when its value is known at load time and small."""
        if isinstance(node.op, Constant) or node in self.defined:
            return node
        known = node.spec.value
        if known is not None and None not in known:
            return constant(np.array(known, dtype=node.dtype).reshape(node.shape), name=name)
        given = [i for i in ctx.node.input if i]
        if not given or not all(self.known_at_load(i) for i in given) or None in node.shape \
                or math.prod(node.shape) > FOLD_MAX_ELEMENTS:  # type: ignore[arg-type]
            return node
        try:
            with np.errstate(all="ignore"):
                value = evaluate(node)
        except GraphError as e:
            raise ctx.error(f"computing it at load time (its operands are constants) fails: {e}") from None
        return constant(value, name=name)

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
            raise OnnxImportError(f"input {vi.name!r} has element type {dtype}, {KINDS_NOTE}")
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
            try:
                self.import_node(ctx)
            except OnnxError:
                raise
            except ShapeError as e:  # the model's shapes conflict: an import error, named by node
                raise OnnxShapeError(str(ctx.error(str(e)))) from e
            except GraphError as e:
                raise ctx.error(str(e)) from e
            except _MALFORMED as e:
                raise ctx.error(f"malformed node: {type(e).__name__}: {e}") from e
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

    def import_node(self, ctx: ImportContext) -> None:
        proto = ctx.node
        results = list(self.importers[proto.op_type](ctx))
        onnx_dtype = _onnx_result_dtype(ctx)
        for k, (out_name, node) in enumerate(zip(proto.output, results)):
            if out_name == "" or node is None:
                continue
            if out_name in self.env:
                raise ctx.error(f"tensor {out_name!r} is defined twice (ONNX graphs assign each name once)")
            # Only the first output is typed by the first operand: the others (LayerNormalization's
            # float32 statistics, Dropout's bool mask) have types of their own, which the op gives.
            if k == 0 and onnx_dtype is not None and node.dtype != onnx_dtype:
                if node not in self.defined:  # made by this importer, not an operand passed through
                    node.name = f"{out_name}_{node.op.kind}"
                node = ops.cast(node, onnx_dtype, name=out_name)
            self.define(out_name, self.fold(ctx, node, out_name))


def _count(info: dict[str, str], key: str, where: str) -> int | None:
    # ONNX writes offset and length as decimal text; anything else (-1, abc, 1e3) is damage.
    text = info.get(key)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise OnnxImportError(f"{where}: its {key} must be a non-negative integer, got {text!r:.40}")
    return int(text)


def _default_opset(model: onnx.ModelProto) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    raise OnnxImportError("the model imports no version of the default ONNX domain (opset_import)")


_DATA_TYPES = frozenset(np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                                              np.uint32, np.uint64))


def _onnx_result_dtype(ctx: ImportContext) -> np.dtype[Any] | None:
    # Every op imported here computes in the type of its first operand (ONNX's type variable T).
    # Ops declaring ``onnx_own_result_dtype`` (comparisons, ArgMax, Shape...) give each output its ONNX type.
    if ctx.node.op_type == "Constant" or not ctx.has_input(0):
        return None
    if getattr(getattr(ctx._loader.importers[ctx.node.op_type], "__self__", None), "onnx_own_result_dtype", False):
        return None
    return ctx._loader.node_for(ctx.node.input[0], ctx).dtype


def _check_supported(model: onnx.ModelProto) -> None:
    unsupported: dict[str, list[str]] = {}
    table = importers()
    for i, node in enumerate(model.graph.node):
        op_type = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        if node.domain not in ("", "ai.onnx") or node.op_type not in table:
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
               shapes: Mapping[str, Sequence[int | None]] | None = None,
               base_dir: str | os.PathLike[str] | None = None) -> Graph:
    """An ``onnx.ModelProto`` as a tinygraph ``Graph`` (see ``load``); external data is read from ``base_dir``."""
    # Not onnx.checker: it refuses models onnxruntime runs (outputs without shapes, say).
    try:
        _check_supported(model)
        folder = None if base_dir is None else os.fspath(base_dir)
        return _Loader(model, constants or {}, shapes or {}, folder).run()
    except OnnxError:
        raise
    except ShapeError as e:
        raise OnnxShapeError(str(e)) from e
    except GraphError as e:  # e.g. two graph inputs of one name: the model is at fault
        raise OnnxImportError(str(e)) from e
    except _MALFORMED as e:
        # Damage the importer's own checks don't name (undecodable names, attributes of the
        # wrong type...): a bad model, with the original exception kept as the cause.
        raise OnnxImportError(f"cannot import this model (malformed?): {type(e).__name__}: {e}") from e


def load(source: str | os.PathLike[str] | bytes | onnx.ModelProto, *, constants: Mapping[str, Any] | None = None,
         shapes: Mapping[str, Sequence[int | None]] | None = None,
         base_dir: str | os.PathLike[str] | None = None) -> Graph:
    """Import an ONNX model (a path, serialized bytes or a ModelProto) as a ``Graph``.

    ``constants`` fixes graph inputs to values at load time (an input that feeds a value needed
    when the graph is built, or one to fold away; shapes fed as inputs otherwise stay run-time
    operands); ``shapes`` gives the shape of inputs whose rank the model leaves unknown.
    Tensors stored as external data are read from ``base_dir``: by default the model file's
    folder; a model given as bytes or a ModelProto has none, and its external data is refused.
    """
    onnx_ = require_onnx()
    if isinstance(source, onnx_.ModelProto):
        model = source
    else:
        from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

        if base_dir is None and not isinstance(source, bytes):
            base_dir = os.path.dirname(os.path.abspath(os.fspath(source)))
        try:
            # External data is read by the importer, from base_dir only, with its own checks.
            model = onnx_.load_from_string(source) if isinstance(source, bytes) else \
                onnx_.load(os.fspath(source), load_external_data=False)
        except DecodeError as e:
            what = "<bytes>" if isinstance(source, bytes) else os.fspath(source)
            raise OnnxImportError(f"not a readable ONNX model: {what}: {e}") from None
        except onnx_.checker.ValidationError as e:
            # onnx validates external-data references while loading (missing file, path outside the
            # model's folder): a damaged or hostile model, like any other.
            what = "<bytes>" if isinstance(source, bytes) else os.fspath(source)
            raise OnnxImportError(f"ONNX model {what} refers to external data it cannot use: {e}") from None
        except (ValueError, TypeError, RecursionError) as e:
            what = "<bytes>" if isinstance(source, bytes) else os.fspath(source)
            raise OnnxImportError(f"not a readable ONNX model: {what}: {type(e).__name__}: {e}") from None
    return from_model(model, constants=constants, shapes=shapes, base_dir=base_dir)



def _legacy_broadcast(ctx: ImportContext, a: Node, b: Node) -> Node:
    # Before opset 7, binary ops broadcast only with broadcast=1, aligning B at ``axis`` of A.
    axis = ctx.int_attr("axis", None)
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
