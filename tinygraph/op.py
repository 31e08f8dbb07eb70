"""``Op``: what a node computes. Subclass it to add an operation to tinygraph.

A new op needs one method, ``forward(self, *values)`` (arrays in, array out).
Calling an op instance on nodes, ``MyOp()(a, b)``, checks the operands with
``infer`` and returns a new ``Node``. The executor, the listing and the diagrams
need nothing more. The leaves of every graph are ops too: ``Input`` (fed at run
time), ``Parameter`` (holds a replaceable array) and ``Constant``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .errors import GraphError, ShapeError, article
from .node import Node, Site, creation_site, describe_operands
from .registry import register_op
from .shapes import Dim, Spec, broadcast_shapes, format_spec, make_spec, result_dtype, spec_of_value


def _forward_unimplemented(self: Op, *values: Any) -> Any:
    """Compute the output array from the input arrays: every op must define this."""
    raise NotImplementedError(f"{type(self).__name__} defines no forward()")


def _infer_elementwise(self: Op, *specs: Spec) -> Spec:
    """The output's shape and dtype: by default elementwise, operands broadcast as numpy does."""
    return Spec(broadcast_shapes(*(s.shape for s in specs)), result_dtype(*specs))


class Op:
    """Base class of every operation: ``forward`` computes, ``infer`` checks and predicts the spec."""

    #: Short lowercase name used in listings and automatic node names (``matmul`` -> ``matmul_0``).
    kind: ClassVar[str] = "op"
    #: Number of operands, or ``None`` for any number.
    arity: ClassVar[int | None] = None
    #: The name files use for this op (see ``tinygraph.registry``); ``None``: the class name for
    #: tinygraph's own ops, ``"module:QualName"`` for others. Not inherited by subclasses.
    registry_name: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" not in cls.__dict__:
            cls.kind = cls.__name__.lower()
        register_op(cls)

    # --- the hooks a subclass overrides: forward (required), infer and backward (optional) ------
    # Declared as Callable attributes, as torch.nn.Module declares forward, so that subclasses may
    # name their operands (``def forward(self, a, b)``) without breaking the type checker.
    forward: Callable[..., Any] = _forward_unimplemented
    infer: Callable[..., Spec] = _infer_elementwise

    # --- memory planning (optional; see docs/performance.md) -----------------------------------
    #: ``True`` promises that ``forward`` always returns a newly allocated array that nothing else
    #: references (never an input, a view of one, or a cached array), so the executor may recycle
    #: its memory once no later node reads it. Trusted only from the class that defines ``forward``.
    fresh_output: ClassVar[bool] = False
    #: ``forward_into(out, *values)``: compute exactly what ``forward(*values)`` does, writing the
    #: result into ``out`` (a dead array of the output's shape and dtype, possibly one of ``values``)
    #: and returning it. ``None`` (the default) means the op always allocates.
    forward_into: Callable[..., Any] | None = None

    def backward(self, grad: Any, inputs: Sequence[Any], output: Any) -> Sequence[Any]:
        """Gradients of a scalar loss w.r.t. each input, given ``grad`` w.r.t. the output.

        This is the hook a reverse pass calls: ``grad`` has the output's shape,
        ``inputs`` are the values ``forward`` received and ``output`` what it
        returned (both kept by ``tg.trace``). Return one gradient per input, each of
        that input's shape, or ``None`` for an input that needs none.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no backward(); define it in a subclass or assign "
            f"{type(self).__name__}.backward to enable a reverse pass through this op"
        )

    # --- description ------------------------------------------------------------------------------

    def attributes(self) -> dict[str, Any]:
        """The op's configuration (``{"axis": 1}``): public instance attributes by default."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={format_attribute(v)}" for k, v in self.attributes().items())
        return f"{type(self).__name__}({args})"

    # --- diagrams: override either hook to change how the op's nodes are drawn ------------------

    #: Graphviz node attributes merged over the default op style, e.g. ``{"fillcolor": "#fde"}``.
    dot_style: ClassVar[Mapping[str, str]] = {}

    def dot_label(self) -> str:
        """The op's title in diagrams (plain text, escaped by the exporter): ``Softmax(axis=1)``."""
        return repr(self) if self.attributes() else type(self).__name__

    # --- building -------------------------------------------------------------------------------

    def __call__(self, *operands: Any, name: str | None = None) -> Node:
        """Apply the op to nodes (or arrays and scalars, wrapped as constants): a new ``Node``."""
        site = creation_site()
        inputs = tuple(as_node(o, site) for o in operands)
        if self.arity is not None and len(inputs) != self.arity:
            raise TypeError(
                f"{self!r} takes {self.arity} operand(s), got {len(inputs)}; at {site.describe()}"
            )
        try:
            spec = self.infer(*(n.spec for n in inputs))
        except ShapeError as e:
            raise ShapeError(
                f"{self.kind}: operands do not fit ({describe_operands(inputs)}): {e}\n"
                f"  at {site.describe()}"
            ) from None
        return Node(self, inputs, spec, name, site)

    # --- leaves only ----------------------------------------------------------------------------

    def value_of(self, node: Node) -> Any:
        """The value a leaf holds; only parameters and constants have one."""
        raise AttributeError(f"{node.name} is {article(self.kind)} node: only parameters and constants hold a value")

    def set_value(self, node: Node, value: Any) -> None:
        """Replace the value a leaf holds; only parameters allow it."""
        raise AttributeError(f"{node.name} is {article(self.kind)} node: only parameters can be assigned a value")


