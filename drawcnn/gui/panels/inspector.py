"""Neuron inspector: one cell's arithmetic on the current drawing, with the engine's numbers.

Click a cell of a feature map (or a unit of a dense strip): the receptive field is outlined on
the 28x28 input and on the previous layer, and the patch, the kernel (every input channel),
their products, the sum, the bias, the pre-activation and the ReLU are shown; for pooling the
window and its winner. Everything comes from ``drawcnn.explain.neuron``, which reads the
activations and parameters the engine used.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from ... import explain
from . import explain_art as art
from . import viz

IMG = 136
TILES = 120  # side of the patch / kernel / products mosaics
FIELD, WINNER = "#17c3b2", "#ffd166"


def _num(v: float) -> str:
    return f"{v:+.3f}" if abs(v) < 1000 else f"{v:+.3g}"


def _grid(a: np.ndarray, mark=None) -> str:
    """A small numeric grid as an HTML table (``mark``: (row, col) shown bold)."""
    rows = []
    for i, row in enumerate(np.atleast_2d(a)):
        cells = "".join(
            f"<td align='right'>{'<b>' if mark == (i, j) else ''}{v:.2f}"
            f"{'</b>' if mark == (i, j) else ''}</td>" for j, v in enumerate(row))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table cellspacing='0' cellpadding='2' border='1'>{''.join(rows)}</table>"


class NeuronInspector(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("neuron_inspector")
        self.net = None
        self.image: np.ndarray | None = None
        self.acts: dict | None = None
        self._act_list = None
        self.selection: tuple[str, tuple] | None = None
        self.trace: explain.NeuronTrace | None = None
        self.title = QLabel("Click a cell of a feature map (or a unit of a dense layer).")
        self.title.setWordWrap(True)
        self.input_img, self.prev_img = QLabel(), QLabel()
        self.input_cap, self.prev_cap = QLabel("input 28×28"), QLabel("previous layer")
        self.patch_img, self.kernel_img, self.prod_img = QLabel(), QLabel(), QLabel()
        self.patch_cap, self.kernel_cap = QLabel("patch"), QLabel("kernel")
        self.prod_cap = QLabel("patch × kernel")
        grid = QGridLayout()
        for col, (img, cap) in enumerate(((self.input_img, self.input_cap),
                                          (self.prev_img, self.prev_cap))):
            img.setFixedSize(IMG, IMG)
            img.setAlignment(Qt.AlignCenter)
            grid.addWidget(img, 0, col)
            grid.addWidget(cap, 1, col)
        for col, (img, cap) in enumerate(((self.patch_img, self.patch_cap),
                                          (self.kernel_img, self.kernel_cap),
                                          (self.prod_img, self.prod_cap))):
            img.setAlignment(Qt.AlignCenter)
            img.setFixedSize(TILES, TILES)
            grid.addWidget(img, 2, col)
            grid.addWidget(cap, 3, col)
        self.text = QTextBrowser()
        self.text.setObjectName("inspector_text")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addLayout(grid)
        lay.addWidget(self.text, 1)

    # ------------------------------------------------------------------ inputs
    def set_context(self, net, image, activations) -> None:
        """The current network, model input (28, 28) and activations (None: blank canvas)."""
        self.net, self.image, self._act_list = net, image, activations
        self.acts = None if activations is None else dict(activations)
        if self.selection is not None and not self._fits(*self.selection):
            self.selection = None  # a network swap: that layer or cell is gone
        self.refresh()

    def _fits(self, layer: str, index: tuple[int, ...]) -> bool:
        out = (self.acts or {}).get(layer)
        if out is None:
            return False
        shape = out.shape[1:]
        return len(index) == len(shape) and all(0 <= v < n for v, n in zip(index, shape))

    def inspect(self, layer: str, index) -> None:
        selection = (layer, tuple(int(v) for v in index))
        if self.acts is None or self._fits(*selection):  # checked again by set_context
            self.selection = selection
        self.refresh()

    def refresh(self) -> None:
        if self.net is None or self.selection is None or self.image is None:
            self.trace = None
            if self.image is None and self.selection is not None:
                self.text.setHtml("<i>Draw a digit to see this neuron's arithmetic.</i>")
                for img in (self.input_img, self.prev_img, self.patch_img, self.kernel_img,
                            self.prod_img):
                    img.clear()
            return
        layer, index = self.selection
        self.trace = explain.neuron(self.net, self.image[None, None], layer, index,
                                    self._act_list)
        self._render(self.trace)

    # ------------------------------------------------------------------ drawing
    def _render(self, t: explain.NeuronTrace) -> None:
        where = (f"channel {t.index[0]} · row {t.index[1]}, col {t.index[2]}"
                 if len(t.index) == 3 else f"unit {t.index[0]}")
        self.title.setText(f"<b>{t.layer}</b> ({t.kind}) · {where} = <b>{t.value:.4f}</b>")
        core = t.source if t.source is not None and t.kind not in ("Conv2D", "Dense") else t
        self._pictures(t, core)
        self.text.setHtml(self._html(t, core))

    def _pictures(self, t, core) -> None:
        box = [(t.input_field, FIELD)] if t.input_field else []
        self.input_img.setPixmap(art.mark(art.pixmap(art.gray(self.image), IMG), (28, 28), box))
        self.input_cap.setText("input: receptive field" if t.input_field else "input")
        prev = self.image[None] if core.previous == "input" else self.acts[core.previous][0]
        show_conv = core.kind == "Conv2D"
        for w in (self.patch_img, self.kernel_img, self.prod_img, self.patch_cap,
                  self.kernel_cap, self.prod_cap):
            w.setVisible(show_conv)
        if prev.ndim != 3 or core.prev_field is None:
            self.prev_img.clear()
            self.prev_cap.setText(f"{core.previous}: all {prev.size} values feed this unit")
            return
        if show_conv:
            ch = int(np.argmax(np.abs(core.products.reshape(len(prev), -1).sum(axis=1))))
        else:
            ch = core.index[0]
        boxes = [(core.prev_field, FIELD)]
        if core.winner is not None:
            boxes.append(((core.winner[0], core.winner[0], core.winner[1], core.winner[1]),
                          WINNER))
        h, w = prev.shape[1:]
        self.prev_img.setPixmap(art.mark(art.pixmap(art.heat(prev[ch]), IMG), (h, w), boxes))
        self.prev_cap.setText(f"{core.previous} ch {ch}" + (" (largest share)" if show_conv
                                                            and len(prev) > 1 else ""))
        if show_conv:
            c = core.inputs.shape[0]
            rows, cols = viz.grid_shape(c, 1.0)
            for img, cap, data, text in (
                    (self.patch_img, self.patch_cap, core.inputs, "patch"),
                    (self.kernel_img, self.kernel_cap, core.weights, "kernel"),
                    (self.prod_img, self.prod_cap, core.products, "patch × kernel")):
                tiled = viz.tile(data, cols=cols)
                rgba = art.heat(tiled, diverging=bool(np.nanmin(tiled) < 0) or text != "patch")
                img.setPixmap(art.pixmap(rgba, TILES - 4))
                cap.setText(f"{text} ({c} channel{'s' if c > 1 else ''})")

    def _html(self, t, core) -> str:
        """The sum first (what the cell computes), then the details that make it up."""
        head, details = "", ""
        if core.kind == "Conv2D":
            c, kh, kw = core.inputs.shape
            head = (f"<p>{c}×{kh}×{kw} patch of <b>{core.previous}</b> (zero padding included) "
                    f"times the kernel of {core.layer} channel {core.index[0]}:</p>")
            if c == 1:
                details = ("<table><tr><td>patch</td><td>kernel</td><td>products</td></tr>"
                           f"<tr><td>{_grid(core.inputs[0])}</td><td>{_grid(core.weights[0])}"
                           f"</td><td>{_grid(core.products[0])}</td></tr></table>")
            else:
                sums = core.products.reshape(c, -1).sum(axis=1)
                rows = "".join(f"<tr><td>ch {k}</td><td align='right'>{_num(sums[k])}</td></tr>"
                               for k in np.argsort(-np.abs(sums))[:8])
                details = ("<p>Largest channel sums Σ patch×kernel:</p>"
                           f"<table cellpadding='2'>{rows}</table>")
        elif core.kind == "Dense":
            prods = core.products
            rows = "".join(f"<tr><td>{k}</td><td align='right'>{core.inputs[k]:.3f}</td>"
                           f"<td align='right'>{core.weights[k]:+.3f}</td>"
                           f"<td align='right'>{_num(prods[k])}</td></tr>"
                           for k in np.argsort(-np.abs(prods))[:8])
            head = (f"<p>All {prods.size} values of <b>{core.previous}</b> times this unit's "
                    "weights:</p>")
            details = ("<p>The largest products:</p><table cellpadding='2'><tr><th>input</th>"
                       f"<th>value</th><th>weight</th><th>product</th></tr>{rows}</table>")
        elif core.kind in explain.POOLS:
            wi = None if core.winner is None else (core.winner[0] - core.prev_field[0],
                                                   core.winner[1] - core.prev_field[2])
            rule = "max" if core.kind == "MaxPool2D" else "mean"
            head = (f"<p>{rule} of a {core.inputs.shape[0]}×{core.inputs.shape[1]} window of "
                    f"<b>{core.previous}</b> channel {core.index[0]}:</p>{_grid(core.inputs, wi)}")
            if core.winner is not None:
                return head + (f"<p>winner (bold) at row {core.winner[0]}, col "
                               f"{core.winner[1]} = <b>{core.value:.4f}</b></p>"
                               + self._tail(t, core))
        s = float(core.products.sum())
        total = (f"<p>Σ products = {_num(s)}<br>+ bias {_num(core.bias)}<br>"
                 f"= pre-activation <b>{core.total:.4f}</b> (engine: {core.value:.4f})</p>")
        return head + total + self._tail(t, core) + details

    def _tail(self, t, core) -> str:
        if t is not core and t.kind == "ReLU":
            return (f"<p><b>ReLU</b> ({t.layer}): max(0, {t.pre_activation:.4f}) = "
                    f"<b>{t.value:.4f}</b></p>")
        if t is not core:
            return f"<p>{t.kind} ({t.layer}) passes it on: {t.value:.4f}</p>"
        i = self.net.layer_index(t.layer)
        nxt = self.net.layers[i + 1] if i + 1 < len(self.net.layers) else None
        if nxt is not None and nxt.kind == "ReLU":
            return (f"<p>next, <b>ReLU</b> ({nxt.name}): max(0, {t.value:.4f}) = "
                    f"<b>{max(t.value, 0.0):.4f}</b></p>")
        if nxt is None:
            return "<p>This is a logit: softmax turns the ten logits into probabilities.</p>"
        return ""
