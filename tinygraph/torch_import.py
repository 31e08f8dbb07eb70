"""PyTorch import by tracing: ``tg.from_torch(module, *example_inputs)`` is the graph ``module`` computes.

``torch.export`` records what ``module.forward`` really does as a graph of ATen operators
(``aten.linear.default``, ``aten.relu.default``, ...), whatever Python it is written in. Each
operator maps to the op class that declares it in ``torch_ops`` and builds its nodes in
``from_torch_call``; this module names no op. Parameters and buffers become parameters named
by their module path (``layer1.0.fc.weight``), and the nodes of each submodule are built
inside ``tg.scope`` blocks named after its path, so diagrams draw one cluster per block.
What no op declares is refused, every such operator named in one short error.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import numpy as np

from . import registry
from .errors import GraphError
from .graph import Graph
from .node import Node
from .op import constant, input, parameter
from .ops import cast, concat, shape
from .site import scope

__all__ = ["from_torch", "TorchImportError", "torch_op_table"]


class TorchImportError(GraphError):
    """The module can't be imported: torch can't trace it, or it calls operators no op maps."""


# ATen operators that return their (first) input's value unchanged: no node is built for them.
_PASSTHROUGH = frozenset({
    "aten.clone.default", "aten.detach.default", "aten.alias.default", "aten.contiguous.default",
    "aten.lift_fresh_copy.default", "aten.dropout.default", "aten.feature_dropout.default",
    "aten.alpha_dropout.default",
})
_MAX_LISTED = 8  # unsupported operators named in an error; the rest are counted


def torch_op_table() -> dict[str, type[Any]]:
    """``{"aten.relu.default": ReLU, ...}``: the ATen operators the registered ops declare."""
    table: dict[str, type[Any]] = {}
    for cls in registry.registered_ops().values():
        for name in cls.__dict__.get("torch_ops", ()):
            # A user's op declaring a name takes it from a built-in one, as its registration does.
            if name not in table or not registry.is_builtin(cls):
                table[name] = cls
    return table


def from_torch(module: Any, *example_inputs: Any) -> Graph:
    """The graph ``module(*example_inputs)`` computes, traced with ``torch.export``.

    Inputs are named after ``forward``'s parameters (``x``; ``input`` for a ``Sequential``),
    keep the examples' dtypes and leave dim 0 (the batch) free when torch can (an example batch
    of 2 or more). ``tg.evaluate(g, {"x": batch})`` then matches ``module(batch)``. Put the
    module in eval mode first (``module.eval()``) for dropout and batch norm.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"tg.from_torch takes a torch.nn.Module, got {type(module).__name__}")
    if not example_inputs:
        raise TypeError("tg.from_torch needs example inputs: tg.from_torch(module, torch.randn(2, 4))")
    for i, t in enumerate(example_inputs):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"example input {i} is a {type(t).__name__}: tg.from_torch takes tensors only")
    program = _export(module, example_inputs)
    table = torch_op_table()
    missing = _unsupported(program.graph, table)
    if missing:
        program = _decomposed(program, missing, table)
        if program is None:
            raise TorchImportError(_unsupported_message(module, missing))
    return _Importer(module, program, table, _input_names(module, len(example_inputs))).run()


def _decomposed(program: Any, missing: dict[str, list[Any]], table: dict[str, type[Any]]) -> Any:
    """The program with torch's decompositions of the unmapped operators applied, or ``None``.

    Only those operators first (the others keep the names their ops declare), then torch's
    whole default table, in case a decomposition itself needs decomposing.
    """
    import torch

    decompositions = torch.export.default_decompositions()
    targets = {n.target for nodes in missing.values() for n in nodes}
    if not targets <= set(decompositions):
        return None
    for chosen in ({t: decompositions[t] for t in targets}, decompositions):
        with warnings.catch_warnings():  # torch's own deprecations, about its internals
            warnings.simplefilter("ignore", FutureWarning)
            candidate = program.run_decompositions(chosen)
        if not _unsupported(candidate.graph, table):
            return candidate
    return None


def _export(module: Any, example_inputs: tuple[Any, ...]) -> Any:
    import torch
    from torch.export import Dim

    # Dim.AUTO keeps the batch free unless the module fixes it (or the example's batch is 0 or 1).
    dynamic = tuple({0: Dim.AUTO} if t.ndim else None for t in example_inputs)
    try:
        return torch.export.export(module, example_inputs, dynamic_shapes=dynamic)
    except Exception as e:  # torch raises many kinds; the first line says what it could not trace
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise TorchImportError(
            f"torch.export could not trace {type(module).__name__}: {reason}"
        ) from e


