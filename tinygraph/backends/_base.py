"""What every compile backend shares: the callable it returns, feed binding, and reading lowerings.

A backend reads each op's declaration generically (``op.lowering(backend, node)``, see
``tinygraph.node.Op``) and never names an op class; a node whose op declares nothing for
the backend makes ``tg.compile`` refuse the whole graph, naming every such op at once.
"""

from __future__ import annotations

import builtins
import importlib
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import ExecutionError, FeedError, GraphError
from ..fast.compile import CompiledGraph
from ..feeds import fast_check, resolve_feeds
from ..graph import Graph
from ..node import Node, declared_with_forward
from ..op import Constant, Input, Parameter
from ..plan import Plan

LEAVES = (Input, Parameter, Constant)


class LoweringError(GraphError):
    """``tg.compile(..., backend=...)`` met ops that backend can't run; ``ops`` maps op -> node names."""

    def __init__(self, message: str, backend: str, ops: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.backend = backend
        self.ops = ops


class BackendUnavailableError(ImportError):
    """A compile backend's package is not installed; the message names the extra to install."""


def require(module: str, backend: str, extra: str) -> ModuleType:
    """``import module``, or a BackendUnavailableError saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is not None and e.name.split(".")[0] != module.split(".")[0]:
            raise
        raise BackendUnavailableError(
            f"tg.compile(..., backend={backend!r}) needs the {module.split('.')[0]} package: "
            f"pip install 'tinygraph[{extra}]'"
        ) from e


def is_leaf(node: Node) -> bool:
    """Inputs, parameters and constants: values handed to a backend, not computed by it."""
    return type(node.op) in LEAVES or isinstance(node.op, Input)


def lowerings(plan: Plan, backend: str) -> dict[Node, Any]:
    """Every computed node's declaration for ``backend``; a LoweringError naming all that have none."""
    found: dict[Node, Any] = {}
    missing: dict[str, list[Node]] = {}
    for node in plan.nodes:
        if is_leaf(node):
            continue
        op = node.op
        # A subclass overriding forward must not inherit its base's lowering (it computes something else).
        decl = op.lowering(backend, node) if declared_with_forward(type(op), "lowering") else None
        if decl is None:
            missing.setdefault(type(op).__name__, []).append(node)
        else:
            found[node] = decl
    if missing:
        refuse(plan.graph, backend, missing)
    return found


def refuse(graph: Graph, backend: str, missing: dict[str, list[Node]], why: str = "") -> None:
    """Raise the LoweringError for ``missing`` (op class name -> its nodes), naming each op and node."""
    lines = [f"  {op}: {graph.format_node(nodes[0])}" + (f" (and {len(nodes) - 1} more)" if len(nodes) > 1 else "")
             + f", created at {nodes[0].site.describe()}" for op, nodes in missing.items()]
    raise LoweringError(
        f"tg.compile(..., backend={backend!r}): op(s) {', '.join(missing)} have no lowering to {backend}"
        f"{why or ' for these operands'} (an op declares its lowerings in its class, Op.lowering; "
        f"nothing falls back to numpy silently):\n" + "\n".join(lines),
        backend, {op: [graph.name_of(n) for n in nodes] for op, nodes in missing.items()},
    )


def dtype_name(dtype: np.dtype[Any]) -> str:
    """The numpy scalar type's name in generated code: ``float64``."""
    return str(np.dtype(dtype).name)


class BackendGraph(CompiledGraph):
    """A graph compiled by a backend other than numpy: ``f(x)``, ``f(x=...)``, ``f.source``.

    Like ``CompiledGraph`` its ``__call__`` is generated: it checks the feeds as
    ``tg.evaluate`` does (the same ``FeedError`` messages), calls the backend and wraps a
    failure inside it into ``tg.ExecutionError``.
    """

    __slots__ = ("backend", "compile_seconds", "wrapper_source")

    backend: str
    #: Seconds spent compiling in ``tg.compile`` (numba: generating, then compiling or loading
    #: the cached kernel; onnxruntime: export and session; jax: tracing waits for the first call).
    compile_seconds: float
    #: The generated Python that binds the feeds and calls the backend.
    wrapper_source: str

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", backend {self.backend!r}>"


def _numpy_only(value: Any, name: str, backend: str) -> Any:
    if type(value) is not np.ndarray:
        raise FeedError(
            f"input {name!r} was fed a {type(value).__module__.split('.')[0]} array: the {backend} backend computes "
            f"on numpy arrays; feed numpy, or compile with backend='numpy', which runs on any array library "
            f"(docs/scale.md)"
        )
    return value


def _numpy_check(check: Any, name: str, backend: str) -> Any:
    # The common case stays one call deep; anything the check converted is looked at once more.
    def checked(value: Any) -> Any:
        return _numpy_only(check(value), name, backend)
    return checked


def make_callable(graph: Graph, plan: Plan, order: tuple[Node, ...], single: bool, backend: str,
                  source: str, call: str, env: dict[str, Any], filename: str) -> BackendGraph:
    """The compiled callable: binds and checks feeds into ``_v0, _v1...`` (``graph.inputs``
    order), evaluates the expression ``call`` (a sequence of the outputs' values) in ``env``."""
    needed = graph.inputs
    names = [f"_v{k}" for k in range(len(needed))]
    glob: dict[str, Any] = dict(env)
    glob.update({"_Exception": Exception, "_Passed": (FeedError, ExecutionError), "_bind": None,
                 "_wrap": None})
    lines = ["def __call__(_self, *_args, **_kwargs):",
             f"    if _kwargs or len(_args) != {len(order)}:",
             f"        {''.join(n + ', ' for n in names)}= _bind(_args, _kwargs)",
             "    else:"]
    for k, node in enumerate(needed):
        glob[f"_check{k}"] = _numpy_check(fast_check(node, graph.name_of(node)), graph.name_of(node), backend)
        lines.append(f"        _v{k} = _check{k}(_args[{order.index(node)}])")
    lines.append("        pass")
    lines += ["    try:", f"        _r = {call}", "    except _Passed:", "        raise",
              "    except _Exception as _e:", "        raise _wrap(_e) from _e",
              "    return _r[0]" if single else "    return list(_r)"]
    wrapper = "\n".join(lines) + "\n"

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        if len(args) > len(order):
            raise FeedError(
                f"this compiled graph takes {len(order)} input(s) "
                f"({', '.join(graph.name_of(n) if n in graph else n.name for n in order)}), "
                f"got {len(args)} positional values"
            )
        feeds: dict[Any, Any] = dict(zip(order, args))
        feeds.update(kwargs)
        resolved = resolve_feeds(graph, feeds)
        for n in needed:
            _numpy_only(resolved[n], graph.name_of(n), backend)
        return [resolved[n] for n in needed]

    def wrap(error: Exception) -> ExecutionError:
        return ExecutionError(f"compiled graph ({backend}) failed: {type(error).__name__}: {error}")

    glob["_bind"], glob["_wrap"] = bind, wrap
    exec(builtins.compile(wrapper, f"<tinygraph-{backend}-call>", "exec"), glob)
    fn = glob["__call__"]
    fn.__qualname__ = "BackendGraph.__call__"
    cls = type("BackendGraph", (BackendGraph,), {"__call__": fn, "__slots__": (), "__module__": __name__})
    self: BackendGraph = object.__new__(cls)
    self.graph, self.plan, self.inputs, self.source, self.filename = graph, plan, order, source, filename
    self.backend, self.compile_seconds, self.wrapper_source = backend, 0.0, wrapper
    return self
