"""Dataset lookup order, status/verify messages, loading (fixtures and the real MNIST)."""

import gzip
import time

import numpy as np
import pytest

from drawcnn.data import datasets
from drawcnn.data.datasets import (
    clear_cache,
    dataset_status,
    find_dataset,
    load_dataset,
    verify_dataset,
)
from drawcnn.data.idx import write_idx
from drawcnn.errors import DataError, DatasetCorrupt, DatasetNotFound

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def make_fake(folder, n_train=20, n_test=10, seed=0):
    """A tiny but well-formed MNIST-layout dataset."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / FILES[0], rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8))
    write_idx(folder / FILES[1], np.arange(n_train, dtype=np.uint8) % 10)
    write_idx(folder / FILES[2], rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8))
    write_idx(folder / FILES[3], np.arange(n_test, dtype=np.uint8) % 10)
    return folder


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No env var, a private user data dir, no system copies."""
    monkeypatch.delenv("DRAWCNN_DATA", raising=False)
    user = tmp_path / "user"
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: str(user))
    clear_cache()
    yield user
    clear_cache()


def test_lookup_order_explicit_then_env_then_user(tmp_path, monkeypatch, isolated):
    user = make_fake(isolated / "mnist")
    env = make_fake(tmp_path / "env" / "mnist")
    explicit = make_fake(tmp_path / "explicit")  # files directly in the folder
    assert find_dataset("mnist") == user
    monkeypatch.setenv("DRAWCNN_DATA", str(tmp_path / "env"))
    assert find_dataset("mnist") == env
    assert find_dataset("mnist", data_dir=explicit) == explicit
    assert find_dataset("mnist", data_dir=tmp_path / "nowhere") is None


def test_wrong_folder_message(tmp_path, isolated):
    folder = tmp_path / "wrong"
    folder.mkdir()
    (folder / FILES[0]).write_bytes(b"x")
    with pytest.raises(DatasetNotFound) as exc:
        load_dataset("mnist", data_dir=folder)
    msg = str(exc.value)
    assert str(folder) in msg and "--data-dir" in msg and "DRAWCNN_DATA" in msg
    assert "download" in msg and "missing" in msg and FILES[3] in msg
    st = dataset_status("mnist", folder)
    assert not st.complete and st.present == {FILES[0]: folder / FILES[0]}


def test_load_fixture_dataset_shapes_and_cache(isolated):
    make_fake(isolated / "mnist")
    ds = load_dataset("mnist")
    assert ds.x_train.shape == (20, 1, 28, 28) and ds.x_train.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_test.shape == (10,)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert len(ds.checksum) == 64 and ds.class_names[3] == "3"
    assert load_dataset("mnist") is ds
    assert not ds.x_train.flags.writeable


def test_raw_uncompressed_files_and_torchvision_layout(tmp_path, isolated):
    raw = tmp_path / "root" / "MNIST" / "raw"
    make_fake(raw)
    for f in FILES:
        (raw / f.removesuffix(".gz")).write_bytes(gzip.decompress((raw / f).read_bytes()))
        (raw / f).unlink()
    assert find_dataset("mnist", tmp_path / "root") == raw
    assert load_dataset("mnist", tmp_path / "root").x_test.shape == (10, 1, 28, 28)


def test_corrupt_and_mismatched_files(tmp_path, isolated):
    folder = make_fake(tmp_path / "d")
    write_idx(folder / FILES[0], np.zeros((20, 28, 20), np.uint8))
    with pytest.raises(DatasetCorrupt, match="expected 28x28"):
        load_dataset("mnist", folder)
    make_fake(folder)
    write_idx(folder / FILES[1], np.zeros(19, np.uint8))
    with pytest.raises(DatasetCorrupt, match="19 labels for 20 images"):
        load_dataset("mnist", folder)
    (folder / FILES[2]).write_bytes(b"garbage")
    with pytest.raises(DatasetCorrupt, match=FILES[2]):
        load_dataset("mnist", folder)
    problems = verify_dataset("mnist", folder)
    assert len(problems) == 4 and any("checksum" in p for p in problems)


def test_unknown_dataset():
    with pytest.raises(DataError, match="known: mnist"):
        find_dataset("cifar")


def test_fashion_alias_and_debian_place():
    info = datasets.get_info("fashion")
    assert info.name == "fashion-mnist" and info.class_names[9] == "Ankle boot"
    assert "/usr/share/datasets/fashion-mnist" in info.system_dirs


@pytest.mark.slow
def test_real_mnist(mnist_dir):
    clear_cache()
    t = time.perf_counter()
    ds = load_dataset("mnist", mnist_dir.parent)
    elapsed = time.perf_counter() - t
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(ds.y_train).tolist()[:2] == [5923, 6742]
    assert np.bincount(ds.y_test).sum() == 10000
    assert verify_dataset("mnist", mnist_dir.parent) == []
    assert elapsed < 5.0  # ~1.5 s on a quiet machine; generous under shared CPU