def _input_names(module: Any, count: int) -> list[str | None]:
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return [None] * count
    names: list[str | None] = [None] * count
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names[:len(positional[:count])] = positional[:count]
    return names


def _target_name(fx_node: Any) -> str:
    return str(fx_node.target) if fx_node.op == "call_function" else f"{fx_node.op} {fx_node.target}"


def _functional(name: str) -> str:
    """``aten.relu_.default`` -> ``aten.relu.default``: the in-place variant's functional name."""
    parts = name.split(".")
    if len(parts) == 3 and parts[1].endswith("_") and not parts[1].startswith("_"):
        return ".".join((parts[0], parts[1][:-1], parts[2]))
    return name


def _returns_alias(fx_node: Any) -> bool:
    schema = getattr(fx_node.target, "_schema", None)
    return bool(schema is not None and schema.returns and schema.returns[0].alias_info is not None)


def _computes_value(fx_node: Any) -> bool:
    """Whether the node computes a tensor (not a size, and not a tuple's item)."""
    import torch

    return fx_node.op == "call_function" and isinstance(fx_node.meta.get("val"), torch.Tensor)


def _unsupported(graph: Any, table: dict[str, type[Any]]) -> dict[str, list[Any]]:
    """``{operator: [fx nodes]}`` for the calls no op declares."""
    import operator

    missing: dict[str, list[Any]] = {}
    for n in graph.nodes:
        if n.op in ("placeholder", "output") or (n.op == "call_function" and n.target is operator.getitem):
            continue
        name = _target_name(n)
        if n.op == "call_function" and not _computes_value(n) and not isinstance(n.meta.get("val"), tuple):
            continue  # sizes: computed by torch's shape logic, passed on as ints or None
        if _functional(name) in _PASSTHROUGH or _functional(name) in table:
            continue
        missing.setdefault(name, []).append(n)
    return missing


def _module_path(fx_node: Any) -> str:
    stack = fx_node.meta.get("nn_module_stack") or {}
    paths = [path for path, _ in stack.values() if isinstance(path, str) and path]
    return paths[-1] if paths else ""


def _unsupported_message(module: Any, missing: dict[str, list[Any]]) -> str:
    items = sorted(missing.items(), key=lambda kv: -len(kv[1]))
    lines = []
    for name, nodes in items[:_MAX_LISTED]:
        lines.append(f"{name} ×{len(nodes)} (first in {_module_path(nodes[0]) or type(module).__name__})")
    if len(items) > _MAX_LISTED:
        lines.append(f"... and {len(items) - _MAX_LISTED} more")
    training = module.training and any("dropout" in name or "norm" in name for name in missing)
    hint = " (the module is in training mode: call module.eval() first?)" if training else ""
    return (
        f"cannot import {type(module).__name__}: no tinygraph op maps {len(missing)} torch operator(s){hint}:\n  "
        + "\n  ".join(lines)
        + "\nAn op maps one by declaring torch_ops and from_torch_call (docs/extending.md)."
    )


