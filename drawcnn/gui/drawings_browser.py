"""My drawings: review the taught samples as a grid of thumbnails, relabel, delete,
import and export the whole collection as one file.

Modeless; file choices go through replaceable hooks (``ask_open_path``, ``ask_save_path``) so
nothing here blocks a test, and failures go to the error reporter (the GUI's one error path).
A corrupt import file is reported and leaves the store exactly as it was (the store validates
before changing). With drawings selected, typing 0-9 relabels them and Delete removes them,
also while the grid has the focus (an event filter takes those keys before the list does).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from .panels.confusion import image_pixmap, thumbnail_list

DRAWINGS_FILTER = "drawcnn drawings (*.npz);;All files (*)"


class DrawingsBrowser(QDialog):
    store_changed = Signal()

    def __init__(self, store_getter, errors, parent=None):
        super().__init__(parent)
        self.setObjectName("drawings_browser")
        self.setWindowTitle("My drawings")
        self.store_getter = store_getter
        self.errors = errors  # reporting.ErrorReporter
        self.ask_open_path = self._ask_open_path
        self.ask_save_path = self._ask_save_path
        self.header = QLabel()
        self.header.setObjectName("drawings_header")
        self.header.setWordWrap(True)
        self.filter_box = QComboBox()
        self.filter_box.addItem("all digits", -1)
        for d in range(10):
            self.filter_box.addItem(f"only {d}s", d)
        self.filter_box.currentIndexChanged.connect(self.refresh)
        self.grid = thumbnail_list(56)
        self.grid.setObjectName("drawings_grid")
        self.grid.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.grid.itemSelectionChanged.connect(self._sync)
        self.grid.installEventFilter(self)  # the list would take 0-9 for keyboard search
        self.relabel_box = QComboBox()
        for d in range(10):
            self.relabel_box.addItem(str(d), d)
        self.relabel_btn = QPushButton("Relabel selected")
        self.delete_btn = QPushButton("Delete selected")
        self.import_btn = QPushButton("Import…")
        self.export_btn = QPushButton("Export…")
        self.relabel_btn.clicked.connect(lambda: self.relabel_selected())
        self.delete_btn.clicked.connect(lambda: self.delete_selected())
        self.import_btn.clicked.connect(lambda: self.import_file())
        self.export_btn.clicked.connect(lambda: self.export())
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter_box)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Label"))
        bar.addWidget(self.relabel_box)
        bar.addWidget(self.relabel_btn)
        bar.addWidget(self.delete_btn)
        bar.addStretch(1)
        bar.addWidget(self.import_btn)
        bar.addWidget(self.export_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.grid, 1)
        lay.addWidget(QLabel("<small>Select drawings (Ctrl/Shift for several); type 0-9 to "
                             "relabel them, Delete to remove them.</small>"))
        lay.addLayout(bar)
        self.resize(720, 520)
        self.refresh()

    # ------------------------------------------------------------------ view
    def refresh(self, *_) -> None:
        store = self.store_getter()
        self.grid.clear()
        if store is None:
            self.header.setText("The drawings store is unavailable.")
            self._sync()
            return
        samples = store.samples()
        want = self.filter_box.currentData()
        labels = [s.label for s in samples]
        per = ", ".join(f"{d}: {labels.count(d)}" for d in range(10) if labels.count(d))
        self.header.setText(f"<b>{len(samples)}</b> drawings" + (f" ({per})" if per else "")
                            + f"<br><small>{store.path}</small>")
        for s in samples:
            if want not in (-1, s.label):
                continue
            item = QListWidgetItem(QIcon(image_pixmap(s.image, 56)), f"{s.label} · #{s.id}")
            item.setData(Qt.UserRole, s.id)
            item.setToolTip(f"#{s.id}, label {s.label}, {len(s.strokes)} strokes")
            self.grid.addItem(item)
        self._sync()

    def shown_ids(self) -> list[int]:
        return [self.grid.item(i).data(Qt.UserRole) for i in range(self.grid.count())]

    def select_ids(self, ids) -> None:
        ids = set(ids)
        for i in range(self.grid.count()):
            it = self.grid.item(i)
            it.setSelected(it.data(Qt.UserRole) in ids)

    def selected_ids(self) -> list[int]:
        return [it.data(Qt.UserRole) for it in self.grid.selectedItems()]

    def _sync(self) -> None:
        has = bool(self.grid.selectedItems())
        self.relabel_btn.setEnabled(has)
        self.delete_btn.setEnabled(has)
        store = self.store_getter()
        self.export_btn.setEnabled(bool(store is not None and len(store)))
        self.import_btn.setEnabled(store is not None)

    # ------------------------------------------------------------------ edits
    def _edit(self, title: str, fn) -> bool:
        ok, _ = self.errors.attempt(title, fn)
        self.refresh()
        if ok:
            self.store_changed.emit()
        return ok

    def relabel_selected(self, label: int | None = None) -> bool:
        label = self.relabel_box.currentData() if label is None else int(label)
        ids = self.selected_ids()
        store = self.store_getter()
        if not ids or store is None:
            return False

        def do():
            for sid in ids:
                store.relabel(sid, label)

        ok = self._edit("Cannot relabel", do)
        self.select_ids(ids)
        return ok

    def delete_selected(self) -> bool:
        ids = self.selected_ids()
        store = self.store_getter()
        if not ids or store is None:
            return False

        def do():
            for sid in ids:
                store.delete(sid)

        return self._edit("Cannot delete", do)

    def import_file(self, path=None) -> int | None:
        store = self.store_getter()
        path = path or self.ask_open_path()
        if not path or store is None:
            return None
        added = []
        if not self._edit("Cannot import drawings", lambda: added.append(store.import_file(path))):
            return None
        self.header.setText(self.header.text() + f"<br>Imported {added[0]} new drawings.")
        return added[0]

    def export(self, path=None) -> bool:
        store = self.store_getter()
        path = path or self.ask_save_path()
        if not path or store is None:
            return False
        ok, _ = self.errors.attempt("Cannot export drawings", store.export, path)
        if not ok:
            return False
        self.header.setText(self.header.text() + f"<br>Exported {len(store)} drawings to {path}")
        return True

    # ------------------------------------------------------------------ hooks / keys
    def _ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Import drawings", "", DRAWINGS_FILTER)
        return path or None

    def _ask_save_path(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, "Export drawings", "my-drawings.npz",
                                              DRAWINGS_FILTER)
        return path or None

    def _key(self, ev) -> bool:
        """0-9 relabels, Delete/Backspace removes the selected drawings; True when handled."""
        if not self.selected_ids():
            return False
        text = ev.text()
        if len(text) == 1 and text.isdigit():
            self.relabel_selected(int(text))
            return True
        if ev.key() in (Qt.Key_Delete, Qt.Key_Backspace):
            self.delete_selected()
            return True
        return False

    def eventFilter(self, obj, ev):
        if obj is self.grid and ev.type() == QEvent.KeyPress and self._key(ev):
            return True
        return super().eventFilter(obj, ev)

    def keyPressEvent(self, ev):
        if self._key(ev):
            ev.accept()
        else:
            super().keyPressEvent(ev)
