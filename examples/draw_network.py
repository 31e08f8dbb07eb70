"""Draw the textbook 2-4-3 network twice: as its operation graph and as the neuron diagram.

    python examples/draw_network.py [--out DIR]      # default: docs/images (what `make diagrams` runs)

Writes textbook_ops.{svg,png} and textbook_neurons.{svg,png}, plus the other pictures
docs/diagrams.md shows (SVG only). The weights come from a fixed seed, so running it
again gives the same pictures.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

import tinygraph as tg
from tinygraph.zoo import textbook_network

OPS_TITLE = "the textbook 2-4-3 network: y = sigmoid(x @ W1 + b1) @ W2 + b2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/images", help="directory for the pictures (default: docs/images)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights (default: 0)")
    args = parser.parse_args()
    out = pathlib.Path(args.out)

    model, x, y = textbook_network(seed=args.seed)
    print(tg.Graph(y))
    batch = np.random.default_rng(args.seed).standard_normal((10, 2))
    print("predict(10 samples) ->", tg.evaluate(y, {x: batch}).shape)

    written = []
    for ext in ("svg", "png"):
        written.append(tg.render(y, out / f"textbook_ops.{ext}", title=OPS_TITLE))
        written.append(tg.render(model, out / f"textbook_neurons.{ext}", style="neurons", bias=True,
                                 title="the textbook 2-4-3 network"))

    # The option gallery of docs/diagrams.md.
    values = tg.trace(y, {x: batch[:2]})
    written.append(tg.render(y, out / "textbook_ops_values.svg", values=values, params=False,
                             title="values of a run on 2 samples (parameters folded into their ops)"))
    written.append(tg.render(y, out / "textbook_ops_collapsed.svg", collapse=["affine1", "affine2"],
                             highlight=["sigmoid_2"], rankdir="TB"))
    rng = np.random.default_rng(args.seed)
    mnist = tg.nn.Sequential(tg.nn.Affine.init(784, 100, rng=rng, scale=0.05), tg.nn.ReLU(),
                             tg.nn.Affine.init(100, 10, rng=rng, scale=0.1), tg.nn.Softmax())
    written.append(tg.render(mnist, out / "mlp_784_100_10_neurons.svg", style="neurons", max_neurons=8))
    for path in written:
        print("wrote", path)


if __name__ == "__main__":
    main()
