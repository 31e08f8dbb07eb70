"""Saving and loading graphs: ``tg.save(outputs, path)`` and ``tg.load(path) -> Graph``.

A file is a zip archive (see docs/format.md): ``graph.json`` describes the nodes,
``arrays/<key>.npy`` hold parameter and constant values, written with
``allow_pickle=False``. Loading runs no code from the file: ops are found by name
in the registry (``tinygraph.registry``), arrays are read only after their
header has been checked against the JSON and the archive's real sizes, and the
whole description is validated before a single node is built. Anything wrong
raises ``tg.FormatError`` (a ``GraphError``) saying what.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import re
import struct
import threading
import tokenize
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, Union

import numpy as np

from . import registry
from ._codec import CodecError, decode_scalar, decode_value, dtype_name, encode_scalar, encode_value
from ._gc import gc_paused
from .errors import FormatError, GraphError
from .graph import Graph, Outputs
from .node import Node
from .op import Constant, Input, Op, Parameter
from .records import NodeRecord, parse_description
from .shapes import Spec, format_spec, spec_of_value
from .site import Site
from .text import printable

PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]

FORMAT = "tinygraph"
VERSION = 1
GRAPH_ENTRY = "graph.json"
#: Largest ``graph.json`` a loader accepts (its uncompressed size, checked before reading).
MAX_JSON_BYTES = 256 * 2**20
#: Largest ratio of ``graph.json``'s inflated to compressed size (real graphs: 3 to 30; 75 with a
#: dozen nested scopes of long names on every node).
MAX_JSON_RATIO = 128
#: Most memory parsing ``graph.json`` may take, estimated from its text before parsing, per
#: compressed byte (real graphs: 330 or less). It bounds the parser, whose objects cost far more
#: than their text: ``{}`` is 2 bytes of JSON and 64 of Python.
MAX_PARSE_BYTES_PER_BYTE = 600
#: So much estimated parsing memory is accepted whatever the file's size.
PARSE_BYTES_FLOOR = 64 * 2**20
# What json.loads allocates, at most, for each of these bytes of text: a dict (with its pointer
# from the container), a list, half a string, a value after a comma (an int, or a pointer), a key.
_PARSE_COSTS = ((b"{", 192), (b"[", 64), (b'"', 30), (b",", 36), (b":", 8))
#: A ``graph.json`` this small is read whatever its compression ratio.
JSON_SIZE_FLOOR = 2**20
#: Fewest compressed bytes of ``graph.json`` per node (real graphs: 5.5 or more). With the floor
#: below, this bounds the nodes, and so the memory, a file of a given size can make a loader build.
MIN_BYTES_PER_NODE = 4
#: So many nodes are accepted whatever the file's size.
NODES_FLOOR = 16384
#: Largest single array a loader accepts.
MAX_ARRAY_BYTES = 2**34
_ARRAY_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same graph always gives the same bytes
# What a damaged archive makes zipfile, zlib and numpy's header parser raise (numpy tokenizes
# the header's Python literal, zipfile unpacks structs).
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, TypeError, SyntaxError,
                   NotImplementedError, RuntimeError, RecursionError, OverflowError, tokenize.TokenError,
                   struct.error, lzma.LZMAError)


def _array_entry(key: str) -> str:
    return f"arrays/{key}.npy"


# --- saving -------------------------------------------------------------------------------------------


def save(outputs: Outputs, path: PathOrFile) -> None:
    """Write the graph of ``outputs`` (nodes or a ``Graph``) to ``path``, a file name or binary file."""
    graph = outputs if isinstance(outputs, Graph) else Graph(outputs)
    index = {node: k for k, node in enumerate(graph.nodes)}
    checked: dict[tuple[type[Op], str], None] = {}
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    with gc_paused():
        records = [_describe(graph, node, k, index, arrays, checked) for k, node in enumerate(graph.nodes)]
    description = {
        "format": FORMAT,
        "version": VERSION,
        "producer": _producer(),
        "nodes": records,
        "outputs": [index[n] for n in graph.outputs],
    }
    text = json.dumps(description, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    if isinstance(path, (str, os.PathLike)):
        # Write beside the target and rename, so a failed save never leaves half a file behind.
        target = os.fspath(path)
        tmp = f"{target}.{os.getpid()}-{threading.get_ident()}.tmp"
        try:
            try:
                f = open(tmp, "wb")
            except OSError as e:
                raise OSError(e.errno, e.strerror, target) from None
            with f:
                _write_archive(f, text, arrays)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    else:
        _write_archive(path, text, arrays)


def _producer() -> str:
    from ._version import __version__

    return f"tinygraph {__version__}"


def _describe(graph: Graph, node: Node, k: int, index: dict[Node, int], arrays: dict[str, np.ndarray[Any, Any]],
              checked: dict[tuple[type[Op], str], None]) -> dict[str, Any]:
    op = node.op
    try:
        record: dict[str, Any] = {
            "id": k,
            "op": registry.op_name(type(op)),
            "name": node.user_name,
            "inputs": [index[i] for i in node.inputs],
            "shape": list(node.shape),
            "dtype": dtype_name(node.dtype),
            "weak": node.spec.weak,
            "scope": list(node.scope),
        }
        if node.user_name is not None and node.numbered:
            record["numbered"] = True  # renamed after it was built: it keeps its place in the numbering
        if type(op) is Parameter or (type(op) is Constant and isinstance(op.value, np.ndarray)):
            record["array"] = str(k)
            arrays[str(k)] = op.value
        elif type(op) is Constant:
            record["value"] = encode_scalar(op.value)
        elif type(op) is not Input:
            record["attributes"] = _encode_attributes(op, checked)
    except (CodecError, GraphError) as e:
        where = f"node {printable(graph.name_of(node))} ({op.kind}, created at {node.site.describe()})"
        raise GraphError(f"cannot save {where}: {e}") from None
    return record


def _encode_attributes(op: Op, checked: dict[tuple[type[Op], str], None]) -> dict[str, Any]:
    attrs = op.attributes()
    encoded = {}
    for name, value in attrs.items():
        try:
            encoded[name] = encode_value(value)
        except CodecError as e:
            raise CodecError(f"attribute {name!r}: {e}") from None
    # Loading rebuilds the op as cls(**attributes()); check that this gives the same op now, when the
    # author can still fix it, rather than when someone loads the file.
    key = (type(op), repr(encoded))
    if key not in checked:
        try:
            rebuilt = type(op)(**{k: decode_value(v) for k, v in encoded.items()}).attributes()
            same = {k: encode_value(v) for k, v in rebuilt.items()} == encoded
        except Exception as e:  # a custom op's __init__ may raise anything
            raise CodecError(
                f"{type(op).__name__}(**{attrs!r}) fails ({type(e).__name__}: {e}); an op must be "
                f"rebuildable from attributes(): make __init__ accept them or override attributes()"
            ) from None
        if not same:
            raise CodecError(
                f"{type(op).__name__}(**{attrs!r}) has attributes {rebuilt!r}, not {attrs!r}; an op must be "
                f"rebuildable from attributes(): make __init__ accept them or override attributes()"
            )
        checked[key] = None
    return encoded


def _write_archive(f: IO[bytes], text: str, arrays: dict[str, np.ndarray[Any, Any]]) -> None:
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo(GRAPH_ENTRY, date_time=_FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, text.encode("utf-8"))
        for key, arr in arrays.items():
            # Arrays are stored, not deflated: their size in the archive is their real size, which
            # the loader checks before it allocates anything.
            info = zipfile.ZipInfo(_array_entry(key), date_time=_FIXED_TIME)
            with zf.open(info, "w", force_zip64=arr.nbytes > 2**30) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)


# --- loading ------------------------------------------------------------------------------------------


def load(path: PathOrFile, *, max_bytes: int | None = None) -> Graph:
    """Read a graph written by ``tg.save``; a damaged or hostile file raises ``tg.FormatError``.

    ``max_bytes`` refuses a graph any of whose values is statically known to exceed that many
    bytes (``None`` dims counted as 1), before anything is built: a tiny file can describe a
    value of any size, which running the graph would allocate.
    """
    source = os.fspath(path) if isinstance(path, (str, os.PathLike)) else "<stream>"
    with gc_paused(), _open_archive(path, source) as zf:
        records, outputs = _parse(zf, source)
        if max_bytes is not None:
            check_value_sizes(((f"node {r.id} ({r.op})", r.shape, r.dtype) for r in records), max_bytes, source)
        arrays = _read_arrays(zf, records, source)
        return _build(records, outputs, arrays, source)


@contextmanager
def _open_archive(path: PathOrFile, source: str) -> Iterator[zipfile.ZipFile]:
    if isinstance(path, (str, os.PathLike)) and not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {source}")
    try:
        zf = zipfile.ZipFile(path)
    except _ARCHIVE_ERRORS as e:
        raise FormatError(
            f"{source} is not a tinygraph file (not a readable zip archive: {e}){_hint(source)}"
        ) from None
    try:
        names = [i.filename for i in zf.infolist()]
        if len(set(names)) != len(names):
            raise FormatError(f"{source}: the archive lists some entries twice")
        yield zf
    finally:
        zf.close()


def _hint(source: str) -> str:
    """Where to turn for a file that another library wrote, judged by its name."""
    return "; an ONNX model loads with tg.onnx.load(path)" if source.lower().endswith(".onnx") else ""


def _parse(zf: zipfile.ZipFile, source: str) -> tuple[list[NodeRecord], list[int]]:
    # A function of its own so that the parsed JSON is freed once checked: only the records stay.
    description, max_nodes = _read_description(zf, source)
    return parse_description(description, source, max_nodes, _arity)


def _arity(op: str) -> int | None:
    try:
        arity: int | None = registry.lookup_op(op).arity
        return arity
    except GraphError:
        return None  # an unknown op is reported when the node is built, saying how to register it


def _read_description(zf: zipfile.ZipFile, source: str) -> tuple[Any, int]:
    """``graph.json`` parsed, and the most nodes it may declare: both bounded by its compressed size."""
    try:
        info = zf.getinfo(GRAPH_ENTRY)
    except KeyError:
        raise FormatError(f"{source} is not a tinygraph file: it has no {GRAPH_ENTRY}") from None
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise FormatError(f"{source}: {GRAPH_ENTRY} uses zip compression method {info.compress_type}; "
                          f"it must be deflated or stored")
    # A deflate stream inflates up to 1032 times; a real graph's JSON about 20 times. Bounding the
    # ratio bounds the work and memory of parsing by the size of the file, not by what it declares.
    if info.file_size > MAX_JSON_BYTES:
        raise FormatError(f"{source}: {GRAPH_ENTRY} is {info.file_size} bytes, over the {MAX_JSON_BYTES}-byte limit")
    limit = min(MAX_JSON_BYTES, max(JSON_SIZE_FLOOR, MAX_JSON_RATIO * info.compress_size))
    if info.file_size > limit:
        raise FormatError(
            f"{source}: {GRAPH_ENTRY} inflates from {info.compress_size} to {info.file_size} bytes, more than "
            f"{MAX_JSON_RATIO} times its compressed size (a graph's JSON compresses about 20 times): "
            f"a compression bomb, or not a file tinygraph wrote"
        )
    max_nodes = max(NODES_FLOOR, info.compress_size // MIN_BYTES_PER_NODE)
    try:
        with zf.open(info) as f:
            raw = f.read(limit + 1)
        if len(raw) > limit:  # the header understated the size
            raise FormatError(f"{source}: {GRAPH_ENTRY} holds more than its declared {info.file_size} bytes")
        cost = parse_cost(raw)
        max_cost = max(PARSE_BYTES_FLOOR, MAX_PARSE_BYTES_PER_BYTE * info.compress_size)
        if cost > max_cost:
            raise FormatError(
                f"{source}: parsing {GRAPH_ENTRY} would take up to {cost} bytes of memory for {info.compress_size} "
                f"compressed bytes, over the limit of {max_cost} ({MAX_PARSE_BYTES_PER_BYTE} per byte; "
                f"real graphs: 330 or less): a compression bomb, or not a file tinygraph wrote"
            )
        text = raw.decode("utf-8")
        del raw
        return json.loads(text, object_pairs_hook=_ObjectHook(source, max_nodes, info.compress_size),
                          parse_constant=_no_constants), max_nodes
    except FormatError:
        raise
    except _ARCHIVE_ERRORS as e:
        raise FormatError(f"{source}: {GRAPH_ENTRY} is damaged: {type(e).__name__}: {e}") from None


def parse_cost(text: bytes) -> int:
    """An upper bound of what ``json.loads(text)`` allocates, from a count of its structural bytes."""
    return sum(text.count(c) * cost for c, cost in _PARSE_COSTS)


class _ObjectHook:
    """``json.loads``'s ``object_pairs_hook``: refuses repeated keys, and stops at the node budget."""

    def __init__(self, source: str, max_nodes: int, compressed: int) -> None:
        self.source = source
        self.left = max_nodes
        self.max_nodes = max_nodes
        self.compressed = compressed
        self.scopes: dict[tuple[str, ...], list[str]] = {}

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            keys = [printable(k) for k, _ in pairs]
            raise FormatError(f"{self.source}: {GRAPH_ENTRY} has an object with a repeated key: {sorted(keys)[:10]}")
        if "op" in out and "id" in out:
            scope = out.get("scope")
            if type(scope) is list and all(type(x) is str for x in scope):
                # json makes new strings for every occurrence: share one list per distinct scope,
                # so that scope names repeated on every node cost their memory once.
                out["scope"] = self.scopes.setdefault(tuple(scope), scope)
            # Counted while parsing, so that a file of millions of tiny nodes is refused before
            # they are all in memory.
            self.left -= 1
            if self.left < 0:
                raise FormatError(
                    f"{self.source}: {GRAPH_ENTRY} declares more than {self.max_nodes} nodes in {self.compressed} "
                    f"compressed bytes; a file may hold {NODES_FLOOR} nodes, more at {MIN_BYTES_PER_NODE} bytes each"
                )
        return out


