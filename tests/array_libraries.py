"""Array libraries the tests run graphs on: numpy, array-api-strict and torch (CPU).

``LIBRARIES`` are pytest params that skip, with the reason, where a library is not installed
(``make setup`` installs all three). ``to_library`` converts a numpy array; ``to_numpy`` back.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


LIBRARY_NAMES = ("numpy", "array_api_strict", "torch")
LIBRARIES = [
    pytest.param(name, id=name,
                 marks=pytest.mark.skipif(not _have(name) or not _have("array_api_compat"),
                                          reason=f"{name} or array-api-compat is not installed"))
    for name in LIBRARY_NAMES
]
OTHER_LIBRARIES = LIBRARIES[1:]

# What each library has no dtype for: cases fed such arrays can't be run on it at all.
MISSING_DTYPES = {
    "numpy": set(),
    "array_api_strict": {np.dtype(np.float16)},
    "torch": set(),
}


def namespace(name: str) -> Any:
    """The module arrays of library ``name`` are made with."""
    return importlib.import_module(name)


def supports(name: str, dtype: np.dtype) -> bool:
    """Whether library ``name`` can hold arrays of ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype in MISSING_DTYPES[name] or dtype.kind not in "biufc":
        return False
    return name == "numpy" or hasattr(namespace(name), dtype.name)


def to_library(name: str, value: Any) -> Any:
    """A numpy array (or anything ``np.asarray`` takes) as an array of library ``name``."""
    arr = np.array(value, copy=True)
    if name == "numpy":
        return arr
    if name == "torch":
        import torch
        return torch.from_numpy(arr)
    xp = namespace(name)
    if name == "array_api_strict":
        # Its second device refuses np.asarray and numpy's functions: an op that slips back to
        # numpy fails there instead of passing on the CPU.
        return xp.asarray(arr, device=xp.Device("device1"))
    return xp.asarray(arr)


def to_numpy(value: Any) -> np.ndarray:
    """An array of any of the libraries as numpy (on the host)."""
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    return np.from_dlpack(value)


def is_library_array(name: str, value: Any) -> bool:
    """Whether ``value`` is an array of library ``name`` (not numpy, unless ``name`` is)."""
    if name == "numpy":
        return type(value) is np.ndarray
    module = type(value).__module__.split(".")[0]
    return module == name


def tolerance(dtype: np.dtype) -> dict[str, float]:
    """How close two libraries' results must be: their kernels sum and round in different orders."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return {"rtol": 0, "atol": 0}
    if dtype == np.float16:
        return {"rtol": 2e-3, "atol": 2e-3}
    if dtype in (np.float32, np.complex64):
        return {"rtol": 2e-5, "atol": 2e-6}
    return {"rtol": 1e-11, "atol": 1e-12}
