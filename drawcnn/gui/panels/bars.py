"""The probability bar chart: a pyqtgraph plot of ten bars in [0, 1] with their values.

Cheap per mouse move (a BarGraphItem rebuilt its QPicture on every ``setOpts`` and the plot
cost ~1.3 ms a move): the ranges, ticks and titles are set once (no auto-range, no mouse),
the axes are redrawn from pixmaps, and the bars, their value texts and the grid are ONE item
(:class:`Bars`) with a fixed bounding rectangle, painted from ten heights, colours and texts
laid out once per text (QStaticText). An update is new numbers and a repaint request for the
item's area that joins the window's next repaint (:meth:`Bars.repaint_now`).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QStaticText, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

from .. import theme
from .mosaic import opaque_view

X_RANGE = (-0.6, 9.6)  # digit units: half a bar's room either side of 0 and 9
Y_TOP = 1.16  # probability units: room for a value over a full bar
Y_TICKS = ((0.0, "0"), (0.5, "50%"), (1.0, "100%"))
BAR_WIDTH = 0.7
BASE = QColor("#7f8fa6")  # as probabilities.BASE


class Bars(pg.GraphicsObject):
    """Ten bars at x = 0..9 (data units) with a short text above each, in one paint call.

    The bounding rectangle is the plot's whole (fixed) range, so neither a new height nor a
    new text changes the item's geometry: no scene index or view bookkeeping per update.
    """

    def __init__(self, foreground: QColor):
        super().__init__()
        self.heights = [0.0] * 10
        self.colours = [QColor(BASE)] * 10
        self.texts = [""] * 10
        self.pen = self.grid = QPen()
        self.set_color(foreground)
        self.font = QFont()
        self.font.setPointSizeF(8.0)
        self._static: dict[str, tuple] = {}  # text -> (QStaticText, width, height)
        self._rect = QRectF(X_RANGE[0], 0.0, X_RANGE[1] - X_RANGE[0], Y_TOP)

    def set_bars(self, heights, colours=None) -> None:
        self.heights = [min(max(float(h), 0.0), 1.0) for h in heights]
        if colours is not None:
            self.colours = [QColor(c) for c in colours]
        self.repaint_now()

    def set_texts(self, texts) -> None:
        self.texts = [str(t) for t in texts]
        self.repaint_now()

    def repaint_now(self) -> None:
        """Ask the view(s) to repaint this item's area in the window's next repaint, with
        the other panels. (``update()`` marks the item dirty in the scene, which tells the
        view only later, from a queued call: a second repaint of the window per mouse move
        in ``bench --gui``.) The item caches nothing, so the view's repaint paints the new
        bars."""
        scene = self.scene()
        views = scene.views() if scene is not None else []
        for view in views:
            rect = view.mapFromScene(self.sceneBoundingRect()).boundingRect()
            view.viewport().update(rect.adjusted(-1, -1, 1, 1))
        if not views:
            self.update()

    def set_color(self, foreground) -> None:
        """Outlines and the grid in the theme's foreground (the grid faint)."""
        self.pen = QPen(QColor(foreground), 0)  # cosmetic: 1 px whatever the scale
        faint = QColor(foreground)
        faint.setAlphaF(0.2)
        self.grid = QPen(faint, 0)
        self.update()

    def bar_rect(self, i: int) -> QRectF:
        """Bar ``i`` in data units (x: digit, y: probability)."""
        return QRectF(i - BAR_WIDTH / 2, 0.0, BAR_WIDTH, self.heights[i])

    def _text(self, text: str) -> tuple[QStaticText, float, float]:
        got = self._static.get(text)
        if got is None:
            st = QStaticText(text)
            st.prepare(QTransform(), self.font)
            size = st.size()
            got = self._static[text] = (st, size.width(), size.height())
        return got

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, p: QPainter, *_):
        tr = p.transform()  # data -> view pixels (y flipped): the bars drawn in pixels
        p.resetTransform()  # keep their edges on whole pixels and the texts unscaled
        p.setRenderHint(QPainter.Antialiasing, False)
        left, right = tr.map(QPointF(X_RANGE[0], 0.0)).x(), tr.map(QPointF(X_RANGE[1], 0.0)).x()
        p.setPen(self.grid)  # the grid behind the bars (the left axis's grid would hide
        for y, _ in Y_TICKS[1:]:  # its "0": its texts must then fit the plot's rectangle)
            at = round(tr.map(QPointF(0.0, y)).y())
            p.drawLine(QPointF(left, at), QPointF(right, at))
        p.setPen(self.pen)
        tops = []
        for i, colour in enumerate(self.colours):
            r = tr.mapRect(self.bar_rect(i)).toRect()
            if r.height() > 0:
                p.fillRect(r, colour)
                p.drawRect(r)
            else:  # a flat line at 0
                p.drawLine(r.bottomLeft(), r.bottomRight())
            tops.append((r.center().x(), r.top()))
        p.setFont(self.font)
        ceiling = tr.map(QPointF(0.0, Y_TOP)).y()  # texts stay inside the item (no clip)
        for (x, y), text in zip(tops, self.texts, strict=True):
            if text:
                st, w, h = self._text(text)
                p.drawStaticText(QPointF(x - w / 2, max(y - h - 1, ceiling)), st)


class BarChart(pg.PlotWidget):
    """Ten probability bars with their values: ``set_bars(heights, colours)``,
    ``set_texts(texts)``; ``set_colors(background, foreground)`` restyles it (the panel
    calls it from its ``apply_theme``)."""

    def __init__(self, x_label: str = "digit", y_label: str = "probability",
                 background: QColor | None = None, foreground: QColor | None = None,
                 parent=None):
        bg, fg = theme.plot_colors()
        bg = QColor(background if background is not None else bg)
        fg = QColor(foreground if foreground is not None else fg)
        super().__init__(parent, background=bg)
        self.setObjectName("probability_bars")
        opaque_view(self)
        self.setAntialiasing(False)  # axis-aligned rectangles and lines: nothing to smooth
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        item = self.getPlotItem()
        vb = item.getViewBox()
        vb.disableAutoRange()
        vb.setRange(xRange=X_RANGE, yRange=(0, Y_TOP), padding=0)
        self.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        self.getAxis("left").setTicks([list(Y_TICKS)])
        self.setLabel("bottom", x_label)
        self.setLabel("left", y_label)
        self.x_label, self.y_label = x_label, y_label
        for name in ("left", "bottom"):  # ticks and texts: pixmaps between resizes
            axis = self.getAxis(name)
            axis.setStyle(tickLength=4)  # outwards, towards the texts
            axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        # Per repaint: a background fill (no cached copy to blit), no clip to the view's shape
        # (the bars stay inside the fixed range), no call to the view box's empty paint.
        self.setCacheMode(QGraphicsView.CacheNone)
        vb.setFlag(QGraphicsItem.ItemClipsChildrenToShape, False)
        vb.setFlag(QGraphicsItem.ItemHasNoContents, True)
        self.bars = Bars(fg)
        self.addItem(self.bars)
        theme.style_plot(self, bg, fg)

    def set_bars(self, heights, colours=None) -> None:
        self.bars.set_bars(heights, colours)

    def set_texts(self, texts) -> None:
        self.bars.set_texts(texts)

    def set_colors(self, background, foreground) -> None:
        theme.style_plot(self, background, foreground)
        self.bars.set_color(foreground)

    def bar_pixels(self, i: int) -> QRectF:
        """Where bar ``i`` is on screen, in this view's pixels."""
        return self.mapFromScene(self.bars.mapToScene(self.bars.bar_rect(i))).boundingRect()