class _Importer:
    """One walk over an exported program's graph, building a tinygraph node per ATen call."""

    def __init__(self, module: Any, program: Any, table: dict[str, type[Any]], names: list[str | None]) -> None:
        self.module = module
        self.program = program
        self.table = table
        self.names = names
        self.env: dict[Any, Any] = {}
        self.placeholders: dict[str, Callable[[], Node]] = {}
        self.modules = _ScopeStack()
        self.sizes: dict[Any, tuple[Node, int]] = {}  # aten.sym_size calls: (tensor, axis)

    def run(self) -> Graph:
        from torch.export.graph_signature import InputKind, OutputKind

        program = self.program
        writes = [s.target for s in program.graph_signature.output_specs if s.kind != OutputKind.USER_OUTPUT]
        if writes:
            # The graph would compute the outputs but not the state torch's next call starts from.
            raise TorchImportError(
                f"{type(self.module).__name__}.forward writes into {', '.join(map(str, writes[:3]))}"
                f"{' ...' if len(writes) > 3 else ''}: tinygraph graphs hold no state to update (module.eval()?)"
            )
        state = program.state_dict
        user = 0
        for spec in program.graph_signature.input_specs:
            name = spec.arg.name
            if spec.kind == InputKind.USER_INPUT:
                val = self._placeholder(name).meta["val"]
                made = input(self.names[user] or name, _shape(val), _numpy_dtype(val.dtype))
                self.placeholders[name] = lambda made=made: made  # type: ignore[misc]
                user += 1
            elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
                value = state[spec.target] if spec.target in state else program.constants[spec.target]
                self.placeholders[name] = self._leaf_maker(parameter, value, spec.target)
            elif spec.kind == InputKind.CONSTANT_TENSOR:
                self.placeholders[name] = self._leaf_maker(constant, program.constants[spec.target], spec.target)
        outputs: list[Node] = []
        with self.modules:
            for n in program.graph.nodes:
                if n.op == "placeholder":
                    continue
                if n.op == "output":
                    outputs = [self._value(o, n) for o in _flatten(n.args[0])]  # user outputs only, as checked
                    break
                self.modules.enter(_module_paths(n))
                self.env[n] = self._call(n)
        for i, out in enumerate(outputs):
            if not isinstance(out, Node):
                raise TorchImportError(f"output {i} of the module is not a tensor computed from its inputs ({out!r})")
        return Graph(outputs[0] if len(outputs) == 1 else outputs)

    # --- parameters, made where first used so that diagrams draw them in their module's cluster ---

    def _leaf_maker(self, build: Callable[..., Node], tensor: Any, name: str) -> Callable[[], Node]:
        made: list[Node] = []

        def make() -> Node:
            if not made:
                _numpy_dtype(tensor.dtype)  # a dtype numpy has no equivalent for is refused by name
                made.append(build(_to_numpy(tensor), name=name))
            return made[0]
        return make

    def _placeholder(self, name: str) -> Any:
        for n in self.program.graph.nodes:
            if n.op == "placeholder" and n.name == name:
                return n
        raise KeyError(name)

    # --- one call ---------------------------------------------------------------------------------

    def _value(self, arg: Any, user: Any) -> Any:
        """The tinygraph value of an fx argument: Nodes for tensors, None for run-time sizes, numpy dtypes."""
        import torch
        import torch.fx

        if isinstance(arg, torch.fx.Node):
            if arg.op == "placeholder":
                if arg.name not in self.placeholders:
                    raise TorchImportError(f"{_where(user)}: reads {arg.name}, which tinygraph can't hold")
                return self.placeholders[arg.name]()
            return self.env[arg]
        if isinstance(arg, (list, tuple)):
            values = type(arg)(self._value(a, user) for a in arg)
            if isinstance(arg, list) and None in values and all(isinstance(a, int) or a in self.sizes for a in arg):
                return self._size_list(arg, list(values))
            return values
        if isinstance(arg, torch.dtype):
            return _numpy_dtype(arg)
        return arg

    def _call(self, n: Any) -> Any:
        import operator

        import torch

        if n.op != "call_function":
            raise TorchImportError(f"{_where(n)}: cannot import a {n.op} node ({n.target})")
        val = n.meta.get("val")
        if n.target is operator.getitem:
            whole, index = self._value(n.args[0], n), n.args[1]
            if isinstance(whole, (list, tuple)) and isinstance(index, int):
                item = whole[index]
                if item is None and isinstance(val, torch.Tensor):
                    raise TorchImportError(f"{_where(n)}: output {index} of {_target_name(n.args[0])} is not supported")
                return item
            raise TorchImportError(f"{_where(n)}: cannot index {type(whole).__name__} with {index!r}")
        if not isinstance(val, (torch.Tensor, tuple, list)):
            if str(n.target) == "aten.sym_size.int":
                tensor = self._value(n.args[0], n)
                if isinstance(tensor, Node):
                    self.sizes[n] = (tensor, int(n.args[1]))
            # A size or other scalar from torch's shape logic: its value if fixed, else None.
            return val if isinstance(val, (int, float, bool)) else None
        name = str(n.target)
        args, kwargs = _bind(n)
        values = [self._value(a, n) for a in args]
        kwvalues = {k: self._value(v, n) for k, v in kwargs.items()}
        if _functional(name) in _PASSTHROUGH:  # detach_ of a constant, too: the value is unchanged
            if _functional(name).endswith("dropout.default") and values[2]:
                raise TorchImportError(f"{_where(n)}: dropout in training mode (call module.eval() first)")
            result: Any = values[0]
        else:
            functional = _functional(name)
            if functional != name:
                self._check_in_place(n)
            op_class = self.table[functional]
            try:
                result = op_class.from_torch_call(functional, values, kwvalues)
            except (GraphError, TypeError, ValueError) as e:
                raise TorchImportError(f"{_where(n)}: {name} can't be imported: {e}") from None
        if isinstance(val, torch.Tensor):
            if not isinstance(result, Node):
                raise TorchImportError(f"{_where(n)}: {name} gave {type(result).__name__}, not a node")
            result = self._checked(n, result, val)
        if _functional(name) != name:
            self.env[n.args[0]] = result  # later readers of the mutated tensor see the new value
        return result

    def _size_list(self, arg: list[Any], values: list[Any]) -> list[Any]:
        """``values`` (``None`` for run-time sizes) with ``.node``: a 1-D int64 node computing the sizes."""
        parts = []
        for a, v in zip(arg, values):
            if v is not None:
                parts.append(constant(np.array([v], dtype=np.int64)))
            else:
                tensor, axis = self.sizes[a]
                axis = axis % tensor.ndim
                parts.append(shape(tensor, axis, axis + 1))
        return _SizeList(values, concat(parts) if len(parts) > 1 else parts[0])

    def _check_in_place(self, n: Any) -> None:
        """An in-place call is its functional op if nothing else aliases the tensor it writes."""
        import torch.fx

        target = n.args[0]
        aliased = not isinstance(target, torch.fx.Node) or target.op == "placeholder" or _returns_alias(target) \
            or any(_returns_alias(u) for u in target.users if u is not n)
        if aliased:
            raise TorchImportError(
                f"{_where(n)}: {n.target} writes into a tensor that another value shares (a view, an input "
                "or a parameter); tinygraph values are immutable"
                + (" (the module is in training mode: call module.eval() first?)" if self.module.training else "")
            )

    def _checked(self, n: Any, node: Node, val: Any) -> Node:
        """``node`` with torch's dtype; a shape that contradicts torch's is an error, never a wrong graph."""
        want = _shape(val)
        got = node.shape
        if len(want) != len(got) or any(w is not None and g is not None and w != g for w, g in zip(want, got)):
            raise TorchImportError(
                f"{_where(n)}: {n.target} gives shape {tuple(got)} in tinygraph but {tuple(want)} in torch"
            )
        dtype = _numpy_dtype(val.dtype)
        if node.dtype != dtype:
            node = cast(node, dtype)
        return node


