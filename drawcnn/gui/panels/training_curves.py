"""Live training curves (loss, accuracy; train and validation) and the first-layer filters.

The x axis counts epochs (1.5 = half-way through epoch 2). The training curves are the running
means the engine reports during each epoch; validation is one point per finished epoch.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from . import viz
from .mosaic import MosaicItem

TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
VAL_PEN = pg.mkPen("#ff7f0e", width=2)


def _plot(title: str, ylabel: str, legend_at=(-8, 8)) -> pg.PlotWidget:
    w = pg.PlotWidget()
    w.setBackground("w")
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
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.loss_plot)
        lay.addWidget(self.acc_plot)
        self.reset()

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


class FilterView(QWidget):
    """The first conv layer's filters, redrawn as training changes them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("live_filters")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.item = MosaicItem(self.graphics.ci, 0, "First-layer filters")
        self.item.set_title_color("#222")
        self.note = QLabel("")
        self.note.setObjectName("live_filters_note")
        self.note.setWordWrap(True)
        self.updates = 0
        self.last: np.ndarray | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.note)
        self.setMinimumSize(200, 150)

    def set_filters(self, w: np.ndarray | None, note: str = "") -> None:
        """``w``: (F, C, k, k) first-layer weights (the first input channel is shown)."""
        if w is None:
            self.item.set_data(None)
            return
        kernels = np.asarray(w)[:, 0]
        self.last = kernels
        self.updates += 1
        k = kernels.shape[-1]
        title = f"First-layer filters ({len(kernels)}, {k}×{k})"
        if title != self.item._title_text:
            self.item.set_title(title)
        text = (f"<small>{note} — blue negative, red positive: they turn from noise into "
                "edge and blob detectors as training goes on</small>")
        if text != self.note.text():  # a new text re-lays out the dialog: only on change
            self.note.setText(text)
        self.item.show_image(viz.tile(kernels, aspect=1.0), viz.symmetric_levels(kernels), True)
