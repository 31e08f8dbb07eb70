"""Nodes and ops: the two halves of every vertex of a graph, each referring to the other.

A ``Node`` is an ``Op`` applied to input nodes, with the static ``Spec`` (shape and
dtype) of what it will hold. It computes nothing. Nodes are immutable once built
(their inputs never change), compare and hash by identity, and remember the line
of user code that created them, so that errors can point back at it.

An ``Op`` declares everything tinygraph knows about one operation: how to compute it,
its shape rule, and what the layers above the core (fast paths, diagrams, ONNX,
``tg.nn``) need to know. Python operators on nodes (``a + b``, ``x @ W``, ``.T``) build
the op whose class declares that operator in ``python_operator``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from . import registry
from .errors import GraphError, ShapeError, article
from .hooks import drawing
from .shapes import Spec, broadcast_shapes, format_spec, result_dtype, spec_of_value
from .site import Site, creation_site, current_scope
from .text import check_name, printable


class Node:
    """A vertex of the graph: ``op`` applied to ``inputs``, holding a value of ``spec``."""

    __slots__ = ("op", "inputs", "spec", "site", "scope", "numbered", "_name", "_auto_name", "_plans",
                 "__weakref__")

    # numpy must hand ``array @ node`` and ``2.0 * node`` to our reflected operators
    # instead of trying to build an object array.
    __array_ufunc__ = None

    op: Op
    inputs: tuple[Node, ...]
    spec: Spec
    site: Site
    scope: tuple[str, ...]
    #: Whether the node was created without a name: such a node takes the next number in every
    #: graph's automatic names (``add_1``), and keeps that place even after a rename.
    numbered: bool

    def __init__(self, op: Op, inputs: tuple[Node, ...], spec: Spec, name: str | None = None,
                 site: Site | None = None) -> None:
        if name is not None:
            _check_name(name)
        self.op = op
        self.inputs = inputs
        self.spec = spec
        self.site = site if site is not None else creation_site()
        self.scope = current_scope()
        self.numbered = name is None
        self._name = name
        self._auto_name: str | None = None  # memo: depends only on the ancestors, which never change
        # Execution plans whose outputs end with this node, cached by tinygraph.plan. Stored here
        # (not in a global table) so a graph dropped by the user is collected with its plans.
        self._plans: Any = None

    # --- what it is --------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int | None, ...]:
        """Static shape; ``None`` marks a size known only at run time."""
        return self.spec.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """Static numpy dtype."""
        return self.spec.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.spec.shape)

    @property
    def user_name(self) -> str | None:
        """The name given by the user, or ``None`` when graphs name the node."""
        return self._name

    @property
    def name(self) -> str:
        """The user's name, or else ``{kind}_{k}``: its automatic name in ``tg.Graph(node)``.

        ``k`` counts the nodes this one depends on that were created without a name; it
        depends on nothing else, so it never changes (a graph may still add ``_1`` where a
        user's name takes it). Graphs name every node themselves: ``graph.name_of(node)``.
        """
        if self._name is not None:
            return self._name
        auto = self._auto_name
        if auto is None:
            auto = self._auto_name = f"{self.op.kind}_{_numbered_ancestors(self)}"
        return auto

    @name.setter
    def name(self, name: str) -> None:
        _check_name(name)
        self._name = name

    @property
    def value(self) -> Any:
        """The array held by a parameter or constant node."""
        return self.op.value_of(self)

    @value.setter
    def value(self, new: Any) -> None:
        self.op.set_value(self, new)

    def __repr__(self) -> str:
        return f"<Node {format_node(self, _name_of)}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        return drawing().mimebundle(self, include, exclude)  # type: ignore[no-any-return]

    # --- copying and pickling: flat, so that graphs of any depth copy and pickle -------------------

    def __deepcopy__(self, memo: dict[int, Any]) -> Node:
        return copy_nodes([self], memo)[0]

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # Pickle's default would recurse once per ancestor (RecursionError from a depth of ~200);
        # instead the node travels with its ancestors as one flat list. Nodes pickled separately
        # arrive as separate copies of shared ancestors: pickle a Graph to keep them shared.
        return (from_records, (to_records([self]),))

    def __bool__(self) -> bool:
        raise TypeError(
            "a tinygraph Node has no truth value: it is a symbolic value, not computed yet "
            "(use tg.evaluate to get an array)"
        )

    # --- building: numpy-like operators, each building the op that declares it --------------------

    def __matmul__(self, other: Any) -> Node:
        return _apply("matmul", self, other)

    def __rmatmul__(self, other: Any) -> Node:
        return _apply("matmul", other, self)

    def __add__(self, other: Any) -> Node:
        return _apply("add", self, other)

    def __radd__(self, other: Any) -> Node:
        return _apply("add", other, self)

    def __sub__(self, other: Any) -> Node:
        return _apply("sub", self, other)

    def __rsub__(self, other: Any) -> Node:
        return _apply("sub", other, self)

    def __mul__(self, other: Any) -> Node:
        return _apply("mul", self, other)

    def __rmul__(self, other: Any) -> Node:
        return _apply("mul", other, self)

    def __truediv__(self, other: Any) -> Node:
        return _apply("truediv", self, other)

    def __rtruediv__(self, other: Any) -> Node:
        return _apply("truediv", other, self)

    def __pow__(self, other: Any) -> Node:
        return _apply("pow", self, other)

    def __rpow__(self, other: Any) -> Node:
        return _apply("pow", other, self)

    def __neg__(self) -> Node:
        return _apply("neg", self)

    # Comparisons build bool nodes; ``==`` stays identity, since nodes are dict keys (tg.equal compares).
    def __lt__(self, other: Any) -> Node:
        return _apply("lt", self, other)

    def __le__(self, other: Any) -> Node:
        return _apply("le", self, other)

    def __gt__(self, other: Any) -> Node:
        return _apply("gt", self, other)

    def __ge__(self, other: Any) -> Node:
        return _apply("ge", self, other)

    def __pos__(self) -> Node:
        return self

    @property
    def T(self) -> Node:
        """Transpose with the axes reversed, like ``ndarray.T``."""
        return _apply("T", self)

    # --- numpy-like methods, each building the op that declares the operator ---------------------

    def __getitem__(self, key: Any) -> Node:
        """``x[1:, None, ..., idx]``: basic slicing, ``None``, ``...`` and one integer array (a gather)."""
        return _method("getitem", self, key)

    def __len__(self) -> int:
        """The first dimension's size, when known at build time (else a ``TypeError``)."""
        if not self.spec.shape:
            raise TypeError(f"len() of a scalar node ({format_spec(self.spec)})")
        first = self.spec.shape[0]
        if first is None:
            raise TypeError(
                f"len() of {printable(self.name)} {format_spec(self.spec)}: its first dimension is only known "
                "at run time (use tg.shape(x)[0] for a node holding it)"
            )
        return first

    def __iter__(self) -> Any:
        """``x[0], x[1], ...`` along a first dimension known at build time."""
        return (self[i] for i in range(len(self)))

    def sum(self, axis: Any = None, keepdims: bool = False) -> Node:
        """``np.sum`` over ``axis``."""
        return _method("sum", self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Node:
        """``np.mean`` over ``axis``."""
        return _method("mean", self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Node:
        """``np.max`` over ``axis``."""
        return _method("max", self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Node:
        """``np.min`` over ``axis``."""
        return _method("min", self, axis, keepdims)

    def reshape(self, *shape: Any) -> Node:
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; a 1-D integer node is a run-time target."""
        return _method("reshape", self, *shape)

    def flatten(self) -> Node:
        """A 1-D copy, like ``ndarray.flatten()``."""
        return _method("reshape", self, -1)

    def transpose(self, *axes: Any) -> Node:
        """``x.transpose()`` (axes reversed), ``x.transpose(1, 0)`` or ``x.transpose((1, 0))``."""
        return _method("T", self, *axes)


def ancestors(outputs: Sequence[Node]) -> list[Node]:
    """Every ancestor of ``outputs`` once, inputs before users (depth-first, operands in order)."""
    order: list[Node] = []
    seen: set[Node] = set()
    for out in outputs:
        if out in seen:
            continue
        seen.add(out)
        stack: list[tuple[Node, int]] = [(out, 0)]
        while stack:
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                child = node.inputs[i]
                if child not in seen:
                    seen.add(child)
                    stack.append((child, 0))
            else:
                stack.pop()
                order.append(node)
    return order


Record = tuple[Any, tuple[int, ...], Spec, "str | None", bool, Site, tuple[str, ...]]


def to_records(outputs: Sequence[Node]) -> tuple[list[Record], list[int]]:
    """``outputs`` and their ancestors as flat records (op, operand positions, ...) and output positions."""
    order = ancestors(outputs)
    index = {n: k for k, n in enumerate(order)}
    records = [(n.op, tuple(index[i] for i in n.inputs), n.spec, n._name, n.numbered, n.site, n.scope)
               for n in order]
    return records, [index[o] for o in outputs]


def from_records(flat: tuple[list[Record], list[int]]) -> Any:
    """The nodes ``to_records`` describes: the one output, or a list for several."""
    records, outputs = flat
    built: list[Node] = []
    for op, inputs, spec, name, numbered, site, scope in records:
        node = Node.__new__(Node)
        node.op, node.inputs, node.spec, node.site, node.scope = op, tuple(built[i] for i in inputs), spec, site, scope
        node.numbered, node._name, node._auto_name, node._plans = numbered, name, None, None
        built.append(node)
    picked = [built[k] for k in outputs]
    return picked[0] if len(picked) == 1 else picked


def copy_nodes(outputs: Sequence[Node], memo: dict[int, Any]) -> list[Node]:
    """Deep copies of ``outputs`` and their ancestors, iteratively, sharing what ``memo`` already holds."""
    import copy

    for node in ancestors(outputs):
        if id(node) in memo:
            continue
        new = Node.__new__(Node)
        new.op = copy.deepcopy(node.op, memo)
        new.inputs = tuple(memo[id(i)] for i in node.inputs)
        new.spec, new.site, new.scope = node.spec, node.site, node.scope
        new.numbered, new._name, new._auto_name, new._plans = node.numbered, node._name, node._auto_name, None
        memo[id(node)] = new
    return [memo[id(o)] for o in outputs]


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"a node name must be a non-empty str, got {name!r}")
    check_name(name)


def _apply(operator: str, *operands: Any) -> Node:
    node: Node = registry.operator_op(operator)()(*operands)
    return node


def _method(operator: str, node: Node, *args: Any) -> Node:
    result: Node = registry.operator_op(operator).node_method(node, *args)
    return result


def _name_of(node: Node) -> str:
    return printable(node.name)


def _numbered_ancestors(node: Node) -> int:
    # Iterative, so that a 100,000-node chain is fine.
    seen: set[int] = {id(node)}
    stack = list(node.inputs)
    count = 0
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        count += n.numbered
        stack.extend(n.inputs)
    return count


def describe_operands(nodes: tuple[Node, ...]) -> str:
    """``x f64[?,2], W1 f64[3,4]``: operands with their specs, for error messages."""
    return ", ".join(f"{printable(n.name)} {format_spec(n.spec)}" for n in nodes)


def format_node(node: Node, name_of: Callable[[Node], str]) -> str:
    """One listing line, ``add_1: f64[?,4] = add(matmul_0, b1)``, naming nodes with ``name_of``."""
    call = node.op.listing(node, [name_of(i) for i in node.inputs])
    return f"{name_of(node)}: {format_spec(node.spec)} = {call}"


def _forward_unimplemented(self: Op, *values: Any) -> Any:
    """Compute the output array from the input arrays: every op must define this."""
    raise NotImplementedError(f"{type(self).__name__} defines no forward()")


def _infer_elementwise(self: Op, *specs: Spec) -> Spec:
    """The output's shape and dtype: by default elementwise, operands broadcast as numpy does."""
    return Spec(broadcast_shapes(*(s.shape for s in specs)), result_dtype(*specs))


class Op:
    """Base class of every operation: everything tinygraph knows about an op is declared here.

    ``forward`` (required) computes; ``infer`` checks operands and predicts the output's spec;
    ``backward`` is the reverse-pass hook. The other declarations are optional and read by
    the layers above the core (docs/extending.md lists them all): memory traits for the
    planner, ``ufunc`` for the fast paths, ``formula``/``commutative``/``dot_style`` for
    diagrams, ``neuron_role`` and ``torch_module`` for ``tg.nn`` and the neuron diagram, and
    ``onnx_type``/``to_onnx``/``from_onnx`` for ONNX. No module outside the op's own names it.
    """

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
        registry.register_op(cls)

    # --- the hooks a subclass overrides: forward (required), infer and backward (optional) ------
    # Declared as Callable attributes, as torch.nn.Module declares forward, so that subclasses may
    # name their operands (``def forward(self, a, b)``) without breaking the type checker.
    forward: Callable[..., Any] = _forward_unimplemented
    infer: Callable[..., Spec] = _infer_elementwise

    # --- fast paths and memory (optional; trusted only from the class defining forward) --------
    #: ``True`` promises that ``forward`` always returns a newly allocated array that nothing else
    #: references (never an input, a view of one, or a cached array), so the executor may recycle
    #: its memory once no later node reads it.
    fresh_output: ClassVar[bool] = False
    #: ``forward_into(out, *values)``: compute exactly what ``forward(*values)`` does, writing the
    #: result into ``out`` (a dead array of the output's shape and dtype, possibly one of ``values``)
    #: and returning it. ``None`` (the default) means the op always allocates.
    forward_into: Callable[..., Any] | None = None
    #: A numpy ufunc that computes exactly what ``forward`` does (``np.add`` for ``Add``): the fast
    #: paths call it directly, passing ``out`` when the op also declares ``forward_into``.
    ufunc: ClassVar[Any] = None

    # --- array libraries (optional; trusted only from the class defining forward) ---------------
    #: The array libraries ``forward`` computes with (docs/scale.md). ``"numpy"`` (the default):
    #: it calls numpy directly, so other libraries' arrays are refused with an error naming the op.
    #: ``"any"``: it computes through ``xp = tg.array_namespace(*values)`` and the array API
    #: standard, so torch, CuPy... arrays stay where they are. ``"via-numpy"``: numpy only, but on
    #: another library the operands are copied to numpy and the result back, with a one-time
    #: ``tg.ArrayFallbackWarning`` naming the op.
    arrays: ClassVar[str] = "numpy"

    def kernel(self, node: Node) -> Any:
        """The ufunc the fast paths may call for ``node`` instead of ``forward``, or ``None``."""
        return type(self).ufunc

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

    # --- diagrams -------------------------------------------------------------------------------

    #: How the lettered operands combine, shown under the node's name: ``"a @ b"``.
    formula: ClassVar[str | None] = None
    #: Operand order does not matter (``a + b``): diagrams then leave the edges unlettered.
    commutative: ClassVar[bool] = False
    #: Graphviz node attributes merged over the default op style, e.g. ``{"fillcolor": "#fde"}``.
    dot_style: ClassVar[Mapping[str, str]] = {}

    #: The Python operator that builds this op on nodes: ``"add"`` for ``a + b`` (and ``2 + a``),
    #: ``"neg"`` for ``-a``, ``"T"`` for ``a.T``. Only tinygraph's own ops may claim one.
    python_operator: ClassVar[str | None] = None

    @classmethod
    def node_method(cls, node: Node, *args: Any) -> Node:
        """``node.method(*args)`` for the method named by ``python_operator``: ``cls(*args)(node)``."""
        return cls(*args)(node)

    def listing(self, node: Node, operands: list[str]) -> str:
        """The right-hand side of ``node``'s listing line: ``softmax[axis=1](add_1)``."""
        attrs = ", ".join(f"{k}={format_attribute(v)}" for k, v in self.attributes().items())
        return self.kind + (f"[{attrs}]" if attrs else "") + f"({', '.join(operands)})"

    def dot_label(self) -> str:
        """The op's title in diagrams (plain text, escaped by the exporter): ``Softmax(axis=1)``."""
        return repr(self) if self.attributes() else type(self).__name__

    # --- layers: tg.nn and the textbook's neuron diagram ----------------------------------------

    #: The op's part in a textbook layer: ``"weights"`` (``x @ W``), ``"bias"`` (``+ b``) or
    #: ``"activation"`` (a function applied to each neuron's value); ``None`` for anything else.
    neuron_role: ClassVar[str | None] = None
    #: The ``torch.nn`` module class computing the same function (``"Sigmoid"``), for imports.
    torch_module: ClassVar[str | None] = None

    @classmethod
    def from_torch_module(cls, module: Any) -> Op:
        """This op configured like the ``torch.nn`` module ``module`` (of class ``torch_module``)."""
        return cls()

    # --- PyTorch import by tracing (read by tg.from_torch; docs/extending.md) ------------------

    #: The ATen operators this op computes, as ``str(op_overload)`` names them in a
    #: ``torch.export`` graph: ``("aten.relu.default",)``. ``tg.from_torch`` maps each call of
    #: one of them with ``from_torch_call``; an in-place variant (``aten.relu_.default``) maps
    #: to its functional name by itself.
    torch_ops: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """Nodes computing the call ``target(*args, **kwargs)`` of one of ``torch_ops``.

        ``args`` hold every positional parameter of the operator's schema (defaults filled in),
        ``kwargs`` its keyword-only ones: tensors arrive as Nodes, sizes known only at run time
        as ``None``, torch dtypes as numpy dtypes, everything else as the Python value. Return a
        Node, or a sequence with one Node (or ``None``, unsupported) per output; raise
        ``ValueError`` with a short reason for a configuration the op can't compute. The default
        applies ``cls()`` to ``args``.
        """
        if any(v is not None for v in kwargs.values()):
            raise ValueError(f"unsupported arguments {dict(kwargs)}")
        return cls()(*args)

    # --- ONNX (read by tinygraph.onnx; ``ctx`` is its export or import context) ---------------

    #: The ONNX op type this op is written as and read from (``"MatMul"``); ``None``: no mapping.
    onnx_type: ClassVar[str | None] = None
    #: ONNX computes most ops in their first operand's type, and the importer casts a result that
    #: numpy promoted back to it; ``True`` says this op's ONNX result type is its own (``Shape`` is
    #: int64, comparisons are bool), so its result is kept as it is.
    onnx_own_result_dtype: ClassVar[bool] = False

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """The ONNX attributes of ``node``'s op (``{"axis": 1}``); none by default."""
        return {}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """Write ``node`` as ONNX nodes into ``ctx``; returns the tensor holding its value.

        The default writes one ``onnx_type`` node whose operands are converted to the node's
        dtype (ONNX ops want operands of one type; numpy promotes).
        """
        operands = [ctx.operand(i, node.dtype) for i in node.inputs]
        return str(ctx.emit(type(self).onnx_type, operands, output=ctx.name(node), **self.onnx_attributes(node)))

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """The keyword arguments of ``cls(...)`` for the ONNX node in ``ctx``; none by default."""
        return {}

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """Nodes computing the ONNX node in ``ctx``, one per output: ``cls(**onnx_config)(operands)``."""
        return [cls(**cls.onnx_config(ctx))(*ctx.operands(), name=ctx.name())]

    # --- compile backends (read by tinygraph.backends; ``tg.compile(..., backend=...)``) -------

    def lowering(self, backend: str, node: Node) -> Any:
        """How ``node`` computes on the compile backend ``backend``, or ``None``: not there.

        ``"jax"``: a function ``fn(jax, *operands)`` of the ``jax`` module and the operands
        (already converted to ``node.dtype``) returning the value. ``"numba"``: ``("map", t)``,
        ``t`` a scalar expression over ``{0}``, ``{1}``... (one element of each operand, of
        ``node.dtype``; ``{t}`` is that dtype's scalar type, ``{t}(1)`` a one of it) that numba
        fuses into one loop with its elementwise neighbours, or
        ``("array", t)``, ``t`` an expression over whole arrays in numba's numpy subset.
        ``"onnxruntime"`` runs the ONNX declarations (``onnx_type``/``to_onnx``) instead.
        """
        return None

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
        raise AttributeError(
            f"{printable(node.name)} is {article(self.kind)} node: only parameters and constants hold a value")

    def set_value(self, node: Node, value: Any) -> None:
        """Replace the value a leaf holds; only parameters allow it."""
        raise AttributeError(
            f"{printable(node.name)} is {article(self.kind)} node: only parameters can be assigned a value")


def declared_with_forward(cls: type[Op], attr: str) -> bool:
    """Whether ``cls`` takes ``attr`` from the class defining its ``forward`` or a subclass of it.

    A subclass that overrides ``forward`` (say, to return an input unchanged) must not inherit
    its base's promises about that ``forward``: its memory traits, its kernel, its ONNX mapping.
    """
    return issubclass(_provider(cls, attr), _provider(cls, "forward"))


def fast_kernel(op: Op, node: Node) -> Any:
    """The ufunc the fast paths may call for ``node`` instead of ``op.forward``, or ``None``."""
    cls = type(op)
    trusted = declared_with_forward(cls, "ufunc") if _provider(cls, "kernel") is Op else \
        declared_with_forward(cls, "kernel")
    return op.kernel(node) if trusted else None


def _provider(cls: type, attr: str) -> type:
    for klass in cls.__mro__:
        if attr in klass.__dict__:
            return klass
    return object


def format_attribute(value: Any) -> str:
    """An attribute as shown in listings and reprs: on one line, arrays as their spec (``f64[3,3]``)."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return format_spec(spec_of_value(value))
    return " ".join(repr(value).split())


def frozen_copy(value: Any, dtype: Any = None) -> np.ndarray[Any, Any]:
    """A private read-only copy: the user's array can't change under us, and no op can write into it."""
    arr = np.array(value, dtype=dtype, copy=True)
    arr.flags.writeable = False
    return arr


class Constant(Op):
    """A fixed value; a bare Python scalar stays a weak scalar (``x32 * 2.0`` is float32)."""

    kind = "constant"
    arity = 0

    def __init__(self, value: Any) -> None:
        self.value = value if type(value) in (int, float, complex, bool) else frozen_copy(value)

    def attributes(self) -> dict[str, Any]:
        """Constants have no configuration: the value is data, not an attribute."""
        return {}

    def listing(self, node: Node, operands: list[str]) -> str:
        """``constant(2.0)`` for a scalar, ``constant(f64[3])`` for an array."""
        value = self.value.item() if isinstance(self.value, np.ndarray) and self.value.ndim == 0 else self.value
        return f"constant({repr(value) if node.ndim == 0 else format_spec(node.spec)})"

    def forward(self) -> Any:
        """The value."""
        return self.value

    def value_of(self, node: Node) -> Any:
        """The value."""
        return self.value


def constant_node(value: Any, name: str | None, site: Site) -> Node:
    """A constant node holding ``value``, or a ``GraphError`` saying why ``value`` can't be one."""
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
    return constant_node(value, None, site if site is not None else creation_site())