class _SizeList(list):  # type: ignore[type-arg]
    """A list of sizes, ``None`` for those known only at run time, and ``node``, computing them all."""

    def __init__(self, values: list[Any], node: Node) -> None:
        super().__init__(values)
        self.node = node


def _bind(n: Any) -> tuple[list[Any], dict[str, Any]]:
    """The call's arguments as the schema lists them: positional ones (defaults filled), keyword-only ones."""
    schema = n.target._schema
    args, kwargs = list(n.args), dict(n.kwargs)
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for i, a in enumerate(schema.arguments):
        if i < len(args) and not a.kwarg_only:
            value = args[i]
        elif a.name in kwargs:
            value = kwargs.pop(a.name)
        elif a.has_default_value():
            value = a.default_value
        else:
            raise TorchImportError(f"{_where(n)}: {n.target} is missing its argument {a.name!r}")
        (keywords.__setitem__(a.name, value) if a.kwarg_only else positional.append(value))
    return positional, keywords


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten(v)
    else:
        yield value


def _where(n: Any) -> str:
    path = _module_path(n)
    return f"{n.name}" + (f" in {path}" if path else "")


def _module_paths(n: Any) -> tuple[str, ...]:
    stack = n.meta.get("nn_module_stack") or {}
    return tuple(path for path, _ in stack.values() if isinstance(path, str) and path)


class _ScopeStack:
    """The ``tg.scope`` blocks of the module path being built, entered and left as the path changes."""

    def __init__(self) -> None:
        self.paths: tuple[str, ...] = ()
        self.stacks: list[ExitStack] = []

    def __enter__(self) -> _ScopeStack:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._leave(0)

    def enter(self, paths: tuple[str, ...]) -> None:
        common = 0
        while common < min(len(paths), len(self.paths)) and paths[common] == self.paths[common]:
            common += 1
        self._leave(common)
        for path in paths[common:]:
            stack = ExitStack()
            stack.enter_context(scope(path))
            self.stacks.append(stack)
        self.paths = paths

    def _leave(self, depth: int) -> None:
        while len(self.stacks) > depth:
            self.stacks.pop().close()
        self.paths = self.paths[:depth]


def _shape(val: Any) -> tuple[int | None, ...]:
    return tuple(d if isinstance(d, int) else None for d in val.shape)


def _numpy_dtype(dtype: Any) -> np.dtype[Any]:
    import torch

    try:
        return np.dtype(torch.empty((), dtype=dtype).numpy().dtype)
    except TypeError:
        raise TorchImportError(f"tinygraph holds numpy dtypes; torch's {dtype} has none") from None


def _to_numpy(tensor: Any) -> Any:
    return tensor.detach().cpu().numpy()

