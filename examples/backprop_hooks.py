"""The autograd hooks suffice: a reverse pass over a trace, with backward added from outside the library.

tinygraph is forward only, but every op has a ``backward(grad, inputs, output)`` hook and the
executor can keep every node's value (``tg.trace``). This script gives ``MatMul``, ``Add`` and
``Sigmoid`` a backward by assigning the class attribute (no library file is edited), runs the
reverse pass for the textbook 2-4-3 network, and checks the gradients against finite differences.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

import tinygraph as tg
from tinygraph import ops


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the dims that broadcasting added or stretched, back to ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def matmul_backward(self: Any, grad: np.ndarray, inputs: list[Any], output: Any) -> list[np.ndarray]:
    a, b = (np.asarray(v) for v in inputs)  # 2-D operands or stacks of them
    ga = np.matmul(grad, np.swapaxes(b, -1, -2))
    gb = np.matmul(np.swapaxes(a, -1, -2), grad)
    return [unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)]


def add_backward(self: Any, grad: np.ndarray, inputs: list[Any], output: Any) -> list[np.ndarray]:
    return [unbroadcast(grad, np.shape(v)) for v in inputs]


def sigmoid_backward(self: Any, grad: np.ndarray, inputs: list[Any], output: Any) -> list[np.ndarray]:
    return [grad * output * (1 - output)]


BACKWARDS = {ops.MatMul: matmul_backward, ops.Add: add_backward, ops.Sigmoid: sigmoid_backward}


def install() -> None:
    """Register the backward hooks on the built-in op classes."""
    for cls, backward in BACKWARDS.items():
        cls.backward = backward  # type: ignore[method-assign]


def backprop(output: tg.Node, feeds: dict[Any, Any], grad_output: np.ndarray) -> dict[tg.Node, np.ndarray]:
    """Gradients w.r.t. every node, given the gradient w.r.t. ``output``: one forward, one reverse pass."""
    values = tg.trace(output, feeds)
    grads: dict[tg.Node, np.ndarray] = {output: grad_output}
    for node in reversed(tg.Graph(output).nodes):
        if node not in grads or not node.inputs:
            continue
        inputs = [values[i] for i in node.inputs]
        for i, g in zip(node.inputs, node.op.backward(grads[node], inputs, values[node])):
            if g is not None:
                grads[i] = grads[i] + g if i in grads else g  # fan-out: gradients add up
    return grads


def loss_and_seed(y: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error ``mean((y - t)**2)`` and its gradient w.r.t. ``y``."""
    return float(np.mean((y - t) ** 2)), 2 * (y - t) / y.size


def numerical_gradient(param: tg.Node, loss: Any, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of ``loss()`` w.r.t. the value of ``param``."""
    base = param.value.copy()
    grad = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        for sign in (+1, -1):
            moved = base.copy()
            moved[idx] += sign * eps
            param.value = moved
            grad[idx] += sign * loss() / (2 * eps)
    param.value = base
    return grad


def main() -> int:
    install()
    rng = np.random.default_rng(0)
    net = tg.nn.Sequential(tg.nn.Affine.init(2, 4, rng=rng), tg.nn.Sigmoid(), tg.nn.Affine.init(4, 3, rng=rng))
    x = tg.input("x", shape=(None, 2))
    y = net(x)
    batch, target = rng.standard_normal((10, 2)), rng.standard_normal((10, 3))

    def loss() -> float:
        return loss_and_seed(tg.evaluate(y, {x: batch}), target)[0]

    out = tg.evaluate(y, {x: batch})
    value, seed = loss_and_seed(out, target)
    grads = backprop(y, {x: batch}, seed)
    print(f"loss = mean((y - t)**2) = {value:.6f}; gradients by the reverse pass vs central finite differences:")
    worst = 0.0
    for p in net.params:
        diff = float(np.max(np.abs(grads[p] - numerical_gradient(p, loss))))
        worst = max(worst, diff)
        print(f"  d loss / d {p.name:<2} shape {str(grads[p].shape):<7} max |difference| = {diff:.1e}")
    ok = worst < 1e-8
    print("gradients match finite differences" if ok else "gradients DO NOT match finite differences")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
