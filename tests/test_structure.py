"""The package's structure: layers without import cycles, and ops that no other module names."""

import ast
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinygraph as tg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "tinygraph")


def _imports():
    """module -> the tinygraph modules it imports, every import statement counted (lazy ones too)."""
    modules = {}
    for folder, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                modules[rel.removesuffix(".__init__")] = (path, f == "__init__.py")
    edges = {}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(open(path, encoding="utf-8").read())
        targets = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom):
                base = name.split(".") if is_package else name.split(".")[:-1]
                if n.level:
                    base = base[: len(base) - (n.level - 1)]
                    src = ".".join(base + ([n.module] if n.module else []))
                else:
                    src = n.module or ""
                for a in n.names:
                    full = f"{src}.{a.name}"
                    targets.add(full if full in modules else src)
            elif isinstance(n, ast.Import):
                targets.update(a.name for a in n.names)
        edges[name] = {t for t in targets if t in modules and t not in (name, "tinygraph")}
    return edges


def test_no_import_cycles_anywhere_lazy_imports_included():
    edges = _imports()
    # Depth-first search for a back edge, iteratively.
    state = {}
    for start in edges:
        if start in state:
            continue
        stack = [(start, iter(sorted(edges[start])))]
        state[start] = "open"
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                stack.pop()
            elif state.get(child) == "open":
                cycle = [n for n, _ in stack] + [child]
                pytest.fail("import cycle: " + " -> ".join(cycle[cycle.index(child):]))
            elif child not in state:
                state[child] = "open"
                stack.append((child, iter(sorted(edges[child]))))


def test_the_core_imports_nothing_above_it():
    core = {"tinygraph.errors", "tinygraph.shapes", "tinygraph.site", "tinygraph.registry", "tinygraph.hooks",
            "tinygraph.node", "tinygraph.op", "tinygraph.graph", "tinygraph.feeds", "tinygraph.plan",
            "tinygraph.executor", "tinygraph._gc", "tinygraph._version", "tinygraph.text"}
    core |= {m for m in _imports() if m.startswith("tinygraph.ops")}
    for module, targets in _imports().items():
        if module in core:
            assert targets <= core, f"{module} imports {sorted(targets - core)} from above the core"


def test_no_module_outside_the_ops_names_a_built_in_op_class():
    op_classes = {name for name, value in vars(tg.ops).items()
                  if isinstance(value, type) and issubclass(value, tg.Op)
                  and value not in (tg.Op, tg.ops.Input, tg.ops.Parameter, tg.ops.Constant)}
    for folder, _, files in os.walk(PACKAGE):
        for f in files:
            path = os.path.join(folder, f)
            if not f.endswith(".py") or os.path.dirname(path) == os.path.join(PACKAGE, "ops") \
                    or path == os.path.join(PACKAGE, "__init__.py"):
                continue
            tree = ast.parse(open(path, encoding="utf-8").read())
            named = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     and (n.module or "").split(".")[-1] in ("ops", "elementwise", "activations", "linalg",
                                                              "reductions", "layout") for a in n.names}
            named |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                      and isinstance(n.value, ast.Name) and n.value.id == "ops"}
            assert not named & op_classes, f"{os.path.relpath(path, ROOT)} names {sorted(named & op_classes)}"


@pytest.mark.slow
def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install 'tinygraph[dev]')")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_building_printing_evaluating_and_exporting_change_no_name(tmp_path):
    x = tg.input("x", shape=(None, 2))
    h = tg.exp(x @ np.ones((2, 2)))
    y = tg.tanh(h) + 1.0
    other = tg.sigmoid(h) * 2.0
    nodes = tg.Graph([y, other]).nodes
    before = [n.name for n in nodes]
    listings = (str(tg.Graph(y)), str(tg.Graph(other)))
    g = tg.Graph(y)
    str(g), repr(y), repr(g), g.to_dot().source
    tg.evaluate(y, {x: np.ones((1, 2))})
    tg.evaluate([other, y], {x: np.ones((1, 2))})
    tg.compile(y)(np.ones((1, 2)))
    tg.profile(other, {x: np.ones((1, 2))})
    tg.save(y, tmp_path / "y.tg")
    tg.Graph(h), tg.Graph([other, h])
    assert [n.name for n in nodes] == before
    assert (str(tg.Graph(y)), str(tg.Graph(other))) == listings


def test_a_rename_changes_that_node_only():
    x = tg.input("x", shape=(None, 2))
    h = tg.exp(x * 2.0)
    y = tg.tanh(h @ np.ones((2, 3))) + 1.0
    g = tg.Graph(y)
    names = {n: g.name_of(n) for n in g.nodes}
    h.name = "hidden"
    renamed = tg.Graph(y)
    assert renamed.name_of(h) == "hidden"
    assert all(renamed.name_of(n) == names[n] for n in g.nodes if n is not h)
    assert g.name_of(h) == names[h]  # a graph built before keeps its own names
