"""Live training curves (loss, accuracy; train and validation) and the first-layer filters,
before training and as they learn, side by side.

The x axis counts epochs (1.5 = half-way through epoch 2). The training curves are the running
means the engine reports during each epoch; validation is one point per finished epoch. Both
views take the theme's colours when made and again on each theme change (``apply_theme``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .. import theme
from . import viz
from .help import HelpButton
from .help_texts import DIVERGING_LEGEND
from .mosaic import MosaicItem

TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
VAL_PEN = pg.mkPen("#ff7f0e", width=2)


def _plot(title: str, ylabel: str, legend_at=(-8, 8)) -> pg.PlotWidget:
    w = pg.PlotWidget()
    item = w.getPlotItem()
    item.setTitle(title, size="10pt")
    item.setLabel("bottom", "epoch")
    item.setLabel("left", ylabel)
    item.addLegend(offset=legend_at, labelTextSize="8pt")
    item.setMenuEnabled(False)
    w.setMinimumHeight(150)
    return w


class TrainingCurves(QWidget):
    """Two plots side by side: loss and accuracy, each with a train and a validation curve."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("training_curves")
        self.loss_plot = _plot("Loss", "cross-entropy")
        self.acc_plot = _plot("Accuracy", "%", legend_at=(-8, -30))
        self.curves = {}
        for key, plot in (("loss", self.loss_plot), ("acc", self.acc_plot)):
            pi = plot.getPlotItem()
            self.curves[f"train_{key}"] = pi.plot([], [], pen=TRAIN_PEN, name="train")
            self.curves[f"val_{key}"] = pi.plot([], [], pen=VAL_PEN, name="validation",
                                                symbol="o", symbolSize=7,
                                                symbolBrush="#ff7f0e", symbolPen=None)
        self.help_button = HelpButton("training_curves", self)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.loss_plot)
        lay.addWidget(self.acc_plot)
        self.apply_theme(*theme.plot_colors())
        self.reset()

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self.help_button.move(2, 2)  # over the loss plot's top-left corner
        self.help_button.raise_()

    def apply_theme(self, background, foreground) -> None:
        for plot in (self.loss_plot, self.acc_plot):
            theme.style_plot(plot, background, foreground)

    def reset(self, epochs: int = 1) -> None:
        """Empty curves, axes fixed to the run's length. Ranges are set by hand, not
        auto-ranged: re-ranging (and grid lines) on every update cost ~60 ms of GUI time per
        update here, enough to make the window stutter while training."""
        self.data: dict[str, tuple[list, list]] = {k: ([], []) for k in self.curves}
        self._prev = None
        self._loss_top = 0.0
        for c in self.curves.values():
            c.setData([], [])
        for plot in (self.loss_plot, self.acc_plot):
            plot.getPlotItem().disableAutoRange()
            plot.getPlotItem().setXRange(0, max(1, epochs), padding=0.02)
        self.acc_plot.getPlotItem().setYRange(0, 100, padding=0.02)
        self._set_loss_top(2.5)

    def _set_loss_top(self, y: float) -> None:
        if y > self._loss_top:
            self._loss_top = y * 1.15
            self.loss_plot.getPlotItem().setYRange(0, self._loss_top, padding=0.02)

    def _append(self, key: str, x: float, y: float | None) -> None:
        if y is None or not np.isfinite(y):
            return
        if key.endswith("loss"):
            self._set_loss_top(y)
        xs, ys = self.data[key]
        xs.append(x)
        ys.append(y)
        self.curves[key].setData(xs, ys)

    def add_batch(self, info) -> None:
        """Plot the mean over the batches since the previous report (the engine reports
        running means over the epoch; differencing them gives a curve without a jump at each
        epoch start)."""
        x = info.epoch - 1 + info.batch / info.batches
        loss, acc = float(info.loss), float(info.accuracy)
        prev = self._prev
        if prev is not None and prev[0] == info.epoch and info.batch > prev[1]:
            n0, n1 = prev[1], info.batch
            loss, acc = ((loss * n1 - prev[2] * n0) / (n1 - n0),
                         (acc * n1 - prev[3] * n0) / (n1 - n0))
        self._prev = (info.epoch, info.batch, float(info.loss), float(info.accuracy))
        self._append("train_loss", x, loss)
        self._append("train_acc", x, 100.0 * min(max(acc, 0.0), 1.0))

    def add_epoch(self, info) -> None:
        self._append("val_loss", info.epoch, info.val_loss)
        if info.val_accuracy is not None:
            self._append("val_acc", info.epoch, 100.0 * info.val_accuracy)


