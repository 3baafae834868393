"""The staged start (what ``drawcnn`` with no arguments does): the window is shown before the
network and the panels exist, takes strokes at once, and reads them once it is warm."""

from __future__ import annotations

import numpy as np
import pytest

from drawcnn.gui import create_window

from .gui_helpers import draw_seven, temp_weights, wait_update

pytestmark = pytest.mark.gui


def test_staged_window_draws_before_the_panels_exist(qtbot, tmp_path):
    weights = temp_weights(tmp_path)
    w = create_window(weights, settings_path=tmp_path / "settings.ini", staged=True)
    qtbot.addWidget(w)
    assert not w.finished and w.controller.net is None
    assert not hasattr(w, "feature_maps")  # the panels come after the first paint
    assert w.docks["feature_maps"].widget().text() == "Loading…"
    w.show()
    draw_seven(w.canvas)  # drawn while loading: kept, and read once the network is warm
    assert w.controller.strokes
    qtbot.waitUntil(lambda: w.finished, timeout=60_000)
    assert w.docks["feature_maps"].widget() is w.feature_maps
    assert w.controller.path == weights
    qtbot.waitUntil(lambda: w.controller.ready, timeout=120_000)
    wait_update(qtbot, w)
    r = w.controller.reading
    assert r is not None and r.model_input is not None
    assert np.isclose(w.probabilities.probabilities.sum(), 1.0, atol=1e-4)
    assert w.feature_maps._items and all(
        item.mosaic is not None for item in w.feature_maps._items.values() if not item.stale)


def test_staged_window_finish_is_idempotent_and_same_as_direct(qtbot, tmp_path):
    weights = temp_weights(tmp_path)
    w = create_window(weights, settings_path=tmp_path / "s1.ini", staged=True)
    qtbot.addWidget(w)
    w.finish()
    w.finish()  # a second call (the fallback timer) changes nothing
    direct = create_window(weights, settings_path=tmp_path / "s2.ini")
    qtbot.addWidget(direct)
    assert w.finished and direct.finished
    assert sorted(w.docks) == sorted(direct.docks)
    assert sorted(w.acts) == sorted(direct.acts)
    assert w.feature_maps.layer_names() == direct.feature_maps.layer_names()


def test_staged_window_closed_while_loading_keeps_settings(qtbot, tmp_path):
    from drawcnn.gui.settings import Settings

    path = tmp_path / "settings.ini"
    s = Settings(path)
    s.set("brush_size", 23)
    s.sync()
    w = create_window(temp_weights(tmp_path), settings_path=path, staged=True)
    qtbot.addWidget(w)
    assert w.brush_slider.value() == 23  # the shell's settings apply before it is shown
    w.close()  # before the panels exist: nothing breaks, nothing is overwritten
    assert Settings(path).get("brush_size", 0, int) == 23


def test_staged_window_predicts_before_the_other_panels_exist(qtbot, tmp_path, monkeypatch):
    """A staged start goes live (network, prediction and preprocessing panels) first; the
    rest (pyqtgraph, feature maps, explain docks, menus) comes once the network is warm and
    then shows the drawing already there."""
    from drawcnn.gui.main_window import MainWindow
    from drawcnn.gui.panels.mosaic import prepare

    monkeypatch.setattr(MainWindow, "_finish_soon", lambda self, *_: None)  # hold the rest
    w = create_window(temp_weights(tmp_path), settings_path=tmp_path / "s.ini", staged=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.live, timeout=60_000)
    qtbot.waitUntil(lambda: w.controller.ready, timeout=120_000)
    draw_seven(w.canvas)
    wait_update(qtbot, w)
    r = w.controller.reading
    assert not w.finished and not hasattr(w, "feature_maps")
    np.testing.assert_allclose(w.probabilities.probabilities, r.probabilities)
    np.testing.assert_array_equal(w.input_view.current["centred"], r.steps["centred"])
    place = w.probabilities.chart.geometry()  # the bars' place, kept until pyqtgraph comes
    assert not hasattr(w.probabilities.chart, "bars")
    w.finish()
    chart = w.probabilities.chart  # the bars arrive showing the drawing already read
    np.testing.assert_allclose(chart.bars.heights, r.probabilities, atol=1e-6)
    assert chart.bars.texts == w.probabilities.value_texts() and any(chart.bars.texts)
    qtbot.wait(20)
    assert chart.geometry() == place
    panel = w.probabilities  # nothing left over the digit and its caption
    for label in (panel.digit, panel.caption):
        assert panel.childAt(label.geometry().center()) is label
    assert w.finished and w.docks["feature_maps"].widget() is w.feature_maps
    rgba, _, _ = prepare(dict(r.activations)["conv1"][0])
    np.testing.assert_array_equal(w.feature_maps._items["conv1"].mosaic, rgba)
    assert w.acts["undo"].isEnabled()  # the menus see the stroke drawn before they existed


