"""A titled, aspect-locked image of many channels: ONE pyqtgraph ImageItem per layer.

Shared by the feature-map, filter and edge-filter panels. Values are mapped with a diverging
blue-white-red map symmetric around 0 when the data has negatives, else a sequential map
from 0 to the maximum. A small colour bar beside the title gives the scale; the levels snap to
round numbers (``viz.nice_levels``), so the bar is repainted only when the range crosses one,
not on every mouse move.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QStaticText, QTransform
from PySide6.QtWidgets import QGraphicsItem

from . import viz
from .help_texts import DIVERGING_LEGEND, SEQUENTIAL_LEGEND

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
    get a transparent colour; the tiling itself is one gather through a layout map cached
    per shape (:func:`_layout`), so a frame costs a few vectorised NumPy operations.
    """
    a = np.asarray(data, dtype=np.float32)
    if per_channel and a.ndim == 3:
        a = viz.normalize_channels(a)
    levels, diverging = viz.auto_levels(a)
    levels = viz.nice_levels(levels)
    # viz.to_index in fewer passes: scale in place, truncate, and let take() clamp to 0..GAP-1
    lo, hi = levels
    t = np.subtract(a, np.float32(lo), dtype=np.float32)
    t *= np.float32((GAP - 1) / (hi - lo if hi > lo else 1.0))
    lut = _LUTS[diverging]
    colours = np.empty(a.size + 1, np.uint32)  # every value's colour, then the gap's
    np.take(lut[:GAP], t.astype(np.intp).ravel(), out=colours[:-1], mode="clip")
    colours[-1] = lut[GAP]
    where = _layout(a.shape, aspect, cols)
    rgba = colours[where].view(np.uint8).reshape(*where.shape, 4)
    return rgba, levels, diverging


_LAYOUTS: dict[tuple, np.ndarray] = {}


def _layout(shape: tuple, aspect: float, cols: int | None) -> np.ndarray:
    """For each mosaic pixel, the flat index of the value it shows (``size``: a gap); the
    same layout ``viz.tile`` gives, computed once per shape."""
    key = (shape, aspect, cols)
    where = _LAYOUTS.get(key)
    if where is None:
        n = int(np.prod(shape))
        ids = np.arange(n, dtype=np.intp)
        if len(shape) == 1:
            width = min(n, 64) if cols is None else cols
            where = viz.tile(ids.reshape(-1, 1, 1), cols=width, sep=0, fill=n, dtype=np.intp)
        else:
            where = viz.tile(ids.reshape(shape), cols=cols, aspect=aspect, fill=n,
                             dtype=np.intp)
        if len(_LAYOUTS) >= 64:  # networks come and go; layouts are cheap to remake
            _LAYOUTS.clear()
        _LAYOUTS[key] = where
    return where


def opaque_view(view: pg.GraphicsView) -> pg.GraphicsView:
    """Mark a view that paints its whole area (an opaque background brush) as opaque: a
    repaint of its scene then skips painting the dock, panel and window beneath it."""
    view.viewport().setAttribute(Qt.WA_OpaquePaintEvent, True)
    return view


