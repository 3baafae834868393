"""Hand-set filters (Sobel, Laplacian, ...) on the user's drawing, next to what the learned
first-layer filters produce on the same 28x28 input. Every hand-set tile carries its name.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from . import viz
from .help import HelpButton
from .help_texts import DIVERGING_LEGEND
from .mosaic import MosaicItem, opaque_view
from .visibility import on_screen

#: Room above a row of tiles for their captions, as a fraction of the tile height.
CAPTION_ROOM = 0.3


class EdgeFiltersPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("edge_filters")
        self.graphics = opaque_view(pg.GraphicsLayoutWidget())
        ci = self.graphics.ci
        ci.setContentsMargins(2, 2, 2, 2)
        self.hand_names = list(viz.HAND_FILTERS)
        kernels = np.stack([viz.HAND_FILTERS[n] for n in self.hand_names])
        self.hand_kernels = MosaicItem(ci, 0, "<b>Hand-set kernels</b>")
        self.hand_kernels.show_image(viz.tile(kernels, cols=len(kernels), sep=1),
                                     viz.symmetric_levels(kernels), True)
        self.hand_maps = MosaicItem(ci, 2, "<b>…on your drawing</b>")
        self.map_names = self.hand_names + ["magnitude"]
        for item, names, k in ((self.hand_kernels, self.hand_names, kernels.shape[-1]),
                               (self.hand_maps, self.map_names, 28)):
            room = CAPTION_ROOM * k
            centers = viz.tile_centers(len(names), k, k, cols=len(names))
            item.set_captions(names, [(x, -0.1 * room) for x, _ in centers], anchor=(0.5, 1),
                              room=room, inside=False)
        self.learned_kernels = MosaicItem(ci, 4, "<b>Learned conv1 kernels</b>")
        self.learned_maps = MosaicItem(ci, 6, "<b>…on your drawing</b> (conv1 output)")
        self.help_button = HelpButton("edge_filters")
        self.note = QLabel(f"<small>Kernels: {DIVERGING_LEGEND}. Each map is scaled to its "
                           "own largest value.</small>")
        self.note.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.note, 1)
        bar.addWidget(self.help_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.graphics, 1)
        self._first_conv = "conv1"
        self._n_learned = 0
        self._kernels: np.ndarray | None = None
        self._cols = 0  # columns of the learned kernel and map grids
        self.hand_maps.set_data(np.zeros((len(self.map_names), 28, 28), np.float32),
                                per_channel=True, cols=len(self.map_names))
        self._input = self._acts = None
        self._stale = True

    def set_network(self, net) -> None:
        from .filters import conv_layers

        convs = conv_layers(net)
        if not convs:
            self.learned_kernels.set_data(None)
            return
        name, w = convs[0]
        self._first_conv = name
        self._n_learned = w.shape[0]
        self._kernels = w[:, 0] if w.shape[1] == 1 else w.mean(axis=1)
        self.learned_kernels.set_title(f"<b>Learned {name} kernels</b> ({w.shape[0]})")
        self._cols = 0
        self._fit_rows()

    def _learned_cols(self) -> int:
        """Columns for the learned kernels and maps: the fewest (so the largest tiles) with
        which all four rows fit the panel's height."""
        n = max(self._n_learned, 1)
        k = self._kernels.shape[-1] if self._kernels is not None else 3
        width = max(self.graphics.width() - 8, 50)
        room = self.graphics.height() - 8 - 4 * (MosaicItem.HEADER_HEIGHT + 4)
        fixed = width * (self.hand_kernels.aspect() + self.hand_maps.aspect())
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            tall = sum((rows * (t + 1) - 1) / (cols * (t + 1) - 1) for t in (k, 28))
            if fixed + width * tall <= room:
                return cols
        return n

    def _fit_rows(self) -> None:
        """Each row as tall as its image is at the panel's width, the learned grids as large
        as the height allows, all shrunk alike when they do not fit: no row floats in a band
        of empty space and none is left below."""
        cols = self._learned_cols()
        if cols != self._cols:
            self._cols = cols
            if self._kernels is not None:
                self.learned_kernels.show_image(viz.tile(self._kernels, cols=cols),
                                                viz.symmetric_levels(self._kernels), True)
            self._draw_learned_maps()
        items = self._mosaics()
        width = max(self.graphics.width() - 8, 50)
        room = self.graphics.height() - 8 - len(items) * (MosaicItem.HEADER_HEIGHT + 4)
        heights = [width * item.aspect() for item in items]
        scale = min(1.0, max(room, 40) / max(sum(heights), 1.0))
        layout = self.graphics.ci.layout
        for i, h in enumerate(heights):
            layout.setRowFixedHeight(2 * i + 1, max(12.0, h * scale))

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self._fit_rows()

    def set_input(self, img: np.ndarray | None) -> None:
        self._input = img
        if not on_screen(self):
            self._stale = True  # a hidden tab costs nothing while drawing
            return
        if img is None:
            img = np.zeros((28, 28), np.float32)
        maps = viz.apply_hand_filters(img)
        stack = np.stack(list(maps.values()))
        self.hand_maps.set_data(stack, per_channel=True, cols=len(stack))

    def set_activations(self, acts) -> None:
        self._acts = acts
        if not on_screen(self):
            self._stale = True
            return
        self._draw_learned_maps()

    def _draw_learned_maps(self) -> None:
        a = None
        if self._acts is not None:
            a = dict(self._acts).get(self._first_conv)
        if a is None:
            a = np.zeros((max(self._n_learned, 1), 28, 28), np.float32)
        else:
            a = a[0]
        self.learned_maps.set_data(a, per_channel=True, cols=self._cols or None, aspect=8.0)

    def refresh(self) -> None:
        """Catch up after being hidden (connected to the dock's visibilityChanged)."""
        if self._stale and on_screen(self):
            self._stale = False
            self.set_input(self._input)
            self.set_activations(self._acts)

    def showEvent(self, ev):
        super().showEvent(ev)
        self.refresh()

    def _mosaics(self):
        return [self.hand_kernels, self.hand_maps, self.learned_kernels, self.learned_maps]

    def apply_theme(self, background, foreground) -> None:
        self.graphics.setBackground(background)
        for item in self._mosaics():
            item.set_title_color(foreground)
