"""tinygraph: write a network's forward pass as numpy-like expressions, get an explicit graph.

>>> import numpy as np, tinygraph as tg
>>> x = tg.input("x", shape=(None, 2))
>>> W = tg.parameter(np.ones((2, 3)), name="W")
>>> y = tg.sigmoid(x @ W)
>>> tg.evaluate(y, {x: np.zeros((4, 2))}).shape
(4, 3)
"""

from . import backends, dask, diagrams, nn, onnx, ops, zoo
from ._version import __version__
from .arrays import ArrayFallbackWarning, array_namespace
from .backends import compile
from .diagrams.export import render, to_dot
from .errors import ExecutionError, FeedError, FormatError, GraphError, GraphvizNotFoundError, ShapeError
from .executor import Executor, Plan, evaluate, trace
from .fast import CompiledGraph, Profile, profile
from .graph import Graph
from .io import dumps, load, loads, save
from .node import Node
from .op import Op, constant, input, parameter
from .ops import *  # noqa: F403  (every op class and function form: tg.sigmoid, tg.ops.Sigmoid)
from .registry import register_op
from .shapes import Spec
from .site import Site, scope
from .torch_import import TorchImportError, from_torch

__all__ = [
    "__version__", "array_namespace", "ArrayFallbackWarning", "backends", "dask", "nn", "onnx", "ops", "zoo",
    "diagrams",
    "GraphError", "ShapeError", "FeedError", "ExecutionError", "FormatError", "GraphvizNotFoundError",
    "save", "load", "dumps", "loads", "register_op", "to_dot", "render",
    "Executor", "Plan", "evaluate", "trace", "compile", "CompiledGraph", "profile", "Profile",
    "Graph", "Node", "Site", "scope", "Op", "Spec",
    "input", "parameter", "constant", "from_torch", "TorchImportError",
]
__all__ += ops.__all__
