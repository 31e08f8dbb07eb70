"""Recurrent layers with ONNX's semantics: ``lstm``, ``gru``, ``rnn`` (weights, gate order and layouts as in ONNX).

Operands, by ONNX's names: ``X`` ``(seq, batch, input)`` (``layout=1``: ``(batch, seq, input)``),
``W`` ``(dirs, gates * H, input)``, ``R`` ``(dirs, gates * H, H)``, and optionally ``B``
``(dirs, 2 * gates * H)`` (input then recurrence biases), ``initial_h`` (and for the LSTM
``initial_c``) ``(dirs, batch, H)`` (``layout=1``: ``(batch, dirs, H)``) and the LSTM's peepholes
``P`` ``(dirs, 3 * H)``. ``operands`` names those the node was given, in ONNX's order. Gate orders
are ONNX's: LSTM ``i o f c``, GRU ``z r h`` (torch's are ``i f g o`` and ``r z n``). Activations are
the defaults (sigmoid, tanh); ``sequence_lens`` is not supported (every sequence has the full length).

A node holds one of the ONNX outputs, chosen by ``output``: ``"Y"`` (every step's hidden state,
``(seq, dirs, batch, H)``, ``layout=1``: ``(batch, seq, dirs, H)``), ``"Y_h"`` (the last hidden
state) or, for the LSTM, ``"Y_c"`` (the last cell state). Each such node runs the whole time loop:
an ONNX LSTM whose ``Y``, ``Y_h`` and ``Y_c`` are all used imports as three nodes, which costs three
times the computation. The loop runs over time steps only; each step is a few matrix products
over the whole batch, and the input projections of all steps are one matrix product up front.

They compute on any array library (``arrays = "any"``) with the array API standard's ``matmul``,
``tanh``, ``clip``... and the library's ``expit`` where it has one (torch, CuPy; else
``1 / (1 + exp(-x))``, which is exact for overflowing ``exp`` too: ``1 / inf`` is 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit  # type: ignore[import-untyped]

from ..arrays import array_namespace, common_library, special
from ..errors import ShapeError
from ..node import Node
from ..op import Op, as_node
from ..shapes import Spec, format_shape, result_dtype
from .joining import concat, stack
from .layout import reshape, transpose
from .normalization import emit_output

__all__ = ["LSTM", "GRU", "RNN", "lstm", "gru", "rnn"]

_DIRECTIONS = ("forward", "reverse", "bidirectional")
#: ONNX's operand positions (sequence_lens, position 4, is not supported).
_POSITIONS = {"X": 0, "W": 1, "R": 2, "B": 3, "initial_h": 5, "initial_c": 6, "P": 7}


class _Functions:
    """What a step computes with on one library: ``sigmoid``, ``tanh``, ``clip`` and ``split`` (numpy's: views)."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        if xp is np:
            self.sigmoid: Any = expit
        else:
            expit_xp = special(xp, "expit")
            self.sigmoid = expit_xp if expit_xp is not None else (lambda a: 1 / (1 + xp.exp(-a)))
        self.tanh = xp.tanh
        self.clip = xp.clip

    @staticmethod
    def split(a: Any, parts: int) -> list[Any]:
        """``a`` cut into ``parts`` equal blocks along its last axis (``np.split``'s views)."""
        size = a.shape[-1] // parts
        return [a[..., k * size:(k + 1) * size] for k in range(parts)]


_NUMPY = _Functions(np)


class _Recurrent(Op):
    fresh_output = True
    dot_style: ClassVar[dict[str, str]] = {"fillcolor": "#f6e8d8"}
    #: Gates per direction (rows of W per hidden unit).
    gates: ClassVar[int]
    #: The ONNX outputs, in order.
    outputs: ClassVar[tuple[str, ...]] = ("Y", "Y_h")
    #: The optional operands after X, W, R, in ONNX's order.
    optional: ClassVar[tuple[str, ...]] = ("B", "initial_h")
    #: The default activations per direction, as ONNX names them.
    activations: ClassVar[tuple[str, ...]]

    def __init__(self, hidden_size: int, direction: str = "forward", layout: int = 0, output: str = "Y",
                 operands: Sequence[str] = ("X", "W", "R"), clip: float | None = None) -> None:
        cls = type(self)
        if isinstance(hidden_size, bool) or not isinstance(hidden_size, (int, np.integer)) or hidden_size < 1:
            raise ValueError(f"hidden_size must be an int >= 1, got {hidden_size!r}")
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be one of {_DIRECTIONS}, got {direction!r}")
        if layout not in (0, 1):
            raise ValueError(f"layout must be 0 (time first) or 1 (batch first), got {layout!r}")
        if output not in cls.outputs:
            raise ValueError(f"output must be one of {cls.outputs}, got {output!r}")
        operands = tuple(operands)
        allowed = ("X", "W", "R", *cls.optional)
        if operands[:3] != ("X", "W", "R") or any(o not in allowed for o in operands) or \
                list(operands) != sorted(set(operands), key=allowed.index):
            raise ValueError(f"operands must be X, W, R then some of {cls.optional} in that order, got {operands}")
        if clip is not None and not float(clip) > 0:
            raise ValueError(f"clip must be a positive float or None, got {clip!r}")
        self.hidden_size = int(hidden_size)
        self.direction = direction
        self.layout = int(layout)
        self.output = output
        self.operands = operands
        self.clip = None if clip is None else float(clip)

    @property
    def _dirs(self) -> int:
        return 2 if self.direction == "bidirectional" else 1

    def infer(self, *specs: Spec) -> Spec:
        """The output's shape from X's and ``hidden_size``; every operand's shape checked."""
        if len(specs) != len(self.operands):
            raise ShapeError(f"expects operands {self.operands}, got {len(specs)}")
        given = dict(zip(self.operands, specs))
        x = given["X"]
        if x.ndim != 3:
            order = "(batch, seq, input)" if self.layout else "(seq, batch, input)"
            raise ShapeError(f"X {format_shape(x.shape)} should have rank 3 {order}")
        seq, batch = (x.shape[1], x.shape[0]) if self.layout else (x.shape[0], x.shape[1])
        nd, h, g = self._dirs, self.hidden_size, type(self).gates
        expected: dict[str, tuple[int | None, ...]] = {
            "W": (nd, g * h, x.shape[2]), "R": (nd, g * h, h), "B": (nd, 2 * g * h), "P": (nd, 3 * h),
            "initial_h": (batch, nd, h) if self.layout else (nd, batch, h),
        }
        expected["initial_c"] = expected["initial_h"]
        for name, spec in given.items():
            if name == "X":
                continue
            want = expected[name]
            if spec.ndim != len(want) or any(a is not None and b is not None and a != b
                                             for a, b in zip(spec.shape, want)):
                raise ShapeError(f"{name} {format_shape(spec.shape)} should be {format_shape(want)} "
                                 f"(direction={self.direction}, hidden_size={h}, X {format_shape(x.shape)})")
        dtype = result_dtype(*specs)
        if dtype.kind != "f":
            raise ShapeError(f"needs float operands, got {', '.join(str(s.dtype) for s in specs)}")
        shape: tuple[int | None, ...]
        if self.output == "Y":
            shape = (batch, seq, nd, h) if self.layout else (seq, nd, batch, h)
        else:
            shape = (batch, nd, h) if self.layout else (nd, batch, h)
        return Spec(shape, dtype)

    arrays = "any"

    def forward(self, *values: Any) -> Any:
        """The time loop of every direction; returns the ``output`` the node holds."""
        xp = array_namespace(*values)
        if xp is not np:
            return self._forward_on(xp, values)
        given = dict(zip(self.operands, values))
        dtype = np.result_type(*values)
        work = np.float32 if dtype == np.float16 else dtype
        x = np.asarray(given["X"], dtype=work)
        if self.layout:
            x = x.transpose(1, 0, 2)
        seq, batch = x.shape[:2]
        nd, h = self._dirs, self.hidden_size
        states = {}
        for name in ("initial_h", "initial_c"):
            if name in given:
                s = np.asarray(given[name], dtype=work)
                states[name] = s.transpose(1, 0, 2) if self.layout else s
        ys, last_h, last_c = [], [], []
        for d in range(nd):
            w = np.asarray(given["W"][d], dtype=work)
            r = np.asarray(given["R"][d], dtype=work)
            gh = w.shape[0]
            b = np.asarray(given["B"][d], dtype=work) if "B" in given else np.zeros(2 * gh, dtype=work)
            p = np.asarray(given["P"][d], dtype=work) if "P" in given else None
            h0 = states["initial_h"][d] if "initial_h" in states else np.zeros((batch, h), dtype=work)
            c0 = states["initial_c"][d] if "initial_c" in states else np.zeros((batch, h), dtype=work)
            # Every step's input projection at once: one (seq * batch, input) @ (input, gates * H) product.
            xw = (x.reshape(seq * batch, -1) @ w.T + b[:gh]).reshape(seq, batch, gh)
            steps = range(seq - 1, -1, -1) if self.direction == "reverse" or d == 1 else range(seq)
            y = np.empty((seq, batch, h), dtype=work)
            ht, ct = h0, c0
            for t in steps:
                ht, ct = self._step(_NUMPY, xw[t], ht, ct, r, b[gh:], p)
                y[t] = ht
            ys.append(y)
            last_h.append(ht)
            last_c.append(ct)
        if self.output == "Y":
            out = np.stack(ys, axis=1)  # (seq, dirs, batch, H)
            out = out.transpose(2, 0, 1, 3) if self.layout else out
        else:
            out = np.stack(last_h if self.output == "Y_h" else last_c)  # (dirs, batch, H)
            out = out.transpose(1, 0, 2) if self.layout else out
        return np.ascontiguousarray(out, dtype=dtype)

    def _forward_on(self, xp: Any, values: Sequence[Any]) -> Any:
        """``forward``'s loop with the namespace's functions: each step's state kept in a list, then stacked."""
        lib = common_library(values)
        dtype = lib.dtype(np.result_type(*(lib.numpy_dtype(v.dtype) for v in values)))
        half = getattr(xp, "float16", None)
        work = xp.float32 if half is not None and dtype == half else dtype
        given = {name: xp.astype(v, work, copy=False) for name, v in zip(self.operands, values)}
        x = given["X"]
        if self.layout:
            x = xp.permute_dims(x, (1, 0, 2))
        seq, batch = x.shape[:2]
        nd, h = self._dirs, self.hidden_size
        states = {name: xp.permute_dims(given[name], (1, 0, 2)) if self.layout else given[name]
                  for name in ("initial_h", "initial_c") if name in given}
        fns = _Functions(xp)
        ys, last_h, last_c = [], [], []
        for d in range(nd):
            w, r = given["W"][d, ...], given["R"][d, ...]
            gh = w.shape[0]
            b = given["B"][d, ...] if "B" in given else xp.zeros(2 * gh, dtype=work, device=x.device)
            p = given["P"][d, ...] if "P" in given else None
            zeros = xp.zeros((batch, h), dtype=work, device=x.device)
            ht = states["initial_h"][d, ...] if "initial_h" in states else zeros
            ct = states["initial_c"][d, ...] if "initial_c" in states else zeros
            xw = xp.reshape(xp.matmul(xp.reshape(x, (seq * batch, -1)), w.T) + b[:gh], (seq, batch, gh))
            backwards = self.direction == "reverse" or d == 1
            y = []
            for t in (range(seq - 1, -1, -1) if backwards else range(seq)):
                ht, ct = self._step(fns, xw[t, ...], ht, ct, r, b[gh:], p)
                y.append(ht)
            ys.append(xp.stack(y[::-1] if backwards else y))
            last_h.append(ht)
            last_c.append(ct)
        if self.output == "Y":
            out = xp.stack(ys, axis=1)  # (seq, dirs, batch, H)
            out = xp.permute_dims(out, (2, 0, 1, 3)) if self.layout else out
        else:
            out = xp.stack(last_h if self.output == "Y_h" else last_c)  # (dirs, batch, H)
            out = xp.permute_dims(out, (1, 0, 2)) if self.layout else out
        return xp.astype(out, dtype, copy=False)

    def _clip(self, fns: _Functions, a: Any) -> Any:
        return a if self.clip is None else fns.clip(a, -self.clip, self.clip)

    def _step(self, fns: _Functions, xw: Any, h: Any, c: Any, r: Any, rb: Any, p: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def _onnx_extra(self) -> dict[str, Any]:
        return {}

    def to_onnx(self, ctx: Any, node: Node) -> str:
        """The ONNX op with this node's output only; operands at ONNX's positions (missing ones as ``""``)."""
        inputs = [""] * (max(_POSITIONS[o] for o in self.operands) + 1)
        for name, operand in zip(self.operands, node.inputs):
            inputs[_POSITIONS[name]] = ctx.operand(operand, node.dtype)
        attrs: dict[str, Any] = {"hidden_size": self.hidden_size, "direction": self.direction, **self._onnx_extra()}
        if self.layout:
            attrs["layout"] = 1
        if self.clip is not None:
            attrs["clip"] = self.clip
        return emit_output(ctx, str(type(self).onnx_type), inputs, type(self).outputs.index(self.output),
                           ctx.name(node), **attrs)

    @classmethod
    def _onnx_options(cls, ctx: Any) -> dict[str, Any]:
        return {}

    @classmethod
    def from_onnx(cls, ctx: Any) -> Sequence[Node | None]:
        """One node per requested output; other activations, ``sequence_lens`` shorter than X refused."""
        direction = ctx.attr("direction", "forward")
        if direction not in _DIRECTIONS:
            raise ctx.error(f"direction {direction!r} is not forward, reverse or bidirectional")
        acts = ctx.attr("activations", None)
        defaults = list(cls.activations) * (2 if direction == "bidirectional" else 1)
        if acts is not None:
            acts = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in acts]
            if acts != defaults:
                raise ctx.error(f"activations {acts} are not supported: only the defaults {defaults}")
        if ctx.attr("activation_alpha", None) is not None or ctx.attr("activation_beta", None) is not None:
            raise ctx.error("activation_alpha/activation_beta are not supported (only the default activations)")
        x = ctx.input(0)
        layout = ctx.int_attr("layout", 0)
        if ctx.has_input(4):
            lens = ctx.static(4, "sequence_lens")
            seq = x.shape[1] if layout else x.shape[0]
            if seq is None or not np.all(lens == seq):
                raise ctx.error(f"sequence_lens {lens.tolist()} shorter than the sequence ({seq}) are not "
                                "supported: every sequence must have the full length")
        names = [n for n, i in _POSITIONS.items() if ctx.has_input(i)]
        unknown = [n for n in names if n not in ("X", "W", "R", *cls.optional)]
        if unknown:
            raise ctx.error(f"operand(s) {unknown} are not supported by {cls.onnx_type}")
        operands = [ctx.input(_POSITIONS[n]) for n in names]
        hidden = ctx.int_attr("hidden_size", 0)
        if hidden < 1:
            w = ctx.input(1)
            if w.shape[1] is None:
                raise ctx.error("hidden_size is missing and W's shape doesn't tell it")
            hidden = w.shape[1] // cls.gates
        clip = ctx.attr("clip", None)
        options = dict(hidden_size=hidden, direction=direction, layout=layout, operands=tuple(names),
                       clip=None if clip is None else float(clip), **cls._onnx_options(ctx))
        out: list[Node | None] = []
        for k, name in enumerate(ctx.node.output[:len(cls.outputs)]):
            try:
                out.append(cls(output=cls.outputs[k], **options)(*operands, name=name) if name else None)
            except ValueError as e:
                raise ctx.error(str(e)) from None
        return out


#: torch's gate blocks, in the order ONNX wants them: LSTM ``i f g o`` -> ``i o f c``, GRU ``r z n`` -> ``z r h``.
_TORCH_GATES = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2)}


