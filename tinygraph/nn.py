"""Layers in the textbook's style: ``params`` lists the parameters, ``forward`` builds the graph.

The textbook writes a 2-4-3 network as numpy classes::

    class Affine:
        def __init__(self, W, b): self.params = [W, b]
        def forward(self, x): W, b = self.params; return np.matmul(x, W) + b

Here the same classes build tinygraph nodes instead of computing arrays, so the
network becomes an explicit graph that can be evaluated, printed and drawn.
``Affine`` keeps the textbook's ``x @ W + b`` layout; ``Affine.from_torch``
transposes the weight of a ``torch.nn.Linear`` (``y = x Wᵀ + b``) into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from . import ops, registry
from .errors import GraphError, ShapeError, article
from .graph import Graph
from .node import Node, Op
from .op import Parameter, parameter
from .site import creation_site, scope


class Layer:
    """Base of the layers: ``params`` and ``forward(x) -> Node``; ``name`` labels its cluster."""

    def __init__(self, name: str | None = None) -> None:
        self._name = name

    @property
    def name(self) -> str:
        """The layer's name (``affine1``), given by the user or by its ``Sequential``."""
        return self._name if self._name is not None else type(self).__name__.lower()

    @name.setter
    def name(self, name: str) -> None:
        self._name = name

    @property
    def params(self) -> list[Node]:
        """The layer's parameter nodes, in order."""
        return []

    def forward(self, x: Any) -> Node:
        """Build this layer's nodes on top of ``x``."""
        raise NotImplementedError

    def build(self, x: Any) -> Node:
        """``forward`` inside a ``tg.scope`` named after the layer, so diagrams group its nodes."""
        with scope(self.name):
            return self.forward(x)

    def __call__(self, x: Any) -> Node:
        return self.build(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _as_parameter(value: Any, default_name: str) -> Node:
    if isinstance(value, Node):
        if not isinstance(value.op, Parameter):
            kind = article(value.op.kind)
            raise TypeError(f"expected an array or a tg.parameter node, got {kind} node {value.name!r}")
        return value
    return parameter(value, name=default_name)


class Affine(Layer):
    """``x @ W + b``: the textbook's fully connected layer (``W`` has shape ``(in, out)``)."""

    def __init__(self, W: Any, b: Any, name: str | None = None) -> None:
        super().__init__(name)
        self.W = _as_parameter(W, "W")
        self.b = _as_parameter(b, "b")
        # Parameters made here from bare arrays get their names from the layer's position
        # in a Sequential (W1, b1, W2, ...), as the textbook's params dict names them.
        self._owns_names = not isinstance(W, Node) and not isinstance(b, Node)
        if self.W.ndim != 2 or self.b.ndim != 1 or self.b.shape[0] != self.W.shape[1]:
            raise ShapeError(
                f"Affine needs W of shape (in, out) and b of shape (out,); got W {self.W.shape} and b "
                f"{self.b.shape}\n  at {creation_site().describe()}"
            )

    @classmethod
    def init(cls, in_features: int, out_features: int, rng: np.random.Generator | None = None,
             scale: float = 1.0, dtype: Any = np.float64, name: str | None = None) -> Affine:
        """A layer with ``W``, ``b`` drawn from ``scale * N(0, 1)``, like the textbook's ``np.random.randn``."""
        rng = rng if rng is not None else np.random.default_rng()
        W = (scale * rng.standard_normal((in_features, out_features))).astype(dtype)
        b = (scale * rng.standard_normal(out_features)).astype(dtype)
        return cls(W, b, name=name)

    @classmethod
    def from_torch(cls, linear: Any, name: str | None = None) -> Affine:
        """Import a ``torch.nn.Linear``: its weight ``(out, in)`` becomes ``W = weight.T`` ``(in, out)``."""
        weight = linear.weight.detach().cpu().numpy()
        has_bias = linear.bias is not None
        bias = linear.bias.detach().cpu().numpy() if has_bias else np.zeros(weight.shape[0], weight.dtype)
        return cls(weight.T, bias, name=name)

    @property
    def in_features(self) -> int:
        """Input width."""
        return int(self.W.shape[0])  # type: ignore[arg-type]

    @property
    def out_features(self) -> int:
        """Output width."""
        return int(self.W.shape[1])  # type: ignore[arg-type]

    @property
    def params(self) -> list[Node]:
        """``[W, b]``."""
        return [self.W, self.b]

    def forward(self, x: Any) -> Node:
        """``x @ W + b``."""
        return ops.add(ops.matmul(x, self.W), self.b)

    def __repr__(self) -> str:
        return f"Affine({self.in_features}, {self.out_features}, name={self.name!r})"


class Activation(Layer):
    """A function applied to each neuron's value: any one-operand op, ``Activation(tg.ops.Softplus())``."""

    def __init__(self, op: Op, name: str | None = None) -> None:
        super().__init__(name)
        self.op = op

    @property
    def kind(self) -> str:
        """The activation's op kind (``"sigmoid"``), which names the layer by default."""
        return self.op.kind

    @property
    def name(self) -> str:
        """The layer's name, given by the user or by its ``Sequential``; else the op's kind."""
        return self._name if self._name is not None else self.kind

    @name.setter
    def name(self, name: str) -> None:
        self._name = name

    def forward(self, x: Any) -> Node:
        """Apply the activation."""
        return self.op(x)

    def __repr__(self) -> str:
        return f"Activation({self.op!r}, name={self.name!r})"


class _TextbookActivation(Activation):
    # The textbook's own activation classes: built by a function form, named after it.
    kind: ClassVar[str]
    function: ClassVar[Callable[..., Node]]

    def __init__(self, name: str | None = None) -> None:
        Layer.__init__(self, name)

    def forward(self, x: Any) -> Node:
        """Apply the activation."""
        return type(self).function(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Sigmoid(_TextbookActivation):
    """``1 / (1 + exp(-x))``."""

    kind = "sigmoid"
    function = staticmethod(ops.sigmoid)


class Tanh(_TextbookActivation):
    """``tanh(x)``."""

    kind = "tanh"
    function = staticmethod(ops.tanh)


class ReLU(_TextbookActivation):
    """``max(x, 0)``."""

    kind = "relu"
    function = staticmethod(ops.relu)


class Softmax(_TextbookActivation):
    """Softmax along ``axis``."""

    kind = "softmax"

    def __init__(self, axis: int = -1, name: str | None = None) -> None:
        super().__init__(name)
        self.axis = axis

    def forward(self, x: Any) -> Node:
        """``softmax(x, axis)``."""
        return ops.softmax(x, self.axis)


class Apply(Layer):
    """Any function of a node (a ``tg.Op`` instance, ``tg.tanh``, a lambda) used as a layer."""

    def __init__(self, function: Callable[[Node], Node], name: str | None = None) -> None:
        super().__init__(name)
        self.function = function

    @property
    def name(self) -> str:
        """The layer's name: given, or the op's kind or the function's name."""
        if self._name is not None:
            return self._name
        kind = getattr(self.function, "kind", None) or getattr(self.function, "__name__", "apply")
        return "apply" if kind == "<lambda>" else str(kind)

    @name.setter
    def name(self, name: str) -> None:
        self._name = name

    def forward(self, x: Any) -> Node:
        """``function(x)``."""
        return self.function(x)

    def __repr__(self) -> str:
        return f"Apply({self.function!r}, name={self.name!r})"


def as_layer(item: Any) -> Layer:
    """A layer for ``item``: a layer itself, an activation op as an ``Activation``, a callable as ``Apply``."""
    if isinstance(item, Layer):
        return item
    if isinstance(item, Op):
        if item.neuron_role == "activation" and item.arity == 1:
            return _activation_layer(item)
        return Apply(item)
    if callable(item):
        return Apply(item)
    raise TypeError(f"Sequential takes tg.nn layers, tg.Op instances or functions of a node, got {type(item).__name__}")


def _activation_layer(op: Op) -> Activation:
    # The textbook's class when one computes exactly this op (same kind, no configuration).
    for cls in (Sigmoid, Tanh, ReLU):
        if cls.kind == op.kind and not op.attributes():
            return cls()
    if Softmax.kind == op.kind and set(op.attributes()) == {"axis"}:
        return Softmax(op.attributes()["axis"])
    return Activation(op)


class Sequential(Layer):
    """Layers applied in order; ``params`` gathers theirs, in order."""

    def __init__(self, *layers: Layer | Op | Callable[[Node], Node], name: str | None = None) -> None:
        super().__init__(name)
        if len(layers) == 1 and isinstance(layers[0], Sequence):
            layers = tuple(layers[0])
        self.layers: list[Layer] = [as_layer(layer) for layer in layers]
        counts: dict[str, int] = {}
        for layer in self.layers:
            if isinstance(layer, Activation):
                kind = layer.kind
            elif isinstance(layer, Apply) and layer._name is None:
                kind = layer.name  # the op's kind or the function's name
            else:
                kind = type(layer).__name__.lower()
            counts[kind] = counts.get(kind, 0) + 1
            if layer._name is None:
                layer.name = f"{kind}{counts[kind]}"
            # Only the layer's default names: a layer already named by another Sequential keeps its names.
            if isinstance(layer, Affine) and layer._owns_names and layer.W.user_name == "W":
                layer.W.name, layer.b.name = f"W{counts[kind]}", f"b{counts[kind]}"

    @property
    def params(self) -> list[Node]:
        """Every layer's parameters, layer by layer."""
        return [p for layer in self.layers for p in layer.params]

    def forward(self, x: Any) -> Node:
        """Each layer's ``forward`` in turn, each in a scope named after it."""
        for layer in self.layers:
            x = layer.build(x)
        return x  # type: ignore[no-any-return]

    def build(self, x: Any) -> Node:
        """Layers are grouped by their own names; the container adds no scope of its own."""
        return self.forward(x)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner}\n)"


