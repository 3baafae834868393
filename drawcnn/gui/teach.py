"""Teach: label the current drawing and keep it in the user's drawings store.

A panel docked beside the canvas (never over it). It shows what the network will learn from
(the 28x28 input) and its guess, pre-selects that guess as the label, and stores the sample
only when the user confirms ("Save as 7", Enter) — a wrong guess is corrected by clicking or
typing the right digit first, so nothing is learnt from an unconfirmed label. While the panel
is shown, 0-9 and Enter are shortcuts of the whole main window (``attach_keys``): typing a
digit right after drawing labels the drawing, with no click on the panel first.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .panels.confusion import image_pixmap

GUESS_LINES = 3  # the status above the buttons keeps this height, so they never move


class TeachPanel(QWidget):
    taught = Signal(int, int)  # sample id, label

    def __init__(self, canvas, controller, store_getter, parent=None):
        super().__init__(parent)
        self.setObjectName("teach_panel")
        self.setWindowTitle("Teach this drawing")
        self.canvas, self.controller, self.store_getter = canvas, controller, store_getter
        self.errors = controller.errors
        self._user_chose = False
        self._note = ""  # "Stored as 7", kept until the next drawing starts
        self.shortcuts: list[QShortcut] = []
        self.preview = QLabel()
        self.preview.setFixedSize(112, 112)
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setStyleSheet("border:1px solid #aaa; background:white; color:#555;")
        self.guess = QLabel()
        self.guess.setObjectName("teach_guess")
        self.guess.setWordWrap(True)
        self.guess.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.guess.setFixedHeight(self.guess.fontMetrics().lineSpacing() * GUESS_LINES + 4)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        grid = QGridLayout()
        for d in range(10):
            b = QPushButton(str(d), checkable=True, focusPolicy=Qt.NoFocus)
            b.setFixedWidth(40)
            self.group.addButton(b, d)
            grid.addWidget(b, d // 5, d % 5)
        self.group.idClicked.connect(self._chosen)
        self.setStyleSheet("QPushButton:checked { background: #2d6fd6; color: white; "
                           "font-weight: bold; border: 1px solid #1d4f9e; border-radius: 3px; }")
        self.save_btn = QPushButton("Save")
        self.save_btn.setObjectName("teach_save")
        self.save_btn.clicked.connect(lambda: self.teach())
        self.clear_after = QCheckBox("Clear the canvas after saving")
        self.clear_after.setChecked(True)
        self.count = QLabel()
        self.count.setObjectName("teach_count")
        self.count.setWordWrap(True)
        self.review_btn = QPushButton("Review my drawings…")
        top = QHBoxLayout()
        top.addWidget(self.preview, 0, Qt.AlignTop)
        top.addWidget(self.guess, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(QLabel("Correct label (click or type 0-9, Enter saves):"))
        lay.addLayout(grid)
        lay.addWidget(self.save_btn)
        lay.addWidget(self.clear_after)
        lay.addWidget(self.review_btn)
        lay.addWidget(self.count)
        lay.addStretch(1)
        controller.prediction_changed.connect(self.refresh)
        self.refresh()

    def attach_keys(self, window) -> None:
        """0-9 and Enter as shortcuts of ``window`` (on while the panel is shown)."""
        for d in range(10):
            self.shortcuts.append(QShortcut(QKeySequence(str(d)), window,
                                            activated=lambda d=d: self.set_label(d)))
        for key in (Qt.Key_Return, Qt.Key_Enter):
            self.shortcuts.append(QShortcut(QKeySequence(key), window,
                                            activated=self._enter))
        self.set_keys_enabled(self.isVisible())

    def _enter(self) -> None:
        if self.save_btn.isEnabled():  # Enter on an empty canvas is not an error
            self.teach()

    def set_keys_enabled(self, on: bool) -> None:
        for s in self.shortcuts:
            s.setEnabled(on)

    # ------------------------------------------------------------------ state
    def label(self) -> int | None:
        d = self.group.checkedId()
        return d if d >= 0 else None

    def set_label(self, digit: int) -> None:
        self.group.button(int(digit)).setChecked(True)
        self._chosen(int(digit))

    def _chosen(self, digit: int) -> None:
        self._user_chose = True
        self._sync()

    def refresh(self, *_) -> None:
        img = self.controller.input_image
        probs = self.controller.probabilities
        if img is None or self.canvas.is_empty():
            self.preview.clear()
            self.preview.setText("draw a\ndigit")
            self.guess.setText(self._note or "Draw a digit on the canvas, then confirm or "
                               "correct its label.")
            self._user_chose = False
            self._select(None)
        else:
            self._note = ""
            self.preview.setPixmap(image_pixmap(img, 112))
            if probs is not None:
                p = int(np.argmax(probs))
                self.guess.setText(f"The network says <b>{p}</b> ({probs[p]:.0%}).")
                if not self._user_chose:
                    self._select(p)
        self._sync()

    def _select(self, digit: int | None) -> None:
        if digit is None:
            self.group.setExclusive(False)
            for b in self.group.buttons():
                b.setChecked(False)
            self.group.setExclusive(True)
        else:
            self.group.button(digit).setChecked(True)

    def _sync(self) -> None:
        d = self.label()
        empty = self.canvas.is_empty()
        self.save_btn.setEnabled(d is not None and not empty)
        self.save_btn.setText(f"Save as {d}" if d is not None else "Save")
        store = self.store_getter()
        if store is None:
            self.count.setText("The drawings store is unavailable.")
            return
        labels = [s.label for s in store.samples()]
        per = " ".join(f"{k}:{labels.count(k)}" for k in range(10) if labels.count(k))
        self.count.setText(f"{len(labels)} drawings stored" + (f" ({per})" if per else ""))

    # ------------------------------------------------------------------ actions
    def teach(self, label: int | None = None) -> int | None:
        """Store the current drawing with ``label`` (default: the selected one); its id."""
        from ..data import strokes_to_mnist
        from .canvas import LOGICAL_SIZE

        label = self.label() if label is None else int(label)
        strokes = self.canvas.strokes()
        image = strokes_to_mnist(strokes, LOGICAL_SIZE) if strokes else None
        if image is None or label is None:
            self.errors.report("Nothing to teach", "Draw a digit and choose its label first.")
            return None
        store = self.store_getter()
        if store is None:
            return None
        ok, sid = self.errors.attempt("Cannot store the drawing", store.add, image, label,
                                      strokes)
        if not ok:  # disk full, permissions: reported, the drawing stays on the canvas
            return None
        self.taught.emit(sid, label)
        self._user_chose = False
        if self.clear_after.isChecked():
            self.canvas.clear()
        self.refresh()
        self._note = f"Stored as <b>{label}</b> (#{sid}). Draw the next one."
        self.guess.setText(self._note)
        return sid
