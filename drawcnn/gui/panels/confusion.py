"""A clickable confusion matrix: click a cell to see the test images behind that count.

Rows are the true classes, columns the predicted ones. Off-diagonal cells are tinted red by
how many images ended up there, the diagonal green by the class accuracy. Clicking a cell
fills the strip below with those images (up to ``MAX_SHOWN``), each labelled with the
network's guess, so the user sees *which* 4s became 9s. The axes are titled ("true" down the
side, "predicted" along the top).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .help import HelpButton

MAX_SHOWN = 200


class VerticalLabel(QLabel):
    """A label whose text runs bottom to top (an axis title beside a table)."""

    def paintEvent(self, _ev):
        p = QPainter(self)
        p.setPen(self.palette().windowText().color())
        p.setFont(self.font())
        p.translate(0, self.height())
        p.rotate(-90)
        p.drawText(0, 0, self.height(), self.width(), Qt.AlignCenter, self.text())
        p.end()

    def sizeHint(self):
        s = super().sizeHint()
        return QSize(s.height(), s.width())

    def minimumSizeHint(self):
        return self.sizeHint()


def image_pixmap(img: np.ndarray, size: int = 56) -> QPixmap:
    """A (28, 28) image in [0, 1] (or uint8) as a dark-on-light pixmap of ``size`` pixels."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.round(np.clip(a.astype(np.float32), 0, 1) * 255).astype(np.uint8)
    a = np.ascontiguousarray(255 - a.reshape(a.shape[-2], a.shape[-1]))
    q = QImage(a.data, a.shape[1], a.shape[0], a.shape[1], QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(q.scaled(size, size, Qt.KeepAspectRatio, Qt.FastTransformation))


def thumbnail_list(icon_px: int = 56) -> QListWidget:
    """A wrapping grid of image thumbnails with captions."""
    lst = QListWidget()
    lst.setViewMode(QListWidget.IconMode)
    lst.setIconSize(QSize(icon_px, icon_px))
    lst.setGridSize(QSize(icon_px + 18, icon_px + 24))
    lst.setResizeMode(QListWidget.Adjust)
    lst.setMovement(QListWidget.Static)
    lst.setUniformItemSizes(True)
    lst.setWrapping(True)
    return lst


class ConfusionView(QWidget):
    cell_selected = Signal(int, int)  # true class, predicted class

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("confusion")
        self.confusion: np.ndarray | None = None
        self.images = self.labels = self.predictions = None
        self.names: tuple = tuple(str(i) for i in range(10))
        self.table = QTableWidget(10, 10)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.Stretch)
            header.setMinimumSectionSize(16)
        self.table.cellClicked.connect(self.select)
        self.table.setToolTip("Rows: true class, columns: predicted class. Click a cell to "
                              "see its images.")
        self.caption = QLabel("Click a cell to see the images behind it (rows: true class, "
                              "columns: what the network said).")
        self.caption.setWordWrap(True)
        self.thumbs = thumbnail_list(42)
        self.thumbs.setObjectName("confusion_images")
        self.thumbs.setMinimumHeight(80)
        bold = self.font()
        bold.setBold(True)
        self.predicted_title = QLabel("predicted")
        self.true_title = VerticalLabel("true")
        for t in (self.predicted_title, self.true_title):
            t.setObjectName("confusion_axis")
            t.setFont(bold)
            t.setAlignment(Qt.AlignCenter)
        self.help_button = HelpButton("confusion")
        grid = QGridLayout()
        grid.setSpacing(2)
        grid.addWidget(self.predicted_title, 0, 1)
        grid.addWidget(self.help_button, 0, 0)
        grid.addWidget(self.true_title, 1, 0)
        grid.addWidget(self.table, 1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(grid, 3)
        lay.addWidget(self.caption)
        lay.addWidget(self.thumbs, 2)

    def set_result(self, confusion, predictions, images, labels, names=None) -> None:
        """Show ``confusion`` [true, predicted]; ``images``/``labels`` are the evaluated set."""
        cm = np.asarray(confusion)
        self.confusion, self.predictions = cm, np.asarray(predictions)
        self.images, self.labels = images, np.asarray(labels)
        n = cm.shape[0]
        self.names = tuple(names) if names else tuple(str(i) for i in range(n))
        short = [s[:7] for s in self.names]
        self.table.setRowCount(n)
        self.table.setColumnCount(n)
        self.table.setHorizontalHeaderLabels(short)
        self.table.setVerticalHeaderLabels(short)
        off = cm.copy()
        np.fill_diagonal(off, 0)
        worst = max(1, int(off.max()))
        totals = np.maximum(cm.sum(axis=1), 1)
        for t in range(n):
            for p in range(n):
                v = int(cm[t, p])
                item = QTableWidgetItem(str(v) if v else "")
                item.setTextAlignment(Qt.AlignCenter)
                if t == p:
                    g = v / totals[t]
                    color = QColor.fromRgbF(1 - 0.55 * g, 1 - 0.2 * g, 1 - 0.55 * g)
                else:
                    r = (v / worst) ** 0.6 if v else 0.0
                    color = QColor.fromRgbF(1, 1 - 0.7 * r, 1 - 0.7 * r)
                item.setBackground(QBrush(color))
                item.setForeground(QBrush(QColor("#111")))
                item.setToolTip(f"true {self.names[t]}, predicted {self.names[p]}: {v}")
                self.table.setItem(t, p, item)
        self.thumbs.clear()
        self.caption.setText("Click a cell to see the images behind it (rows: true class, "
                             "columns: what the network said).")
        if off.max() > 0:  # show the most frequent confusion straight away
            t, p = np.unravel_index(int(off.argmax()), off.shape)
            self.select(int(t), int(p))

    def indices(self, true: int, pred: int) -> np.ndarray:
        if self.labels is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero((self.labels == true) & (self.predictions == pred))

    def select(self, true: int, pred: int) -> None:
        """Show the images of true class ``true`` predicted as ``pred``."""
        if self.confusion is None:
            return
        self.table.setCurrentCell(true, pred)
        idx = self.indices(true, pred)
        self.thumbs.clear()
        what = "correctly classified" if true == pred else "misclassified"
        more = f" (showing the first {MAX_SHOWN})" if len(idx) > MAX_SHOWN else ""
        self.caption.setText(f"<b>{len(idx)}</b> {what}: true <b>{self.names[true]}</b>, "
                             f"predicted <b>{self.names[pred]}</b>{more}")
        for i in idx[:MAX_SHOWN]:
            it = QListWidgetItem(QIcon(image_pixmap(self.images[i], 42)), f"#{i}")
            it.setData(Qt.UserRole, int(i))
            it.setToolTip(f"test image #{i}: true {self.names[true]}, "
                          f"predicted {self.names[pred]}")
            self.thumbs.addItem(it)
        self.cell_selected.emit(true, pred)

    def shown_indices(self) -> list[int]:
        return [self.thumbs.item(i).data(Qt.UserRole) for i in range(self.thumbs.count())]