def _no_constants(word: str) -> Any:
    raise FormatError(f"{GRAPH_ENTRY} uses {word}, which is not JSON")


def _read_arrays(zf: zipfile.ZipFile, records: list[NodeRecord], source: str) -> dict[str, np.ndarray[Any, Any]]:
    expected = {GRAPH_ENTRY}
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for rec in records:
        if rec.array is None:
            continue
        if not _ARRAY_KEY.match(rec.array):
            raise FormatError(f"{source}: node {rec.id} names array {rec.array!r}: keys are 1-64 of [A-Za-z0-9_.-]")
        entry = _array_entry(rec.array)
        if entry in expected:
            raise FormatError(f"{source}: node {rec.id} shares array {rec.array!r} with another node")
        expected.add(entry)
        arrays[rec.array] = _read_array(zf, entry, rec, source)
    extra = sorted(set(zf.namelist()) - expected)
    if extra:
        raise FormatError(f"{source}: unexpected entries in the archive: {', '.join(map(repr, extra[:5]))}")
    return arrays


def _read_array(zf: zipfile.ZipFile, entry: str, rec: NodeRecord, source: str) -> np.ndarray[Any, Any]:
    where = f"{source}: array {entry!r} of node {rec.id}"
    try:
        info = zf.getinfo(entry)
    except KeyError:
        raise FormatError(f"{where} is missing from the archive") from None
    if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
        raise FormatError(f"{where} is compressed; arrays must be stored uncompressed")
    try:
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise FormatError(f"{where} uses .npy format version {version}; expected 1.0 or 2.0")
            try:
                name = dtype_name(dtype)
            except CodecError as e:
                raise FormatError(f"{where}: {e}") from None
            if name != rec.dtype.name or tuple(shape) != rec.shape:
                raise FormatError(
                    f"{where} holds {name}{list(shape)} but the node declares {rec.dtype.name}{list(rec.shape)}"
                )
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if nbytes > MAX_ARRAY_BYTES or f.tell() + nbytes != info.file_size:
                raise FormatError(
                    f"{where}: its header declares {nbytes} bytes of data but the entry holds "
                    f"{info.file_size - f.tell()} (limit {MAX_ARRAY_BYTES})"
                )
            data = f.read(nbytes)
            f.read(1)  # reach the end of the entry so zipfile checks its CRC
    except FormatError:
        raise
    except _ARCHIVE_ERRORS as e:
        raise FormatError(f"{where} is damaged: {type(e).__name__}: {e}") from None
    if len(data) != nbytes:
        raise FormatError(f"{where} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _build(records: list[NodeRecord], outputs: list[int], arrays: dict[str, np.ndarray[Any, Any]],
           source: str) -> Graph:
    built: dict[int, Node] = {}
    site = Site(source, 0, "tg.load")
    for rec in records:  # parse_description returns them in a topological order
        inputs = tuple(built[i] for i in rec.inputs)
        op, spec = _make_op(rec, inputs, arrays, source)
        declared = Spec(rec.shape, rec.dtype, rec.weak)
        if spec.shape != declared.shape or spec.weak != declared.weak or not _same_dtype(spec.dtype, rec.dtype):
            raise FormatError(
                f"{source}: node {rec.id} ({rec.op}) declares {format_spec(declared)}"
                f"{' (weak)' if declared.weak else ''} but its op and inputs give {format_spec(spec)}"
                f"{' (weak)' if spec.weak else ''}"
            )
        node = Node(op, inputs, spec, rec.name, site)
        node.scope = rec.scope
        node.numbered = rec.numbered
        built[rec.id] = node
    try:
        return Graph([built[i] for i in outputs])
    except GraphError as e:
        raise FormatError(f"{source}: {e}") from None


