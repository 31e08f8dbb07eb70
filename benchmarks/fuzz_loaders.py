"""Fuzz tinygraph's two loaders for a while and print what came out: ``python benchmarks/fuzz_loaders.py``.

``tg.loads`` gets mutations of a saved graph: random byte changes and truncations of the
archive, random edits of ``graph.json``'s structure (re-zipped, so they reach the validator), and
compression bombs of random shape. ``tg.onnx.load`` gets byte mutations of a serialized model and
structural edits (attribute types and values, dims, operand names, initializer bytes, element types).
Every outcome is counted by exception type; anything other than ``tg.FormatError`` (tg.loads) or
``tg.onnx.OnnxImportError`` (tg.onnx.load) is an escape, saved under ``--save`` to reproduce.
Prints inputs tried, outcomes, the slowest input and the process's peak memory (ru_maxrss).

    python benchmarks/fuzz_loaders.py --seconds 120       # two minutes per loader
"""

from __future__ import annotations

import argparse
import collections
import copy
import io
import json
import os
import random
import resource
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygraph as tg  # noqa: E402

KEYS = ["id", "op", "name", "inputs", "shape", "dtype", "weak", "scope", "attributes", "array", "value", "axis",
        "keepdims", "format", "version", "nodes", "outputs", "tuple", "float", "complex", "dict", "dtype"]


def seed_graph() -> bytes:
    """A saved graph with every kind of node, attribute and value the format has."""
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.arange(6.0).reshape(2, 3), name="W")
    with tg.scope("layer"):
        y = tg.sigmoid(x @ W + 1.5)
    flat = tg.reshape(tg.transpose(y, (1, 0)), (-1,), name="flat")
    z = tg.cast(tg.softmax(y, axis=1), np.float32) * np.float32(2)
    return tg.dumps([tg.sum(y, axis=1), tg.mean(flat * (2 - 1j), axis=(0,), keepdims=True), z])


def seed_model() -> Any:
    """An ONNX model using most of the ops the importer knows."""
    rng = np.random.default_rng(0)
    x = tg.input("x", shape=(None, 4), dtype=np.float32)
    W = tg.parameter(rng.normal(size=(4, 3)).astype(np.float32), name="W")
    h = tg.softmax(tg.sigmoid(x @ W + 1.0), axis=1)
    y = tg.sum(tg.reshape(tg.transpose(h), (-1, 2)), axis=0, keepdims=True)
    return tg.onnx.to_model([y, tg.cast(tg.mean(h, axis=1), np.float64)])


def json_value(r: random.Random, depth: int = 0) -> Any:
    choice = r.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return r.choice([True, False])
    if choice == 2:
        return r.choice([0, 1, -1, 2, 3, 2**31, 2**62, 2**63, -(2**70), r.randrange(-10, 100)])
    if choice == 3:
        return r.choice([0.5, -0.0, 1e308, 1.5, float(r.randrange(10))])
    if choice == 4:
        return r.choice(["", "x", "Input", "Sum", "float64", "\ud800", "\x1b[2J", "]", "a" * 5000, "MatMul"])
    if choice == 5:
        return r.choice([{"tuple": [0, 1]}, {"float": "nan"}, {"dtype": "int8"}, {"complex": [1, 2]}])
    if choice in (6, 7):
        return [json_value(r, depth + 1) for _ in range(r.randrange(4))]
    return {r.choice(KEYS): json_value(r, depth + 1) for _ in range(r.randrange(3))}


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rezip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            method = zipfile.ZIP_DEFLATED if name == "graph.json" else zipfile.ZIP_STORED
            zf.writestr(name, content, compress_type=method)
    return buffer.getvalue()


def mutate_bytes(r: random.Random, data: bytes) -> bytes:
    raw = bytearray(data)
    for _ in range(r.randrange(1, 9)):
        raw[r.randrange(len(raw))] = r.randrange(256)
    if r.random() < 0.3:
        raw = raw[: r.randrange(len(raw) + 1)]
    return bytes(raw)