def _onnx_gates(w: Node, order: Sequence[int]) -> Node:
    """torch's gate blocks of ``w`` (along axis 0) in ONNX's order."""
    n = w.shape[0]
    if n is None:
        raise ValueError("recurrent weights need known sizes")
    size = n // len(order)
    return concat([w[k * size:(k + 1) * size] for k in order])


def _from_torch(cls: type[_Recurrent], target: str, args: Sequence[Any]) -> list[Node]:
    """``aten.lstm.input``/``aten.gru.input``: one ONNX-style node per layer; results (output, h_n[, c_n])."""
    x, hx, params, has_biases, layers, _, train, bidirectional, batch_first = args
    if train:
        raise ValueError("training mode (dropout between layers) is not supported: call module.eval() first")
    dirs = 2 if bidirectional else 1
    per = 4 if has_biases else 2
    if len(params) != per * layers * dirs:
        raise ValueError(f"{len(params)} weights for {layers} layer(s) x {dirs} direction(s)")
    hx = list(hx) if isinstance(hx, (list, tuple)) else [hx]
    order = _TORCH_GATES[cls.kind]
    extra: dict[str, Any] = {"linear_before_reset": True} if cls is GRU else {}
    states: list[list[Node]] = [[] for _ in range(len(cls.outputs) - 1)]
    # Time first throughout (ONNX's layout 0: onnxruntime runs no other), whatever torch's batch_first.
    y = transpose(x, (1, 0, 2)) if batch_first else x
    for layer in range(layers):
        weights = [params[(layer * dirs + d) * per:(layer * dirs + d + 1) * per] for d in range(dirs)]
        operands: dict[str, Any] = {
            "X": y, "W": stack([_onnx_gates(w[0], order) for w in weights]),
            "R": stack([_onnx_gates(w[1], order) for w in weights])}
        if has_biases:
            operands["B"] = stack([concat([_onnx_gates(w[2], order), _onnx_gates(w[3], order)]) for w in weights])
        for name, h in zip(("initial_h", "initial_c"), hx):
            operands[name] = h[layer * dirs:(layer + 1) * dirs]
        direction = "bidirectional" if bidirectional else "forward"
        hidden = int(operands["R"].shape[2])
        made = [cls(hidden, direction, 0, out, tuple(operands), **extra)(*operands.values())
                for out in cls.outputs]
        out = transpose(made[0], (0, 2, 1, 3))  # (seq, dirs, batch, H) -> (seq, batch, dirs, H)
        if dirs == 1:
            y = out[:, :, 0]
        elif out.shape[0] is None and out.shape[1] is None:
            raise ValueError("a bidirectional layer needs the sequence length or the batch size known")
        else:
            known = [out.shape[0], out.shape[1], dirs * hidden]
            y = reshape(out, [-1 if d is None else d for d in known])
        for kept, state in zip(states, made[1:]):
            kept.append(state)
    if batch_first:
        y = transpose(y, (1, 0, 2))
    return [y, *(concat(kept) if len(kept) > 1 else kept[0] for kept in states)]


