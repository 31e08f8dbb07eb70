"""JSON encoding of the small values a saved graph holds: op attributes, scalar constants, dtypes.

Plain JSON where it is unambiguous (null, booleans, ints, finite floats, strings,
lists); a one-key object tags everything else (``{"tuple": [...]}``,
``{"float": "inf"}``, ``{"float": "nan:7ff8000000000000"}``, ``{"complex": [re, im]}``, ``{"dict": {...}}``,
``{"dtype": "float32"}``), so every value comes back with its exact Python type
and, for floats, its exact bits (JSON numbers are written with ``repr``, which
round-trips every finite float).
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from .text import lone_surrogate

#: The dtypes a file may use, by ``np.dtype.name``: numbers and booleans, never objects.
DTYPES: dict[str, np.dtype[Any]] = {
    name: np.dtype(name)
    for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                 "float16", "float32", "float64", "complex64", "complex128")
}
_NAMES = {dt: name for name, dt in DTYPES.items()}  # dtype.name is slow, and save asks per node
#: How deeply attribute values may nest (lists of tuples of ...).
MAX_DEPTH = 32

_FLOAT_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class CodecError(ValueError):
    """A value can't be written to, or read from, a graph file; the message says which and why."""


def dtype_name(dtype: Any) -> str:
    """The file's name for a numpy dtype (``"float64"``), or ``CodecError`` if files can't hold it."""
    dt = np.dtype(dtype)
    known = _NAMES.get(dt)
    if known is not None:
        return known
    if dt.hasobject or dt.fields is not None or dt.subdtype is not None or dt.name not in DTYPES:
        raise CodecError(f"dtype {dt} can't be saved: a graph file holds only {', '.join(DTYPES)}")
    return str(dt.name)


def parse_dtype(name: Any) -> np.dtype[Any]:
    """The dtype a file names, from the allow-list only (never ``np.dtype`` on arbitrary text)."""
    if not isinstance(name, str) or name not in DTYPES:
        raise CodecError(f"unknown dtype {name!r}: expected one of {', '.join(DTYPES)}")
    return DTYPES[name]


def _text(s: str) -> str:
    # A lone surrogate (JSON's "\ud800") is text no UTF-8 file, terminal or diagram can hold.
    bad = lone_surrogate(s)
    if bad is not None:
        raise CodecError(f"the string {s!r:.60} holds a lone surrogate ({bad}), which UTF-8 can't encode")
    return s


def _encode_float(f: float) -> Any:
    if math.isfinite(f):
        return f
    if f in (math.inf, -math.inf):
        return {"float": repr(f)}
    # A NaN's sign and payload are bits like any other: keep them, as the arrays in the file do.
    return {"float": "nan:" + struct.pack(">d", f).hex()}


def encode_value(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data, or ``CodecError`` naming what can't be encoded."""
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.dtype(type(value)).itemsize <= 8:
        return _encode_float(float(value))
    if isinstance(value, (complex, np.complexfloating)) and np.dtype(type(value)).itemsize <= 16:
        c = complex(value)
        return {"complex": [_encode_float(c.real), _encode_float(c.imag)]}
    if isinstance(value, tuple):
        return {"tuple": [encode_value(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode_value(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CodecError("dict keys must be str")
        return {"dict": {_text(k): encode_value(v, depth + 1) for k, v in value.items()}}
    if isinstance(value, np.dtype):
        return {"dtype": dtype_name(value)}
    raise CodecError(
        f"a {type(value).__name__} ({value!r:.60}) can't be saved: attributes may be None, bool, int, "
        f"float, complex, str, numpy dtypes, and tuples, lists and str-keyed dicts of these"
    )


def _decode_float(data: Any) -> float:
    if isinstance(data, float):
        return data
    if isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if isinstance(data, dict) and list(data) == ["float"] and isinstance(data["float"], str):
        word = data["float"]
        if word in _FLOAT_WORDS:
            return _FLOAT_WORDS[word]
        bits = word.removeprefix("nan:")
        if bits != word and len(bits) == 16 and all(c in "0123456789abcdef" for c in bits):
            value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
            if math.isnan(value):
                return value
    raise CodecError(f"expected a float, got {data!r:.60}")


def decode_value(data: Any, depth: int = 0) -> Any:
    """The value JSON data encodes (the inverse of ``encode_value``), or ``CodecError``."""
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    if isinstance(data, str):
        return _text(data)
    if data is None or isinstance(data, (bool, int, float)):
        return data
    if isinstance(data, list):
        return [decode_value(v, depth + 1) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise CodecError(f"expected a JSON value or a one-key tagged object, got {data!r:.60}")
    (tag, payload), = data.items()
    if tag == "tuple" and isinstance(payload, list):
        return tuple(decode_value(v, depth + 1) for v in payload)
    if tag == "dict" and isinstance(payload, dict):
        return {_text(k): decode_value(v, depth + 1) for k, v in payload.items()}
    if tag == "float":
        return _decode_float(data)
    if tag == "complex" and isinstance(payload, list) and len(payload) == 2:
        return complex(_decode_float(payload[0]), _decode_float(payload[1]))
    if tag == "dtype":
        return parse_dtype(payload)
    raise CodecError(f"unknown or malformed tagged value {data!r:.60}")


def encode_scalar(value: Any) -> Any:
    """A weak Python scalar constant (bool, int, float, complex) as JSON data."""
    return encode_value(value)


def decode_scalar(data: Any) -> bool | int | float | complex:
    """The Python scalar of a weak constant; anything else is a ``CodecError``."""
    value = decode_value(data)
    if type(value) not in (bool, int, float, complex):
        raise CodecError(f"a scalar constant must be a bool, int, float or complex, got {data!r:.60}")
    return value  # type: ignore[no-any-return]
