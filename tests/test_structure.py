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
            "tinygraph.executor", "tinygraph.arrays", "tinygraph._gc", "tinygraph._version", "tinygraph.text"}
    core |= {m for m in _imports() if m.startswith("tinygraph.ops")}
    for module, targets in _imports().items():
        if module in core:
            assert targets <= core, f"{module} imports {sorted(targets - core)} from above the core"


def test_no_module_outside_the_ops_names_a_built_in_op_class():
    op_classes = {name for name, value in vars(tg.ops).items()
                  if isinstance(value, type) and issubclass(value, tg.Op)
                  and value not in (tg.Op, tg.ops.Input, tg.ops.Parameter, tg.ops.Constant)}
    families = {"ops", *(module.__name__.rpartition(".")[2] for module in tg.ops.FAMILIES)}
    for folder, _, files in os.walk(PACKAGE):
        for f in files:
            path = os.path.join(folder, f)
            if not f.endswith(".py") or os.path.dirname(path) == os.path.join(PACKAGE, "ops") \
                    or path == os.path.join(PACKAGE, "__init__.py"):
                continue
            tree = ast.parse(open(path, encoding="utf-8").read())
            named = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     and (n.module or "").split(".")[-1] in families for a in n.names}
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


# --- smaller things newcomers hit (issue: redesign, item 5) ------------------------------------------


def test_sequential_takes_ops_and_plain_functions():
    rng = np.random.default_rng(0)
    model = tg.nn.Sequential(tg.nn.Affine.init(2, 3, rng=rng), tg.ops.Tanh(), lambda h: h * 2.0, tg.softplus)
    x = tg.input("x", shape=(None, 2))
    batch = rng.standard_normal((4, 2))
    W, b = (np.asarray(p.value) for p in model.params)
    expected = np.logaddexp(0, np.tanh(batch @ W + b) * 2.0)
    np.testing.assert_allclose(tg.evaluate(model(x), {x: batch}), expected, rtol=1e-15)
    assert [layer.name for layer in model] == ["affine1", "tanh1", "apply1", "softplus1"]


def test_a_parameter_updated_in_place_as_the_textbook_does():
    W = tg.parameter(np.ones((2, 2)), name="W")
    old = W.value
    W.value -= 0.5 * np.ones((2, 2))
    np.testing.assert_array_equal(W.value, np.full((2, 2), 0.5))
    np.testing.assert_array_equal(old, np.ones((2, 2)))  # a value handed out earlier never changes
    with pytest.raises(ValueError, match="read-only.*p.value = v"):
        W.value[0, 0] = 3.0
    with pytest.raises(tg.ShapeError, match="shape and dtype kind are fixed"):
        W.value = np.ones(3)


def test_evaluate_takes_a_dict_of_outputs():
    x = tg.input("x", shape=(None, 2))
    h = tg.exp(x)
    out = tg.evaluate({"hidden": h, "y": h + 1.0}, {x: np.zeros((1, 2))})
    assert list(out) == ["hidden", "y"]
    np.testing.assert_array_equal(out["y"], np.full((1, 2), 2.0))
    traced = tg.Executor().run({"y": h * 3.0}, {x: np.zeros((1, 2))}, observers=[lambda n, v: None])
    np.testing.assert_array_equal(traced["y"], np.full((1, 2), 3.0))


def test_a_user_op_declaring_onnx_exports_runs_in_onnxruntime_and_imports_back():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    class Shrink(tg.Op):
        """``a`` where ``|a| > 0.5``, else 0 (ONNX's ``Shrink`` with its defaults; no built-in op has it)."""

        arity = 1
        onnx_type = "Shrink"

        def forward(self, a):
            return np.where(np.abs(a) > 0.5, a, 0).astype(a.dtype)

    x = tg.input("x", shape=(None, 3), dtype=np.float32)
    y = Shrink()(x)
    batch = np.linspace(-3, 3, 6, dtype=np.float32).reshape(2, 3)
    model = tg.onnx.to_model(y)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": batch})[0], tg.evaluate(y, {x: batch}), rtol=1e-6)
    back = tg.onnx.from_model(model)
    assert any(isinstance(n.op, Shrink) for n in back.nodes)


def test_an_op_overriding_forward_does_not_inherit_its_bases_onnx_mapping():
    pytest.importorskip("onnx")

    class Shifted(tg.ops.Tanh):
        def forward(self, a):
            return np.tanh(a) + 1.0

    with pytest.raises(tg.onnx.OnnxExportError, match="no ONNX mapping"):
        tg.onnx.to_model(Shifted()(tg.input("x", shape=(2,))))


def test_compiled_names_that_fold_together_stay_apart():
    # Python folds identifiers by NFKC: "\ufb01" is "fi", "𝐱" is "x"; generated code must not merge them.
    x = tg.input("x", shape=(2,))
    y = tg.add(x, 1.0, name="fi") - tg.mul(x, 3.0, name="\ufb01")
    v = np.array([1.0, 2.0])
    np.testing.assert_array_equal(tg.compile(y)(v), tg.evaluate(y, {x: v}))
    z = tg.parameter(np.ones(2), name="µ") * tg.input("𝐱", shape=(2,)) + x
    np.testing.assert_array_equal(tg.compile(z)(**{"𝐱": v, "x": v}), tg.evaluate(z, {"𝐱": v, "x": v}))


def test_masked_arrays_are_refused_and_subclasses_computed_as_plain_arrays():
    x = tg.input("x", shape=(None, 2))
    y = tg.sum(x * 2.0, axis=0)
    with pytest.raises(tg.FeedError, match="masked array"):
        tg.evaluate(y, {x: np.ma.array(np.ones((2, 2)), mask=[[1, 0], [0, 0]])})
    with pytest.warns(PendingDeprecationWarning):
        m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    for got in (tg.evaluate(y, {x: m}), tg.compile(y)(m)):
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, [8.0, 12.0])


def test_op_classes_made_by_a_factory_are_not_kept_alive():
    import gc
    import weakref

    def make():
        class Temp(tg.ops.Exp):  # the same registry name each time: the newest class holds it
            pass

        x = tg.input("x", shape=(2,))
        tg.evaluate(Temp()(x) * 1.0, {x: np.ones(2)})
        return weakref.ref(Temp)

    first = make()
    make()
    gc.collect()
    assert first() is None  # neither the planner nor the registry keeps the older class
