"""Feeds: the one check that a value given for an input fits its declaration.

Every way of running a graph (``tg.evaluate``, ``Executor.run``, ``tg.compile``,
``tg.profile``) checks feeds here. The common case, an ndarray of exactly the declared
dtype and a fitting shape, is accepted with a few attribute reads (``fast_check``);
anything else goes through ``check_feed``, which converts it or raises the ``FeedError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .arrays import NUMPY, ArrayLibrary, library_of
from .errors import FeedError, GraphError, article
from .graph import Graph
from .node import Node
from .op import Input
from .shapes import fits, format_spec, spec_of_value
from .text import printable

Feeds = Mapping[Any, Any]
FeedCheck = Callable[[Any], Any]


def read_only(value: Any) -> Any:
    """A read-only view of a writeable ndarray; anything else as it is."""
    if type(value) is np.ndarray and value.flags.writeable:
        value = value.view()
        value.flags.writeable = False
    return value


def fast_check(node: Node, name: str) -> FeedCheck:
    """A check for ``node``'s feeds that accepts the common case with a few attribute reads."""
    spec = node.spec
    dtype = spec.dtype
    ndim = len(spec.shape)
    fixed = tuple((i, d) for i, d in enumerate(spec.shape) if d is not None)
    ndarray = np.ndarray

    def slow(value: Any) -> Any:
        return check_feed(node, name, value)

    if not fixed:
        def check(value: Any) -> Any:
            if type(value) is ndarray and value.dtype is dtype and value.ndim == ndim:
                return value
            return slow(value)
    elif len(fixed) == 1:
        (axis, size), = fixed

        def check(value: Any) -> Any:
            if type(value) is ndarray and value.dtype is dtype and value.ndim == ndim and value.shape[axis] == size:
                return value
            return slow(value)
    else:
        def check(value: Any) -> Any:
            if type(value) is ndarray and value.dtype is dtype and value.ndim == ndim:
                shape = value.shape
                for axis, size in fixed:
                    if shape[axis] != size:
                        return slow(value)
                return value
            return slow(value)
    return check


def resolve_feeds(graph: Graph, feeds: Feeds | None) -> dict[Node, Any]:
    """Check ``feeds`` against the graph's inputs: ``{input node: array}`` for every input."""
    if feeds is None:
        feeds = {}
    if not isinstance(feeds, Mapping):
        raise FeedError(f"feeds must be a mapping of input nodes or names to arrays, got {type(feeds).__name__}")
    resolved: dict[Node, Any] = {}
    originals: dict[Node, Any] = {}
    for key, value in feeds.items():
        if isinstance(key, str):
            try:
                node = graph.input_named(key)
            except GraphError as e:
                raise FeedError(f"unknown input name in feeds: {e}") from None
        elif isinstance(key, Node):
            if not isinstance(key.op, Input):
                raise FeedError(
                    f"{printable(key.name)} is {article(key.op.kind)} node, not an input: only tg.input nodes can "
                    f"be fed (created at {key.site.describe()})"
                )
            if key not in graph:
                continue  # an input these outputs don't need: harmless, e.g. one feed dict for many outputs
            node = key
        else:
            raise FeedError(f"feed keys must be input nodes or names, got {type(key).__name__}: {key!r}")
        if node in resolved:
            raise FeedError(f"input {graph.name_of(node)!r} is fed twice (by node and by name)")
        resolved[node] = check_feed(node, graph.name_of(node), value)
        originals[node] = value
    missing = [graph.name_of(n) for n in graph.inputs if n not in resolved]
    if missing:
        wanted = ", ".join(
            f"{printable(graph.name_of(n))}: {format_spec(n.spec)} (declared at {n.site.describe()})"
            for n in graph.inputs if n not in resolved
        )
        raise FeedError(f"missing feed for input(s) {', '.join(map(repr, missing))}; expected {wanted}")
    return _one_library(graph, resolved, originals)


def _one_library(graph: Graph, resolved: dict[Node, Any], originals: dict[Node, Any]) -> dict[Node, Any]:
    # One run computes with one array library on one device. Lists and scalars take the arrays'
    # library; two libraries (or devices) would make every op guess where to compute.
    first: tuple[Node, ArrayLibrary] | None = None
    for node, value in originals.items():
        lib = library_of(value) if not isinstance(value, np.ndarray) else NUMPY
        if lib is None:
            continue
        if first is None:
            first = (node, lib)
        elif lib is not first[1]:
            other, was = first
            raise FeedError(
                f"inputs {printable(graph.name_of(other))!r} and {printable(graph.name_of(node))!r} are fed arrays "
                f"of two libraries ({was.name} on {was.device}, {lib.name} on {lib.device}): one run computes "
                f"with one array library on one device; convert one of them (docs/scale.md)"
            )
    if first is None or first[1] is NUMPY:
        return resolved
    library = first[1]
    for node, value in resolved.items():
        if isinstance(value, np.ndarray):  # a list or scalar, converted by check_feed
            resolved[node] = library.asarray(value)
    return resolved


#: Feeds that take a run's array library rather than set it: lists and scalars.
NEUTRAL_FEEDS = (list, tuple, int, float, complex, bool, np.generic)


