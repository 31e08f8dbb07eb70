"""torch -> tinygraph -> ONNX -> tinygraph: one network through every format, the same outputs each step.

    PYTHONPATH=. python examples/interop.py [--out DIR]

1. the textbook's 2-4-3 network built in PyTorch (nn.Linear keeps its weight as (out, in));
2. imported with tg.nn.from_torch (weights transposed into x @ W + b), checked against torch;
3. exported with tg.onnx.export, checked by onnx.checker and run by onnxruntime;
4. loaded back with tg.onnx.load, checked against step 2, and drawn as a diagram.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import tinygraph as tg


def check(label: str, got: np.ndarray, want: np.ndarray, tol: float) -> None:
    err = float(np.max(np.abs(got - want)))
    print(f"  {label:<38} max |diff| = {err:.2e}  (tolerance {tol:g})")
    if not err <= tol:
        sys.exit(f"{label}: outputs differ by {err}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="interop-output", help="directory for net.onnx and the diagram")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    try:
        import torch
    except ModuleNotFoundError:
        sys.exit("this example needs torch: pip install 'tinygraph[torch]'")

    # 1. PyTorch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 3))
    batch = np.random.default_rng(0).standard_normal((10, 2)).astype(np.float32)
    with torch.no_grad():
        out_torch = model(torch.from_numpy(batch)).numpy()
    print(f"torch: {model}\n  output {out_torch.shape} {out_torch.dtype}")

    # 2. torch -> tinygraph
    net = tg.nn.from_torch(model)
    x = tg.input("x", shape=(None, 2), dtype=np.float32)
    y = net(x)
    out_tg = tg.evaluate(y, {x: batch})
    print("tinygraph, from torch:")
    print("  " + str(tg.Graph(y)).replace("\n", "\n  "))
    check("tinygraph vs torch", out_tg, out_torch, 1e-6)

    # 3. tinygraph -> ONNX
    path = os.path.join(args.out, "net.onnx")
    tg.onnx.export(y, path)
    print(f"ONNX: wrote {path} (opset {tg.onnx.OPSET}, checked by onnx.checker)")
    try:
        import onnxruntime
    except ModuleNotFoundError:
        print("  onnxruntime is not installed: skipping its check")
    else:
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        (out_ort,) = session.run(None, {"x": batch})
        check("onnxruntime vs tinygraph", out_ort, out_tg, 1e-6)

    # 4. ONNX -> tinygraph
    loaded = tg.onnx.load(path)
    (out_loaded,) = tg.evaluate(loaded, {"x": batch})
    print("tinygraph, from ONNX:")
    print("  " + str(loaded).replace("\n", "\n  "))
    check("tinygraph from ONNX vs tinygraph", out_loaded, out_tg, 0.0)

    diagram = os.path.join(args.out, "interop.svg")
    loaded.render(diagram)
    print(f"diagram: wrote {diagram}")
    print("all steps agree")


if __name__ == "__main__":
    main()
