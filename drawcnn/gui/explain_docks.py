"""The explanation docks and when they do their work.

``add_explain_docks(window, controller)`` adds an "Explain" dock (tabs: Why this digit, Neuron
inspector, Logits → loss) and a "What filters want to see" dock, and an ``ExplainHub`` that
feeds them:

* while drawing, only the cheap views, only when they can be seen, at most LIVE_HZ: the
  inspector (array slicing) and the softmax trace (reuses the update's activations); on
  pen-up (and for edits without the mouse: undo, clear) every visible view at once;
* the Why overlays (two backward passes and 49 forward passes) when the pen is lifted and
  their dock can be seen, in a worker thread;
* activation maximisation when asked, in a worker thread, cached per network.

Both workers' jobs wait for the warm kernels (one rule, ``JobRunner.wait_for``): a request
made while the warm-up compiles is held and starts on ``ready_changed``.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QTabWidget, QWidget

from .panels.inspector import NeuronInspector
from .panels.maximize import MaximizeGallery
from .panels.softmax_trace import SoftmaxTraceView
from .panels.visibility import on_screen
from .panels.why import WhyView

PEN_DOWN = (QEvent.MouseButtonPress, QEvent.TabletPress)
PEN_UP = (QEvent.MouseButtonRelease, QEvent.TabletRelease)
LIVE_HZ = 12  # inspector and softmax refreshes per second while the pen moves


class ExplainHub(QObject):
    def __init__(self, window, controller):
        super().__init__(window)
        self.window, self.controller = window, controller
        self.inspector = NeuronInspector()
        self.softmax = SoftmaxTraceView()
        self.why = WhyView()
        self.maximize = MaximizeGallery()
        self.pen_down = False
        self._stale = {"inspector": True, "softmax": True, "why": True}
        self.pages: dict[str, QWidget] = {}
        self._live_timer = QTimer(self, singleShot=True)
        self._live_timer.timeout.connect(self._live)
        self.docks = self._make_docks()
        c = controller
        c.reading_changed.connect(self._on_reading)
        c.weights_changed.connect(self._on_weights)
        c.ready_changed.connect(self._catch_up_all)
        window.feature_maps.cell_clicked.connect(self.show_cell)
        self.softmax.label_changed.connect(
            lambda d: self.why.target_box.setCurrentIndex(0 if d is None else d + 1))
        for panel in (self.why, self.maximize):
            panel.error.connect(c.report_error)
            panel.runner.wait_for(lambda: c.ready, c.ready_changed)
        window.canvas.installEventFilter(self)
        window.installEventFilter(self)
        self._on_weights(c.net)

    def _make_docks(self) -> dict[str, QDockWidget]:
        """One "Explain" dock (left) whose tabs are the three live views, and the gallery
        tabbed with the right-hand panels. (One dock with tabs rather than three tabbed docks:
        Qt 6.11 leaves a stale tab bar on screen for a second dock tab group made before the
        window is shown.)"""
        w = self.window
        self.tabs = QTabWidget(objectName="explain_tabs", documentMode=True)
        for key, label, widget in (("why", "Why this digit", self.why),
                                   ("inspector", "Neuron inspector", self.inspector),
                                   ("softmax", "Logits → loss", self.softmax)):
            self.tabs.addTab(widget, label)
            self.pages[key] = widget
        self.tabs.currentChanged.connect(lambda _: QTimer.singleShot(0, self, self._catch_up_all))
        if "explain" in w.docks and "maximize" in w.docks:  # the window's frames (its layout)
            explain, maxi = w.docks["explain"], w.docks["maximize"]
            for dock, widget in ((explain, self.tabs), (maxi, self.maximize)):
                placeholder = dock.widget()
                dock.setWidget(widget)
                widget.show()
                if placeholder is not None:
                    placeholder.deleteLater()
        else:
            explain = QDockWidget("Explain", w, objectName="dock_explain")
            explain.setWidget(self.tabs)
            w.addDockWidget(Qt.LeftDockWidgetArea, explain)
            maxi = QDockWidget("What filters want to see", w, objectName="dock_maximize")
            maxi.setWidget(self.maximize)
            if "edges" in w.docks:
                w.tabifyDockWidget(w.docks["edges"], maxi)  # joins the existing tab group
            else:
                w.addDockWidget(Qt.RightDockWidgetArea, maxi)
            w.docks.get("feature_maps", maxi).raise_()
            w.resizeDocks([explain], [420], Qt.Horizontal)
        docks = {"explain": explain, "maximize": maxi}
        w.docks.update(docks)  # listed in the View menu with the other panels
        explain.visibilityChanged.connect(
            lambda visible: visible and QTimer.singleShot(0, self, self._catch_up_all))
        return docks

    def show_panel(self, key: str) -> None:
        """Bring a view forward: "why", "inspector", "softmax" or "maximize"."""
        if key == "maximize":
            self.docks["maximize"].show()
            self.docks["maximize"].raise_()
            return
        self.docks["explain"].show()
        self.docks["explain"].raise_()
        self.tabs.setCurrentWidget(self.pages[key])

    def _catch_up_all(self, *_) -> None:
        for key in self._stale:
            if self._visible(key):
                self._catch_up(key)

    # ------------------------------------------------------------------ events
    def eventFilter(self, obj, ev):
        kind = ev.type()
        if obj is self.window.canvas:
            if kind in PEN_DOWN:
                self.pen_down = True
            elif kind in PEN_UP:
                self.pen_down = False
                QTimer.singleShot(120, self, self._catch_up_all)
        elif obj is self.window and kind == QEvent.Close:
            self.why.runner.shutdown()
            self.maximize.shutdown()
        return False

    def _visible(self, key: str) -> bool:
        return on_screen(self.pages[key])

    def _on_weights(self, net) -> None:
        self.why.set_network(net)
        self.maximize.set_network(net)

    def _on_reading(self, reading) -> None:
        for key in self._stale:
            self._stale[key] = True
        if self.pen_down:  # live while drawing, at most LIVE_HZ (readable, and cheap)
            if not self._live_timer.isActive():
                self._live_timer.start(int(1000 / LIVE_HZ))
            return
        self._catch_up_all()

    def _live(self) -> None:
        for key in ("inspector", "softmax"):
            if self._visible(key):
                self._catch_up(key)

    def _catch_up(self, key: str) -> None:
        # "why" waits for the pen to lift (it stays stale until then); its runner holds the
        # request until the kernels are warm
        if not self._stale.get(key) or (key == "why" and self.pen_down):
            return
        self._stale[key] = False
        c = self.controller
        r = c.reading
        image = None if r is None else r.model_input
        acts = None if r is None else r.activations
        if key == "inspector":
            self.inspector.set_context(c.net, image, acts)
        elif key == "softmax":
            self.softmax.set_context(c.net, image, acts)
        elif key == "why":
            self.why.set_context(c.net, image, None if image is None else r.probabilities)
            self.why.request()

    def show_cell(self, layer: str, index) -> None:
        """A feature-map cell was clicked: show its arithmetic."""
        self.show_panel("inspector")
        self._stale["inspector"] = True
        self._catch_up("inspector")
        self.inspector.inspect(layer, index)


def add_explain_docks(window, controller) -> ExplainHub:
    """Add the explanation docks to ``window`` (registered in ``window.docks``)."""
    return ExplainHub(window, controller)
