"""read_drawing: strokes in, a Reading out, through the same path the GUI uses."""

import numpy as np
import pytest

from drawcnn.engine import load_network
from drawcnn.reading import Reading, read_drawing
from drawcnn.shipped import shipped_weights


@pytest.fixture(scope="module")
def lenet():
    return load_network(shipped_weights()["lenet"])


def _line(x0, y0, x1, y1, n=30):
    t = np.linspace(0, 1, n)[:, None]
    return np.hstack([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t])


def _seven():
    return [np.vstack([_line(80, 60, 200, 60), _line(200, 60, 120, 230)[1:]])]


def test_empty_canvas_reads_nothing(lenet):
    r = read_drawing([], lenet)
    assert r.digit is None and r.model_input is None
    assert r.reason == "nothing drawn"
    assert r.probabilities.shape == (10,) and not r.probabilities.any()


def test_a_drawn_seven_reads_seven(lenet):
    r = read_drawing(_seven(), lenet, canvas_size=280)
    assert isinstance(r, Reading)
    assert r.digit == 7, r.probabilities
    assert r.model_input.shape == (28, 28) and r.model_input.dtype == np.float32
    assert np.isclose(r.probabilities.sum(), 1.0, atol=1e-4)
    assert "7" in r.reason
    assert r.activations is None  # only with details=True


def test_points_with_pressure_give_the_same_reading(lenet):
    plain = read_drawing(_seven(), lenet)
    with_p = read_drawing([np.hstack([s, np.full((len(s), 1), 0.5)]) for s in _seven()], lenet)
    np.testing.assert_array_equal(plain.model_input, with_p.model_input)
    np.testing.assert_allclose(plain.probabilities, with_p.probabilities)


def test_details_carry_activations_and_stages(lenet):
    r = read_drawing(_seven(), lenet, details=True)
    names = [name for name, _ in r.activations]
    assert names[0] == "conv1" and names[-1] == "softmax"
    np.testing.assert_allclose(r.activations[-1][1][0], r.probabilities, rtol=1e-6)
    np.testing.assert_array_equal(r.steps["centred"], r.model_input)


def test_default_network_is_the_shipped_one():
    r = read_drawing(_seven())
    assert r.digit == 7


def test_a_malformed_stroke_is_refused(lenet):
    with pytest.raises(ValueError, match="stroke"):
        read_drawing([np.zeros((5,))], lenet)
