"""The main window: canvas in the centre, panels in docks, menus, shortcuts, settings.

Docks are made in one place (``_make_docks``, from a list). The companions (Train, Teach, My
drawings, Architecture, About) live in ``self.side`` (``side_windows.SideWindows``); the menus
return their actions (``self.menus``, a ``menus.MenuActions``). Every error the app reports
arrives through the controller's ``error_occurred`` and is shown here (``show_error``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
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
from .menus import build_menus
from .settings import Settings
from .side_windows import SideWindows

# The panels (pyqtgraph) and the explain docks (the engine, Numba) are imported in
# ``MainWindow.finish``: on a staged start that runs after the window is on screen.

ONNX_FILTER = "ONNX model (*.onnx);;All files (*)"
REST_AFTER_MS = 1000  # a staged start builds the rest then at the latest (cold: compiling)
BANNER_STYLE = ("background:#fff3cd; color:#664d03; padding:6px; border:1px solid #e0c060; "
                "border-radius:4px;")


class MainWindow(QMainWindow):
    """The main window. ``MainWindow(startup)`` builds everything at once. A staged start
    (``MainWindow(None, settings, load=...)``, what ``run_app`` does) builds only the canvas
    and the docks' frames, so the window can be shown at once; after the first paint
    :meth:`go_live` loads the network (``load()`` -> Startup, loading in a thread since the
    window was made), starts its warm-up and adds the prediction and preprocessing panels;
    once it is warm, :meth:`finish` imports pyqtgraph and fills the other docks. Strokes
    drawn meanwhile are read as soon as the network is warm."""

    def __init__(self, startup: weights_locator.Startup | None,
                 settings: Settings | None = None, *, load=None):
        super().__init__()
        self.setObjectName("main_window")
        self.setWindowTitle("Draw a digit")  # Qt appends the app's name: "… — drawcnn"
        self.settings = settings or Settings()
        self.controller = Controller(startup.net if startup else None,
                                     startup.path if startup else None, self)
        self.side = SideWindows(self)
        #: Hooks tests (or embedding code) may replace: never block on a modal file dialog.
        self.ask_open_path = self._ask_open_path
        self.ask_save_path = self._ask_save_path
        self.ask_export_path = self._ask_export_path

        self.canvas = Canvas()
        self.banner = QLabel(objectName="untrained_banner", wordWrap=True, visible=False)
        self.banner.setStyleSheet(BANNER_STYLE)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.banner)
        lay.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.docks: dict[str, QDockWidget] = {}
        self._make_docks()
        self.brush_slider = QSlider(Qt.Horizontal)
        self.brush_slider.setRange(4, 40)
        self.brush_slider.setFixedWidth(120)
        self.brush_slider.setToolTip("Brush size ( [ and ] )")
        self.brush_slider.valueChanged.connect(self._set_brush)
        self._load_shell_settings()
        self.finished = False  # everything built
        self.live = False  # the network and the panels a prediction needs are in place
        self._layout_restored = False  # the remembered dock and toolbar layout is applied
        self._load = None
        if startup is not None:
            self.finish(startup)
            return
        self._load = load or (lambda: weights_locator.load_startup(
            None, remembered=self.settings.get("weights")))
        self.statusBar().showMessage("Loading the network…")
        self.canvas.strokes_changed.connect(self._keep_strokes)
        self.canvas.installEventFilter(self)  # go live after the first paint
        QTimer.singleShot(250, self.go_live)  # or soon anyway (a window never shown)

    def eventFilter(self, obj, ev):
        if obj is self.canvas and ev.type() == QEvent.Paint and not self.live:
            self.canvas.removeEventFilter(self)
            QTimer.singleShot(0, self.go_live)
        return False

    def _keep_strokes(self) -> None:
        """Before the panels exist: hand the strokes to the controller (read once warm)."""
        if not self.live:
            self.controller.set_strokes(self.canvas.strokes(), LOGICAL_SIZE)

    def go_live(self, startup: weights_locator.Startup | None = None) -> None:
        """What a prediction needs (once): the network (warming up), the prediction and
        preprocessing panels. On a staged start the rest (:meth:`finish`: pyqtgraph, the
        feature maps, filters, explain docks, menus, remembered layout) follows once the
        network is warm, so it does not compete with the warm-up for the interpreter; or
        after ``REST_AFTER_MS`` anyway (a cold cache compiles for seconds)."""
        if self.live:
            return
        self.live = True
        if startup is None:
            startup = self._load()
            self.controller.set_network(startup.net, startup.path)
        self._startup = startup
        self.controller.start_warmup()  # Numba loads its kernels while the panels are built
        from .panels.input_view import InputView
        from .panels.probabilities import ProbabilitiesPanel

        self.probabilities = ProbabilitiesPanel()
        self.input_view = InputView()
        self._set_panels((("prediction", self.probabilities), ("input", self.input_view)))
        self.menus = build_menus(self)  # here, so the window's layout is final once live
        self.acts = self.menus.acts
        self.net_label = QLabel()
        self.statusBar().addPermanentWidget(self.net_label)
        if self._load is not None:  # a staged start: the panels' wiring takes over
            self.canvas.strokes_changed.disconnect(self._keep_strokes)
        self._wire_live()
        self._set_banner(self.controller.net, startup.warning)
        if not self.controller.reads:
            self.probabilities.set_waiting("warming up…")
        self._restore_layout()  # every dock's frame and the toolbar exist now
        if self._load is not None:
            self.controller.ready_changed.connect(self._finish_soon)
            QTimer.singleShot(REST_AFTER_MS, self._finish_soon)

    def _finish_soon(self, *_) -> None:
        QTimer.singleShot(0, self.finish)

    def finish(self, startup: weights_locator.Startup | None = None) -> None:
        """Everything (once): what :meth:`go_live` builds, then pyqtgraph, the other panels,
        the explain docks, the menus and the remembered layout."""
        self.go_live(startup)
        if self.finished:
            return
        self.finished = True
        from .app import configure_pyqtgraph

        configure_pyqtgraph()
        self.probabilities.add_chart()  # the bars: pyqtgraph, in the place kept for them
        from .explain_docks import add_explain_docks
        from .panels.edge_filters import EdgeFiltersPanel
        from .panels.feature_maps import FeatureMapsPanel
        from .panels.filters import FiltersPanel

        self.feature_maps = FeatureMapsPanel()
        self.filters = FiltersPanel()
        self.edge_filters = EdgeFiltersPanel()
        self._set_panels((("feature_maps", self.feature_maps), ("filters", self.filters),
                          ("edges", self.edge_filters)))
        self.explain = add_explain_docks(self, self.controller)  # inspector, loss, why, max
        self._wire()
        self._load_settings()
        c = self.controller
        self._on_weights_changed(c.net, self._startup.warning)
        if c.reading is not None:  # a drawing read before these panels existed
            self.feature_maps.set_activations(c.activations)
            self.edge_filters.set_input(c.input_image)
            self.edge_filters.set_activations(c.activations)
            self.explain._on_reading(c.reading)

    def _set_panels(self, panels) -> None:
        for key, widget in panels:
            dock = self.docks[key]
            placeholder = dock.widget()
            dock.setWidget(widget)
            widget.show()  # a widget set into a shown dock is not shown by itself
            if placeholder is not None:
                placeholder.deleteLater()

    # ------------------------------------------------------------------ layout
    def _make_docks(self) -> None:
        """Every dock of the window: made from one list, then arranged."""
        bottom, right = Qt.BottomDockWidgetArea, Qt.RightDockWidgetArea
        for key, title, area in (
            ("prediction", "Prediction", bottom),
            ("input", "What the network sees", bottom),
            ("feature_maps", "Feature maps", right),
            ("filters", "Filters", right),
            ("edges", "Edge filters", right),
            ("explain", "Explain", Qt.LeftDockWidgetArea),  # filled by explain_docks
            ("maximize", "What filters want to see", right),
        ):
            dock = QDockWidget(title, self, objectName=f"dock_{key}")
            # A frame now; its panel comes in ``go_live`` or ``finish`` (at once, or after the
            # first paint): the window keeps its layout while they arrive.
            dock.setWidget(QLabel("Loading…", alignment=Qt.AlignCenter))
            self.addDockWidget(area, dock)
            self.docks[key] = dock
        d = self.docks
        self.splitDockWidget(d["prediction"], d["input"], Qt.Horizontal)
        self.tabifyDockWidget(d["feature_maps"], d["filters"])
        self.tabifyDockWidget(d["filters"], d["edges"])
        self.tabifyDockWidget(d["edges"], d["maximize"])
        d["feature_maps"].raise_()
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self.resizeDocks([d["explain"]], [420], Qt.Horizontal)
        self.resizeDocks([d["feature_maps"]], [560], Qt.Horizontal)
        self.resizeDocks([d["prediction"]], [230], Qt.Vertical)
        self.resizeDocks([d["prediction"], d["input"]], [520, 480], Qt.Horizontal)
        self.resize(1360, 860)

    def _wire_live(self) -> None:
        c = self.controller
        self.canvas.strokes_changed.connect(
            lambda: c.set_strokes(self.canvas.strokes(), LOGICAL_SIZE))
        c.reading_changed.connect(self.probabilities.set_reading)
        c.steps_changed.connect(self.input_view.set_steps)
        self._refresh_when_shown((("prediction", self.probabilities),
                                  ("input", self.input_view)))
        c.error_occurred.connect(self.show_error)
        c.status_changed.connect(lambda text: self.statusBar().showMessage(text, 8000))
        c.ready_changed.connect(self._on_ready)
        self.canvas.history_changed.connect(self._update_actions)
        self._update_actions()

    def _wire(self) -> None:
        c = self.controller
        c.activations_changed.connect(self.feature_maps.set_activations)
        c.activations_changed.connect(self.edge_filters.set_activations)
        c.input_changed.connect(self.edge_filters.set_input)
        c.weights_changed.connect(self._on_weights_changed)
        self._refresh_when_shown((("feature_maps", self.feature_maps),
                                  ("edges", self.edge_filters)))

    def _refresh_when_shown(self, panels) -> None:
        """Hidden panels skip per-frame work; they catch up when brought forward."""
        for key, panel in panels:
            self.docks[key].visibilityChanged.connect(
                lambda visible, p=panel: visible and QTimer.singleShot(0, p.refresh))

    # ------------------------------------------------------------------ errors and paths
    def show_error(self, title: str, message: str) -> None:
        """Show a reported error: a box over the window in front (it does not block)."""
        front = QApplication.activeWindow()  # e.g. the train dialog that failed
        parent = self if front is None or isinstance(front, QMessageBox) else front
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, parent)
        box.setObjectName("error_box")
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.statusBar().showMessage(f"{title}: {message.splitlines()[0]}", 8000)

    def _ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open weights", "",
                                              weights_locator.WEIGHTS_FILTER)
        return path or None

    def _ask_save_path(self) -> str | None:
        name = f"{self.controller.net.arch.name}-copy.npz"
        path, _ = QFileDialog.getSaveFileName(self, "Save a copy of the weights", name,
                                              weights_locator.WEIGHTS_FILTER)
        return path or None

    def _ask_export_path(self) -> str | None:
        name = f"{self.controller.net.arch.name}.onnx"
        path, _ = QFileDialog.getSaveFileName(self, "Export as ONNX", name, ONNX_FILTER)
        return path or None

    # ------------------------------------------------------------------ actions
    def open_weights(self, path=None) -> bool:
        path = path or self.ask_open_path()
        return bool(path) and self.controller.load_weights(path)

    def save_copy(self, path=None) -> bool:
        path = path or self.ask_save_path()
        return bool(path) and self.controller.save_copy(path)

    def export_onnx(self, path=None) -> bool:
        """File → Export…: the network in use as a standard ONNX model (fast: GUI thread)."""
        path = path or self.ask_export_path()
        if not path:
            return False

        def export():
            from ..export_onnx import export_onnx

            return export_onnx(self.controller.net, path)

        ok, _ = self.controller.errors.attempt("Cannot export the network", export)
        if ok:
            self.statusBar().showMessage(f"Exported {self.controller.net.arch.name} to {path}",
                                         8000)
        return ok

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
        self.menus.check_theme(name)
        self.settings.set("theme", name)

    def _update_actions(self) -> None:
        self.acts["undo"].setEnabled(self.canvas.can_undo())
        self.acts["redo"].setEnabled(self.canvas.can_redo())

    # ------------------------------------------------------------------ controller events
    def _on_ready(self, ready: bool) -> None:
        if ready and self.controller.reading is None:
            self.probabilities.set_probabilities(None)

    def _set_banner(self, net, warning: str | None = None) -> None:
        warning = warning or weights_locator.weights_warning(net)
        self.banner.setText(f"⚠ {warning}" if warning else "")
        self.banner.setVisible(bool(warning))

    def _on_weights_changed(self, net, warning: str | None = None) -> None:
        self.feature_maps.set_network(net)
        self.filters.set_network(net)
        self.edge_filters.set_network(net)
        self._set_banner(net, warning)
        path = self.controller.path
        self.net_label.setText(f"{net.arch.name} · {net.param_count():,} params · "
                               f"{path.name if path else 'not saved'}")
        self.menus.check_network(weights_locator.shipped_name(path))
        if path is not None:  # the next launch starts with it
            self.settings.set("weights", weights_locator.remember_as(path))

    # ------------------------------------------------------------------ settings
    def _load_shell_settings(self) -> None:
        """What the window needs before it is shown: its size, brush and colours."""
        s = self.settings
        geo = s.get("geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        self.brush_slider.setValue(int(s.get("brush_size", 16, int)))
        self._set_brush(self.brush_slider.value())
        theme.style_window(self, theme.apply(s.get("theme", "system") or "system"))

    def _restore_layout(self) -> None:
        """The docks and the toolbar where the user left them (once, as the window goes
        live: a change made before the last panels arrive is not undone by them)."""
        state = self.settings.get("window_state")
        if state is not None:
            self.restoreState(state)
        self._layout_restored = True

    def _load_settings(self) -> None:
        """The rest, once every dock and panel exists."""
        s = self.settings
        self.feature_maps.prefer_layers(s.get_list("feature_map_layers"))
        self.feature_maps.per_channel_box.setChecked(s.get("per_channel", False, bool))
        name = s.get("theme", "system") or "system"
        theme.style_window(self, theme.apply(name))
        self.menus.check_theme(name)

    def save_settings(self) -> None:
        """What exists now, whenever the window closes (a staged start may not have finished):
        size and brush always; the layout once it was restored (as the window went live:
        the toolbar exists); the feature maps' choices once that panel exists. What does not
        exist yet keeps its remembered value (the theme is saved when chosen)."""
        s = self.settings
        s.set("geometry", self.saveGeometry())
        s.set("brush_size", self.brush_slider.value())
        if self._layout_restored:
            s.set("window_state", self.saveState())
        if self.finished:
            chosen = self.feature_maps.preferred_layers()
            if chosen is None:
                s.qs.remove("feature_map_layers")
            else:
                s.set_list("feature_map_layers", chosen)
            s.set("per_channel", self.feature_maps.per_channel)
        s.sync()

    def closeEvent(self, ev):
        self.save_settings()
        self.side.close_all()
        super().closeEvent(ev)
