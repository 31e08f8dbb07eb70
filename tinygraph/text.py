"""User text (node names, scopes, ONNX tensor names) made safe to print.

A name is data from the user or from a file. Printed raw, a newline in it forges a
listing line, an ESC sequence drives the terminal and U+202E reverses what follows.
``printable`` shows every such character as its Python escape (``\\n``, ``\\x1b``,
``\\u202e``), so each name prints as one visible run of text, the same in the listing,
diagrams, error messages and the command line. Backslashes are kept verbatim: a name
``a\\b`` prints as ``a\\b``.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(c: str) -> str:
    # str.isprintable() refuses controls, format characters (bidi overrides, zero-width), line and
    # paragraph separators, non-space whitespace, surrogates, private use and unassigned code points.
    if c.isprintable():
        return c
    short = _SHORT.get(c)
    if short is not None:
        return short
    n = ord(c)
    if n < 0x100:
        return f"\\x{n:02x}"
    if n < 0x10000:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def printable(text: str, newlines: bool = False) -> str:
    """``text`` with every non-printable character shown as its escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    if text.isprintable():
        return text
    if newlines:  # a message of several lines: keep its line breaks, escape the rest
        return "\n".join(printable(line) for line in text.split("\n"))
    return "".join(map(_escape, text))


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` as ``U+D800``, or ``None``: such text can't be written as UTF-8."""
    match = _SURROGATE.search(text)
    return None if match is None else f"U+{ord(match.group()):04X}"


def check_name(name: str, what: str = "a node name") -> None:
    """Raise ``ValueError`` if ``name`` holds a lone surrogate, which no file, diagram or terminal can hold."""
    bad = lone_surrogate(name)
    if bad is not None:
        raise ValueError(
            f"{what} can't hold a lone surrogate ({bad}, in {name!r}): it can't be written as UTF-8, "
            f"so the graph could not be saved, drawn or printed"
        )