class LSTM(_Recurrent):
    """ONNX's LSTM: gates ``i o f c``, optional peepholes ``P`` (``i o f``), states ``h`` and ``c``."""

    kind = "lstm"
    gates = 4
    outputs = ("Y", "Y_h", "Y_c")
    optional = ("B", "initial_h", "initial_c", "P")
    activations = ("Sigmoid", "Tanh", "Tanh")
    onnx_type = "LSTM"
    torch_ops = ("aten.lstm.input",)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Node]:
        """torch's LSTM (gates ``i f g o``, separate biases) as ONNX's; results ``(output, h_n, c_n)``."""
        return _from_torch(cls, target, args)

    def _step(self, fns: _Functions, xw: Any, h: Any, c: Any, r: Any, rb: Any, p: Any) -> tuple[Any, Any]:
        z = xw + h @ r.T + rb
        i, o, f, g = fns.split(z, 4)
        if p is not None:
            pi, po, pf = fns.split(p, 3)
            i = i + pi * c
            f = f + pf * c
        i, f, g = fns.sigmoid(self._clip(fns, i)), fns.sigmoid(self._clip(fns, f)), fns.tanh(self._clip(fns, g))
        c = f * c + i * g
        if p is not None:
            o = o + po * c
        o = fns.sigmoid(self._clip(fns, o))
        return o * fns.tanh(c), c

    @classmethod
    def _onnx_options(cls, ctx: Any) -> dict[str, Any]:
        if ctx.int_attr("input_forget", 0):
            raise ctx.error("input_forget=1 (coupled input and forget gates) is not supported")
        return {}