def _lut_image(lut: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(lut[None, :, :4])
    return QImage(rgba.data, rgba.shape[1], 1, rgba.shape[1] * 4,
                  QImage.Format_RGBA8888).convertToFormat(QImage.Format_ARGB32_Premultiplied)


class ColorBar(pg.GraphicsWidget):
    """A small horizontal colour bar: low end, the colour ramp, high end (0 ticked when the
    map is diverging). Painted by hand (a few rectangles and two texts) and repainted only
    when :meth:`set_levels` gets a different range."""

    WIDTH, HEIGHT, TEXT = 150, 16, 40
    _ramps: dict = {}

    def __init__(self, width: int = WIDTH):
        super().__init__()
        self.width_px = width
        self.text_px = min(self.TEXT, max(24, width // 3))
        self.setMinimumSize(width, self.HEIGHT)
        self.setMaximumSize(width, self.HEIGHT)
        self.levels: tuple[float, float] | None = None
        self.diverging = True
        self.relative = False
        self.color = QColor(pg.mkColor(pg.getConfigOption("foreground")))
        self.font = QFont()
        self.font.setPointSizeF(7.5)
        self.repaints = 0
        # Repainted with its neighbours on every frame: blit a cached picture instead.
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)

    def labels(self) -> tuple[str, str]:
        if self.levels is None:
            return "", ""
        if self.relative:  # each channel scaled to its own maximum
            return ("−max" if self.diverging else "0"), "max"
        return viz.format_level(self.levels[0]), viz.format_level(self.levels[1])

    def set_levels(self, levels, diverging: bool, relative: bool = False) -> bool:
        """Show ``levels``; False (and no repaint) when nothing changed."""
        new = (float(levels[0]), float(levels[1]))
        if new == self.levels and diverging == self.diverging and relative == self.relative:
            return False
        self.levels, self.diverging, self.relative = new, bool(diverging), bool(relative)
        scale = "each channel scaled to its own maximum" if relative else \
            f"from {self.labels()[0]} to {self.labels()[1]}"
        self.setToolTip(f"{DIVERGING_LEGEND if diverging else SEQUENTIAL_LEGEND} ({scale})")
        self.repaints += 1
        self.update()
        return True

    def set_color(self, color) -> None:
        self.color = QColor(pg.mkColor(color))
        self.update()

    def paint(self, p, *_):
        if self.levels is None:
            return
        ramps = ColorBar._ramps
        if not ramps:
            ramps[True], ramps[False] = _lut_image(DIVERGING), _lut_image(SEQUENTIAL)
        w, h, t = self.width_px, self.HEIGHT, self.text_px
        bar = QRectF(t + 3, 3, w - 2 * t - 6, h - 6)
        p.drawImage(bar, ramps[self.diverging])
        p.setPen(self.color)
        p.drawRect(bar)
        if self.diverging:
            mid = bar.center().x()
            p.drawLine(mid, bar.bottom(), mid, h)
        p.setFont(self.font)
        lo, hi = self.labels()
        p.drawText(QRectF(0, 0, t, h), Qt.AlignRight | Qt.AlignVCenter, lo)
        p.drawText(QRectF(w - t, 0, t, h), Qt.AlignLeft | Qt.AlignVCenter, hi)


class RGBAImageItem(pg.ImageItem):
    """An ImageItem for ready RGBA bytes whose transparent pixels are all zero (the mosaics):
    converted once per frame, at the data's size, to the painter's native premultiplied
    ARGB32. Qt draws that scaled several times faster than the RGBA8888 image pyqtgraph would
    wrap (measured: 7 feature-map mosaics 3.0 ms -> 0.5 ms per repaint)."""

    def render(self):
        a = self.image
        if a is None or a.ndim != 3 or a.shape[2] != 4 or a.dtype != np.uint8 \
                or self.levels is not None or self.lut is not None:
            return super().render()
        a = np.ascontiguousarray(a)
        h, w = a.shape[:2]
        src = QImage(a.data, w, h, w * 4, QImage.Format_RGBA8888_Premultiplied)
        self.qimage = src.convertToFormat(QImage.Format_ARGB32_Premultiplied)  # a copy
        self._renderRequired = False
        self._unrenderable = False

    def show_rgba(self, rgba: np.ndarray) -> None:
        """``setImage(rgba)``; a frame of the shape already shown skips pyqtgraph's general
        bookkeeping (bounds, levels, signals): it only needs a new picture."""
        if self.image is None or self.image.shape != rgba.shape or self.levels is not None \
                or self.lut is not None or not hasattr(self, "_renderRequired"):
            self.setImage(rgba, autoLevels=False)
            return
        self.image = rgba
        self._renderRequired = True
        self.update()


class Labels(pg.GraphicsObject):
    """Short texts at data positions, all painted in one ``paint`` call at a fixed pixel size
    (one QGraphicsTextItem per label cost ~0.1 ms each per repaint: too much per mouse move).

    ``anchor`` is where the point sits on the text box ((0.5, 1): bottom centre). ``boxed``
    draws dark text on a pale box (over an image); else the text has the ``color`` given.
    """

    PAD = 2

    def __init__(self, anchor=(0.5, 0.5), boxed: bool = False, color=None, point_size=8.0):
        super().__init__()
        self.anchor, self.boxed = anchor, boxed
        self.color = QColor(pg.mkColor(color if color is not None
                                       else pg.getConfigOption("foreground")))
        self.font = QFont()
        self.font.setPointSizeF(point_size)
        self.texts: list[str] = []
        self.points: list[tuple[float, float]] = []
        self._static: list = []
        self._cache: dict[str, tuple] = {}
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)  # see ColorBar
    def set_labels(self, texts, points) -> None:
        self.texts = [str(t) for t in texts]
        self.points = [(float(x), float(y)) for x, y in points]
        self._static = [self._layout(t) for t in self.texts]
        if len(self._cache) > 512:
            self._cache.clear()
        self.prepareGeometryChange()
        self.update()

    def _layout(self, text: str):
        """(QStaticText, width, height) laid out once per text: drawing it is then cheap."""
        if text not in self._cache:
            st = QStaticText(text)
            st.prepare(QTransform(), self.font)
            size = st.size()
            self._cache[text] = (st, size.width() + 2 * self.PAD, size.height())
        return self._cache[text]

    def set_color(self, color) -> None:
        self.color = QColor(pg.mkColor(color))
        self.update()

    def boundingRect(self) -> QRectF:
        vb = self.getViewBox()  # texts reach beyond their points by a size set in pixels
        return vb.viewRect() if vb is not None else QRectF()

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()  # the bounding rect is the view's range

    def paint(self, p, *_):
        if not self.texts:
            return
        tr = p.transform()
        p.resetTransform()
        p.setFont(self.font)
        ax, ay = self.anchor
        boxes = []
        for text, (x, y), (st, w, h) in zip(self.texts, self.points, self._static, strict=True):
            if text:
                at = tr.map(QPointF(x, y))
                boxes.append((st, QRectF(at.x() - ax * w, at.y() - ay * h, w, h)))
        if self.boxed:
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(255, 255, 255, 200))
            for _, box in boxes:
                p.drawRect(box)
            p.setPen(QColor(20, 20, 20))
        else:
            p.setPen(self.color)
        for st, box in boxes:
            p.drawStaticText(QPointF(box.x() + self.PAD, box.y()), st)


