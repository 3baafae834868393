"""Hand-set filters (Sobel, Laplacian, ...) on the user's drawing, next to what the learned
first-layer filters produce on the same 28x28 input.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import viz
from .mosaic import MosaicItem, on_screen


class EdgeFiltersPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("edge_filters")
        self.graphics = pg.GraphicsLayoutWidget()
        ci = self.graphics.ci
        self.hand_names = list(viz.HAND_FILTERS)
        kernels = np.stack([viz.HAND_FILTERS[n] for n in self.hand_names])
        self.hand_kernels = MosaicItem(ci, 0, "<b>Hand-set kernels</b>: "
                                       + " · ".join(self.hand_names))
        self.hand_kernels.show_image(viz.tile(kernels, cols=len(kernels), sep=1),
                                     viz.symmetric_levels(kernels), True)
        self.hand_maps = MosaicItem(ci, 2, "<b>…on your drawing</b> (+ Sobel magnitude)")
        self.learned_kernels = MosaicItem(ci, 4, "<b>Learned conv1 kernels</b>")
        self.learned_maps = MosaicItem(ci, 6, "<b>…on your drawing</b> (conv1 output)")
        self.note = QLabel("Each map is scaled on its own; blue negative, red positive.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.note)
        self._first_conv = "conv1"
        self._n_learned = 0
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
        kernels = w[:, 0] if w.shape[1] == 1 else w.mean(axis=1)
        self.learned_kernels.set_title(f"<b>Learned {name} kernels</b> ({w.shape[0]})")
        self.learned_kernels.show_image(viz.tile(kernels, aspect=8.0),
                                        viz.symmetric_levels(kernels), True)

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
        a = None
        if acts is not None:
            a = dict(acts).get(self._first_conv)
        if a is None:
            a = np.zeros((max(self._n_learned, 1), 28, 28), np.float32)
        else:
            a = a[0]
        self.learned_maps.set_data(a, per_channel=True, aspect=8.0)

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
