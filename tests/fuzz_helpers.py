"""Shared by the fuzz tests: outcome tallies, a hang guard, and a memory-capped child process."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib

from drawcnn.errors import DrawCNNError

#: Extra address space a child may take after its imports (a real 1.4 MB weights file or a
#: MNIST file needs far less; the bombs the issue found wanted 1.25-5.8 GB).
MEMORY_BUDGET = 400 << 20


class Outcomes:
    """Counts what each fuzz case gave: a clean error (by type) or a correct result."""

    def __init__(self):
        self.counts: collections.Counter = collections.Counter()
        self.bad: list[str] = []
        self.started = time.perf_counter()

    def run(self, label: str, fn, check_result=None) -> None:
        try:
            result = fn()
        except DrawCNNError as exc:
            if not str(exc).strip():
                self.bad.append(f"{label}: {type(exc).__name__} without a message")
                return
            self.counts[type(exc).__name__] += 1
            return
        except Exception as exc:  # the failure this suite looks for: anything but ours
            self.bad.append(f"{label}: raw {type(exc).__name__}: {exc!s:.200}")
            return
        if check_result is not None:
            problem = check_result(result)
            if problem:
                self.bad.append(f"{label}: {problem}")
                return
        self.counts["ok"] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + len(self.bad)

    def report(self, name: str) -> str:
        line = (f"{name}: {self.total} cases in {time.perf_counter() - self.started:.1f} s: "
                f"{dict(sorted(self.counts.items()))}, {len(self.bad)} bad")
        print(line)
        return line


@contextlib.contextmanager
def no_hang(seconds: int):
    """Fail (instead of hanging the suite) if the block runs for ``seconds``: a hang guard,
    not a speed test: the limit is many times what the block needs."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"no result after {seconds} s: hang")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


_CHILD = """
import json, resource, sys
{imports}
def used_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()
limit = used_bytes() + {budget}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from drawcnn.errors import DrawCNNError
results = []
for arg in json.loads(sys.argv[1]):
    try:
        {call}
        results.append(["ok", ""])
    except DrawCNNError as exc:
        results.append([type(exc).__name__, str(exc)[:300]])
    except MemoryError:
        results.append(["MemoryError", "over the memory budget"])
    except Exception as exc:
        results.append(["raw " + type(exc).__name__, str(exc)[:300]])
print("RESULTS " + json.dumps(results))
"""


def run_capped(imports: str, call: str, args: list, timeout: float = 120) -> list:
    """Run ``call`` (using ``arg``) for each of ``args`` in one child process whose address
    space is capped at its size after ``imports`` plus MEMORY_BUDGET. Returns
    [[outcome, message], ...]; a crash or a hang fails."""
    code = _CHILD.format(imports=textwrap.dedent(imports), budget=MEMORY_BUDGET, call=call)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True,
                         text=True, timeout=timeout, env=env)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert res.returncode == 0 and lines, f"child failed ({res.returncode}): {res.stderr[-2000:]}"
    return json.loads(lines[-1][len("RESULTS "):])


# ------------------------------------------------------------------ bombs, built in no time
# A deflate stream of N zero bytes is made from one compressed 4 MB block repeated (each ends
# in a full flush, so copies are independent), then a final empty block. Checksums are left
# zero: a naive reader allocates everything before it gets to check them.

_CHUNK = 1 << 22


def deflate_zeros(prefix: bytes, zero_bytes: int) -> tuple[bytes, int]:
    """(raw deflate data, decompressed size) for ``prefix`` + about ``zero_bytes`` zeros."""
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = first.compress(prefix + b"\0" * _CHUNK) + first.flush(zlib.Z_FULL_FLUSH)
    more = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = more.compress(b"\0" * _CHUNK) + more.flush(zlib.Z_FULL_FLUSH)
    n = max(0, zero_bytes // _CHUNK - 1)
    return head + block * n + b"\x03\x00", len(prefix) + _CHUNK * (n + 1)


def gzip_zeros(prefix: bytes, zero_bytes: int) -> bytes:
    data, size = deflate_zeros(prefix, zero_bytes)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + data
            + struct.pack("<II", 0, size & 0xFFFFFFFF))


def zlib_zeros(prefix: bytes, zero_bytes: int) -> bytes:
    return b"\x78\x01" + deflate_zeros(prefix, zero_bytes)[0] + b"\0\0\0\0"


def zip_with_zeros(small: dict[str, bytes], name: str, prefix: bytes, zero_bytes: int) -> bytes:
    """A zip of the ``small`` members (stored) plus ``name``: ``prefix`` + zeros, deflated."""
    entries = [(n, d, 0, zlib.crc32(d), len(d)) for n, d in small.items()]
    data, size = deflate_zeros(prefix, zero_bytes)
    entries.append((name, data, 8, 0, size))
    out, central = bytearray(), bytearray()
    for n, d, method, crc, usize in entries:
        nb = n.encode()
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc,
                           len(d), usize, len(nb), 0) + nb + d
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0,
                               0x21, crc, len(d), usize, len(nb), 0, 0, 0, 0, 0,
                               offset) + nb
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                      len(central), len(out), 0)
    return bytes(out + central + end)