class MosaicItem:
    """A ViewBox holding one ImageItem, with a header above it (in a pyqtgraph layout): a
    title LabelItem carrying a :class:`ColorBar` at its right end (a child item, not a
    nested layout: layouts cost Python calls on every repaint)."""

    HEADER_HEIGHT = 22

    def __init__(self, layout: pg.GraphicsLayout, row: int, title: str, col: int = 0,
                 bar_width: int = ColorBar.WIDTH):
        self.title = pg.LabelItem(title, justify="left", size="9pt")
        self.title.setMaximumHeight(self.HEADER_HEIGHT)  # the image gets the rest
        self.title.item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)  # text: a pixmap
        layout.addItem(self.title, row=row, col=col)
        self.colorbar = ColorBar(bar_width)
        self.colorbar.setParentItem(self.title)
        self.colorbar.resize(bar_width, ColorBar.HEIGHT)
        self.title.geometryChanged.connect(self._place_bar)
        self._title_text = title
        self._color = None
        self.captions: Labels | None = None
        self.caption_room = 0.0  # data units kept free above the image for captions
        self.view = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False,
                               enableMenu=False, defaultPadding=0.01)
        layout.addItem(self.view, row=row + 1, col=col)
        self.image = RGBAImageItem()
        self.view.addItem(self.image)
        self.shape: tuple[int, int] = (1, 1)
        self.mosaic: np.ndarray | None = None
        self.stale = False  # True when the data changed but was not drawn (out of view)

    def _place_bar(self) -> None:
        r = self.title.rect()
        self.colorbar.setPos(r.width() - self.colorbar.width_px - 2,
                             (r.height() - ColorBar.HEIGHT) / 2)

    def set_title(self, text: str) -> None:
        self._title_text = text
        if self._color is None:
            self.title.setText(text)
        else:
            self.title.setText(text, color=self._color)

    def set_title_color(self, color) -> None:
        self._color = color
        self.set_title(self._title_text)
        self.colorbar.set_color(color)
        if self.captions is not None and not self.captions.boxed:
            self.captions.set_color(color)

    def set_captions(self, texts, positions, anchor=(0.5, 0.5), room: float = 0.0,
                     inside: bool = True) -> None:
        """Fixed labels at data ``positions`` (tile names, digits). ``inside``: drawn over the
        image (dark text on a pale box); else on the background in the title colour, with
        ``room`` data units kept free above the image for them."""
        if self.captions is not None:
            self.view.removeItem(self.captions)
        self.captions = Labels(anchor, boxed=inside,
                               color=self._color or self.colorbar.color)
        self.captions.setZValue(10)
        self.captions.set_labels(texts, positions)
        self.view.addItem(self.captions)
        if room != self.caption_room:
            self.caption_room = room
            self._fit_range()

    def caption_texts(self) -> list[str]:
        return [] if self.captions is None else list(self.captions.texts)

    def _fit_range(self) -> None:
        h, w = self.shape
        self.view.setRange(xRange=(0, w), yRange=(-self.caption_room, h), padding=0.01)

    def set_data(self, data: np.ndarray | None, per_channel: bool = False,
                 aspect: float = 4.0, cols: int | None = None) -> None:
        if data is None:
            self.image.clear()
            self.mosaic = None
            return
        rgba, levels, diverging = prepare(data, per_channel, aspect, cols)
        self._set_rgba(rgba, levels, diverging, per_channel and np.ndim(data) == 3)

    def show_image(self, img: np.ndarray, levels, diverging: bool) -> None:
        """Show a ready (H, W) float mosaic (NaN gaps) with the given levels (widened to
        round numbers, as the colour bar shows them)."""
        levels = viz.nice_levels(levels)
        rgba = viz.colorize(img, levels, DIVERGING if diverging else SEQUENTIAL)
        self._set_rgba(rgba, levels, diverging)

    def _set_rgba(self, rgba: np.ndarray, levels, diverging: bool,
                  relative: bool = False) -> None:
        # Ready RGBA bytes: much cheaper per frame than pyqtgraph's float + LUT path.
        self.mosaic = rgba
        self.levels, self.diverging = levels, diverging
        img = rgba
        first = self.shape != img.shape[:2]
        self.image.show_rgba(rgba)
        self.colorbar.set_levels(levels, diverging, relative)
        if first:
            self.shape = img.shape[:2]
            self._fit_range()

    def aspect(self) -> float:
        """height / width of the current mosaic (with the room kept for captions)."""
        h, w = self.shape
        return (h + self.caption_room) / max(w, 1)
