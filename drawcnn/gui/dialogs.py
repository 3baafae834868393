"""Non-blocking dialogs: the architecture table and the About box.

Both are shown with ``show()`` (never ``exec()``), so nothing here can hang a test.
"""

from __future__ import annotations

import platform

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


def versions() -> dict[str, str]:
    """Versions of everything the About box lists."""
    import numba
    import numpy
    import pyqtgraph
    import PySide6
    from PySide6.QtCore import qVersion

    from .. import __version__
    from ..engine import runtime

    return {
        "drawcnn": __version__,
        "Numba": numba.__version__,
        "NumPy": numpy.__version__,
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pyqtgraph.__version__,
        # the layer in use (started now if no parallel kernel ran yet) and why that one
        "Numba threading layer": runtime.threading_layer_report(start=True),
        "Numba cache": runtime.cache_report(),
        "Numba threads": str(runtime.num_threads()),
        "Python": platform.python_version(),
    }


def training_stages(training: dict | None) -> list[dict]:
    """The training records of a weights file, oldest first: a file trained in stages
    (``train --init``) keeps the earlier ones under ``previous_training``."""
    stages, tr = [], training
    while isinstance(tr, dict) and tr:
        stages.append(tr)
        tr = tr.get("previous_training")
        if isinstance(tr, list):  # a list of earlier stages, oldest first
            stages.extend(reversed([t for t in tr if isinstance(t, dict)]))
            break
    return stages[::-1]


def training_text(net) -> str:
    meta = net.metadata or {}
    if meta.get("untrained"):
        return "untrained (freshly initialised)"
    stages = training_stages(meta.get("training"))
    if not stages:
        return "no training record"
    last = stages[-1]
    parts = []
    if last.get("test_accuracy") is not None:
        parts.append(f"test accuracy {float(last['test_accuracy']):.2%}")
    epochs = [int(t["epochs"]) for t in stages if t.get("epochs") is not None]
    if len(epochs) > 1:
        parts.append(f"{sum(epochs)} epochs in {len(epochs)} stages "
                     f"({' + '.join(map(str, epochs))})")
    elif epochs:
        parts.append(f"{epochs[0]} epochs")
    datasets = sorted({str(t["dataset"]) for t in stages if t.get("dataset")})
    if datasets:
        parts.append(f"dataset {', '.join(datasets)}")
    return ", ".join(parts)


def layer_settings(layer) -> str:
    """A layer's hyperparameters as "size=2, stride=2" (a pool's stride 0 means its size)."""
    spec = dict(vars(layer.spec))
    if "size" in spec and not spec.get("stride", 1):
        spec["stride"] = spec["size"]
    return ", ".join(f"{k}={v}" for k, v in spec.items())


class ArchitectureDialog(QDialog):
    """Layers, output shapes and parameter counts (``net.summary()``)."""

    def __init__(self, net, path=None, parent=None):
        super().__init__(parent)
        self.setObjectName("architecture_dialog")
        self.setWindowTitle(f"Architecture: {net.arch.name}")
        rows = net.summary()
        head = QLabel(
            f"<b>{net.arch.name}</b> — {net.arch.description or ''}<br>"
            f"{len(rows)} layers, <b>{net.param_count():,}</b> parameters, "
            f"backend {net.backend_name}<br>Training: {training_text(net)}"
            + (f"<br>File: {path}" if path else ""))
        head.setWordWrap(True)
        head.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.table = QTableWidget(len(rows), 5)
        self.table.setHorizontalHeaderLabels(["Layer", "Kind", "Output shape", "Parameters",
                                              "Settings"])
        for i, (r, layer) in enumerate(zip(rows, net.layers, strict=True)):
            values = [r.name, r.kind, "×".join(map(str, r.output_shape)), f"{r.params:,}",
                      layer_settings(layer)]
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                if j == 3:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)
        self.resize(640, 460)


class AboutDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About drawcnn")
        rows = "".join(f"<tr><td>{k}</td><td><b>{v}</b></td></tr>"
                       for k, v in versions().items())
        text = QLabel(
            "<h2>drawcnn</h2><p>Draw a digit, watch a convolutional network written with "
            "Numba see it: the preprocessing, every layer's feature maps and the learned "
            f"filters, live.</p><table cellspacing='4'>{rows}</table>")
        text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        text.setWordWrap(True)
        self.text = text
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(text)
        lay.addWidget(buttons)