def _same_dtype(actual: np.dtype[Any], declared: np.dtype[Any]) -> bool:
    # A parameter saved from a byte-swapped array comes back byte-swapped, bit for bit.
    return actual == declared or actual.newbyteorder("=") == declared


def _make_op(rec: NodeRecord, inputs: tuple[Node, ...], arrays: dict[str, np.ndarray[Any, Any]],
             source: str) -> tuple[Op, Spec]:
    where = f"{source}: node {rec.id} ({rec.op})"
    try:
        cls = registry.lookup_op(rec.op)
    except GraphError as e:
        raise FormatError(f"{where}: {e}") from None
    if cls.arity is not None and len(inputs) != cls.arity:
        raise FormatError(f"{where} has {len(inputs)} input(s); the op takes {cls.arity}")
    if cls in (Input, Parameter, Constant) and rec.attributes:
        raise FormatError(f"{where}: {cls.__name__} nodes have no attributes, got {sorted(rec.attributes)[:5]}")
    try:
        if cls is Input:
            if rec.name is None:
                raise FormatError(f"{where}: an input needs a name")
            op: Op = Input(rec.shape, rec.dtype)
            return op, Spec(rec.shape, rec.dtype)
        if cls is Parameter:
            if rec.array is None or rec.has_value:
                raise FormatError(f"{where}: a parameter needs an array and no scalar value")
            op = Parameter(arrays[rec.array])
            return op, Spec(op.value.shape, op.value.dtype)
        if cls is Constant:
            if (rec.array is None) == (not rec.has_value):
                raise FormatError(f"{where}: a constant needs either an array or a scalar value, not both")
            value = arrays[rec.array] if rec.array is not None else decode_scalar(rec.value)
            op = Constant(value)
            return op, spec_of_value(op.value)
        if rec.array is not None or rec.has_value:
            raise FormatError(f"{where}: only parameters and constants hold a value")
        attributes = {k: decode_value(v) for k, v in rec.attributes.items()}
    except FormatError:
        raise
    except Exception as e:
        raise FormatError(f"{where}: invalid node: {type(e).__name__}: {e}") from None
    try:
        op = cls(**attributes)
    except Exception as e:  # the class's own __init__ decides what is valid
        raise FormatError(f"{where}: {rec.op}(**{attributes!r:.200}) fails: {type(e).__name__}: {e}") from None
    try:
        spec = op.infer(*(n.spec for n in inputs))
    except Exception as e:
        shapes = ", ".join(format_spec(n.spec) for n in inputs)
        raise FormatError(f"{where}: its op rejects its inputs ({shapes}): {type(e).__name__}: {e}") from None
    if not isinstance(spec, Spec):
        raise FormatError(f"{where}: {rec.op}.infer returned {type(spec).__name__}, not a Spec")
    return op, spec


