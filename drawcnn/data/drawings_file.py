"""The drawings file format: one .npz of plain arrays (no pickle), read without trusting it.

A store (``drawings.py``) and an export are the same file: ``version``, per drawing its
``ids``, ``images`` ((N, 28, 28) uint8 model inputs), ``labels``, ``timestamps`` and
``stroke_counts``, then every stroke's length (``stroke_lengths``) and all their points
(``points``, (K, 3) x, y, pressure). Reading checks sizes before decompressing and the
arrays' types and shapes before using them; any problem is one DataError naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import write_atomic
from ..errors import DataError
from ..untrusted import read_npz

FORMAT_VERSION = 1
_KEYS = ("version", "ids", "images", "labels", "timestamps", "stroke_counts", "stroke_lengths",
         "points")
#: A store of 100,000 drawings with their strokes is about 60 MB; refuse files far larger.
MAX_FILE_BYTES = 512 << 20
MAX_ARRAY_BYTES = 512 << 20


@dataclass
class Sample:
    """One labelled drawing: the model input, its label, the strokes it was drawn with."""

    id: int
    image: np.ndarray  # (28, 28) uint8
    label: int
    strokes: list[np.ndarray] = field(default_factory=list)  # (K, 3) float32 each
    timestamp: float = 0.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A (28, 28) model input in [0, 1] (or already uint8) as the uint8 the file keeps."""
    a = np.asarray(image)
    if a.shape != (28, 28):
        raise ValueError(f"a drawing sample must be 28x28, got {a.shape}")
    if a.dtype == np.uint8:
        return a.copy()
    return np.round(np.clip(a.astype(np.float32), 0, 1) * 255).astype(np.uint8)


def as_strokes(strokes) -> list[np.ndarray]:
    """Canvas strokes ((K, 2) or (K, 3) points) as (K, 3) float32: x, y, pressure (1 if none)."""
    out = []
    for s in strokes or ():
        a = np.asarray(s, dtype=np.float32).reshape(-1, np.shape(s)[-1] if np.ndim(s) > 1 else 2)
        if a.shape[1] == 2:
            a = np.concatenate([a, np.ones((len(a), 1), np.float32)], axis=1)
        out.append(a[:, :3].copy())
    return out


def _pack(samples: list[Sample]) -> dict[str, np.ndarray]:
    strokes = [s for smp in samples for s in smp.strokes]
    return {
        "version": np.array(FORMAT_VERSION, np.int64),
        "ids": np.array([s.id for s in samples], np.int64),
        "images": np.stack([s.image for s in samples]) if samples
        else np.zeros((0, 28, 28), np.uint8),
        "labels": np.array([s.label for s in samples], np.int64),
        "timestamps": np.array([s.timestamp for s in samples], np.float64),
        "stroke_counts": np.array([len(s.strokes) for s in samples], np.int64),
        "stroke_lengths": np.array([len(s) for s in strokes], np.int64),
        "points": np.concatenate(strokes) if strokes else np.zeros((0, 3), np.float32),
    }


def read_drawings(path: Path) -> list[Sample]:
    """Read and fully validate a store/export file; any problem -> DataError naming it."""
    def fail(why: str) -> DataError:
        if why == "no such file":
            return DataError(f"{path} does not exist")
        return DataError(f"{path} is damaged or not a drawings file ({why})")

    z = read_npz(path, fail, max_file_bytes=MAX_FILE_BYTES, max_array_bytes=MAX_ARRAY_BYTES,
                 max_total_bytes=MAX_FILE_BYTES * 4)
    missing = [k for k in _KEYS if k not in z]
    if missing:
        raise DataError(f"{path} is not a drawcnn drawings file (missing {', '.join(missing)})")
    d = {k: z[k] for k in _KEYS}
    problem = _layout_problem(d)
    if problem:
        raise DataError(f"{path} is damaged: {problem}")
    if int(d["version"]) > FORMAT_VERSION:
        raise DataError(f"{path} was written by a newer drawcnn (format {int(d['version'])})")
    n = len(d["ids"])
    strokes = np.split(d["points"].astype(np.float32), np.cumsum(d["stroke_lengths"])[:-1]) \
        if len(d["stroke_lengths"]) else []
    samples, k = [], 0
    for i in range(n):
        c = int(d["stroke_counts"][i])
        samples.append(Sample(int(d["ids"][i]), d["images"][i].copy(), int(d["labels"][i]),
                              list(strokes[k:k + c]), float(d["timestamps"][i])))
        k += c
    return samples


def _layout_problem(d: dict[str, np.ndarray]) -> str | None:
    """What is wrong with the arrays of a drawings file (types first, so nothing raises)."""
    def ints(a, ndim=1):
        return a.dtype.kind in "iu" and a.ndim == ndim

    if not ints(d["version"], 0) or int(d["version"]) < 1:
        return f"bad format version {d['version']!r:.40}"
    for key in ("ids", "labels", "stroke_counts", "stroke_lengths"):
        if not ints(d[key]):
            return f"{key} must be a list of integers, found {d[key].dtype} {d[key].shape}"
    n = len(d["ids"])
    if not (d["images"].shape == (n, 28, 28) and d["images"].dtype == np.uint8):
        return f"images are {d['images'].dtype} {d['images'].shape}, expected ({n}, 28, 28) uint8"
    if d["timestamps"].dtype.kind not in "fiu" or d["timestamps"].shape != (n,):
        return "timestamps do not match the drawings"
    if d["points"].dtype.kind not in "fiu" or d["points"].ndim != 2 or d["points"].shape[1] != 3:
        return f"points must be (K, 3) numbers, found {d['points'].dtype} {d['points'].shape}"
    if len(d["labels"]) != n or len(d["stroke_counts"]) != n:
        return "labels or stroke counts do not match the drawings"
    if n and (d["labels"].min() < 0 or d["labels"].max() > 9):
        return "a label is outside 0-9"
    if len(np.unique(d["ids"])) != n:
        return "two drawings share an id"
    counts, lengths = d["stroke_counts"], d["stroke_lengths"]
    if (counts.size and counts.min() < 0) or (lengths.size and lengths.min() < 0):
        return "negative stroke counts"
    if int(counts.sum()) != len(lengths) or int(lengths.sum()) != len(d["points"]):
        return "its arrays do not fit together"
    if not (np.all(np.isfinite(d["timestamps"])) and np.all(np.isfinite(d["points"]))):
        return "NaN or infinite values"
    return None


def write_drawings(path: Path, samples: list[Sample]) -> None:
    """Write ``samples`` to ``path`` atomically (the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: np.savez_compressed(f, **_pack(samples)))
