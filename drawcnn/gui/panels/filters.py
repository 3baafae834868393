"""The learned convolution filters.

The first conv layer's filters are shown as a grid of small kernels with a diverging colour
map symmetric around 0 (blue negative, white 0, red positive). For a deeper conv layer the
user picks an output channel and sees its kernels, one per input channel. The grid of kernels
follows the panel's shape, so small kernels grow to fill it instead of floating in space.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from . import viz
from .help import HelpButton
from .help_texts import DIVERGING_LEGEND
from .mosaic import MosaicItem


def conv_layers(net) -> list[tuple[str, np.ndarray]]:
    """[(layer name, weights (F,C,k,k) on the host), ...] for every conv layer, in order."""
    out = []
    for key, w in net.get_params().items():
        if key.endswith(".W") and np.ndim(w) == 4:
            out.append((key[:-2], np.asarray(w)))
    return out


class FiltersPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("filters")
        self._convs: list[tuple[str, np.ndarray]] = []
        self.layer_box = QComboBox()
        self.layer_box.currentIndexChanged.connect(self._show)
        self.channel_box = QSpinBox()
        self.channel_box.setPrefix("output channel ")
        self.channel_box.valueChanged.connect(self._show)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Layer"))
        bar.addWidget(self.layer_box)
        bar.addWidget(self.channel_box)
        bar.addStretch(1)
        self.help_button = HelpButton("filters")
        bar.addWidget(self.help_button)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.item = MosaicItem(self.graphics.ci, 0, "")
        self._cols = 0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.note)

    def set_network(self, net) -> None:
        self._convs = conv_layers(net)
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        for name, w in self._convs:
            self.layer_box.addItem(f"{name}  ({w.shape[0]} filters, {w.shape[1]}×"
                                   f"{w.shape[2]}×{w.shape[3]})", name)
        self.layer_box.blockSignals(False)
        self._show()

    def current(self) -> tuple[str, np.ndarray] | None:
        i = self.layer_box.currentIndex()
        return self._convs[i] if 0 <= i < len(self._convs) else None

    def _show(self, *_):
        cur = self.current()
        if cur is None:
            self.item.set_data(None)
            self.item.set_title("This network has no convolution layers")
            return
        name, w = cur
        f, c, k, _ = w.shape
        first = c == 1
        self.channel_box.setVisible(not first)
        if first:
            kernels = w[:, 0]
            title = f"<b>{name}</b>: all {f} filters ({k}×{k})"
            self.note.setText(f"Weights: {DIVERGING_LEGEND}. Filters with a red/blue split "
                              "respond to edges in that direction.")
        else:
            self.channel_box.setRange(0, f - 1)
            o = self.channel_box.value()
            kernels = w[o]
            title = (f"<b>{name}</b>, output channel {o}: its {c} kernels "
                     f"({k}×{k}, one per input channel)")
            self.note.setText(f"Weights: {DIVERGING_LEGEND}. Each small square is the kernel "
                              "applied to one input channel; their sum makes this output "
                              "channel's map.")
        self._cols = self._fill_cols(len(kernels), k)
        mosaic = viz.tile(kernels, cols=self._cols)
        self.item.set_title(title)
        self.item.show_image(mosaic, viz.symmetric_levels(kernels), True)

    def _fill_cols(self, n: int, k: int) -> int:
        """Columns that make ``n`` kernels of k×k (1 px apart) as large as the view allows."""
        w = max(self.graphics.width() - 8, 40)
        h = max(self.graphics.height() - 30, 40)  # less the title row
        return viz.fill_grid(n, w / (k + 1), h / (k + 1))[1]

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        cur = self.current()
        if cur is not None:
            w = cur[1]
            n = w.shape[0] if w.shape[1] == 1 else w.shape[1]
            if self._fill_cols(n, w.shape[-1]) != self._cols:
                self._show()

    def _mosaics(self):
        return [self.item]

    def apply_theme(self, background, foreground) -> None:
        self.graphics.setBackground(background)
        for item in self._mosaics():
            item.set_title_color(foreground)
