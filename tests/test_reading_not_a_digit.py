"""Non-digits: generated kinds, the calibrated threshold, and the shipped default declining."""

import numpy as np
import pytest

from drawcnn.data.negatives import (
    _TRAIN_TEMPLATES,
    COMPOSED,
    GROUPS,
    SCRIBBLES,
    TEMPLATES,
    kind_strokes,
    make_negatives,
    typed_digits,
)
from drawcnn.engine import load_network
from drawcnn.reading import min_confidence, read_drawing, read_image
from drawcnn.shipped import shipped_weights

from .gui_helpers import (
    line,
    make_window,
    screenshot_path,
    stroke,
    trained_weights,
    wait_update,
)


def _on_canvas(strokes, size=180.0, at=50.0):
    """A 10x10-box template drawn ``size`` canvas units large on the 280 canvas."""
    return [np.asarray(s, float) * size / 10 + at for s in strokes]


def test_kinds_are_split_without_overlap():
    groups = [set(g) for g in GROUPS.values()]
    assert len(groups) == 5  # train, calib, test, fresh, fresh2
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            assert not (a & b)
    assert set().union(*groups) == set(TEMPLATES) | set(SCRIBBLES)


def test_composed_kinds_are_made_of_train_kinds_only():
    assert set(COMPOSED) <= set(GROUPS["train"]) and set(_TRAIN_TEMPLATES) <= set(GROUPS["train"])
    x, kinds = make_negatives(COMPOSED, 30, np.random.default_rng(1))
    assert set(kinds.tolist()) == set(COMPOSED) and (x.reshape(30, -1).max(1) > 0.5).all()
    for seed in range(20):  # never four corners: a square and a diamond are held-out kinds
        (poly,) = kind_strokes("polygon", np.random.default_rng(seed))
        assert 6 <= len(poly) <= 8 and np.allclose(poly[0], poly[-1])


def test_typed_digits_are_every_digit_in_every_font():
    x, y = typed_digits()
    assert x.shape == (len(y), 1, 28, 28) and x.dtype == np.float32
    if len(y):
        assert np.bincount(y, minlength=10).min() == len(y) // 10


def test_negatives_render_through_the_app_path():
    x, kinds = make_negatives(GROUPS["test"], 40, np.random.default_rng(0))
    assert x.shape == (40, 1, 28, 28) and x.dtype == np.float32
    assert set(kinds.tolist()) <= set(GROUPS["test"])
    assert (x.reshape(40, -1).max(1) > 0.5).all()  # every one has ink


def test_threshold_comes_from_the_weights_metadata():
    net = load_network(shipped_weights()["lenet"])
    x = np.zeros((28, 28), np.float32)
    x[4:24, 13:16] = 1.0
    net.metadata.pop("reading", None)
    assert min_confidence(net) == 0.0 and read_image(x, net).digit is not None
    net.metadata["reading"] = {"min_confidence": 1.01}  # nothing is that sure
    r = read_image(x, net)
    assert r.digit is None and r.reason.startswith("not a digit") and r.closest is not None


def test_shipped_default_is_calibrated():
    net = load_network(shipped_weights()["deep"])
    t = min_confidence(net)
    assert 0.1 < t < 1.0
    assert "calibration" in net.metadata["reading"]


@pytest.mark.parametrize("kind", ["A", "H", "K", "M", "hash", "star"])
def test_letters_and_symbols_are_not_digits_with_the_shipped_default(kind):
    r = read_drawing(_on_canvas(kind_strokes(kind, np.random.default_rng(0))), canvas_size=280)
    assert r.digit is None, (kind, r.reason)
    assert r.reason.startswith("not a digit")


def test_a_digit_is_still_a_digit_with_the_shipped_default():
    seven = [np.array([[0.0, 0.0], [10.0, 0.0], [4.0, 10.0]])]
    r = read_drawing(_on_canvas(seven), canvas_size=280)
    assert r.digit == 7, r.reason


@pytest.mark.gui
def test_the_app_shows_a_letter_as_not_a_digit_with_the_closest_greyed(qtbot, tmp_path):
    """The README's picture (docs/not_a_digit.png with DRAWCNN_DOCS=1): a letter A drawn with
    the mouse, answered "not a digit", the closest digit greyed, the bars the network's own."""
    w = make_window(qtbot, trained_weights(), tmp_path)
    stroke(w.canvas, line(0.2, 0.85, 0.5, 0.15) + line(0.5, 0.15, 0.8, 0.85)[1:])
    stroke(w.canvas, line(0.32, 0.58, 0.68, 0.58))
    wait_update(qtbot, w)
    p = w.probabilities
    assert "not a digit" in p.caption.text() and "closest" in p.caption.text(), p.caption.text()
    assert p.digit.text() == str(int(w.controller.probabilities.argmax()))
    assert "Novelty score" in p.digit.toolTip() and "threshold" in p.digit.toolTip()
    # "Why this digit" explains the closest digit once the pen is up (the picture shows it)
    qtbot.waitUntil(lambda: w.explain.why.result is not None, timeout=60000)
    assert w.grab().save(str(screenshot_path("not_a_digit.png", tmp_path)))
