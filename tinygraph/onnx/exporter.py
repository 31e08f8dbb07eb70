"""Graph -> ONNX: each tinygraph node becomes one ONNX node (plus Casts where numpy promotes types).

ONNX ops want operands of one type; numpy promotes (``f32 + f64`` is f64, ``int / int`` is
float64, python scalars are weak). The exporter therefore converts every data operand to the
dtype tinygraph inferred for the node, which is the dtype numpy computes in for every built-in
op: weak scalars and constants are written directly in that dtype, other operands get a Cast.

Parameters become initializers; constants become ``Constant`` nodes, so that ``load`` brings
them back as parameters and constants respectively. A custom op exports once a function is
registered for it with ``register_exporter``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..graph import Graph, Outputs
from ..node import Node, Op, declared_with_forward
from ..op import Constant, Input, Parameter
from .common import OPSET, SUPPORTED_DTYPES, OnnxExportError, require_onnx

if TYPE_CHECKING:
    import onnx

#: ``fn(ctx, node) -> name of the tensor holding node's value``.
Exporter = Callable[["ExportContext", Node], str]

_EXPORTERS: dict[type[Op], Exporter] = {}


def register_exporter(op_class: type[Op]) -> Callable[[Exporter], Exporter]:
    """Decorator: ``fn(ctx, node) -> tensor name`` writes nodes of ``op_class`` (and subclasses) as ONNX.

    >>> @tg.onnx.register_exporter(Square)
    ... def _(ctx, node):
    ...     x = ctx.operand(node.inputs[0], node.dtype)
    ...     return ctx.emit("Mul", [x, x], output=ctx.name(node))
    """
    if not (isinstance(op_class, type) and issubclass(op_class, Op)):
        raise TypeError(f"register_exporter takes a tg.Op subclass, got {op_class!r}")

    def decorate(fn: Exporter) -> Exporter:
        _EXPORTERS[op_class] = fn
        return fn

    return decorate


def exporter_for(op: Op) -> Exporter | None:
    """How to write ``op``: an exporter registered for its class (or a base), else its own ``to_onnx``.

    An op's declared mapping (``onnx_type``, ``to_onnx``) counts only when declared with its
    ``forward``: a subclass computing something else must not be written as its base.
    """
    cls = type(op)
    for klass in cls.__mro__:
        fn = _EXPORTERS.get(klass)
        if fn is not None:
            return fn
    own_to_onnx = declared_with_forward(cls, "to_onnx") and "to_onnx" in _declaring(cls)
    if own_to_onnx or (cls.onnx_type is not None and declared_with_forward(cls, "onnx_type")):
        return _declared
    return None


def _declaring(cls: type) -> set[str]:
    # The names some class below Op (in cls's MRO) sets: Op's own defaults don't count as a mapping.
    return {name for klass in cls.__mro__ if klass is not Op and issubclass(klass, Op) for name in vars(klass)}


def _declared(ctx: ExportContext, node: Node) -> str:
    return node.op.to_onnx(ctx, node)


class ExportContext:
    """What an exporter function writes into: ONNX nodes and tensors, with unique names."""

    def __init__(self, graph: Graph, opset: int) -> None:
        self.onnx = require_onnx()
        self.graph = graph
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._tensor: dict[Node, str] = {}
        self._converted: dict[tuple[Node, str], str] = {}
        self._taken: set[str] = {graph.name_of(n) for n in graph.nodes}

    # --- names ------------------------------------------------------------------------------------

    def name(self, node: Node) -> str:
        """The node's name in the graph: the name of the ONNX tensor holding its value."""
        return self.graph.name_of(node)

    def fresh(self, hint: str) -> str:
        """A tensor name not used yet, ``hint`` if free."""
        name, k = hint, 1
        while name in self._taken:
            name, k = f"{hint}_{k}", k + 1
        self._taken.add(name)
        return name

    # --- tensors ----------------------------------------------------------------------------------

    def operand(self, node: Node, dtype: Any = None) -> str:
        """The tensor holding ``node``'s value, converted to ``dtype`` if given and different."""
        target = node.dtype if dtype is None else np.dtype(dtype)
        if isinstance(node.op, Constant) and (node.spec.weak or target != node.dtype):
            # A weak scalar takes the other operand's type, as in numpy: write it in that type.
            key = (node, target.name)
            if key not in self._converted:
                value = np.asarray(node.op.value).astype(target)
                if target == node.dtype:  # the constant itself, under its own name
                    self._converted[key] = self.constant(value, name=self.name(node))
                else:
                    self._converted[key] = self.constant(value, f"{self.name(node)}_{target.name}")
            return self._converted[key]
        name = self._tensor[node]
        if target == node.dtype:
            return name
        key = (node, target.name)
        if key not in self._converted:
            self._converted[key] = self.emit("Cast", [name], output=self.fresh(f"{name}_{target.name}"),
                                             to=self.elem_type(target, node))
        return self._converted[key]

    def constant(self, value: Any, hint: str = "const", *, name: str | None = None) -> str:
        """A ``Constant`` node holding ``value`` named ``name`` (or a fresh name from ``hint``)."""
        arr = np.asarray(value)
        name = name if name is not None else self.fresh(hint)
        tensor = self.onnx.numpy_helper.from_array(arr, name)
        self.nodes.append(self.onnx.helper.make_node("Constant", [], [name], name=name, value=tensor))
        return name

    def emit(self, op_type: str, inputs: Sequence[str], output: str | None = None, name: str | None = None,
             **attributes: Any) -> str:
        """Append an ONNX node ``op_type(inputs)`` with ``attributes``; returns its output's name."""
        out = output if output is not None else self.fresh(op_type.lower())
        self._taken.add(out)
        node = self.onnx.helper.make_node(op_type, list(inputs), [out], name=name or out, **attributes)
        self.nodes.append(node)
        return out

    def error(self, node: Node, message: str) -> OnnxExportError:
        """An OnnxExportError naming ``node`` and where it was built (for ops whose ``to_onnx`` refuses)."""
        return OnnxExportError(f"node {self.name(node)} (created at {node.site.describe()}): {message}")

    def elem_type(self, dtype: Any, node: Node | None = None) -> int:
        """ONNX's element type for a numpy dtype (an OnnxExportError for complex and the like)."""
        dt = np.dtype(dtype)
        if dt not in SUPPORTED_DTYPES:
            where = f" (node {self.name(node)}, created at {node.site.describe()})" if node is not None else ""
            raise OnnxExportError(f"ONNX export supports bool, int8-64, uint8-64 and float16-64, not {dt}{where}")
        return int(self.onnx.helper.np_dtype_to_tensor_dtype(dt))


