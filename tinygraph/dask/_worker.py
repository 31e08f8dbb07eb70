"""What runs inside dask's tasks: the graph as it travels, and its forward pass on one chunk.

A graph travels as a ``GraphPayload``: the bytes of ``tg.dumps`` (tinygraph's own safe
format, no pickle inside), the input names in the order the blocks come, the compile
backend, and for every op class that is not tinygraph's own, its registry name and module.
A worker process loads it once (cached by the payload's token) and then runs every chunk
that reaches it with the loaded graph. Nothing here imports dask: these functions are what
dask calls, on the client's threads or in a ``dask.distributed`` worker.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from .. import registry
from ..backends import compile as backend_compile
from ..errors import ExecutionError, GraphError
from ..executor import evaluate
from ..fast.compile import CompiledGraph
from ..graph import Graph
from ..io import dumps, loads
from ..text import printable

#: A loaded graph's forward pass: the chunk's input blocks in, the outputs' blocks out.
Runner = Callable[[Sequence[Any]], list[Any]]

#: How many loaded graphs a process keeps (a worker often serves a few graphs in turn; each
#: holds its parameters).
CACHE_SIZE = 8


class GraphPayload:
    """A graph as it travels to dask's workers: ``tg.dumps`` bytes plus what a worker needs to run them."""

    __slots__ = ("token", "data", "inputs", "outputs", "backend", "custom_ops")

    def __init__(self, data: bytes, inputs: tuple[str, ...], outputs: tuple[str, ...], backend: str,
                 custom_ops: tuple[tuple[str, str, str], ...]) -> None:
        self.data = data
        self.inputs = inputs
        self.outputs = outputs
        self.backend = backend
        #: ``(registry name, module, qualified name)`` of each op class that is not tinygraph's own.
        self.custom_ops = custom_ops
        digest = hashlib.sha256(data)
        digest.update(repr((inputs, outputs, backend, custom_ops)).encode())
        self.token = digest.hexdigest()

    @classmethod
    def of(cls, graph: Graph, backend: str) -> GraphPayload:
        """The payload of ``graph``, run by ``tg.evaluate`` (``backend=""``) or compiled once for ``backend``."""
        custom: dict[str, tuple[str, str, str]] = {}
        for node in graph.nodes:
            op_class = type(node.op)
            if not registry.is_builtin(op_class):
                name = registry.op_name(op_class)
                custom[name] = (name, op_class.__module__, op_class.__qualname__)
        return cls(dumps(graph), tuple(graph.name_of(n) for n in graph.inputs),
                   tuple(graph.name_of(n) for n in graph.outputs), backend, tuple(custom.values()))

    def __reduce__(self) -> tuple[Any, ...]:
        # Plain bytes, strings and tuples of this package's own class: nothing of the user's is pickled.
        return (GraphPayload, (self.data, self.inputs, self.outputs, self.backend, self.custom_ops))

    def __dask_tokenize__(self) -> str:
        return self.token

    def __repr__(self) -> str:
        return (f"<GraphPayload {len(self.data):,} bytes: ({', '.join(self.inputs)}) -> ({', '.join(self.outputs)}), "
                f"backend {self.backend!r}, token {self.token[:12]}>")


_cache: OrderedDict[str, Runner] = OrderedDict()
_lock = threading.Lock()


def runner(payload: GraphPayload) -> Runner:
    """The forward pass of ``payload``'s graph, loaded (and compiled) once per process."""
    with _lock:
        found = _cache.get(payload.token)
        if found is not None:
            _cache.move_to_end(payload.token)
            return found
        # Loading under the lock: a worker's threads asking for the same graph at once load it once.
        made = _load(payload)
        _cache[payload.token] = made
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return made


def _where() -> str:
    return f"worker process {os.getpid()} on {socket.gethostname()}"


def import_custom_ops(custom_ops: Sequence[tuple[str, str, str]]) -> None:
    """Import the module of every op class not yet registered here, or a GraphError naming op and module."""
    known = registry.registered_ops()
    for name, module, qualname in custom_ops:
        if name in known:
            continue
        what = f"custom op {printable(name)!r} (class {printable(qualname)} of module {printable(module)!r})"
        fix = ("custom ops travel by their import path: the module must be importable in every worker process "
               "(install it there, or add its directory to the workers' sys.path, e.g. with client.upload_file)")
        if module == "__main__":
            raise GraphError(
                f"{what} cannot be loaded in {_where()}: it is defined in __main__ (a script or a notebook), "
                f"which workers do not import; move the class into a module. {fix}"
            )
        try:
            importlib.import_module(module)
        except Exception as e:
            raise GraphError(f"{what} cannot be loaded in {_where()}: importing {printable(module)!r} failed "
                             f"({type(e).__name__}: {e}); {fix}") from None
        if name not in registry.registered_ops():
            raise GraphError(
                f"{what} cannot be loaded in {_where()}: module {printable(module)!r} was imported but registers "
                f"no op class under that name (is the class defined at import time, with the same registry_name?)"
            )


def _load(payload: GraphPayload) -> Runner:
    import_custom_ops(payload.custom_ops)
    graph = loads(payload.data)
    names = payload.inputs
    if payload.backend == "":
        def run(blocks: Sequence[Any]) -> list[Any]:
            result: list[Any] = evaluate(graph, dict(zip(names, blocks)))
            return result
        return run
    compiled: CompiledGraph = backend_compile(graph, backend=payload.backend)

    def run_compiled(blocks: Sequence[Any]) -> list[Any]:
        result = compiled(**dict(zip(names, blocks)))
        return list(result) if isinstance(result, (list, tuple)) else [result]
    return run_compiled


def forward(payload: GraphPayload, *blocks: Any) -> tuple[Any, ...]:
    """The graph's outputs on one chunk (blocks in ``payload.inputs`` order), each checked to keep its rows."""
    # Blockwise hands an input's block as nested one-item lists, one level per non-batch axis
    # (each is one chunk); unwrapping them never copies the data, as concatenating would.
    blocks = tuple(_unwrap(b) for b in blocks)
    values = runner(payload)(blocks)
    rows = blocks[0].shape[0] if blocks else 0
    for name, value in zip(payload.outputs, values):
        got = getattr(value, "shape", ())
        if not got or got[0] != rows:
            # dask was promised a block of `rows` rows: a block of any other length would make a
            # wrong array, silently.
            raise ExecutionError(
                f"output {printable(name)!r} of a chunk of {rows} rows has shape {tuple(got)}: tg.dask.map_batches "
                f"needs every output to keep the batch axis (axis 0, one row per input row)"
            )
    return tuple(values)


def _unwrap(block: Any) -> Any:
    while type(block) is list:
        if len(block) != 1:
            raise ExecutionError(f"tg.dask.map_batches got {len(block)} blocks along a non-batch axis; expected 1")
        block = block[0]
    return block


def forward_one(payload: GraphPayload, *blocks: Any) -> Any:
    """``forward`` for a graph of one output: its block."""
    return forward(payload, *blocks)[0]


def pick(values: tuple[Any, ...], k: int) -> Any:
    """Output ``k`` of a chunk's ``forward``."""
    return values[k]
