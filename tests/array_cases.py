"""Graphs for the ops no ONNX conformance case reaches, run on every array library.

Each family module lists ``CASES``: ``(build, name)`` pairs, ``build()`` returning
``(outputs, feeds)`` with numpy feeds (tests/test_array_libraries.py converts them).
"""

from array_cases_a import CASES as A
from array_cases_b import CASES as B
from array_cases_c import CASES as C
from array_cases_d import CASES as D

CASES = [*A, *B, *C, *D]
