"""tinygraph: write a network's forward pass as numpy-like expressions, get an explicit graph.

>>> import numpy as np, tinygraph as tg
>>> x = tg.input("x", shape=(None, 2))
>>> W = tg.parameter(np.ones((2, 3)), name="W")
>>> y = tg.sigmoid(x @ W)
>>> tg.evaluate(y, {x: np.zeros((4, 2))}).shape
(4, 3)
"""

from . import nn, onnx, ops, zoo
from .compile import CompiledGraph, compile
from .errors import ExecutionError, FeedError, FormatError, GraphError, GraphvizNotFoundError, ShapeError
from .executor import Executor, Plan, evaluate, trace
from .export import render, to_dot
from .graph import Graph
from .io import dumps, load, loads, save
from .node import Node, Site, scope
from .op import Op, constant, input, parameter
from .ops import (
    add,
    cast,
    div,
    divide,
    exp,
    log,
    matmul,
    mean,
    mul,
    multiply,
    neg,
    negative,
    pow,
    power,
    relu,
    reshape,
    sigmoid,
    softmax,
    sub,
    subtract,
    sum,
    tanh,
    transpose,
)
from .profile import Profile, profile
from .registry import register_op
from .shapes import Spec

__version__ = "0.1.0"

__all__ = [
    "nn", "onnx", "ops", "zoo",
    "GraphError", "ShapeError", "FeedError", "ExecutionError", "FormatError", "GraphvizNotFoundError",
    "save", "load", "dumps", "loads", "register_op", "to_dot", "render",
    "Executor", "Plan", "evaluate", "trace", "compile", "CompiledGraph", "profile", "Profile",
    "Graph", "Node", "Site", "scope", "Op", "Spec",
    "input", "parameter", "constant",
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "neg", "negative", "pow", "power",
    "matmul", "exp", "log", "tanh", "sigmoid", "relu", "softmax", "sum", "mean", "transpose", "reshape",
    "cast",
]
