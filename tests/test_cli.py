"""The tinygraph command line, run in-process through main(argv), and once as `python -m tinygraph`."""

import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import tinygraph as tg
from tinygraph import cli, registry, zoo
from tinygraph.cli import main
from tinygraph.nn import model_of


def textbook(tmp_path):
    rng = np.random.default_rng(3)
    x = tg.input("x", shape=(None, 2))
    model = tg.nn.Sequential(tg.nn.Affine.init(2, 4, rng=rng), tg.nn.Sigmoid(), tg.nn.Affine.init(4, 3, rng=rng))
    y = model(x)
    path = tmp_path / "textbook.tg"
    tg.save(y, path)
    return str(path), x, y


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_user_error(status, err, *fragments):
    assert status == 1
    assert err.startswith("tinygraph: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_show_prints_the_listing(tmp_path, capsys):
    path, x, y = textbook(tmp_path)
    status, out, err = run_cli(capsys, "show", path)
    assert status == 0 and err == ""
    assert out == str(tg.Graph(y)) + "\n"


def test_show_missing_file(tmp_path, capsys):
    status, _, err = run_cli(capsys, "show", tmp_path / "nothing.tg")
    assert_user_error(status, err, "nothing.tg: no such file")


def test_show_damaged_file(tmp_path, capsys):
    path = tmp_path / "bad.tg"
    path.write_bytes(b"PK\x03\x04 not really")
    status, _, err = run_cli(capsys, "show", path)
    assert_user_error(status, err, "not a tinygraph file")


def test_show_a_directory(tmp_path, capsys):
    status, _, err = run_cli(capsys, "show", tmp_path)
    assert_user_error(status, err, "no such file")


def test_run_writes_one_output_to_npy(tmp_path, capsys):
    path, x, y = textbook(tmp_path)
    batch = np.random.default_rng(0).standard_normal((10, 2))
    np.save(tmp_path / "batch.npy", batch)
    status, out, err = run_cli(capsys, "run", path, "--input", f"x={tmp_path / 'batch.npy'}", "-o", tmp_path / "y.npy")
    assert status == 0, err
    result = np.load(tmp_path / "y.npy")
    assert result.shape == (10, 3)
    assert result.tobytes() == tg.evaluate(y, {x: batch}).tobytes()


def test_run_without_output_prints(tmp_path, capsys):
    path, x, y = textbook(tmp_path)
    np.save(tmp_path / "batch.npy", np.zeros((1, 2)))
    status, out, _ = run_cli(capsys, "run", path, "--input", f"x={tmp_path / 'batch.npy'}")
    assert status == 0
    expected = tg.evaluate(y, {x: np.zeros((1, 2))})
    assert out.startswith("add_4: f64[1,3] =\n") and np.array2string(expected) in out


def test_run_several_outputs_to_npz(tmp_path, capsys):
    x = tg.input("x", shape=(3,))
    a = tg.exp(x, name="a")
    tg.save([a, tg.tanh(x), a], tmp_path / "two.tg")
    np.save(tmp_path / "x.npy", np.arange(3.0))
    feed = f"x={tmp_path / 'x.npy'}"
    status, _, err = run_cli(capsys, "run", tmp_path / "two.tg", "--input", feed, "-o", tmp_path / "out.npy")
    assert_user_error(status, err, "the graph has 3 outputs (a, tanh_0, a_1): write them to a .npz file")
    status, _, err = run_cli(capsys, "run", tmp_path / "two.tg", "--input", feed, "-o", tmp_path / "out.npz")
    assert status == 0, err
    with np.load(tmp_path / "out.npz") as out:
        assert sorted(out.files) == ["a", "a_1", "tanh_0"]
        np.testing.assert_array_equal(out["a"], np.exp(np.arange(3.0)))
        np.testing.assert_array_equal(out["tanh_0"], np.tanh(np.arange(3.0)))


@pytest.mark.parametrize(
    "make_args, fragments",
    [
        (lambda d: [], ["missing feed for input(s) 'x'", "f64[?,2]"]),
        (lambda d: ["--input", f"y={d / 'good.npy'}"], ["unknown input name", "'y'"]),
        (lambda d: ["--input", f"x={d / 'wide.npy'}"], ["input 'x' expects f64[?,2]", "f64[5,3]"]),
        (lambda d: ["--input", f"x={d / 'ints.npy'}"], ["input 'x' expects f64[?,2]", "dtype <U1"]),
        (lambda d: ["--input", f"x={d / 'text.npy'}"], ["cannot read", "text.npy"]),
        (lambda d: ["--input", f"x={d / 'objects.npy'}"], ["cannot read", "allow_pickle"]),
        (lambda d: ["--input", f"x={d / 'several.npz'}"], ["several.npz holds several arrays"]),
        (lambda d: ["--input", f"x={d / 'absent.npy'}"], ["absent.npy: no such file"]),
        (lambda d: ["--input", "x"], ["--input takes NAME=FILE.npy, got 'x'"]),
        (lambda d: ["--input", f"x={d / 'good.npy'}", "--input", f"x={d / 'good.npy'}"], ["given twice"]),
        (lambda d: ["--input", f"x={d / 'good.npy'}", "-o", d / "out.csv"], ["must end in .npy"]),
    ],
)
def test_run_user_mistakes(tmp_path, capsys, make_args, fragments):
    path, _, _ = textbook(tmp_path)
    np.save(tmp_path / "good.npy", np.zeros((5, 2)))
    np.save(tmp_path / "wide.npy", np.zeros((5, 3)))
    np.save(tmp_path / "ints.npy", np.array([["a", "b"]]))
    np.save(tmp_path / "objects.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    (tmp_path / "text.npy").write_text("1, 2, 3")
    np.savez(tmp_path / "several.npz", a=np.zeros(2), b=np.ones(2))
    status, _, err = run_cli(capsys, "run", path, *make_args(tmp_path))
    assert_user_error(status, err, *fragments)


def test_unknown_op_and_import_option(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(registry, "_by_name", dict(registry._by_name))
    monkeypatch.setattr(registry, "_name_of", dict(registry._name_of))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)

    class Double(tg.Op):
        registry_name = "cli_test.Double"

        def forward(self, a):
            return 2 * a

    tg.save(Double()(tg.input("x", shape=(2,))), tmp_path / "custom.tg")
    del registry._by_name["cli_test.Double"]  # as in a fresh process that never defined it
    status, _, err = run_cli(capsys, "show", tmp_path / "custom.tg")
    assert_user_error(status, err, "unknown op 'cli_test.Double'", "tg.register_op")

    (tmp_path / "tg_cli_test_ops.py").write_text(textwrap.dedent("""
        import tinygraph as tg

        class Double(tg.Op):
            registry_name = "cli_test.Double"

            def forward(self, a):
                return 2 * a
    """))
    try:
        status, out, err = run_cli(capsys, "show", tmp_path / "custom.tg", "--import", "tg_cli_test_ops")
        assert status == 0, err
        assert "double(x)" in out
        status, _, err = run_cli(capsys, "show", tmp_path / "custom.tg", "--import", "no_such_module_here")
        assert_user_error(status, err, "--import no_such_module_here")
    finally:
        sys.modules.pop("tg_cli_test_ops", None)


def test_unknown_file_or_example(capsys):
    status, _, err = run_cli(capsys, "show", "no-such-network")
    assert_user_error(status, err, "no-such-network: no such file, and not the name of an example network")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["render", "x.tg"])  # -o is required
    assert info.value.code == 2
    assert "-o/--output" in capsys.readouterr().err


# --- render ---------------------------------------------------------------------------------------


class FakeExport(types.ModuleType):
    """Stands in for tinygraph.diagrams.export, recording what the render command asks of it."""

    RENDER_OPTIONS = {"rankdir": "direction", "highlight": "nodes to highlight"}

    def __init__(self, fail=None):
        super().__init__("tinygraph.export")
        self.calls = []
        self.fail = fail

    def parse_option(self, name, text):
        if name not in self.RENDER_OPTIONS:
            raise ValueError(f"unknown drawing option {name!r}")
        return text.split(",")

    def render(self, obj, path, style="ops", **options):
        if self.fail:
            raise self.fail
        self.calls.append((obj, path, style, options))
        return path


def test_render_passes_every_flag_to_the_exporter(tmp_path, capsys, monkeypatch):
    fake = FakeExport()
    monkeypatch.setattr(cli, "export", fake)
    path, _, y = textbook(tmp_path)
    out_path = str(tmp_path / "net.svg")
    status, out, err = run_cli(capsys, "render", path, "-o", out_path, "--rankdir", "TB", "--no-params",
                               "--no-constants", "--no-shapes", "--no-clusters", "--option", "highlight=add_1,W1")
    assert status == 0, err
    assert out == out_path + "\n"
    [(obj, written, style, options)] = fake.calls
    assert isinstance(obj, tg.Graph) and str(obj) == str(tg.Graph(y))
    assert (written, style) == (out_path, "ops")
    assert options == {"rankdir": "TB", "params": False, "constants": False, "shapes": False, "clusters": False,
                       "highlight": ["add_1", "W1"]}


def test_render_reports_exporter_errors(tmp_path, capsys, monkeypatch):
    path, _, _ = textbook(tmp_path)
    monkeypatch.setattr(cli, "export", FakeExport())
    status, _, err = run_cli(capsys, "render", path, "-o", tmp_path / "a.svg", "--option", "colour=red")
    assert_user_error(status, err, "unknown drawing option 'colour'")
    status, _, err = run_cli(capsys, "render", path, "-o", tmp_path / "a.svg", "--option", "colour")
    assert_user_error(status, err, "--option takes NAME=VALUE")
    missing_dot = RuntimeError("drawing needs Graphviz's dot program: apt-get install graphviz")
    monkeypatch.setattr(cli, "export", FakeExport(fail=missing_dot))
    status, _, err = run_cli(capsys, "render", path, "-o", tmp_path / "a.svg")
    assert_user_error(status, err, "apt-get install graphviz")


def test_render_a_saved_file_to_svg(tmp_path, capsys):
    path, _, _ = textbook(tmp_path)
    status, _, err = run_cli(capsys, "render", path, "-o", tmp_path / "net.svg", "--rankdir", "TB", "--no-shapes")
    assert status == 0, err
    svg = (tmp_path / "net.svg").read_text()
    assert "<svg" in svg and all(name in svg for name in ("W1", "b1", "W2", "b2", "sigmoid_2"))
    status, _, err = run_cli(capsys, "render", path, "-o", tmp_path / "net.gv", "--no-params")
    assert status == 0, err
    assert "digraph" in (tmp_path / "net.gv").read_text()


def test_render_the_textbook_example_in_both_styles(tmp_path, capsys):
    for style in ("ops", "neurons"):
        status, _, err = run_cli(capsys, "render", "textbook", "-o", tmp_path / f"{style}.svg", "--style", style)
        assert status == 0, err
        assert "<svg" in (tmp_path / f"{style}.svg").read_text()


def test_render_a_saved_network_as_neurons(tmp_path, capsys):
    path, _, _ = textbook(tmp_path)
    status, _, err = run_cli(capsys, "render", path, "-o", tmp_path / "n.svg", "--style", "neurons")
    assert status == 0, err
    assert "<svg" in (tmp_path / "n.svg").read_text()


def test_model_of_a_saved_network(tmp_path):
    path, x, y = textbook(tmp_path)
    loaded = tg.load(path)
    model = model_of(loaded)
    assert [type(layer) for layer in model] == [tg.nn.Affine, tg.nn.Sigmoid, tg.nn.Affine]
    assert [layer.name for layer in model] == ["affine1", "sigmoid1", "affine2"]
    assert [p.name for p in model.params] == ["W1", "b1", "W2", "b2"]
    assert all(p is q for p, q in zip(model.params, loaded.parameters))
    batch = np.random.default_rng(4).standard_normal((3, 2))
    x2 = tg.input("x", shape=(None, 2))
    np.testing.assert_array_equal(tg.evaluate(model(x2), {x2: batch}), tg.evaluate(y, {x: batch}))


def test_model_of_other_graphs_is_none():
    x = tg.input("x", shape=(None, 2))
    W = tg.parameter(np.ones((2, 2)), name="W")
    assert model_of(tg.Graph(tg.exp(x @ W + 1.0))) is None  # a constant bias, and exp
    assert model_of(tg.Graph(x @ W + x)) is None  # the bias is not a parameter
    assert model_of(tg.Graph([tg.sigmoid(x), tg.tanh(x)])) is None  # two outputs
    assert model_of(tg.Graph(tg.sigmoid(x) + tg.input("z", shape=(None, 2)))) is None  # two inputs
    assert model_of(tg.Graph(x @ W + tg.parameter(np.ones((2, 2)), name="B"))) is None  # a 2-D bias
    assert model_of(tg.Graph(tg.relu(x @ W + tg.parameter(np.ones(2), name="b")))) is not None


def test_render_neurons_passes_the_model_to_the_exporter(tmp_path, capsys, monkeypatch):
    fake = FakeExport()
    monkeypatch.setattr(cli, "export", fake)
    path, _, _ = textbook(tmp_path)
    status, _, err = run_cli(capsys, "render", path, "-o", tmp_path / "n.svg", "--style", "neurons")
    assert status == 0, err
    [(obj, _, style, _)] = fake.calls
    assert isinstance(obj, tg.nn.Sequential) and style == "neurons"
    x = tg.input("x", shape=(3,))
    tg.save(tg.exp(x), tmp_path / "exp.tg")
    status, _, err = run_cli(capsys, "render", tmp_path / "exp.tg", "-o", tmp_path / "n.svg", "--style", "neurons")
    assert_user_error(status, err, "is not one: draw it with --style ops")


def test_show_an_example_network(capsys):
    model, x, y = zoo.EXAMPLES["textbook"]()
    status, out, _ = run_cli(capsys, "show", "textbook")
    assert status == 0 and out == str(tg.Graph(y)) + "\n"


# --- ONNX -----------------------------------------------------------------------------------------


def test_onnx_file_without_the_onnx_module(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tinygraph.onnx", None)
    (tmp_path / "net.onnx").write_bytes(b"\x08\x07")
    status, _, err = run_cli(capsys, "show", tmp_path / "net.onnx")
    assert_user_error(status, err, "cannot read ONNX file")


def test_show_and_run_an_onnx_file(tmp_path, capsys):
    tg_onnx = tg.onnx
    pytest.importorskip("onnx")
    _, x, y = textbook(tmp_path)
    tg_onnx.export(tg.Graph(y), str(tmp_path / "net.onnx"))
    status, out, err = run_cli(capsys, "show", tmp_path / "net.onnx")
    assert status == 0, err
    assert out.startswith("graph(x: f64[?,2]):")
    batch = np.random.default_rng(5).standard_normal((4, 2))
    np.save(tmp_path / "b.npy", batch)
    status, _, err = run_cli(capsys, "run", tmp_path / "net.onnx", "--input", f"x={tmp_path / 'b.npy'}",
                             "-o", tmp_path / "o.npy")
    assert status == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), tg.evaluate(y, {x: batch}), rtol=1e-12)