# --- the model ---------------------------------------------------------------------------------------


def _value_info(ctx: ExportContext, node: Node, name: str, symbolic: bool) -> onnx.ValueInfoProto:
    # Inputs name their unknown dims (``x_dim0``) so tools show where sizes come from; outputs
    # leave them unknown rather than guess how they relate to the inputs' dims.
    shape = [d if d is not None else (f"{name}_dim{i}" if symbolic else None) for i, d in enumerate(node.shape)]
    info: onnx.ValueInfoProto = ctx.onnx.helper.make_tensor_value_info(name, ctx.elem_type(node.dtype, node), shape)
    return info


def to_model(outputs: Outputs, *, name: str = "tinygraph", opset: int = OPSET) -> onnx.ModelProto:
    """The graph of ``outputs`` as an ``onnx.ModelProto`` (not checked; ``export`` checks)."""
    onnx_ = require_onnx()
    from .._version import __version__

    graph = outputs if isinstance(outputs, Graph) else Graph(outputs)
    if opset < 14:
        raise OnnxExportError(f"export writes opset 14 or newer (Reshape's allowzero), not {opset}")
    leaves = (Input, Parameter, Constant)
    missing = [n for n in graph.nodes if not isinstance(n.op, leaves) and exporter_for(n.op) is None]
    if missing:
        lines = "\n".join(
            f"  {graph.name_of(n)} = {n.op!r}, created at {n.site.describe()}" for n in missing
        )
        kinds = sorted({type(n.op).__name__ for n in missing})
        raise OnnxExportError(
            f"no ONNX mapping for op(s) {', '.join(kinds)}; register one with "
            f"@tg.onnx.register_exporter(<OpClass>) (see docs/onnx.md):\n{lines}"
        )
    ctx = ExportContext(graph, opset)
    inputs = []
    for node in graph.nodes:
        op = node.op
        if isinstance(op, Input):
            ctx._tensor[node] = ctx.name(node)
            inputs.append(_value_info(ctx, node, ctx.name(node), symbolic=True))
        elif isinstance(op, Parameter):
            ctx.elem_type(node.dtype, node)
            ctx._tensor[node] = ctx.name(node)
            ctx.initializers.append(onnx_.numpy_helper.from_array(np.asarray(op.value), ctx.name(node)))
        elif isinstance(op, Constant):
            ctx.elem_type(node.dtype, node)
            if not node.spec.weak:
                ctx._tensor[node] = ctx.constant(np.asarray(op.value), name=ctx.name(node))
            # weak scalars are written by ``operand`` in the dtype each user needs
        else:
            fn = exporter_for(op)
            assert fn is not None
            ctx.elem_type(node.dtype, node)
            ctx._tensor[node] = fn(ctx, node)
    outputs_info = []
    seen: set[str] = set()
    for node in graph.outputs:
        tensor = ctx.operand(node)
        # An ONNX graph output must be a distinct tensor produced by a node, not an input.
        if tensor in seen or isinstance(node.op, (Input, Parameter)):
            tensor = ctx.emit("Identity", [tensor], output=ctx.fresh(f"{ctx.name(node)}_out"))
        seen.add(tensor)
        outputs_info.append(_value_info(ctx, node, tensor, symbolic=False))
    g = onnx_.helper.make_graph(ctx.nodes, name, inputs, outputs_info, initializer=ctx.initializers)
    return onnx_.helper.make_model_gen_version(  # type: ignore[no-any-return]
        g, opset_imports=[onnx_.helper.make_opsetid("", opset)], producer_name="tinygraph",
        producer_version=__version__,
    )


def export(outputs: Outputs, path: str | os.PathLike[str], *, opset: int = OPSET, check: bool = True) -> None:
    """Write the graph of ``outputs`` to ``path`` as an ONNX model, checked by ``onnx.checker``."""
    onnx_ = require_onnx()
    model = to_model(outputs, opset=opset)
    if check:
        try:
            onnx_.checker.check_model(model, full_check=True)
        except (onnx_.checker.ValidationError, onnx_.shape_inference.InferenceError) as e:
            # e.g. an op on a dtype ONNX doesn't define it for (Add of bools, Relu of uint8)
            raise OnnxExportError(f"the exported model fails onnx.checker: {e}") from e
    onnx_.save(model, os.fspath(path))
