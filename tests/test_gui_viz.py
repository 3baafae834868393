"""Display helpers: mosaics, levels, colour maps, hand-set filters."""

import numpy as np
import pytest

from drawcnn.gui.panels import viz


def test_tile_layout_and_separators():
    a = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    m = viz.tile(a, cols=3)
    assert m.shape == (2 * 2 + 1, 3 * 3 + 2)
    np.testing.assert_array_equal(m[0:2, 0:3], a[0])
    np.testing.assert_array_equal(m[0:2, 4:7], a[1])
    np.testing.assert_array_equal(m[3:5, 0:3], a[3])
    assert np.isnan(m[2]).all() and np.isnan(m[:, 3]).all()
    assert np.isnan(m[3:5, 8:11]).all()  # the unused sixth cell


@pytest.mark.parametrize("n", [1, 6, 7, 16, 30, 32, 64])
def test_grid_shape_fits(n):
    rows, cols = viz.grid_shape(n, aspect=4)
    assert rows * cols >= n and (rows - 1) * cols < n


def test_strip_and_levels():
    s = viz.strip(np.arange(10), width=4)
    assert s.shape == (3, 4) and np.isnan(s[2, 2:]).all()
    assert viz.symmetric_levels(np.array([-1.0, 3.0])) == (-3.0, 3.0)
    assert viz.auto_levels(np.array([0.0, 2.0])) == ((0.0, 2.0), False)
    (lo, hi), div = viz.auto_levels(np.array([-0.5, 0.25, np.nan]))
    assert div and lo == -0.5 and hi == 0.5


def test_diverging_lut_is_symmetric_around_white():
    lut = viz.diverging_lut(257)
    assert (lut[128, :3] > 240).all()
    assert lut[0, 2] > lut[0, 0]  # negative end is blue
    assert lut[-1, 0] > lut[-1, 2]  # positive end is red


def test_colorize_and_index():
    img = np.array([[-1.0, 0.0, 1.0, np.nan]], dtype=np.float32)
    rgba = viz.colorize(img, (-1.0, 1.0), viz.diverging_lut())
    assert rgba.shape == (1, 4, 4) and rgba[0, 3, 3] == 0 and rgba[0, 0, 3] == 255
    idx = viz.to_index(img[:, :3], (-1.0, 1.0), 256)
    assert idx.tolist() == [[0, 127, 255]]


def test_correlate2d_matches_direct_sum():
    rng = np.random.default_rng(0)
    img = rng.random((7, 9)).astype(np.float32)
    k = rng.standard_normal((3, 3)).astype(np.float32)
    out = viz.correlate2d(img, k)
    p = np.pad(img, 1)
    ref = np.array([[np.sum(p[i:i + 3, j:j + 3] * k) for j in range(9)] for i in range(7)])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_sobel_finds_edges_in_the_right_direction():
    img = np.zeros((10, 10), np.float32)
    img[:, 5:] = 1.0  # a vertical edge
    maps = viz.apply_hand_filters(img)
    assert np.abs(maps["Sobel x"]).max() > 3
    assert np.abs(maps["Sobel y"][2:-2]).max() == 0
    assert maps["Sobel magnitude"].max() > 3


def test_normalize_channels():
    a = np.stack([np.full((2, 2), 2.0), np.full((2, 2), -0.5), np.zeros((2, 2))])
    n = viz.normalize_channels(a)
    assert n[0].max() == 1 and n[1].min() == -1 and (n[2] == 0).all()
