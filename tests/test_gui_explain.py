"""The explanation docks with real mouse events: click a feature-map cell (conv, pooling,
dense) and read the inspector, click a logit and read the loss, the Why overlays follow the
drawing on pen-up, the activation-maximisation gallery is computed off the GUI thread."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtTest import QTest

from drawcnn import explain
from drawcnn.gui.panels.feature_maps import index_mosaic

from .gui_helpers import (
    draw_one,
    draw_seven,
    draw_zero,
    line,
    make_window,
    send_mouse,
    stroke,
    trained_weights,
    wait_update,
)

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, trained_weights(), tmp_path)
    yield w
    w.close()


def click_cell(qtbot, window, layer, index):
    """A real left click on cell ``index`` of ``layer``'s mosaic in the Feature maps dock."""
    fm = window.feature_maps
    window.docks["feature_maps"].raise_()
    qtbot.waitUntil(lambda: fm.isVisible() and fm._items[layer].mosaic is not None)
    fm.graphics.grab()  # paint once: pyqtgraph updates view transforms lazily
    item = fm._items[layer]
    shape = fm._acts[layer].shape
    ids = index_mosaic(shape)
    y, x = np.argwhere(ids == np.ravel_multi_index(index, shape))[0]
    pos = fm.graphics.mapFromScene(item.image.mapToScene(QPointF(x + 0.5, y + 0.5)))
    QTest.mouseClick(fm.graphics.viewport(), Qt.LeftButton, Qt.NoModifier, pos)


def test_click_feature_map_cells_shows_their_arithmetic(qtbot, window):
    c, insp = window.controller, window.explain.inspector
    window.feature_maps.choose_layers(["conv2", "pool1", "fc1"])
    draw_seven(window.canvas)
    wait_update(qtbot, window)
    acts = dict(c.activations)

    click_cell(qtbot, window, "conv2", (5, 10, 12))
    assert insp.selection == ("conv2", (5, 10, 12))
    assert insp.isVisible()
    t = insp.trace
    assert t.value == float(acts["conv2"][0][5, 10, 12])
    assert abs(t.total - t.value) < 1e-4
    assert t.inputs.shape == (32, 3, 3)
    assert "conv2" in insp.title.text() and f"{t.value:.4f}" in insp.title.text()
    assert "pre-activation" in insp.text.toPlainText() and "ReLU" in insp.text.toPlainText()
    assert not insp.input_img.pixmap().isNull()

    click_cell(qtbot, window, "pool1", (3, 5, 6))
    t = insp.trace
    assert (t.layer, t.kind) == ("pool1", "MaxPool2D") and t.winner is not None
    assert t.value == float(acts["pool1"][0][3, 5, 6]) == float(t.inputs.max())
    assert "winner" in insp.text.toPlainText()

    click_cell(qtbot, window, "fc1", (77,))
    t = insp.trace
    assert (t.layer, t.index) == ("fc1", (77,)) and t.inputs.shape == (64 * 7 * 7,)
    assert abs(t.total - float(acts["fc1"][0][77])) < 1e-3

    # The inspected cell follows the drawing (the inspector dock is in front).
    before = insp.trace.value
    window.canvas.clear()
    draw_zero(window.canvas)
    wait_update(qtbot, window)
    qtbot.waitUntil(lambda: insp.trace is not None and insp.trace.value != before)
    assert insp.trace.value == float(dict(c.activations)["fc1"][0][77])


def test_click_a_logit_selects_the_label_for_the_loss(qtbot, window):
    c, view = window.controller, window.explain.softmax
    window.explain.show_panel("softmax")
    stroke(window.canvas, line(0.5, 0.2, 0.5, 0.8, 30), release=False)
    qtbot.waitUntil(lambda: view.trace is not None)  # live while the pen is down
    send_mouse(window.canvas, QEvent.MouseButtonRelease, window.canvas.to_widget(0.5, 0.8))
    wait_update(qtbot, window)
    qtbot.waitUntil(lambda: np.allclose(view.trace.probabilities, c.probabilities, atol=1e-6))
    predicted = int(np.argmax(c.probabilities))
    assert view.trace.label == predicted and view.label is None
    np.testing.assert_allclose(view.trace.probabilities, c.probabilities, atol=1e-6)
    other = (predicted + 3) % 10
    QTest.mouseClick(view.table.viewport(), Qt.LeftButton, Qt.NoModifier,
                     view.row_rect(other).center())
    assert view.label == other and view.trace.label == other
    assert view.trace.loss == pytest.approx(-np.log(c.probabilities[other]), rel=1e-4)
    assert f"−log p[{other}]" in view.summary.text()
    assert window.explain.why.target_box.currentData() == other  # Why explains it too