def check_feed(node: Node, name: str, value: Any) -> Any:
    """``value`` as an array fitting ``node``'s declaration, or a ``FeedError`` saying why not."""
    spec = node.spec
    expected = format_spec(spec)
    declared = f"(input declared at {node.site.describe()})"
    if isinstance(value, np.ma.MaskedArray):
        # Some ops would apply the mask and others drop it: no answer would be reliable.
        raise FeedError(
            f"input {name!r} was fed a masked array: tinygraph computes on plain arrays, and a mask would be "
            f"kept by some ops and dropped by others; fill it (value.filled(...)) or pass value.data {declared}"
        )
    if not isinstance(value, np.ndarray):
        try:
            library = library_of(value)
        except TypeError as e:
            raise FeedError(f"input {name!r} was fed a {type(value).__name__}: {e} {declared}") from None
        if library is not None and library is not NUMPY:
            return _check_library_feed(node, name, value, library, expected, declared)
    if isinstance(value, np.ndarray):
        # Subclasses (np.matrix, memmap...) are computed on as the plain arrays they view, so that
        # every op and every way of running gives the same kind of result.
        arr = value if type(value) is np.ndarray else value.view(np.ndarray)
        if arr.dtype.kind != spec.dtype.kind:
            raise FeedError(
                f"input {name!r} expects {expected} ({spec.dtype}); got an array of dtype {arr.dtype} "
                f"and shape {arr.shape}: convert it, e.g. with .astype(np.{spec.dtype}) {declared}"
            )
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as e:
            raise FeedError(
                f"input {name!r} expects {expected}; cannot convert the {type(value).__name__} fed: {e} {declared}"
            ) from None
        # Lists and scalars may widen ([1, 2] feeds a float input) but never lose their kind:
        # 1.5 fed to an int input would silently become 1, and a str is not a number at all.
        if arr.dtype.kind not in "biufc":
            raise FeedError(
                f"input {name!r} expects {expected} ({spec.dtype}); the {type(value).__name__} fed is not "
                f"numeric (it converts to {arr.dtype}) {declared}"
            )
        integers = arr.dtype.kind in "iu" and spec.dtype.kind in "iu"  # [1, 2] may feed a uint8 input
        if arr.dtype.kind != spec.dtype.kind and not integers and \
                not np.can_cast(arr.dtype, spec.dtype, casting="same_kind"):
            raise FeedError(
                f"input {name!r} expects {expected} ({spec.dtype}); the {type(value).__name__} fed converts "
                f"to {arr.dtype}, which cannot become {spec.dtype} without changing its values {declared}"
            )
    if arr.dtype != spec.dtype:
        arr = _convert(arr, NUMPY, arr.dtype, spec.dtype, name, expected, declared)
    if not fits(spec, arr.shape):
        raise FeedError(
            f"input {name!r} expects {expected} (rank {spec.ndim}); got {format_spec_of(arr)} (shape {arr.shape}) "
            f"{declared}"
        )
    return arr


def _check_library_feed(node: Node, name: str, value: Any, library: ArrayLibrary, expected: str,
                        declared: str) -> Any:
    # An array of another library (torch, CuPy...) stays in it, on its device: the same rules
    # as for numpy arrays, checked with that library's functions.
    spec = node.spec
    try:
        dtype = library.numpy_dtype(value.dtype)
    except TypeError as e:
        raise FeedError(f"input {name!r} expects {expected} ({spec.dtype}); {e} {declared}") from None
    shape = tuple(value.shape)
    if dtype.kind != spec.dtype.kind:
        raise FeedError(
            f"input {name!r} expects {expected} ({spec.dtype}); got a {library.name} array of dtype {value.dtype} "
            f"and shape {shape}: convert it to {spec.dtype} {declared}"
        )
    if not fits(spec, shape):
        raise FeedError(
            f"input {name!r} expects {expected} (rank {spec.ndim}); got a {library.name} array of shape {shape} "
            f"{declared}"
        )
    if dtype == spec.dtype:
        return value
    try:
        library.dtype(spec.dtype)
    except TypeError as e:
        raise FeedError(f"input {name!r} expects {expected} ({spec.dtype}); {e} {declared}") from None
    return _convert(value, library, dtype, spec.dtype, name, expected, declared)


def _convert(value: Any, library: ArrayLibrary, have: np.dtype[Any], dtype: np.dtype[Any], name: str,
             expected: str, declared: str) -> Any:
    # A converted copy, never in place, in the value's own library. Narrowing is the user's choice
    # (a float32 graph fed float64 data), but it must not change what the numbers are: an int that
    # wraps around, or a finite float that becomes inf, is refused rather than computed with.
    xp = library.xp
    with np.errstate(over="ignore", invalid="ignore"):
        converted = xp.astype(value, dtype if library is NUMPY else library.dtype(dtype))
    if np.can_cast(have, dtype, casting="safe"):
        return converted
    if dtype.kind in "iu":
        changed = not bool(xp.all(xp.astype(converted, value.dtype) == value))
    else:
        changed = bool(xp.any(xp.isinf(converted) & ~xp.isinf(value)))
    if changed:
        raise FeedError(
            f"input {name!r} expects {expected} ({dtype}); the {have} values fed do not fit in {dtype} "
            f"(out of range) {declared}"
        )
    return converted


def format_spec_of(arr: np.ndarray[Any, Any]) -> str:
    """An array's spec in listing form, ``f64[10,2]``."""
    return format_spec(spec_of_value(arr))
