"""Painting a stroke: a repaint of part of the canvas draws only the pieces of the stroke
that reach it, and its pixels are those of the whole stroke."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from drawcnn.gui.ink import paint_stroke

pytestmark = pytest.mark.gui


def _render(pts, exposed=None, size=300):
    img = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    img.fill(QColor("#fbfaf6"))
    p = QPainter(img)
    p.setRenderHint(QPainter.Antialiasing)
    if exposed is not None:
        p.setClipRect(exposed)
    paint_stroke(p, pts, 1.0, QRectF(10, 10, 280, 280), QColor("#1b1f3a"), exposed)
    p.end()
    a = np.frombuffer(img.constBits(), np.uint8).reshape(size, size, 4).copy()
    return a


def _loops(n=240):
    """A stroke that crosses itself many times (a scribble of loops), constant pressure."""
    t = np.linspace(0, 6 * np.pi, n)
    x = 140 + 90 * np.cos(t) + 25 * np.cos(5 * t)
    y = 140 + 70 * np.sin(t) + 25 * np.sin(3 * t)
    return np.column_stack([x, y, np.ones(n), np.full(n, 16.0)])


@pytest.mark.parametrize("rect", [(40, 40, 30, 30), (120, 100, 60, 20), (0, 0, 300, 300),
                                  (250, 250, 40, 40)])
def test_part_of_a_stroke_paints_the_same_pixels(qapp, rect):
    pts = _loops()
    whole = _render(pts)
    exposed = QRectF(*rect)
    part = _render(pts, exposed)
    x, y, w, h = (int(v) for v in rect)
    np.testing.assert_array_equal(part[y:y + h, x:x + w], whole[y:y + h, x:x + w])


def test_the_new_end_needs_only_the_last_pieces(qapp):
    """A repaint around the stroke's end draws a few pieces, not the whole stroke."""
    from drawcnn.gui.ink import _smooth_path

    xy = _loops()[:, :2] + 10
    end = QRectF(xy[-1, 0] - 12, xy[-1, 1] - 12, 24, 24)
    full, part = _smooth_path(xy, None, 10.0), _smooth_path(xy, end, 10.0)
    assert part.elementCount() < full.elementCount() / 10
    assert full.elementCount() > 200
