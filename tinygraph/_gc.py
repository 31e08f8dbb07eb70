"""Pausing CPython's cyclic garbage collector around work on a whole large graph."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block, leaving it off if the user had turned it off."""
    # Planning, loading and running a big graph allocate many container objects and free few;
    # every automatic collection they trigger walks all the graph's live nodes, which turns
    # linear work superlinear.
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
