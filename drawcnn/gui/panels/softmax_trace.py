"""From logits to loss, as in the spreadsheet walk-through: one column per digit.

logit -> logit − max (so exp cannot overflow) -> exp(·) -> ÷ Σ exp = probability, and the
cross-entropy −log p[label] for a label the user picks (default: the predicted digit). Click
a digit's column (its logit) to make it the label. The numbers come from
``drawcnn.explain.softmax_trace`` over the engine's logits (cheap: it reuses the activations
of the live update).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ... import explain

STEPS = ("logit", "− max", "exp", "p = exp/Σ")
STEP_TIPS = ("the last layer's output for this digit",
             "logit minus the largest logit (softmax is unchanged; exp cannot overflow)",
             "exp(logit − max)", "probability: exp divided by the sum of the ten exps")


def _short(v: float) -> str:
    return f"{v:.3g}" if v >= 1e-3 else f"{v:.0e}"
PICKED = QColor(255, 209, 102, 110)


class SoftmaxTraceView(QWidget):
    label_changed = Signal(object)  # int, or None for "the predicted digit"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("softmax_trace")
        self.net = None
        self._acts = None
        self.label: int | None = None  # None: follow the prediction
        self.trace: explain.SoftmaxTrace | None = None
        self._styled: tuple | None = None  # (predicted, label) the cells are styled for
        self.pick = QComboBox()
        self.pick.setObjectName("loss_label")
        self.pick.addItem("predicted digit", None)
        for d in range(10):
            self.pick.addItem(str(d), d)
        self.pick.currentIndexChanged.connect(lambda _: self._set_label(self.pick.currentData()))
        top = QHBoxLayout()
        top.addWidget(QLabel("Cross-entropy for label"))
        top.addWidget(self.pick)
        top.addStretch(1)
        self.table = QTableWidget(len(STEPS), 10)
        self.table.setObjectName("softmax_table")
        self.table.setHorizontalHeaderLabels([str(d) for d in range(10)])
        self.table.setVerticalHeaderLabels(STEPS)
        for r, tip in enumerate(STEP_TIPS):
            self.table.verticalHeaderItem(r).setToolTip(tip)
        small = self.table.font()
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1))
        self.table.setFont(small)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.horizontalHeader().setMinimumSectionSize(30)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.cellClicked.connect(lambda _row, col: self.select(col))
        self.table.horizontalHeader().sectionClicked.connect(self.select)
        self.table.setToolTip("Click a digit's logit to compute the loss for that digit")
        for r in range(len(STEPS)):
            for c in range(10):
                item = QTableWidgetItem("")
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
        self.summary = QLabel("Draw a digit.")
        self.summary.setObjectName("softmax_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.table)
        lay.addWidget(self.summary)
        lay.addStretch(1)
        self._fit_table()

    def _fit_table(self) -> None:
        t = self.table
        t.resizeRowsToContents()
        h = t.horizontalHeader().height() + sum(t.rowHeight(r) for r in range(t.rowCount()))
        t.setFixedHeight(h + 2 * t.frameWidth() + 2)

    # ------------------------------------------------------------------ inputs
    def set_context(self, net, image, activations) -> None:
        self.net, self._acts = net, (None if image is None else activations)
        self.refresh()

    def select(self, digit: int) -> None:
        """Make ``digit`` the label (what clicking its row does)."""
        self.pick.setCurrentIndex(int(digit) + 1)

    def _set_label(self, label) -> None:
        self.label = None if label is None else int(label)
        self.label_changed.emit(self.label)
        self.refresh()

    def refresh(self) -> None:
        if self.net is None or self._acts is None:
            self.trace = None
            for r in range(len(STEPS)):
                for c in range(10):
                    self.table.item(r, c).setText("")
            self.summary.setText("Draw a digit.")
            return
        self.trace = explain.softmax_trace(self.net, None, self.label, self._acts)
        self._render(self.trace)

    def _render(self, s: explain.SoftmaxTrace) -> None:
        plain = self.table.font()
        bold = QFont(plain)
        bold.setBold(True)
        styled = (s.predicted, s.label) != self._styled
        self._styled = (s.predicted, s.label)
        model = self.table.model()
        model.blockSignals(True)  # 40 cells, one repaint (this runs on every mouse move)
        try:
            for d in range(10):
                p = s.probabilities[d]
                texts = (f"{s.logits[d]:.1f}", f"{s.shifted[d]:.1f}", _short(s.exps[d]),
                         f"{100 * p:.3g}%" if p >= 1e-3 else f"{p:.0e}")
                exact = (s.logits[d], s.shifted[d], s.exps[d], p)
                for r, text in enumerate(texts):
                    item = self.table.item(r, d)
                    item.setText(text)
                    item.setToolTip(f"{STEPS[r]} for {d}: {exact[r]:.8g}")
                    if styled:
                        item.setFont(bold if d == s.predicted else plain)
                        item.setBackground(QBrush(PICKED) if d == s.label else QBrush())
        finally:
            model.blockSignals(False)
        self.table.viewport().update()
        p = s.probabilities[s.label]
        how = "the predicted digit" if self.label is None else "your label"
        self.summary.setText(
            f"max logit = {s.logits.max():+.3f} (digit {s.predicted}); "
            f"Σ exp(logit − max) = <b>{s.total:.4f}</b><br>"
            f"p[{s.label}] = exp({s.shifted[s.label]:+.3f}) / {s.total:.4f} = {p:.4%}<br>"
            f"cross-entropy for {s.label} ({how}) = −log p[{s.label}] = "
            f"<b>{s.loss:.4g}</b>" + (" — a confident right answer costs little"
                                      if s.label == s.predicted and s.loss < 0.1 else ""))

    def row_rect(self, digit: int):
        """Where a digit's logit cell is, in the table viewport (for tests and tours)."""
        return self.table.visualItemRect(self.table.item(0, int(digit)))