class GRU(_Recurrent):
    """ONNX's GRU: gates ``z r h``; ``linear_before_reset=True`` is torch's form (reset applied after ``R``)."""

    kind = "gru"
    gates = 3
    activations = ("Sigmoid", "Tanh")
    onnx_type = "GRU"
    torch_ops = ("aten.gru.input",)

    @classmethod
    def from_torch_call(cls, target: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Node]:
        """torch's GRU (gates ``r z n``, reset after the recurrence) as ONNX's; results ``(output, h_n)``."""
        return _from_torch(cls, target, args)

    def __init__(self, hidden_size: int, direction: str = "forward", layout: int = 0, output: str = "Y",
                 operands: Sequence[str] = ("X", "W", "R"), clip: float | None = None,
                 linear_before_reset: bool = False) -> None:
        super().__init__(hidden_size, direction, layout, output, operands, clip)
        self.linear_before_reset = bool(linear_before_reset)

    def _step(self, fns: _Functions, xw: Any, h: Any, c: Any, r: Any, rb: Any, p: Any) -> tuple[Any, Any]:
        n = self.hidden_size
        xz, xr, xh = fns.split(xw, 3)
        # z and r in one product; the candidate's recurrence depends on r.
        zr = h @ r[:2 * n, ...].T + rb[:2 * n]
        z = fns.sigmoid(self._clip(fns, xz + zr[:, :n]))
        reset = fns.sigmoid(self._clip(fns, xr + zr[:, n:]))
        if self.linear_before_reset:
            cand = xh + reset * (h @ r[2 * n:, ...].T + rb[2 * n:])
        else:
            cand = xh + (reset * h) @ r[2 * n:, ...].T + rb[2 * n:]
        cand = fns.tanh(self._clip(fns, cand))
        return (1 - z) * cand + z * h, c

    def _onnx_extra(self) -> dict[str, Any]:
        return {"linear_before_reset": int(self.linear_before_reset)}

    @classmethod
    def _onnx_options(cls, ctx: Any) -> dict[str, Any]:
        return {"linear_before_reset": bool(ctx.int_attr("linear_before_reset", 0))}


