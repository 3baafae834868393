"""Menus, the drawing toolbar and keyboard shortcuts of the main window.

``build_menus(window)`` creates them and returns a ``MenuActions``, which the window keeps;
nothing is attached to the window from here. Every action is also added to the window itself,
so its shortcut works even when the menu bar is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QToolBar

from . import weights_locator

THEMES = (("system", "Follow system"), ("light", "Light"), ("dark", "Dark"))


@dataclass
class MenuActions:
    """What the window needs back from its menus."""

    acts: dict[str, QAction] = field(default_factory=dict)  # name -> action
    network_group: QActionGroup | None = None  # shipped networks (data: architecture name)
    theme_group: QActionGroup | None = None  # themes (data: "system", "light", "dark")
    toolbar: QToolBar | None = None

    def check_network(self, name: str | None) -> None:
        for act in self.network_group.actions():
            act.setChecked(act.data() == name)

    def check_theme(self, name: str) -> None:
        for act in self.theme_group.actions():
            act.setChecked(act.data() == name)


def build_menus(w: QMainWindow) -> MenuActions:
    """The menu bar and the drawing toolbar of the main window ``w``."""
    m = MenuActions()
    mb = w.menuBar()
    c = w.canvas

    def a(key: str, text: str, slot=None, shortcut=None, checkable: bool = False) -> QAction:
        act = QAction(text, w, checkable=checkable)
        if slot is not None:
            act.triggered.connect(slot)
        if shortcut is not None:
            seqs = shortcut if isinstance(shortcut, list) else [shortcut]
            act.setShortcuts([QKeySequence(k) for k in seqs])
        m.acts[key] = act
        w.addAction(act)
        return act

    # ---------------------------------------------------------------- File
    file = mb.addMenu("&File")
    file.addAction(a("open", "Open weights…", lambda: w.open_weights(), QKeySequence.Open))
    file.addAction(a("save_copy", "Save a copy…", lambda: w.save_copy(), QKeySequence.Save))
    file.addAction(a("export", "Export… (ONNX)", lambda: w.export_onnx(), "Ctrl+E"))
    file.addSeparator()
    file.addAction(a("quit", "Quit", w.close, QKeySequence.Quit))

    # ---------------------------------------------------------------- Edit / drawing
    edit = mb.addMenu("&Edit")
    edit.addAction(a("undo", "Undo stroke", c.undo, QKeySequence.Undo))
    edit.addAction(a("redo", "Redo stroke", c.redo, [QKeySequence.Redo, "Ctrl+Y"]))
    edit.addAction(a("clear", "Clear canvas", c.clear, ["Esc", "Delete", "Backspace"]))
    edit.addSeparator()
    eraser = a("eraser", "Eraser", None, "E", checkable=True)
    eraser.toggled.connect(w.set_eraser)
    edit.addAction(eraser)
    edit.addAction(a("brush_up", "Bigger brush", lambda: w.change_brush(+2), "]"))
    edit.addAction(a("brush_down", "Smaller brush", lambda: w.change_brush(-2), "["))

    tb = QToolBar("Drawing", w)
    tb.setObjectName("toolbar_drawing")
    for key in ("undo", "redo", "clear", "eraser"):
        tb.addAction(m.acts[key])
    tb.addSeparator()
    tb.addWidget(QLabel(" Brush "))
    tb.addWidget(w.brush_slider)
    w.addToolBar(tb)
    m.toolbar = tb

    # ---------------------------------------------------------------- Model
    model = mb.addMenu("&Model")
    nets = model.addMenu("Shipped networks")
    m.network_group = QActionGroup(w)
    shipped = weights_locator.shipped_weights()
    for i, name in enumerate(weights_locator.SHIPPED_ORDER):
        act = a(f"net_{name}", name if name in shipped else f"{name} (not found)",
                lambda _=False, n=name: w.controller.switch_to(n), f"Ctrl+{i + 1}",
                checkable=True)
        act.setData(name)
        act.setEnabled(name in shipped)
        m.network_group.addAction(act)
        nets.addAction(act)
    model.addAction(a("architecture", "Architecture…", w.side.show_architecture, "Ctrl+I"))
    model.addSeparator()
    model.addAction(a("train", "Train…", lambda: w.side.show_train_dialog(), "Ctrl+T"))
    model.addAction(a("teach", "Teach this drawing…", lambda: w.side.show_teach(), "T"))
    model.addAction(a("drawings", "My drawings…", lambda: w.side.show_drawings(), "Ctrl+D"))

    # ---------------------------------------------------------------- View
    view = mb.addMenu("&View")
    for d in w.docks.values():
        view.addAction(d.toggleViewAction())
    view.addAction(tb.toggleViewAction())
    view.addSeparator()
    themes = view.addMenu("Theme")
    m.theme_group = QActionGroup(w)
    for key, label in THEMES:
        act = QAction(label, w, checkable=True)
        act.setData(key)
        act.triggered.connect(lambda _=False, k=key: w.set_theme(k))
        m.theme_group.addAction(act)
        themes.addAction(act)

    # ---------------------------------------------------------------- Help
    helpm = mb.addMenu("&Help")
    helpm.addAction(a("about", "About drawcnn", w.side.show_about, "F1"))
    helpm.addAction(QAction("About Qt", w, triggered=QApplication.aboutQt))
    return m