def mutate_description(r: random.Random, seed: dict[str, Any], files: dict[str, bytes]) -> bytes:
    description = copy.deepcopy(seed)
    nodes = description["nodes"]
    if r.random() < 0.3:
        target = r.choice(nodes)
        target["op"] = r.choice(sorted(tg.registry.registered_ops()))
        target["attributes"] = {r.choice(KEYS + ["axes", "shape"]): json_value(r) for _ in range(r.randrange(3))}
    for _ in range(r.randrange(1, 5)):
        container: Any = description
        while True:
            children = list(container.values()) if isinstance(container, dict) else container
            inner = [c for c in children if isinstance(c, (dict, list)) and c]
            if not inner or r.random() < 0.4:
                break
            container = r.choice(inner)
        action = r.choice(["replace", "delete", "add"])
        if isinstance(container, dict):
            key = r.choice(sorted(container) or KEYS) if action != "add" else r.choice(KEYS)
            if action == "delete":
                container.pop(key, None)
            else:
                container[key] = json_value(r)
        elif container:
            at = r.randrange(len(container))
            if action == "delete":
                del container[at]
            elif action == "replace":
                container[at] = json_value(r)
            else:
                container.insert(at, json_value(r))
    out = dict(files)
    out["graph.json"] = json.dumps(description).encode("utf-8", "surrogatepass")
    return rezip(out)


