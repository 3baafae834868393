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

    layer = runtime.threading_layer()
    if layer == "not started":
        order = ", ".join(numba.config.THREADING_LAYER_PRIORITY)
        layer = f"not started yet (live prediction runs serial kernels; tries {order})"
    return {
        "drawcnn": __version__,
        "Numba": numba.__version__,
        "NumPy": numpy.__version__,
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pyqtgraph.__version__,
        "Numba threading layer": layer,
        "Numba threads": str(runtime.num_threads()),
        "Python": platform.python_version(),
    }


def training_text(net) -> str:
    meta = getattr(net, "metadata", {}) or {}
    if meta.get("untrained"):
        return "untrained (freshly initialised)"
    tr = meta.get("training") or {}
    acc = tr.get("test_accuracy")
    parts = []
    if acc is not None:
        parts.append(f"test accuracy {float(acc):.2%}")
    for key in ("epochs", "dataset"):
        if key in tr:
            parts.append(f"{key} {tr[key]}")
    return ", ".join(parts) if parts else "no training record"


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
        for i, r in enumerate(rows):
            values = [r.name, r.kind, "×".join(map(str, r.output_shape)), f"{r.params:,}",
                      r.detail]
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
