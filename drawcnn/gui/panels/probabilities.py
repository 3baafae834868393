"""Live prediction: the top guess, large, with its confidence, and bars for all ten digits,
each with its value (a pyqtgraph plot, ``bars.BarChart``). A value's text is set only when its
rounded percentage changes.

The panel itself needs no pyqtgraph: on a staged start it is live before pyqtgraph is
imported (about a second, after the network is warm), and :meth:`add_chart` then puts the
chart where a same-sized placeholder held its place, with the bars the panel already has."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .. import theme
from .help import HelpButton
from .visibility import on_screen

#: Below this top probability the guess is shown as unsure (a scribble is not a digit).
UNSURE = 0.6
COLUMN_WIDTH = 110  # the big digit and its caption
BASE = QColor("#7f8fa6")  # a bar's colour; the top one is red, or dark grey when declined


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



def _why_not(reading, closest) -> str:
    """The greyed digit's tooltip: which digit is closest, and why it was not named."""
    tip = f"closest digit: {closest}"
    if "separate dot" in reading.reason:
        return tip + ("\nThe drawing has a dot apart from the rest of its ink (as in ! ? : ;), "
                      "which handwritten digits never have.")
    if reading.novelty is not None and reading.threshold is not None:
        return tip + (f"\nNovelty score {reading.novelty:.1f} > {reading.threshold:.1f}, this "
                      "network's threshold: its features for this drawing are unlike those of "
                      "the digits it learned (low logits, far from every digit class, far from "
                      "the nearest training digit).")
    return tip


def _detail(reason: str) -> str:
    """What a "not a digit" reason adds to the heading: "not a digit: a separate dot (closest
    1 at 97%)" -> "a separate dot (closest 1 at 97%)", "not a digit (closest 4 at 36%)" ->
    "closest 4 at 36%"."""
    if reason.startswith("not a digit"):
        reason = reason[len("not a digit"):].lstrip(":; ").strip()
        if reason.startswith("(") and reason.endswith(")") and reason.count("(") == 1:
            reason = reason[1:-1]
    return reason

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
        # The chart's place: a plain widget of its size until pyqtgraph comes (add_chart).
        self.chart: QWidget = QWidget()
        self.chart.setAutoFillBackground(True)
        self._size_chart(self.chart)
        self._colors = theme.plot_colors()
        self._paint_placeholder()
        self.heights = np.zeros(10)
        self.colours = [BASE] * 10
        self._shown = [""] * 10
        self.help_button = HelpButton("probabilities")
        self._base = BASE
        self._top = QColor("#e1553d")
        self._declined = QColor("#4f5866")  # the closest digit when the network names none
        self._top_key: tuple | None = None  # (top bar, declined) of the brushes now set
        self._reading = None  # the last reading given, and whether it is not shown yet
        self._stale = False

        top = QVBoxLayout()
        top.addWidget(self.help_button, 0, Qt.AlignLeft)
        top.addWidget(self.digit)
        top.addWidget(self.caption)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top, 0)
        lay.addWidget(self.chart, 1)
        self._layout = lay

    @staticmethod
    def _size_chart(widget: QWidget) -> None:
        widget.setMinimumHeight(140)
        widget.setMinimumWidth(280)

    def _paint_placeholder(self) -> None:
        pal = self.chart.palette()
        pal.setColor(QPalette.Window, self._colors[0])
        self.chart.setPalette(pal)

    def add_chart(self) -> None:
        """Replace the placeholder with the bar chart (once pyqtgraph is imported), showing
        what the panel has now."""
        from .bars import BarChart

        if isinstance(self.chart, BarChart):
            return
        chart = BarChart("digit", "probability", *self._colors)
        self._size_chart(chart)
        chart.set_bars(self.heights, self.colours)
        chart.set_texts(self._shown)
        old, self.chart = self.chart, chart
        self._layout.replaceWidget(old, chart)
        old.hide()  # at once: a deferred delete waits for the event loop's next turn
        old.setParent(None)
        old.deleteLater()
        chart.show()

    def set_waiting(self, text: str) -> None:
        self._set_texts("…", text)

    def _set_texts(self, big: str, caption: str, greyed: str = "") -> None:
        """The big digit, its caption and (for a declined reading) the tooltip of both (which
        digit is closest and why it was not named);
        a style sheet is set only when the greying changes (re-polishing a label costs)."""
        self.digit.setText(big)
        self.caption.setText(caption)
        style = "color: #9a9a9a;" if greyed else ""
        if self.digit.styleSheet() != style:
            self.digit.setStyleSheet(style)
        if self.digit.toolTip() != greyed:
            self.digit.setToolTip(greyed)
            self.caption.setToolTip(greyed)

    def set_probabilities(self, probs: np.ndarray | None, declined: bool = False) -> None:
        """Bars for ``probs``; the top bar is red, or dark grey when the reading ``declined``
        to name a digit (the probabilities stay the network's own)."""
        self._set_bars(probs, declined)
        self._set_texts(*describe(self.probabilities))

    def _set_bars(self, probs: np.ndarray | None, declined: bool) -> None:
        self.probabilities = None if probs is None else np.asarray(probs)
        heights = np.zeros(10) if probs is None else np.asarray(probs, dtype=float)
        top = None if probs is None else int(np.argmax(heights))
        self.heights = heights
        chart = getattr(self.chart, "bars", None)  # None: the placeholder
        if (top, declined) != self._top_key:  # new colours only when they change
            self._top_key = (top, declined)
            colours = [self._base] * 10
            if top is not None:
                colours[top] = self._declined if declined else self._top
            self.colours = colours
            if chart is not None:
                chart.set_bars(heights, colours)
        elif chart is not None:
            chart.set_bars(heights)
        shown = [bar_label(float(p)) for p in heights]
        if shown != self._shown:
            self._shown = shown
            if chart is not None:
                chart.set_texts(shown)

    def value_texts(self) -> list[str]:
        """The texts over the bars (the chart's own once it is there)."""
        bars = getattr(self.chart, "bars", None)
        return list(self._shown if bars is None else bars.texts)

    def bar_colours(self) -> list[QColor]:
        bars = getattr(self.chart, "bars", None)
        return list(self.colours if bars is None else bars.colours)

    def apply_theme(self, background: QColor, foreground: QColor) -> None:
        self._colors = (QColor(background), QColor(foreground))
        if hasattr(self.chart, "bars"):  # else the placeholder
            self.chart.set_colors(background, foreground)
        else:
            self._paint_placeholder()

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
            caption = "<b>not a digit</b>"
            detail = _detail(reading.reason)
            if detail:
                caption += f"<br><small>{detail}</small>"
            self._set_texts(big, caption, _why_not(reading, closest))
        else:
            self._set_texts(big, reading.reason[:1].upper() + reading.reason[1:])

    def refresh(self) -> None:
        """Catch up after being hidden (also connected to the dock's visibilityChanged)."""
        if self._stale:
            self.set_reading(self._reading)

    def showEvent(self, ev):
        super().showEvent(ev)
        self.refresh()
