"""Pen-based digits (UCI "pendigits", 30 writers): pen strokes with the id of who wrote them.

The file is ``pendigits/pendigits-train-writers.jsonl.gz`` under a data folder (``--data-dir``,
``DRAWCNN_DATA``, the user data folder), one JSON object a line:
``{"writer": "tra-07", "label": 4, "strokes": [[[x, y], ...], ...]}`` in a 500 x 500 tablet box,
y down (canvas orientation). Validate by writer, never by sample: the point of this data is how
well the app reads people it has never seen. NumPy and the standard library only.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetCorrupt, DatasetNotFound

FILENAME = "pendigits-train-writers.jsonl.gz"
#: Side of the tablet box the points refer to (the "canvas" of this data).
CANVAS = 500


@dataclass
class PenDigits:
    """Digits as strokes: ``strokes[i]`` is a list of (K, 2) float arrays (x, y; y down)."""

    strokes: list[list[np.ndarray]]
    labels: np.ndarray  # (N,) int64
    writers: np.ndarray  # (N,) str
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def writer_ids(self) -> list[str]:
        return sorted(set(self.writers.tolist()))

    def subset(self, mask) -> PenDigits:
        idx = np.flatnonzero(np.asarray(mask))
        return PenDigits([self.strokes[i] for i in idx], self.labels[idx], self.writers[idx],
                         self.path)

    def by_writers(self, writers) -> PenDigits:
        """Only the digits of these writers."""
        return self.subset(np.isin(self.writers, list(writers)))


def find_pendigits(data_dir: str | os.PathLike | None = None) -> Path:
    """The stroke file, searched like the other datasets; raises DatasetNotFound."""
    from .datasets import search_roots

    roots = search_roots(data_dir)
    for root, _ in roots:
        for cand in (root / "pendigits" / FILENAME, root / FILENAME):
            if cand.is_file():
                return cand
    where = ", ".join(str(r) for r, _ in roots)
    raise DatasetNotFound(f"pen stroke digits ({FILENAME}) not found in: {where}")


def _record(obj, path: Path, line: int) -> tuple[list[np.ndarray], int, str]:
    try:
        label = int(obj["label"])
        writer = str(obj["writer"])
        strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in obj["strokes"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetCorrupt(path, f"line {line}: malformed record ({type(exc).__name__}: "
                                   f"{exc})") from None
    strokes = [s for s in strokes if len(s) and np.all(np.isfinite(s))]
    if not 0 <= label <= 9 or not strokes:
        raise DatasetCorrupt(path, f"line {line}: label {label} or strokes out of range")
    return strokes, label, writer


def load_pendigits(path: str | os.PathLike | None = None,
                   data_dir: str | os.PathLike | None = None) -> PenDigits:
    """Read the stroke digits (a .jsonl or .jsonl.gz file); raises DatasetNotFound/Corrupt."""
    path = Path(path) if path is not None else find_pendigits(data_dir)
    if not path.is_file():
        raise DatasetNotFound(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    strokes, labels, writers = [], [], []
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetCorrupt(path, f"line {n}: not JSON ({exc.msg})") from None
                s, label, writer = _record(obj, path, n)
                strokes.append(s)
                labels.append(label)
                writers.append(writer)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DatasetCorrupt(path, f"cannot read ({exc})") from None
    if not labels:
        raise DatasetCorrupt(path, "no digits in the file")
    return PenDigits(strokes, np.asarray(labels, np.int64), np.asarray(writers), path)


def split_writers(writers, n_groups: int, seed: int = 0) -> list[list[str]]:
    """Writer ids shuffled (seeded) into ``n_groups`` groups of near-equal size."""
    ids = sorted(set(np.asarray(writers).tolist()))
    order = np.random.default_rng(seed).permutation(len(ids))
    return [sorted(ids[i] for i in order[g::n_groups]) for g in range(n_groups)]