def bomb(r: random.Random) -> bytes:
    """graph.json of a random, highly repetitive shape: many nodes, inputs, scopes or long names."""
    n = r.choice([1, 10, 1000, 50_000])
    k = r.choice([0, 1, 100, 10_000, 1_000_000]) // n  # at most a million inputs in all: quick to make
    long_name = "n" * (1_000_000 // n)  # the whole text stays under ~60 MB, quick to make
    node = {"op": r.choice(["Constant", "Add", "Input", "Relu"]), "name": r.choice([None, "x", long_name]),
            "inputs": [0] * k, "shape": r.choice([[], [2**40, 2**20], [0, 2**27]]), "dtype": "float64",
            "weak": True, "scope": ["s"] * r.choice([0, 3, 300, k]), "value": 1.0}
    rest = json.dumps(node)[1:]  # one node's text, made once: ids are all that differ
    nodes = ",".join(f'{{"id":{i},{rest}' for i in range(n))
    text = '{"format":"tinygraph","version":1,"nodes":[' + nodes + '],"outputs":[0]}'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("graph.json", text)
    return buffer.getvalue()


def mutate_model(r: random.Random, seed: Any) -> bytes:
    from onnx import AttributeProto

    m = type(seed)()
    m.CopyFrom(seed)
    graph = m.graph
    for _ in range(r.randrange(1, 4)):
        what = r.choice(["attribute", "dim", "operand", "initializer", "elem_type", "external"])
        if what == "attribute" and graph.node:
            node = r.choice(list(graph.node))
            a = AttributeProto(name=r.choice(["axis", "to", "perm", "keepdims", "transA", "transB", "alpha",
                                              "allowzero", "noop_with_empty_axes", "value", "value_int"]))
            kind = r.choice(["i", "f", "s", "ints"])
            if kind == "i":
                a.type, a.i = AttributeProto.INT, r.choice([0, 1, -1, 2, 7, 2**62, -(2**63)])
            elif kind == "f":
                a.type, a.f = AttributeProto.FLOAT, r.choice([1.5, float("inf"), float("nan"), 0.0])
            elif kind == "s":
                a.type, a.s = AttributeProto.STRING, r.choice([b"1", b"", b"\xff"])
            else:
                a.type = AttributeProto.INTS
                a.ints.extend(r.choice([-1, 0, 1, 2, 2**40]) for _ in range(r.randrange(4)))
            if r.random() < 0.5:
                del node.attribute[:]
            node.attribute.append(a)
        elif what == "dim":
            dims = [d for v in graph.input for d in v.type.tensor_type.shape.dim]
            if dims:
                r.choice(dims).dim_value = r.choice([-3, 0, 1, 5, 2**40])
        elif what == "operand" and graph.node:
            node = r.choice(list(graph.node))
            names = [v.name for v in graph.input] + [t.name for t in graph.initializer] + \
                [o for n in graph.node for o in n.output] + [""]
            if node.input:
                node.input[r.randrange(len(node.input))] = r.choice(names)
        elif what == "initializer" and graph.initializer:
            t = r.choice(list(graph.initializer))
            if r.random() < 0.5:
                t.raw_data = r.randbytes(r.randrange(64))
            else:
                del t.dims[:]
                t.dims.extend(r.choice([0, 1, 3, 2**20]) for _ in range(r.randrange(4)))
        elif what == "elem_type" and graph.input:
            graph.input[0].type.tensor_type.elem_type = r.randrange(30)
        elif what == "external" and graph.initializer:
            t = r.choice(list(graph.initializer))
            t.data_location = 1
            entry = t.external_data.add()
            entry.key, entry.value = "location", r.choice([".env", "../x", "/etc/hostname", "w.bin"])
    data: bytes = m.SerializeToString()
    return mutate_bytes(r, data) if r.random() < 0.3 else data


def fuzz(name: str, make: Callable[[random.Random], bytes], load: Callable[[bytes], Any], allowed: type,
         seconds: float, r: random.Random, save: str | None) -> None:
    outcomes: collections.Counter[str] = collections.Counter()
    escapes = 0
    slowest = (0.0, "")
    largest = (0, 0)  # (peak bytes allocated while loading, input size) of the sampled inputs
    densest = (0, 0, 0)  # the same, with the ratio, for the sampled inputs of 64 KB or more
    rise = (0, "")  # the largest rise of the process's peak RSS during one load
    tried = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        data = make(r)
        tried += 1
        # tracemalloc slows loading several times: measure one input in ten
        measured = tried % 10 == 0
        if measured:
            tracemalloc.start()
        rss_before = _peak_rss()
        started = time.perf_counter()
        try:
            load(data)
            outcome = "loaded"
        except allowed as e:
            outcome = type(e).__name__
        except Exception as e:  # what the fuzzer is looking for
            outcome = f"ESCAPED {type(e).__module__}.{type(e).__name__}"
            escapes += 1
            if save:
                os.makedirs(save, exist_ok=True)
                with open(os.path.join(save, f"{name}-{escapes}.bin"), "wb") as f:
                    f.write(data)
        took = time.perf_counter() - started
        if _peak_rss() - rss_before > rise[0]:
            rise = (_peak_rss() - rss_before, f"{len(data)} bytes -> {outcome}")
        if measured:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            if peak > largest[0]:
                largest = (peak, len(data))
            if len(data) >= 2**16 and peak / len(data) > densest[2]:  # small inputs: the fixed floors dominate
                densest = (peak, len(data), peak // len(data))
        if took > slowest[0] and not measured:
            slowest = (took, f"{len(data)} bytes -> {outcome}")
        outcomes[outcome] += 1
    print(f"{name}: {tried} inputs in {seconds:.0f} s, {escapes} escaped")
    for outcome, count in outcomes.most_common():
        print(f"  {count:8d}  {outcome}")
    print(f"  slowest input: {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    print(f"  most memory allocated by one load (tracemalloc, one input in ten): {largest[0] / 2**20:.1f} MiB "
          f"for {largest[1]} bytes")
    if densest[0]:
        print(f"  most per input byte, inputs of 64 KB or more: {densest[0] / 2**20:.1f} MiB for {densest[1]} bytes "
              f"({densest[2]}x)")
    print(f"  largest rise of the process's peak RSS during one load: {rise[0] / 2**20:.0f} MiB ({rise[1]})")
    print(f"  peak RSS of the process so far (includes making the inputs): {_peak_rss() / 2**20:.0f} MiB")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    """Run both fuzzers and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="time per loader (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", metavar="DIR", help="write each input that escaped to DIR")
    args = parser.parse_args()
    r = random.Random(args.seed)
    saved = seed_graph()
    files = entries(saved)
    description = json.loads(files["graph.json"])

    def make_tg(r: random.Random) -> bytes:
        kind = r.random()
        if kind < 0.4:
            return mutate_bytes(r, saved)
        if kind < 0.98:
            return mutate_description(r, description, files)
        return bomb(r)

    fuzz("tg.loads", make_tg, tg.loads, tg.FormatError, args.seconds, r, args.save)
    model = seed_model()
    serialized = model.SerializeToString()

    def make_onnx(r: random.Random) -> bytes:
        return mutate_bytes(r, serialized) if r.random() < 0.3 else mutate_model(r, model)

    fuzz("tg.onnx.load", make_onnx, tg.onnx.load, tg.onnx.OnnxImportError, args.seconds, r, args.save)


if __name__ == "__main__":
    main()
