"""Why this digit: saliency, Grad-CAM and occlusion laid over the drawing.

* Saliency: d logit[class] / d pixel. Red: more ink there would raise the class's logit;
  blue: it would lower it.
* Grad-CAM: where the chosen conv layer's evidence for the class sits (ReLU of the channels
  weighted by their mean gradient), upsampled to 28x28.
* Occlusion: how much p[class] drops when a 4x4 patch is blanked (red: the patch mattered).

The three maps are computed in a worker thread (``JobRunner``) on a copy of the network,
when the pen is lifted and this panel can be seen; the drawing is never held up.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ... import explain
from ..explain_worker import JobRunner
from . import explain_art as art

IMG = 196
PATCH = 4
MAPS = (("saliency", "Saliency"), ("grad_cam", "Grad-CAM"), ("occlusion", "Occlusion 4×4"))
LEGEND = ("<b>Saliency</b>: d logit / d pixel; red: more ink there raises the class's logit, "
          "blue: lowers it. <b>Grad-CAM</b>: where the chosen conv layer's evidence for the "
          "class lies. <b>Occlusion</b>: how much p[class] drops when a 4×4 patch is blanked "
          "(red: that patch mattered; a very confident network may barely notice one patch).")


def compute(net, image: np.ndarray, target: int, layer: str) -> dict:
    """The three maps for ``target`` (plain NumPy; runs in the worker thread)."""
    x = np.asarray(image, np.float32)[None, None]
    t0 = time.perf_counter()
    sal = explain.saliency(net, x, target)
    t1 = time.perf_counter()
    cam = explain.grad_cam(net, x, target, layer)
    t2 = time.perf_counter()
    occ = explain.occlusion(net, x, target, patch=PATCH, stride=PATCH)
    t3 = time.perf_counter()
    return {"image": image, "target": target, "layer": layer, "saliency": sal,
            "grad_cam": cam, "occlusion": occ,
            "ms": {"saliency": 1e3 * (t1 - t0), "grad_cam": 1e3 * (t2 - t1),
                   "occlusion": 1e3 * (t3 - t2)}}


class WhyView(QWidget):
    error = Signal(str, str)
    updated = Signal(object)  # the result dict, once drawn

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("why_view")
        self.net = self._copy = None
        self.generation = 0  # bumped per network: results of an older one are dropped
        self.image: np.ndarray | None = None
        self.probabilities: np.ndarray | None = None
        self.result: dict | None = None
        self.results = 0
        self.runner = JobRunner(self)
        self.runner.finished.connect(self._on_result)
        self.runner.errored.connect(lambda _tag, msg: self.error.emit("Explanation failed", msg))
        self.target_box = QComboBox()
        self.target_box.setObjectName("why_target")
        self.target_box.addItem("predicted digit", None)
        for d in range(10):
            self.target_box.addItem(str(d), d)
        self.layer_box = QComboBox()
        self.layer_box.setObjectName("why_layer")
        self.target_box.currentIndexChanged.connect(lambda _: self.request())
        self.layer_box.currentIndexChanged.connect(lambda _: self.request())
        top = QHBoxLayout()
        top.addWidget(QLabel("Explain class"))
        top.addWidget(self.target_box)
        top.addWidget(QLabel("Grad-CAM layer"))
        top.addWidget(self.layer_box)
        top.addStretch(1)
        self.images: dict[str, QLabel] = {}
        self.captions: dict[str, QLabel] = {}
        grid = QGridLayout()
        for col, (key, text) in enumerate(MAPS):
            img, cap = QLabel(), QLabel(text)
            img.setFixedSize(IMG, IMG)
            img.setFrameShape(QFrame.StyledPanel)  # a visible place while nothing is drawn
            img.setAlignment(Qt.AlignCenter)
            img.setObjectName(f"why_{key}")
            cap.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
            cap.setWordWrap(True)
            row, c = divmod(col, 2)  # 2x2: saliency, Grad-CAM / occlusion, legend
            grid.addWidget(img, 2 * row, c)
            grid.addWidget(cap, 2 * row + 1, c)
            self.images[key], self.captions[key] = img, cap
        self.legend = QLabel(LEGEND, wordWrap=True)
        self.legend.setMaximumWidth(IMG)
        grid.addWidget(self.legend, 2, 1, 2, 1, Qt.AlignTop)
        self.status = QLabel("Draw a digit: the maps appear when you lift the pen.")
        self.status.setObjectName("why_status")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(grid)
        lay.addWidget(self.status)
        lay.addStretch(1)

    # ------------------------------------------------------------------ inputs
    def set_network(self, net) -> None:
        self.net, self._copy = net, None
        self.generation += 1
        # Grad-CAM reads a conv layer's rectified maps (its ReLU's output), as in the paper:
        # before the ReLU most of a trained layer's evidence is negative and cancels out.
        keep = self.layer_box.currentText()
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        for i, lay in enumerate(net.layers):
            if lay.kind == "Conv2D":
                nxt = net.layers[i + 1] if i + 1 < len(net.layers) else None
                self.layer_box.addItem(lay.name, nxt.name if nxt is not None
                                       and nxt.kind == "ReLU" else lay.name)
        n = self.layer_box.count()
        names = [self.layer_box.itemText(i) for i in range(n)]
        self.layer_box.setCurrentIndex(names.index(keep) if keep in names else n - 1)
        self.layer_box.blockSignals(False)

    def set_context(self, net, image, probabilities) -> None:
        """The current drawing; call ``request`` to explain it (the hub does, on pen-up)."""
        if net is not self.net:
            self.set_network(net)
        self.image = None if image is None else np.array(image, np.float32)
        self.probabilities = probabilities

    def target(self) -> int | None:
        chosen = self.target_box.currentData()
        if chosen is not None:
            return int(chosen)
        if self.probabilities is None or self.image is None:
            return None
        return int(np.argmax(self.probabilities))

    def request(self) -> None:
        """Explain the current drawing in the worker (the newest request wins)."""
        target = self.target()
        if self.net is None or self.image is None or target is None:
            self._clear()
            return
        if self._copy is None:  # the worker's own copy: layers keep backward caches
            self._copy = self.net.copy()
        net, image, layer = self._copy, self.image, self.layer_box.currentData()
        self.runner.submit(self.generation,
                           lambda progress, stop: compute(net, image, target, layer))
        self.status.setText("Waiting for the network to warm up (compiling its kernels)…"
                            if self.runner.waiting else "Computing…")

    def _clear(self) -> None:
        self.result = None
        for img in self.images.values():
            img.clear()
        self.status.setText("Draw a digit: the maps appear when you lift the pen.")

    # ------------------------------------------------------------------ drawing
    def _on_result(self, tag, r: dict) -> None:
        if tag != self.generation:
            return  # computed for a network no longer in use
        self.result = r
        img = r["image"]
        cam = art.upsample(r["grad_cam"], img.shape)
        occ = art.patches_to_pixels(r["occlusion"], img.shape, PATCH, PATCH)
        pictures = {"saliency": art.overlay(img, r["saliency"], diverging=True),
                    "grad_cam": art.overlay(img, cam, diverging=False),
                    "occlusion": art.overlay(img, occ, diverging=True)}
        for key, rgba in pictures.items():
            self.images[key].setPixmap(art.pixmap(rgba, IMG))
        h, w = r["grad_cam"].shape
        self.captions["grad_cam"].setText(f"Grad-CAM · {r['layer']} {h}×{w}")
        ms = r["ms"]
        drop = float(r["occlusion"].max())
        self.status.setText(
            f"Class {r['target']}: saliency {ms['saliency']:.0f} ms, Grad-CAM "
            f"{ms['grad_cam']:.0f} ms, occlusion {ms['occlusion']:.0f} ms "
            f"({r['occlusion'].size} blanked copies). "
            f"Blanking the most important patch lowers p[{r['target']}] by {drop:.1%}.")
        self.results += 1
        self.updated.emit(r)
