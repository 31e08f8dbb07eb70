"""What the ONNX exporter and importer share: the opset written, errors, and the lazy ``onnx`` import."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ..errors import GraphError, ShapeError

#: The opset ``export`` writes. 18 is the first where ReduceSum and ReduceMean both take their axes
#: as an input, and it is old enough for any onnxruntime of the last years (>= 1.14).
OPSET = 18


class OnnxError(GraphError):
    """A graph can't be written as ONNX, or an ONNX model can't be read as a graph."""


class OnnxExportError(OnnxError):
    """The graph holds something ONNX export can't express (an op without a mapping, a dtype)."""


class OnnxImportError(OnnxError):
    """The ONNX model can't be imported (bad file, non-tensor values, a value needed at load time)."""


class OnnxShapeError(OnnxImportError, ShapeError):
    """The model's shapes or types conflict (a MatMul of mismatched sizes): an import error, and a ``ShapeError``."""


class UnsupportedOpsError(OnnxImportError):
    """The model uses ONNX ops tinygraph has no importer for; ``ops`` maps each to its node names."""

    def __init__(self, message: str, ops: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.ops = ops


def require_onnx() -> ModuleType:
    """The ``onnx`` package, or an ImportError that says how to install it."""
    try:
        import onnx
    except ModuleNotFoundError as e:
        if e.name not in ("onnx", None):
            raise
        raise ModuleNotFoundError(
            "tinygraph.onnx needs the onnx package: pip install 'tinygraph[onnx]' "
            "(which also installs onnxruntime)",
            name="onnx",
        ) from e
    return onnx


#: The dtypes both sides represent. ml_dtypes' bfloat16 and float8 types pass as numpy "f"
#: kinds but don't behave as ONNX specifies (no saturation), and numpy has no int4: left out.
SUPPORTED_DTYPES: frozenset[np.dtype[Any]] = frozenset(
    np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                          np.uint64, np.float16, np.float32, np.float64)
)
