"""``tg.dask.map_batches``: a graph's forward pass over a dask array, chunk by chunk.

The whole forward pass of a chunk is one dask task (not one task per op), and the graph,
parameters included, is one key of the task graph that every task depends on: dask ships
it to each worker once, and each worker process loads it once (``_worker.runner``). The
result's chunks, shapes and dtypes come from the graph's declarations, so nothing is
computed to learn them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends import BackendUnavailableError
from ..errors import FeedError, GraphError
from ..executor import evaluate
from ..fast.compile import CompiledGraph
from ..feeds import check_feed
from ..graph import Graph
from ..node import Node
from ..op import Input, Parameter
from ..shapes import Spec, format_shape, format_spec
from ..site import Site, creation_site
from ..text import printable
from ._worker import GraphPayload, forward, forward_one, pick

if TYPE_CHECKING:
    import dask.array

__all__ = ["map_batches", "DaskUnavailableError"]

_BATCH = "batch"


class DaskUnavailableError(BackendUnavailableError):
    """dask is not installed; the message says which extra brings it."""


def require_dask() -> ModuleType:
    """``dask.array``, or a DaskUnavailableError saying how to install it."""
    try:
        import dask.array
    except ImportError as e:
        raise DaskUnavailableError(
            f"tg.dask needs dask (with dask.array) and, for clusters, distributed: "
            f'pip install "tinygraph[dask]" ({type(e).__name__}: {e})'
        ) from e
    return dask.array


def map_batches(graph_or_compiled: Any, batches: Any, *, rechunk: bool = False) -> Any:
    """The graph's outputs over the rows of dask arrays: a lazy ``dask.array.Array``, or a list for several outputs.

    ``graph_or_compiled`` is a node, a sequence of nodes, a ``tg.Graph`` or a ``tg.compile``
    result (its graph is shipped and compiled again, once per worker process, with the same
    backend and default options). ``batches`` is a dask array chunked along axis 0, the batch
    axis (for a graph of one input), or ``{input name: dask array}``. A non-batch axis split in
    several chunks is a ``tg.FeedError`` unless ``rechunk=True``, which merges it into one chunk.
    Compute several outputs together (``dask.compute(*outs)``): each one alone runs the graph.
    """
    da = require_dask()
    site = creation_site()
    graph, backend = _graph_of(graph_or_compiled)
    arrays = _bind(graph, batches, da, rechunk, site)
    # Every input's block of a chunk must hold the same rows: unify_chunks aligns the batch axes
    # (rechunking to a common refinement when the inputs were chunked differently).
    pairs: list[Any] = []
    for k, arr in enumerate(arrays):
        pairs += [arr, (_BATCH, *(f"in{k}_{j}" for j in range(1, arr.ndim)))]
    chunkss, aligned = da.core.unify_chunks(*pairs)
    specs = _output_specs(graph, aligned, site)
    _check_rows_independent(graph, aligned, site)
    payload = GraphPayload.of(graph, backend)
    shipped = _delayed()(payload, pure=True)
    token = _tokenize()(payload.token, *(a.name for a in aligned))
    argpairs: list[Any] = [shipped, None]
    for k, arr in enumerate(aligned):
        argpairs += [arr, pairs[2 * k + 1]]
    meta_source = aligned[0]._meta
    batch_chunks = chunkss[_BATCH]

    def output_array(func: Any, args: list[Any], k: int, name: str) -> Any:
        spec = specs[k]
        index = (_BATCH, *(f"out{k}_{j}" for j in range(1, len(spec.shape))))
        dims = _known(spec.shape[1:])
        new_axes = dict(zip(index[1:], dims))
        meta = da.utils.meta_from_array(meta_source, ndim=len(spec.shape), dtype=spec.dtype)
        result = da.blockwise(func, index, *args, new_axes=new_axes, dtype=spec.dtype, meta=meta,
                              concatenate=False, align_arrays=False, name=name)
        expected = (batch_chunks, *((d,) for d in dims))
        assert result.chunks == expected, (result.chunks, expected)
        return result

    if len(graph.outputs) == 1:
        return output_array(forward_one, argpairs, 0, f"tinygraph-forward-{token}")
    # One task per chunk returns every output; each output's blocks are picked from it, so the
    # forward pass runs once per chunk however many outputs there are.
    meta = np.empty((0,), dtype=object)
    chunk_results = da.blockwise(forward, (_BATCH,), *argpairs, dtype=object, meta=meta, concatenate=False,
                                 align_arrays=False, name=f"tinygraph-forward-{token}")
    return [output_array(pick, [chunk_results, (_BATCH,), k, None], k, f"tinygraph-output{k}-{token}")
            for k in range(len(graph.outputs))]


def _delayed() -> Any:
    from dask.delayed import delayed

    return delayed


def _known(dims: Sequence[int | None]) -> tuple[int, ...]:
    known = tuple(d for d in dims if d is not None)
    assert len(known) == len(dims), dims  # _output_specs refused the others
    return known


def _tokenize() -> Any:
    from dask.base import tokenize

    return tokenize


def _graph_of(obj: Any) -> tuple[Graph, str]:
    """The graph to ship and the backend to compile it with on the workers ("" : ``tg.evaluate``)."""
    if isinstance(obj, CompiledGraph):
        return obj.graph, str(getattr(obj, "backend", "numpy"))
    if isinstance(obj, Graph):
        return obj, ""
    if isinstance(obj, Node) or (isinstance(obj, Sequence) and not isinstance(obj, (str, bytes))):
        return Graph(obj), ""
    raise TypeError(
        f"tg.dask.map_batches needs a node, a sequence of nodes, a tg.Graph or a tg.compile result, "
        f"got {type(obj).__name__}"
    )


def _is_dask_array(value: Any, da: ModuleType) -> bool:
    return isinstance(value, da.Array)


def _bind(graph: Graph, batches: Any, da: ModuleType, rechunk: bool, site: Site) -> list[dask.array.Array]:
    """The dask arrays fed to ``graph.inputs`` (in that order), checked and chunked along axis 0 only."""
    at = f"(tg.dask.map_batches called at {site.describe()})"
    if not graph.inputs:
        raise FeedError(f"this graph has no inputs: tg.dask.map_batches maps it over the rows of its inputs {at}")
    names = [graph.name_of(n) for n in graph.inputs]
    if _is_dask_array(batches, da):
        if len(names) != 1:
            raise FeedError(f"this graph has {len(names)} inputs ({', '.join(map(repr, names))}): pass "
                            f"{{input name: dask array}} for them all, not one dask array {at}")
        by_name = {names[0]: batches}
    elif isinstance(batches, Mapping):
        by_name = {}
        for key, value in batches.items():
            name = graph.name_of(key) if isinstance(key, Node) and key in graph else key
            if not isinstance(name, str) or name not in names:
                raise FeedError(f"unknown input {printable(str(key))!r} in batches; this graph's inputs are "
                                f"{', '.join(map(repr, names))} {at}")
            by_name[name] = value
        missing = [n for n in names if n not in by_name]
        if missing:
            wanted = ", ".join(f"{printable(graph.name_of(n))}: {format_spec(n.spec)}"
                               for n in graph.inputs if graph.name_of(n) in missing)
            raise FeedError(f"missing batches for input(s) {', '.join(map(repr, missing))}; expected {wanted} {at}")
    else:
        raise FeedError(f"batches must be a dask array or {{input name: dask array}}, got {type(batches).__name__} "
                        f"{at}")
    arrays = [_check_input(node, graph.name_of(node), by_name[graph.name_of(node)], da, rechunk, at)
              for node in graph.inputs]
    rows = {arr.shape[0] for arr in arrays if not np.isnan(arr.shape[0])}
    if len(rows) > 1:
        sizes = ", ".join(f"{printable(n)}: {arr.shape[0]} rows" for n, arr in zip(names, arrays))
        raise FeedError(f"the inputs' batches have different numbers of rows ({sizes}); every input needs one "
                        f"row per batch item {at}")
    return arrays


def _check_input(node: Node, name: str, arr: Any, da: ModuleType, rechunk: bool, at: str) -> dask.array.Array:
    spec = node.spec
    declared = f"(input declared at {node.site.describe()})"
    if not _is_dask_array(arr, da):
        raise FeedError(
            f"input {printable(name)!r} was given a {type(arr).__name__}, not a dask array: wrap it, e.g. "
            f"dask.array.from_array(value, chunks=(rows_per_chunk, *value.shape[1:])) {at}"
        )
    if not spec.shape or spec.shape[0] is not None:
        raise FeedError(
            f"input {printable(name)!r} is declared {format_spec(spec)}: its axis 0 is not a batch axis (a None "
            f"dim), so tg.dask.map_batches cannot split it into chunks of rows {declared}"
        )
    if arr.ndim != len(spec.shape):
        raise FeedError(f"input {printable(name)!r} expects {format_spec(spec)} (rank {spec.ndim}); got a dask "
                        f"array of shape {arr.shape} {declared}")
    unknown = [j for j in range(1, arr.ndim) if np.isnan(arr.shape[j])]
    if unknown:
        raise FeedError(f"input {printable(name)!r}: the dask array's axis {unknown[0]} has an unknown size "
                        f"(shape {arr.shape}); call .compute_chunk_sizes() first {at}")
    # The feed rules (dtype kind, declared dims) on an empty value of the same dtype and
    # non-batch dims: the same FeedError tg.evaluate would give a chunk, before any is computed.
    check_feed(node, name, np.empty((0, *(int(d) for d in arr.shape[1:])), dtype=arr.dtype))
    split = {j: len(c) for j, c in enumerate(arr.chunks) if j > 0 and len(c) > 1}
    if split:
        if not rechunk:
            j, n = next(iter(split.items()))
            raise FeedError(
                f"input {printable(name)!r}: the dask array is split into {n} chunks along axis {j} (chunks "
                f"{arr.chunks[j]}); tg.dask.map_batches runs the graph on whole rows, so only axis 0 may be "
                f"chunked: rechunk it, e.g. arr.rechunk({{{j}: -1}}), or pass rechunk=True {at}"
            )
        arr = arr.rechunk({j: -1 for j in split})
    checked: dask.array.Array = arr
    return checked


# Rows of the probe batch _check_rows_independent scores together and one by one.
PROBE_ROWS = 3


def _check_rows_independent(graph: Graph, arrays: Sequence[Any], site: Site) -> None:
    """A GraphError if an output row depends on other rows of its batch (a mean over axis 0...).

    Each chunk is scored on its own, so such a graph would give per-chunk answers, silently. The
    graph can't tell (any op may mix rows), so a few random rows are scored together and one by
    one, here, before anything is built: different rows mean the graph mixes them. A graph that
    can't run on the probe (a shape that needs more rows, indices out of range) is not judged.
    """
    rng = np.random.default_rng(0)
    probe = {}
    for node, arr in zip(graph.inputs, arrays):
        shape = (PROBE_ROWS, *(int(d) for d in arr.shape[1:]))
        dtype = np.dtype(node.dtype)
        if dtype.kind == "f":
            probe[node] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind in "iub":
            probe[node] = rng.integers(0, 2, shape).astype(dtype)
        else:
            return
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            together = evaluate(graph, probe)
            alone = [evaluate(graph, {n: v[r:r + 1] for n, v in probe.items()}) for r in range(PROBE_ROWS)]
    except Exception:  # noqa: BLE001 (the probe, not the user's data: nothing to report)
        return
    for k, node in enumerate(graph.outputs):
        whole = np.asarray(together[k])
        rows = np.concatenate([np.asarray(a[k]) for a in alone]) if whole.ndim else whole
        tol = 0 if whole.dtype.kind in "biu" else 1e-2 if whole.dtype.itemsize <= 2 else \
            1e-4 if whole.dtype.itemsize <= 4 else 1e-9
        if rows.shape != whole.shape or not np.allclose(rows, whole, rtol=tol, atol=tol, equal_nan=True):
            raise GraphError(
                f"output {printable(graph.name_of(node))!r} mixes rows: scored {PROBE_ROWS} random rows at once and "
                f"one by one, its rows differ (a reduction or normalization over axis 0, the batch?). map_batches "
                f"scores each chunk on its own and would give per-chunk answers; compute it with tg.evaluate, or "
                f"with dask's own reductions over map_batches' rowwise results (created at {node.site.describe()}; "
                f"tg.dask.map_batches called at {site.describe()})"
            )


def _output_specs(graph: Graph, arrays: Sequence[Any], site: Site) -> list[Spec]:
    """The outputs' specs with every non-batch dim known, or a GraphError naming the output."""
    at = f"(tg.dask.map_batches called at {site.describe()})"
    specs = [n.spec for n in graph.outputs]
    if any(None in s.shape[1:] for s in specs):
        specs = _specialised(graph, arrays)
    for node, spec in zip(graph.outputs, specs):
        name = printable(graph.name_of(node))
        if not spec.shape or spec.shape[0] is not None:
            raise GraphError(
                f"output {name!r} is {format_spec(node.spec)}: it has no batch axis (axis 0 of size None), so it "
                f"is not one row per input row and cannot be computed chunk by chunk; created at "
                f"{node.site.describe()} {at}"
            )
        if None in spec.shape[1:]:
            raise GraphError(
                f"output {name!r} has shape {format_shape(spec.shape)}: its non-batch dims must be known to build "
                f"the dask array without computing; declare the inputs' sizes, or reshape it to a known shape "
                f"(created at {node.site.describe()}) {at}"
            )
    return specs


def _specialised(graph: Graph, arrays: Sequence[Any]) -> list[Spec]:
    # The declared specs with the inputs' non-batch dims taken from the dask arrays: shape
    # inference run again over the graph, in its topological order, so an output of
    # f32[?,?] fed rows of 1024 becomes f32[?,1024] where the ops say so.
    specs: dict[Node, Spec] = {}
    for node, arr in zip(graph.inputs, arrays):
        specs[node] = Spec((None, *(int(d) for d in arr.shape[1:])), node.spec.dtype)
    for node in graph.nodes:
        if node in specs:
            continue
        if isinstance(node.op, (Input, Parameter)) or not node.inputs:
            specs[node] = node.spec
            continue
        try:
            inferred = node.op.infer(*(specs[i] for i in node.inputs))
        except Exception:
            inferred = node.spec
        specs[node] = inferred if isinstance(inferred, Spec) else node.spec
    return [specs[n] for n in graph.outputs]
