"""Model → Train…: retrain on MNIST, Fashion-MNIST or the user's own drawings.

Settings on the left; on the right the run: progress with ETA and images/s, live loss and
accuracy curves, the first-layer filters as they learn, then the test accuracy and a clickable
confusion matrix. Training runs in a TrainWorker thread on a COPY of the network, so the
canvas keeps predicting with the current one; only "Use this network" swaps the result in.
The dialog is modeless (``show()``) and reports problems through the ``show_error`` hook.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..errors import DrawCNNError
from ..training import DATASET_CHOICES, TrainConfig
from .panels.confusion import ConfusionView
from .panels.train_data import DataPanel
from .panels.training_curves import FilterView, TrainingCurves
from .workers import TrainWorker, start_worker

WEIGHTS_FILTER = "drawcnn weights (*.npz);;All files (*)"
PLACEHOLDER = ("<i>When training finishes: the test accuracy, and a confusion matrix you can "
               "click to see which images were mistaken for which digit.</i>")


def fmt_time(seconds: float) -> str:
    s = int(max(0, seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


class TrainDialog(QDialog):
    training_started = Signal()
    training_finished = Signal(object)  # TrainResult, or None after an error

    def __init__(self, controller, store_getter=None, parent=None):
        super().__init__(parent)
        self.setObjectName("train_dialog")
        self.setWindowTitle("Train a network")
        self.controller = controller
        self.store_getter = store_getter or (lambda: None)
        #: Hooks tests (or the main window) replace: never block on a modal box.
        self.show_error = self._show_error
        self.ask_save_path = self._ask_save_path
        self.worker: TrainWorker | None = None
        self.thread = None
        self.result = None
        self.in_use = None  # the trained network once swapped into the app
        self.log: list[str] = []  # signal names in arrival order (for tests and debugging)
        self._active = False
        self._progress_text = ""
        self._build()
        self._sync_start_from()
        controller.weights_changed.connect(self._on_weights_changed)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        from ..engine import ARCHITECTURES

        form = QFormLayout()
        self.arch_box = QComboBox()
        for name, arch in ARCHITECTURES.items():
            self.arch_box.addItem(f"{name} — {arch.param_count():,} params", name)
            self.arch_box.setItemData(self.arch_box.count() - 1, arch.description, Qt.ToolTipRole)
        self.arch_box.setCurrentIndex(self.arch_box.findData("lenet"))
        self.start_box = QComboBox()
        current = self.controller.net
        self.start_box.addItem(f"current weights ({current.arch.name})", True)
        self.start_box.addItem("scratch (random weights)", False)
        self.start_box.setCurrentIndex(1)
        self.start_box.currentIndexChanged.connect(self._sync_start_from)
        self.data = DataPanel(self.store_getter, self)
        self.data.changed.connect(self._sync_buttons)
        self.epochs = QSpinBox(minimum=1, maximum=200, value=3)
        self.batch = QSpinBox(minimum=1, maximum=4096, value=64)
        self.lr = QDoubleSpinBox(decimals=5, minimum=0.00001, maximum=1e6, value=0.001,
                                 singleStep=0.0005)
        self.opt_box = QComboBox()
        self.opt_box.addItem("Adam", "adam")
        self.opt_box.addItem("SGD + momentum", "sgd")
        self.opt_box.currentIndexChanged.connect(
            lambda: self.lr.setValue(0.001 if self.opt_box.currentData() == "adam" else 0.01))
        self.augment = QCheckBox("shift, rotate, scale, stroke width")
        self.augment.setChecked(True)
        self.backend_box = QComboBox()
        for b in ("auto", "cpu", "cuda"):
            self.backend_box.addItem(b, b)
        self.backend_label = QLabel()
        self.backend_label.setWordWrap(True)
        self.backend_label.setObjectName("backend_label")
        self.backend_box.currentIndexChanged.connect(self._resolve_backend)
        form.addRow("Start from", self.start_box)
        form.addRow("Architecture", self.arch_box)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        form.addRow("Optimizer", self.opt_box)
        form.addRow("Learning rate", self.lr)
        form.addRow("Augmentation", self.augment)
        form.addRow("Backend", self.backend_box)
        form.addRow(self.backend_label)
        settings = QGroupBox("Settings")
        sl = QVBoxLayout(settings)
        sl.addWidget(self.data)
        sl.addLayout(form)
        sl.addStretch(1)
        settings.setMinimumWidth(330)
        settings.setMaximumWidth(420)

        self.status = QLabel("Choose the settings, then Start. The canvas keeps predicting "
                             "with the current network while a copy trains.")
        self.status.setObjectName("train_status")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.curves = TrainingCurves()
        self.filters = FilterView()
        self.filters.set_filters(self._first_conv(current), "The current network")
        top = QWidget()
        tl = QHBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.curves, 5)
        tl.addWidget(self.filters, 2)
        self.summary = QLabel("")
        self.summary.setObjectName("train_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.summary.setMinimumWidth(220)
        self.confusion = ConfusionView()
        self.confusion.setVisible(False)
        self.summary.setText(PLACEHOLDER)
        bottom = QWidget()
        bl = QHBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.summary, 1)
        bl.addWidget(self.confusion, 3)
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([330, 400])
        right = QVBoxLayout()
        right.addWidget(self.status)
        right.addWidget(self.progress)
        right.addWidget(split, 1)

        self.start_btn = QPushButton("Start")
        self.start_btn.setDefault(True)
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setCheckable(True)
        self.cancel_btn = QPushButton("Cancel training")
        self.use_btn = QPushButton("Use this network")
        self.save_btn = QPushButton("Save…")
        self.close_btn = QPushButton("Close")
        self.start_btn.clicked.connect(lambda: self.start())
        self.pause_btn.toggled.connect(self.set_paused)
        self.cancel_btn.clicked.connect(self.cancel)
        self.use_btn.clicked.connect(self.use_network)
        self.save_btn.clicked.connect(lambda: self.save())
        self.close_btn.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.start_btn, self.pause_btn, self.cancel_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.use_btn, self.save_btn, self.close_btn):
            buttons.addWidget(b)
        body = QHBoxLayout()
        body.addWidget(settings)
        body.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(body, 1)
        lay.addLayout(buttons)
        self.resize(1280, 820)
        self._resolve_backend()
        self._sync_buttons()

    @staticmethod
    def _first_conv(net):
        for key, w in net.params.items():
            if key.endswith(".W") and len(w.shape) == 4:
                return net.backend.to_host(w)
        return None

    # ------------------------------------------------------------------ settings
    def _on_weights_changed(self, net) -> None:
        """Another network is in use: "start from current weights" now means that one."""
        self.start_box.setItemText(0, f"current weights ({net.arch.name})")
        if not self.running and self.result is None:
            self.filters.set_filters(self._first_conv(net), "The current network")
        if not self.running:
            self._sync_start_from()

    def _sync_start_from(self) -> None:
        from_current = bool(self.start_box.currentData())
        if from_current:
            self.arch_box.setCurrentIndex(self.arch_box.findData(self.controller.net.arch.name))
        self.arch_box.setEnabled(not from_current)

    def _resolve_backend(self) -> None:
        from ..engine import resolve_backend

        name = self.backend_box.currentData()
        try:
            choice = resolve_backend(name)
            text, ok = f"Runs on <b>{choice.name}</b>: {choice.reason}", True
        except Exception as exc:  # BackendUnavailable: say why, refuse to start
            text, ok = f"<b>{name} is not available</b>: {exc}", False
        self.backend_ok = ok
        self.backend_label.setText(f"<small>{text}</small>")
        self._sync_buttons()

    def config(self) -> TrainConfig:
        cfg = TrainConfig(
            arch=self.arch_box.currentData(), epochs=self.epochs.value(),
            batch_size=self.batch.value(), lr=self.lr.value(),
            optimizer=self.opt_box.currentData(), augment=self.augment.isChecked(),
            from_current=bool(self.start_box.currentData()),
            backend=self.backend_box.currentData())
        self.data.fill(cfg)
        return cfg

    @property
    def running(self) -> bool:
        """A run is under way (from start() until its finished/errored signal arrives)."""
        return self._active

    def _sync_buttons(self) -> None:
        if not hasattr(self, "use_btn"):
            return
        run = self.running
        self.start_btn.setEnabled(not run and getattr(self, "backend_ok", True)
                                  and self.data.ready())
        self.pause_btn.setEnabled(run)
        self.cancel_btn.setEnabled(run)
        usable = bool(self.result is not None and self.result.usable and not run)
        self.use_btn.setEnabled(usable and self.in_use is not self.result.net)
        self.save_btn.setEnabled(usable)
        self.data.setEnabled(not run)
        for w in (self.arch_box, self.start_box, self.epochs, self.batch, self.lr, self.opt_box,
                  self.augment, self.backend_box):
            w.setEnabled(not run)
        if not run:
            self._sync_start_from()

    # ------------------------------------------------------------------ running
    def start(self, cfg: TrainConfig | None = None) -> bool:
        """Start training (``cfg`` overrides the widgets, e.g. in tests)."""
        if self.running:
            return False
        cfg = cfg or self.config()
        self.result = None
        self.log = []
        self.curves.reset(cfg.epochs)
        self.confusion.setVisible(False)
        self.summary.setText(PLACEHOLDER)
        self.progress.setValue(0)
        self.progress.setFormat("loading data…")
        self.status.setText(f"Preparing {DATASET_CHOICES.get(cfg.dataset, cfg.dataset)}…")
        self.pause_btn.setChecked(False)
        base = self.controller.net.copy()  # never the live network
        self.worker = TrainWorker(cfg, base, self.store_getter() if cfg.uses_drawings else None)
        self.worker.started.connect(self._on_started)
        self.worker.progress.connect(self._on_progress)
        self.worker.epoch_done.connect(self._on_epoch)
        self.worker.finished.connect(self._on_finished)
        self.worker.errored.connect(self._on_error)
        if self.thread is not None:  # the previous run's thread has ended or is ending
            self.thread.wait(5000)
        self._active = True
        self.thread = start_worker(self.worker, self)
        self._sync_buttons()
        self.training_started.emit()
        return True

    def set_paused(self, paused: bool) -> None:
        if self.worker is None or not self.running:
            self.pause_btn.setText("Pause")
            return
        self.worker.set_paused(paused)
        self.pause_btn.setText("Resume" if paused else "Pause")
        self.progress.setFormat(self._progress_text + (" · paused" if paused else ""))

    def cancel(self) -> None:
        if self.worker is not None and self.running:
            self.worker.cancel()
            self.status.setText("Cancelling after this batch…")

    def _on_started(self, description: str) -> None:
        self.log.append("started")
        self.status.setText(description)

    def _on_progress(self, info) -> None:
        self.log.append("progress")
        self.progress.setValue(int(info.progress * 1000))
        paused = " · paused" if self.pause_btn.isChecked() else ""
        self._progress_text = (
            f"{info.progress:.0%} · epoch {info.epoch}/{info.epochs}, batch {info.batch}/"
            f"{info.batches} · {info.images_per_s:,.0f} images/s · ETA {fmt_time(info.eta)}"
            f" · loss {info.loss:.3f}")
        self.progress.setFormat(self._progress_text + paused)
        self.curves.add_batch(info)
        self.filters.set_filters(info.filters, "Learning")

    def _on_epoch(self, info) -> None:
        self.log.append("epoch")
        self.curves.add_epoch(info)

    def _on_error(self, message: str) -> None:
        self.log.append("errored")
        self._active = False
        self.progress.setFormat("failed")
        self.status.setText("Training could not run; the current network is unchanged.")
        self.show_error("Training failed", message)
        self._sync_buttons()
        self.training_finished.emit(None)

    def _on_finished(self, res) -> None:
        self.log.append("finished")
        self._active = False
        self.result = res
        if res.status == "completed":
            self.progress.setValue(1000)
            self.progress.setFormat("done")
            self._show_result(res)
        elif res.status == "diverged":
            self.progress.setFormat("diverged")
            self.status.setText(f"<b style='color:#b02020'>Training diverged</b>: {res.message}."
                                " Your current network is unchanged.")
            self.show_error("Training diverged", f"Training diverged: {res.message}.\n\n"
                            "Your current network is unchanged.")
        else:
            self.progress.setFormat("cancelled")
            self.status.setText(f"Training cancelled ({res.message}). Your current network is "
                                "unchanged.")
        self._sync_buttons()
        self.training_finished.emit(res)

    def _show_result(self, res) -> None:
        h, s = res.history, res.summary
        lines = [f"<b>Test accuracy: {res.test.accuracy:.2%}</b> "
                 f"({s['test_images']:,} images)"]
        if h.best_val_accuracy is not None:
            lines.append(f"Best validation accuracy {h.best_val_accuracy:.2%} (epoch "
                         f"{h.best_epoch}); those weights are kept.")
        if res.drawings_before is not None:
            lines.append(f"<b>Your held-out drawings</b>: {res.drawings_before:.0%} before → "
                         f"<b>{res.drawings_after:.0%}</b> after ({s['drawings_holdout']} "
                         "drawings the training never saw)")
        lines.append(f"{s['train_images']:,} training images, {s['epochs']} epochs in "
                     f"{fmt_time(h.duration)} ({s['images_per_s'] or 0:,.0f} images/s, "
                     f"{s['backend']})")
        lines.append("<i>Use this network</i> to draw with it now; <i>Save…</i> to keep it.")
        self.summary.setText("<br><br>".join(lines))
        self.status.setText(f"Finished: test accuracy {res.test.accuracy:.2%}.")
        self.confusion.setVisible(True)
        self.confusion.set_result(res.test.confusion, res.test.predictions, res.x_test,
                                  res.y_test, res.class_names)
        self.filters.set_filters(self._first_conv(res.net), "After training")

    # ------------------------------------------------------------------ results
    def use_network(self) -> bool:
        """Hot-swap the trained network into the app (a CPU copy: live prediction is CPU)."""
        if self.result is None or not self.result.usable:
            return False
        net = self.result.net
        live = net if net.backend_name == "cpu" else net.copy("cpu")
        self.controller.set_network(live, None)
        self.in_use = net
        self.status.setText("The new network is in use (not saved yet: Save… keeps it).")
        self._sync_buttons()
        return True

    def save(self, path=None) -> bool:
        if self.result is None or not self.result.usable:
            return False
        path = path or self.ask_save_path()
        if not path:
            return False
        from ..engine import save_network

        try:
            save_network(self.result.net, path, training=self.result.summary)
        except DrawCNNError as exc:
            self.show_error("Cannot save weights", str(exc))
            return False
        if self.in_use is self.result.net:
            self.controller.set_network(self.controller.net, path)
        self.status.setText(f"Saved to {path}")
        return True

    # ------------------------------------------------------------------ hooks / closing
    def _show_error(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def _ask_save_path(self) -> str | None:
        name = f"{self.result.net.arch.name}-{self.result.config.dataset}.npz"
        path, _ = QFileDialog.getSaveFileName(self, "Save the trained network", str(Path(name)),
                                              WEIGHTS_FILTER)
        return path or None

    def shutdown(self, timeout_ms: int = 20000) -> None:
        """Stop a running training and wait for its thread (closing, or app exit)."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.set_paused(False)
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait(timeout_ms)
        self.data.shutdown()

    def closeEvent(self, ev):
        self.shutdown()
        super().closeEvent(ev)
