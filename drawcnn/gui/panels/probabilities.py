"""Live prediction: the top guess, large, with its confidence, and bars for all ten digits,
each with its value. A value's text is set only when its rounded percentage changes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .. import theme
from .help import HelpButton
from .mosaic import Labels, on_screen, opaque_view

#: Below this top probability the guess is shown as unsure (a scribble is not a digit).
UNSURE = 0.6
COLUMN_WIDTH = 110  # the big digit and its caption


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


def bar_label(p: float) -> str:
    """The text over a bar: whole percent, '<1%' for a sliver, nothing for ~0."""
    if p < 0.001:
        return ""
    if p < 0.01:
        return "<1%"
    return f"{p:.0%}"


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
        self.caption = QLabel("Nothing drawn")
        self.caption.setObjectName("confidence")
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
        # Fixed sizes: a new text then repaints the label alone; a size hint that follows
        # the text re-laid out the whole window on every mouse move (and the bars jumped).
        glyphs = self.digit.fontMetrics().tightBoundingRect("0123456789?").height()
        self.digit.setFixedSize(COLUMN_WIDTH, glyphs + 14)
        self.caption.setFixedSize(COLUMN_WIDTH, 3 * self.caption.fontMetrics().lineSpacing() + 4)
        for label in (self.digit, self.caption):  # opaque: the dock is not repainted beneath
            label.setAutoFillBackground(True)
        self.plot = opaque_view(pg.PlotWidget())
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setYRange(0, 1.16, padding=0.02)  # room for the value over a full bar
        self.plot.setXRange(-0.6, 9.6, padding=0)
        self.plot.setMinimumHeight(140)
        self.plot.setMinimumWidth(280)
        ax = self.plot.getAxis("bottom")
        ax.setTicks([[(i, str(i)) for i in range(10)]])
        self.plot.getAxis("left").setTicks([[(0, "0"), (0.5, "50%"), (1, "100%")]])
        self.plot.setLabel("bottom", "digit")
        self.plot.setLabel("left", "probability")
        self.plot.showGrid(y=True, alpha=0.2)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7)
        self.plot.addItem(self.bars)
        self.values = Labels(anchor=(0.5, 1.0), color=theme.plot_colors()[1])
        self.values.set_labels([""] * 10, [(i, 0.0) for i in range(10)])
        self.plot.addItem(self.values)
        self._shown = [("", 0.0)] * 10
        self.help_button = HelpButton("probabilities")
        self._base = QColor("#7f8fa6")
        self._top = QColor("#e1553d")
        self._declined = QColor("#4f5866")  # the closest digit when the network names none
        self._top_key: tuple | None = None  # (top bar, declined) of the brushes now set
        self._reading = None  # the last reading given, and whether it is not shown yet
        self._stale = False
        for name in ("left", "bottom"):  # the grid and ticks are redrawn from a pixmap
            self.plot.getAxis(name).setCacheMode(QGraphicsItem.DeviceCoordinateCache)

        top = QVBoxLayout()
        top.addWidget(self.help_button, 0, Qt.AlignLeft)
        top.addWidget(self.digit)
        top.addWidget(self.caption)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top, 0)
        lay.addWidget(self.plot, 1)

    def set_waiting(self, text: str) -> None:
        self._set_texts("…", text)

    def _set_texts(self, big: str, caption: str, greyed: str = "") -> None:
        """The big digit, its caption and (for a declined reading) the greyed digit's tooltip;
        a style sheet is set only when the greying changes (re-polishing a label costs)."""
        self.digit.setText(big)
        self.caption.setText(caption)
        style = "color: #9a9a9a;" if greyed else ""
        if self.digit.styleSheet() != style:
            self.digit.setStyleSheet(style)
        if self.digit.toolTip() != greyed:
            self.digit.setToolTip(greyed)

    def set_probabilities(self, probs: np.ndarray | None, declined: bool = False) -> None:
        """Bars for ``probs``; the top bar is red, or dark grey when the reading ``declined``
        to name a digit (the probabilities stay the network's own)."""
        self._set_bars(probs, declined)
        self._set_texts(*describe(self.probabilities))

    def _set_bars(self, probs: np.ndarray | None, declined: bool) -> None:
        self.probabilities = None if probs is None else np.asarray(probs)
        heights = np.zeros(10) if probs is None else np.asarray(probs, dtype=float)
        top = None if probs is None else int(np.argmax(heights))
        if (top, declined) != self._top_key:  # new brushes only when they change (costly)
            self._top_key = (top, declined)
            brushes = [self._base] * 10
            if top is not None:
                brushes[top] = self._declined if declined else self._top
            self.bars.setOpts(height=heights, brushes=brushes)
        else:
            self.bars.setOpts(height=heights)
        shown = [(bar_label(float(p)), round(float(p), 2)) for p in heights]
        if shown != self._shown:  # one repaint of all ten values, only when one changed
            self._shown = shown
            self.values.set_labels([t for t, _ in shown],
                                   [(i, y if t else 0.0) for i, (t, y) in enumerate(shown)])

    def value_texts(self) -> list[str]:
        return list(self.values.texts)

    def apply_theme(self, background: QColor, foreground: QColor) -> None:
        theme.style_plot(self.plot, background, foreground)
        self.values.set_color(foreground)

    def set_reading(self, reading) -> None:
        """Show a ``reading.Reading``: its digit; "not a digit" with the closest one greyed
        when the network declines to name one; "Nothing drawn" for an empty canvas.
        While the panel cannot be seen (a closed dock) only the reading is kept; it is shown
        when the panel is (``showEvent``)."""
        self._reading = reading
        if not on_screen(self):
            self._stale = True
            return
        self._stale = False
        drawn = reading is not None and reading.model_input is not None
        declined = drawn and reading.digit is None
        self._set_bars(reading.probabilities if drawn else None, declined)
        if reading is None or reading.digit is not None:
            self._set_texts(*describe(self.probabilities))
            return
        closest = reading.closest
        big = "–" if closest is None else str(closest)
        if drawn:
            caption = (f"<b>not a digit</b><br><small>{reading.reason}</small>"
                       if reading.reason != "not a digit" else "<b>not a digit</b>")
            self._set_texts(big, caption, f"closest digit: {closest}")
        else:
            self._set_texts(big, reading.reason[:1].upper() + reading.reason[1:])

    def refresh(self) -> None:
        """Catch up after being hidden (also connected to the dock's visibilityChanged)."""
        if self._stale:
            self.set_reading(self._reading)

    def showEvent(self, ev):
        super().showEvent(ev)
        self.refresh()
