"""Array libraries: ops compute with the namespace of the arrays they are given.

numpy is the default and the fast path. A graph fed torch tensors, CuPy arrays or any
other library of the Python array API standard computes with that library's functions
(``xp = tg.array_namespace(*values)``, through ``array-api-compat`` where the library
needs it) and gives back arrays of that library, on the device it was fed. Parameters
and constants are numpy arrays; ``leaf_value`` converts each once per library and
device and keeps the copy until the value changes.

An op says which libraries its ``forward`` handles with ``Op.arrays`` (see
docs/scale.md): ``"any"`` (written against ``xp``), ``"via-numpy"`` (numpy only, its
operands copied to numpy and back with a one-time ``ArrayFallbackWarning``) or
``"numpy"`` (a plain numpy op: other libraries are refused, naming the op).
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = [
    "ArrayLibrary", "ArrayFallbackWarning", "NUMPY", "array_namespace", "library_of", "common_library",
    "leaf_value", "promoted", "special", "via_numpy", "standard_function", "floating", "lacks_kernels",
    "check_weak_ints",
]

_DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "float16", "float32", "float64", "complex64", "complex128")
_SCALARS = (int, float, complex, bool, np.generic)


class ArrayFallbackWarning(UserWarning):
    """An op computed through numpy for another array library (a copy to the host and back)."""


class ArrayLibrary:
    """One array library on one device: its namespace, and conversions to and from numpy."""

    __slots__ = ("xp", "name", "device", "key", "array_type", "_dtypes", "_numpy_dtypes")

    def __init__(self, xp: Any, name: str, device: Any, array_type: type = np.ndarray) -> None:
        self.xp = xp
        #: The class of this library's arrays (``torch.Tensor``): what its ops must return.
        self.array_type = array_type
        #: ``"numpy"``, ``"torch"``, ``"cupy"``, ``"array_api_strict"``...: the name messages use.
        self.name = name
        self.device = device
        #: What caches key on: the library and the device (``("torch", "cuda:0")``).
        self.key = (name, str(device))
        self._dtypes: dict[np.dtype[Any], Any] = {}
        self._numpy_dtypes: dict[Any, np.dtype[Any]] = {}
        for n in _DTYPE_NAMES:
            dt = getattr(xp, n, None)
            if dt is not None:
                self._dtypes[np.dtype(n)] = dt
                self._numpy_dtypes.setdefault(dt, np.dtype(n))

    def dtype(self, dtype: np.dtype[Any]) -> Any:
        """This library's dtype for a numpy dtype; ``TypeError`` if it has none (CuPy has no ``uint64``...)."""
        found = self._dtypes.get(np.dtype(dtype))
        if found is None:
            raise TypeError(f"{self.name} has no {np.dtype(dtype)} dtype")
        return found

    def numpy_dtype(self, dtype: Any) -> np.dtype[Any]:
        """The numpy dtype of one of this library's dtypes."""
        found = self._numpy_dtypes.get(dtype)
        if found is None and isinstance(dtype, np.dtype) and dtype in self._dtypes:
            # CuPy and JAX arrays carry numpy dtypes, while their namespaces name numpy's scalar
            # types (cupy.float32 is np.float32): equal to the dtype, but not the same dict key.
            found = self._numpy_dtypes[dtype] = dtype
        if found is None:
            raise TypeError(f"the {self.name} dtype {dtype} has no numpy equivalent tinygraph computes with")
        return found

    def asarray(self, value: Any) -> Any:
        """A numpy array (or scalar) as an array of this library on this device (a copy)."""
        if self is NUMPY:
            return np.asarray(value)
        arr = np.array(value, copy=True)  # writeable: torch warns about (and would share) read-only memory
        self.dtype(arr.dtype)  # a clear TypeError for a dtype the library lacks
        return self.xp.asarray(arr, device=self.device)

    def to_numpy(self, value: Any) -> np.ndarray[Any, Any]:
        """An array of this library as a numpy array (copied to the host if it is elsewhere)."""
        if isinstance(value, np.ndarray) or isinstance(value, _SCALARS):
            return np.asarray(value)
        if self.name == "torch":
            return value.detach().cpu().numpy()  # type: ignore[no-any-return]
        if self.name == "cupy":
            return value.get()  # type: ignore[no-any-return]
        try:
            return np.from_dlpack(value)
        except (TypeError, BufferError, RuntimeError, AttributeError):
            return np.asarray(value)

    def __repr__(self) -> str:
        return f"<ArrayLibrary {self.name} on {self.device}>"


#: The default library: numpy arrays, on the host.
NUMPY = ArrayLibrary(np, "numpy", "cpu")

# Namespaces by array type: array_namespace() of array-api-compat costs microseconds.
_NAMESPACES: dict[type, tuple[Any, str]] = {}
_FOREIGN_MODULES = ("torch", "cupy", "jax", "dask", "mlx", "tensorflow")


