"""Downloads: https only (plain http only from this machine), and no file larger than its
known size: a server announcing or streaming more is cut off at once, nothing is kept."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from drawcnn.data import download
from drawcnn.data.catalog import DATASETS
from drawcnn.data.download import download_dataset, download_file
from drawcnn.errors import DownloadError


class Flood(BaseHTTPRequestHandler):
    """/announce: says (and sends) 50 MB; /stream: no length, streams until stopped;
    /redirect: sends the client to a plain-http host elsewhere."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://example.com/file.gz")
            self.end_headers()
            return
        self.send_response(200)
        if self.path == "/announce":
            self.send_header("Content-Length", str(50 << 20))
        self.end_headers()
        block = b"\0" * 65536
        try:
            for _ in range(800):  # 50 MB
                self.wfile.write(block)
                srv.sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def flood():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Flood)
    srv.sent = 0
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


def test_every_catalog_mirror_is_https():
    for info in DATASETS.values():
        for url in info.mirrors:
            assert url.startswith("https://"), url


def test_plain_http_mirrors_are_refused_without_connecting(tmp_path):
    with pytest.raises(DownloadError, match="only https") as exc:
        download_file(["http://fashion-mnist.example/t.gz", "ftp://x/t.gz"], tmp_path / "t.gz",
                      md5="0" * 32)
    assert "ftp" in str(exc.value) and not list(tmp_path.iterdir())


def test_a_server_announcing_too_much_is_refused_at_once(flood, tmp_path):
    with pytest.raises(DownloadError, match="announces 52,428,800 bytes"):
        download_file(flood.url + "/announce", tmp_path / "f.gz", md5="0" * 32,
                      max_bytes=5000)
    assert not list(tmp_path.iterdir())


def test_a_server_streaming_too_much_is_cut_off(flood, tmp_path):
    with pytest.raises(DownloadError, match="more than 100,000 bytes"):
        download_file(flood.url + "/stream", tmp_path / "f.gz", md5="0" * 32,
                      max_bytes=100_000)
    assert not list(tmp_path.iterdir())  # the partial file is not kept
    assert flood.sent < 20 << 20  # stopped long before the 50 MB (socket buffers aside)


def test_a_redirect_to_plain_http_is_refused(flood, tmp_path):
    with pytest.raises(DownloadError, match="redirected to http://example.com"):
        download_file(flood.url + "/redirect", tmp_path / "f.gz", md5="0" * 32)


def test_dataset_files_are_capped_at_their_known_size(flood, tmp_path, monkeypatch):
    """The 4.5 KB t10k labels file: a server sending 50 MB instead is stopped near 4.5 KB."""
    from drawcnn.data import datasets

    info = DATASETS["mnist"]
    files = dict(info.files)
    monkeypatch.setitem(datasets.DATASETS, "mnist", datasets.DatasetInfo(
        **{**info.__dict__, "files": {"test_labels": files["test_labels"]},
           "mirrors": (flood.url + "/stream#",)}))
    monkeypatch.setattr(download, "CHUNK", 1024)
    with pytest.raises(DownloadError, match="more than 8,638 bytes") as exc:
        download_dataset("mnist", tmp_path)
    assert "t10k-labels" in str(exc.value)
    assert not list(tmp_path.iterdir())
