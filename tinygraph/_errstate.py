"""A cheap ``np.errstate(over="ignore", under="ignore")`` for the hot path of ``Sigmoid``.

``np.errstate`` costs about a microsecond per use (it builds a new error-state
object every time), as much as the whole sigmoid of a small batch. numpy 2 keeps
the error state in a context variable; setting it directly to a cached
"ignore overflow" variant of the current state costs a few dozen nanoseconds and
is exactly what ``np.errstate.__enter__``/``__exit__`` do. Both overflow (``exp(-x)`` for
x < -709 is inf, and ``1 / (1 + inf) == 0`` is right) and underflow (``exp(-x)`` for large
x is 0, also right) are expected there; every other error category keeps the caller's setting. Should a numpy version
move these private names, ``np.errstate`` itself is used instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_extobj_contextvar: Any = None
_make_extobj: Any = None
try:  # numpy >= 2.0
    from numpy._core import umath as _umath

    _extobj_contextvar = _umath._extobj_contextvar
    _make_extobj = _umath._make_extobj
except (ImportError, AttributeError):  # pragma: no cover - depends on numpy's private layout
    pass

# (the error state it was derived from, that state with overflow and underflow ignored); replaced, never mutated,
# so threads share it safely. Holding the base object keeps the identity comparison meaningful.
_derived: tuple[Any, Any] = (None, None)


def derive(current: Any) -> Any:
    """The error state ``current`` with overflow and underflow ignored (cached for the latest ``current``)."""
    global _derived
    derived = _derived
    if derived[0] is not current:
        derived = (current, _make_extobj(over="ignore", under="ignore"))
        _derived = derived
    return derived[1]


def exp_ignoring_overflow(buf: np.ndarray[Any, Any]) -> None:
    """``np.exp(buf, out=buf)`` with overflow to ``inf`` and underflow to 0 silent (both intended)."""
    global _derived
    if _extobj_contextvar is None:  # pragma: no cover
        with np.errstate(over="ignore", under="ignore"):
            np.exp(buf, buf)
        return
    current = _extobj_contextvar.get()
    derived = _derived
    if derived[0] is not current:
        derived = (current, _make_extobj(over="ignore", under="ignore"))
        _derived = derived
    token = _extobj_contextvar.set(derived[1])
    try:
        np.exp(buf, buf)
    finally:
        _extobj_contextvar.reset(token)
