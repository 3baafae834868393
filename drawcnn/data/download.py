"""Fetch dataset files with urllib: mirror fallback, resume, checksums, cancel, offline message.

A download lands in ``<dest>.part`` and is renamed only once its checksum matches, so a
half-written or wrong file never looks like a dataset. A dropped connection is resumed with an
HTTP Range request; a cancel keeps the ``.part`` for the next attempt.

Only https is fetched (also after a redirect); plain http only from this machine (loopback),
which cannot be tampered with on the way. Each file is capped at its known size plus a little
slack: a server announcing or sending more is cut off at once instead of filling the disk.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import DownloadCancelled, DownloadError
from .catalog import get_info

Progress = Callable[[int, int], None]
CHUNK = 64 * 1024
_USER_AGENT = "drawcnn/0.1 (+https://github.com/; dataset downloader)"


#: Without a known size a file may still not exceed this (the largest dataset file is 26 MB).
DEFAULT_MAX_BYTES = 256 << 20
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Interrupted(Exception):
    """The connection ended before the whole file arrived (resumable)."""


class _Refused(Exception):
    """This mirror must not be used (not https, or it sends more than the file can be)."""


def _refusal(url: str) -> str | None:
    """Why ``url`` may not be fetched, or None."""
    try:
        u = urllib.parse.urlsplit(url)
        host = u.hostname
    except ValueError:
        return "refused: not a valid URL"
    if u.scheme == "https" or (u.scheme == "http" and host in _LOOPBACK):
        return None
    return f"refused: only https downloads are allowed, not {u.scheme or 'a bare path'}"


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        why = _refusal(newurl)
        if why:
            raise _Refused(f"redirected to {newurl}: {why}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpsOnlyRedirects)


def _hash_file(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksum_ok(path: Path, md5: str | None, sha256: str | None) -> bool:
    if md5 and _hash_file(path, "md5") != md5.lower():
        return False
    return not (sha256 and _hash_file(path, "sha256") != sha256.lower())


def _fetch(url: str, part: Path, progress: Progress | None, stop_event: threading.Event | None,
           timeout: float, max_bytes: int) -> None:
    """One attempt: continue ``part`` from its current size; raises _Interrupted when cut,
    _Refused when the server announces or sends more than ``max_bytes`` in all."""
    start = part.stat().st_size if part.exists() else 0
    if start > max_bytes:
        part.unlink()
        start = 0
    req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if start:
        req.add_header("Range", f"bytes={start}-")
    try:
        resp = _OPENER.open(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left to send: the part is already whole
            return
        raise
    with resp:
        length = resp.headers.get("Content-Length")
        if resp.status == 206:
            mode = "ab"
        else:  # server ignored the Range: start over
            mode, start = "wb", 0
        total = start + int(length) if length and length.isdigit() else 0
        if total > max_bytes:
            raise _Refused(f"the server announces {total:,} bytes; the file has at most "
                           f"{max_bytes:,}")
        done = start
        if progress:
            progress(done, total)
        with open(part, mode) as out:
            while True:
                if stop_event is not None and stop_event.is_set():
                    raise DownloadCancelled(
                        f"download of {part.name.removesuffix('.part')} cancelled; "
                        f"{done:,} bytes kept in {part} to resume later")
                try:
                    block = resp.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
                    raise _Interrupted(f"connection lost after {done:,} bytes ({exc})") from exc
                if not block:
                    break
                if done + len(block) > max_bytes:
                    raise _Refused(f"the server sent more than {max_bytes:,} bytes, more than "
                                   "the file can be; stopped")
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
    if total and done < total:
        raise _Interrupted(f"connection closed after {done:,} of {total:,} bytes")


def _is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return False
    return isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout,
                            socket.gaierror))


def download_file(urls: str | Sequence[str], dest: str | os.PathLike, md5: str | None = None,
                  sha256: str | None = None, progress: Progress | None = None,
                  stop_event: threading.Event | None = None, timeout: float = 30.0,
                  resume_attempts: int = 3, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Download ``dest`` from the first mirror that delivers a file with the right checksum.

    ``progress(done_bytes, total_bytes)`` is called per chunk (total 0 when unknown). Raises
    DownloadCancelled when ``stop_event`` is set, DownloadError when every mirror failed (the
    message lists why, or says we seem to be offline). Mirrors that are not https are skipped;
    no mirror may deliver more than ``max_bytes``.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and (md5 or sha256) and _checksum_ok(dest, md5, sha256):
        return dest
    part = dest.with_name(dest.name + ".part")
    failures: list[tuple[str, BaseException | str]] = []
    for url in urls:
        why = _refusal(url)
        if why:
            failures.append((url, why))
            continue
        attempts = 0
        while True:
            try:
                _fetch(url, part, progress, stop_event, timeout, max_bytes)
            except DownloadCancelled:
                raise
            except _Refused as exc:
                part.unlink(missing_ok=True)
                failures.append((url, str(exc)))
                break
            except _Interrupted as exc:
                attempts += 1
                if attempts <= resume_attempts:
                    continue  # resume the same mirror from where it stopped
                failures.append((url, str(exc)))
                break
            except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
                failures.append((url, exc))
                break
            if _checksum_ok(part, md5, sha256):
                os.replace(part, dest)
                return dest
            part.unlink(missing_ok=True)
            failures.append((url, "the file arrived but its checksum is wrong (damaged or "
                                  "changed on the server)"))
            break
    raise DownloadError(_failure_message(dest, failures))


def _reason(err: BaseException | str) -> str:
    if isinstance(err, str):
        return err
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"cannot connect ({err.reason})"
    return f"{type(err).__name__}: {err}"


def _failure_message(dest: Path, failures: list[tuple[str, BaseException | str]]) -> str:
    if failures and all(not isinstance(e, str) and _is_unreachable(e) for _, e in failures):
        head = (f"Cannot reach any mirror for {dest.name}; you seem to be offline (or a "
                f"firewall blocks the download).")
    else:
        head = f"Could not download {dest.name} from any mirror."
    lines = [head] + [f"  - {url}: {_reason(e)}" for url, e in failures]
    lines.append(f"Put the file into {dest.parent} yourself (copied from another machine), or "
                 "pass --data-dir (or set DRAWCNN_DATA) to the folder that already holds it.")
    return "\n".join(lines)


def download_dataset(name: str, root: str | os.PathLike, progress: Progress | None = None,
                     stop_event: threading.Event | None = None, timeout: float = 30.0) -> Path:
    """Download every missing or damaged file of dataset ``name`` into ``root``.

    ``progress(done, total)`` covers all files together (total from the known file sizes).
    """

    info = get_info(name)
    root = Path(root)
    files = list(info.files.values())
    sizes = {f: info.sizes.get(f, 0) for f in files}
    grand_total = sum(sizes.values())
    finished = 0
    for fname in files:
        def file_progress(done: int, total: int, _base: int = finished, _f: str = fname) -> None:
            if progress:
                progress(_base + done, max(grand_total, _base + max(total, done)))

        known = sizes[fname]
        cap = known + max(4096, known // 100) if known else DEFAULT_MAX_BYTES
        download_file(info.urls(fname), root / fname, md5=info.md5[fname],
                      progress=file_progress, stop_event=stop_event, timeout=timeout,
                      max_bytes=cap)
        finished += (root / fname).stat().st_size
    if progress:
        progress(finished, finished)
    return root
