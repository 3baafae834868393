"""Guards: ~100k cheap Qt calls (PySide6 6.12.0's none_dealloc crash), latency, screenshot."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QLabel

from .gui_helpers import REPO, draw_seven, make_window, screenshot_path, temp_weights, wait_update

pytestmark = pytest.mark.gui


def test_many_void_qt_calls_do_not_crash(qtbot):
    """PySide6 6.12.0 leaked a reference to None on every void call until it was freed and
    the process crashed (none_dealloc); pyproject pins <6.12. ~100k such calls here."""
    label = QLabel()
    qtbot.addWidget(label)
    app = QApplication.instance()
    for i in range(25_000):
        label.setText("x")  # void
        label.setVisible(False)  # void
        label.setToolTip("")  # void
        if i % 100 == 0:
            app.processEvents()  # void
    assert label.text() == "x"


def test_latency_probe(qtbot, tmp_path):
    from drawcnn.cli.bench_gui import measure_latency

    w = make_window(qtbot, temp_weights(tmp_path), tmp_path)
    r = measure_latency(w, moves=30, interval_ms=0)
    assert r["n"] == 30 and r["median_ms"] > 0 and r["p95_ms"] >= r["median_ms"]
    assert r["network"] == "deep"


def test_screenshot(qtbot, tmp_path):
    """Draw a digit and save a screenshot (docs/screenshot.png with DRAWCNN_DOCS=1).

    Only a trained network's picture goes to docs/; without one it is saved to tmp_path.
    """
    weights = REPO / "weights" / "deep.npz"
    trained = weights.exists()
    w = make_window(qtbot, weights if trained else temp_weights(tmp_path), tmp_path)
    w.resize(1360, 860)
    draw_seven(w.canvas)
    wait_update(qtbot, w)
    why = w.explain.why  # the Why overlays are computed in a worker after pen-up
    qtbot.waitUntil(lambda: why.results >= 1 and not why.runner.busy, timeout=20_000)
    qtbot.wait(50)
    out = screenshot_path("screenshot.png", tmp_path) if trained else tmp_path / "shot.png"
    out.parent.mkdir(exist_ok=True)
    assert w.grab().save(str(out))
    assert out.stat().st_size > 30_000
    img = w.grab().toImage()
    assert img.width() >= 1000 and img.height() >= 700


def test_blas_thread_control_round_trips():
    from drawcnn.engine import blas

    before = blas.get_blas_threads()
    if before is None:
        pytest.skip("no OpenBLAS found to control")
    with blas.blas_threads(2):
        assert blas.get_blas_threads() == 2
    assert blas.get_blas_threads() == before
