"""Model → Train…: retrain on MNIST, Fashion-MNIST or the user's own drawings.

Settings on the left (``train_settings.TrainSettings``); on the right the run: progress with
ETA and images/s, then ``train_view.TrainView`` (live curves and filters, the result and a
clickable confusion matrix). Training runs in a TrainWorker thread on a COPY of the network, so
the canvas keeps predicting with the current one; only "Use this network" swaps the result in.
The dialog is modeless (``show()``) and reports problems through the controller's error
reporter, the GUI's one error path.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ..training import DATASET_CHOICES, TrainConfig
from .panels.help_texts import loss_exploded, lr_warning, too_high_message
from .train_settings import TrainSettings
from .train_view import TrainView, fmt_time
from .weights_locator import WEIGHTS_FILTER
from .workers import TrainWorker, start_worker


class TrainDialog(QDialog):
    #: How long closing waits for a run to stop (a batch, or the test evaluation, must end);
    #: a run that cannot stop by then (loading data, compiling) ends with the process.
    stop_wait_ms = 20_000
    training_started = Signal()
    training_finished = Signal(object)  # TrainResult, or None after an error

    def __init__(self, controller, store_getter=None, parent=None):
        super().__init__(parent)
        self.setObjectName("train_dialog")
        self.setWindowTitle("Train a network")
        self.controller = controller
        self.errors = controller.errors
        self.store_getter = store_getter or (lambda: None)
        #: A hook tests (or embedding code) may replace: never block on a modal file dialog.
        self.ask_save_path = self._ask_save_path
        self.worker: TrainWorker | None = None
        self.thread = None
        self.result = None
        self.in_use = None  # the trained network once swapped into the app
        self.log: list[str] = []  # signal names in arrival order (for tests and debugging)
        self._active = False
        self._progress_text = ""
        self._exploded: float | None = None  # the loss that made us stop a run
        self._fresh: dict[str, object] = {}  # arch -> a freshly initialised net (preview)

        self.form = TrainSettings(controller, self.store_getter, self.errors)
        self.view = TrainView(controller.net)
        self.status = QLabel("Choose the settings, then Start. The canvas keeps predicting "
                             "with the current network while a copy trains.")
        self.status.setObjectName("train_status")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)  # a reset bar (-1) would hide its text
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.start_btn = QPushButton("Start", default=True)
        self.pause_btn = QPushButton("Pause", checkable=True)
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
        self._layout()
        self.form.changed.connect(self._sync_buttons)
        self.form.network_choice_changed.connect(self.preview_filters)
        controller.weights_changed.connect(self._on_weights_changed)
        self._sync_buttons()
        self.preview_filters()

    def _layout(self) -> None:
        right = QVBoxLayout()
        right.addWidget(self.status)
        right.addWidget(self.progress)
        right.addWidget(self.view, 1)
        buttons = QHBoxLayout()
        for b in (self.start_btn, self.pause_btn, self.cancel_btn):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.use_btn, self.save_btn, self.close_btn):
            buttons.addWidget(b)
        body = QHBoxLayout()
        body.addWidget(self.form)
        body.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(body, 1)
        lay.addLayout(buttons)
        self.resize(1280, 820)

    # ------------------------------------------------------------------ state
    @property
    def data(self):
        """The data section of the settings (dataset, download, folder)."""
        return self.form.data

    @property
    def running(self) -> bool:
        """A run is under way (from start() until its finished/errored signal arrives)."""
        return self._active

    def config(self) -> TrainConfig:
        return self.form.config()

    def _on_weights_changed(self, net) -> None:
        self.form.network_changed(net, self.running)
        if not self.running and self.result is None:
            self.preview_filters()

    def preview_filters(self) -> None:
        """Show the first-layer filters the chosen run starts from: the current network's, or
        those a fresh network of the chosen architecture is initialised with (same seed)."""
        if self.running:
            return
        if self.form.start_box.currentData():
            net = self.controller.net
            self.view.preview(net, f"the current {net.arch.name}")
            return
        from ..engine import build_network

        arch = self.form.arch_box.currentData()
        if arch not in self._fresh:
            self._fresh[arch] = build_network(arch, seed=TrainConfig().seed)
        self.view.preview(self._fresh[arch], f"a new {arch}")

    def _sync_buttons(self) -> None:
        run = self.running
        self.start_btn.setEnabled(not run and self.form.ready())
        self.pause_btn.setEnabled(run)
        self.cancel_btn.setEnabled(run)
        usable = bool(self.result is not None and self.result.usable and not run)
        self.use_btn.setEnabled(usable and self.in_use is not self.result.net)
        self.save_btn.setEnabled(usable)
        self.form.set_running(run)

    # ------------------------------------------------------------------ running
    def start(self, cfg: TrainConfig | None = None) -> bool:
        """Start training (``cfg`` overrides the widgets, e.g. in tests)."""
        if self.running:
            return False
        cfg = cfg or self.config()
        self.result = None
        self.log = []
        self._exploded = None
        self._cfg = cfg
        self.view.reset(cfg.epochs)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("loading data…")
        self.status.setText(f"Preparing {DATASET_CHOICES.get(cfg.dataset, cfg.dataset)}…")
        self.pause_btn.setChecked(False)
        base = self.controller.net.copy()  # never the live network
        self.worker = TrainWorker(cfg, base, self.store_getter() if cfg.uses_drawings else None)
        self.worker.started.connect(self._on_started)
        self.worker.progress.connect(self._on_progress)
        self.worker.epoch_done.connect(self._on_epoch)
        self.worker.phase.connect(self._on_phase)
        self.worker.finished.connect(self._on_finished)
        self.worker.errored.connect(self._on_error)
        if self.thread is not None:  # the previous run's thread has ended or is ending
            self.thread.wait(5000)
        self._active = True
        self.thread = start_worker(self.worker)
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
        reason = self.form.backend_reason  # said in plain words beside the backend choice
        self.status.setText(description.replace(f" ({reason})", "") if reason else description)

    def _on_progress(self, info) -> None:
        self.log.append("progress")
        self.progress.setValue(int(info.progress * 1000))
        paused = " · paused" if self.pause_btn.isChecked() else ""
        self._progress_text = (
            f"{info.progress:.0%} · epoch {info.epoch}/{info.epochs}, batch {info.batch}/"
            f"{info.batches} · {info.images_per_s:,.0f} images/s · ETA {fmt_time(info.eta)}"
            f" · loss {info.loss:.3f}")
        self.progress.setFormat(self._progress_text + paused)
        self.view.add_batch(info)
        if self._exploded is None and loss_exploded(float(info.loss)):
            # The loss blew up: the learning rate is too high. Stop now rather than let it
            # run on for minutes at 1e14 (the engine itself only stops at NaN/inf).
            self._exploded = float(info.loss)
            self.worker.cancel()
            self.status.setText(too_high_message(self._cfg.optimizer, self._cfg.lr,
                                                 self._exploded))

    def _on_epoch(self, info) -> None:
        self.log.append("epoch")
        self.view.add_epoch(info)

    def _on_phase(self, text: str) -> None:
        """A step after training (the test evaluation): a busy bar, not a bar stuck at 100%."""
        self.log.append("phase")
        self.status.setText(text)
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)

    def _on_error(self, message: str) -> None:
        self.log.append("errored")
        self._active = False
        self.progress.setRange(0, 1000)
        self.progress.setFormat("failed")
        self.status.setText("Training could not run; the current network is unchanged.")
        self.errors.report("Training failed", message)
        self._sync_buttons()
        self.training_finished.emit(None)

    def _on_finished(self, res) -> None:
        self.log.append("finished")
        self._active = False
        self.result = res
        self.progress.setRange(0, 1000)
        cfg = self._cfg
        if self._exploded is not None and res.status != "completed":
            res.status = "diverged"  # stopped by us because the loss exploded
        too_high = res.status == "diverged" and (
            self._exploded is not None or lr_warning(cfg.optimizer, cfg.lr) is not None)
        if too_high:
            loss = self._exploded if self._exploded is not None else float("inf")
            text = too_high_message(cfg.optimizer, cfg.lr, loss)
            self.progress.setFormat("diverged: learning rate too high")
            self.status.setText(f"<b style='color:#c0392b'>Training diverged</b>. {text}")
            self.errors.report("Training diverged", text)
        elif res.status == "completed":
            self.progress.setValue(1000)
            self.progress.setFormat("done")
            self.view.show_result(res)
            self.status.setText(f"Finished: test accuracy {res.test.accuracy:.2%}.")
        elif res.status == "diverged":
            self.progress.setFormat("diverged")
            self.status.setText(f"<b style='color:#b02020'>Training diverged</b>: {res.message}."
                                " Your current network is unchanged.")
            self.errors.report("Training diverged", f"Training diverged: {res.message}.\n\n"
                               "Your current network is unchanged.")
        else:
            self.progress.setFormat("cancelled")
            self.status.setText(f"Training cancelled ({res.message}). Your current network is "
                                "unchanged.")
        self._sync_buttons()
        self.training_finished.emit(res)

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

        ok, _ = self.errors.attempt("Cannot save weights", save_network, self.result.net, path,
                                    training=self.result.summary)
        if not ok:
            return False
        if self.in_use is self.result.net:
            self.controller.set_network(self.controller.net, path)
        self.status.setText(f"Saved to {path}")
        return True

    # ------------------------------------------------------------------ hooks / closing
    def _ask_save_path(self) -> str | None:
        name = f"{self.result.net.arch.name}-{self.result.config.dataset}.npz"
        path, _ = QFileDialog.getSaveFileName(self, "Save the trained network", str(Path(name)),
                                              WEIGHTS_FILTER)
        return path or None

    def shutdown(self, timeout_ms: int | None = None) -> None:
        """Stop a running training and wait for its thread (closing, or app exit): at most
        ``timeout_ms`` (default ``stop_wait_ms``)."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.set_paused(False)
        if self.thread is not None:
            self.thread.wait(self.stop_wait_ms if timeout_ms is None else timeout_ms)
        self.data.shutdown()

    def closeEvent(self, ev):
        self.shutdown()
        super().closeEvent(ev)
