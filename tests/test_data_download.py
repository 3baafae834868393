"""Downloader against a real local HTTP server (Range support, drops, bad files, offline)."""

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from drawcnn.data import download
from drawcnn.data.download import download_dataset, download_file
from drawcnn.errors import DownloadCancelled, DownloadError

PAYLOAD = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours Range; ``server.drop_once`` cuts a path mid-file once."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in srv.drop_once:
            srv.drop_once.discard(self.path)
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        for i in range(0, len(body), 16384):
            if srv.slow is not None:
                srv.slow.wait(0.002)
            self.wfile.write(body[i:i + 16384])


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.requests, srv.drop_once, srv.slow = {}, [], set(), None
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


def _dead_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connection refused
    return f"http://127.0.0.1:{port}/f.bin"


def test_success_with_progress(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    calls = []
    out = download_file(server.url + "/f.bin", tmp_path / "f.bin", md5=MD5,
                        progress=lambda d, t: calls.append((d, t)))
    assert out.read_bytes() == PAYLOAD and not (tmp_path / "f.bin.part").exists()
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD)) and len(calls) > 3
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:], strict=False))
    # already there and good: no new request
    n = len(server.requests)
    download_file(server.url + "/f.bin", tmp_path / "f.bin", md5=MD5)
    assert len(server.requests) == n


def test_resume_after_dropped_connection(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.drop_once.add("/f.bin")
    out = download_file([server.url + "/f.bin"], tmp_path / "f.bin", md5=MD5)
    assert out.read_bytes() == PAYLOAD
    ranges = [r for p, r in server.requests if p == "/f.bin"]
    assert ranges[0] is None and ranges[1] == f"bytes={len(PAYLOAD) // 3}-"


def test_resume_of_existing_part_file(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:1000])
    download_file(server.url + "/f.bin", tmp_path / "f.bin", md5=MD5)
    assert server.requests == [("/f.bin", "bytes=1000-")]
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_corrupt_mirror_then_good_mirror(server, tmp_path):
    server.files["/bad/f.bin"] = PAYLOAD[:-1] + b"\x00"
    server.files["/good/f.bin"] = PAYLOAD
    out = download_file([server.url + "/bad/f.bin", server.url + "/good/f.bin"],
                        tmp_path / "f.bin", md5=MD5)
    assert out.read_bytes() == PAYLOAD


def test_corrupt_everywhere_raises_and_leaves_nothing(server, tmp_path):
    server.files["/f.bin"] = b"not the file"
    with pytest.raises(DownloadError, match="checksum is wrong"):
        download_file(server.url + "/f.bin", tmp_path / "f.bin", md5=MD5)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_and_404_then_good(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    urls = [_dead_url(), server.url + "/missing.bin", server.url + "/f.bin"]
    out = download_file(urls, tmp_path / "f.bin", sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert out.read_bytes() == PAYLOAD


def test_offline_message(tmp_path):
    with pytest.raises(DownloadError) as exc:
        download_file([_dead_url(), _dead_url()], tmp_path / "train.gz", md5=MD5, timeout=2)
    msg = str(exc.value)
    assert "cannot reach any mirror" in msg.lower() and "offline" in msg
    assert str(tmp_path) in msg and "--data-dir" in msg


def test_http_errors_are_not_called_offline(server, tmp_path):
    with pytest.raises(DownloadError) as exc:
        download_file(server.url + "/missing.bin", tmp_path / "x", md5=MD5)
    assert "HTTP 404" in str(exc.value) and "offline" not in str(exc.value)


def test_cancel_keeps_part_for_resume(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.slow = threading.Event()
    stop = threading.Event()

    def progress(done, total):
        if done > 50_000:
            stop.set()

    with pytest.raises(DownloadCancelled):
        download_file(server.url + "/f.bin", tmp_path / "f.bin", md5=MD5, progress=progress,
                      stop_event=stop)
    part = tmp_path / "f.bin.part"
    assert part.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    assert not (tmp_path / "f.bin").exists()
    server.slow = None
    download_file(server.url + "/f.bin", tmp_path / "f.bin", md5=MD5)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_download_dataset_all_files(server, tmp_path, monkeypatch):
    from drawcnn.data import datasets

    files = {f"/{name}": bytes([i]) * (1000 + i) for i, name in
             enumerate(datasets.DATASETS["mnist"].files.values())}
    server.files.update(files)
    info = datasets.DATASETS["mnist"]
    fake = datasets.DatasetInfo(**{**info.__dict__, "mirrors": (_dead_url(), server.url + "/"),
                                   "md5": {k[1:]: hashlib.md5(v).hexdigest()
                                           for k, v in files.items()}})
    monkeypatch.setitem(datasets.DATASETS, "mnist", fake)
    monkeypatch.setattr(download, "CHUNK", 512)
    calls = []
    download_dataset("mnist", tmp_path / "mnist", progress=lambda d, t: calls.append((d, t)))
    for path, data in files.items():
        assert (tmp_path / "mnist" / path[1:]).read_bytes() == data
    assert calls[-1][0] == calls[-1][1] == sum(len(v) for v in files.values())
