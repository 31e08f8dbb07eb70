"""``einsum``: products of the operands summed over the letters the output leaves out.

The output's shape is inferred from the equation and the operands' shapes (``None`` sizes and
``...`` included); float16 accumulates in float32 and is rounded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arrays import array_namespace, common_library, lacks_kernels, promoted, via_numpy
from ..errors import ShapeError
from ..node import Node
from ..op import Op
from ..shapes import Spec, broadcast_shapes, result_dtype
from ._reducers import _widened

__all__ = ["Einsum", "einsum"]

_FLOAT16 = np.dtype(np.float16)


class Einsum(Op):
    """``np.einsum(equation, *operands)``: products summed over the letters the output leaves out."""

    arity = None
    fresh_output = True
    onnx_type = "Einsum"
    arrays = "any"

    def __init__(self, equation: str) -> None:
        self.equation = str(equation).replace(" ", "")

    def forward(self, *operands: Any) -> Any:
        """``np.einsum`` (float16 accumulated in float32), always a new array."""
        xp = array_namespace(*operands)
        if xp is not np:
            return self._forward_xp(xp, operands)
        arrays = [np.asarray(o) for o in operands]
        half = any(a.dtype == _FLOAT16 for a in arrays)
        y = np.einsum(self.equation, *(_widened(a) for a in arrays), optimize=len(arrays) > 2)
        return np.array(y, dtype=_FLOAT16 if half else None, copy=True)

    def _forward_xp(self, xp: Any, operands: Sequence[Any]) -> Any:
        """torch: ``torch.einsum`` on the operands promoted as numpy does; other libraries through numpy.

        The array API standard has no einsum; torch's computes bools and its few-kernel unsigned
        dtypes not at all, so those go through numpy too.
        """
        lib = common_library(operands)
        arrays = promoted(xp, *operands)
        if lib.name != "torch" or lacks_kernels(arrays) is not None or any(a.dtype == xp.bool for a in arrays):
            return via_numpy(type(self).__name__, self.forward, operands)
        import torch

        dtype = arrays[0].dtype
        half = dtype == xp.float16
        y = torch.einsum(self.equation, *(xp.astype(a, xp.float32) if half else a for a in arrays))
        # torch sums small integers in int64 (numpy in their own dtype: the same bits once cast back).
        return y if y.dtype == dtype else xp.astype(y, dtype)

    def _terms(self, n: int) -> tuple[list[str], str]:
        lhs, arrow, rhs = self.equation.partition("->")
        terms = lhs.split(",")
        if len(terms) != n:
            raise ShapeError(f"equation {self.equation!r} has {len(terms)} operand term(s), got {n} operand(s)")
        letters = "".join(terms).replace("...", "")
        if not all(c.isalpha() for c in letters + rhs.replace("...", "")):
            raise ShapeError(f"equation {self.equation!r} has characters other than letters, ',', '->' and '...'")
        if not arrow:
            once = sorted(c for c in set(letters) if letters.count(c) == 1)
            rhs = ("..." if "..." in lhs else "") + "".join(once)
        return terms, rhs

    def infer(self, *specs: Spec) -> Spec:
        """Each letter's size from the operands (``...`` broadcast); numpy's result dtype."""
        terms, rhs = self._terms(len(specs))
        sizes: dict[str, int | None] = {}
        ellipses: list[tuple[int | None, ...]] = []
        for term, spec in zip(terms, specs):
            head, dots, tail = term.partition("...")
            if not dots:
                head, tail = term, ""
            fixed = len(head) + len(tail)
            if (len(spec.shape) != fixed) if not dots else (len(spec.shape) < fixed):
                raise ShapeError(f"term {term!r} does not fit an operand of {spec.ndim} dimension(s)")
            dims = spec.shape
            named = list(zip(head, dims[:len(head)])) + list(zip(tail, dims[len(dims) - len(tail):]))
            if dots:
                ellipses.append(dims[len(head):len(dims) - len(tail)])
            for letter, d in named:
                sizes[letter] = _einsum_size(letter, sizes[letter], d) if letter in sizes else d
        dots_shape = broadcast_shapes(*ellipses) if ellipses else ()
        head, dots, tail = rhs.partition("...")
        if not dots:
            head, tail = rhs, ""
        for letter in head + tail:
            if letter not in sizes:
                raise ShapeError(f"output letter {letter!r} is in no operand's term")
        shape = tuple(sizes[c] for c in head) + (dots_shape if dots else ()) + tuple(sizes[c] for c in tail)
        return Spec(shape, result_dtype(*specs))

    def onnx_attributes(self, node: Node) -> dict[str, Any]:
        """``equation``."""
        return {"equation": self.equation}

    @classmethod
    def onnx_config(cls, ctx: Any) -> dict[str, Any]:
        """``equation``."""
        return {"equation": str(ctx.attr("equation", ""))}


def _einsum_size(letter: str, known: int | None, d: int | None) -> int | None:
    # A letter's sizes must agree; a size 1 broadcasts, as numpy's einsum allows.
    if known is not None and d is not None and known != d and 1 not in (known, d):
        raise ShapeError(f"letter {letter!r} has sizes {known} and {d}")
    if known is None or d is None:
        return None if 1 in (known, d) or known == d else (known if d is None else d)
    return max(known, d)


# --- function forms --------------------------------------------------------------------------------


def einsum(equation: str, *operands: Any, name: str | None = None) -> Node:
    """``np.einsum(equation, *operands)``."""
    return Einsum(equation)(*operands, name=name)
