"""IDX files (the MNIST container format), gzipped or raw, read strictly.

Every way a file can be wrong (not gzip when it says so, wrong magic, odd dimensions, a payload
that is short or too long) becomes a :class:`DatasetCorrupt` naming the file and the problem, so
the user learns *which* download to redo instead of seeing a NumPy reshape error.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetCorrupt
from ..untrusted import check_regular_file

_GZIP_MAGIC = b"\x1f\x8b"
#: IDX type byte -> NumPy big-endian dtype. MNIST only uses 0x08 (ubyte).
_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt: code for code, dt in _DTYPES.items()}
#: Limits checked before anything is allocated or decompressed: the largest real file (MNIST
#: train images) is 9.9 MB compressed, 47 MB of data.
MAX_FILE_BYTES = 256 << 20
MAX_DATA_BYTES = 256 << 20
_MAX_HEADER = 4 + 4 * 255


def read_file_bytes(path: Path) -> bytes:
    """The file's bytes as stored (compressed or not), errors as :class:`DatasetCorrupt`.

    Only a regular file of at most MAX_FILE_BYTES is read (a FIFO would block for ever).
    """
    check_regular_file(Path(path), MAX_FILE_BYTES, lambda why: DatasetCorrupt(
        path, "the file does not exist" if why == "no such file" else why))
    try:
        with open(path, "rb") as f:
            return f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DatasetCorrupt(path, f"cannot be read ({exc.strerror or exc})") from None


def _gunzip(raw: bytes, limit: int, path: Path) -> bytes:
    """Gunzip (all members of) ``raw`` but stop after ``limit + 1`` bytes of output."""
    out = bytearray()
    data = raw
    d = zlib.decompressobj(wbits=31)
    try:
        while True:
            out += d.decompress(data, limit + 1 - len(out))
            data = d.unconsumed_tail
            if len(out) > limit:
                return bytes(out)
            if d.eof:
                rest = d.unused_data
                if rest[:2] == _GZIP_MAGIC:  # another gzip member follows
                    d, data = zlib.decompressobj(wbits=31), rest
                    continue
                if rest.strip(b"\0"):
                    raise zlib.error("trailing garbage after the compressed data")
                return bytes(out)
            if not data:
                raise EOFError("the compressed data ends early")
    except (zlib.error, EOFError) as exc:
        raise DatasetCorrupt(
            path, f"the gzip data is damaged or incomplete ({exc}); delete it and download "
            "it again") from None


def _declared_bytes(head: bytes) -> int | None:
    """The total size an IDX header declares, or None when ``head`` is no IDX header."""
    if len(head) < 4:
        return None
    zero, code, ndim = struct.unpack(">HBB", head[:4])
    if zero != 0 or code not in _DTYPES or ndim == 0 or len(head) < 4 + 4 * ndim:
        return None
    count = 1
    for d in struct.unpack(f">{ndim}I", head[4:4 + 4 * ndim]):
        count *= d
    return 4 + 4 * ndim + count * _DTYPES[code].itemsize


def decompress(raw: bytes, path: Path) -> bytes:
    """Gunzip ``raw`` when it starts with the gzip magic (whatever the name says).

    The IDX header is decompressed first; a header declaring more than MAX_DATA_BYTES is
    refused, and no more than the declared size (plus one byte, to notice a longer file) is
    ever decompressed, so a small hostile file cannot take gigabytes of memory.
    """
    if raw[:2] == _GZIP_MAGIC:
        declared = _declared_bytes(_gunzip(raw, _MAX_HEADER, path))
        if declared is not None and declared > MAX_DATA_BYTES:
            raise DatasetCorrupt(path, f"implausible dimensions in the header ({declared:,} "
                                       f"bytes of data declared; at most {MAX_DATA_BYTES:,})")
        return _gunzip(raw, MAX_DATA_BYTES if declared is None else declared, path)
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
    if count * _DTYPES[code].itemsize > MAX_DATA_BYTES or (ndim > 1 and 0 in dims[1:]):
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