def from_torch(module: Any) -> Sequential:
    """A ``torch.nn.Sequential`` (or a module of Linear and activation children) as a ``Sequential``.

    Children are taken in registration order, nested ``Sequential`` containers flattened, and
    the module must provably be that chain: ``torch.fx`` traces its ``forward``, which must call
    each child once, in that order, on the previous one's output, and nothing else. Anything
    else (a reused child, a residual, ``torch.relu`` in ``forward``) is refused, pointing at
    ``tg.from_torch``, which imports any traceable module. Weights keep their dtype; ``Linear``'s
    weight is transposed into ``x @ W + b``. Activations are the ops that declare the torch
    module they compute (``torch_module``). Every layer that can't be imported is named in one error.
    """
    import torch.nn as tnn

    by_torch_name = {cls.torch_module: cls for cls in registry.registered_ops().values()
                     if cls.__dict__.get("torch_module") and registry.is_builtin(cls)}
    layers: list[Layer] = []
    problems: list[str] = []
    paths: list[str] = []
    first_path: dict[int, str] = {}
    stack: list[tuple[str, Any]] = [("", module)]
    while stack:
        path, m = stack.pop()
        if id(m) in first_path:
            twice = f"child {path} is child {first_path[id(m)]} again (one module used twice)"
            raise GraphError(_not_a_chain(module, twice))
        first_path[id(m)] = path or "<module>"
        # _modules, unlike named_children(), lists a child registered twice both times.
        children = [(name, c) for name, c in m._modules.items() if c is not None]
        if children and (isinstance(m, tnn.Sequential) or m is module):
            stack.extend((f"{path}.{name}" if path else name, c) for name, c in reversed(children))
            continue
        paths.append(path)
        label = f"{path or '<module>'}: {m!r}"
        op_class = by_torch_name.get(type(m).__name__) if type(m).__module__.startswith("torch.nn") else None
        if type(m) is tnn.Linear:
            layers.append(Affine.from_torch(m))
        elif op_class is not None:
            try:
                layers.append(_activation_layer(op_class.from_torch_module(m)))
            except ValueError as e:
                problems.append(f"{label} ({e})")
        else:
            problems.append(label)
    if problems:
        supported = ", ".join(sorted(by_torch_name))
        raise GraphError(
            f"cannot import these torch layers (tg.nn.from_torch takes Linear and {supported}, in a Sequential "
            "or as a module's children; tg.from_torch(module, example_input) imports any traceable module):\n  "
            + "\n  ".join(problems)
        )
    if not layers:
        raise GraphError(f"{type(module).__name__} has no layers to import")
    if paths != [""]:  # a lone torch.nn layer is a chain of one
        reason = _chain_mismatch(module, paths)
        if reason is not None:
            raise GraphError(_not_a_chain(module, reason))
    return Sequential(*layers)