def dumps(outputs: Outputs) -> bytes:
    """The bytes ``save`` would write: handy for tests and for sending a graph over a wire."""
    buffer = io.BytesIO()
    save(outputs, buffer)
    return buffer.getvalue()


def loads(data: bytes, *, max_bytes: int | None = None) -> Graph:
    """The graph in ``data``, bytes written by ``dumps`` or ``save`` (``max_bytes``: see ``load``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"loads needs bytes, got {type(data).__name__}")
    return load(io.BytesIO(bytes(data)), max_bytes=max_bytes)


def static_nbytes(shape: tuple[int | None, ...], dtype: np.dtype[Any]) -> int:
    """The fewest bytes a value of ``shape`` and ``dtype`` takes: its known sizes, ``None`` counted as 1."""
    n = dtype.itemsize
    for d in shape:
        n *= 1 if d is None else d
    return n


def check_value_sizes(values: Iterable[tuple[str, tuple[int | None, ...], np.dtype[Any]]], max_bytes: int,
                      source: str) -> None:
    """Raise ``FormatError`` naming the first ``(what, shape, dtype)`` whose static size exceeds ``max_bytes``."""
    for what, shape, dtype in values:
        n = static_nbytes(shape, dtype)
        if n > max_bytes:
            raise FormatError(
                f"{source}: {printable(what)} holds {format_spec(Spec(shape, dtype))}, {n:,} bytes or more, over "
                f"the limit of {max_bytes:,} bytes per value; if you trust the file, raise the limit "
                f"(max_bytes=, or tinygraph run --max-bytes)"
            )
