"""IDX reader: good fixtures, every kind of broken file, and the real MNIST when present."""

import gzip

import numpy as np
import pytest

from drawcnn.data.idx import read_idx, write_idx
from drawcnn.errors import DatasetCorrupt

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_images_and_labels(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    pi = write_idx(tmp_path / "img.idx", images, gzip=compress)
    pl = write_idx(tmp_path / "lab.idx", labels, gzip=compress)
    assert (pi.read_bytes()[:2] == b"\x1f\x8b") == compress
    np.testing.assert_array_equal(read_idx(pi, expect_ndim=3), images)
    np.testing.assert_array_equal(read_idx(pl, expect_ndim=1), labels)
    raw = gzip.decompress(pi.read_bytes()) if compress else pi.read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x03" and len(raw) == 16 + 7 * 784


def test_other_dtypes_round_trip(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "f.gz", a)), a)


def _corrupt(tmp_path, data, name="bad-images-idx3-ubyte"):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(DatasetCorrupt) as exc:
        read_idx(p, expect_ndim=3)
    assert name in str(exc.value)
    return str(exc.value)


def _good_raw(n=3):
    return b"\x00\x00\x08\x03" + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(
        n * 784)


def test_wrong_magic(tmp_path):
    msg = _corrupt(tmp_path, b"\x12\x34\x08\x03" + _good_raw()[4:])
    assert "magic" in msg


def test_labels_where_images_expected(tmp_path):
    msg = _corrupt(tmp_path, b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes(3))
    assert "labels" in msg and "images" in msg


def test_truncated(tmp_path):
    msg = _corrupt(tmp_path, _good_raw()[:-100])
    assert "truncated" in msg and "2,368" in msg


def test_too_long(tmp_path):
    assert "longer" in _corrupt(tmp_path, _good_raw() + b"x")


def test_wrong_dims(tmp_path):
    head = b"\x00\x00\x08\x03" + (3).to_bytes(4, "big") + (28).to_bytes(4, "big")
    assert "need" in _corrupt(tmp_path, head + (20).to_bytes(4, "big") + bytes(3 * 784))
    assert "implausible" in _corrupt(tmp_path, head + bytes(4) + bytes(3 * 784))


def test_truncated_header(tmp_path):
    assert "header" in _corrupt(tmp_path, b"\x00\x00\x08\x03\x00\x00")


def test_random_bytes_and_damaged_gzip(tmp_path):
    rng = np.random.default_rng(1)
    _corrupt(tmp_path, rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    gz = gzip.compress(_good_raw())
    msg = _corrupt(tmp_path, gz[: len(gz) // 2], "half.gz")
    assert "gzip" in msg
    msg = _corrupt(tmp_path, b"<html>404 Not Found</html>", "page.gz")
    assert "not gzip" in msg


def test_missing_file(tmp_path):
    with pytest.raises(DatasetCorrupt, match="does not exist"):
        read_idx(tmp_path / "nope.gz")


def test_real_mnist_counts(mnist_dir):
    ytr = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz", expect_ndim=1)
    yte = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz", expect_ndim=1)
    assert np.bincount(ytr).tolist() == MNIST_TRAIN
    assert np.bincount(yte).tolist() == MNIST_TEST
    xte = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz", expect_ndim=3)
    assert xte.shape == (10000, 28, 28) and xte.dtype == np.uint8 and xte.max() == 255
