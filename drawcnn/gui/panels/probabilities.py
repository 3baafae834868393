"""Live prediction: the top guess, large, with its confidence, and bars for all ten digits."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

#: Below this top probability the guess is shown as unsure (a scribble is not a digit).
UNSURE = 0.6


def describe(probs: np.ndarray | None) -> tuple[str, str]:
    """(big text, caption) for the top guess, honest about blank canvases and low confidence."""
    if probs is None:
        return "–", "Nothing drawn"
    k = int(np.argmax(probs))
    p = float(probs[k])
    if p < UNSURE:
        second = int(np.argsort(probs)[-2])
        return f"{k}?", f"Not sure: {p:.0%} ({second}: {float(probs[second]):.0%})"
    return str(k), (">99.9% confident" if p > 0.999 else f"{p:.1%} confident")


class ProbabilitiesPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("probabilities")
        self.probabilities: np.ndarray | None = None
        self.digit = QLabel("–")
        self.digit.setObjectName("top_digit")
        f = QFont()
        f.setPointSize(54)
        f.setBold(True)
        self.digit.setFont(f)
        self.digit.setAlignment(Qt.AlignCenter)
        self.digit.setMinimumWidth(110)
        self.caption = QLabel("Nothing drawn")
        self.caption.setObjectName("confidence")
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignCenter)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.setXRange(-0.6, 9.6, padding=0)
        self.plot.setMinimumHeight(140)
        self.plot.setMinimumWidth(280)
        ax = self.plot.getAxis("bottom")
        ax.setTicks([[(i, str(i)) for i in range(10)]])
        self.plot.getAxis("left").setTicks([[(0, "0"), (0.5, "50%"), (1, "100%")]])
        self.plot.showGrid(y=True, alpha=0.2)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7)
        self.plot.addItem(self.bars)
        self._base = QColor("#7f8fa6")
        self._top = QColor("#e1553d")

        top = QVBoxLayout()
        top.addWidget(self.digit)
        top.addWidget(self.caption)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top, 0)
        lay.addWidget(self.plot, 1)

    def set_waiting(self, text: str) -> None:
        self.digit.setText("…")
        self.caption.setText(text)

    def set_probabilities(self, probs: np.ndarray | None) -> None:
        self.probabilities = None if probs is None else np.asarray(probs)
        big, caption = describe(self.probabilities)
        self.digit.setText(big)
        self.caption.setText(caption)
        heights = np.zeros(10) if probs is None else np.asarray(probs, dtype=float)
        brushes = [self._base] * 10
        if probs is not None:
            brushes[int(np.argmax(heights))] = self._top
        self.bars.setOpts(height=heights, brushes=brushes)

    def apply_theme(self, background: QColor, foreground: QColor) -> None:
        self.plot.setBackground(background)
        for name in ("left", "bottom"):
            ax = self.plot.getAxis(name)
            ax.setPen(foreground)
            ax.setTextPen(foreground)

    def set_reading(self, reading) -> None:
        """Show a ``reading.Reading``: its digit; "not a digit" with the closest one greyed
        when the network declines to name one; "Nothing drawn" for an empty canvas."""
        drawn = reading is not None and reading.model_input is not None
        self.set_probabilities(reading.probabilities if drawn else None)
        self.digit.setStyleSheet("")
        self.digit.setToolTip("")
        if reading is None or reading.digit is not None:
            return
        closest = reading.closest
        self.digit.setText("–" if closest is None else str(closest))
        if drawn:
            self.digit.setStyleSheet("color: #9a9a9a;")
            self.digit.setToolTip(f"closest digit: {closest}")
            self.caption.setText(f"<b>not a digit</b><br><small>{reading.reason}</small>"
                                 if reading.reason != "not a digit" else "<b>not a digit</b>")
        else:
            self.caption.setText(reading.reason[:1].upper() + reading.reason[1:])

