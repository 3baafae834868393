"""The small things a daily user hits: the one error path, the remembered network, the
architecture and About texts, "not a digit", Teach beside the canvas with its keys, relabelling
by keyboard in My drawings, File → Export…"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from drawcnn.errors import DataError
from drawcnn.gui.menus import MenuActions
from drawcnn.gui.reporting import ErrorReporter
from drawcnn.reading import Reading

from .gui_helpers import draw_one, make_window, temp_weights, wait_update

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, temp_weights(tmp_path, "lenet"), tmp_path)
    w.side.drawings_root = tmp_path / "drawings"
    return w


def test_reporter_expected_and_unexpected_failures(qtbot):
    rep = ErrorReporter()
    seen = []
    rep.error_occurred.connect(lambda t, m: seen.append((t, m)))

    def broken_file():
        raise DataError("/tmp/x.npz is damaged")

    assert rep.attempt("Cannot open", broken_file) == (False, None)
    assert seen[-1] == ("Cannot open", "/tmp/x.npz is damaged")  # the one line, as is
    assert rep.attempt("Cannot add", lambda: {}["missing"]) == (False, None)
    title, text = seen[-1]
    assert title == "Cannot add" and "bug" in text and "KeyError" in text  # a bug report
    assert rep.attempt("Fine", lambda a, b=0: a + b, 2, b=3) == (True, 5)
    assert len(seen) == 2


def test_reported_errors_are_shown_without_blocking(qtbot, window):
    window.controller.report_error("Something failed", "first line\nsecond line")
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "error_box"]
    assert boxes and boxes[-1].isVisible() and boxes[-1].text().startswith("first line")
    assert window.errors[-1] == ("Something failed", "first line\nsecond line")
    assert "first line" in window.statusBar().currentMessage()


def test_menus_return_their_actions(window):
    assert isinstance(window.menus, MenuActions)
    assert window.acts is window.menus.acts
    for key in ("open", "save_copy", "export", "undo", "train", "teach", "drawings", "about"):
        assert key in window.acts, key
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles[:2] == ["&File", "&Edit"]
    window.set_theme("dark")
    assert [a.data() for a in window.menus.theme_group.actions() if a.isChecked()] == ["dark"]
    window.set_theme("light")


def test_chosen_network_is_remembered_and_a_vanished_file_falls_back(qtbot, tmp_path):
    from drawcnn.gui.weights_locator import default_weights_path

    lenet = temp_weights(tmp_path, "lenet")
    w = make_window(qtbot, None, tmp_path)  # no file asked for: the default network
    assert w.controller.path == default_weights_path()
    assert w.open_weights(lenet)
    w.close()
    w2 = make_window(qtbot, None, tmp_path)
    assert w2.controller.path == lenet and w2.controller.net.arch.name == "lenet"
    w2.close()
    lenet.unlink()
    w3 = make_window(qtbot, None, tmp_path)
    assert w3.controller.path == default_weights_path() and not w3.errors
    assert w3.banner.isVisible() and "could not be opened" in w3.banner.text()
    # a shipped network is remembered by name, wherever the package lives
    assert w3.controller.switch_to("lenet")
    assert w3.settings.get("weights") == "shipped:lenet"
    w3.close()
    w4 = make_window(qtbot, None, tmp_path)
    assert w4.controller.net.arch.name == "lenet" and not w4.banner.isVisible()


def test_architecture_dialog_pool_stride_and_staged_epochs(qtbot, window):
    net = window.controller.net
    net.metadata["training"] = {
        "epochs": 2, "dataset": "mnist", "test_accuracy": 0.9957,
        "previous_training": {"epochs": 3, "dataset": "mnist",
                              "previous_training": {"epochs": 4, "dataset": "mnist"}}}
    dlg = window.side.show_architecture()
    rows = {dlg.table.item(i, 0).text(): dlg.table.item(i, 4).text()
            for i in range(dlg.table.rowCount())}
    assert rows["pool1"] == "size=2, stride=2"
    text = " ".join(label.text() for label in dlg.findChildren(QLabel))
    assert "9 epochs in 3 stages (4 + 3 + 2)" in text and "99.57%" in text
    dlg.close()


def test_about_names_the_threading_layer(qtbot, window):
    import numba

    about = window.side.show_about()
    text = about.text.text()
    layer_row = text.split("Numba threading layer")[1]
    assert any(name in layer_row for name in numba.config.THREADING_LAYER_PRIORITY)
    about.close()


def test_not_a_digit_shows_the_closest_greyed(qtbot, window):
    p = window.probabilities
    probs = np.full(10, 0.05)
    probs[3] = 0.55
    img = np.zeros((28, 28), np.float32)
    window.controller.reading_changed.emit(Reading(None, probs, img, "not a digit"))
    assert p.digit.text() == "3" and "not a digit" in p.caption.text()
    assert "color" in p.digit.styleSheet()  # greyed
    colours = p.chart.bars.colours  # the closest bar is dark grey, not the answer's red
    assert colours == p.bar_colours()
    assert colours[3] == p._declined and p._top not in colours
    window.controller.reading_changed.emit(Reading(None, np.zeros(10), None, "nothing drawn"))
    assert p.digit.text() == "–" and p.caption.text() == "Nothing drawn"
    assert p.digit.styleSheet() == ""
    draw_one(window.canvas)
    wait_update(qtbot, window)
    assert p.digit.text().rstrip("?") == str(window.controller.reading.digit)


def test_teach_sits_beside_the_canvas_and_takes_keys(qtbot, window):
    w = window
    panel = w.side.show_teach()
    qtbot.wait(50)
    canvas_rect = QRect(w.canvas.mapTo(w, w.canvas.rect().topLeft()), w.canvas.size())
    dock = w.side.teach_dock
    assert not dock.isFloating() and not dock.geometry().intersects(canvas_rect)
    # the status wraps to several lines: the buttons stay where they are
    before = [panel.group.button(d).mapTo(panel, panel.group.button(d).rect().topLeft())
              for d in (0, 9)] + [panel.save_btn.mapTo(panel, panel.save_btn.rect().topLeft())]
    panel.guess.setText("The network says <b>7</b> (51%). " * 6)
    qtbot.wait(20)
    after = [panel.group.button(d).mapTo(panel, panel.group.button(d).rect().topLeft())
             for d in (0, 9)] + [panel.save_btn.mapTo(panel, panel.save_btn.rect().topLeft())]
    assert before == after
    # draw, then type a digit straight away: the canvas has the focus, not the panel
    w.activateWindow()
    draw_one(w.canvas)
    wait_update(qtbot, w)
    guess = int(np.argmax(w.controller.probabilities))
    correct = (guess + 3) % 10
    QTest.keyClick(w.canvas, str(correct))
    assert panel.label() == correct
    QTest.keyClick(w.canvas, Qt.Key_Return)  # Enter saves
    store = w.side.drawing_store()
    assert len(store) == 1 and store.samples()[0].label == correct
    # once Teach is closed, digits are no longer taken
    dock.close()
    draw_one(w.canvas)
    wait_update(qtbot, w)
    label = panel.label()
    QTest.keyClick(w.canvas, str((label or 0) + 1))
    assert panel.label() == label


def test_browser_grid_takes_digits_to_relabel(qtbot, window):
    from .test_gui_teach import fill_store

    w = window
    store = w.side.drawing_store()
    fill_store(store, per_digit=1)
    br = w.side.show_drawings()
    ids = br.shown_ids()
    br.select_ids(ids[:2])
    br.activateWindow()  # the user works in the browser (Delete in the main window clears)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is br, timeout=3000)
    br.grid.setFocus()
    QTest.keyClick(br.grid, "8")  # typed while the list has the focus
    labels = {s.id: s.label for s in store.samples()}
    assert labels[ids[0]] == 8 and labels[ids[1]] == 8
    assert sorted(br.selected_ids()) == sorted(ids[:2])
    QTest.keyClick(br.grid, Qt.Key_Delete)
    assert len(store) == 2


def test_export_reports_failures_through_the_error_path(qtbot, window, tmp_path):
    window.ask_export_path = lambda: None  # cancelled: nothing happens
    assert window.export_onnx() is False and not window.errors
    assert window.export_onnx(tmp_path) is False  # a folder, not a file
    assert window.errors and window.errors[-1][0] == "Cannot export the network"


def test_export_writes_an_onnx_file(qtbot, window, tmp_path):
    pytest.importorskip("drawcnn.export_onnx")
    pytest.importorskip("onnx")
    out = tmp_path / "lenet.onnx"
    window.ask_export_path = lambda: str(out)
    assert window.export_onnx(), window.errors
    assert out.exists() and out.stat().st_size > 10_000


def test_a_failing_prediction_is_reported_once_until_it_works_again(qtbot, window):
    from drawcnn.engine import build_network

    w = window
    good = w.controller.net
    broken = build_network("lenet", seed=0)
    next(iter(broken.params.values()))[...] = np.nan  # damaged weights: non-finite outputs
    w.controller.set_network(broken)
    draw_one(w.canvas)
    wait_update(qtbot, w)
    draw_one(w.canvas)
    wait_update(qtbot, w)
    failures = [m for t, m in w.errors if t == "Prediction failed"]
    assert len(failures) == 1 and "non-finite" in failures[0] and "bug" not in failures[0]
    w.controller.set_network(good)
    assert w.controller.reading is not None and w.controller.reading.digit is not None
    w.controller.set_network(broken)
    assert len([t for t, _ in w.errors if t == "Prediction failed"]) == 2
