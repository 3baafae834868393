"""Weights files: round trip, atomic save, and one clear WeightsError for every bad file."""

import os
import zipfile

import numpy as np
import pytest

from drawcnn.engine import WeightsError, build_network, load_network, save_network

from .engine_helpers import rewrite_weights


@pytest.fixture
def saved(tmp_path):
    net = build_network("lenet", seed=5)
    path = tmp_path / "lenet.npz"
    save_network(net, path, training={"test_accuracy": 0.5})
    return net, path


def test_round_trip_predictions_and_metadata(saved):
    net, path = saved
    loaded = load_network(path)
    x = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    assert loaded.arch == net.arch
    assert loaded.metadata["training"] == {"test_accuracy": 0.5}
    assert loaded.metadata["format_version"] == 1
    assert path.stat().st_mode & 0o044 == 0o044 or os.umask(0o022) & 0o044  # group/other read


def test_atomic_save_keeps_old_file_when_write_fails(saved, monkeypatch):
    net, path = saved
    original = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(WeightsError, match="disk full"):
        save_network(build_network("lenet", seed=9), path)
    assert path.read_bytes() == original
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


@pytest.mark.parametrize(
    "breakage,message",
    [
        ("truncated", "truncated or corrupted"),
        ("random", "truncated or corrupted"),
        ("empty", "truncated or corrupted"),
        ("missing", "no such weights file"),
        ("wrong_shape", "has shape"),
        ("missing_array", "missing arrays"),
        ("nan", "NaN"),
        ("no_meta", "not a drawcnn weights file"),
        ("future", "newer than this drawcnn"),
        ("bad_arch", "bad architecture"),
        ("folder", "is a folder"),
        ("bitflip", "truncated or corrupted|cannot read"),
    ],
)
def test_broken_files_raise_weights_error(saved, tmp_path, breakage, message):
    _, path = saved
    data = path.read_bytes()
    if breakage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif breakage == "random":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif breakage == "empty":
        path.write_bytes(b"")
    elif breakage == "missing":
        path = tmp_path / "nope.npz"
    elif breakage == "wrong_shape":
        rewrite_weights(path, lambda a, m: a.__setitem__("conv1.W",
                                                         np.zeros((6, 1, 3, 3), np.float32)))
    elif breakage == "missing_array":
        rewrite_weights(path, lambda a, m: a.pop("fc2.b"))
    elif breakage == "nan":
        rewrite_weights(path, lambda a, m: a["fc1.W"].__setitem__((0, 0), np.nan))
    elif breakage == "no_meta":
        np.savez(path, w=np.zeros(3))
    elif breakage == "future":
        rewrite_weights(path, lambda a, m: m.__setitem__("format_version", 99))
    elif breakage == "bad_arch":
        rewrite_weights(path, lambda a, m: m["architecture"]["layers"].__setitem__(
            0, {"type": "Foo"}))
    elif breakage == "folder":
        path = tmp_path
    elif breakage == "bitflip":
        raw = bytearray(data)
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("conv1.W.npy")
        raw[info.header_offset + 100] ^= 0xFF
        path.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match=message) as exc:
        load_network(path)
    assert str(path.name) in str(exc.value) or breakage == "folder"


def test_wrong_architecture_is_reported(saved):
    _, path = saved
    with pytest.raises(WeightsError, match="holds a 'lenet' network, expected 'deep'"):
        load_network(path, expect_arch="deep")