def first_layer_kernels(w) -> np.ndarray | None:
    """(F, k, k) kernels to show from (F, C, k, k) first-layer weights (the first channel)."""
    return None if w is None else np.asarray(w)[:, 0]


class FilterView(QWidget):
    """The first conv layer's filters: where training starts from (left) and as training
    changes them (right), each with its colour bar. The tiles fill the space they have."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("live_filters")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(6)
        self.before = MosaicItem(self.graphics.ci, 0, "<b>Before</b>", col=0, bar_width=96)
        self.item = MosaicItem(self.graphics.ci, 0, "<i>Learning</i>", col=1, bar_width=96)
        self.source = "the network"
        self.note = QLabel("")
        self.note.setObjectName("live_filters_note")
        self.note.setWordWrap(True)
        self.help_button = HelpButton("live_filters")
        self.updates = 0
        self.last: np.ndarray | None = None
        self.first: np.ndarray | None = None
        self._cols = 0
        bar = QHBoxLayout()
        self.title = QLabel("<b>First-layer filters</b>")
        bar.addWidget(self.title, 1)
        bar.addWidget(self.help_button, 0, Qt.AlignRight)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.note)
        self.setMinimumSize(240, 150)
        self.apply_theme(*theme.plot_colors())

    def _grid_cols(self, n: int, k: int) -> int:
        w = max(self.graphics.width() / 2 - 12, 40)
        h = max(self.graphics.height() - 30, 40)
        return viz.fill_grid(n, w / (k + 1), h / (k + 1))[1]

    def _draw(self, item: MosaicItem, kernels: np.ndarray | None) -> None:
        if kernels is None:
            item.set_data(None)
            return
        item.show_image(viz.tile(kernels, cols=self._grid_cols(len(kernels), kernels.shape[-1])),
                        viz.symmetric_levels(kernels), True)

    def set_before(self, w: np.ndarray | None, source: str = "the network") -> None:
        """The filters a run starts from: ``w`` (F, C, k, k) of ``source`` ("a new lenet")."""
        self.first = first_layer_kernels(w)
        self.source = source
        self._draw(self.before, self.first)
        self._title()

    def clear_after(self) -> None:
        self.last = None
        self.item.set_title("<i>Learning</i>")
        self.item.set_data(None)
        self.note.setText(f"<small>{DIVERGING_LEGEND}. Training changes them: watch them "
                          "turn from noise into edge and blob detectors on the right.</small>")

    def set_filters(self, w: np.ndarray | None, note: str = "", label: str = "Learning") -> None:
        """The filters as training leaves them: ``w`` (F, C, k, k), first input channel shown."""
        if w is None:
            self.item.set_data(None)
            return
        kernels = first_layer_kernels(w)
        self.last = kernels
        self.updates += 1
        if f"<b>{label}</b>" != self.item._title_text:
            self.item.set_title(f"<b>{label}</b>")
        text = (f"<small>{note + ' — ' if note else ''}{DIVERGING_LEGEND}: random noise "
                "turns into edge and blob detectors as training goes on</small>")
        if text != self.note.text():  # a new text re-lays out the dialog: only on change
            self.note.setText(text)
        self._draw(self.item, kernels)

    def _title(self) -> None:
        k = self.first
        text = f"<b>First-layer filters</b> of {self.source}"
        if k is not None:
            text += f" ({len(k)}, {k.shape[-1]}×{k.shape[-1]})"
        if text != self.title.text():
            self.title.setText(text)

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        k = self.first if self.first is not None else self.last
        if k is not None and self._grid_cols(len(k), k.shape[-1]) != self._cols:
            self._cols = self._grid_cols(len(k), k.shape[-1])
            self._draw(self.before, self.first)
            self._draw(self.item, self.last)

    def apply_theme(self, background, foreground) -> None:
        self.graphics.setBackground(background)
        for item in (self.before, self.item):
            item.set_title_color(foreground)
