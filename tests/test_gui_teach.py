"""Teach this drawing (confirm or correct the label, stored with the strokes) and the My
drawings browser (relabel, delete, export/import, a corrupt import keeps the store)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from drawcnn.data import DrawingStore, strokes_to_mnist

from .gui_helpers import draw_one, make_window, temp_weights, wait_update

pytestmark = pytest.mark.gui


def _digit_strokes(label: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A '0', '1', '4' or '7' in a 280 canvas, with the jitter of a real hand."""
    from drawcnn.selftest import SAMPLES

    strokes = dict(SAMPLES)[label]
    scale = rng.uniform(0.5, 0.75)
    slant = rng.uniform(-0.25, 0.25)
    shift = rng.uniform(-20, 20, 2)
    out = []
    for s in strokes:
        xy = s[:, :2] * scale
        xy[:, 0] += slant * (xy[:, 1] - xy[:, 1].mean())
        xy += shift + rng.normal(0, 1.2, xy.shape)
        out.append(np.hstack([xy, np.ones((len(xy), 1))]))
    return out


def fill_store(store: DrawingStore, per_digit: int = 3, seed: int = 0) -> None:
    """Stroke-drawn 0s, 1s, 4s and 7s, like a user teaching their own style."""
    rng = np.random.default_rng(seed)
    for _ in range(per_digit):
        for label in (0, 1, 4, 7):
            strokes = _digit_strokes(label, rng)
            store.add(strokes_to_mnist(strokes, 280), label, strokes)


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, temp_weights(tmp_path, "lenet"), tmp_path)
    w.side.drawings_root = tmp_path / "drawings"
    return w


def test_teach_a_corrected_label(qtbot, window):
    w = window
    panel = w.side.show_teach()
    assert not panel.save_btn.isEnabled()  # nothing drawn: nothing to teach
    draw_one(w.canvas)
    wait_update(qtbot, w)
    guess = int(np.argmax(w.controller.probabilities))
    assert panel.label() == guess  # the guess is pre-selected, not yet stored
    assert f"<b>{guess}</b>" in panel.guess.text()
    assert len(w.side.drawing_store()) == 0
    correct = (guess + 1) % 10
    QTest.keyClick(panel, str(correct))  # the user corrects the label
    assert panel.label() == correct and panel.save_btn.text() == f"Save as {correct}"
    strokes = w.canvas.strokes()
    panel.save_btn.click()
    store = w.side.drawing_store()
    assert len(store) == 1
    s = store.samples()[0]
    assert s.label == correct and len(s.strokes) == 1
    expected = np.round(strokes_to_mnist(strokes, 280) * 255)
    assert np.abs(s.image.astype(float) - expected).max() <= 1
    assert w.canvas.is_empty()  # ready for the next drawing
    assert f"Stored as <b>{correct}</b>" in panel.guess.text()
    assert "1 drawings stored" in panel.count.text()
    # a store on disk survives a restart
    assert len(DrawingStore(w.side.drawings_root)) == 1
    # the next drawing follows the prediction again
    draw_one(w.canvas)
    wait_update(qtbot, w)
    assert panel.label() == int(np.argmax(w.controller.probabilities))


def test_browser_relabel_delete_filter(qtbot, window):
    w = window
    store = w.side.drawing_store()
    fill_store(store, per_digit=2)
    br = w.side.show_drawings()
    assert br.grid.count() == 8 and "<b>8</b> drawings" in br.header.text()
    ids = br.shown_ids()
    br.select_ids([ids[0]])
    QTest.keyClick(br, "3")
    assert {s.id: s.label for s in store.samples()}[ids[0]] == 3
    assert br.selected_ids() == [ids[0]]  # the selection survives the refresh
    br.select_ids(ids[1:3])
    br.activateWindow()  # Delete in the main window clears the canvas: the browser is active
    qtbot.waitUntil(lambda: QApplication.activeWindow() is br, timeout=3000)
    QTest.keyClick(br, Qt.Key_Delete)
    assert len(store) == 6 and ids[1] not in [s.id for s in store.samples()]
    br.filter_box.setCurrentIndex(br.filter_box.findData(3))
    assert br.shown_ids() == [ids[0]]
    br.filter_box.setCurrentIndex(0)
    br.select_ids([ids[3]])
    br.relabel_box.setCurrentIndex(9)
    br.relabel_btn.click()
    assert DrawingStore(w.side.drawings_root).samples()[1].label == 9  # written to disk


def test_export_import_round_trip_and_corrupt_import(qtbot, window, tmp_path):
    w = window
    store = w.side.drawing_store()
    fill_store(store, per_digit=2)
    br = w.side.show_drawings()
    out = tmp_path / "mine.npz"
    br.ask_save_path = lambda: str(out)
    assert br.export() and out.exists()
    other = DrawingStore(tmp_path / "elsewhere")
    assert other.import_file(out) == 8
    for a, b in zip(store.samples(), other.samples()):
        assert a.label == b.label and np.array_equal(a.image, b.image)
        assert all(np.allclose(x, y) for x, y in zip(a.strokes, b.strokes))
    assert br.import_file(out) == 0  # duplicates are skipped
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(out.read_bytes()[:300])  # a truncated file
    on_disk = store.path.read_bytes()
    br.ask_open_path = lambda: str(bad)
    assert br.import_file() is None
    assert w.errors and w.errors[-1][0] == "Cannot import drawings"
    assert "corrupt.npz" in w.errors[-1][1]
    assert len(store) == 8 and store.path.read_bytes() == on_disk
    assert br.grid.count() == 8


def test_corrupt_store_on_disk_is_reported_not_overwritten(qtbot, window):
    w = window
    w.side.drawings_root.mkdir(parents=True)
    path = w.side.drawings_root / DrawingStore.FILENAME
    path.write_bytes(b"not a zip file")
    assert w.side.drawing_store() is None
    assert w.errors and w.errors[-1][0] == "Cannot open your drawings"
    assert "moved to drawings.corrupt-" in w.errors[-1][1]
    aside = list(w.side.drawings_root.glob("drawings.corrupt-*.npz"))
    assert [p.read_bytes() for p in aside] == [b"not a zip file"]  # kept aside, intact
    panel = w.side.show_teach()  # Teach still opens, on a new collection
    assert "0 drawings stored" in panel.count.text()
    draw_one(w.canvas)
    wait_update(qtbot, w)
    assert panel.teach(5) is not None
    assert len(DrawingStore(w.side.drawings_root)) == 1
    assert aside[0].read_bytes() == b"not a zip file"
