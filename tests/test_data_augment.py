"""Augmentation: shapes, range, ink preserved, determinism, speed."""

import time

import numpy as np
import pytest

from drawcnn.data.augment import augment_batch, change_thickness


@pytest.fixture(scope="module")
def digits():
    """Synthetic MNIST-like digits: rings and bars of ~2.5 px strokes, centred."""
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    ring = np.clip(1.5 - np.abs(np.hypot(yy - 14, (xx - 14) * 1.4) - 7), 0, 1)
    bar = np.clip(1.7 - np.abs(xx - 14), 0, 1) * ((yy > 4) & (yy < 24))
    x = np.stack([ring, bar] * 256)[:, None].astype(np.float32)
    return x


def test_shapes_range_and_copy(digits):
    rng = np.random.default_rng(0)
    before = digits.copy()
    out = augment_batch(digits, rng)
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(digits, before)  # input untouched
    assert not np.allclose(out, digits)


def test_mean_ink_roughly_preserved(digits):
    out = augment_batch(digits, np.random.default_rng(1))
    ratio = out.sum((1, 2, 3)) / digits.sum((1, 2, 3))
    assert 0.85 < ratio.mean() < 1.2
    assert np.percentile(ratio, 5) > 0.45  # no image wiped out
    ys = np.arange(28)
    com = (out[:, 0].sum(2) * ys).sum(1) / out[:, 0].sum((1, 2))
    assert abs(com.mean() - 13.5) < 0.5 and com.std() < 2.5


def test_deterministic_with_seed(digits):
    a = augment_batch(digits, np.random.default_rng(42))
    b = augment_batch(digits, np.random.default_rng(42))
    c = augment_batch(digits, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_strength_is_identity(digits):
    np.testing.assert_array_equal(augment_batch(digits[:4], np.random.default_rng(0), 0.0),
                                  digits[:4])


def test_thickness_changes(digits):
    x = digits[:2, 0]
    thick = change_thickness(x, np.array([1.0, 1.0]))
    thin = change_thickness(x, np.array([-1.0, -1.0]))
    assert (thick.sum((1, 2)) > x.sum((1, 2)) * 1.3).all()
    assert (thin.sum((1, 2)) < x.sum((1, 2)) * 0.8).all()


def test_bad_shape():
    with pytest.raises(ValueError):
        augment_batch(np.zeros((3, 28, 28), np.float32), np.random.default_rng(0))


def test_speed(digits):
    x = np.concatenate([digits] * 4)  # 2048 images
    rng = np.random.default_rng(0)
    augment_batch(x[:64], rng)
    best = 0.0
    for _ in range(3):
        t = time.process_time()
        augment_batch(x, rng)
        best = max(best, len(x) / max(time.process_time() - t, 1e-9))
    # ~40-50k images/s of CPU time here; the bar is low because the machine is shared.
    assert best > 10_000, f"{best:.0f} images/s"
