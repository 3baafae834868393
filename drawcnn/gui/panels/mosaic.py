"""A titled, aspect-locked image of many channels: ONE pyqtgraph ImageItem per layer.

Shared by the feature-map, filter and edge-filter panels. Values are mapped with a diverging
blue-white-red map symmetric around 0 when the data has negatives, else a sequential map
from 0 to the maximum.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from . import viz

DIVERGING = viz.diverging_lut()
SEQUENTIAL = viz.sequential_lut()
# As one uint32 per colour: indexing moves 4 bytes at once (4x fewer gathers than RGBA rows).
_LUTS = {k: np.ascontiguousarray(viz.with_transparent(lut)).view(np.uint32).ravel()
         for k, lut in ((True, DIVERGING), (False, SEQUENTIAL))}
GAP = len(DIVERGING)  # index of the transparent entry


def prepare(data: np.ndarray, per_channel: bool = False, aspect: float = 4.0,
            cols: int | None = None) -> tuple[np.ndarray, tuple[float, float], bool]:
    """(RGBA mosaic, levels, diverging) for a (C,H,W) stack or a (D,) vector.

    Values are mapped to colours before tiling (no NaN gaps to step around), and the gaps
    get a transparent colour, so a frame costs a few vectorised NumPy operations.
    """
    a = np.asarray(data, dtype=np.float32)
    if per_channel and a.ndim == 3:
        a = viz.normalize_channels(a)
    levels, diverging = viz.auto_levels(a)
    idx = viz.to_index(a, levels, GAP)
    if idx.ndim == 1:
        width = min(idx.size, 64) if cols is None else cols
        tiled = viz.tile(idx.reshape(-1, 1, 1), cols=width, sep=0, fill=GAP, dtype=np.uint16)
    else:
        tiled = viz.tile(idx, cols=cols, aspect=aspect, fill=GAP, dtype=np.uint16)
    rgba = _LUTS[diverging][tiled].view(np.uint8).reshape(*tiled.shape, 4)
    return rgba, levels, diverging


def on_screen(widget) -> bool:
    """True when any part of ``widget`` can be seen (a dock in a background tab cannot)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


class MosaicItem:
    """A ViewBox holding one ImageItem, with a title LabelItem above it (both in a layout)."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, title: str, col: int = 0):
        self.title = pg.LabelItem(title, justify="left", size="9pt")
        self._title_text = title
        self._color = None
        layout.addItem(self.title, row=row, col=col)
        self.view = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False,
                               enableMenu=False, defaultPadding=0.01)
        layout.addItem(self.view, row=row + 1, col=col)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.shape: tuple[int, int] = (1, 1)
        self.mosaic: np.ndarray | None = None
        self.stale = False  # True when the data changed but was not drawn (out of view)

    def set_title(self, text: str) -> None:
        self._title_text = text
        if self._color is None:
            self.title.setText(text)
        else:
            self.title.setText(text, color=self._color)

    def set_title_color(self, color) -> None:
        self._color = color
        self.set_title(self._title_text)

    def set_data(self, data: np.ndarray | None, per_channel: bool = False,
                 aspect: float = 4.0, cols: int | None = None) -> None:
        if data is None:
            self.image.clear()
            self.mosaic = None
            return
        rgba, levels, diverging = prepare(data, per_channel, aspect, cols)
        self._set_rgba(rgba, levels, diverging)

    def show_image(self, img: np.ndarray, levels, diverging: bool) -> None:
        """Show a ready (H, W) float mosaic (NaN gaps) with the given levels."""
        rgba = viz.colorize(img, levels, DIVERGING if diverging else SEQUENTIAL)
        self._set_rgba(rgba, levels, diverging)

    def _set_rgba(self, rgba: np.ndarray, levels, diverging: bool) -> None:
        # Ready RGBA bytes: much cheaper per frame than pyqtgraph's float + LUT path.
        self.mosaic = rgba
        self.levels, self.diverging = levels, diverging
        img = rgba
        first = self.shape != img.shape[:2]
        self.image.setImage(rgba, levels=(0, 255), autoLevels=False)
        if first:
            self.shape = img.shape[:2]
            self.view.setRange(xRange=(0, img.shape[1]), yRange=(0, img.shape[0]), padding=0.01)

    def aspect(self) -> float:
        """height / width of the current mosaic."""
        h, w = self.shape
        return h / max(w, 1)
