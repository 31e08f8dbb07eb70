"""``tg.profile``: where the time and the memory of one forward pass go, node by node.

It runs exactly what ``tg.evaluate`` runs (the same cached plan, the same in-place
steps), timing each step and keeping count of the bytes the run holds::

    >>> print(tg.profile(y, {x: batch}))      # doctest: +SKIP
    profile of 10 nodes: 41.3 µs in nodes, peak 12.0 KiB live (intermediates)
    node       op       value        time      %   out bytes  live after
    matmul_0   matmul   f64[10,4]    9.1 µs  22.0        320        320
    ...
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arrays import NUMPY, ArrayLibrary
from ..executor import bind_feeds, collect_results, evaluate, execute
from ..feeds import Feeds
from ..graph import Outputs
from ..node import Node
from ..plan import plan_for, run_graph
from ..shapes import Spec, format_spec, spec_of_value

__all__ = ["NodeProfile", "Profile", "profile"]


@dataclass(frozen=True)
class NodeProfile:
    """One node's share of a run: its time, its output's size, the bytes live after it ran."""

    node: Node
    name: str
    op: str
    value: str
    seconds: float
    out_bytes: int
    live_bytes: int
    in_place: bool


def _nbytes(value: Any) -> int:
    if isinstance(value, (np.ndarray, np.generic)):
        return int(value.nbytes)
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return 0
    # Another library's array: its element count times its dtype's size (torch has .itemsize).
    size = int(np.prod(tuple(shape), dtype=np.int64))
    itemsize = getattr(dtype, "itemsize", None) or np.dtype(str(dtype).rsplit(".", 1)[-1]).itemsize
    return size * int(itemsize)


def _shown(value: Any, library: ArrayLibrary) -> str:
    # A value's spec as listings write it, read off its shape and dtype: no copy to the host.
    if library is NUMPY or isinstance(value, (np.ndarray, np.generic, int, float, complex)):
        return format_spec(spec_of_value(value))
    return format_spec(Spec(tuple(int(d) for d in value.shape), library.numpy_dtype(value.dtype)))


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def _time(s: float) -> str:
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms"


class Profile:
    """The result of ``tg.profile``: per-node rows, totals, and the outputs' values."""

    def __init__(self, rows: list[NodeProfile], peak_bytes: int, result: Any) -> None:
        self.rows = rows
        #: Seconds spent inside the nodes' computations (the executor's own overhead excluded).
        self.total_seconds = sum(r.seconds for r in rows)
        #: Most bytes of intermediates (values computed by the run, feeds and parameters excluded)
        #: alive at once.
        self.peak_bytes = peak_bytes
        #: What ``tg.evaluate`` would have returned.
        self.result = result

    def __iter__(self) -> Iterator[NodeProfile]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def by_cost(self) -> list[NodeProfile]:
        """The rows, most expensive first (time, then output size)."""
        return sorted(self.rows, key=lambda r: (r.seconds, r.out_bytes), reverse=True)

    def __str__(self) -> str:
        total = self.total_seconds or 1.0
        header = ["node", "op", "value", "time", "%", "out bytes", "live after", ""]
        body = [
            [r.name, r.op, r.value, _time(r.seconds), f"{100 * r.seconds / total:.1f}",
             _size(r.out_bytes), _size(r.live_bytes), "in place" if r.in_place else ""]
            for r in self.by_cost()
        ]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        right = {3, 4, 5, 6}

        def fmt(row: list[str]) -> str:
            cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
            return "  ".join(cells).rstrip()

        title = (f"profile of {len(self.rows)} nodes: {_time(self.total_seconds)} in nodes, "
                 f"peak {_size(self.peak_bytes)} of intermediates live at once")
        return "\n".join([title, fmt(header), *(fmt(row) for row in body)])

    def by_op(self) -> str:
        """Time per kind of op (count, total, share, per node): where a network of many small nodes goes."""
        groups: dict[str, list[NodeProfile]] = {}
        for r in self.rows:
            groups.setdefault(r.op, []).append(r)
        total = self.total_seconds or 1.0
        ranked = sorted(groups.items(), key=lambda item: sum(r.seconds for r in item[1]), reverse=True)
        width = max((len(op) for op in groups), default=2)
        lines = []
        for op, rows in ranked:
            seconds = sum(r.seconds for r in rows)
            lines.append(f"{op.ljust(width)}  {len(rows):6d} nodes  {_time(seconds):>10}  "
                         f"{100 * seconds / total:5.1f} %  {_time(seconds / len(rows)):>9}/node")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Profile {len(self.rows)} nodes, {_time(self.total_seconds)}, peak {_size(self.peak_bytes)}>"


def profile(outputs: Outputs, feeds: Feeds | None = None, *, warmup: bool = True) -> Profile:
    """Run ``outputs`` once as ``tg.evaluate`` does, timing every node and tracking live bytes.

    ``warmup`` first runs the graph once untimed, so caches and allocators are warm.
    ``str()`` of the result is a table sorted by cost.
    """
    if warmup:
        evaluate(outputs, feeds)
    plan = plan_for(outputs)
    env, library = bind_feeds(plan, feeds)
    clock = time.perf_counter
    seconds: dict[int, float] = {}
    held = [0] * len(plan.nodes)  # bytes of intermediates each slot accounts for
    live = peak = 0
    after: dict[int, int] = {}
    # What each slot held, recorded when computed: most values are released before the end.
    seen: dict[int, Any] = {k: env[k] for k in plan.input_slots}
    reused: set[int] = set()  # slots whose step actually wrote into a dead operand's buffer
    steps = iter(plan.steps if library is NUMPY else plan.on(library).steps)

    def timed(fn: Any, args: Any) -> Any:
        # The executor's own fast loop runs the plan; this wraps each step with a clock and
        # the bookkeeping of live bytes (the values are still in ``env`` when it is called).
        nonlocal live, peak
        _, _, out, dead, node = next(steps)
        t0 = clock()
        value = fn(*args)
        seconds[out] = clock() - t0
        seen[out] = (_nbytes(value), _shown(value, library))
        j = plan.inplace.get(node)
        donor = plan.slot[node.inputs[j]] if j is not None else -1
        if j is not None and value is env[donor]:
            held[out], held[donor] = held[donor], 0  # the same buffer changes hands
            reused.add(out)
        elif isinstance(value, np.ndarray) and value.base is not None:
            held[out] = 0  # a view of memory already counted
        else:
            held[out] = _nbytes(value)
            live += held[out]
        peak = max(peak, live)
        for d in dead:
            live -= held[d]
            held[d] = 0
        after[out] = live
        return value

    for k, op in plan.loads:
        seen[k] = op.value  # type: ignore[attr-defined]  # what execute loads: a parameter's or constant's
    execute(plan, env, timed, library)
    graph = run_graph(plan)
    rows: list[NodeProfile] = []
    for k, node in enumerate(plan.nodes):
        record = seen[k]
        if not isinstance(record, tuple):  # an input or a leaf: the value itself
            record = (_nbytes(record), _shown(record, library))
        out_bytes, shown = record
        rows.append(NodeProfile(
            node=node, name=graph.name_of(node), op=node.op.kind, value=shown, seconds=seconds.get(k, 0.0),
            out_bytes=out_bytes, live_bytes=after.get(k, 0), in_place=k in reused,
        ))
    return Profile(rows, peak, collect_results(env, plan, type(outputs) is Node, library))
