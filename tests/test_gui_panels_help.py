"""Panels that explain themselves: colour bars with the levels the images use, labels and
captions, a "?" text per panel, plots that follow the theme; the train dialog teaches too
(filters before/after, preview of the chosen architecture, learning-rate warnings, a busy bar
during the test evaluation, CUDA explained in plain words)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QColor

from drawcnn.engine import build_network
from drawcnn.gui import theme
from drawcnn.gui.panels import help_texts, viz
from drawcnn.gui.panels.help import HelpButton
from drawcnn.gui.panels.mosaic import prepare

from .gui_helpers import (
    draw_seven,
    line,
    make_window,
    screenshot_path,
    stroke,
    temp_weights,
    trained_weights,
    wait_update,
)

pytestmark = pytest.mark.gui
TIMEOUT = 240_000


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, temp_weights(tmp_path, "lenet"), tmp_path)
    yield w
    if w.side.train_dialog is not None:
        w.side.train_dialog.shutdown()


# --------------------------------------------------------------------------- Qt-free helpers

@pytest.mark.parametrize("m, want", [(0.7, 0.8), (1.0, 1.0), (1.01, 1.2), (3.3, 4.0),
                                     (0.0123, 0.015), (8.5, 10.0), (2.4e5, 2.5e5)])
def test_nice_ceil_rounds_up_to_a_round_number(m, want):
    assert viz.nice_ceil(m) == pytest.approx(want)
    assert viz.nice_ceil(m) >= m and viz.nice_ceil(m) <= 1.34 * m


def test_nice_levels_and_labels():
    assert viz.nice_levels((-0.7, 0.3)) == (-0.8, 0.8)
    assert viz.nice_levels((0.0, 4.2)) == (0.0, 5.0)
    assert [viz.format_level(v) for v in (0.0, 2.5, -0.012, 1200.0, 2.5e5)] == \
        ["0", "2.5", "-0.012", "1200", "2.5e+05"]


def test_prepare_maps_with_the_levels_the_bar_shows():
    a = np.linspace(-3.3, 1.0, 2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5)
    rgba, levels, diverging = prepare(a)
    assert diverging and levels == (-4.0, 4.0)  # -3.3 widened to a round -4
    # the most negative value is 3.3/4 of the way to full blue, not full blue
    assert rgba[0, 0, 2] < 247 and rgba[0, 0, 2] > viz.diverging_lut()[0, 2]


def test_fill_grid_uses_the_space():
    assert viz.fill_grid(32, 100, 100) in ((6, 6), (5, 7), (4, 8))  # about square
    assert viz.fill_grid(32, 400, 50) == (2, 16)  # a wide strip
    assert viz.fill_grid(6, 50, 300) == (6, 1)


def test_lr_advice():
    assert help_texts.lr_warning("adam", 0.001) is None
    assert help_texts.lr_warning("sgd", 0.3) is None
    warn = help_texts.lr_warning("adam", 50)
    assert "too high" in warn and "0.0001" in warn and "0.01" in warn and "0.001" in warn
    assert "too high" in help_texts.lr_warning("sgd", 0.6)
    assert help_texts.loss_exploded(1e14) and help_texts.loss_exploded(float("nan"))
    assert not help_texts.loss_exploded(2.4)


def test_plain_cuda_message_hides_the_driver_text():
    raw = ("no NVIDIA driver found (CUDA driver library cannot be found. If you are sure "
           "that a CUDA driver is installed, try setting environment variable "
           "NUMBA_CUDA_DRIVER with the file path of the CUDA driver shared library.)")
    for name, ok, reason in (("cpu", True, f"auto: using the CPU ({raw})"),
                             ("cuda", False, raw)):
        text = help_texts.plain_backend_reason(name, reason, ok)
        assert "NUMBA_CUDA_DRIVER" not in text and "NVIDIA GPU" in text
    assert help_texts.plain_backend_reason("cpu", "cpu requested", True) == \
        "Runs on <b>cpu</b>: cpu requested"


# --------------------------------------------------------------------------- main window

def test_colour_bars_show_the_levels_of_every_map(qtbot, window):
    fm = window.feature_maps
    fm.choose_layers(fm.layer_names())
    draw_seven(window.canvas)
    wait_update(qtbot, window)
    acts = {n: a[0] for n, a in window.controller.activations}
    checked = 0
    for name, item in fm._items.items():
        if item.mosaic is None or item.stale:
            continue  # scrolled out of view: drawn when seen
        bar = item.colorbar
        assert bar.levels == item.levels, name
        lo, hi = viz._finite_range(acts[name])
        top = max(abs(lo), abs(hi))
        assert bar.levels[1] >= top and bar.levels[1] <= 1.34 * max(top, 1e-6), name
        assert bar.diverging == (lo < 0), name
        assert bar.labels()[1] == viz.format_level(bar.levels[1])
        checked += 1
        assert "blue = negative" in bar.toolTip() if bar.diverging else "black = 0" in \
            bar.toolTip()
    assert checked >= 4
    assert "blue = negative" in fm.legend.text() and "black = 0" in fm.legend.text()
    # cheap per move: the bars repaint only when their round-number range changes
    bar = fm._items["conv1"].colorbar
    n0, frames0 = bar.repaints, window.controller.updates
    stroke(window.canvas, line(0.3, 0.5, 0.7, 0.5, 60),
           on_move=lambda i: qtbot.wait(25) if i % 4 == 3 else None)
    wait_update(qtbot, window)
    assert window.controller.updates - frames0 >= 5
    assert bar.repaints - n0 <= (window.controller.updates - frames0) // 2 + 1


def test_logit_strip_and_probability_values(qtbot, window):
    fm = window.feature_maps
    fm.choose_layers(["conv1", "fc3"])
    logits = fm._items["fc3"]
    assert logits.caption_texts() == [str(d) for d in range(10)]
    assert "logit" in logits._title_text
    assert fm._items["conv1"].caption_texts() == []
    draw_seven(window.canvas)
    wait_update(qtbot, window)
    p = window.controller.probabilities
    texts = window.probabilities.value_texts()
    k = int(np.argmax(p))
    assert texts[k] == f"{p[k]:.0%}"
    assert all(t == "" for t, q in zip(texts, p, strict=True) if q < 0.001)
    chart = window.probabilities.chart  # what the pyqtgraph plot shows
    assert chart.bars.texts == texts
    assert (chart.getAxis("bottom").labelText, chart.getAxis("left").labelText) == (
        "digit", "probability")
    assert [t for _, t in chart.getAxis("bottom")._tickLevels[0]] == [str(d) for d in range(10)]
    np.testing.assert_allclose(chart.bars.heights, p, atol=1e-6)
    full = chart.bar_pixels(k).height() / p[k]  # on screen: heights in proportion
    for d in range(10):
        assert abs(chart.bar_pixels(d).height() - p[d] * full) <= 1.5, d
    assert chart.bars.colours[k] == window.probabilities._top


def test_edge_filter_tiles_are_captioned(window):
    ed = window.edge_filters
    assert ed.hand_kernels.caption_texts() == ["Sobel x", "Sobel y", "Laplacian", "Sharpen"]
    assert ed.hand_maps.caption_texts()[:4] == ed.hand_kernels.caption_texts()
    assert len(ed.hand_maps.caption_texts()) == 5


def test_filters_fill_the_panel(qtbot, window):
    window.docks["filters"].raise_()
    fl = window.filters
    fl.resize(400, 700)
    qtbot.wait(50)
    tall = fl.item.mosaic.shape
    fl.resize(900, 250)
    qtbot.wait(50)
    wide = fl.item.mosaic.shape
    assert tall[0] > tall[1] and wide[1] > wide[0]  # the grid follows the panel's shape
    assert fl.item.colorbar.levels[0] < 0 < fl.item.colorbar.levels[1]


def test_every_panel_has_a_help_text_one_click_away(qtbot, window):
    buttons = window.findChildren(HelpButton)
    keys = {b.key for b in buttons}
    assert {"feature_maps", "filters", "edge_filters", "probabilities",
            "input_view"} <= keys
    for b in buttons:
        b.click()
        popup = b.popup
        assert popup is not None and popup.isVisible(), b.key
        assert help_texts.help_title(b.key) in popup.text()
        assert len(popup.text()) > 120
        popup.close()


def test_training_plots_follow_the_theme(qtbot, window):
    window.set_theme("dark")
    dlg = window.side.show_train_dialog()
    curves = dlg.view.curves
    dark_bg = theme.plot_background(True)
    for plot in (curves.loss_plot, curves.acc_plot):
        assert plot.backgroundBrush().color() == dark_bg
        assert plot.getAxis("left").textPen().color() == theme.plot_foreground(True)
    assert dlg.view.filters.graphics.backgroundBrush().color() == dark_bg
    window.set_theme("light")  # a theme change restyles an open dialog too
    assert curves.loss_plot.backgroundBrush().color() == theme.plot_background(False)
    assert curves.loss_plot.getAxis("bottom").textPen().color() == theme.plot_foreground(False)
    title = curves.loss_plot.getPlotItem().titleLabel
    assert QColor(title.opts["color"]) == theme.plot_foreground(False)
    window.set_theme("dark")
    chart = window.probabilities.chart
    assert chart.backgroundBrush().color() == dark_bg
    assert chart.getAxis("left").textPen().color() == theme.plot_foreground(True)
    assert chart.bars.pen.color() == theme.plot_foreground(True)  # the bars' outlines


def test_confusion_matrix_axes_are_titled(qtbot, window):
    dlg = window.side.show_train_dialog()
    cv = dlg.view.confusion
    assert cv.true_title.text() == "true" and cv.predicted_title.text() == "predicted"


# --------------------------------------------------------------------------- train dialog

class PhaseProbe(QObject):
    """Records (phase text, progress bar maximum) in the GUI thread as the dialog sees it."""

    def __init__(self, dlg):
        super().__init__()
        self.dlg, self.seen = dlg, []

    @Slot(str)
    def record(self, text: str) -> None:
        self.seen.append((text, self.dlg.progress.maximum()))


def test_lr_warning_and_preview_follow_the_settings(qtbot, window):
    dlg = window.side.show_train_dialog()
    form = dlg.form
    form.opt_box.setCurrentIndex(form.opt_box.findData("adam"))
    form.lr.setValue(0.001)
    assert not form.lr_warning.isVisibleTo(dlg)
    form.lr.setValue(50)
    assert form.lr_warning.isVisibleTo(dlg)
    assert "too high" in form.lr_warning.text() and "0.001" in form.lr_warning.text()
    form.opt_box.setCurrentIndex(form.opt_box.findData("sgd"))  # resets lr to 0.01
    assert not form.lr_warning.isVisibleTo(dlg)
    form.lr.setValue(0.8)
    assert form.lr_warning.isVisibleTo(dlg)
    # the preview shows the freshly initialised filters of the chosen architecture
    form.start_box.setCurrentIndex(form.start_box.findData(False))
    f = dlg.view.filters
    for arch in ("deep", "simple", "lenet"):
        form.arch_box.setCurrentIndex(form.arch_box.findData(arch))
        fresh = build_network(arch, seed=0).get_params()["conv1.W"][:, 0]
        np.testing.assert_array_equal(f.first, fresh)
        assert f"a new {arch}" in f.title.text()
        assert f.before.colorbar.levels is not None
    form.start_box.setCurrentIndex(form.start_box.findData(True))
    current = window.controller.net.get_params()["conv1.W"][:, 0]
    np.testing.assert_array_equal(f.first, current)
    assert "the current lenet" in f.title.text()


def test_exploding_loss_stops_with_advice_and_evaluation_shows_a_busy_bar(qtbot, window,
                                                                          mnist_dir):
    dlg = window.side.show_train_dialog()
    form = dlg.form
    dlg.data.set_dataset("mnist")
    dlg.data.subset.setValue(1200)
    form.start_box.setCurrentIndex(form.start_box.findData(False))
    form.arch_box.setCurrentIndex(form.arch_box.findData("lenet"))
    form.epochs.setValue(3)
    form.batch.setValue(32)
    form.opt_box.setCurrentIndex(form.opt_box.findData("adam"))
    form.lr.setValue(50)
    form.augment.setChecked(False)
    form.backend_box.setCurrentIndex(form.backend_box.findData("cpu"))
    with qtbot.waitSignal(dlg.training_finished, timeout=TIMEOUT) as sig:
        assert dlg.start()
    res = sig.args[0]
    assert res.status == "diverged" and not res.usable
    assert "learning rate too high" in dlg.status.text().lower()
    assert "0.001" in dlg.status.text()
    assert any("too high" in msg for _, msg in window.errors), window.errors
    assert not dlg.use_btn.isEnabled() and dlg.progress.maximum() == 1000
    # a run that completes: a busy bar while the test images are evaluated, then "After"
    form.lr.setValue(0.002)
    form.epochs.setValue(1)
    cfg = dlg.config()
    cfg.test_subset = 2000
    probe = PhaseProbe(dlg)
    with qtbot.waitSignal(dlg.training_finished, timeout=TIMEOUT) as sig:
        assert dlg.start(cfg)
        dlg.worker.phase.connect(probe.record)  # queued to the GUI thread, after the dialog
    assert sig.args[0].status == "completed"
    seen = probe.seen
    assert seen and seen[0][1] == 0 and "test images" in seen[0][0]  # 0 = a busy bar
    assert dlg.progress.maximum() == 1000 and dlg.progress.format() == "done"
    f = dlg.view.filters
    assert "After" in f.item._title_text and f.last is not None
    assert not np.array_equal(f.last, f.first)  # training changed them
    np.testing.assert_array_equal(f.first, build_network("lenet", seed=0)
                                  .get_params()["conv1.W"][:, 0])


def test_cuda_unavailable_is_said_plainly(qtbot, window):
    from drawcnn.engine import BackendUnavailable, get_backend

    try:
        get_backend("cuda")
        pytest.skip("a CUDA GPU is usable here")
    except BackendUnavailable:
        pass
    dlg = window.side.show_train_dialog()
    form = dlg.form
    for choice in ("auto", "cuda"):
        form.backend_box.setCurrentIndex(form.backend_box.findData(choice))
        text = form.backend_label.text()
        assert "NVIDIA GPU" in text and "NUMBA" not in text and "driver library" not in text
        assert form.backend_label.toolTip()  # the raw text for those who want it
    assert not dlg.start_btn.isEnabled()  # cuda chosen, none here


# --------------------------------------------------------------------------- screenshots

def test_screenshots_light_dark_and_train_dialog(qtbot, tmp_path):
    """main_light.png, main_dark.png, train_dialog_teaching.png (into docs/ with
    DRAWCNN_DOCS=1, looked at by a person)."""
    w = make_window(qtbot, trained_weights(), tmp_path)
    w.resize(1360, 860)
    draw_seven(w.canvas)
    wait_update(qtbot, w)
    for name in ("light", "dark"):
        w.set_theme(name)
        qtbot.wait(200)
        img = w.grab()
        assert img.save(str(screenshot_path(f"main_{name}.png", tmp_path)))
    w.set_theme("light")
    dlg = w.side.show_train_dialog()
    dlg.resize(1280, 820)
    dlg.form.start_box.setCurrentIndex(dlg.form.start_box.findData(False))
    dlg.form.arch_box.setCurrentIndex(dlg.form.arch_box.findData("deep"))
    dlg.form.lr.setValue(50)
    qtbot.wait(200)
    assert dlg.grab().save(str(screenshot_path("train_dialog_teaching.png", tmp_path)))
    w.set_theme("light")
    dlg.shutdown()
