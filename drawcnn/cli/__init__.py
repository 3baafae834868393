"""The ``drawcnn`` command: the GUI by default, or train | evaluate | predict | export | bench.

Subcommand modules (and Qt) are imported lazily so ``drawcnn --help`` and the engine
commands start fast and work without a display. ``main`` is the commands' one boundary: a
``DrawCNNError`` from any of them is printed as one line ``drawcnn: ...`` (exit 2).
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import DrawCNNError, print_error


def _add_bench(sub):
    p = sub.add_parser("bench", help="measure engine speed (and PyTorch's, if installed)")
    p.add_argument("--arch", action="append", help="architecture(s) to measure (default: all)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="backend to measure")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--gui", action="store_true", help="also time mouse move -> updated panels")
    p.add_argument("--layers", action="store_true",
                   help="per-layer profile (forward/backward at batch 1, 100, 256)")
    p.add_argument("--cpu-time", action="store_true",
                   help="time with process CPU time, not wall time (a shared machine; 1 thread)")
    p.set_defaults(func=lambda a: __import__("drawcnn.cli.bench", fromlist=["run"]).run(a))


class _VersionAction(argparse.Action):
    """``--version``: the version, then which Numba threading layer runs and where its cache
    goes (computed only when asked, so every other command starts without it)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show the version, the Numba threading layer and cache folder, and exit"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def version_text() -> str:
    """``drawcnn 0.1.0`` plus Python, NumPy and Numba details (threading layer and why)."""
    import platform

    import numpy

    lines = [f"drawcnn {__version__}",
             f"python {platform.python_version()}, numpy {numpy.__version__}"]
    try:
        from ..engine import runtime

        lines += runtime.describe()
    except ImportError as exc:  # a broken Numba install: still say what we are
        lines.append(f"numba: cannot import ({exc})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from .common import Parser

    parser = Parser(
        prog="drawcnn",
        description="Draw a digit and watch a Numba CNN classify it. "
        "With no command, opens the app.",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--weights", help="weights file to open in the app")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="load the default weights, classify a built-in sample, exit 0 if right",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import export, predict, train

    train.register(sub)
    predict.register(sub)
    export.register(sub)
    _add_bench(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from ..selftest import run_self_test

        return run_self_test()
    if args.command is None:
        return gui_main(args.weights)
    try:
        return int(args.func(args) or 0)
    except DrawCNNError as exc:  # every command's boundary: one line, exit 2
        from .common import fail

        return fail(str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def gui_main(weights=None) -> int:
    from ..gui.syslibs import check_system_libraries

    if not check_system_libraries():  # before Qt is imported: QtGui itself needs some
        return 1
    try:
        from ..gui.app import run_app
    except ImportError as exc:
        print_error(f"cannot start the app: {exc}")
        return 1
    return run_app(weights)
