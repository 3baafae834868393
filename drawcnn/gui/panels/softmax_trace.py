"""From logits to loss, as in the spreadsheet walk-through: one row per digit.

logit -> logit − max (so exp cannot overflow) -> exp(·) -> ÷ Σ exp = probability, and the
cross-entropy −log p[label] for a label the user picks (default: the predicted digit). Click
a row (a logit) to make it the label. Numbers come from ``drawcnn.explain.softmax_trace``
over the engine's logits (cheap: it reuses the activations of the live update).
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

COLUMNS = ("digit", "logit", "logit − max", "exp(·)", "p = exp / Σ")
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
        self.table = QTableWidget(10, len(COLUMNS))
        self.table.setObjectName("softmax_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.cellClicked.connect(lambda row, _col: self.select(row))
        self.table.setToolTip("Click a row to compute the loss for that digit")
        for r in range(10):
            for c in range(len(COLUMNS)):
                item = QTableWidgetItem("")
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
            self.table.item(r, 0).setText(str(r))
        self.summary = QLabel("Draw a digit.")
        self.summary.setObjectName("softmax_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.summary)

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
            for r in range(10):
                for c in range(1, len(COLUMNS)):
                    self.table.item(r, c).setText("")
            self.summary.setText("Draw a digit.")
            return
        self.trace = explain.softmax_trace(self.net, None, self.label, self._acts)
        self._render(self.trace)

    def _render(self, s: explain.SoftmaxTrace) -> None:
        bold = QFont(self.font())
        bold.setBold(True)
        for r in range(10):
            values = (s.logits[r], s.shifted[r], s.exps[r], s.probabilities[r])
            texts = (f"{values[0]:+.3f}", f"{values[1]:+.3f}", f"{values[2]:.4g}",
                     f"{values[3]:.2%}" if values[3] >= 1e-4 else f"{values[3]:.1e}")
            for c, text in enumerate(texts, start=1):
                self.table.item(r, c).setText(text)
            for c in range(len(COLUMNS)):
                item = self.table.item(r, c)
                item.setFont(bold if r == s.predicted else self.font())
                item.setBackground(QBrush(PICKED) if r == s.label else QBrush())
        p = s.probabilities[s.label]
        how = "the predicted digit" if self.label is None else "your label"
        self.summary.setText(
            f"max logit = {s.logits.max():+.3f} (digit {s.predicted}); "
            f"Σ exp(logit − max) = <b>{s.total:.4f}</b><br>"
            f"p[{s.label}] = exp({s.shifted[s.label]:+.3f}) / {s.total:.4f} = {p:.4%}<br>"
            f"cross-entropy for {s.label} ({how}) = −log p[{s.label}] = "
            f"<b>{s.loss:.4f}</b>" + (" — a confident right answer costs little"
                                      if s.label == s.predicted and s.loss < 0.1 else ""))

    def row_rect(self, digit: int):
        """Where a digit's logit cell is, in the table viewport (for tests and tours)."""
        return self.table.visualItemRect(self.table.item(int(digit), 1))
