"""The user's own labelled drawings ("Teach"): one .npz file, no pickle, atomic locked writes.

Each sample keeps the 28x28 model input (uint8), its confirmed label, the original strokes
(so it can be re-preprocessed if the pipeline improves) and when it was drawn. Every change is
a read-modify-write of the whole file under a lock that holds across threads and processes
(two app windows adding at once keep every drawing), written through a uniquely named temp
file + ``os.replace`` (a crash never leaves half a file; orphaned temp files are cleaned at the
next open). When ``add`` returns, the drawing is on disk. A corrupt store is moved aside (never
overwritten) and reported as :class:`DataError`; a corrupt import changes nothing.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import FileLock, clean_stale_temps, write_atomic
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


def _write_atomic(path: Path, samples: list[Sample]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: np.savez_compressed(f, **_pack(samples)))


def _move_aside(path: Path) -> Path:
    """Rename a damaged store to a free ``drawings.corrupt-<time>[-n].npz`` (never overwriting)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        aside = path.with_name(f"{path.stem}.corrupt-{stamp}{f'-{n}' if n else ''}{path.suffix}")
        if not aside.exists():
            os.replace(path, aside)
            return aside
    raise DataError(f"{path} is damaged and cannot be moved aside (too many copies)")


class DrawingStore:
    """The user's labelled drawings, kept in ``<root>/drawings.npz``."""

    FILENAME = "drawings.npz"

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            import platformdirs

            root = Path(platformdirs.user_data_dir("drawcnn")) / "drawings"
        self.root = Path(root)
        self.path = self.root / self.FILENAME
        self._lock = FileLock(self.root / (self.FILENAME + ".lock"))
        self._samples: list[Sample] = []
        self._stamp: tuple | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create the drawings folder {self.root}: "
                            f"{exc.strerror or exc}") from None
        with self._lock:
            clean_stale_temps(self.root, self.FILENAME)  # left by a writer killed mid-save
            self._reload(on_damage="raise")

    def _file_stamp(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DataError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _reload(self, on_damage: str) -> None:
        """Bring ``_samples`` up to date with the file (call with the lock held). A damaged
        file is moved aside; ``on_damage="raise"`` then reports it, "keep" carries on with the
        samples this process knew (a write follows and saves them)."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        if stamp is None:
            self._samples, self._stamp = [], None
            return
        try:
            self._samples = _unpack(self.path)
            self._stamp = stamp
        except DataError as exc:
            aside = _move_aside(self.path)
            self._stamp = None
            if on_damage == "raise":
                self._samples = []
                raise DataError(f"{exc}; it was moved to {aside.name} and a new collection "
                                "starts") from None

    def _refresh(self) -> None:
        """Pick up changes another window or process made (cheap when there are none)."""
        try:
            if self._file_stamp() == self._stamp:
                return
            with self._lock:
                self._reload(on_damage="keep")
        except DataError:
            pass  # reading keeps what we have; the next change reports and repairs

    def __len__(self) -> int:
        self._refresh()
        return len(self._samples)

    def _change(self, change):
        """Read-modify-write under the lock: ``change(samples) -> (new samples, result)``."""
        with self._lock:
            self._reload(on_damage="keep")
            new, result = change(list(self._samples))
            try:
                _write_atomic(self.path, new)
            except OSError as exc:
                raise DataError(f"cannot save your drawings to {self.path}: "
                                f"{exc.strerror or exc}") from None
            self._samples, self._stamp = new, self._file_stamp()
        return result

    @staticmethod
    def _next_id(samples: list[Sample]) -> int:
        return max((s.id for s in samples), default=0) + 1

    @staticmethod
    def _find(samples: list[Sample], sample_id: int) -> int:
        for i, s in enumerate(samples):
            if s.id == sample_id:
                return i
        raise DataError(f"no drawing with id {sample_id}")

    def add(self, image28: np.ndarray, label: int, strokes=None) -> int:
        """Store a confirmed sample; returns its id once it is safely on disk."""
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be 0-9, got {label}")
        image, strokes_ = _to_uint8(image28), _strokes(strokes)
        now = time.time()

        def change(samples):
            s = Sample(self._next_id(samples), image, int(label), strokes_, now)
            return samples + [s], s.id

        return self._change(change)

    def relabel(self, sample_id: int, label: int) -> None:
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be 0-9, got {label}")

        def change(samples):
            i = self._find(samples, sample_id)
            old = samples[i]
            samples[i] = Sample(old.id, old.image, int(label), old.strokes, old.timestamp)
            return samples, None

        self._change(change)

    def delete(self, sample_id: int) -> None:
        def change(samples):
            i = self._find(samples, sample_id)
            return samples[:i] + samples[i + 1:], None

        self._change(change)

    def samples(self) -> list[Sample]:
        self._refresh()
        return list(self._samples)

    def arrays(self, samples: list[Sample] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(x (N, 1, 28, 28) float32 in [0, 1], y (N,) int64), ready for training."""
        if samples is None:
            self._refresh()
        ss = self._samples if samples is None else samples
        x = np.zeros((len(ss), 1, 28, 28), np.float32)
        for i, s in enumerate(ss):
            x[i, 0] = s.image / np.float32(255)
        return x, np.array([s.label for s in ss], np.int64)

    def split_holdout(self, frac: float = 0.2, seed: int = 0):
        """((x_train, y_train), (x_holdout, y_holdout)): a fixed random held-out share, for a
        before/after score on drawings the fine-tuning never saw."""
        self._refresh()
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
        self._refresh()
        try:
            _write_atomic(path, self._samples)
        except OSError as exc:
            raise DataError(f"cannot export to {path}: {exc.strerror or exc}") from None
        return path

    def import_file(self, path: str | os.PathLike, merge: bool = True) -> int:
        """Import an exported file; returns how many samples were added. With ``merge`` the
        existing samples stay and exact duplicates are skipped; otherwise they are replaced."""
        incoming = _unpack(Path(path))  # raises before anything changes

        def change(samples):
            base = samples if merge else []
            seen = {(s.image.tobytes(), s.label) for s in base}
            next_id = max((s.id for s in samples), default=0) + 1  # ids are never reused
            added = 0
            for s in incoming:
                key = (s.image.tobytes(), s.label)
                if key in seen:
                    continue
                seen.add(key)
                base.append(Sample(next_id, s.image, s.label, s.strokes, s.timestamp))
                next_id += 1
                added += 1
            return base, added

        return self._change(change)
