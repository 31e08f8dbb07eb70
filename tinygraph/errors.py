"""The errors tinygraph raises: one family, so that ``except tg.GraphError`` catches them all."""

from __future__ import annotations


class GraphError(ValueError):
    """Something is wrong with a graph, its construction or its evaluation."""


class ShapeError(GraphError):
    """Operand shapes or dtypes do not fit an op; raised while the graph is built."""


class FeedError(GraphError):
    """A value fed to an input is missing, unknown or does not fit its declaration."""


class ExecutionError(GraphError):
    """An op's ``forward`` raised; the original exception is chained as ``__cause__``."""


class FormatError(GraphError):
    """A saved graph file is damaged, hostile, or from a newer format version; says what is wrong."""


class GraphvizNotFoundError(RuntimeError):
    """Drawing needs Graphviz's ``dot`` program and it is not installed (or not on ``PATH``)."""


def article(word: str) -> str:
    """``word`` with its indefinite article, for messages: ``an input``, ``a parameter``."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word
