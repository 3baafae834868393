"""A titled, aspect-locked image of many channels: ONE pyqtgraph ImageItem per layer.

Shared by the feature-map, filter and edge-filter panels. Values are mapped with a diverging
blue-white-red map symmetric around 0 when the data has negatives, else a sequential map
from 0 to the maximum.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ... import viz

DIVERGING = viz.diverging_lut()
SEQUENTIAL = viz.sequential_lut()


def prepare(data: np.ndarray, per_channel: bool = False, aspect: float = 4.0,
            cols: int | None = None) -> tuple[np.ndarray, tuple[float, float], bool]:
    """(mosaic, levels, diverging) for a (C,H,W) stack or a (D,) vector."""
    a = np.asarray(data, dtype=np.float32)
    if a.ndim == 1:
        img = viz.strip(a, width=min(a.size, 64) if cols is None else cols)
    else:
        if per_channel:
            a = viz.normalize_channels(a)
        img = viz.tile(a, cols=cols, aspect=aspect)
    levels, diverging = viz.auto_levels(img)
    return img, levels, diverging


class MosaicItem:
    """A ViewBox holding one ImageItem, with a title LabelItem above it (both in a layout)."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, title: str, col: int = 0):
        self.title = pg.LabelItem(title, justify="left", size="9pt")
        layout.addItem(self.title, row=row, col=col)
        self.view = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False,
                               enableMenu=False, defaultPadding=0.01)
        layout.addItem(self.view, row=row + 1, col=col)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.shape: tuple[int, int] = (1, 1)
        self.mosaic: np.ndarray | None = None

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def set_data(self, data: np.ndarray | None, per_channel: bool = False,
                 aspect: float = 4.0, cols: int | None = None) -> None:
        if data is None:
            self.image.clear()
            self.mosaic = None
            return
        img, levels, diverging = prepare(data, per_channel, aspect, cols)
        self.show_image(img, levels, diverging)

    def show_image(self, img: np.ndarray, levels, diverging: bool) -> None:
        self.mosaic = img
        first = self.shape != img.shape
        self.image.setImage(img, levels=levels, lut=DIVERGING if diverging else SEQUENTIAL,
                            autoLevels=False)
        if first:
            self.shape = img.shape
            self.view.setRange(xRange=(0, img.shape[1]), yRange=(0, img.shape[0]), padding=0.01)

    def aspect(self) -> float:
        """height / width of the current mosaic."""
        h, w = self.shape
        return h / max(w, 1)
