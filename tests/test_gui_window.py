"""The main window: live prediction while drawing, undo/redo/clear, eraser, menus, settings."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from drawcnn.engine import build_network, save_network

from .gui_helpers import (
    draw_one,
    draw_zero,
    line,
    make_window,
    stroke,
    temp_weights,
    wait_update,
)

pytestmark = pytest.mark.gui


@pytest.fixture
def weights_file(tmp_path):
    return temp_weights(tmp_path)


@pytest.fixture
def window(qtbot, weights_file, tmp_path):
    return make_window(qtbot, weights_file, tmp_path)


def test_create_window_contract(window):
    assert window.canvas.objectName() == "canvas"
    assert window.controller.probabilities is None
    assert window.canvas.is_empty()
    # Qt appends the application's display name ("… — drawcnn"): the title must not repeat it
    assert window.windowTitle() == "Draw a digit"


def test_panels_update_while_drawing_before_release(qtbot, window):
    got = []
    window.controller.prediction_changed.connect(got.append)
    seen_before_release = []

    def on_move(i):
        if i % 8 == 7:
            qtbot.wait(25)  # let the throttled update run, mouse still down
            seen_before_release.append(window.controller.probabilities is not None)

    stroke(window.canvas, line(0.5, 0.2, 0.5, 0.8, 40), release=False, on_move=on_move)
    assert any(seen_before_release), "no prediction while the button was still down"
    assert any(p is not None for p in got)
    probs = window.controller.probabilities
    assert probs.shape == (10,) and abs(float(probs.sum()) - 1) < 1e-4
    item = window.feature_maps._items["conv1"]
    assert item.mosaic is not None and item.mosaic[..., :3].std() > 0  # not a blank map
    assert window.input_view.current["centred"] is not None
    assert window.probabilities.digit.text() not in ("–", "…")
    from PySide6.QtCore import QEvent

    from .gui_helpers import send_mouse

    send_mouse(window.canvas, QEvent.MouseButtonRelease, window.canvas.to_widget(0.5, 0.8))
    assert len(window.canvas.strokes()) == 1


def test_undo_redo_clear(qtbot, window):
    c = window.canvas
    draw_one(c)
    stroke(c, line(0.3, 0.5, 0.7, 0.5))
    assert len(c.strokes()) == 2
    c.undo()
    assert len(c.strokes()) == 1
    c.redo()
    assert len(c.strokes()) == 2
    wait_update(qtbot, window)
    assert window.controller.probabilities is not None
    with qtbot.waitSignal(window.controller.prediction_changed, timeout=3000) as sig:
        c.clear()
    assert sig.args == [None]
    assert window.controller.probabilities is None
    assert window.probabilities.digit.text() == "–"
    c.undo()  # clear is undoable
    assert len(c.strokes()) == 2


def test_keyboard_shortcuts(qtbot, window):
    draw_one(window.canvas)
    window.acts["undo"].trigger()
    assert window.canvas.is_empty()
    window.acts["redo"].trigger()
    assert not window.canvas.is_empty()
    assert any(s.toString() == "Esc" for s in window.acts["clear"].shortcuts())
    window.acts["clear"].trigger()
    assert window.canvas.is_empty()


def test_eraser_removes_ink(qtbot, window):
    c = window.canvas
    stroke(c, line(0.2, 0.5, 0.8, 0.5, 30))
    before = sum(len(s) for s in c.strokes())
    stroke(c, line(0.5, 0.3, 0.5, 0.7, 10), button=Qt.RightButton)  # right button erases
    after = c.strokes()
    assert len(after) == 2  # the line was cut in two
    xs = np.concatenate([s[:, 0] for s in after])
    assert not ((xs > 135) & (xs < 145)).any()
    assert sum(len(s) for s in after) > 0 and before > 0
    c.undo()
    assert len(c.strokes()) == 1
    window.set_eraser(True)
    stroke(c, line(0.2, 0.5, 0.8, 0.5, 30))  # left button with the eraser tool on
    assert c.is_empty()


def test_broken_weights_file_reports_and_keeps_model(qtbot, window, tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"this is not a zip file")
    old = window.controller.net
    assert window.open_weights(bad) is False
    assert window.errors and "broken.npz" in window.errors[-1][1]
    assert window.controller.net is old
    window.ask_open_path = lambda: None  # a cancelled file dialog does nothing
    assert window.open_weights() is False
    assert len(window.errors) == 1


def test_switching_networks_updates_layer_list(qtbot, window, tmp_path):
    assert "conv4" in window.feature_maps.layer_names()
    lenet = tmp_path / "lenet.npz"
    save_network(build_network("lenet", seed=1), lenet)
    draw_zero(window.canvas)
    with qtbot.waitSignal(window.controller.weights_changed, timeout=5000):
        assert window.open_weights(lenet)
    names = window.feature_maps.layer_names()
    assert names[:3] == ["conv1", "relu1", "pool1"] and "conv4" not in names
    assert "fc3" in window.feature_maps.visible_layers()
    wait_update(qtbot, window)
    acts = dict(window.controller.activations)
    assert acts["conv2"].shape == (1, 16, 10, 10)
    assert window.filters.layer_box.count() == 2
    # Hot swap by reference (what a training worker will do).
    simple = build_network("simple", seed=0)
    window.controller.set_network(simple)
    assert window.feature_maps.layer_names()[0] == "conv1"
    assert "fc2" in window.feature_maps.layer_names()


def test_feature_map_layer_choice(qtbot, window):
    fm = window.feature_maps
    fm.set_visible_layers(["conv1", "fc2"])
    assert fm.visible_layers() == ["conv1", "fc2"]
    assert set(fm._items) == {"conv1", "fc2"}
    checked = [a.data() for a in fm.layers_menu.actions() if a.data() and a.isChecked()]
    assert checked == ["conv1", "fc2"]


def test_filters_panel_first_layer_and_deeper(qtbot, window):
    f = window.filters
    assert f.layer_box.count() == 4
    item = f.item
    lo, hi = item.levels
    assert lo == -hi and item.diverging  # symmetric around 0
    f.layer_box.setCurrentIndex(1)
    f.channel_box.setValue(5)
    assert "output channel 5" in item.title.text


def test_edge_filters_panel(qtbot, window):
    window.docks["edges"].raise_()
    draw_one(window.canvas)
    wait_update(qtbot, window)
    qtbot.waitUntil(lambda: window.edge_filters.hand_maps.mosaic is not None)
    assert window.edge_filters.learned_maps.mosaic is not None


def test_dialogs_do_not_block(qtbot, window):
    dlg = window.side.show_architecture()
    assert dlg.isVisible() and dlg.table.rowCount() == len(window.controller.net.summary())
    about = window.side.show_about()
    text = about.text.text()
    for word in ("drawcnn", "Numba", "NumPy", "Qt", "PySide6", "pyqtgraph", "threading"):
        assert word in text
    dlg.close()
    about.close()


def test_save_copy(qtbot, window, tmp_path):
    out = tmp_path / "copy.npz"
    window.ask_save_path = lambda: str(out)
    assert window.save_copy()
    from drawcnn.engine import load_network

    assert load_network(out).arch.name == "deep"


def test_settings_remembered(qtbot, weights_file, tmp_path):
    w = make_window(qtbot, weights_file, tmp_path)
    w.brush_slider.setValue(30)
    w.feature_maps.choose_layers(["conv1", "relu1"])
    w.close()
    w2 = make_window(qtbot, weights_file, tmp_path)
    assert w2.brush_slider.value() == 30 and w2.canvas.brush_size == 30
    assert w2.feature_maps.visible_layers() == ["conv1", "relu1"]


def test_untrained_fallback_banner(qtbot, tmp_path, monkeypatch):
    from drawcnn.gui import weights_locator

    monkeypatch.setattr(weights_locator, "shipped_weights", lambda: {})
    w = make_window(qtbot, None, tmp_path)
    assert weights_locator.is_untrained(w.controller.net)
    assert w.banner.isVisible() and "untrained" in w.banner.text()


def test_dark_theme(qtbot, window):
    from PySide6.QtWidgets import QApplication

    window.set_theme("dark")
    assert QApplication.palette().window().color().lightness() < 128
    assert window.canvas.paper.lightness() < 128
    window.set_theme("light")
    assert window.canvas.paper.lightness() > 128


def test_brush_size_applies_to_new_strokes_only(qtbot, window):
    c = window.canvas
    window.brush_slider.setValue(10)
    draw_one(c)
    window.brush_slider.setValue(30)
    stroke(c, line(0.3, 0.5, 0.7, 0.5))
    widths = [float(s[0, 3]) for s in c._all_strokes()]
    assert widths == [10.0, 30.0]
    assert all(s.shape[1] == 3 for s in c.strokes())


def test_rows_out_of_view_update_when_scrolled_to(qtbot, window):
    fm = window.feature_maps
    window.docks["feature_maps"].raise_()
    draw_one(window.canvas)
    wait_update(qtbot, window)
    last = fm._items["fc2"]
    bar = fm.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.wait(20)
    assert not last.stale and last.mosaic is not None
    probs = window.controller.probabilities
    # fc2 feeds the softmax: its brightest cell is the predicted digit
    assert int(np.argmax(dict(window.controller.activations)["fc2"][0])) == int(probs.argmax())


def test_switch_between_shipped_networks(qtbot, window, tmp_path, monkeypatch):
    from drawcnn.gui import weights_locator

    files = {"deep": window.controller.path, "lenet": temp_weights(tmp_path, "lenet")}
    monkeypatch.setattr(weights_locator, "shipped_weights", lambda: files)
    assert window.controller.switch_to("lenet")
    assert "conv2" in window.feature_maps.layer_names()
    assert "conv3" not in window.feature_maps.layer_names()
    assert window.acts["net_lenet"].isChecked() and not window.acts["net_deep"].isChecked()
    assert not window.controller.switch_to("simple")  # not shipped here: reported, kept
    assert window.errors and window.controller.net.arch.name == "lenet"


def test_pen_pressure_is_recorded(qtbot, window):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    c = window.canvas
    dev = QPointingDevice("pen", 1, QInputDevice.DeviceType.Stylus,
                          QPointingDevice.PointerType.Pen,
                          QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
                          1, 3)

    def tab(kind, frac, pressure, buttons):
        pos = c.to_widget(frac, 0.5)
        QApplication.sendEvent(c, QTabletEvent(kind, dev, pos, c.mapToGlobal(pos), pressure,
                                               0.0, 0.0, 0.0, 0.0, 0.0, Qt.NoModifier,
                                               Qt.LeftButton, buttons))

    tab(QEvent.TabletPress, 0.2, 0.1, Qt.LeftButton)
    for i in range(1, 10):
        tab(QEvent.TabletMove, 0.2 + i * 0.06, 0.1 + i * 0.09, Qt.LeftButton)
    tab(QEvent.TabletRelease, 0.74, 1.0, Qt.NoButton)
    (s,) = c.strokes()
    assert s[0, 2] == pytest.approx(0.1) and s[-1, 2] > 0.8
    wait_update(qtbot, window)
    assert window.controller.probabilities is not None


def test_closed_prediction_and_input_panels_catch_up_when_shown(qtbot, window):
    """A closed dock's panel does no work per mouse move; shown again, it shows the drawing
    that is on the canvas now, not the one it last saw."""
    docks, panel, thumbs = window.docks, window.probabilities, window.input_view
    for key in ("prediction", "input"):
        docks[key].close()
    draw_one(window.canvas)
    wait_update(qtbot, window)
    reading = window.controller.reading
    assert reading.model_input is not None
    assert panel.digit.text() in ("–", "…") and panel.probabilities is None  # not shown yet
    assert thumbs.current.get("centred") is None
    for key in ("prediction", "input"):
        docks[key].show()
    qtbot.waitUntil(lambda: panel.probabilities is not None, timeout=2000)
    np.testing.assert_allclose(panel.probabilities, reading.probabilities)
    assert panel.digit.text().rstrip("?") == str(int(np.argmax(reading.probabilities)))
    np.testing.assert_array_equal(thumbs.current["centred"], reading.steps["centred"])
    assert not thumbs.images["centred"].pixmap().isNull()


def test_a_new_caption_moves_nothing(qtbot, window):
    """The digit and its caption have fixed sizes: a longer caption re-lays out nothing (it
    used to re-lay out the window on every mouse move, and the bars jumped sideways)."""
    from drawcnn.reading import Reading

    panel = window.probabilities
    before = (panel.caption.geometry(), panel.digit.geometry(), panel.chart.geometry())
    probs = np.full(10, 0.05)
    probs[4] = 0.55
    img = np.zeros((28, 28), np.float32)
    window.controller.reading_changed.emit(
        Reading(None, probs, img, "not a digit (closest 4 at 55%) and a much longer reason"))
    qtbot.wait(20)
    assert "not a digit" in panel.caption.text()
    assert (panel.caption.geometry(), panel.digit.geometry(), panel.chart.geometry()) == before


def test_panels_show_the_last_of_coalesced_moves(qtbot, window):
    """Moves that arrive together are read once, and the panels show the final drawing."""
    from drawcnn.gui.canvas import LOGICAL_SIZE
    from drawcnn.gui.panels.mosaic import prepare
    from drawcnn.reading import read_drawing

    c = window.controller
    before = c.updates
    stroke(window.canvas, line(0.3, 0.2, 0.7, 0.8, 30))  # no event loop turn in between
    wait_update(qtbot, window)
    assert c.updates - before <= 2  # the press, then every move in one update
    want = read_drawing(window.canvas.strokes(), c.net, LOGICAL_SIZE, details=True)
    np.testing.assert_allclose(window.probabilities.probabilities, want.probabilities,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(window.input_view.current["centred"], want.steps["centred"])
    rgba, _, _ = prepare(dict(want.activations)["conv1"][0])
    np.testing.assert_array_equal(window.feature_maps._items["conv1"].mosaic, rgba)


def test_new_bars_reach_the_screen_in_one_repaint(qtbot, window):
    """The pyqtgraph bars repaint with the rest of the window: a mouse move repaints the
    window twice (the canvas's stroke, then the panels), not a third time when the plot's
    scene reports its change later (it did: ~3.7 repaints a move). What lands on screen (the
    window's backing store) is the new reading: the new top bar red, the old one shorter."""
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from drawcnn.cli.bench_gui import measure_latency
    from drawcnn.reading import Reading

    assert measure_latency(window, moves=40, interval_ms=0)["repaints_per_move"] < 2.5
    panel, img = window.probabilities, np.zeros((28, 28), np.float32)
    for top, second in ((3, 7), (7, 3)):
        probs = np.full(10, 0.01)
        probs[top], probs[second] = 0.7, 0.22
        window.controller.reading_changed.emit(Reading(top, probs, img, ""))
        qtbot.wait(30)
    shot = QApplication.primaryScreen().grabWindow(window.winId()).toImage()
    chart = panel.chart

    def colour(x, y):  # the screen's colour at a point of the plot (digit, probability)
        at = chart.mapFromScene(chart.bars.mapToScene(QPointF(x, y)))
        return shot.pixelColor(chart.mapTo(window, at)).name()

    assert colour(7, 0.35) == colour(7, 0.1) == panel._top.name()
    assert colour(3, 0.1) == panel._base.name()
    assert colour(3, 0.45) == chart.backgroundBrush().color().name()  # where bar 3 reached