# --- as a program ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_python_dash_m_tinygraph(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-m", "tinygraph", "--help"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0
    assert all(command in done.stdout for command in ("render", "show", "run"))
    done = subprocess.run([sys.executable, "-m", "tinygraph", "show", "missing.tg"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygraph: error: missing.tg: no such file")


@pytest.mark.parametrize(
    "command, flags",
    [
        ("render", ["-o OUT", "--style", "--rankdir", "--no-params", "--no-constants", "--no-shapes", "--no-clusters",
                    "--option NAME=VALUE", "--import MODULE", ".svg"]),
        ("show", ["FILE", "--import MODULE"]),
        ("run", ["--input NAME=FILE.npy", "-o OUT", ".npz"]),
    ],
)
def test_help_explains_each_option(capsys, command, flags):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in flags:
        assert flag in out


@pytest.mark.slow
def test_cli_show_into_a_closed_pipe_is_not_an_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "chain.tg"
    x = tg.input("x", shape=(None, 2))
    y = x
    for _ in range(3000):
        y = y + 1.0
    tg.save(y, path)
    shown = subprocess.run(
        f"{sys.executable} -m tinygraph show {path} | head -n 1", shell=True, capture_output=True, text=True
    )
    assert shown.stdout.startswith("graph(x: f64[?,2])")
    assert "error" not in shown.stderr.lower()


def test_run_refuses_a_graph_asking_for_more_than_max_bytes(tmp_path, capsys):
    # issue 10: a 537-byte file made `tinygraph run` allocate 1 GiB (16 GiB with 2**31 rows)
    path = tmp_path / "bomb.tg"
    tg.save(tg.sum(tg.constant(np.zeros((2**31, 0))), axis=1), path)
    status, out, err = run_cli(capsys, "run", path)
    assert_user_error(status, err, "node 1 (Sum) holds f64[2147483648], 17,179,869,184 bytes or more",
                      "over the limit of 268,435,456 bytes", "--max-bytes")
    assert out == ""


def test_max_bytes_can_be_raised_and_lowered(tmp_path, capsys):
    path = tmp_path / "rows.tg"
    tg.save(tg.sum(tg.constant(np.zeros((2**17, 0))), axis=1), path)  # 1 MiB
    status, _, err = run_cli(capsys, "run", path, "-o", tmp_path / "out.npy", "--max-bytes", "1023K")
    assert_user_error(status, err, "over the limit of 1,047,552 bytes")
    assert run_cli(capsys, "run", path, "-o", tmp_path / "out.npy", "--max-bytes", "1MiB")[0] == 0
    assert np.load(tmp_path / "out.npy").shape == (2**17,)
    with pytest.raises(SystemExit) as info:
        main(["run", str(path), "--max-bytes", "lots"])
    assert info.value.code == 2 and "expected a size in bytes" in capsys.readouterr().err


def test_run_checks_max_bytes_of_onnx_files_too(tmp_path, capsys):
    pytest.importorskip("onnx")
    x = tg.input("x", shape=(None, 2**10))
    tg.onnx.export(tg.relu(x), tmp_path / "wide.onnx")
    status, _, err = run_cli(capsys, "run", tmp_path / "wide.onnx", "--max-bytes", "4K")
    assert_user_error(status, err, "node x holds f64[?,1024], 8,192 bytes or more")


def test_run_an_example_with_a_bad_feed_names_the_examples_input(tmp_path, capsys):
    np.save(tmp_path / "b.npy", np.ones((2, 3)))
    status, _, err = run_cli(capsys, "run", "textbook", "--input", f"x={tmp_path / 'b.npy'}")
    assert_user_error(status, err, "input 'x' expects f64[?,2]", "zoo.py")
    assert "cli.py" not in err and "test_cli.py" not in err
