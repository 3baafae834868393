"""Every layer's output for the current drawing, updated live while drawing.

Each layer is ONE mosaic ImageItem of its channels (1 px separators) with its name, shape and
colour bar; dense layers are heat strips, the ten-class output strip labelled with its digits.
The user picks which layers to show from the "Layers" menu.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from . import viz
from .help import HelpButton
from .help_texts import DIVERGING_LEGEND, SEQUENTIAL_LEGEND
from .mosaic import MosaicItem, opaque_view
from .visibility import on_screen

HIDDEN_BY_DEFAULT = ("flatten", "dropout")
MAX_ROW_HEIGHT = 240
MIN_ROW_HEIGHT = 22
TITLE_HEIGHT = MosaicItem.HEADER_HEIGHT  # the title row: name, shape and colour bar


def shape_text(shape) -> str:
    return "×".join(str(int(s)) for s in shape)


def class_strip(layers, name: str, n_classes: int = 10) -> bool:
    """True for the network's output strip (the last layer, ``n_classes`` wide: the logits)."""
    return bool(layers) and layers[-1][0] == name and tuple(layers[-1][2]) == (n_classes,)


def index_mosaic(shape) -> np.ndarray:
    """The mosaic of flat cell indices (-1 in gaps), laid out as MosaicItem.set_data lays out
    a layer of this shape: pixel (y, x) of a layer's image -> the cell drawn there."""
    flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    if len(shape) == 3:
        return viz.tile(flat, aspect=4.0, fill=-1, dtype=np.int64)
    return viz.tile(flat.reshape(-1, 1, 1), cols=min(flat.size, 64), sep=0, fill=-1,
                    dtype=np.int64)