def test_a_drawing_is_read_before_the_kernels_are_warm(qtbot, tmp_path, monkeypatch):
    """While the warm-up compiles (held here until released), the drawing is read by the
    network's copy on the NumPy reference backend; once warm, by the network itself, and the
    two readings agree."""
    import threading

    from drawcnn.gui.warmup import Warmup

    release = threading.Event()
    real_run = Warmup._run

    def held_run(self):
        release.wait(120)
        real_run(self)

    monkeypatch.setattr(Warmup, "_run", held_run)
    w = create_window(temp_weights(tmp_path), settings_path=tmp_path / "s.ini", staged=True)
    qtbot.addWidget(w)
    w.show()
    draw_seven(w.canvas)
    qtbot.waitUntil(lambda: w.controller.reading is not None
                    and w.controller.reading.model_input is not None, timeout=60_000)
    assert not w.controller.ready and w.controller.reads
    interim = w.controller.reading
    assert w.probabilities.caption.text() != "warming up…"
    qtbot.waitUntil(lambda: w.finished, timeout=60_000)  # the panels come after 1 s
    w.explain.show_panel("why")
    qtbot.wait(3000)  # time enough for it to finish, had it started (it did, before)
    assert w.explain.why.results == 0  # its backward passes wait for the warm kernels
    release.set()
    qtbot.waitUntil(lambda: w.controller.ready, timeout=120_000)
    wait_update(qtbot, w)
    warm = w.controller.reading
    assert warm is not interim and warm.digit == interim.digit
    np.testing.assert_allclose(warm.probabilities, interim.probabilities, atol=1e-4)
    expected = w.controller.net.predict(interim.model_input[None, None])[0]
    np.testing.assert_allclose(interim.probabilities, expected, atol=1e-4)
    qtbot.waitUntil(lambda: w.explain.why.results > 0, timeout=60_000)  # then it explains


def test_what_filters_want_to_see_waits_for_the_warm_kernels(qtbot, tmp_path, monkeypatch):
    """Asked for while the warm-up compiles (held here), the gradient ascent waits for the
    warm kernels, as "Why this digit" does, then runs on its own."""
    import threading

    from drawcnn import explain
    from drawcnn.gui.warmup import Warmup

    release = threading.Event()
    real_run, real_maximize = Warmup._run, explain.maximize_layer
    started = []

    def held_run(self):
        release.wait(120)
        real_run(self)

    def spy(*args, **kwargs):
        started.append(threading.get_ident())
        return real_maximize(*args, **kwargs)

    monkeypatch.setattr(Warmup, "_run", held_run)
    monkeypatch.setattr(explain, "maximize_layer", spy)
    w = create_window(temp_weights(tmp_path, "lenet"), settings_path=tmp_path / "s.ini",
                      staged=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.finished, timeout=60_000)  # the panels come after 1 s
    assert not w.controller.ready
    gallery = w.explain.maximize
    gallery.steps = 4
    w.explain.show_panel("maximize")
    gallery.compute("conv1")
    qtbot.wait(1000)  # time enough for it to start, had it not waited (it did, before)
    assert not started and gallery.runner.busy
    assert gallery.button.text() == "Stop" and "warm" in gallery.info.text()
    release.set()
    with qtbot.waitSignal(gallery.gallery_ready, timeout=120_000) as sig:
        pass
    assert sig.args == ["conv1"] and len(started) == 1 and w.controller.ready
    assert gallery.cache["conv1"]["images"].shape == (6, 28, 28)


def test_staged_window_keeps_what_changed_before_the_panels(qtbot, tmp_path, monkeypatch):
    """Between going live (menus, toolbar, the remembered layout) and the last panels (a
    second, longer on a cold start) the user can hide a panel or change the brush: a close
    in that time saves it, and the panels arriving later do not undo such a change."""
    from drawcnn.gui.main_window import MainWindow
    from drawcnn.gui.settings import Settings

    path, weights = tmp_path / "s.ini", temp_weights(tmp_path, "lenet")
    first = create_window(weights, settings_path=path)  # a direct start: every dock shown
    qtbot.addWidget(first)
    first.show()
    first.close()
    monkeypatch.setattr(MainWindow, "_finish_soon", lambda self, *_: None)  # hold the rest
    w = create_window(weights, settings_path=path, staged=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.live, timeout=60_000)
    w.docks["input"].toggleViewAction().trigger()  # View → hide "What the network sees"
    w.brush_slider.setValue(31)
    assert not w.finished
    w.close()
    assert Settings(path).get("brush_size", 0, int) == 31
    again = create_window(weights, settings_path=path, staged=True)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(lambda: again.live, timeout=60_000)
    assert again.brush_slider.value() == 31
    assert again.docks["input"].isHidden()  # the layout left, restored as it goes live
    again.docks["input"].toggleViewAction().trigger()  # shown again before the panels
    again.finish()
    assert not again.docks["input"].isHidden()  # the panels arriving keep it
    again.close()
    assert Settings(path).get("brush_size", 0, int) == 31
