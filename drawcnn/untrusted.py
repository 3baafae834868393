"""Reading files a user hands us (weights, drawings imports) without trusting a byte of them.

An .npz is a zip of .npy arrays. ``np.load`` decompresses a whole member before it looks at its
header, so a 1.4 MB file can ask for gigabytes. ``read_npz`` instead checks the file (a regular
file, not too big), every zip entry (declared size, compression method, no encryption), then
each array's .npy header (dtype, shape, and that the shape matches the declared size) and only
then decompresses, never more than the declared size. Every failure becomes the caller's error
type with a one-line message; standard library only, so the engine and data packages share it.
"""

from __future__ import annotations

import os
import stat
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: What parsing a hostile zip/.npy can raise inside zipfile, zlib and numpy's header reader
#: (each seen in fuzzing); turned into the caller's error here, at the one place bytes come in.
PARSE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
                ValueError, NotImplementedError, OverflowError, KeyError, UnicodeDecodeError,
                RuntimeError, SyntaxError, tokenize.TokenError, struct.error, MemoryError,
                RecursionError, TypeError, IndexError)

MAX_MEMBERS = 64
_HEADER_MAX = 10_000


def check_regular_file(path: Path, max_bytes: int, fail: Callable[[str], Exception]) -> int:
    """The size of ``path`` after checking it is an existing regular file of at most
    ``max_bytes`` (a FIFO or a device would block or never end)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot open ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise fail("is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise fail("not a regular file (a pipe or a device?)")
    if st.st_size > max_bytes:
        raise fail(f"too large ({st.st_size:,} bytes; at most {max_bytes:,} expected)")
    return st.st_size


def _npy_header(fh) -> tuple[tuple, bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh, max_header_size=_HEADER_MAX)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh, max_header_size=_HEADER_MAX)
    raise ValueError(f"unsupported .npy format version {version}")


def read_npz(path: str | os.PathLike, fail: Callable[[str], Exception], *,
             max_file_bytes: int, max_array_bytes: int, max_total_bytes: int,
             kinds: str = "fiub") -> dict[str, np.ndarray]:
    """{name: read-only array} from an .npz, checked before anything is decompressed.

    ``fail(message)`` builds the exception to raise (e.g. a WeightsError naming the file);
    ``kinds`` are the allowed dtype kinds (``np.dtype.kind``; objects never are).
    """
    path = Path(path)
    check_regular_file(path, max_file_bytes, fail)
    try:
        with open(path, "rb") as raw:
            if raw.read(4) != b"PK\x03\x04":
                raise fail("file is truncated or corrupted (not an .npz archive)")
            raw.seek(0)
            with zipfile.ZipFile(raw) as zf:
                return _read_members(zf, fail, max_array_bytes, max_total_bytes, kinds)
    except PARSE_ERRORS as exc:
        msg = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise fail(f"file is truncated or corrupted ({type(exc).__name__}"
                   f"{': ' + msg if msg else ''})") from None


def _read_members(zf: zipfile.ZipFile, fail, max_array_bytes: int, max_total_bytes: int,
                  kinds: str) -> dict[str, np.ndarray]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise fail(f"holds {len(infos)} entries; not a file drawcnn wrote")
    total = 0
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise fail(f"unexpected entry {info.filename[:60]!r} in the archive")
        if info.flag_bits & 0x1:
            raise fail(f"entry {info.filename[:60]!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise fail(f"entry {info.filename[:60]!r} uses an unsupported compression method")
        if info.file_size > max_array_bytes + _HEADER_MAX:
            raise fail(f"entry {info.filename[:60]!r} declares {info.file_size:,} bytes; "
                       f"at most {max_array_bytes:,} expected")
        total += info.file_size
    if total > max_total_bytes:
        raise fail(f"its arrays declare {total:,} bytes in all; at most {max_total_bytes:,} "
                   "expected")
    out: dict[str, np.ndarray] = {}
    for info in infos:
        name = info.filename[: -len(".npy")]
        if name in out:
            raise fail(f"entry {name[:60]!r} appears twice")
        with zf.open(info) as fh:
            shape, fortran, dtype = _npy_header(fh)
            if dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None:
                raise fail(f"array {name[:60]!r} has unsupported dtype {dtype}")
            count = 1
            for d in shape:
                count *= int(d)
            nbytes = count * dtype.itemsize
            if fh.tell() + nbytes != info.file_size or nbytes > max_array_bytes:
                raise fail(f"array {name[:60]!r}: its header (shape {shape}) does not match "
                           f"its size in the archive")
            data = fh.read(nbytes)
            if len(data) != nbytes:
                raise fail(f"array {name[:60]!r} is truncated")
            fh.read(1)  # reach the end of the entry: zipfile checks the CRC there
        out[name] = np.frombuffer(data, dtype=dtype, count=count).reshape(
            shape, order="F" if fortran else "C")
    return out
