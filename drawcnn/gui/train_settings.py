"""The train dialog's settings form: what to train, on what, how long, where.

``TrainSettings.config()`` turns the widgets into a ``training.TrainConfig``; ``ready()`` says
whether a run can start (the data is on disk, the backend can run here); ``changed`` fires
whenever that may have changed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from ..errors import DrawCNNError
from ..training import TrainConfig
from .panels.help_texts import lr_hint, lr_warning, plain_backend_reason
from .panels.train_data import DataPanel

BACKENDS = ("auto", "cpu", "cuda")


class TrainSettings(QGroupBox):
    changed = Signal()
    network_choice_changed = Signal()  # architecture or start point: the filter preview follows

    def __init__(self, controller, store_getter, errors, parent=None):
        from ..engine import ARCHITECTURES

        super().__init__("Settings", parent)
        self.controller = controller
        self.backend_ok = True
        self.arch_box = QComboBox()
        for name, arch in ARCHITECTURES.items():
            self.arch_box.addItem(f"{name} — {arch.param_count():,} params", name)
            self.arch_box.setItemData(self.arch_box.count() - 1, arch.description, Qt.ToolTipRole)
        self.arch_box.setCurrentIndex(self.arch_box.findData("lenet"))
        self.start_box = QComboBox()
        self.start_box.addItem(f"current weights ({controller.net.arch.name})", True)
        self.start_box.addItem("scratch (random weights)", False)
        self.start_box.setCurrentIndex(1)
        self.start_box.currentIndexChanged.connect(self.sync_start_from)
        self.arch_box.currentIndexChanged.connect(self.network_choice_changed)
        self.start_box.currentIndexChanged.connect(self.network_choice_changed)
        self.data = DataPanel(store_getter, errors, self)
        self.data.changed.connect(self.changed)
        self.epochs = QSpinBox(minimum=1, maximum=200, value=3)
        self.batch = QSpinBox(minimum=1, maximum=4096, value=64)
        self.lr = QDoubleSpinBox(decimals=5, minimum=0.00001, maximum=1e6, value=0.001,
                                 singleStep=0.0005)
        self.opt_box = QComboBox()
        self.opt_box.addItem("Adam", "adam")
        self.opt_box.addItem("SGD + momentum", "sgd")
        self.opt_box.currentIndexChanged.connect(
            lambda: self.lr.setValue(0.001 if self.opt_box.currentData() == "adam" else 0.01))
        self.lr_warning = QLabel()
        self.lr_warning.setObjectName("lr_warning")
        self.lr_warning.setWordWrap(True)
        self.lr_warning.setStyleSheet("color: #c0392b;")
        self.lr.valueChanged.connect(self._check_lr)
        self.opt_box.currentIndexChanged.connect(self._check_lr)
        self.augment = QCheckBox("shift, rotate, scale, stroke width")
        self.augment.setChecked(True)
        self.backend_box = QComboBox()
        for b in BACKENDS:
            self.backend_box.addItem(b, b)
        self.backend_label = QLabel()
        self.backend_label.setWordWrap(True)
        self.backend_label.setObjectName("backend_label")
        self.backend_box.currentIndexChanged.connect(self._resolve_backend)
        form = QFormLayout()
        form.addRow("Start from", self.start_box)
        form.addRow("Architecture", self.arch_box)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Optimizer", self.opt_box)
        form.addRow("Learning rate", self.lr)
        form.addRow(self.lr_warning)
        form.addRow("Augmentation", self.augment)
        form.addRow("Backend", self.backend_box)
        form.addRow(self.backend_label)
        lay = QVBoxLayout(self)
        lay.addWidget(self.data)
        lay.addLayout(form)
        lay.addStretch(1)
        self.setMinimumWidth(330)
        self.setMaximumWidth(420)
        self._resolve_backend()
        self.sync_start_from()
        self._check_lr()

    def _check_lr(self, *_) -> None:
        """Say so, with the range that works, when the learning rate will likely diverge."""
        opt = self.opt_box.currentData()
        warning = lr_warning(opt, self.lr.value())
        self.lr.setToolTip(lr_hint(opt))
        self.lr_warning.setText(f"<small>{warning}</small>" if warning else "")
        self.lr_warning.setVisible(bool(warning))

    def ready(self) -> bool:
        """A run can start: the backend can run here and the data is on disk."""
        return self.backend_ok and self.data.ready()

    def config(self) -> TrainConfig:
        cfg = TrainConfig(
            arch=self.arch_box.currentData(), epochs=self.epochs.value(),
            batch_size=self.batch.value(), lr=self.lr.value(),
            optimizer=self.opt_box.currentData(), augment=self.augment.isChecked(),
            from_current=bool(self.start_box.currentData()),
            backend=self.backend_box.currentData())
        self.data.fill(cfg)
        return cfg

    def set_running(self, running: bool) -> None:
        """Lock the settings while a run is under way."""
        self.data.setEnabled(not running)
        for w in (self.arch_box, self.start_box, self.epochs, self.batch, self.lr, self.opt_box,
                  self.augment, self.backend_box):
            w.setEnabled(not running)
        if not running:
            self.sync_start_from()

    def network_changed(self, net, running: bool) -> None:
        """Another network is in use: "start from current weights" now means that one."""
        self.start_box.setItemText(0, f"current weights ({net.arch.name})")
        if not running:
            self.sync_start_from()

    def sync_start_from(self) -> None:
        """Starting from the current weights fixes the architecture to theirs."""
        from_current = bool(self.start_box.currentData())
        if from_current:
            self.arch_box.setCurrentIndex(self.arch_box.findData(self.controller.net.arch.name))
        self.arch_box.setEnabled(not from_current)

    def _resolve_backend(self) -> None:
        from ..engine import resolve_backend

        name = self.backend_box.currentData()
        try:
            choice = resolve_backend(name)
        except DrawCNNError as exc:  # BackendUnavailable: say why, refuse to start
            raw, self.backend_ok = str(exc), False
            text = plain_backend_reason(name, raw, False)
        else:
            raw, self.backend_ok = choice.reason, True
            text = plain_backend_reason(choice.name, raw, True)
        # In plain words once, here; the driver's own text only on hover, for those who ask.
        self.backend_reason = raw
        self.backend_label.setText(f"<small>{text}</small>")
        self.backend_label.setToolTip(raw if text.find(raw) < 0 else "")
        self.changed.emit()