def test_why_overlays_follow_the_drawing_on_pen_up(qtbot, window):
    c, why = window.controller, window.explain.why
    window.explain.show_panel("why")
    draw_one(window.canvas)
    qtbot.waitUntil(lambda: why.results >= 1 and not why.runner.busy, timeout=20_000)
    first = why.result
    np.testing.assert_array_equal(first["image"], c.reading.model_input)
    assert first["target"] == int(np.argmax(c.probabilities))
    assert first["saliency"].shape == (28, 28) and first["occlusion"].shape == (7, 7)
    assert not why.images["grad_cam"].pixmap().isNull()

    n = why.results
    window.canvas.clear()
    qtbot.waitUntil(lambda: why.result is None or why.results > n, timeout=10_000)
    n = why.results
    stroke(window.canvas, line(0.3, 0.5, 0.7, 0.5, 30), release=False)  # pen still down
    wait_update(qtbot, window)
    qtbot.wait(300)
    assert why.results == n and not why.runner.busy  # nothing heavy while drawing
    send_mouse(window.canvas, QEvent.MouseButtonRelease,
               window.canvas.to_widget(0.7, 0.5))  # lift the pen: now it updates
    qtbot.waitUntil(lambda: why.results > n and not why.runner.busy, timeout=20_000)
    r = why.result
    np.testing.assert_array_equal(r["image"], c.reading.model_input)
    assert not np.array_equal(r["image"], first["image"])
    np.testing.assert_allclose(
        r["saliency"], explain.saliency(c.net, r["image"][None, None], r["target"]),
        rtol=1e-4, atol=1e-6)


def test_activation_maximisation_gallery_off_the_gui_thread(qtbot, window):
    gal = window.explain.maximize
    window.explain.show_panel("maximize")
    gal.steps = 4
    with qtbot.waitSignal(gal.gallery_ready, timeout=60_000) as sig:
        gal.compute("conv1")
    assert sig.args == ["conv1"]
    res = gal.cache["conv1"]
    assert res["images"].shape == (32, 28, 28)
    assert res["images"].min() >= 0 and res["images"].max() <= 1
    assert gal.bar.value() == 100 and not gal.picture.pixmap().isNull()
    gal.compute("conv1")  # cached: nothing to run
    assert not gal.runner.busy
    assert gal.layer_box.currentData() == "conv1"
    # A new network (e.g. after training) starts a fresh cache.
    window.controller.set_network(window.controller.net.copy())
    assert gal.cache == {} and gal.picture.pixmap().isNull()


def test_a_network_swap_drops_an_inspected_cell_that_no_longer_exists(qtbot):
    """conv1 cell (20, 0, 0) exists in simple (30 channels), not in lenet (6): the swap clears
    the selection instead of asking the engine for a cell it does not have."""
    from drawcnn.engine import build_network
    from drawcnn.gui.panels.inspector import NeuronInspector

    insp = NeuronInspector()
    qtbot.addWidget(insp)
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0
    simple, lenet = build_network("simple", seed=0), build_network("lenet", seed=0)
    insp.set_context(simple, image, simple.activations(image[None, None]))
    insp.inspect("conv1", (20, 0, 0))
    assert insp.selection == ("conv1", (20, 0, 0)) and insp.trace is not None
    insp.inspect("conv1", (99, 0, 0))  # not a cell of this network: ignored
    assert insp.selection == ("conv1", (20, 0, 0))
    insp.set_context(lenet, image, lenet.activations(image[None, None]))
    assert insp.selection is None and insp.trace is None
    insp.inspect("conv1", (5, 27, 27))
    assert insp.trace.value == float(lenet.activations(image[None, None])[0][1][0, 5, 27, 27])


def test_closing_while_an_explanation_cannot_stop_exits_cleanly(tmp_path):
    """A job that outlives the runner's shutdown wait (a first start compiling kernels) ends
    with the process: exit status 0, not Qt's abort for a running QThread destroyed at exit."""
    import os
    import subprocess
    import sys

    script = tmp_path / "close_busy.py"
    script.write_text(
        "import threading, time\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from drawcnn.gui.explain_worker import JobRunner\n"
        "app = QApplication([])\n"
        "runner = JobRunner()\n"
        "started = threading.Event()\n"
        "def stubborn(progress, stop):\n"
        "    started.set()\n"
        "    time.sleep(5)  # ignores stop, as a Numba compile does\n"
        "runner.submit('t', stubborn)\n"
        "assert started.wait(10)\n"
        "runner.shutdown(timeout_ms=200)\n"
        "runner.submit('t2', stubborn)  # closed: takes no new job\n"
        "assert runner.busy\n"
        "print('closed')\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "closed" in out.stdout and "QThread" not in out.stderr


def test_a_job_runner_holds_its_jobs_until_ready(qtbot):
    """The one rule both explain workers follow: a request made before the gate opens (the
    warm kernels) waits, the newest only, and starts on the signal; dropped by cancel."""
    from PySide6.QtCore import QObject, Signal

    from drawcnn.gui.explain_worker import JobRunner

    class Gate(QObject):
        opened = Signal(bool)

    gate, ready, ran = Gate(), [False], []
    runner = JobRunner()
    runner.wait_for(lambda: ready[0], gate.opened)
    runner.submit("a", lambda progress, stop: ran.append("a") or "a")
    runner.submit("b", lambda progress, stop: ran.append("b") or "b")
    gate.opened.emit(True)  # a signal while ready() is still false opens nothing
    qtbot.wait(100)
    assert ran == [] and runner.busy and runner.waiting
    ready[0] = True
    with qtbot.waitSignal(runner.finished, timeout=10_000) as sig:
        gate.opened.emit(True)
    assert sig.args == ["b", "b"] and ran == ["b"] and not runner.busy
    with qtbot.waitSignal(runner.finished, timeout=10_000) as sig:  # open: runs at once
        runner.submit("c", lambda progress, stop: "c")
    assert sig.args == ["c", "c"]
    ready[0] = False
    runner.submit("d", lambda progress, stop: ran.append("d"))
    runner.cancel()
    assert not runner.busy
    ready[0] = True
    gate.opened.emit(True)
    qtbot.wait(100)
    assert ran == ["b"]
