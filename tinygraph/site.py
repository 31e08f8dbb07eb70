"""Where nodes come from: the user's line of code, and the ``tg.scope`` blocks around it."""

from __future__ import annotations

import contextlib
import contextvars
import linecache
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from .text import check_name

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_scope: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("tinygraph_scope", default=())


@dataclass(frozen=True)
class Site:
    """Where a node was created: the first frame outside the tinygraph package."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def source(self) -> str:
        """The line of code itself, stripped, or ``""`` when it can't be read."""
        return linecache.getline(self.file, self.line).strip()

    def describe(self) -> str:
        """``file:line in function: code`` for error messages."""
        code = self.source
        where = f"{self}" + (f" in {self.function}" if self.function != "<module>" else "")
        return f"{where}: {code}" if code else where


UNKNOWN_SITE = Site("<unknown>", 0, "<module>")


def creation_site() -> Site:
    """The caller's site, skipping frames inside tinygraph (so ``nn`` layers point at user code)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return UNKNOWN_SITE
    return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def here() -> Site:
    """The caller's own site, even inside tinygraph (for nodes tinygraph builds as examples)."""
    frame = sys._getframe(1)
    return Site(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """Group the nodes built inside the ``with`` block under ``name`` (diagrams draw a cluster)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"scope name must be a non-empty str, got {name!r}")
    check_name(name, "a scope name")
    token = _scope.set((*_scope.get(), name))
    try:
        yield
    finally:
        _scope.reset(token)


def current_scope() -> tuple[str, ...]:
    """The names of the ``tg.scope`` blocks the caller is in, outermost first."""
    return _scope.get()
