"""Helpers for GUI tests: a window on temporary weights, and real mouse strokes.

Strokes are a real press, synthetic ``MouseMove`` events that carry the pressed button
(``QTest.mouseMove`` does not), then a release, all in the canvas's own widget coordinates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[1]
TRAINED_DEEP = REPO / "weights" / "deep.npz"


def send_mouse(widget, kind, pos: QPointF, button=Qt.LeftButton) -> None:
    if kind == QEvent.MouseMove:
        ev = QMouseEvent(kind, pos, widget.mapToGlobal(pos), Qt.NoButton, button,
                         Qt.NoModifier)
    elif kind == QEvent.MouseButtonPress:
        ev = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, button, Qt.NoModifier)
    else:
        ev = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, Qt.NoButton,
                         Qt.NoModifier)
    QApplication.sendEvent(widget, ev)


def stroke(canvas, points, button=Qt.LeftButton, release: bool = True, on_move=None) -> None:
    """Draw through ``points`` given as fractions (0..1) of the drawing square."""
    pts = [canvas.to_widget(float(x), float(y)) for x, y in points]
    send_mouse(canvas, QEvent.MouseButtonPress, pts[0], button)
    for i, p in enumerate(pts[1:]):
        send_mouse(canvas, QEvent.MouseMove, p, button)
        if on_move is not None:
            on_move(i)
    if release:
        send_mouse(canvas, QEvent.MouseButtonRelease, pts[-1], button)


def line(x0, y0, x1, y1, n=25):
    t = np.linspace(0, 1, n)
    return list(zip(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, strict=True))


def ellipse(cx=0.5, cy=0.5, rx=0.2, ry=0.3, n=60):
    a = np.linspace(0, 2 * np.pi, n)
    return list(zip(cx + rx * np.sin(a), cy - ry * np.cos(a), strict=True))


def draw_one(canvas):
    stroke(canvas, line(0.5, 0.2, 0.5, 0.8))


def draw_zero(canvas):
    stroke(canvas, ellipse())


def draw_seven(canvas):
    stroke(canvas, line(0.3, 0.22, 0.7, 0.22, 15) + line(0.7, 0.22, 0.45, 0.8, 25)[1:])


def wait_update(qtbot, window, timeout=5000):
    """Wait until the controller has processed the latest strokes."""
    c = window.controller
    qtbot.waitUntil(lambda: c.ready and not c._dirty and not c._timer.isActive(),
                    timeout=timeout)


def temp_weights(folder: Path, arch: str = "deep") -> Path:
    """An (untrained) network of ``arch`` saved into ``folder``."""
    from drawcnn.engine import build_network, save_network

    path = Path(folder) / f"{arch}.npz"
    if not path.exists():
        save_network(build_network(arch, seed=0), path)
    return path


def make_window(qtbot, weights, tmp_path):
    from drawcnn.gui import create_window

    w = create_window(weights, settings_path=tmp_path / "settings.ini")
    qtbot.addWidget(w)
    errors = []  # what the user was told, captured from the one error path
    w.controller.error_occurred.connect(lambda title, msg: errors.append((title, msg)))
    w.errors = errors
    w.show()
    qtbot.waitUntil(lambda: w.controller.ready, timeout=120_000)
    return w


def trained_weights() -> Path:
    """The shipped trained default network, or skip the test while it does not exist."""
    if not TRAINED_DEEP.exists():
        pytest.skip("trained weights/deep.npz not available yet")
    return TRAINED_DEEP


def screenshot_path(name: str, tmp_path: Path) -> Path:
    """Where a test's screenshot goes: docs/ when DRAWCNN_DOCS=1 (to refresh the pictures a
    person then looks at and commits), else the test's tmp folder, so a test run leaves the
    checkout clean."""
    import os

    if os.environ.get("DRAWCNN_DOCS") == "1":
        return REPO / "docs" / name
    return tmp_path / name
