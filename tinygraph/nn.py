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

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import ops
from .errors import GraphError, ShapeError, article
from .node import Node, creation_site, scope
from .op import Parameter, parameter


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


class _Activation(Layer):
    op: Any = None

    def forward(self, x: Any) -> Node:
        """Apply the activation."""
        return type(self).op(x)  # type: ignore[no-any-return]


class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))``."""

    op = staticmethod(ops.sigmoid)


class Tanh(_Activation):
    """``tanh(x)``."""

    op = staticmethod(ops.tanh)


class ReLU(_Activation):
    """``max(x, 0)``."""

    op = staticmethod(ops.relu)


class Softmax(Layer):
    """Softmax along ``axis``."""

    def __init__(self, axis: int = -1, name: str | None = None) -> None:
        super().__init__(name)
        self.axis = axis

    def forward(self, x: Any) -> Node:
        """``softmax(x, axis)``."""
        return ops.softmax(x, self.axis)


class Sequential(Layer):
    """Layers applied in order; ``params`` gathers theirs, in order."""

    def __init__(self, *layers: Layer, name: str | None = None) -> None:
        super().__init__(name)
        if len(layers) == 1 and isinstance(layers[0], Sequence):
            layers = tuple(layers[0])
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential takes tg.nn layers, got {type(layer).__name__}")
        self.layers: list[Layer] = list(layers)
        counts: dict[str, int] = {}
        for layer in self.layers:
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
    """A ``torch.nn.Sequential`` (or a module of Linear/Sigmoid/Tanh/ReLU/Softmax children) as a ``Sequential``.

    Children are taken in registration order, which is the order a ``Sequential`` applies
    them and the order the textbook's ``NN_torch`` defines and calls them; nested
    ``Sequential`` containers are flattened. Weights keep their dtype; ``Linear``'s weight is
    transposed into ``x @ W + b``. Every layer that can't be imported is named in one error.
    """
    import torch.nn as tnn

    activations: dict[type[Any], type[Layer]] = {tnn.Sigmoid: Sigmoid, tnn.Tanh: Tanh, tnn.ReLU: ReLU}
    layers: list[Layer] = []
    problems: list[str] = []
    stack: list[tuple[str, Any]] = [("", module)]
    while stack:
        path, m = stack.pop()
        children = list(m.named_children())
        if children and (isinstance(m, tnn.Sequential) or m is module):
            stack.extend((f"{path}.{name}" if path else name, c) for name, c in reversed(children))
            continue
        label = f"{path or '<module>'}: {m!r}"
        if type(m) is tnn.Linear:
            layers.append(Affine.from_torch(m))
        elif type(m) in activations:
            layers.append(activations[type(m)]())
        elif type(m) is tnn.Softmax:
            if m.dim is None:
                problems.append(f"{label} (give it an explicit dim: torch picks one from the input's rank)")
            else:
                layers.append(Softmax(axis=m.dim))
        else:
            problems.append(label)
    if problems:
        raise GraphError(
            "cannot import these torch layers (tg.nn.from_torch takes Linear, Sigmoid, Tanh, ReLU and "
            "Softmax, in a Sequential or as a module's children):\n  " + "\n  ".join(problems)
        )
    if not layers:
        raise GraphError(f"{type(module).__name__} has no layers to import")
    return Sequential(*layers)
