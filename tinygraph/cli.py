"""The ``tinygraph`` command: draw, print and run saved graphs, ONNX files and example networks.

::

    tinygraph render net.tg -o net.svg [--style neurons] [--rankdir TB] [--no-params] ...
    tinygraph show net.tg
    tinygraph run net.tg --input x=batch.npy -o out.npy

``FILE`` is a file written by ``tg.save``, an ONNX model (``.onnx``, needs the
``onnx`` extra) or the name of an example network (``textbook``). A user's
mistake (a missing file, a bad array, a wrong input name or shape) prints one
line to stderr and exits with status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .diagrams import export
from .errors import GraphError
from .executor import evaluate
from .graph import Graph
from .io import check_value_sizes, load
from .nn import model_of
from .shapes import format_spec, spec_of_value
from .text import printable

PROG = "tinygraph"
#: ``tinygraph run``'s default limit on a value the graph computes (``--max-bytes``).
RUN_MAX_BYTES = 256 * 2**20
_SIZE = re.compile(r"(\d+)\s*(?:([kmgt])(?:i?b)?|b)?")
# The flags that turn a drawing option off: flag -> option of tinygraph.export.render.
_OFF_FLAGS = {"--no-params": "params", "--no-constants": "constants", "--no-shapes": "shapes",
              "--no-clusters": "clusters"}


class CLIError(Exception):
    """A mistake in what the user asked for: reported as one line, without a traceback."""


@dataclass
class Source:
    """What a FILE argument names: its graph, and the ``tg.nn`` model behind it when there is one."""

    graph: Graph
    model: Any = None


# --- reading what FILE names ------------------------------------------------------------------------


def _examples() -> dict[str, Callable[[], Any]]:
    try:
        zoo = importlib.import_module(f"{__package__}.zoo")
    except ImportError:
        return {}
    return dict(getattr(zoo, "EXAMPLES", {}))


def open_source(spec: str, max_bytes: int | None = None) -> Source:
    """The graph in a saved file or ONNX file, or the example network called ``spec``.

    ``max_bytes`` refuses a file whose graph has a value statically larger than that (see ``tg.load``).
    """
    if os.path.exists(spec):
        if spec.lower().endswith(".onnx"):
            try:
                onnx = importlib.import_module(f"{__package__}.onnx")
            except ImportError as e:
                raise CLIError(f"cannot read ONNX file {spec}: {e}") from None
            graph: Graph = onnx.load(spec)
            if max_bytes is not None:
                check_value_sizes(((f"node {graph.name_of(n)}", n.shape, n.dtype) for n in graph.nodes),
                                  max_bytes, spec)
            return Source(graph)
        return Source(load(spec, max_bytes=max_bytes))
    examples = _examples()
    if spec in examples:
        model, _, output = examples[spec]()
        return Source(Graph(output), model)
    known = f"; example networks: {', '.join(sorted(examples))}" if examples else ""
    raise CLIError(f"{spec}: no such file, and not the name of an example network{known}")


def _import_modules(names: Sequence[str]) -> None:
    # Custom ops register themselves when their module is imported; like `python -m`, look in the
    # current directory too.
    if names and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise CLIError(f"--import {name}: {e}") from None


# --- commands -----------------------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    """Print the graph's listing."""
    print(open_source(args.file).graph)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Draw the graph (or the example's model, for ``--style neurons``) into ``args.output``."""
    source = open_source(args.file)
    options: dict[str, Any] = {}
    if args.rankdir is not None:
        options["rankdir"] = args.rankdir
    for flag, option in _OFF_FLAGS.items():
        if getattr(args, flag[2:].replace("-", "_")):
            options[option] = False
    for text in args.option:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise CLIError(f"--option takes NAME=VALUE, got {text!r}")
        try:
            options[name] = export.parse_option(name, value)
        except ValueError as e:
            raise CLIError(str(e)) from None
    target: Any = source.graph
    if args.style == "neurons":
        target = source.model if source.model is not None else model_of(source.graph)
        if target is None:
            raise CLIError(
                f"--style neurons draws networks made of layers (x @ W + b with parameters W and b, and "
                f"activations such as sigmoid); {args.file} is not one: draw it with --style ops"
            )
    try:
        written = export.render(target, args.output, style=args.style, **options)
    except (TypeError, ValueError, RuntimeError) as e:
        # the exporter's own account of an option or style that does not fit this graph, or of a
        # missing Graphviz installation
        raise CLIError(str(e)) from None
    except subprocess.CalledProcessError as e:  # Graphviz refused the DOT source: report its words
        stderr = e.stderr.decode("utf-8", "replace").strip() if isinstance(e.stderr, bytes) else str(e.stderr)
        raise CLIError(f"Graphviz failed to draw {args.file}: {stderr or e}") from None
    print(written)
    return 0


def _read_array(path: str) -> Any:
    try:
        value = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as e:
        raise CLIError(f"cannot read {path} as a .npy array: {e}") from None
    if not isinstance(value, np.ndarray):
        value.close()
        raise CLIError(f"{path} holds several arrays (.npz); --input takes one .npy array per input")
    return value


def _output_keys(graph: Graph) -> list[str]:
    keys: list[str] = []
    for node in graph.outputs:
        base = key = graph.name_of(node)
        k = 1
        while key in keys:  # an output listed twice is written twice
            key, k = f"{base}_{k}", k + 1
        keys.append(key)
    return keys


def cmd_run(args: argparse.Namespace) -> int:
    """Evaluate the graph on ``--input`` arrays; write or print its outputs."""
    graph = open_source(args.file, args.max_bytes).graph
    feeds: dict[str, Any] = {}
    for text in args.input:
        name, sep, path = text.partition("=")
        if not sep or not name or not path:
            raise CLIError(f"--input takes NAME=FILE.npy, got {text!r}")
        if name in feeds:
            raise CLIError(f"--input {name} is given twice")
        feeds[name] = _read_array(path)
    results = evaluate(graph, feeds)
    keys = _output_keys(graph)
    out = args.output
    if out is None:
        for key, value in zip(keys, results):
            print(f"{printable(key)}: {format_spec(spec_of_value(value))} =\n{np.array2string(value)}")
    elif out.endswith(".npy"):
        if len(results) != 1:
            raise CLIError(f"the graph has {len(results)} outputs ({', '.join(keys)}): write them to a .npz file")
        np.save(out, results[0], allow_pickle=False)
    elif out.endswith(".npz"):
        np.savez(out, **dict(zip(keys, results)))
    else:
        raise CLIError(f"-o {out}: the output file must end in .npy (one output) or .npz (any number)")
    return 0


# --- the parser -----------------------------------------------------------------------------------------


def _render_epilog() -> str:
    table = export.RENDER_OPTIONS
    lines = [f"  {name:14} {text}" for name, text in table.items() if name not in ("style", "values")]
    return "drawing options for --option NAME=VALUE:\n" + "\n".join(lines) if lines else ""


def byte_size(text: str) -> int:
    """``"512"``, ``"64M"``, ``"2GiB"`` as a number of bytes (suffixes are powers of 1024)."""
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"expected a size in bytes such as 1000000, 512M or 4GiB, got {text!r}")
    return int(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " ")  # type: ignore[no-any-return]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinygraph`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Draw, print and run tinygraph graphs. FILE is a file written by tg.save, an ONNX "
                    "model (.onnx) or the name of an example network (e.g. textbook).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", metavar="FILE", help="a saved tinygraph file, an .onnx model or an example name")
    common.add_argument("--import", dest="imports", metavar="MODULE", action="append", default=[],
                        help="import MODULE first, so the custom ops it defines can be loaded (repeatable)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    render = commands.add_parser(
        "render", parents=[common], help="draw a graph into an image file",
        description="Draw FILE's graph. The output format follows the extension of -o: .svg, .png,\n"
                    ".pdf, or .gv/.dot for the DOT source alone (which needs no Graphviz).",
        epilog=_render_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write, e.g. net.svg")
    render.add_argument("--style", choices=("ops", "neurons"), default="ops",
                        help="'ops': the operation graph (default); 'neurons': the textbook neuron diagram, "
                             "for networks made of layers (x @ W + b and activations)")
    render.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"),
                        help="direction of the flow: LR left to right (default), TB top to bottom, RL, BT")
    render.add_argument("--no-params", action="store_true", help="leave parameter nodes out (listed in their ops)")
    render.add_argument("--no-constants", action="store_true", help="leave constant nodes out (listed in their ops)")
    render.add_argument("--no-shapes", action="store_true", help="do not show shapes and dtypes")
    render.add_argument("--no-clusters", action="store_true",
                        help="do not group each layer / tg.scope block in a labelled box")
    render.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="any other drawing option, e.g. --option highlight=add_1 (repeatable; see below)")
    render.set_defaults(handler=cmd_render)

    show = commands.add_parser("show", parents=[common], help="print a graph's listing",
                               description="Print FILE's graph as a listing: one line per node.")
    show.set_defaults(handler=cmd_show)

    run = commands.add_parser(
        "run", parents=[common], help="evaluate a graph on arrays from .npy files",
        description="Evaluate FILE's graph. Each input is fed from a .npy file; outputs are written to -o "
                    "(.npy for a graph with one output, .npz for any number, keyed by output name) or, "
                    "without -o, printed.",
    )
    run.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                     help="feed input NAME from FILE.npy (repeat for each input)")
    run.add_argument("-o", "--output", metavar="OUT", help="write the outputs to OUT.npy or OUT.npz")
    run.add_argument("--max-bytes", type=byte_size, default=RUN_MAX_BYTES, metavar="SIZE",
                     help="refuse a graph with a value statically known to exceed SIZE bytes (None dims "
                          "counted as 1), before running it: a tiny file can ask for any amount of memory. "
                          "Default 256MiB; takes suffixes K, M, G, T (powers of 1024)")
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 1 error, 2 usage error)."""
    args = build_parser().parse_args(argv)
    try:
        _import_modules(args.imports)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except (CLIError, GraphError, ImportError) as e:
        message = str(e)
    except BrokenPipeError:
        # `tinygraph show big.tg | head` closed our output: not an error. Point stdout at devnull so
        # the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        message = f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e)
    # Messages quote names from files: escape what could drive the terminal or forge a line.
    print(f"{PROG}: error: {printable(message, newlines=True)}", file=sys.stderr)
    return 1
