"""``drawcnn train | evaluate | predict``: the engine and data packages from a terminal."""

from __future__ import annotations

import argparse
import sys


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="mnist", help="mnist (default) or fashion-mnist")
    p.add_argument("--data-dir", help="folder holding the dataset (else $DRAWCNN_DATA, then "
                   "the user data folder)")
    p.add_argument("--download", action="store_true",
                   help="download the dataset if it is not found")


def fail(message: str, code: int = 2) -> int:
    print(f"drawcnn: {message}", file=sys.stderr)
    return code
