"""The textbook's 2-4-3 network, built as a tinygraph graph and checked against numpy and PyTorch.

Run it with ``make demo`` (or ``python examples/forward_pass.py``). It

1. builds the network with ``tg.nn`` (Affine -> Sigmoid -> Affine), which gives a graph, not numbers;
2. feeds a batch of 10 two-dimensional samples and prints the (10, 3) output;
3. prints each parameter's name and shape, and the graph listing;
4. checks the result against the textbook's plain numpy classes (to 1e-12), and, when PyTorch is
   installed, against the textbook's ``NN_torch`` module imported with ``Affine.from_torch`` (to 1e-6).

It exits with status 1 if a check fails.
"""

from __future__ import annotations

import sys

import numpy as np

import tinygraph as tg

# --- the textbook's numpy classes, written exactly as the textbook writes them -----------------------


class Affine:
    def __init__(self, W, b):
        self.params = [W, b]

    def forward(self, x):
        W, b = self.params
        out = np.matmul(x, W) + b
        return out


class Sigmoid:
    def __init__(self):
        self.params = []

    def forward(self, x):
        return 1 / (1 + np.exp(-x))


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size):
        I, H, O = input_size, hidden_size, output_size
        W1 = np.random.randn(I, H)
        b1 = np.random.randn(H)
        W2 = np.random.randn(H, O)
        b2 = np.random.randn(O)
        self.layers = [Affine(W1, b1), Sigmoid(), Affine(W2, b2)]
        self.params = []
        for layer in self.layers:
            self.params += layer.params

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x


# --- helpers for a readable report --------------------------------------------------------------------

failures: list[str] = []


def heading(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def check(label: str, got: np.ndarray, expected: np.ndarray, tol: float) -> None:
    diff = float(np.max(np.abs(got - expected)))
    ok = got.shape == expected.shape and diff <= tol
    print(f"  [{'ok' if ok else 'FAILED'}] {label}: largest difference {diff:.1e} (allowed {tol:.0e})")
    if not ok:
        failures.append(label)


def main() -> int:
    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    np.random.seed(0)

    # The textbook network, in numpy; tinygraph's layers take the very same arrays.
    reference = TwoLayerNet(2, 4, 3)
    W1, b1, W2, b2 = reference.params

    heading("1. Build the graph (nothing is computed yet)")
    net = tg.nn.Sequential(tg.nn.Affine(W1, b1), tg.nn.Sigmoid(), tg.nn.Affine(W2, b2))
    x = tg.input("x", shape=(None, 2))  # None: any batch size
    y = net(x)
    print(f"  y = net(x) is a {type(y).__name__}: {y!r}")
    print(f"  its shape is {y.shape} (None = the batch size, known when x is fed)")

    heading("2. Feed 10 samples and evaluate")
    batch = np.random.randn(10, 2)
    out = tg.evaluate(y, {x: batch})
    print(f"  input x: shape {batch.shape}    output: shape {out.shape}")
    print("  " + str(out).replace("\n", "\n  "))

    heading("3. The parameters")
    for p in net.params:
        print(f"  {p.name:<3} shape {str(p.shape):<7} {p.dtype}")

    heading("4. The graph listing")
    print("  " + str(tg.Graph(y)).replace("\n", "\n  "))

    heading("5. Checks")
    check("tinygraph == textbook numpy TwoLayerNet.predict", out, reference.predict(batch), 1e-12)
    check_torch(batch)

    print()
    if failures:
        print(f"{len(failures)} check(s) FAILED: " + "; ".join(failures))
        return 1
    print("All checks passed.")
    return 0


def check_torch(batch: np.ndarray) -> None:
    try:
        import torch
        from torch import nn
    except ImportError:
        print("  [skipped] PyTorch is not installed: pip install torch to compare with NN_torch")
        return

    class NN_torch(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.fc1 = nn.Linear(input_size, hidden_size)
            self.sigmoid = nn.Sigmoid()
            self.fc2 = nn.Linear(hidden_size, output_size)

        def forward(self, x):
            out = self.fc1(x)
            out = self.sigmoid(out)
            out = self.fc2(out)
            return out

    torch.manual_seed(0)
    model = NN_torch(2, 4, 3)  # float32, as PyTorch makes it
    # nn.Linear stores its weight as (out, in) and computes x W^T + b; from_torch transposes it.
    net = tg.nn.Sequential(tg.nn.Affine.from_torch(model.fc1), tg.nn.Sigmoid(), tg.nn.Affine.from_torch(model.fc2))
    print(f"  imported NN_torch: fc1.weight {tuple(model.fc1.weight.shape)} became W1 {net.params[0].shape}, "
          f"fc2.weight {tuple(model.fc2.weight.shape)} became W2 {net.params[2].shape}")
    x = tg.input("x", shape=(None, 2), dtype=np.float32)
    samples = batch.astype(np.float32)
    out = tg.evaluate(net(x), {x: samples})
    with torch.no_grad():
        expected = model(torch.from_numpy(samples)).numpy()
    check(f"tinygraph == torch NN_torch (float32, output {out.dtype})", out, expected, 1e-6)

    model64 = model.double()
    net64 = tg.nn.Sequential(tg.nn.Affine.from_torch(model64.fc1), tg.nn.Sigmoid(),
                             tg.nn.Affine.from_torch(model64.fc2))
    x64 = tg.input("x", shape=(None, 2))
    with torch.no_grad():
        expected64 = model64(torch.from_numpy(batch)).numpy()
    check("tinygraph == torch NN_torch (float64)", tg.evaluate(net64(x64), {x64: batch}), expected64, 1e-12)

    # The same graph fed a torch tensor computes with torch, on the tensor's device (docs/scale.md).
    fed = torch.from_numpy(batch).to("cuda" if torch.cuda.is_available() else "cpu")
    got = tg.evaluate(net64(x64), {x64: fed})
    print(f"  fed a torch tensor on {fed.device}: the result is a {type(got).__module__}.{type(got).__name__} "
          f"on {got.device}")
    check("tinygraph on torch tensors == torch NN_torch (float64)", got.cpu().numpy(), expected64, 1e-12)


if __name__ == "__main__":
    sys.exit(main())
