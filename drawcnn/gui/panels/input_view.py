"""What the network sees: the preprocessing pipeline, stage by stage, and a naive resize.

raw (as drawn) -> re-rendered at MNIST stroke width -> ink box -> fitted into 20x20 ->
centred by mass in 28x28 (the model input). The naive whole-canvas resize, what many demos
feed their network, is shown beside it for comparison.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from .help import HelpButton
from .visibility import on_screen

STAGES = (
    ("input", "as drawn"),
    ("rendered", "MNIST width"),
    ("cropped", "ink box"),
    ("box20", "20×20"),
    ("centred", "28×28 input"),
    ("naive", "naive resize"),
)


def to_qimage(img: np.ndarray, dark_ink: bool = False) -> QImage:
    """(H, W) float ink in [0,1] -> 8-bit grayscale QImage (white ink on black, like MNIST)."""
    a = np.asarray(img, dtype=np.float32)
    if not np.isfinite(a).all():  # rare: the careful, slower way
        a = np.nan_to_num(a)
    a = np.clip(a, 0, 1)
    if dark_ink:
        a = 1.0 - a
    g = np.ascontiguousarray((a * 255).astype(np.uint8))
    h, w = g.shape
    qimg = QImage(g.data, w, h, w, _GRAY8)
    return qimg.copy()  # own the buffer


# Qt enums looked up once (each PySide6 enum attribute access costs microseconds per frame).
_GRAY8 = QImage.Format_Grayscale8
_FAST, _SMOOTH, _KEEP = Qt.FastTransformation, Qt.SmoothTransformation, Qt.KeepAspectRatio
_BLACK = QColor(0, 0, 0)


class Thumb(QWidget):
    """One stage: its image centred on black in a square frame. Painted by hand and opaque
    (a style-sheet QLabel cost ~4x more per repaint, and repainted the dock beneath it)."""

    def __init__(self, size: int, border: QColor, border_px: int, parent=None):
        super().__init__(parent)
        self.setFixedSize(size, size)
        self.setAttribute(Qt.WA_OpaquePaintEvent, True)
        self.border, self.border_px = border, border_px
        self._pixmap: QPixmap | None = None

    def pixmap(self) -> QPixmap | None:
        return self._pixmap

    def setPixmap(self, pixmap: QPixmap) -> None:
        self._pixmap = pixmap
        self.update()

    def clear(self) -> None:
        self._pixmap = None
        self.update()

    def paintEvent(self, ev):
        p = QPainter(self)
        p.fillRect(self.rect(), _BLACK)
        pix = self._pixmap
        if pix is not None:
            p.drawPixmap((self.width() - pix.width()) // 2, (self.height() - pix.height()) // 2,
                         pix)
        b = self.border_px
        p.setPen(QPen(self.border, b))
        p.setBrush(Qt.NoBrush)
        p.drawRect(QRectF(b / 2, b / 2, self.width() - b, self.height() - b))
        p.end()


class InputView(QWidget):
    """A row of small pixelated images, one per preprocessing stage."""

    def __init__(self, parent=None, thumb: int = 72):
        super().__init__(parent)
        self.setObjectName("input_view")
        self.thumb = thumb
        self.images: dict[str, Thumb] = {}
        self.current: dict[str, np.ndarray | None] = {}
        self._steps: dict | None = None  # the last stages given, and whether not shown yet
        self._stale = False
        lay = QGridLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setHorizontalSpacing(6)
        for col, (key, title) in enumerate(STAGES):
            model_input = key == "centred"  # the network's actual input: a red frame
            img = Thumb(thumb, QColor("#e1553d" if model_input else "#666666"),
                        2 if model_input else 1)
            img.setToolTip(title)
            cap = QLabel(title)
            cap.setAlignment(Qt.AlignCenter)
            if model_input:
                f = cap.font()
                f.setBold(True)
                cap.setFont(f)
            lay.addWidget(img, 0, col)
            lay.addWidget(cap, 1, col)
            self.images[key] = img
        self.help_button = HelpButton("input_view")
        lay.addWidget(self.help_button, 0, len(STAGES), Qt.AlignTop)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)

    def set_steps(self, steps: dict | None) -> None:
        """Show the stages of ``steps``; while the panel cannot be seen (a closed dock) they
        are only kept, and shown when it is (``showEvent``)."""
        self._steps = steps
        if not on_screen(self):
            self._stale = True
            return
        self._stale = False
        steps = steps or {}
        for key, label in self.images.items():
            img = steps.get(key)
            prev = self.current.get(key)
            self.current[key] = img
            if img is None:
                if prev is not None:
                    label.clear()
                continue
            if prev is not None and prev.shape == img.shape and np.array_equal(prev, img):
                continue  # this stage did not change: no new pixmap, no repaint
            h, w = img.shape
            scale = self.thumb / max(h, w)
            mode = _FAST if max(h, w) <= 40 else _SMOOTH
            small = to_qimage(img).scaled(max(1, round(w * scale)), max(1, round(h * scale)),
                                          _KEEP, mode)
            label.setPixmap(QPixmap.fromImage(small))

    def refresh(self) -> None:
        """Catch up after being hidden (also connected to the dock's visibilityChanged)."""
        if self._stale:
            self.set_steps(self._steps)

    def showEvent(self, ev):
        super().showEvent(ev)
        self.refresh()
