"""Array-library cases for ops no ONNX conformance case reaches (see tests/array_cases.py)."""

CASES: list = []