class RNN(_Recurrent):
    """ONNX's simple RNN: ``h = tanh(x W^T + h R^T + Wb + Rb)``."""

    kind = "rnn"
    gates = 1
    activations = ("Tanh",)
    onnx_type = "RNN"

    def _step(self, fns: _Functions, xw: Any, h: Any, c: Any, r: Any, rb: Any, p: Any) -> tuple[Any, Any]:
        return fns.tanh(self._clip(fns, xw + h @ r.T + rb)), c


def _build(cls: type[_Recurrent], operands: dict[str, Any], direction: str, layout: int, output: str,
           clip: float | None, name: str | None, **extra: Any) -> Node:
    given = {k: as_node(v) for k, v in operands.items() if v is not None}
    r = given["R"]
    if r.ndim != 3 or r.shape[2] is None:
        raise ShapeError(f"R {format_shape(r.shape)} should be (dirs, gates * H, H) with H known")
    op = cls(int(r.shape[2]), direction, layout, output, tuple(given), clip, **extra)
    return op(*given.values(), name=name)


def lstm(x: Any, w: Any, r: Any, b: Any = None, initial_h: Any = None, initial_c: Any = None, p: Any = None,
         direction: str = "forward", layout: int = 0, output: str = "Y", clip: float | None = None, *,
         name: str | None = None) -> Node:
    """ONNX's LSTM (gates ``i o f c``): ``output`` ``"Y"``, ``"Y_h"`` or ``"Y_c"``; ``H`` from ``r``'s shape."""
    return _build(LSTM, {"X": x, "W": w, "R": r, "B": b, "initial_h": initial_h, "initial_c": initial_c, "P": p},
                  direction, layout, output, clip, name)


def gru(x: Any, w: Any, r: Any, b: Any = None, initial_h: Any = None, direction: str = "forward", layout: int = 0,
        output: str = "Y", clip: float | None = None, linear_before_reset: bool = False, *,
        name: str | None = None) -> Node:
    """ONNX's GRU (gates ``z r h``): ``output`` ``"Y"`` or ``"Y_h"``; ``linear_before_reset=True`` as torch."""
    return _build(GRU, {"X": x, "W": w, "R": r, "B": b, "initial_h": initial_h}, direction, layout, output, clip,
                  name, linear_before_reset=linear_before_reset)


def rnn(x: Any, w: Any, r: Any, b: Any = None, initial_h: Any = None, direction: str = "forward", layout: int = 0,
        output: str = "Y", clip: float | None = None, *, name: str | None = None) -> Node:
    """ONNX's simple RNN with tanh: ``output`` ``"Y"`` or ``"Y_h"``."""
    return _build(RNN, {"X": x, "W": w, "R": r, "B": b, "initial_h": initial_h}, direction, layout, output, clip, name)
