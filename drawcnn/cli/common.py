"""What the commands share: one-line argparse errors, the data arguments, argument checks.

Bad usage is caught before any work (no data loaded, nothing trained): each check raises
UsageError, and ``drawcnn.cli.main`` prints it as one line ``drawcnn: ...`` and exits 2, as
argparse's own errors do through :class:`Parser`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from ..errors import UsageError, print_error


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``drawcnn: ...``, exit 2) instead of usage + error."""

    def error(self, message: str):  # type: ignore[override]
        where = self.prog.removeprefix("drawcnn").strip()
        sys.stderr.write(f"drawcnn: {where + ': ' if where else ''}{message} "
                         f"(see {self.prog} --help)\n")
        sys.exit(2)


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="mnist", help="mnist (default) or fashion-mnist")
    p.add_argument("--data-dir", help="folder holding the dataset (else $DRAWCNN_DATA, then "
                   "the user data folder)")
    p.add_argument("--download", action="store_true",
                   help="download the dataset if it is not found")


def fail(message: str, code: int = 2) -> int:
    """Print ``message`` as drawcnn's terminal errors look; returns the exit status."""
    print_error(message)
    return code


# -------------------------------------------------------------------- argument checks


def check_int(name: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum}, got {value}")


def check_float(name: str, value: float, *, positive: bool) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "a finite number above 0" if positive else "a finite number, 0 or more"
        raise UsageError(f"{name} must be {need}, got {value}")


def check_input_file(name: str, path: str | None) -> None:
    if path is None:
        return
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{name} {path}: no such file")
    if p.is_dir():
        raise UsageError(f"{name} {path}: is a folder, not a file")
    if not p.is_file():
        raise UsageError(f"{name} {path}: not a regular file")
    if not os.access(p, os.R_OK):
        raise UsageError(f"{name} {path}: not readable (permission denied)")


def check_input_dir(name: str, path: str | None) -> None:
    if path is not None and not Path(path).expanduser().is_dir():
        raise UsageError(f"{name} {path}: no such folder")


def check_dataset(name: str) -> None:
    from ..data.catalog import get_info
    from ..errors import DataError

    try:
        get_info(name)
    except DataError as exc:  # an unknown name
        raise UsageError(str(exc)) from None


def check_output_file(name: str, path: str) -> None:
    """``path`` can be written: not a folder, its folder exists (or can be made) and takes a
    new file. Checked by creating and removing a probe file, as the save will."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise UsageError(f"{name} {path}: is a folder; give a file name, e.g. {p / 'net.npz'}")
    if p.exists() and not p.is_file():
        raise UsageError(f"{name} {path}: not a regular file")
    folder = p.parent
    probe_in = folder
    while not probe_in.exists():
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise UsageError(f"{name} {path}: {probe_in} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.probe.", dir=probe_in)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{name} {path}: cannot write in {probe_in} "
                         f"({exc.strerror or exc})") from None
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"{name} {path}: the file exists and is read-only")
