"""Menus, the drawing toolbar and keyboard shortcuts of the main window."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QToolBar

from . import weights_locator


def build_menus(w) -> None:
    """Create ``w.acts`` (name -> QAction), the menu bar and the drawing toolbar."""
    w.acts = {}
    a = w.add_action
    mb = w.menuBar()
    c = w.canvas

    # ---------------------------------------------------------------- Edit / drawing
    edit = mb.addMenu("&Edit")
    edit.addAction(a("undo", QAction("Undo stroke", w, triggered=c.undo), QKeySequence.Undo))
    edit.addAction(a("redo", QAction("Redo stroke", w, triggered=c.redo),
                     [QKeySequence.Redo, "Ctrl+Y"]))
    edit.addAction(a("clear", QAction("Clear canvas", w, triggered=c.clear),
                     ["Esc", "Delete", "Backspace"]))
    edit.addSeparator()
    eraser = a("eraser", QAction("Eraser", w, checkable=True), "E")
    eraser.toggled.connect(w.set_eraser)
    edit.addAction(eraser)
    edit.addAction(a("brush_up", QAction("Bigger brush", w,
                                         triggered=lambda: w.change_brush(+2)), "]"))
    edit.addAction(a("brush_down", QAction("Smaller brush", w,
                                           triggered=lambda: w.change_brush(-2)), "["))

    tb = QToolBar("Drawing", w)
    tb.setObjectName("toolbar_drawing")
    for key in ("undo", "redo", "clear", "eraser"):
        tb.addAction(w.acts[key])
    tb.addSeparator()
    tb.addWidget(QLabel(" Brush "))
    tb.addWidget(w.brush_slider)
    w.addToolBar(tb)

    # ---------------------------------------------------------------- Model
    model = mb.addMenu("&Model")
    model.addAction(a("open", QAction("Open weights…", w, triggered=lambda: w.open_weights()),
                      QKeySequence.Open))
    nets = model.addMenu("Shipped networks")
    w.network_group = QActionGroup(w)
    shipped = weights_locator.shipped_weights()
    for i, name in enumerate(weights_locator.SHIPPED_ORDER):
        act = QAction(name, w, checkable=True)
        act.setData(name)
        act.setEnabled(name in shipped)
        if name not in shipped:
            act.setText(f"{name} (not found)")
        act.triggered.connect(lambda _=False, n=name: w.controller.switch_to(n))
        w.network_group.addAction(act)
        nets.addAction(a(f"net_{name}", act, f"Ctrl+{i + 1}"))
    model.addAction(a("architecture", QAction("Architecture…", w,
                                              triggered=w.show_architecture), "Ctrl+I"))
    model.addAction(a("save_copy", QAction("Save a copy…", w, triggered=lambda: w.save_copy()),
                      QKeySequence.Save))
    model.addSeparator()
    model.addAction(a("train", QAction("Train…", w, triggered=lambda: w.show_train_dialog()),
                      "Ctrl+T"))
    model.addAction(a("teach", QAction("Teach this drawing…", w,
                                       triggered=lambda: w.show_teach()), "T"))
    model.addAction(a("drawings", QAction("My drawings…", w,
                                          triggered=lambda: w.show_drawings()), "Ctrl+D"))
    model.addSeparator()
    model.addAction(a("quit", QAction("Quit", w, triggered=w.close), QKeySequence.Quit))

    # ---------------------------------------------------------------- View
    view = mb.addMenu("&View")
    for d in w.docks.values():
        view.addAction(d.toggleViewAction())
    view.addAction(tb.toggleViewAction())
    view.addSeparator()
    themes = view.addMenu("Theme")
    w.theme_group = QActionGroup(w)
    for key, label in (("system", "Follow system"), ("light", "Light"), ("dark", "Dark")):
        act = QAction(label, w, checkable=True)
        act.setData(key)
        act.triggered.connect(lambda _=False, k=key: w.set_theme(k))
        w.theme_group.addAction(act)
        themes.addAction(act)

    # ---------------------------------------------------------------- Help
    helpm = mb.addMenu("&Help")
    helpm.addAction(a("about", QAction("About drawcnn", w, triggered=w.show_about), "F1"))
    helpm.addAction(QAction("About Qt", w, triggered=QApplication.aboutQt))
