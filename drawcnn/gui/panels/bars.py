"""The probability bar chart: ten bars with their values, painted by hand on one widget.

It replaced a pyqtgraph PlotWidget that cost ~1.3 ms per mouse move (scene bookkeeping, a
second repaint of the window per frame, Python callbacks while painting): the axes, grid
and titles are drawn once into a pixmap per size and theme; a frame draws that pixmap, the
ten bars and their labels.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPen,
    QPixmap,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QWidget

X_RANGE = (-0.6, 9.6)  # digit units: half a bar's room either side of 0 and 9
Y_TOP = 1.16  # probability units: room for a value over a full bar
Y_TICKS = ((0.0, "0"), (0.5, "50%"), (1.0, "100%"))
BAR_WIDTH = 0.7


class BarChart(QWidget):
    """``set_bars(heights, colours)`` and ``set_labels(texts)``: ten bars in [0, 1], each
    with a short text above it; ``x_label`` / ``y_label`` name the axes."""

    def __init__(self, x_label: str = "digit", y_label: str = "probability",
                 background: QColor | None = None, foreground: QColor | None = None,
                 parent=None):
        super().__init__(parent)
        self.setObjectName("probability_bars")
        self.setAttribute(Qt.WA_OpaquePaintEvent, True)  # every pixel painted: no parent
        self.x_label, self.y_label = x_label, y_label
        self.background = QColor(background if background is not None else "#fcfcfa")
        self.foreground = QColor(foreground if foreground is not None else "#282828")
        self.heights = [0.0] * 10
        self.colours = [QColor("#7f8fa6")] * 10
        self.texts = [""] * 10
        self.font = QFont()
        self.font.setPointSizeF(9.0)
        self.value_font = QFont()
        self.value_font.setPointSizeF(8.0)
        self._margin_px: tuple | None = None
        self._texts: dict[str, tuple] = {}  # value text -> (QStaticText, width, height)
        self._frame: QPixmap | None = None  # axes, grid, titles for (size, colours)
        self._frame_key = None

    # ------------------------------------------------------------------ data
    def set_bars(self, heights, colours=None) -> None:
        self.heights = [min(max(float(h), 0.0), 1.0) for h in heights]
        if colours is not None:
            self.colours = [QColor(c) for c in colours]
        self.update(self._plot_rect().toAlignedRect())

    def set_labels(self, texts) -> None:
        self.texts = [str(t) for t in texts]
        self.update(self._plot_rect().toAlignedRect())

    def set_colors(self, background, foreground) -> None:
        self.background, self.foreground = QColor(background), QColor(foreground)
        self.update()

    # ------------------------------------------------------------------ geometry
    def _margins(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) pixels around the plot area: tick texts and titles."""
        if self._margin_px is None:
            fm = QFontMetricsF(self.font)
            left = fm.height() + 6 + fm.horizontalAdvance("100%") + 8
            self._margin_px = (left, 6.0, 8.0, 2 * fm.height() + 10)
        return self._margin_px

    def _plot_rect(self) -> QRectF:
        left, top, right, bottom = self._margins()
        return QRectF(left, top, max(1.0, self.width() - left - right),
                      max(1.0, self.height() - top - bottom))

    def _text(self, text: str) -> tuple[QStaticText, float, float]:
        """A value's text laid out once (QStaticText), with its width and height."""
        got = self._texts.get(text)
        if got is None:
            st = QStaticText(text)
            st.prepare(QTransform(), self.value_font)
            size = st.size()
            got = self._texts[text] = (st, size.width(), size.height())
        return got

    def _to_px(self, area: QRectF, x: float, y: float) -> QPointF:
        x0, x1 = X_RANGE
        return QPointF(area.left() + (x - x0) / (x1 - x0) * area.width(),
                       area.bottom() - y / Y_TOP * area.height())

    def bar_rect(self, i: int, area: QRectF | None = None) -> QRectF:
        """Where bar ``i`` is drawn, in widget pixels (empty at height 0)."""
        area = self._plot_rect() if area is None else area
        a = self._to_px(area, i - BAR_WIDTH / 2, self.heights[i])
        b = self._to_px(area, i + BAR_WIDTH / 2, 0.0)
        return QRectF(a, b)

    # ------------------------------------------------------------------ painting
    def _static(self) -> QPixmap:
        dpr = self.devicePixelRatioF()
        key = (self.width(), self.height(), dpr, self.background.rgba(), self.foreground.rgba())
        if self._frame is not None and self._frame_key == key:
            return self._frame
        pix = QPixmap(round(self.width() * dpr), round(self.height() * dpr))
        pix.setDevicePixelRatio(dpr)
        pix.fill(self.background)
        p = QPainter(pix)
        p.setRenderHint(QPainter.Antialiasing)
        p.setFont(self.font)
        fm = QFontMetricsF(self.font)
        area = self._plot_rect()
        grid = QColor(self.foreground)
        grid.setAlphaF(0.2)
        fg = QPen(self.foreground, 1)
        for y, text in Y_TICKS:  # grid line, tick and its text
            at = self._to_px(area, 0.0, y).y()
            if y > 0:
                p.setPen(QPen(grid, 1))
                p.drawLine(QPointF(area.left(), at), QPointF(area.right(), at))
            p.setPen(fg)
            p.drawLine(QPointF(area.left() - 4, at), QPointF(area.left(), at))
            p.drawText(QRectF(0, at - fm.height() / 2, area.left() - 7, fm.height()),
                       Qt.AlignRight | Qt.AlignVCenter, text)
        for i in range(10):
            at = self._to_px(area, float(i), 0.0).x()
            p.drawLine(QPointF(at, area.bottom()), QPointF(at, area.bottom() + 4))
            p.drawText(QRectF(at - 10, area.bottom() + 5, 20, fm.height()), Qt.AlignCenter,
                       str(i))
        p.drawLine(area.bottomLeft(), area.bottomRight())
        p.drawLine(area.bottomLeft(), area.topLeft())
        p.drawText(QRectF(area.left(), area.bottom() + 5 + fm.height(), area.width(),
                          fm.height() + 4), Qt.AlignCenter, self.x_label)
        p.save()  # the y title, rotated
        p.translate(2, area.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-area.height() / 2, 0, area.height(), fm.height() + 2),
                   Qt.AlignCenter, self.y_label)
        p.restore()
        p.end()
        self._frame, self._frame_key = pix, key
        return pix

    def paintEvent(self, ev):
        p = QPainter(self)
        p.drawPixmap(0, 0, self._static())
        area = self._plot_rect()
        p.setClipRect(area.adjusted(0, -area.top(), 0, 0))
        p.setPen(QPen(self.foreground, 1))  # outlines; a flat line at 0
        bars = [self.bar_rect(i, area) for i in range(10)]
        for r, colour in zip(bars, self.colours, strict=True):
            if r.height() > 0.5:
                p.fillRect(r, colour)
                p.drawRect(r)
            else:
                p.drawLine(r.bottomLeft(), r.bottomRight())
        p.setFont(self.value_font)
        for r, text in zip(bars, self.texts, strict=True):
            if text:
                st, w, h = self._text(text)
                p.drawStaticText(QPointF(r.center().x() - w / 2, r.top() - h - 1), st)
        p.end()
