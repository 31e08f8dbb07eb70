"""Writing diagram files, golden DOT sources, the missing-Graphviz error, and the example script.

The golden files in tests/golden/ are the exact DOT source of the textbook network in
each style. After an intended change to the diagrams, regenerate them with

    TINYGRAPH_UPDATE_GOLDEN=1 python -m pytest tests/test_diagrams_render.py -k golden

and review the diff like any other change.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import tinygraph as tg
from tests.diagram_helpers import groups, parse_svg
from tinygraph.zoo import textbook_network

GOLDEN = pathlib.Path(__file__).parent / "golden"
ROOT = pathlib.Path(__file__).parent.parent


def check_golden(name: str, source: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TINYGRAPH_UPDATE_GOLDEN"):
        path.write_text(source, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert source == expected, f"{name} changed; if intended, regenerate it (see this module's docstring)"


def test_golden_textbook_ops():
    model, x, y = textbook_network()
    check_golden("textbook_ops.gv", tg.Graph(y).to_dot().source)


def test_golden_textbook_neurons():
    model, x, y = textbook_network()
    check_golden("textbook_neurons.gv", tg.to_dot(model, style="neurons", bias=True).source)


def test_render_writes_the_format_the_extension_names(tmp_path):
    model, x, y = textbook_network()
    graph = tg.Graph(y)
    svg = graph.render(tmp_path / "net.svg")
    assert svg == tmp_path / "net.svg"
    assert len(groups(parse_svg(svg.read_text(encoding="utf-8")), "node")) == len(graph.nodes)
    assert graph.render(tmp_path / "net.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert graph.render(tmp_path / "net.pdf").read_bytes().startswith(b"%PDF")
    for ext in ("gv", "dot"):
        assert graph.render(tmp_path / f"net.{ext}").read_text(encoding="utf-8") == graph.to_dot().source
    nested = tg.render(model, tmp_path / "new" / "dir" / "neurons.svg", style="neurons")
    assert nested.exists()
    with pytest.raises(ValueError, match=r"cannot tell the format.*\.svg"):
        graph.render(tmp_path / "net.bmpx")


def test_png_resolution_follows_dpi(tmp_path):
    _, _, y = textbook_network()

    def width(path):
        return int.from_bytes(path.read_bytes()[16:20], "big")

    small = tg.render(y, tmp_path / "small.png", dpi=72)
    large = tg.render(y, tmp_path / "large.png", dpi=144)
    assert width(large) == pytest.approx(2 * width(small), rel=0.02)


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """Graphviz's programs hidden: an empty PATH, as on a machine without Graphviz."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_missing_dot_gives_install_instructions(no_dot, tmp_path):
    model, x, y = textbook_network()
    graph = tg.Graph(y)
    with pytest.raises(tg.GraphvizNotFoundError) as info:
        graph.render(tmp_path / "net.svg")
    err = info.value
    assert isinstance(err, RuntimeError)
    message = str(err)
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install", "Windows", "PATH"):
        assert hint in message
    assert err.__context__ is None and err.__cause__ is None  # no ExecutableNotFound traceback behind it
    with pytest.raises(tg.GraphvizNotFoundError):
        tg.render(model, tmp_path / "n.png", style="neurons")
    # The DOT source needs no Graphviz.
    assert "digraph" in graph.to_dot().source
    assert graph.render(tmp_path / "net.gv").read_text(encoding="utf-8") == graph.to_dot().source
    # Notebooks fall back to the text listing.
    assert graph._repr_svg_() is None
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "matmul_0" in bundle["text/plain"]
    assert "install Graphviz" in y._repr_mimebundle_()["text/plain"]


def test_import_does_not_load_graphviz():
    code = "import sys, tinygraph; assert 'graphviz' not in sys.modules; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "ok", result.stderr


@pytest.mark.slow
def test_draw_network_example_writes_both_styles(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "draw_network.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "(10, 3)" in result.stdout
    for style in ("ops", "neurons"):
        svg = parse_svg((tmp_path / f"textbook_{style}.svg").read_text(encoding="utf-8"))
        assert groups(svg, "edge")
        assert (tmp_path / f"textbook_{style}.png").read_bytes().startswith(b"\x89PNG")
    ops = parse_svg((tmp_path / "textbook_ops.svg").read_text(encoding="utf-8"))
    assert len(groups(ops, "cluster")) == 3


def test_committed_pictures_exist():
    for name in ("textbook_ops", "textbook_neurons"):
        for ext in ("svg", "png"):
            assert (ROOT / "docs" / "images" / f"{name}.{ext}").stat().st_size > 1000


def test_huge_graphs_display_as_text_in_notebooks():
    from tinygraph.diagrams.export import MAX_INLINE_NODES

    node = tg.input("x", shape=(2,))
    for _ in range(MAX_INLINE_NODES):
        node = tg.exp(node)
    bundle = tg.Graph(node)._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "too many to draw inline" in bundle["text/plain"]


def test_render_returns_the_path_as_given(tmp_path):
    y = tg.input("x", shape=(2,)) + 1.0
    as_str = str(tmp_path / "a.gv")
    assert tg.Graph(y).render(as_str) == as_str
    as_path = tmp_path / "b.gv"
    assert tg.Graph(y).render(as_path) == as_path