def _namespace_of(value: Any) -> tuple[Any, str] | None:
    cls = type(value)
    found = _NAMESPACES.get(cls)
    if found is not None:
        return found
    compat: Any
    try:
        import array_api_compat as compat  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        compat = None
    if compat is not None and compat.is_array_api_obj(value):
        xp = compat.array_namespace(value)
    elif hasattr(value, "__array_namespace__"):
        xp = value.__array_namespace__()
    elif cls.__module__.split(".")[0] in _FOREIGN_MODULES:
        raise TypeError(
            f"{cls.__module__}.{cls.__qualname__} arrays are computed on through the Python array API: "
            f"install array-api-compat (pip install 'tinygraph[arrays]')"
        )
    else:
        return None
    name = xp.__name__
    name = name.removeprefix("array_api_compat.")
    found = _NAMESPACES[cls] = (xp, name)
    return found


def library_of(value: Any) -> ArrayLibrary | None:
    """The library and device of an array; ``None`` for Python scalars, lists and numpy scalars."""
    if isinstance(value, np.ndarray):
        return NUMPY
    if value is None or isinstance(value, _SCALARS) or isinstance(value, (list, tuple)):
        return None
    found = _namespace_of(value)
    if found is None:
        return None
    xp, name = found
    if name == "numpy":
        return NUMPY
    array_type = cls = type(value)
    if name == "torch":  # nn.Parameter and other subclasses compute into plain tensors
        array_type = next(c for c in cls.__mro__ if c.__module__ == "torch" and c.__name__ == "Tensor")
    return _library(xp, name, _device(value), array_type)


_LIBRARIES: dict[tuple[str, str], ArrayLibrary] = {}
_LOCK = threading.Lock()


def _library(xp: Any, name: str, device: Any, array_type: type) -> ArrayLibrary:
    key = (name, str(device))
    lib = _LIBRARIES.get(key)
    if lib is None:
        with _LOCK:
            lib = _LIBRARIES.setdefault(key, ArrayLibrary(xp, name, device, array_type))
    return lib


def _device(value: Any) -> Any:
    device = getattr(value, "device", None)
    if device is None or callable(device):  # old CuPy: .device is a property of another kind
        try:
            import array_api_compat as compat
            return compat.device(value)
        except ImportError:
            return "cpu"
    return device


def common_library(values: Iterable[Any]) -> ArrayLibrary:
    """The one library (and device) of ``values``; numpy if there are no arrays. ``TypeError`` if mixed."""
    found: ArrayLibrary | None = None
    for v in values:
        lib = library_of(v)
        if lib is None or lib is found:
            continue
        if found is not None:  # libraries are interned per device: another object is another place
            raise TypeError(f"arrays of two libraries in one computation: {found.name} on {found.device} and "
                            f"{lib.name} on {lib.device}")
        found = lib
    return found or NUMPY


def array_namespace(*values: Any) -> Any:
    """The array API namespace to compute on ``values`` with: ``numpy`` for numpy arrays and scalars."""
    for v in values:
        if type(v) is np.ndarray or isinstance(v, _SCALARS):
            continue
        return common_library(values).xp
    return np


def promoted(xp: Any, *values: Any) -> list[Any]:
    """``values`` cast to the dtype numpy's promotion gives them, so that every library computes alike.

    numpy arrays are returned as they are (numpy promotes by itself). Other libraries promote
    mixed kinds differently (torch: ``int64 + float32`` is float32, numpy says float64) or not
    at all (array-api-strict), so their arrays are cast first. Python scalars stay scalars:
    they are weak in every library, as in numpy.
    """
    if xp is np:
        return list(values)
    arrays = [v for v in values if not isinstance(v, (int, float, complex, bool))]
    if not arrays:
        return list(values)
    lib = common_library(arrays)
    dtypes = [lib.numpy_dtype(v.dtype) for v in arrays]
    weak = [v for v in values if isinstance(v, (int, float, complex, bool))]
    target = np.result_type(*dtypes, *weak)
    check_weak_ints(weak, target)
    if all(d == target for d in dtypes):
        return list(values)
    want = lib.dtype(target)
    return [v if isinstance(v, (int, float, complex, bool)) or v.dtype == want else xp.astype(v, want)
            for v in values]


# --- functions the standard does not have -------------------------------------------------------

def special(xp: Any, name: str) -> Callable[..., Any] | None:
    """``scipy.special``'s function ``name`` for the library of ``xp``, or ``None`` where it has none.

    numpy: ``scipy.special``; torch: ``torch.special``; CuPy: ``cupyx.scipy.special``. An op
    getting ``None`` computes through numpy instead (``via_numpy``), with a warning.
    """
    if xp is np:
        import scipy.special  # type: ignore[import-untyped]
        return getattr(scipy.special, name, None)
    module = getattr(xp, "__name__", "")
    try:
        if module.endswith("torch"):
            import torch
            return getattr(torch.special, name, None)
        if module.endswith("cupy"):
            import cupyx.scipy.special  # type: ignore[import-not-found]
            return getattr(cupyx.scipy.special, name, None)
    except ImportError:
        return None
    return None


