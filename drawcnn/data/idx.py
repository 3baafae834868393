"""IDX files (the MNIST container format), gzipped or raw, read strictly.

Every way a file can be wrong (not gzip when it says so, wrong magic, odd dimensions, a payload
that is short or too long) becomes a :class:`DatasetCorrupt` naming the file and the problem, so
the user learns *which* download to redo instead of seeing a NumPy reshape error.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetCorrupt

_GZIP_MAGIC = b"\x1f\x8b"
#: IDX type byte -> NumPy big-endian dtype. MNIST only uses 0x08 (ubyte).
_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt: code for code, dt in _DTYPES.items()}
#: Refuse absurd headers before allocating (a garbage file can claim 2**32 items).
_MAX_ITEMS = 1 << 31


def read_file_bytes(path: Path) -> bytes:
    """The file's bytes as stored (compressed or not), errors as :class:`DatasetCorrupt`."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise DatasetCorrupt(path, "the file does not exist") from None
    except OSError as exc:
        raise DatasetCorrupt(path, f"cannot be read ({exc.strerror or exc})") from None


def decompress(raw: bytes, path: Path) -> bytes:
    """Gunzip ``raw`` when it starts with the gzip magic (whatever the name says)."""
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetCorrupt(
                path, f"the gzip data is damaged or incomplete ({exc}); delete it and download "
                "it again") from None
    if path.suffix == ".gz":
        raise DatasetCorrupt(path, "the name ends in .gz but the file is not gzip-compressed "
                                   "(an HTML error page saved by a failed download?)")
    return raw


def parse_idx(data: bytes, path: str | Path = "<bytes>",
              expect_ndim: int | None = None) -> np.ndarray:
    """Decode IDX bytes into an array (native byte order); ``path`` is only for messages."""
    path = Path(path)
    if len(data) < 4:
        raise DatasetCorrupt(path, f"too short to be an IDX file ({len(data)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _DTYPES:
        raise DatasetCorrupt(
            path, f"not an IDX file (magic number 0x{data[:4].hex()}, expected 0x00000803 for "
                  "images or 0x00000801 for labels)")
    if ndim == 0:
        raise DatasetCorrupt(path, "IDX header declares zero dimensions")
    if expect_ndim is not None and ndim != expect_ndim:
        kind = {3: "images (magic 0x00000803)", 1: "labels (magic 0x00000801)"}
        raise DatasetCorrupt(path, f"holds a {ndim}-D array (magic 0x{data[:4].hex()}); "
                                   f"expected {kind.get(expect_ndim, f'{expect_ndim}-D data')}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetCorrupt(path, f"the header is truncated ({len(data)} of {header} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    count = 1
    for d in dims:
        count *= d
    if count > _MAX_ITEMS or (ndim > 1 and 0 in dims[1:]):
        raise DatasetCorrupt(path, f"implausible dimensions {dims} in the header")
    dtype = _DTYPES[code]
    expected = header + count * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DatasetCorrupt(
            path, f"the file is {what}: dimensions {'x'.join(map(str, dims))} need "
                  f"{expected:,} bytes, found {len(data):,}")
    arr = np.frombuffer(data, dtype=dtype, offset=header, count=count).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: str | os.PathLike, expect_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip detected from its first bytes, not its name).

    ``expect_ndim`` (3 for images, 1 for labels) turns a swapped file into a clear error.
    """
    path = Path(path)
    return parse_idx(decompress(read_file_bytes(path), path), path, expect_ndim)


def write_idx(path: str | os.PathLike, array: np.ndarray, gzip: bool = True) -> Path:
    """Write ``array`` as IDX (gzip-compressed by default); used to build test fixtures."""
    import gzip as _gzip

    arr = np.asarray(array)
    dt = arr.dtype.newbyteorder(">") if arr.dtype.itemsize > 1 else arr.dtype
    if dt not in _CODES:
        raise ValueError(f"IDX cannot store dtype {arr.dtype}")
    header = struct.pack(">HBB", 0, _CODES[dt], arr.ndim)
    header += struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(dt, copy=False).tobytes()
    path = Path(path)
    path.write_bytes(_gzip.compress(payload, compresslevel=6, mtime=0) if gzip else payload)
    return path
