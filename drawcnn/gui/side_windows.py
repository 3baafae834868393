"""The main window's companions: Train (a dialog), Teach (a dock beside the canvas), My
drawings, Architecture and About (dialogs), and the user's drawings store they share.

Each is created on first use and kept; dialogs are modeless (``show()``, never ``exec()``), so
nothing here can block a test. Failures go to the controller's error reporter.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from .dialogs import AboutDialog, ArchitectureDialog


class SideWindows:
    def __init__(self, window: QMainWindow):
        self.window = window
        self.controller = window.controller
        #: Where the user's taught drawings live (None: the platform's user data folder).
        self.drawings_root: Path | None = None
        self._store = None
        self._dialogs: list = []  # keeps the modeless dialogs alive
        self.train_dialog = self.teach_panel = self.teach_dock = self.drawings_browser = None

    def drawing_store(self):
        """The user's drawings store (opened on first use), or None if it cannot be read."""
        if self._store is None:
            from ..data import DrawingStore
            from ..errors import DrawCNNError

            try:
                self._store = DrawingStore(self.drawings_root)
            except DrawCNNError as exc:
                # the message says where the damaged file was kept (never overwritten)
                self.controller.report_error("Cannot open your drawings", str(exc))
        return self._store

    # ------------------------------------------------------------------ dialogs
    def _show(self, dlg):
        self._dialogs = [d for d in self._dialogs if d.isVisible()] + [dlg]
        dlg.show()
        dlg.raise_()
        return dlg

    def show_architecture(self) -> ArchitectureDialog:
        c = self.controller
        return self._show(ArchitectureDialog(c.net, c.path, self.window))

    def show_about(self) -> AboutDialog:
        return self._show(AboutDialog(self.window))

    def show_train_dialog(self):
        from .train_dialog import TrainDialog

        if self.train_dialog is None:
            self.train_dialog = TrainDialog(self.controller, self.drawing_store, self.window)
        self.train_dialog.data.refresh()
        return self._show(self.train_dialog)

    def show_drawings(self):
        from .drawings_browser import DrawingsBrowser

        if self.drawings_browser is None:
            self.drawings_browser = DrawingsBrowser(self.drawing_store, self.controller.errors,
                                                    self.window)
            self.drawings_browser.store_changed.connect(self.drawings_changed)
        self.drawings_browser.refresh()
        return self._show(self.drawings_browser)

    # ------------------------------------------------------------------ teach (a dock)
    def show_teach(self):
        """Open the Teach panel in a dock left of the canvas; 0-9 and Enter label and save."""
        from .teach import TeachPanel

        w = self.window
        if self.teach_panel is None:
            panel = TeachPanel(w.canvas, self.controller, self.drawing_store)
            panel.review_btn.clicked.connect(self.show_drawings)
            panel.taught.connect(self.drawings_changed)
            dock = QDockWidget("Teach this drawing", w)
            dock.setObjectName("dock_teach")
            dock.setWidget(panel)
            dock.setAllowedAreas(Qt.LeftDockWidgetArea | Qt.RightDockWidgetArea)
            w.addDockWidget(Qt.LeftDockWidgetArea, dock)
            w.restoreDockWidget(dock)  # where the user left it last time, if anywhere
            panel.attach_keys(w)
            dock.visibilityChanged.connect(panel.set_keys_enabled)
            self.teach_panel, self.teach_dock = panel, dock
        self.teach_panel.refresh()
        self.teach_dock.show()
        self.teach_dock.raise_()
        self.teach_panel.set_keys_enabled(True)
        w.canvas.setFocus()  # the keys go on to label the drawing
        return self.teach_panel

    def drawings_changed(self, *_) -> None:
        """The store changed (taught, relabelled, imported): refresh whoever shows it."""
        if self.drawings_browser is not None and self.drawings_browser.isVisible():
            self.drawings_browser.refresh()
        if self.teach_panel is not None and self.teach_panel.isVisible():
            self.teach_panel.refresh()
        if self.train_dialog is not None and not self.train_dialog.running:
            self.train_dialog.data.refresh()

    def close_all(self) -> None:
        for d in self._dialogs + [self.train_dialog]:
            if d is not None:
                d.close()