_WARNED: set[tuple[str, str]] = set()


def via_numpy(what: str, fn: Callable[..., Any], values: Iterable[Any]) -> Any:
    """``fn`` computed on numpy copies of ``values``, the result moved back to their library.

    The first time each ``what`` (an op's name) does so for a library, an
    ``ArrayFallbackWarning`` says so: it is a copy to the host and back, never silent.
    """
    values = list(values)
    lib = common_library(values)
    if lib is NUMPY:
        return fn(*values)
    key = (what, lib.name)
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(
            f"tinygraph: {what} has no {lib.name} implementation; it computes through numpy, copying its "
            f"operands to the host and its result back to {lib.device} (docs/scale.md)",
            ArrayFallbackWarning, stacklevel=3,
        )
    result = fn(*(lib.to_numpy(v) if library_of(v) is lib else v for v in values))
    return lib.asarray(result)


# --- parameters and constants on other libraries -------------------------------------------------

# Per leaf op, weakly: {library key: (the numpy value converted, its copy in that library)}.
# The numpy value is kept beside its copy so that assigning a new value retires the copy.
_LEAF_COPIES: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], tuple[Any, Any]]] = weakref.WeakKeyDictionary()


def leaf_value(op: Any, library: ArrayLibrary) -> Any:
    """A parameter's or constant's value in ``library``: converted once, cached until the value changes."""
    value = op.value
    if library is NUMPY or isinstance(value, (int, float, complex, bool)):
        return value
    copies = _LEAF_COPIES.get(op)
    if copies is None:
        with _LOCK:
            copies = _LEAF_COPIES.setdefault(op, {})
    entry = copies.get(library.key)
    if entry is not None and entry[0] is value:
        return entry[1]
    converted = library.asarray(value)
    copies[library.key] = (value, converted)
    return converted


# numpy's ufunc names where the array API standard spells them differently.
_STANDARD_NAMES = {
    "true_divide": "divide", "power": "pow", "absolute": "abs", "arccos": "acos", "arcsin": "asin",
    "arctan": "atan", "arctan2": "atan2", "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh",
    "invert": "bitwise_invert", "left_shift": "bitwise_left_shift", "right_shift": "bitwise_right_shift",
}


def standard_function(xp: Any, ufunc: Any) -> Callable[..., Any] | None:
    """The namespace's function computing numpy's ``ufunc`` (``np.power`` -> ``xp.pow``), or ``None``."""
    if xp is np:
        return ufunc  # type: ignore[no-any-return]
    name = getattr(ufunc, "__name__", "")
    return getattr(xp, _STANDARD_NAMES.get(name, name), None)


_FLOAT_OF: dict[np.dtype[Any], np.dtype[Any]] = {}


def floating(xp: Any, value: Any) -> Any:
    """``value`` as the float array numpy's float functions make of it (``exp`` of int8 is float16).

    Float arrays are returned as they are; bools and integers are cast, on any library.
    """
    if xp is np:
        return value
    lib = common_library([value])
    dtype = lib.numpy_dtype(value.dtype)
    if dtype.kind in "fc":
        return value
    target = _FLOAT_OF.get(dtype)
    if target is None:
        target = _FLOAT_OF[dtype] = np.exp(np.zeros(0, dtype)).dtype
    return xp.astype(value, lib.dtype(target))


# torch holds uint16, uint32 and uint64 tensors but has next to no kernels for them
# ("add_stub" not implemented for 'UInt32'): an op given one computes through numpy.
_NO_KERNELS: dict[str, frozenset[np.dtype[Any]]] = {
    "torch": frozenset(np.dtype(n) for n in ("uint16", "uint32", "uint64")),
}


def lacks_kernels(values: Iterable[Any]) -> np.dtype[Any] | None:
    """The dtype of an operand its library stores but cannot compute on (torch's uint16/32/64), or ``None``."""
    values = list(values)
    lib = common_library(values)
    lacking = _NO_KERNELS.get(lib.name)
    if lacking:
        for v in values:
            if library_of(v) is lib and lib.numpy_dtype(v.dtype) in lacking:
                return lib.numpy_dtype(v.dtype)
    return None


def check_weak_ints(scalars: Iterable[Any], dtype: np.dtype[Any]) -> None:
    """``OverflowError``, as numpy raises, for a Python int that ``dtype`` (an integer type) can't hold.

    numpy refuses ``int8_array + 300``; torch would wrap it around silently.
    """
    if dtype.kind not in "iu":
        return
    info = np.iinfo(dtype)
    for v in scalars:
        if type(v) is int and not info.min <= v <= info.max:
            raise OverflowError(f"Python integer {v} out of bounds for {dtype}")