def format_attribute(value: Any) -> str:
    """An attribute as shown in listings and reprs: on one line, arrays as their spec (``f64[3,3]``)."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return format_spec(spec_of_value(value))
    return " ".join(repr(value).split())


def _frozen_copy(value: Any, dtype: Any = None) -> np.ndarray[Any, Any]:
    # A private read-only copy: the user's array can't change under us, and numpy
    # itself refuses any attempt by an op to write into it.
    arr = np.array(value, dtype=dtype, copy=True)
    arr.flags.writeable = False
    return arr


class Input(Op):
    """A value fed at run time; ``None`` dims in its shape take any size."""

    kind = "input"
    arity = 0

    def __init__(self, shape: Sequence[Dim], dtype: Any = np.float64) -> None:
        spec = make_spec(shape, dtype)
        self.shape = spec.shape
        self.dtype = spec.dtype

    def forward(self, fed: Any) -> Any:
        """The fed value: an executor's ``step`` receives it as the input node's only input value."""
        return fed


class Parameter(Op):
    """A leaf holding an array (a weight); its value may be replaced but keeps its shape and dtype."""

    kind = "parameter"
    arity = 0

    def __init__(self, value: Any, dtype: Any = None) -> None:
        self.value = _frozen_copy(value, dtype)

    def attributes(self) -> dict[str, Any]:
        """Parameters have no configuration: the value is data, not an attribute."""
        return {}

    def forward(self) -> Any:
        """The current value."""
        return self.value

    def value_of(self, node: Node) -> Any:
        """The current value (a read-only array)."""
        return self.value

    def set_value(self, node: Node, value: Any) -> None:
        """Replace the value with a copy of ``value``, which must keep the shape and dtype kind."""
        arr = np.asarray(value)
        old = self.value
        if arr.shape != old.shape or arr.dtype.kind != old.dtype.kind:
            raise ShapeError(
                f"parameter {node.name} holds {format_spec(node.spec)}; the new value is "
                f"{arr.dtype} of shape {arr.shape}: a parameter's shape and dtype kind are fixed "
                f"when the graph is built (created at {node.site.describe()})"
            )
        self.value = _frozen_copy(arr, old.dtype)


class Constant(Op):
    """A fixed value; a bare Python scalar stays a weak scalar (``x32 * 2.0`` is float32)."""

    kind = "constant"
    arity = 0

    def __init__(self, value: Any) -> None:
        self.value = value if type(value) in (int, float, complex, bool) else _frozen_copy(value)

    def attributes(self) -> dict[str, Any]:
        """Constants have no configuration: the value is data, not an attribute."""
        return {}

    def forward(self) -> Any:
        """The value."""
        return self.value

    def value_of(self, node: Node) -> Any:
        """The value."""
        return self.value


def input(name: str, shape: Sequence[Dim], dtype: Any = np.float64) -> Node:  # noqa: A001
    """A graph input named ``name``: fed at run time, e.g. ``tg.input("x", shape=(None, 2))``."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"an input needs a non-empty str name, got {name!r}")
    op = Input(shape, dtype)
    return Node(op, (), Spec(op.shape, op.dtype), name, creation_site())


def parameter(value: Any, name: str | None = None, dtype: Any = None) -> Node:
    """A parameter node holding a private copy of ``value`` in ``.value``."""
    site = creation_site()
    try:
        op = Parameter(value, dtype)
    except (TypeError, ValueError) as e:
        raise GraphError(f"cannot make a parameter from {type(value).__name__}: {e}") from None
    if op.value.dtype.kind not in "biufc":
        raise GraphError(
            f"cannot make a parameter from {type(value).__name__} (dtype {op.value.dtype}): tinygraph holds "
            f"numeric arrays; at {site.describe()}"
        )
    return Node(op, (), Spec(op.value.shape, op.value.dtype), name, site)


def constant(value: Any, name: str | None = None) -> Node:
    """A constant node; Python scalars in expressions are wrapped by this automatically."""
    return _constant(value, name, creation_site())


def _constant(value: Any, name: str | None, site: Site) -> Node:
    try:
        spec = spec_of_value(value)
    except (TypeError, ValueError) as e:
        raise GraphError(f"cannot use a {type(value).__name__} as a constant: {e}; at {site.describe()}") from None
    if spec.dtype.kind not in "biufc":
        raise GraphError(
            f"cannot use {type(value).__name__} (dtype {spec.dtype}) as a constant: tinygraph holds "
            f"numeric arrays; at {site.describe()}"
        )
    return Node(Constant(value), (), spec, name, site)


def as_node(value: Any, site: Site | None = None) -> Node:
    """``value`` itself if it is a Node, else a constant holding it."""
    if isinstance(value, Node):
        return value
    return _constant(value, None, site if site is not None else creation_site())
