"""The user's own labelled drawings ("Teach"): one .npz file, no pickle, atomic writes.

Each sample keeps the 28x28 model input (uint8), its confirmed label, the original strokes
(so it can be re-preprocessed if the pipeline improves) and when it was drawn. The whole store is
rewritten on each change through a temporary file + ``os.replace``: a crash never leaves half a
file, and a corrupt file or import raises :class:`DataError` without touching what is stored.
"""

from __future__ import annotations

import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError

FORMAT_VERSION = 1
_KEYS = ("version", "ids", "images", "labels", "timestamps", "stroke_counts", "stroke_lengths",
         "points")


@dataclass
class Sample:
    id: int
    image: np.ndarray  # (28, 28) uint8
    label: int
    strokes: list[np.ndarray] = field(default_factory=list)  # (K, 3) float32 each
    timestamp: float = 0.0


def _to_uint8(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.shape != (28, 28):
        raise ValueError(f"a drawing sample must be 28x28, got {a.shape}")
    if a.dtype == np.uint8:
        return a.copy()
    return np.round(np.clip(a.astype(np.float32), 0, 1) * 255).astype(np.uint8)


def _strokes(strokes) -> list[np.ndarray]:
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


def _unpack(path: Path) -> list[Sample]:
    """Read and fully validate a store/export file; any problem -> DataError naming it."""
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise DataError(f"{path} is not a drawcnn drawings file (missing "
                                f"{', '.join(missing)})")
            d = {k: z[k] for k in _KEYS}
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise DataError(f"{path} is damaged or not a drawings file ({exc})") from None
    if int(d["version"]) > FORMAT_VERSION:
        raise DataError(f"{path} was written by a newer drawcnn (format {int(d['version'])})")
    n = len(d["ids"])
    ok = (d["images"].shape == (n, 28, 28) and d["images"].dtype == np.uint8
          and len(d["labels"]) == n and len(d["timestamps"]) == n
          and len(d["stroke_counts"]) == n
          and int(d["stroke_counts"].sum()) == len(d["stroke_lengths"])
          and int(d["stroke_lengths"].sum()) == len(d["points"])
          and d["points"].ndim == 2 and d["points"].shape[1] == 3
          and (n == 0 or (d["labels"].min() >= 0 and d["labels"].max() <= 9)))
    if not ok:
        raise DataError(f"{path} is damaged: its arrays do not fit together")
    strokes = np.split(d["points"].astype(np.float32), np.cumsum(d["stroke_lengths"])[:-1]) \
        if len(d["stroke_lengths"]) else []
    samples, k = [], 0
    for i in range(n):
        c = int(d["stroke_counts"][i])
        samples.append(Sample(int(d["ids"][i]), d["images"][i].copy(), int(d["labels"][i]),
                              list(strokes[k:k + c]), float(d["timestamps"][i])))
        k += c
    return samples


def _write_atomic(path: Path, samples: list[Sample]) -> None:
    """Write ``samples`` to ``path`` (temp file, fsync, rename); DataError when it cannot."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **_pack(samples))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # disk full, read-only folder, no permission
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


class DrawingStore:
    """The user's labelled drawings, kept in ``<root>/drawings.npz``."""

    FILENAME = "drawings.npz"

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            import platformdirs

            root = Path(platformdirs.user_data_dir("drawcnn")) / "drawings"
        self.root = Path(root)
        self.path = self.root / self.FILENAME
        self._samples: list[Sample] = _unpack(self.path) if self.path.exists() else []

    def __len__(self) -> int:
        return len(self._samples)

    def _next_id(self) -> int:
        return max((s.id for s in self._samples), default=0) + 1

    def _find(self, sample_id: int) -> int:
        for i, s in enumerate(self._samples):
            if s.id == sample_id:
                return i
        raise DataError(f"no drawing with id {sample_id}")

    def _commit(self, samples: list[Sample]) -> None:
        _write_atomic(self.path, samples)
        self._samples = samples

    def add(self, image28: np.ndarray, label: int, strokes=None) -> int:
        """Store a confirmed sample; returns its id."""
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be 0-9, got {label}")
        s = Sample(self._next_id(), _to_uint8(image28), int(label), _strokes(strokes), time.time())
        self._commit(self._samples + [s])
        return s.id

    def relabel(self, sample_id: int, label: int) -> None:
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be 0-9, got {label}")
        i = self._find(sample_id)
        new = list(self._samples)
        old = new[i]
        new[i] = Sample(old.id, old.image, int(label), old.strokes, old.timestamp)
        self._commit(new)

    def delete(self, sample_id: int) -> None:
        i = self._find(sample_id)
        self._commit(self._samples[:i] + self._samples[i + 1:])

    def samples(self) -> list[Sample]:
        return list(self._samples)

    def arrays(self, samples: list[Sample] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(x (N, 1, 28, 28) float32 in [0, 1], y (N,) int64), ready for training."""
        ss = self._samples if samples is None else samples
        x = np.zeros((len(ss), 1, 28, 28), np.float32)
        for i, s in enumerate(ss):
            x[i, 0] = s.image / np.float32(255)
        return x, np.array([s.label for s in ss], np.int64)

    def split_holdout(self, frac: float = 0.2, seed: int = 0):
        """((x_train, y_train), (x_holdout, y_holdout)): a fixed random held-out share, for a
        before/after score on drawings the fine-tuning never saw."""
        n = len(self._samples)
        perm = np.random.default_rng(seed).permutation(n)
        k = int(round(n * frac))
        if frac > 0 and n >= 2:
            k = min(max(k, 1), n - 1)
        hold = sorted(perm[:k].tolist())
        hold_set = set(hold)
        train = [s for i, s in enumerate(self._samples) if i not in hold_set]
        return self.arrays(train), self.arrays([self._samples[i] for i in hold])

    def export(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        _write_atomic(path, self._samples)
        return path

    def import_file(self, path: str | os.PathLike, merge: bool = True) -> int:
        """Import an exported file; returns how many samples were added. With ``merge`` the
        existing samples stay and exact duplicates are skipped; otherwise they are replaced."""
        incoming = _unpack(Path(path))  # raises before anything changes
        base = list(self._samples) if merge else []
        seen = {(s.image.tobytes(), s.label) for s in base}
        next_id = max((s.id for s in base), default=0) + 1
        added = 0
        for s in incoming:
            key = (s.image.tobytes(), s.label)
            if key in seen:
                continue
            seen.add(key)
            base.append(Sample(next_id, s.image, s.label, s.strokes, s.timestamp))
            next_id += 1
            added += 1
        self._commit(base)
        return added
