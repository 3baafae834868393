"""The user's own labelled drawings ("Teach"): one .npz file, no pickle, atomic locked writes.

Each sample keeps the 28x28 model input (uint8), its confirmed label, the original strokes
(so it can be re-preprocessed if the pipeline improves) and when it was drawn. Every change is
a read-modify-write of the whole file under a lock that holds across threads and processes
(two app windows adding at once keep every drawing), written through a uniquely named temp
file + ``os.replace`` (a crash never leaves half a file; orphaned temp files are cleaned at the
next open). When ``add`` returns, the drawing is on disk. A corrupt store is moved aside (never
overwritten) and reported as :class:`DataError`; a corrupt import changes nothing. The file
format and its strict reader are in ``drawings_file.py``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..atomic import FileLock, clean_stale_temps
from ..errors import DataError
from .drawings_file import Sample, as_strokes, read_drawings, to_uint8, write_drawings


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
            self._samples = read_drawings(self.path)
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
                write_drawings(self.path, new)
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
        image, strokes_ = to_uint8(image28), as_strokes(strokes)
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
            write_drawings(path, self._samples)
        except OSError as exc:
            raise DataError(f"cannot export to {path}: {exc.strerror or exc}") from None
        return path

    def import_file(self, path: str | os.PathLike, merge: bool = True) -> int:
        """Import an exported file; returns how many samples were added. With ``merge`` the
        existing samples stay and exact duplicates are skipped; otherwise they are replaced."""
        incoming = read_drawings(Path(path))  # raises before anything changes

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
