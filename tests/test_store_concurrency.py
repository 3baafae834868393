"""The drawings store and weights saves under concurrency and kill -9.

Several processes (and threads) adding at once keep every acknowledged drawing; a writer
killed at random moments during a store write or a weights save loses nothing that was
acknowledged, and the next start leaves no orphaned temp file behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from drawcnn.atomic import clean_stale_temps, temp_path
from drawcnn.data.drawings import DrawingStore

WRITER = """
import sys
import numpy as np
from drawcnn.data.drawings import DrawingStore
store = DrawingStore(sys.argv[1])  # opened before anyone writes, like a second app window
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()  # all start adding together
for i in range(int(sys.argv[2])):
    img = np.full((28, 28), (i % 7) / 7, np.float32)
    sys.stdout.write(f"{store.add(img, i % 10, [np.array([[i, i, 1.0]])])}\\n")
    sys.stdout.flush()
"""


def _orphans(folder) -> list[str]:
    return [n for n in os.listdir(folder) if n.endswith(".tmp") or ".tmp" in n]


def test_processes_adding_at_once_keep_every_drawing(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "20"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    acked = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        acked += [int(v) for v in out.split()]
    assert len(acked) == 80 and len(set(acked)) == 80  # every add got its own id
    ids = {s.id for s in DrawingStore(tmp_path).samples()}
    assert ids == set(acked)
    assert not _orphans(tmp_path)


def test_threads_and_windows_in_one_process_keep_every_drawing(tmp_path):
    shared = DrawingStore(tmp_path)
    stores = [DrawingStore(tmp_path) for _ in range(3)] + [shared, shared]
    acked, errors = [], []

    def add(store, k):
        try:
            for i in range(16):
                acked.append(store.add(np.zeros((28, 28)), (k + i) % 10))
        except Exception as exc:  # noqa: BLE001 - any failure here is the bug looked for
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(s, k)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(acked) == 80
    assert {s.id for s in DrawingStore(tmp_path).samples()} == set(acked)
    assert len(stores[0]) == 80  # an open window sees what the others added
    assert not _orphans(tmp_path)


def _fork_writer(work) -> tuple[int, int]:
    """Fork a child that runs ``work(ack)``; ``ack(value)`` reports to the parent's pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        os.close(r)
        try:
            work(lambda v: os.write(w, f"{v}\n".encode()))
        finally:
            os._exit(0)
    os.close(w)
    return pid, r


def _kill_after(pid: int, r: int, acks: int, rng) -> list[str]:
    """Read ``acks`` acknowledgements, wait a random moment, SIGKILL; returns all acks read."""
    got = b""
    with os.fdopen(r, "rb", buffering=0) as f:
        while got.count(b"\n") < acks:
            chunk = f.read(4096)
            if not chunk:
                break
            got += chunk
        time.sleep(float(rng.uniform(0, 0.004)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        got += f.read()  # acks written before the kill
    return got.decode().split()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill_9_during_store_writes_loses_nothing_acknowledged(tmp_path):
    rng = np.random.default_rng(9)
    acked: set[int] = set()
    orphans_seen = 0
    for round_ in range(12):
        def work(ack, round_=round_):
            store = DrawingStore(tmp_path)
            for i in range(1000):
                ack(store.add(np.full((28, 28), i % 5 / 5), (round_ + i) % 10,
                              [np.zeros((200, 3))]))

        pid, r = _fork_writer(work)
        acked |= {int(v) for v in _kill_after(pid, r, int(rng.integers(1, 6)), rng)}
        orphans_seen += len(_orphans(tmp_path))
        store = DrawingStore(tmp_path)  # the next start
        assert acked <= {s.id for s in store.samples()}
        assert not _orphans(tmp_path)
    print(f"store kill -9: 12 kills, {len(acked)} drawings acknowledged and kept, "
          f"{orphans_seen} orphaned temp files cleaned at the next start")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill_9_during_weights_saves_keeps_a_good_file(tmp_path):
    from drawcnn.engine import build_network, load_network, save_network
    from drawcnn.gui.weights_locator import load_startup

    path = tmp_path / "net.npz"
    nets = [build_network("lenet", seed=s) for s in range(2)]
    save_network(nets[0], path)
    rng = np.random.default_rng(4)
    orphans_seen = 0
    for _ in range(12):
        def work(ack):
            for i in range(1000):
                save_network(nets[i % 2], path)
                ack(i % 2)

        pid, r = _fork_writer(work)
        _kill_after(pid, r, int(rng.integers(1, 4)), rng)
        orphans_seen += len(_orphans(tmp_path))
        net = load_network(path)  # the old or the new file, never a broken one
        assert any(np.array_equal(net.params["fc1.W"], n.params["fc1.W"]) for n in nets)
        start = load_startup(path)  # the next start cleans what the kill left behind
        assert start.path == path and not _orphans(tmp_path)
    print(f"weights kill -9: 12 kills, {orphans_seen} orphaned temp files cleaned")


def test_only_our_stale_temp_files_are_cleaned(tmp_path):
    target = tmp_path / "drawings.npz"
    mine_live = temp_path(target)  # this process is alive and the file is fresh: kept
    mine_live.write_bytes(b"x")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f".drawings.npz.{dead.pid}.0123456789ab.tmp"
    orphan.write_bytes(b"x")
    old = tmp_path / f".drawings.npz.{os.getpid()}.abcdef012345.tmp"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 120, time.time() - 120))
    legacy = tmp_path / "drawings.npz.tmp4242"
    legacy.write_bytes(b"x")
    os.utime(legacy, (time.time() - 120, time.time() - 120))
    user_files = [tmp_path / n for n in ("notes.tmp", ".drawings.npz.tmp", "my.npz",
                                         ".other.npz.1.zz.tmp")]
    for p in user_files:
        p.write_bytes(b"keep")
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    removed = clean_stale_temps(tmp_path)
    assert sorted(removed) == sorted([orphan, old, legacy])
    assert mine_live.exists() and all(p.exists() for p in user_files)
