"""Weights files: an .npz of named float32 arrays plus one JSON metadata record.

Saving is atomic (write a uniquely named temp file in the same folder, fsync, os.replace), so
a crash or a kill mid-save leaves the old file intact; the next save cleans the orphaned temp
files. Loading checks everything before decompressing anything and turns every failure
(missing, truncated, not a zip, bad CRC, oversized entries, missing arrays, wrong shapes,
weights that are not finite as float32 or could overflow, an architecture the engine cannot
run) into one WeightsError whose message names the file and the problem.

Besides the layers' parameters a file may hold the feature statistics of the "not a digit"
score (``reading.means``, ``reading.precision``: see ``stats_shapes`` and drawcnn.reading),
optionally with a bank of training digits' penultimate features (``NEIGHBOUR_KEYS``); they
are checked the same way, and a file without them loads as before.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np

from ..atomic import clean_stale_temps, write_atomic
from ..errors import ArchitectureError, WeightsError
from ..untrusted import read_npz
from .models import Architecture

META_KEY = "__drawcnn_meta__"
FORMAT = "drawcnn-weights"
FORMAT_VERSION = 1


#: Names of the optional statistics arrays start with this (never a layer name).
STATS_PREFIX = "reading."
#: Largest magnitude a statistic may have: far beyond any fitted value, small enough that the
#: score's float64 arithmetic cannot overflow.
MAX_STAT = 1e12


def head_channels(arch: Architecture) -> int:
    """Channels of the feature maps that enter the dense head (the Flatten layer's input),
    0 when the network has no such maps."""
    kinds = [type(spec).__name__ for spec in arch.layers]
    if "Flatten" not in kinds:
        return 0
    i = kinds.index("Flatten")
    shape = tuple(arch.input_shape) if i == 0 else arch.output_shapes()[i - 1]
    return int(shape[0]) if len(shape) == 3 else 0


def penultimate_width(arch: Architecture) -> int:
    """Width of the last Dense layer's input (the penultimate features), 0 if it has none."""
    kinds = [type(spec).__name__ for spec in arch.layers]
    if "Dense" not in kinds:
        return 0
    i = len(kinds) - 1 - kinds[::-1].index("Dense")
    shape = tuple(arch.input_shape) if i == 0 else arch.output_shapes()[i - 1]
    return int(shape[0]) if len(shape) == 1 else 0


def stats_shapes(arch: Architecture) -> dict[str, tuple]:
    """Shapes of the optional statistics for ``arch``: the class means of the per-channel
    means of the dense head's input maps, and the inverse of their shared covariance."""
    k = head_channels(arch)
    if not k:
        return {}
    return {f"{STATS_PREFIX}means": (arch.num_classes, k), f"{STATS_PREFIX}precision": (k, k)}


#: The optional nearest-neighbour part of the score: unit vectors of training digits'
#: penultimate features (``bank``, N x D) after centring (``center``) and a projection
#: (``projection``, F x D); all three or none, and only with the arrays above.
NEIGHBOUR_KEYS = tuple(f"{STATS_PREFIX}{k}" for k in ("bank", "center", "projection"))
#: Most vectors a bank may hold (20,000 are shipped).
MAX_BANK = 100_000


def neighbour_shapes(arch: Architecture, stats: dict, fail) -> dict[str, tuple]:
    """Shapes the neighbour arrays of ``stats`` must have (empty when there are none)."""
    have = [k for k in NEIGHBOUR_KEYS if k in stats]
    if not have:
        return {}
    if len(have) != len(NEIGHBOUR_KEYS):
        raise fail(f"statistics arrays {sorted(have)} are only part of the neighbour bank "
                   f"(needs {list(NEIGHBOUR_KEYS)})")
    width = penultimate_width(arch)
    bank = np.asarray(stats[NEIGHBOUR_KEYS[0]])
    if not width or bank.ndim != 2 or not (1 <= bank.shape[0] <= MAX_BANK) or \
            not (1 <= bank.shape[1] <= width):
        raise fail(f"{NEIGHBOUR_KEYS[0]} has shape {bank.shape}, {arch.name} needs "
                   f"(1..{MAX_BANK}, 1..{width})")
    n, d = bank.shape
    return {NEIGHBOUR_KEYS[0]: (n, d), NEIGHBOUR_KEYS[1]: (width,),
            NEIGHBOUR_KEYS[2]: (width, d)}


def check_stats(arch: Architecture, stats: dict, fail) -> dict[str, np.ndarray]:
    """``stats`` as float32 arrays: all or none of ``stats_shapes(arch)`` (and, optionally, the
    neighbour bank, its vectors of unit length), finite and bounded; ``fail(message)`` builds
    the error to raise."""
    if not stats:
        return {}
    expected = {**stats_shapes(arch), **neighbour_shapes(arch, stats, fail)}
    if set(stats) != set(expected):
        raise fail(f"statistics arrays {sorted(stats)} do not match {arch.name} (needs "
                   f"{sorted(stats_shapes(arch)) or 'none'}, optionally "
                   f"{list(NEIGHBOUR_KEYS)})")
    out = {}
    for key, shape in expected.items():
        arr = np.asarray(stats[key])
        if arr.shape != shape or arr.dtype.kind != "f":
            raise fail(f"{key} has shape {arr.shape} ({arr.dtype}), {arch.name} needs {shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            arr32 = arr.astype(np.float32)
        if not np.all(np.isfinite(arr32)) or np.abs(arr32).max(initial=0.0) > MAX_STAT:
            raise fail(f"{key} contains NaN, infinite or huge values")
        out[key] = arr32
    bank = out.get(NEIGHBOUR_KEYS[0])
    if bank is not None and np.abs(np.linalg.norm(bank, axis=1) - 1.0).max() > 0.01:
        raise fail(f"{NEIGHBOUR_KEYS[0]} holds vectors that are not of unit length")
    return out


#: The calibration the statistics come with, in ``metadata["reading"]["score"]``: numbers, the
#: two standard deviations positive (see drawcnn.reading.novelty_scores).
SCORE_FIELDS = ("energy_mean", "energy_std", "distance_mean", "distance_std", "weight",
                "threshold")
#: ... and with a neighbour bank: its part's standardisation and weight, and the threshold of
#: the score without it (what a fine-tuned copy, whose penultimate features moved, uses).
NEIGHBOUR_FIELDS = ("neighbour_mean", "neighbour_std", "neighbour_weight", "base_threshold")


def check_score(meta: dict, fail, neighbours: bool = False) -> None:
    """A file with statistics must say how to use them: every SCORE_FIELDS (and with a
    neighbour bank every NEIGHBOUR_FIELDS) a finite number."""
    score = (meta.get("reading") or {}).get("score") if isinstance(meta.get("reading"),
                                                                  dict) else None
    if not isinstance(score, dict):
        raise fail("has feature statistics but no reading.score calibration in its metadata")
    for key in SCORE_FIELDS + (NEIGHBOUR_FIELDS if neighbours else ()):
        v = score.get(key)
        if type(v) not in (int, float) or not np.isfinite(v) or abs(v) > MAX_STAT:
            raise fail(f"reading.score.{key} is not a finite number ({str(v)[:20]!r})")
    if score["energy_std"] <= 0 or score["distance_std"] <= 0 or \
            (neighbours and score["neighbour_std"] <= 0):
        raise fail("reading.score has a standard deviation that is not positive")


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
    stats = check_stats(net.arch, getattr(net, "stats", None) or {}, WeightsError)
    if stats:
        check_score(meta, lambda m: WeightsError(f"cannot save {path}: it {m}"),
                    NEIGHBOUR_KEYS[0] in stats)
    if NEIGHBOUR_KEYS[0] in stats:  # unit vectors: half precision is plenty, half the size
        stats[NEIGHBOUR_KEYS[0]] = stats[NEIGHBOUR_KEYS[0]].astype(np.float16)
    arrays.update(stats)
    # default=str: an odd value in the metadata must never cost the trained weights
    arrays[META_KEY] = np.frombuffer(json.dumps(meta, default=str).encode("utf-8"), np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(path.parent, path.name)  # orphans of saves killed mid-write
        # the temp file gets the usual 0666 & ~umask (others may need to read weights)
        write_atomic(path, lambda fh: np.savez(fh, **arrays))
    except OSError as exc:
        raise WeightsError(f"cannot save weights to {path}: {exc.strerror or exc}") from None
    net.metadata = {k: v for k, v in meta.items() if k != "architecture"}
    return path


#: Limits for a weights file from anywhere: the shipped "deep" is 3.4 MB (0.87 M parameters).
MAX_FILE_BYTES = 512 << 20
MAX_ARRAY_BYTES = 256 << 20
MAX_META_BYTES = 1 << 20
#: A network whose logits could exceed this for some input in [0, 1] risks float32 overflow
#: (max 3.4e38) in a forward or backward pass: refused, never turned into NaN readings.
MAX_OUTPUT_BOUND = 1e30


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _parse_meta(raw: np.ndarray, path: Path) -> dict:
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_META_BYTES:
        raise WeightsError(f"{path}: malformed metadata record")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_reject_constant,
                          parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WeightsError(f"{path}: malformed metadata ({type(exc).__name__}: "
                           f"{str(exc)[:120]})") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{path}: malformed metadata")
    return meta


def output_bound(arch: Architecture, params: dict[str, np.ndarray]) -> float:
    """An upper bound on every activation's magnitude for inputs in [0, 1] (float64 math)."""
    bound = 1.0
    for name in arch.layer_names():
        if f"{name}.W" not in params:
            continue  # ReLU, pooling, flatten and dropout never grow the magnitude
        w = np.abs(params[f"{name}.W"].astype(np.float64))
        gain = w.reshape(w.shape[0], -1).sum(axis=1) if w.ndim == 4 else w.sum(axis=0)
        bias = np.abs(params[f"{name}.b"].astype(np.float64))
        bound = float(np.max(gain * bound + bias))
        if not np.isfinite(bound) or bound > MAX_OUTPUT_BOUND:
            return float("inf")
    return bound


def read_weights(path) -> tuple[Architecture, dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """(architecture, params, stats, metadata) from a file, fully validated; raises WeightsError.
    ``stats`` holds the optional statistics arrays (``stats_shapes``), empty when there are none.

    Nothing is decompressed before the archive's entries and array headers are checked
    (see drawcnn.untrusted), the architecture must be one the engine can run, and the
    weights must be finite as float32 and small enough that no output can overflow.
    """
    path = Path(path)

    def fail(message: str) -> WeightsError:
        if message == "no such file":
            message = "no such weights file"
        return WeightsError(f"{path}: {message}")

    arrays = read_npz(path, fail, max_file_bytes=MAX_FILE_BYTES,
                      max_array_bytes=MAX_ARRAY_BYTES, max_total_bytes=MAX_FILE_BYTES * 2,
                      kinds="fu")
    if META_KEY not in arrays:
        raise WeightsError(f"{path}: not a drawcnn weights file (no metadata record)")
    meta = _parse_meta(arrays.pop(META_KEY), path)
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a drawcnn weights file (format "
                           f"{str(meta.get('format'))[:40]!r})")
    version = meta.get("format_version")
    if type(version) is not int or version < 1:
        raise WeightsError(f"{path}: malformed format version {str(version)[:20]!r}")
    if version > FORMAT_VERSION:
        raise WeightsError(f"{path}: format version {version} is newer than this drawcnn "
                           f"understands ({FORMAT_VERSION}); upgrade drawcnn")
    try:
        arch = Architecture.from_dict(meta["architecture"])
    except (KeyError, ArchitectureError, RecursionError) as exc:
        raise WeightsError(f"{path}: bad architecture in metadata: {str(exc)[:200]}") from None

    stats = check_stats(arch, {k: arrays.pop(k) for k in list(arrays)
                               if k.startswith(STATS_PREFIX)}, fail)
    expected = arch.param_shapes()
    missing = sorted(set(expected) - set(arrays))
    if missing:
        raise WeightsError(f"{path}: missing arrays for {arch.name}: {', '.join(missing)}")
    extra = sorted(set(arrays) - set(expected))
    if extra:
        raise WeightsError(f"{path}: unexpected arrays for {arch.name}: "
                           f"{', '.join(e[:40] for e in extra[:5])}")
    params = {}
    for key, shape in expected.items():
        arr = arrays[key]
        if arr.shape != tuple(shape):
            raise WeightsError(f"{path}: {key} has shape {arr.shape}, {arch.name} needs "
                               f"{tuple(shape)}")
        if arr.dtype.kind != "f":
            raise WeightsError(f"{path}: {key} has dtype {arr.dtype}, expected float32")
        with np.errstate(over="ignore", invalid="ignore"):
            arr32 = arr.astype(np.float32)  # a copy: the archive's buffer stays read-only
        if not np.all(np.isfinite(arr32)):  # checked after the cast: 1e39 is inf in float32
            raise WeightsError(f"{path}: {key} contains NaN or infinite values (as float32)")
        params[key] = arr32
    if output_bound(arch, params) > MAX_OUTPUT_BOUND:
        raise WeightsError(f"{path}: the weights are so large that the network's outputs "
                           "could overflow (damaged file?)")
    if stats:
        check_score(meta, fail, NEIGHBOUR_KEYS[0] in stats)
    meta.pop(META_KEY, None)
    return arch, params, stats, meta


def load_network(path, backend="cpu", expect_arch: str | None = None):
    """A Network from a weights file; ``expect_arch`` rejects a file of another architecture."""
    from .network import Network

    arch, params, stats, meta = read_weights(path)
    if expect_arch is not None and arch.name != expect_arch:
        raise WeightsError(f"{path}: holds a {arch.name!r} network, expected {expect_arch!r}")
    meta = {k: v for k, v in meta.items() if k != "architecture"}
    meta["source"] = str(path)
    return Network(arch, params, backend, metadata=meta, stats=stats)