def _not_a_chain(module: Any, reason: str) -> str:
    return (
        f"tg.nn.from_torch imports a chain of layers, each child called once in registration order, and "
        f"{type(module).__name__} is not one: {reason}. Use tg.from_torch(module, example_input), which "
        "traces what forward computes"
    )


def _chain_mismatch(module: Any, paths: list[str]) -> str | None:
    """Why ``module.forward`` is not the layers at ``paths`` applied in turn, or ``None`` if it is."""
    import torch.fx

    try:
        traced = torch.fx.symbolic_trace(module)
    except Exception as e:  # torch.fx raises many kinds; its first line says what it could not trace
        return f"torch.fx can't trace its forward ({(str(e).strip().splitlines() or [type(e).__name__])[0][:200]})"
    calls: list[str] = []
    previous = None
    for n in traced.graph.nodes:
        if n.op == "placeholder":
            if previous is not None:
                return "its forward takes more than one input"
            previous = n
        elif n.op == "call_module" and n.args == (previous,) and not n.kwargs:
            calls.append(str(n.target))
            previous = n
        elif n.op == "output" and n.args == (previous,):
            break
        elif n.op == "call_module":
            return f"its forward passes {n.target} something other than the previous layer's output"
        else:
            return f"its forward computes {getattr(n.target, '__name__', n.target)} itself ({n.op})"
    if calls != paths:
        return f"its forward calls [{', '.join(calls)}] but the children are [{', '.join(paths)}]"
    return None


