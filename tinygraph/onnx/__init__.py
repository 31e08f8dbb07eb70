"""ONNX interchange: ``tg.onnx.export(graph, path)`` writes a model, ``tg.onnx.load(path)`` reads one.

Both need the ``onnx`` package (``pip install 'tinygraph[onnx]'``), imported only when called,
so ``import tinygraph`` works without it. ``export`` maps every built-in op to ONNX (opset 18)
and checks the model with ``onnx.checker``; ``load`` lowers the ONNX ops that correspond to
tinygraph's (Gemm into MatMul, Transpose, Mul, Add) and names every op it can't import at once.
Custom ops plug in with ``register_exporter`` and ``register_importer``; see docs/onnx.md.
"""

from __future__ import annotations

# The importers of ONNX ops that are not one tinygraph op (Identity, Constant, Gemm) register themselves.
from . import import_ops  # noqa: E402,F401,I001
from .common import (
    OPSET,
    OnnxError,
    OnnxExportError,
    OnnxImportError,
    OnnxShapeError,
    UnsupportedOpsError,
    require_onnx,
)
from .exporter import ExportContext, export, register_exporter, to_model
from .importer import ImportContext, from_model, load, register_importer, supported_ops

__all__ = [
    "OPSET", "OnnxError", "OnnxExportError", "OnnxImportError", "OnnxShapeError", "UnsupportedOpsError",
    "require_onnx",
    "ExportContext", "export", "register_exporter", "to_model",
    "ImportContext", "from_model", "load", "register_importer", "supported_ops",
]
