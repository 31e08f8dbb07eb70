"""Draw resnet18's operation graph with one box per residual block (imported with tg.from_torch).

    python examples/draw_resnet.py [--out DIR]      # default: docs/images

tg.from_torch builds each submodule's nodes inside a scope named after its module path
(``layer2.0.conv1``), so the diagram has one cluster per module; ``collapse`` draws each of
the eight BasicBlocks (``layer1/layer1.0`` ... ``layer4/layer4.1``) as one box listing its ops,
parameter count and outgoing shape. Writes resnet18_ops.svg. The architecture is written in
tests/torch_models.py (torchvision's, with random weights).
"""

from __future__ import annotations

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from torch_models import build  # noqa: E402

import tinygraph as tg  # noqa: E402

BLOCKS = [f"layer{i}/layer{i}.{j}" for i in range(1, 5) for j in range(2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/images", help="directory for the picture (default: docs/images)")
    args = parser.parse_args()
    model, example = build("resnet18", shape=(3, 224, 224))
    g = tg.from_torch(model, example)
    print(f"resnet18: {len(g.nodes)} nodes, {sum(n.op.kind == 'conv' for n in g.nodes)} convolutions")
    path = tg.render(g, pathlib.Path(args.out) / "resnet18_ops.svg", collapse=BLOCKS, rankdir="TB",
                     title="resnet18 (tg.from_torch), each BasicBlock collapsed")
    print("wrote", path)


if __name__ == "__main__":
    main()
