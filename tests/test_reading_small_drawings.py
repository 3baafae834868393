"""Tiny drawings stay tiny in the model input, and a dot or a tick is "too small to read"."""

import numpy as np
import pytest

from drawcnn.data.preprocess import BOX_SIZE, box_side, preprocess_steps, strokes_to_mnist
from drawcnn.engine import load_network
from drawcnn.reading import read_drawing
from drawcnn.shipped import shipped_weights


def _ink_side(img, thr=0.05):
    rows = np.flatnonzero((img > thr).any(1))
    cols = np.flatnonzero((img > thr).any(0))
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)


DOT = [np.array([[140.0, 140.0]])]
TICK = [np.array([[132.0, 140.0], [135.0, 144.0], [142.0, 134.0]])]
SEVEN = [np.array([[80.0, 60.0], [200.0, 60.0], [120.0, 230.0]])]


@pytest.fixture(scope="module")
def lenet():
    return load_network(shipped_weights()["lenet"])


def test_a_dot_stays_a_dot():
    x = strokes_to_mnist(DOT, 280)
    assert x is not None and _ink_side(x) <= 4  # MNIST stroke width, not a 20 px blob


def test_a_short_tick_stays_small():
    x = strokes_to_mnist(TICK, 280)
    assert 3 <= _ink_side(x) <= 8


def test_a_normal_digit_still_fills_the_box():
    assert 19 <= _ink_side(strokes_to_mnist(SEVEN, 280)) <= 21


def test_size_grows_with_the_drawing_and_is_capped():
    sides = [box_side([np.array([[0.0, 0.0], [0.0, h]])], 280) for h in (0, 5, 10, 20, 40, 200)]
    assert sides == sorted(sides) and sides[0] < 3 and sides[-1] == BOX_SIZE
    assert box_side(DOT, None) == BOX_SIZE  # no canvas size: always fill the box


def test_pipeline_view_shows_the_small_input():
    steps = preprocess_steps(strokes=DOT, canvas_size=280)
    np.testing.assert_array_equal(steps["centred"], strokes_to_mnist(DOT, 280))


@pytest.mark.parametrize("strokes", [DOT, TICK], ids=["dot", "tick"])
def test_dot_and_tick_read_as_too_small(strokes, lenet):
    r = read_drawing(strokes, lenet, canvas_size=280)
    assert r.digit is None and r.reason == "too small to read"
    assert r.model_input is not None and r.probabilities.shape == (10,)
    assert np.isclose(r.probabilities.sum(), 1.0, atol=1e-4)  # honest output, greyed closest
    assert r.closest is not None


def test_empty_reads_nothing_drawn(lenet):
    for strokes in ([], [np.zeros((0, 2))]):
        r = read_drawing(strokes, lenet)
        assert r.digit is None and r.reason == "nothing drawn" and r.closest is None


def test_same_drawing_larger_is_read(lenet):
    big = [s * 12 - 1500 for s in TICK]  # the tick, 12x larger, inside the canvas
    r = read_drawing(big, lenet, canvas_size=280)
    assert r.reason != "too small to read"
