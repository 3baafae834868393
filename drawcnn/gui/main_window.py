"""The main window: canvas in the centre, panels in docks, menus, shortcuts, settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from . import theme, weights_locator
from .canvas import LOGICAL_SIZE, Canvas
from .controller import Controller
from .dialogs import AboutDialog, ArchitectureDialog
from .menus import build_menus
from .panels.edge_filters import EdgeFiltersPanel
from .panels.feature_maps import FeatureMapsPanel
from .panels.filters import FiltersPanel
from .panels.input_view import InputView
from .panels.probabilities import ProbabilitiesPanel
from .settings import Settings

WEIGHTS_FILTER = "drawcnn weights (*.npz);;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, startup: weights_locator.Startup, settings: Settings | None = None):
        super().__init__()
        self.setObjectName("main_window")
        self.setWindowTitle("drawcnn — draw a digit")
        self.settings = settings or Settings()
        self.controller = Controller(startup.net, startup.path, self)
        self._dialogs: list = []  # keep modeless dialogs alive
        #: Hooks tests (or embedding code) may replace: never block on a modal box.
        self.ask_open_path = self._ask_open_path
        self.ask_save_path = self._ask_save_path
        #: Where the user's taught drawings live (None: the platform's user data folder).
        self.drawings_root: Path | None = None
        self._drawing_store = None
        self.train_dialog = self.teach_panel = self.drawings_browser = None

        self.canvas = Canvas()
        self.banner = QLabel()
        self.banner.setObjectName("untrained_banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#fff3cd; color:#664d03; padding:6px; "
                                  "border:1px solid #e0c060; border-radius:4px;")
        self.banner.setVisible(False)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.banner)
        lay.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.probabilities = ProbabilitiesPanel()
        self.input_view = InputView()
        self.feature_maps = FeatureMapsPanel()
        self.filters = FiltersPanel()
        self.edge_filters = EdgeFiltersPanel()
        self.docks: dict[str, QDockWidget] = {}
        self._make_docks()
        self.brush_slider = QSlider(Qt.Horizontal)
        self.brush_slider.setRange(4, 40)
        self.brush_slider.setFixedWidth(120)
        self.brush_slider.setToolTip("Brush size ( [ and ] )")
        self.brush_slider.valueChanged.connect(self._set_brush)
        build_menus(self)
        self.net_label = QLabel()
        self.statusBar().addPermanentWidget(self.net_label)
        self._wire()
        self._load_settings()
        self._on_weights_changed(self.controller.net, startup.warning)
        self.probabilities.set_waiting("warming up…")
        self.controller.start_warmup()

    # ------------------------------------------------------------------ layout
    def _dock(self, key: str, title: str, widget: QWidget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(f"dock_{key}")
        d.setWidget(widget)
        d.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                      | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, d)
        self.docks[key] = d
        return d

    def _make_docks(self) -> None:
        right = Qt.RightDockWidgetArea
        pred = self._dock("prediction", "Prediction", self.probabilities, Qt.BottomDockWidgetArea)
        inp = self._dock("input", "What the network sees", self.input_view,
                         Qt.BottomDockWidgetArea)
        self.splitDockWidget(pred, inp, Qt.Horizontal)
        fm = self._dock("feature_maps", "Feature maps", self.feature_maps, right)
        fl = self._dock("filters", "Filters", self.filters, right)
        ed = self._dock("edges", "Edge filters", self.edge_filters, right)
        self.tabifyDockWidget(fm, fl)
        self.tabifyDockWidget(fl, ed)
        fm.raise_()
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self.resizeDocks([fm], [560], Qt.Horizontal)
        self.resizeDocks([pred], [230], Qt.Vertical)
        self.resizeDocks([pred, inp], [520, 480], Qt.Horizontal)
        self.resize(1360, 860)

    def _wire(self) -> None:
        c = self.controller
        self.canvas.strokes_changed.connect(
            lambda: c.set_strokes(self.canvas.strokes(), LOGICAL_SIZE))
        self.canvas.history_changed.connect(self._update_actions)
        c.prediction_changed.connect(self.probabilities.set_probabilities)
        c.steps_changed.connect(self.input_view.set_steps)
        c.activations_changed.connect(self.feature_maps.set_activations)
        c.activations_changed.connect(self.edge_filters.set_activations)
        c.input_changed.connect(self.edge_filters.set_input)
        c.weights_changed.connect(self._on_weights_changed)
        for key, panel in (("feature_maps", self.feature_maps), ("edges", self.edge_filters)):
            # Background tabs skip per-frame work; they catch up when brought forward.
            self.docks[key].visibilityChanged.connect(
                lambda visible, p=panel: visible and QTimer.singleShot(0, p.refresh))
        c.error_occurred.connect(lambda title, msg: self.show_error(title, msg))
        c.status_changed.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.ready_changed.connect(self._on_ready)
        self._update_actions()

    # ------------------------------------------------------------------ hooks
    def show_error(self, title: str, message: str) -> None:
        """Tell the user about a problem. Default: a window-modal box that does not block."""
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        box.setObjectName("error_box")
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def _ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open weights", "", WEIGHTS_FILTER)
        return path or None

    def _ask_save_path(self) -> str | None:
        name = f"{self.controller.net.arch.name}-copy.npz"
        path, _ = QFileDialog.getSaveFileName(self, "Save a copy of the weights", name,
                                              WEIGHTS_FILTER)
        return path or None

    # ------------------------------------------------------------------ actions
    def open_weights(self, path=None) -> bool:
        path = path or self.ask_open_path()
        return bool(path) and self.controller.load_weights(path)

    def save_copy(self, path=None) -> bool:
        path = path or self.ask_save_path()
        return bool(path) and self.controller.save_copy(path)

    def show_architecture(self) -> ArchitectureDialog:
        dlg = ArchitectureDialog(self.controller.net, self.controller.path, self)
        return self._show_dialog(dlg)

    def show_about(self) -> AboutDialog:
        return self._show_dialog(AboutDialog(self))

    # ------------------------------------------------------------------ train / teach
    def drawing_store(self):
        """The user's drawings store (opened on first use), or None if it cannot be read."""
        if self._drawing_store is None:
            from ..data import DataError, DrawingStore

            try:
                self._drawing_store = DrawingStore(self.drawings_root)
            except DataError as exc:
                self.show_error("Cannot open your drawings", f"{exc}\n\nMove the file away "
                                "to start a new collection; nothing was changed.")
        return self._drawing_store

    def _err(self, title: str, message: str) -> None:
        self.show_error(title, message)  # looked up at call time: tests replace show_error

    def show_train_dialog(self):
        from .train_dialog import TrainDialog

        if self.train_dialog is None:
            self.train_dialog = TrainDialog(self.controller, self.drawing_store, self)
            self.train_dialog.show_error = self._err
        self.train_dialog.data.refresh()
        self._show_dialog(self.train_dialog)
        self.train_dialog.raise_()
        return self.train_dialog

    def show_teach(self):
        from .teach import TeachPanel

        if self.teach_panel is None:
            self.teach_panel = TeachPanel(self.canvas, self.controller, self.drawing_store,
                                          self._err, self)
            self.teach_panel.review_btn.clicked.connect(self.show_drawings)
            self.teach_panel.taught.connect(self._drawings_changed)
        self.teach_panel.refresh()
        self._show_dialog(self.teach_panel)
        self.teach_panel.raise_()
        return self.teach_panel

    def show_drawings(self):
        from .drawings_browser import DrawingsBrowser

        if self.drawings_browser is None:
            self.drawings_browser = DrawingsBrowser(self.drawing_store, self._err, self)
            self.drawings_browser.store_changed.connect(self._drawings_changed)
        self.drawings_browser.refresh()
        self._show_dialog(self.drawings_browser)
        self.drawings_browser.raise_()
        return self.drawings_browser

    def _drawings_changed(self, *_) -> None:
        for dlg in (self.drawings_browser, self.teach_panel):
            if dlg is not None and dlg.isVisible():
                dlg.refresh()
        if self.train_dialog is not None and not self.train_dialog.running:
            self.train_dialog.data.refresh()

    def _show_dialog(self, dlg):
        self._dialogs = [d for d in self._dialogs if d.isVisible()] + [dlg]
        dlg.show()
        return dlg

    def set_eraser(self, on: bool) -> None:
        self.canvas.eraser = on
        self.acts["eraser"].setChecked(on)
        self.canvas.update()

    def _set_brush(self, value: int) -> None:
        self.canvas.brush_size = float(value)
        self.canvas.update()

    def change_brush(self, delta: int) -> None:
        self.brush_slider.setValue(self.brush_slider.value() + delta)

    def set_theme(self, name: str) -> None:
        theme.style_window(self, theme.apply(name))
        self.settings.set("theme", name)

    def _update_actions(self) -> None:
        acts = getattr(self, "acts", {})
        if "undo" in acts:
            acts["undo"].setEnabled(self.canvas.can_undo())
            acts["redo"].setEnabled(self.canvas.can_redo())

    # ------------------------------------------------------------------ controller events
    def _on_ready(self, ready: bool) -> None:
        if ready and self.controller.probabilities is None:
            self.probabilities.set_probabilities(None)

    def _on_weights_changed(self, net, warning: str | None = None) -> None:
        self.feature_maps.set_network(net)
        self.filters.set_network(net)
        self.edge_filters.set_network(net)
        untrained = weights_locator.is_untrained(net)
        if warning is None and untrained:
            warning = "This network is untrained: its guesses are random."
        elif warning is None and not (net.metadata or {}).get("training"):
            warning = ("This weights file has no training record: if it was never trained, "
                       "its guesses are random.")
        self.banner.setText(f"⚠ {warning}" if warning else "")
        self.banner.setVisible(bool(warning))
        path = self.controller.path
        where = path.name if path else "not saved"
        self.net_label.setText(f"{net.arch.name} · {net.param_count():,} params · {where}")
        group: QActionGroup | None = getattr(self, "network_group", None)
        if group is not None:
            shipped = weights_locator.shipped_weights()
            for act in group.actions():
                p = shipped.get(act.data())
                act.setChecked(bool(p and path and Path(p).resolve() == Path(path).resolve()))

    # ------------------------------------------------------------------ settings
    def _load_settings(self) -> None:
        s = self.settings
        geo = s.get("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = s.get("window_state")
        if state is not None:
            self.restoreState(state)
        self.brush_slider.setValue(int(s.get("brush_size", 16, int)))
        self._set_brush(self.brush_slider.value())
        self.feature_maps.prefer_layers(s.get_list("feature_map_layers"))
        self.feature_maps.per_channel_box.setChecked(s.get("per_channel", False, bool))
        name = s.get("theme", "system") or "system"
        theme.style_window(self, theme.apply(name))
        for act in getattr(self, "theme_group", QActionGroup(self)).actions():
            act.setChecked(act.data() == name)

    def save_settings(self) -> None:
        s = self.settings
        s.set("geometry", self.saveGeometry())
        s.set("window_state", self.saveState())
        s.set("brush_size", self.brush_slider.value())
        chosen = self.feature_maps.preferred_layers()
        if chosen is None:
            s.qs.remove("feature_map_layers")
        else:
            s.set_list("feature_map_layers", chosen)
        s.set("per_channel", self.feature_maps.per_channel)
        s.sync()

    def closeEvent(self, ev):
        self.save_settings()
        for d in self._dialogs + [self.train_dialog]:
            if d is not None:
                d.close()
        super().closeEvent(ev)

    def add_action(self, key: str, action: QAction, shortcut=None) -> QAction:
        if shortcut is not None:
            seqs = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in seqs])
        self.acts[key] = action
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action