def model_of(graph: Graph) -> Sequential | None:
    """The ``Sequential`` behind a graph that is a plain chain of layers, or ``None``.

    A saved or imported network has no model object, but the neuron diagram needs one. A graph of
    one input and one output made of ``x @ W + b`` (parameters ``W``, ``b``) and activations is read
    back as the ``Affine`` and activation layers it was built from, named after their scopes.
    """
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return None
    node, layers = graph.outputs[0], []
    while node is not graph.inputs[0]:
        op = node.op
        layer: Layer
        if op.neuron_role == "activation" and len(node.inputs) == 1:
            layer, node_below = _activation_layer(op), node.inputs[0]
        elif op.neuron_role == "bias" and len(node.inputs) == 2 and node.inputs[0].op.neuron_role == "weights":
            product, b = node.inputs
            if len(product.inputs) != 2:
                return None
            node_below, W = product.inputs
            if not (isinstance(W.op, Parameter) and isinstance(b.op, Parameter)):
                return None
            try:
                layer = Affine(W, b)
            except ValueError:  # not a (in, out) weight with an (out,) bias
                return None
        else:
            return None
        if node.scope:
            layer.name = node.scope[-1]
        layers.append(layer)
        node = node_below
    return Sequential(*reversed(layers)) if layers else None
