"""The drawing canvas: strokes as point lists, painted as smooth anti-aliased ink.

The drawing area is the largest centred square of the widget, so it scales with the window
and stays square. Points are stored in a fixed logical square of ``LOGICAL_SIZE`` units
(independent of the widget size) as (K, 3) arrays of [x, y, pressure]; the model input is
built from those point lists. Internally each point also carries the brush width it was
drawn with, so changing the brush never restyles earlier strokes. Left button or pen draws,
right button (or the eraser tool) erases ink near the pointer; every finished stroke or
erase is one undo step. Finished strokes are painted once into a cached pixmap. The ink
itself (erasing inside strokes, smooth painting) is in ``ink.py``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from .ink import erase_strokes, paint_stroke

LOGICAL_SIZE = 280
MIN_SPACING = 1.5  # logical units between stored points (drops jitter, keeps strokes cheap)


class Canvas(QWidget):
    """Square drawing area. ``strokes_changed`` fires on every change (also mid-stroke)."""

    strokes_changed = Signal()
    history_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(200, 200)
        self.setMouseTracking(True)
        self.setCursor(Qt.CrossCursor)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setAttribute(Qt.WA_OpaquePaintEvent, False)
        self.brush_size = 16.0  # logical units
        self.eraser = False  # tool toggle; the right button erases whatever this says
        self._strokes: list[np.ndarray] = []  # finished strokes
        self._current: list[tuple[float, float, float]] | None = None
        self._erasing = False
        self._erase_changed = False
        self._undo: list[list[np.ndarray]] = []
        self._redo: list[list[np.ndarray]] = []
        self._hover: QPointF | None = None
        self._cache: QPixmap | None = None
        self._cache_key = None
        self.paper = QColor("#fbfaf6")
        self.ink = QColor("#1b1f3a")
        self.frame = QColor("#b9b5aa")

    # ------------------------------------------------------------------ geometry
    def square(self) -> QRectF:
        """The drawing square in widget coordinates."""
        side = min(self.width(), self.height()) - 2
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _scale(self) -> float:
        return self.square().width() / LOGICAL_SIZE

    def to_logical(self, pos: QPointF) -> tuple[float, float]:
        sq = self.square()
        s = self._scale()
        x = (pos.x() - sq.left()) / s
        y = (pos.y() - sq.top()) / s
        return (min(max(x, 0.0), LOGICAL_SIZE), min(max(y, 0.0), LOGICAL_SIZE))

    def to_widget(self, x: float, y: float) -> QPointF:
        """Widget position of a point given in fractions (0..1) of the drawing square."""
        sq = self.square()
        return QPointF(sq.left() + x * sq.width(), sq.top() + y * sq.height())

    # ------------------------------------------------------------------ model
    def strokes(self) -> list[np.ndarray]:
        """Every stroke (the one being drawn included) as (K, 3) [x, y, pressure] arrays."""
        return [s[:, :3] for s in self._all_strokes()]

    def _all_strokes(self) -> list[np.ndarray]:
        """(K, 4) [x, y, pressure, width] arrays, the stroke being drawn included."""
        out = list(self._strokes)
        if self._current:
            out.append(np.asarray(self._current, dtype=np.float64))
        return out

    def is_empty(self) -> bool:
        return not self._strokes and not self._current

    def set_strokes(self, strokes, record: bool = True) -> None:
        if record:
            self._push_undo()
        out = []
        for st in strokes:
            a = np.asarray(st, dtype=np.float64)
            a = a.reshape(-1, a.shape[-1])
            if a.shape[1] == 2:
                a = np.column_stack([a, np.ones(len(a))])
            if a.shape[1] == 3:
                a = np.column_stack([a, np.full(len(a), self.brush_size)])
            out.append(a[:, :4])
        self._strokes = out
        self._changed()

    def clear(self) -> None:
        """Empty the canvas (an undoable step when there was something to clear)."""
        self._current = None
        if self._strokes:
            self._push_undo()
            self._strokes = []
        self._changed()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> None:
        if self._undo and self._current is None:
            self._redo.append(self._strokes)
            self._strokes = self._undo.pop()
            self._changed()

    def redo(self) -> None:
        if self._redo and self._current is None:
            self._undo.append(self._strokes)
            self._strokes = self._redo.pop()
            self._changed()

    def _push_undo(self) -> None:
        self._undo.append(list(self._strokes))
        del self._undo[:-200]
        self._redo.clear()

    def _changed(self) -> None:
        self._cache = None
        self.update()
        self.strokes_changed.emit()
        self.history_changed.emit()

    # ------------------------------------------------------------------ input
    def _begin(self, pos: QPointF, pressure: float, erase: bool) -> None:
        self._erasing = erase
        if erase:
            self._erase_changed = False
            self._push_undo()
            self._erase_at(pos)
        else:
            x, y = self.to_logical(pos)
            self._current = [(x, y, pressure, self.brush_size)]
            self.update()
            self.strokes_changed.emit()

    def _extend(self, pos: QPointF, pressure: float) -> None:
        if self._erasing:
            self._erase_at(pos)
            return
        if self._current is None:
            return
        x, y = self.to_logical(pos)
        px, py = self._current[-1][:2]
        if (x - px) ** 2 + (y - py) ** 2 < MIN_SPACING ** 2:
            return
        self._current.append((x, y, pressure, self.brush_size))
        self.update(self._tail_rect())  # only the new piece of the stroke is repainted
        self.strokes_changed.emit()

    def _tail_rect(self) -> QRect:
        """Widget rectangle that a new last point changes: the stroke's path is smoothed
        through segment midpoints, so only the span of the last three points moves."""
        sq, s = self.square(), self._scale()
        tail = self._current[-3:]
        xs = [sq.left() + p[0] * s for p in tail]
        ys = [sq.top() + p[1] * s for p in tail]
        r = max(p[3] for p in tail) * s / 2 + 3  # half the pen, and the anti-aliased edge
        return QRectF(min(xs) - r, min(ys) - r, max(xs) - min(xs) + 2 * r,
                      max(ys) - min(ys) + 2 * r).toAlignedRect()

    def _end(self) -> None:
        if self._erasing:
            self._erasing = False
            if not self._erase_changed and self._undo:
                self._undo.pop()  # nothing was erased: not an undo step
            self.history_changed.emit()
            return
        if self._current is None:
            return
        stroke = np.asarray(self._current, dtype=np.float64)
        self._current = None
        self._push_undo()
        self._strokes = self._strokes + [stroke]
        self._changed()

    def _erase_at(self, pos: QPointF) -> None:
        x, y = self.to_logical(pos)
        self._strokes, changed = erase_strokes(self._strokes, (x, y), self.brush_size * 0.75)
        if changed:
            self._erase_changed = True
            self._cache = None
            self.update()
            self.strokes_changed.emit()

    def mousePressEvent(self, ev):
        if ev.button() in (Qt.LeftButton, Qt.RightButton):
            erase = self.eraser or ev.button() == Qt.RightButton
            self._begin(ev.position(), 1.0, erase)
            ev.accept()

    def mouseMoveEvent(self, ev):
        self._hover = ev.position()
        if ev.buttons() & (Qt.LeftButton | Qt.RightButton):
            self._extend(ev.position(), 1.0)
        elif self.eraser:
            self.update()
        ev.accept()

    def mouseReleaseEvent(self, ev):
        if ev.button() in (Qt.LeftButton, Qt.RightButton):
            self._end()
            ev.accept()

    def tabletEvent(self, ev):
        pressure = float(ev.pressure())
        t = ev.type()
        if t == ev.Type.TabletPress:
            self._begin(ev.position(), pressure, self.eraser or ev.pointerType().name == "Eraser")
        elif t == ev.Type.TabletMove and ev.buttons():
            self._extend(ev.position(), pressure)
        elif t == ev.Type.TabletRelease:
            self._end()
        ev.accept()

    def leaveEvent(self, ev):
        self._hover = None
        self.update()

    # ------------------------------------------------------------------ painting
    def set_colors(self, paper: QColor, ink: QColor, frame: QColor) -> None:
        self.paper, self.ink, self.frame = paper, ink, frame
        self._cache = None
        self.update()

    def _background(self) -> QPixmap:
        """Paper, frame and the finished strokes, cached until they change or the size does."""
        dpr = self.devicePixelRatioF()
        key = (self.width(), self.height(), dpr)
        if self._cache is not None and self._cache_key == key:
            return self._cache
        pix = QPixmap(round(self.width() * dpr), round(self.height() * dpr))
        pix.setDevicePixelRatio(dpr)
        pix.fill(self.palette().window().color())
        p = QPainter(pix)
        p.setRenderHint(QPainter.Antialiasing)
        sq = self.square()
        p.fillRect(sq, self.paper)
        p.setPen(QPen(self.frame, 1))
        p.drawRect(sq)
        p.setClipRect(sq)
        for stroke in self._strokes:
            paint_stroke(p, stroke, self._scale(), sq, self.ink)
        p.end()
        self._cache, self._cache_key = pix, key
        return pix

    def paintEvent(self, ev):
        p = QPainter(self)
        p.drawPixmap(0, 0, self._background())
        p.setRenderHint(QPainter.Antialiasing)
        sq = self.square()
        s = self._scale()
        p.setClipRect(sq)
        if self._current:  # only what reaches the repainted area (the stroke's new end)
            paint_stroke(p, np.asarray(self._current, dtype=np.float64), s, sq, self.ink,
                         QRectF(ev.rect()))
        if self.is_empty():
            p.setPen(self.frame)
            f = p.font()
            f.setPointSizeF(max(10.0, sq.width() / 28))
            p.setFont(f)
            p.drawText(sq, Qt.AlignCenter, "Draw a digit here")
        if self.eraser and self._hover is not None:
            r = self.brush_size * 0.75 * s
            p.setPen(QPen(self.frame, 1, Qt.DashLine))
            p.setBrush(Qt.NoBrush)
            p.drawEllipse(self._hover, r, r)
        p.end()
