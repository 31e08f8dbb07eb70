"""``tg.compile(outputs, backend="onnxruntime")``: the graph exported to ONNX and run by ONNX Runtime.

The ops' lowerings here are their ONNX declarations (``onnx_type``, ``to_onnx``): the graph
becomes ``tg.onnx.to_model(graph)``, run in an ``onnxruntime.InferenceSession``. An op
with no ONNX mapping, or one ONNX Runtime has no kernel for at that dtype (say, an op
defined only for float32 in a float64 graph), is refused when compiling, by name.

Session defaults (override with ``session_options=`` or ``threads=``): intra-op threads =
the CPUs this process may run on (``os.sched_getaffinity``) when a parameter has 65,536
elements or more, else 1 (waking a second thread costs more than small layers take),
inter-op threads 1, sequential
execution, all graph optimizations, and no spinning of idle worker threads (spinning
threads would take a shared machine's cores from whatever runs next). Parameters are the
model's initializers: assigning ``W.value`` rebuilds the session at the next call.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..fast.compile import input_order
from ..graph import Outputs
from ..node import Node
from ..onnx.exporter import exporter_for, to_model
from ..op import Parameter
from ..plan import plan_for
from ._base import BackendGraph, is_leaf, make_callable, refuse, require

__all__ = ["compile", "default_threads", "default_session_options"]

#: A graph whose parameters are all smaller than this runs on one thread by default.
SMALL_PARAMETER = 1 << 16


def default_threads() -> int:
    """The intra-op thread count used unless told: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_session_options(threads: int | None = None) -> Any:
    """The ``onnxruntime.SessionOptions`` tinygraph uses by default (see the module's docstring)."""
    ort = require("onnxruntime", "onnxruntime", "onnx")
    so = ort.SessionOptions()
    so.intra_op_num_threads = default_threads() if threads is None else int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    return so


def compile(outputs: Outputs, inputs: Sequence[Node | str] | None = None, *,  # noqa: A001
            session_options: Any = None, threads: int | None = None,
            providers: Sequence[Any] | None = None) -> BackendGraph:
    """The graph run by an ONNX Runtime session built from ``session_options`` (default: ours)."""
    ort = require("onnxruntime", "onnxruntime", "onnx")
    onnx = require("onnx", "onnxruntime", "onnx")
    plan = plan_for(outputs)
    graph = plan.graph
    order = input_order(graph, inputs)
    missing: dict[str, list[Node]] = {}
    for n in plan.nodes:
        if not is_leaf(n) and exporter_for(n.op) is None:
            missing.setdefault(type(n.op).__name__, []).append(n)
    if missing:
        refuse(graph, "onnxruntime", missing, " (no ONNX mapping: onnx_type/to_onnx)")
    params = [n.op for n in plan.nodes if isinstance(n.op, Parameter) and type(n.op) is Parameter]
    if threads is None and session_options is None:
        # Small graphs finish before a second thread wakes up: one thread unless a parameter is big.
        big = any(p.value.size >= SMALL_PARAMETER for p in params)
        threads = default_threads() if big else 1
    options = session_options if session_options is not None else default_session_options(threads)
    provider_list = list(providers) if providers is not None else ["CPUExecutionProvider"]
    state: dict[str, Any] = {}

    def build() -> None:
        t0 = time.perf_counter()
        model = to_model(graph)
        try:
            session = ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=provider_list)
        except Exception as e:  # onnxruntime's own exception types: NotImplemented, Fail, ...
            _refuse_kernel(graph, e)
            raise
        state["session"] = session
        state["held"] = [p.value for p in params]
        shown = onnx.GraphProto()
        shown.CopyFrom(model.graph)
        del shown.initializer[:]  # the weights' values would drown the program text
        state["source"] = onnx.printer.to_text(shown)
        state["seconds"] = time.perf_counter() - t0

    build()
    session = state["session"]
    in_names = [i.name for i in session.get_inputs()]
    by_name = {graph.name_of(n): k for k, n in enumerate(graph.inputs)}
    feed_at = [by_name[name] for name in in_names]
    out_names = [o.name for o in session.get_outputs()]

    def run(values: list[Any]) -> list[Any]:
        if any(p.value is not held for p, held in zip(params, state["held"])):
            build()  # a parameter was assigned: its new value goes into a new session
        results = state["session"].run(out_names, {name: values[k] for name, k in zip(in_names, feed_at)})
        return [np.asarray(r) for r in results]

    values = ", ".join(f"_v{k}" for k in range(len(graph.inputs)))
    f = make_callable(graph, plan, order, type(outputs) is Node, "onnxruntime", state["source"],
                      f"_run([{values}])", {"_run": run}, "<onnxruntime>")
    f.compile_seconds = state["seconds"]
    return f


def _refuse_kernel(graph: Any, error: Exception) -> None:
    # "Could not find an implementation for Softplus(1) node with name 'softplus_2'": name the op.
    text = str(error)
    m = re.search(r"implementation for (\w+)\(\d+\) node with name '([^']*)'", text)
    if not m:
        return
    node_name = m.group(2)
    try:
        node = graph.node_named(node_name)
    except Exception:
        return
    refuse(graph, "onnxruntime", {type(node.op).__name__: [node]},
           f" (ONNX Runtime has no {m.group(1)} kernel for {node.dtype})")
