"""What the network sees: the preprocessing pipeline, stage by stage, and a naive resize.

raw (as drawn) -> re-rendered at MNIST stroke width -> ink box -> fitted into 20x20 ->
centred by mass in 28x28 (the model input). The naive whole-canvas resize, what many demos
feed their network, is shown beside it for comparison.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from .help import HelpButton

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


class InputView(QWidget):
    """A row of small pixelated images, one per preprocessing stage."""

    def __init__(self, parent=None, thumb: int = 72):
        super().__init__(parent)
        self.setObjectName("input_view")
        self.thumb = thumb
        self.images: dict[str, QLabel] = {}
        self.current: dict[str, np.ndarray | None] = {}
        lay = QGridLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setHorizontalSpacing(6)
        for col, (key, title) in enumerate(STAGES):
            img = QLabel()
            img.setFixedSize(thumb, thumb)
            img.setAlignment(Qt.AlignCenter)
            img.setStyleSheet("background: black; border: 1px solid #666;")
            img.setToolTip(title)
            cap = QLabel(title)
            cap.setAlignment(Qt.AlignCenter)
            if key == "centred":
                f = cap.font()
                f.setBold(True)
                cap.setFont(f)
                img.setStyleSheet("background: black; border: 2px solid #e1553d;")
            lay.addWidget(img, 0, col)
            lay.addWidget(cap, 1, col)
            self.images[key] = img
        self.help_button = HelpButton("input_view")
        lay.addWidget(self.help_button, 0, len(STAGES), Qt.AlignTop)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)

    def set_steps(self, steps: dict | None) -> None:
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
