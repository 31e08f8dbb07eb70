"""Names that could break outputs: each is shown escaped, in the listing, diagrams, messages and the CLI."""

import io
import json
import shutil
import zipfile

import numpy as np
import pytest

import tinygraph as tg
from tinygraph.cli import main
from tinygraph.diagrams import dot
from tinygraph.text import printable

# What the fuzzing found: line forging (\n, \r, U+2028), terminal control (ESC), reordering (U+202E).
HOSTILE = ["x\nevil: f64[] = parameter()", "a\rb", "\x1b[2J\x1b[31mred", "\u202egnp.exe", "p\u2028q", "tab\there"]
RAW = ["\n", "\r", "\x1b", "\u202e", "\u2028", "\t"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def graph_of(names):
    inputs = [tg.input(n, shape=(2,)) for n in names]
    total = inputs[0]
    for k, node in enumerate(inputs[1:]):
        total = tg.add(total, node, name=f"{names[k]}+")
    return tg.Graph(tg.relu(total, name=names[-1] + "!"))


def assert_no_raw(text):
    for c in RAW:
        assert c not in text.replace("\n", "") if c == "\n" else c not in text, (c, text)


def test_printable_escapes_what_is_not_printable():
    assert printable("plain name_0 é 中") == "plain name_0 é 中"
    assert printable("a\nb\x1b\u202e\u2028\ud800") == "a\\nb\\x1b\\u202e\\u2028\\ud800"
    assert printable("\ufffe\U000e0001\\") == "\\ufffe\\U000e0001\\"
    assert printable("one\ntwo\x1b", newlines=True) == "one\ntwo\\x1b"


def test_listing_shows_one_line_per_node_whatever_the_names():
    graph = graph_of(HOSTILE)
    text = str(graph)
    lines = text.split("\n")
    # graph(...) header, one line per non-input node, return: nothing a name holds adds a line
    assert len(lines) == 2 + len(graph.nodes) - len(graph.inputs)
    for c in RAW:
        assert c not in text.replace("\n", "") and text.count("\n") == len(lines) - 1
    assert "x\\nevil: f64[] = parameter()" in lines[0]
    assert "\\x1b[2J\\x1b[31mred" in text and "\\u202egnp.exe" in text
    assert_no_raw(repr(graph).replace("\n", "\\n"))
    assert "\n" not in repr(graph) and "\n" not in repr(graph.outputs[0])


def test_error_messages_escape_names():
    a = tg.input("a\x1b[2J", shape=(2, 3))
    b = tg.input("b\nforged line", shape=(4, 5))
    with pytest.raises(tg.ShapeError) as info:
        tg.matmul(a, b)
    message = str(info.value)
    assert "\x1b" not in message and "b\\nforged line" in message and "a\\x1b[2J" in message


@pytest.mark.parametrize("name", ["]", "]]", "a\ufffeb", "\uffff", "x\n]", "]\x1b"])
def test_names_graphviz_refused_now_render(tmp_path, name):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    x = tg.input(name, shape=(2,))
    with tg.scope(name):
        y = tg.relu(x, name=name + "!")
    out = tg.render(y, tmp_path / "g.svg")
    svg = (tmp_path / "g.svg").read_text(encoding="utf-8")
    assert str(out).endswith("g.svg") and printable(name).replace("&", "&amp;") in svg


@pytest.mark.parametrize("name", HOSTILE + ["]", "\ufffe"])
def test_dot_source_holds_names_escaped(name):
    source = tg.to_dot(tg.relu(tg.input(name, shape=(2,)))).source
    lines = source.split("\n")
    # every line is a statement the exporter wrote (tab-indented) or the digraph's braces
    assert all(line.startswith(("\t", "digraph", "}")) or not line for line in lines), lines
    assert_no_raw("".join(line.lstrip("\t") for line in lines))
    assert "\ufffe" not in source
    assert dot.html_text(printable(name)) in source


def test_lone_surrogate_is_refused_at_node_creation():
    with pytest.raises(ValueError, match=r"lone surrogate \(U\+D800"):
        tg.input("x\ud800", shape=(2,))
    x = tg.input("x", shape=(2,))
    with pytest.raises(ValueError, match="lone surrogate"):
        tg.relu(x, name="\udfff")
    with pytest.raises(ValueError, match="lone surrogate"):
        x.name = "y\ud800"
    assert x.name == "x"
    with pytest.raises(ValueError, match="scope name can't hold a lone surrogate"):
        with tg.scope("s\ud800"):
            pass


def test_string_attribute_with_a_lone_surrogate_is_refused_at_save():
    class Tag(tg.Op):
        def __init__(self, label):
            self.label = label

        def forward(self, a):
            return a

    y = Tag("bad\ud800")(tg.input("x", shape=(2,)))
    with pytest.raises(tg.GraphError, match="cannot save .*lone surrogate"):
        tg.dumps(y)


def file_with(edit):
    data = tg.dumps(tg.relu(tg.input("x", shape=(2,)), name="y"))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    description = json.loads(files["graph.json"])
    edit(description)
    files["graph.json"] = json.dumps(description).encode()  # ensure_ascii: "\ud800" stays an escape
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d["nodes"][0].update(name="x\ud800"), "its name 'x\\ud800' holds a lone surrogate (U+D800)"),
    (lambda d: d["nodes"][1].update(scope=["ok", "\udc00"]), "scope name '\\udc00' holds a lone surrogate"),
    (lambda d: d["nodes"][1].update(op="Relu\ud800"), "op must be a non-empty string"),
    (lambda d: d["nodes"][1].update(attributes={"k": "\ud800"}), "lone surrogate"),
    (lambda d: d["nodes"][0].update(name="n" * 5000), "5000 characters long, over the limit of 4096"),
])
def test_lone_surrogate_or_huge_name_in_a_file_is_a_format_error(edit, fragment):
    with pytest.raises(tg.FormatError) as info:
        tg.loads(file_with(edit))
    assert fragment in str(info.value)
    str(info.value).encode("utf-8")  # the message itself can be printed


