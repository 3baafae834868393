"""What a filter wants to see: activation maximisation, one gallery per layer.

For each channel of a conv layer (or each class of the output layer) gradient ascent on the
input finds a 28x28 image, bounded to [0, 1] with a little L2 decay and blur so it reads as an
image, that makes that channel's mean activation as large as it gets
(``drawcnn.explain.maximize_layer``). All channels run as one batch in a worker thread, with
progress; results are cached per network and layer.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ... import explain
from ..explain_worker import JobRunner
from . import explain_art as art
from . import viz

TILE = 64


class MaximizeGallery(QWidget):
    error = Signal(str, str)
    gallery_ready = Signal(str)  # layer name

    def __init__(self, parent=None, steps: int = 48):
        super().__init__(parent)
        self.setObjectName("maximize_gallery")
        self.steps = steps
        self.net = None
        self._copy = None
        self.generation = 0  # bumped per network: results of an older one are dropped
        self.cache: dict[str, dict] = {}  # layer -> result, for the current network
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_result)
        self.runner.errored.connect(self._on_error)
        self.layer_box = QComboBox()
        self.layer_box.setObjectName("maximize_layer")
        self.layer_box.currentIndexChanged.connect(lambda _: self.show_layer())
        self.button = QPushButton("Compute")
        self.button.setObjectName("maximize_compute")
        self.button.clicked.connect(self._on_button)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Layer"))
        top.addWidget(self.layer_box)
        top.addWidget(self.button)
        top.addWidget(self.bar, 1)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.picture = QLabel()
        self.picture.setObjectName("maximize_picture")
        self.picture.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(self.picture)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.info)
        lay.addWidget(scroll, 1)

    # ------------------------------------------------------------------ network
    def set_network(self, net) -> None:
        if net is self.net:
            return
        self.runner.cancel()
        if not self.runner.busy:  # a request still waiting for the warm kernels was dropped
            self.button.setText("Compute")
        self.net, self._copy = net, None
        self.generation += 1
        self.cache = {}
        keep = self.layer_box.currentData()
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        for lay in net.layers:
            if lay.kind == "Conv2D":
                self.layer_box.addItem(f"{lay.name} ({lay.spec.filters} channels)", lay.name)
        last = explain.logit_layer(net)
        self.layer_box.addItem(f"{last} (the {net.arch.num_classes} classes)", last)
        names = [self.layer_box.itemData(i) for i in range(self.layer_box.count())]
        self.layer_box.setCurrentIndex(names.index(keep) if keep in names else 0)
        self.layer_box.blockSignals(False)
        self.show_layer()

    def layer(self) -> str:
        return self.layer_box.currentData()

    def channels(self, layer: str) -> int:
        return self.net.arch.output_shapes()[self.net.layer_index(layer)][0]

    # ------------------------------------------------------------------ work
    def _on_button(self) -> None:
        if self.runner.waiting:  # not started yet: dropped at once
            self.runner.cancel()
            self.button.setText("Compute")
            self.show_layer()
        elif self.runner.busy:
            self.runner.cancel()
            self.info.setText("Stopping…")
        else:
            self.compute()

    def compute(self, layer: str | None = None) -> None:
        """Start (in the worker) the gallery of ``layer`` (default: the chosen one)."""
        if self.net is None:
            return
        layer = layer or self.layer()
        names = [self.layer_box.itemData(i) for i in range(self.layer_box.count())]
        if layer in names and layer != self.layer():
            self.layer_box.setCurrentIndex(names.index(layer))
        if layer in self.cache:
            self.show_layer()
            return
        if self._copy is None:
            self._copy = self.net.copy()
        net, steps = self._copy, self.steps
        n = self.channels(layer)

        def job(progress, stop):
            t0 = time.perf_counter()
            imgs = explain.maximize_layer(
                net, layer, np.arange(n), seed=0, steps=steps,
                callback=lambda s, total: progress(s, total) or stop.is_set())
            if stop.is_set():
                return None
            reached = explain.objective(dict(net.activations(imgs[:, None]))[layer],
                                        np.arange(n))
            return {"layer": layer, "images": imgs, "reached": reached,
                    "seconds": time.perf_counter() - t0}

        self.button.setText("Stop")
        self.bar.setValue(0)
        self.info.setText(f"Gradient ascent for {n} channels of {layer} ({steps} steps)…")
        self.runner.submit(self.generation, job)
        if self.runner.waiting:
            self.info.setText(f"Gradient ascent for {n} channels of {layer} starts once the "
                              "network is warm (its kernels are compiling)…")

    def _on_progress(self, done: int, total: int) -> None:
        self.bar.setValue(int(100 * done / max(total, 1)))

    def _on_result(self, generation, result) -> None:
        self.button.setText("Compute")
        if result is None or generation != self.generation:
            self.bar.setValue(0)
            self.info.setText("Stopped." if result is None else "")
            self.show_layer()
            return
        self.bar.setValue(100)
        self.cache[result["layer"]] = result
        self.show_layer()
        self.gallery_ready.emit(result["layer"])

    def _on_error(self, _tag, message: str) -> None:
        self.button.setText("Compute")
        self.info.setText("Failed.")
        self.error.emit("Activation maximisation failed", message)

    # ------------------------------------------------------------------ drawing
    def show_layer(self) -> None:
        if self.net is None or self.layer() is None:
            return
        res = self.cache.get(self.layer())
        if res is None:
            self.picture.clear()
            if not self.runner.busy:
                self.bar.setValue(0)
                self.info.setText("Press Compute: each tile will be the input that excites "
                                  "one channel the most (takes a while for big layers).")
            return
        imgs = res["images"]
        # Each tile contrast-stretched on its own: a channel that wants faint strokes on
        # black still shows its pattern.
        lo = imgs.min(axis=(1, 2), keepdims=True)
        span = np.maximum(imgs.max(axis=(1, 2), keepdims=True) - lo, 1e-6)
        vp = self.scroll.viewport()
        width, height = max(vp.width() - 4, TILE), max(vp.height() - 4, TILE)
        pitch = TILE  # the largest tile (up to 3x) that shows every channel without scrolling
        for size in range(3 * TILE, TILE, -8):
            cols = max(1, width // size)
            if -(-len(imgs) // cols) * size <= height:
                pitch = size
                break
        cols = max(1, min(len(imgs), width // pitch))
        mosaic = viz.tile((imgs - lo) / span, cols=cols, sep=2)  # NaN gaps: transparent
        pix = art.pixmap(art.gray(mosaic), int(pitch / 30 * max(mosaic.shape)))
        art.label_tiles(pix, len(imgs), cols, pix.width() * 30 / (mosaic.shape[1] + 2))
        self.picture.setPixmap(pix)
        self.info.setText(
            f"{self.layer()}: each tile is the input (white = ink, contrast stretched) that makes "
            f"one channel's "
            f"mean activation as large as gradient ascent could, reaching "
            f"{res['reached'].min():.2f} … {res['reached'].max():.2f} "
            f"({res['seconds']:.1f} s).")

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        if self.net is not None and self.layer() in self.cache:
            self.show_layer()

    def shutdown(self) -> None:
        self.runner.shutdown()
