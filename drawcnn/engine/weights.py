"""Weights files: an .npz of named float32 arrays plus one JSON metadata record.

Saving is atomic (write a temp file in the same folder, fsync, os.replace), so a crash or a
kill mid-save leaves the old file intact. Loading checks everything and turns every failure
(missing, truncated, not a zip, bad CRC, missing arrays, wrong shapes, NaN weights, unknown
architecture) into one WeightsError whose message names the file and the problem.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..errors import ArchitectureError, WeightsError
from .models import Architecture

META_KEY = "__drawcnn_meta__"
FORMAT = "drawcnn-weights"
FORMAT_VERSION = 1


def save_network(net, path, training: dict | None = None) -> Path:
    """Write ``net``'s parameters and metadata to ``path`` atomically; returns the path."""
    from .. import __version__

    path = Path(path)
    meta = dict(net.metadata)
    meta.update(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        drawcnn_version=__version__,
        architecture=net.arch.to_dict(),
        saved=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    if training is not None:
        meta["training"] = training
    arrays = net.get_params()
    # default=str: an odd value in the metadata must never cost the trained weights
    arrays[META_KEY] = np.frombuffer(json.dumps(meta, default=str).encode("utf-8"), np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WeightsError(f"cannot save weights to {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; others may need to read it
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise WeightsError(f"cannot save weights to {path}: {exc.strerror or exc}") from None
        raise
    net.metadata = {k: v for k, v in meta.items() if k != "architecture"}
    return path


def read_weights(path) -> tuple[Architecture, dict[str, np.ndarray], dict]:
    """(architecture, params, metadata) from a file, fully validated; raises WeightsError."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: no such weights file")
    if path.is_dir():
        raise WeightsError(f"{path}: is a folder, not a weights file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    if head != b"PK\x03\x04":
        what = "empty file" if not head else "not an .npz archive"
        raise WeightsError(f"{path}: file is truncated or corrupted ({what})")
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            if META_KEY not in names:
                raise WeightsError(f"{path}: not a drawcnn weights file (no metadata record)")
            meta = json.loads(bytes(data[META_KEY]).decode("utf-8"))
            arrays = {k: data[k] for k in names if k != META_KEY}
    except WeightsError:
        raise
    except (zipfile.BadZipFile, EOFError) as exc:
        raise WeightsError(f"{path}: file is truncated or corrupted ({exc})") from exc
    except (OSError, ValueError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read weights ({type(exc).__name__}: {exc})") from exc

    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a drawcnn weights file (format {meta.get('format')!r})"
                           if isinstance(meta, dict) else f"{path}: malformed metadata")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise WeightsError(f"{path}: format version {version!r} is newer than this drawcnn "
                           f"understands ({FORMAT_VERSION}); upgrade drawcnn")
    try:
        arch = Architecture.from_dict(meta["architecture"])
    except (KeyError, ArchitectureError) as exc:
        raise WeightsError(f"{path}: bad architecture in metadata: {exc}") from exc

    expected = arch.param_shapes()
    missing = sorted(set(expected) - set(arrays))
    if missing:
        raise WeightsError(f"{path}: missing arrays for {arch.name}: {', '.join(missing)}")
    extra = sorted(set(arrays) - set(expected))
    if extra:
        raise WeightsError(f"{path}: unexpected arrays for {arch.name}: {', '.join(extra)}")
    params = {}
    for key, shape in expected.items():
        arr = arrays[key]
        if arr.shape != tuple(shape):
            raise WeightsError(f"{path}: {key} has shape {arr.shape}, {arch.name} needs "
                               f"{tuple(shape)}")
        if arr.dtype.kind != "f":
            raise WeightsError(f"{path}: {key} has dtype {arr.dtype}, expected float32")
        if not np.all(np.isfinite(arr)):
            raise WeightsError(f"{path}: {key} contains NaN or infinite values")
        params[key] = arr.astype(np.float32, copy=False)
    meta.pop(META_KEY, None)
    return arch, params, meta


def load_network(path, backend="cpu", expect_arch: str | None = None):
    """A Network from a weights file; ``expect_arch`` rejects a file of another architecture."""
    from .network import Network

    arch, params, meta = read_weights(path)
    if expect_arch is not None and arch.name != expect_arch:
        raise WeightsError(f"{path}: holds a {arch.name!r} network, expected {expect_arch!r}")
    meta = {k: v for k, v in meta.items() if k != "architecture"}
    meta["source"] = str(path)
    return Network(arch, params, backend, metadata=meta)
