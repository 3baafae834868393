"""Datasets by name: where their files are, whether they are intact, and loading them.

Lookup order: an explicit ``data_dir`` (then only there: the user said where), else every folder
in ``DRAWCNN_DATA``, the user data folder (platformdirs) and system-wide copies (Debian's
``dataset-fashion-mnist`` package). A folder may hold ``<name>/<files>``, the files directly, or
torchvision's ``<Name>/raw/<files>``. Decoded arrays are cached per process.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DatasetCorrupt, DatasetNotFound
from . import idx
from .catalog import DATASETS, ENV_VAR, ROLES, DatasetInfo, get_info  # noqa: F401


def user_data_root() -> Path:
    """The per-user data folder (e.g. ~/.local/share/drawcnn on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("drawcnn"))


def search_roots(data_dir: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """(root, where it came from) in lookup order."""
    if data_dir is not None:
        return [(Path(data_dir).expanduser(), "--data-dir")]
    roots = []
    for part in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if part.strip():
            roots.append((Path(part.strip()).expanduser(), ENV_VAR))
    roots.append((user_data_root(), "user data folder"))
    return roots


def download_root(data_dir: str | os.PathLike | None = None) -> Path:
    """Where a download goes: the first root of the lookup order."""
    return search_roots(data_dir)[0][0]


def _candidate_dirs(info: DatasetInfo, data_dir) -> list[tuple[Path, str]]:
    out = []
    for root, origin in search_roots(data_dir):
        for sub in info.dir_names:
            out.append((root / sub, origin))
        out.append((root, origin))
    if data_dir is None:
        out += [(Path(d), "system-wide copy") for d in info.system_dirs]
    return out


def _file_in(folder: Path, filename: str) -> Path | None:
    for cand in (folder / filename, folder / filename.removesuffix(".gz")):
        if cand.is_file():
            return cand
    return None


@dataclass
class DatasetStatus:
    """What exists and what is missing for one dataset; ``str()`` is a user message."""

    name: str
    directory: Path | None
    present: dict[str, Path] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    searched: list[tuple[Path, str]] = field(default_factory=list)
    download_to: Path | None = None

    @property
    def complete(self) -> bool:
        return self.directory is not None and not self.missing

    def __str__(self) -> str:
        if self.complete:
            return f"{self.name}: all {len(self.present)} files in {self.directory}"
        info = get_info(self.name)
        lines = [f"{info.title} ({self.name}) was not found. Looked in:"]
        lines += [f"  - {p} ({origin})" for p, origin in self.searched]
        if self.present:
            lines.append(f"Found only {', '.join(sorted(self.present))} in {self.directory}; "
                         f"missing {', '.join(self.missing)}.")
        lines.append(
            f"To fix: put the files {', '.join(info.files.values())} into a folder "
            f"<DIR>/{info.dir_names[0]}/ (or <DIR> itself), then pass --data-dir <DIR> or set "
            f"{ENV_VAR}=<DIR>; or let drawcnn download them (about 12-30 MB) into "
            f"{self.download_to}.")
        return "\n".join(lines)


def dataset_status(name: str, data_dir: str | os.PathLike | None = None) -> DatasetStatus:
    """Look for the dataset in every candidate folder; the first complete one wins."""
    info = get_info(name)
    cands = _candidate_dirs(info, data_dir)
    target = download_root(data_dir) / info.dir_names[0]
    best: DatasetStatus | None = None
    for folder, _ in cands:
        present = {f: p for f in info.files.values() if (p := _file_in(folder, f))}
        st = DatasetStatus(info.name, folder, present,
                           [f for f in info.files.values() if f not in present], cands, target)
        if st.complete:
            return st
        if present and (best is None or len(present) > len(best.present)):
            best = st
    return best or DatasetStatus(info.name, None, {}, list(info.files.values()), cands, target)


def find_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder holding all files of the dataset, or None."""
    st = dataset_status(name, data_dir)
    return st.directory if st.complete else None


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def verify_dataset(name: str, data_dir: str | os.PathLike | None = None) -> list[str]:
    """Check every file against its published md5 (of the .gz or of the decompressed data) and
    that it parses; returns the problems found (empty: all good). Raises DatasetNotFound."""
    info = get_info(name)
    st = dataset_status(name, data_dir)
    if not st.complete:
        raise DatasetNotFound(str(st))
    problems = []
    for fname, path in st.present.items():
        try:
            raw = idx.read_file_bytes(path)
            data = idx.decompress(raw, path)
        except DatasetCorrupt as exc:
            problems.append(str(exc))
            continue
        if _md5(raw) != info.md5[fname] and _md5(data) != info.raw_md5[fname.removesuffix(".gz")]:
            problems.append(f"{path}: checksum does not match the published {info.title} file "
                            "(damaged or a different version); delete it and download again")
    return problems


@dataclass(eq=False)
class Dataset:
    """A loaded dataset. Arrays are shared with the per-process cache and read-only."""

    name: str
    root: Path
    x_train: np.ndarray  # (N, 1, 28, 28) float32 in [0, 1]
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    checksum: str  # sha256 over the four files' bytes, for weights metadata
    class_names: tuple[str, ...]

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, root={str(self.root)!r}, train={len(self.y_train)}, "
                f"test={len(self.y_test)}, sha256={self.checksum[:12]})")


_CACHE: dict[tuple, Dataset] = {}
_CACHE_LOCK = threading.Lock()


def _decode(info: DatasetInfo, files: dict[str, Path]) -> tuple[list[np.ndarray], str]:
    sha = hashlib.sha256()
    arrays = []
    for role in ROLES:
        path = files[info.files[role]]
        raw = idx.read_file_bytes(path)
        sha.update(raw)
        arrays.append(idx.parse_idx(idx.decompress(raw, path), path,
                                    3 if role.endswith("images") else 1))
    xtr, ytr, xte, yte = arrays
    for x, y, role in ((xtr, ytr, "train"), (xte, yte, "test")):
        xp, yp = files[info.files[f"{role}_images"]], files[info.files[f"{role}_labels"]]
        if x.shape[1:] != (28, 28) or x.dtype != np.uint8:
            raise DatasetCorrupt(xp, f"expected 28x28 uint8 images, found {x.shape[1:]} "
                                     f"{x.dtype}")
        if len(x) != len(y):
            raise DatasetCorrupt(yp, f"{len(y)} labels for {len(x)} images in {xp.name}")
        if len(x) == 0:
            raise DatasetCorrupt(xp, f"the {role} set holds no images")
        problem = label_problem(y, len(info.class_names))
        if problem:
            raise DatasetCorrupt(yp, problem)
    return arrays, sha.hexdigest()


def label_problem(y: np.ndarray, num_classes: int) -> str | None:
    """Why ``y`` cannot be class labels 0..num_classes-1 (None when it can): float labels
    (NaN, 2.5), negative ones (int8 -1 would index class 9) and too large ones."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        return f"labels must be integers, found {y.dtype}"
    if y.ndim != 1:
        return f"labels must be a flat list, found shape {y.shape}"
    if y.size and int(y.min()) < 0:
        return f"label {int(y.min())} is negative (labels are 0-{num_classes - 1})"
    if y.size and int(y.max()) >= num_classes:
        return f"label {int(y.max())} out of range 0-{num_classes - 1}"
    return None


def _to_float(x: np.ndarray) -> np.ndarray:
    out = np.multiply(x, np.float32(1 / 255), dtype=np.float32)
    out = out.reshape(len(x), 1, 28, 28)
    out.flags.writeable = False
    return out


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, download: bool = False,
                 progress: Callable[[int, int], None] | None = None, stop_event=None) -> Dataset:
    """Load (and with ``download=True`` fetch if missing) a dataset; cached per process.

    Raises DatasetNotFound (message says where it looked and how to fix), DatasetCorrupt,
    DownloadError.
    """
    info = get_info(name)
    st = dataset_status(name, data_dir)
    if not st.complete and download:
        from .download import download_dataset

        target = download_root(data_dir) / info.dir_names[0]
        download_dataset(info.name, target, progress=progress, stop_event=stop_event)
        st = dataset_status(name, target)
    if not st.complete:
        raise DatasetNotFound(str(st))
    files = st.present
    key = (info.name,) + tuple(
        (str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files.values())
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
        (xtr, ytr, xte, yte), digest = _decode(info, files)
        ys = [y.astype(np.int64) for y in (ytr, yte)]
        for y in ys:
            y.flags.writeable = False
        ds = Dataset(info.name, st.directory, _to_float(xtr), ys[0], _to_float(xte), ys[1],
                     digest, info.class_names)
        _CACHE[key] = ds
        return ds


def clear_cache() -> None:
    """Forget decoded datasets (tests, or to free ~220 MB)."""
    with _CACHE_LOCK:
        _CACHE.clear()
