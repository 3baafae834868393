"""Atomic file replacement, its temp files, and a lock that holds across processes.

A writer puts its data in ``.<name>.<pid>.<random>.tmp`` next to the target, fsyncs it and
renames it over the target, so a reader (or a crash) only ever sees the old or the new file.
A writer killed mid-write leaves its temp file behind; ``clean_stale_temps`` removes those on
the next start, and only those: files with our exact temp-name pattern whose writer process is
gone, or that are older than a minute. ``FileLock`` serialises read-modify-write cycles
between threads and processes (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows).
Standard library only: the engine and the data package both use it.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from pathlib import Path

#: A temp file older than this is an orphan whatever its pid says (pids get reused).
STALE_SECONDS = 60.0
_TEMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.(?P<rand>[0-9a-f]{8,32})\.tmp$")
#: Names earlier drawcnn versions used: ``tempfile.mkstemp(prefix=".name.", suffix=".tmp")``
#: for weights and ``drawings.npz.tmp<pid>`` for the store (cleaned by age only).
_LEGACY_RE = (re.compile(r"^\.(?P<target>.+\.npz)\.[A-Za-z0-9_]{8}\.tmp$"),
              re.compile(r"^(?P<target>drawings\.npz)\.tmp(?P<pid>\d+)$"))


def temp_path(target: Path) -> Path:
    """A unique temp name next to ``target`` (pid + random, so threads never collide)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C there: trust the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists (another user's) or cannot tell: keep it
    return True


def _is_stale(path: Path, pid: int | None, now: float) -> bool:
    try:
        age = now - path.lstat().st_mtime
    except OSError:
        return False
    return age > STALE_SECONDS or (pid is not None and not _pid_alive(pid))


def clean_stale_temps(folder: Path, target: str | None = None) -> list[Path]:
    """Remove orphaned temp files in ``folder`` (of ``target`` only, when given); returns them.

    Never raises: cleaning up is a courtesy, not a reason to fail a start.
    """
    removed: list[Path] = []
    now = time.time()
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TEMP_RE.match(name)
        pid: int | None = int(m["pid"]) if m else None
        if m is None:
            for legacy in _LEGACY_RE:
                m = legacy.match(name)
                if m:
                    pid = None  # legacy names: by age only
                    break
        if m is None or (target is not None and m["target"] != target):
            continue
        path = Path(folder) / name
        if path.is_symlink() or not path.is_file() or not _is_stale(path, pid, now):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def write_atomic(target: Path, write) -> None:
    """Call ``write(binary_file)`` on a unique temp file, fsync it, rename it over ``target``.

    On any failure (or a KeyboardInterrupt) the temp file is removed and ``target`` is untouched.
    """
    tmp = temp_path(target)
    try:
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Held:
    """Per-path state shared by every FileLock of this process on that path."""

    def __init__(self):
        self.rlock = threading.RLock()
        self.fd: int | None = None
        self.depth = 0


_HELD: dict[str, _Held] = {}
_HELD_GUARD = threading.Lock()


class FileLock:
    """An exclusive lock on ``path`` (created if needed), between threads and processes.

    Reentrant within a thread (also across FileLock objects for the same path). The OS drops
    the lock when the holder dies, so a killed writer never leaves the store locked.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        key = os.path.abspath(self.path)
        with _HELD_GUARD:
            self._held = _HELD.setdefault(key, _Held())

    def __enter__(self) -> FileLock:
        held = self._held
        held.rlock.acquire()
        if held.depth == 0:
            try:
                held.fd = self._lock_file()
            except BaseException:
                held.rlock.release()
                raise
        held.depth += 1
        return self

    def __exit__(self, *exc) -> None:
        held = self._held
        held.depth -= 1
        if held.depth == 0 and held.fd is not None:
            fd, held.fd = held.fd, None
            try:
                self._unlock_file(fd)
            finally:
                os.close(fd)
        held.rlock.release()

    def _lock_file(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt

                while True:
                    try:
                        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for ~10 s, then raises
                        break
                    except OSError:
                        continue
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def _unlock_file(fd: int) -> None:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)