def test_unknown_key_with_control_characters_is_escaped_in_the_message():
    with pytest.raises(tg.FormatError) as info:
        tg.loads(file_with(lambda d: d.update({"\x1b[2Jk": 1})))
    assert "\x1b" not in str(info.value) and "\\x1b[2Jk" in str(info.value)


def test_cli_show_and_run_escape_names(tmp_path, capsys):
    graph = graph_of(HOSTILE[1:4])  # no "=" in these: --input NAME=FILE splits at the first
    path = tmp_path / "names.tg"
    tg.save(graph, path)
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert out == str(tg.load(path)) + "\n" and "\x1b" not in out and "\r" not in out
    feeds = []
    for k, node in enumerate(graph.inputs):
        np.save(tmp_path / f"in{k}.npy", np.ones(2))
        feeds += ["--input", f"{graph.name_of(node)}={tmp_path / f'in{k}.npy'}"]
    assert main(["run", str(path), *feeds]) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and out.startswith("\\u202egnp.exe!: f64[2] =")


def test_cli_error_message_escapes_names(tmp_path, capsys):
    path = tmp_path / "names.tg"
    tg.save(tg.relu(tg.input("in\x1b[2J", shape=(2,))), path)
    # the missing-feed message lists the inputs' names unquoted ("expected in...: f64[2]")
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinygraph: error: ") and "\x1b" not in err and "in\\x1b[2J" in err


@needs_dot
def test_cli_render_of_names_graphviz_refused(tmp_path, capsys):
    path = tmp_path / "names.tg"
    tg.save(graph_of(["]", "]]", "a\ufffe"]), path)
    assert main(["render", str(path), "-o", str(tmp_path / "g.svg")]) == 0
    assert (tmp_path / "g.svg").stat().st_size > 0


def test_run_time_messages_escape_names_too():
    x = tg.input("x\nforged", shape=(None, 2))
    p = tg.parameter(np.ones(2), name="p\x1b[2J")
    with pytest.raises(tg.FeedError) as info:
        tg.evaluate(x + p, {})
    assert "\n" not in str(info.value) and "x\\nforged" in str(info.value)
    with pytest.raises(tg.ShapeError) as info:
        p.value = np.ones(3)
    assert "\x1b" not in str(info.value) and "p\\x1b[2J" in str(info.value)

    class Fails(tg.Op):
        def forward(self, a):
            raise RuntimeError("no")

    bad = Fails()(tg.exp(x, name="e\u202e"), name="f\u2028")
    with pytest.raises(tg.ExecutionError) as info:
        tg.evaluate(bad, {x: np.ones((1, 2))})
    first_line = str(info.value).split("\n  node created at")[0]
    assert "\u202e" not in first_line and "\u2028" not in first_line and "f\\u2028" in first_line
