"""With the trained default network, drawn strokes are recognised (skipped until it exists)."""

from __future__ import annotations

import pytest

from .gui_helpers import draw_one, draw_seven, draw_zero, make_window, trained_weights, wait_update

pytestmark = pytest.mark.gui


@pytest.fixture
def trained_window(qtbot, tmp_path):
    return make_window(qtbot, trained_weights(), tmp_path)


@pytest.mark.parametrize("draw,digit", [(draw_one, 1), (draw_zero, 0), (draw_seven, 7)])
def test_drawn_digit_is_recognised(qtbot, trained_window, draw, digit):
    w = trained_window
    draw(w.canvas)
    wait_update(qtbot, w)
    probs = w.controller.probabilities
    assert probs is not None
    assert int(probs.argmax()) == digit, f"predicted {probs.argmax()} ({probs.round(2)})"
    assert w.probabilities.digit.text().startswith(str(digit))


def test_blank_canvas_has_no_prediction(qtbot, trained_window):
    w = trained_window
    wait_update(qtbot, w)
    assert w.controller.probabilities is None
    assert w.probabilities.digit.text() == "–"