class FeatureMapsPanel(QWidget):
    visible_layers_changed = Signal(list)
    cell_clicked = Signal(str, tuple)  # (layer, (channel, row, col) or (unit,))

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("feature_maps")
        self._layers: list[tuple[str, str, tuple]] = []  # (name, kind, shape)
        self._visible: list[str] = []
        self._items: dict[str, MosaicItem] = {}
        self._acts: dict[str, np.ndarray] = {}
        self._preferred: list[str] | None = None
        self.per_channel = False
        self._stale = False  # activations arrived while hidden: render when shown
        self._fg = None  # the theme's title colour, once a theme is applied

        self.layers_button = QToolButton(text="Layers ▾")
        self.layers_button.setPopupMode(QToolButton.InstantPopup)
        self.layers_menu = QMenu(self)
        self.layers_button.setMenu(self.layers_menu)
        self.per_channel_box = QCheckBox("Scale each channel")
        self.per_channel_box.setToolTip("Normalise every channel on its own (shows weak maps)")
        self.per_channel_box.toggled.connect(self._set_per_channel)
        self.info = QLabel("")
        self.help_button = HelpButton("feature_maps")
        bar = QHBoxLayout()
        bar.addWidget(self.layers_button)
        bar.addWidget(self.per_channel_box)
        bar.addStretch(1)
        bar.addWidget(self.info)
        bar.addWidget(self.help_button)
        self.legend = QLabel(f"<small>Colours: {DIVERGING_LEGEND} (convolution, dense); "
                             f"{SEQUENTIAL_LEGEND} (after ReLU, pooling). The bar by each "
                             "layer gives its scale.</small>")
        self.legend.setObjectName("feature_maps_legend")
        self.legend.setWordWrap(True)

        self.graphics = opaque_view(pg.GraphicsLayoutWidget())
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(1)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.graphics)
        self.scroll.verticalScrollBar().valueChanged.connect(lambda _: self._show(True))
        # Row heights follow the viewport's width, which settles after this panel's resize
        self.scroll.viewport().installEventFilter(self)
        self._fit_width = 0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addWidget(self.legend)
        lay.addWidget(self.scroll, 1)

    # ------------------------------------------------------------------ layers
    def layer_names(self) -> list[str]:
        return [name for name, _, _ in self._layers]

    def visible_layers(self) -> list[str]:
        return list(self._visible)

    def set_network(self, net) -> None:
        self._layers = [(r.name, r.kind, tuple(r.output_shape)) for r in net.summary()]
        names = self.layer_names()
        if self._preferred is not None and any(n in names for n in self._preferred):
            visible = [n for n in names if n in self._preferred]
        else:
            visible = [n for n in names if not n.startswith(HIDDEN_BY_DEFAULT)]
        self._acts = {}
        self._rebuild_menu()
        self.set_visible_layers(visible)

    def set_visible_layers(self, names) -> None:
        wanted = set(names)
        self._visible = [n for n in self.layer_names() if n in wanted]
        for act in self.layers_menu.actions():
            if act.data():
                act.blockSignals(True)
                act.setChecked(act.data() in wanted)
                act.blockSignals(False)
        self._rebuild_items()
        self.visible_layers_changed.emit(self.visible_layers())

    def prefer_layers(self, names: list[str] | None) -> None:
        """Layers to show when a network with such layer names is set (from settings)."""
        self._preferred = names

    def _rebuild_menu(self) -> None:
        self.layers_menu.clear()
        for label, pick in (("All", lambda n: True),
                            ("Conv only", lambda n: n.startswith("conv")),
                            ("Default", lambda n: not n.startswith(HIDDEN_BY_DEFAULT))):
            act = QAction(label, self.layers_menu)
            act.triggered.connect(
                lambda _=False, p=pick: self.choose_layers([n for n in self.layer_names() if p(n)]))
            self.layers_menu.addAction(act)
        self.layers_menu.addSeparator()
        for name, kind, shape in self._layers:
            act = QAction(f"{name}  ({kind}, {shape_text(shape)})", self.layers_menu)
            act.setCheckable(True)
            act.setData(name)
            act.toggled.connect(self._on_toggled)
            self.layers_menu.addAction(act)

    def choose_layers(self, names) -> None:
        """The user's choice: shown now, and remembered (also for other networks)."""
        self._preferred = list(names)
        self.set_visible_layers(names)

    def preferred_layers(self) -> list[str] | None:
        return None if self._preferred is None else list(self._preferred)

    def _on_toggled(self, _checked: bool) -> None:
        names = [a.data() for a in self.layers_menu.actions() if a.data() and a.isChecked()]
        self.choose_layers(names)

    def _rebuild_items(self) -> None:
        self.graphics.ci.clear()
        self._items = {}
        shapes = {n: s for n, _, s in self._layers}
        for i, name in enumerate(self._visible):
            item = MosaicItem(self.graphics.ci, 2 * i, f"<b>{name}</b> {shape_text(shapes[name])}")
            if self._fg is not None:
                item.set_title_color(self._fg)
            if class_strip(self._layers, name):  # the logits: label each cell with its digit
                n = shapes[name][0]
                item.set_captions([str(d) for d in range(n)], [(d + 0.5, 0.5) for d in range(n)])
                item.set_title(f"<b>{name}</b> {shape_text(shapes[name])}: one score (logit) "
                               "per digit")
            self._items[name] = item
        self.info.setText(f"{len(self._visible)} of {len(self._layers)} layers")
        self._show()
        self._fit_heights()

    # ------------------------------------------------------------------ data
    def _set_per_channel(self, on: bool) -> None:
        self.per_channel = on
        self._show()

    def set_activations(self, acts) -> None:
        self._acts = {} if acts is None else {n: a[0] for n, a in acts}
        if on_screen(self):
            self._show()
        else:
            self._stale = True  # a background tab costs nothing while drawing

    def refresh(self) -> None:
        """Catch up after being hidden (connected to the dock's visibilityChanged)."""
        if self._stale:
            self._stale = False
            self._show()

    def showEvent(self, ev):
        super().showEvent(ev)
        self.refresh()

    def _in_view(self, item: MosaicItem) -> bool:
        top = self.scroll.verticalScrollBar().value()
        bottom = top + self.scroll.viewport().height()
        g = item.view.geometry()
        return g.bottom() >= top - 4 and g.top() <= bottom + 4

    def _show(self, only_stale: bool = False) -> None:
        """Render the current activations; rows scrolled out of view wait until seen."""
        relayout = False
        shapes = {n: s for n, _, s in self._layers}
        for name, item in self._items.items():
            if only_stale and not item.stale:
                continue
            if item.mosaic is not None and not self._in_view(item):
                item.stale = True  # out of sight: no work per frame
                continue
            a = self._acts.get(name)
            if a is None:
                a = np.zeros(shapes[name], np.float32)
            before = item.shape
            item.set_data(a, per_channel=self.per_channel)
            item.stale = False
            relayout |= item.shape != before
        if relayout:
            self._fit_heights()

    def eventFilter(self, obj, ev):
        if (ev.type() == QEvent.Resize and obj is self.scroll.viewport()
                and obj.width() != self._fit_width):
            self._fit_heights()
            self._show(only_stale=True)
        return False

    def _fit_heights(self) -> None:
        self._fit_width = self.scroll.viewport().width()
        width = max(self._fit_width - 8, 100)
        layout = self.graphics.ci.layout
        total = 4
        for i, item in enumerate(self._items.values()):
            h = int(min(MAX_ROW_HEIGHT, max(MIN_ROW_HEIGHT, width * item.aspect())))
            layout.setRowFixedHeight(2 * i, TITLE_HEIGHT)
            layout.setRowFixedHeight(2 * i + 1, h)
            total += h + TITLE_HEIGHT + 2
        self.graphics.setMinimumHeight(total)
        self.graphics.setMaximumHeight(total)

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self._fit_heights()
        self._show(only_stale=True)

    def cell_at(self, name: str, x: float, y: float) -> tuple | None:
        """The cell of layer ``name`` drawn at pixel (x, y) of its mosaic, None in a gap."""
        shape = {n: s for n, _, s in self._layers}[name]
        ids = index_mosaic(shape)
        item = self._items.get(name)
        if item is None or item.shape != ids.shape[:2]:
            return None
        c, r = int(np.floor(x)), int(np.floor(y))
        if not (0 <= r < ids.shape[0] and 0 <= c < ids.shape[1]) or ids[r, c] < 0:
            return None
        return tuple(int(v) for v in np.unravel_index(int(ids[r, c]), shape))

    def _on_click(self, ev) -> None:
        for name, item in self._items.items():
            p = item.image.mapFromScene(ev.scenePos())
            cell = self.cell_at(name, p.x(), p.y()) if item.mosaic is not None else None
            if cell is not None:
                self.cell_clicked.emit(name, cell)
                return

    def apply_theme(self, background, foreground) -> None:
        self._fg = foreground
        self.graphics.setBackground(background)
        for item in self._items.values():
            item.set_title_color(foreground)
