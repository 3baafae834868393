"""The "?" button every panel carries: one click shows what the panel is showing."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFrame, QLabel, QToolButton, QVBoxLayout, QWidget

from .help_texts import help_text, help_title


class HelpPopup(QFrame):
    """A small word-wrapped text that closes on the next click anywhere (a Qt popup)."""

    def __init__(self, key: str, parent: QWidget):
        super().__init__(parent, Qt.Popup)
        self.setObjectName(f"help_{key}")
        self.setFrameShape(QFrame.StyledPanel)
        self.label = QLabel(f"<b>{help_title(key)}</b><br>{help_text(key)}")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setFixedWidth(380)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.addWidget(self.label)

    def text(self) -> str:
        return self.label.text()


class HelpButton(QToolButton):
    """A "?" that opens the panel's :class:`HelpPopup` below itself."""

    def __init__(self, key: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.setObjectName(f"help_button_{key}")
        self.setText("?")
        self.setAutoRaise(True)
        self.setFixedSize(22, 22)
        self.setToolTip(f"What am I looking at? ({help_title(key)})")
        self.popup: HelpPopup | None = None
        self.clicked.connect(self.show_help)

    def show_help(self) -> HelpPopup:
        if self.popup is None:
            self.popup = HelpPopup(self.key, self)
        self.popup.adjustSize()
        pos = self.mapToGlobal(QPoint(0, self.height()))
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:  # keep it on the screen
            pos.setX(max(screen.left(), min(pos.x(), screen.right() - self.popup.width())))
            if pos.y() + self.popup.height() > screen.bottom():
                pos.setY(self.mapToGlobal(QPoint(0, 0)).y() - self.popup.height())
        self.popup.move(pos)
        self.popup.show()
        return self.popup
