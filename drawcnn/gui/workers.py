"""Workers: the engine's training loop and dataset downloads, off the GUI thread.

A worker is a QObject whose ``run`` ``start_worker`` calls in a daemon Python thread; the
engine's plain callbacks become Qt signals, which reach the GUI thread queued (the worker
lives in the GUI thread, the signals are emitted from another: never a direct call across
threads). Pause and cancel are ``threading.Event`` objects the engine checks between batches.
Not a QThread: a run that cannot stop within the wait when the window closes (loading a
dataset, compiling kernels on a first start, a download blocked on the network) would make
Qt abort the process at exit ("QThread: Destroyed while thread is still running"); a daemon
thread ends with the process instead, as the warm-up and the explain jobs do.

``TrainWorker`` trains a network the dialog hands it: always a copy or a freshly built one,
never the live network the canvas predicts with, at a lower scheduling priority than the
window (``yield_to_the_gui``). Its ``finished`` signal carries a
``TrainResult`` whatever the outcome (completed, stopped, diverged); ``errored`` is for runs
that could not start or crashed (missing data, bad settings), with a message for the user.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..training import RunCallbacks, TrainConfig, TrainData, run_training
from .reporting import describe_failure


class TrainWorker(QObject):
    """Runs ``fit`` on ``net`` (a copy!) in its thread; see the module docstring."""

    started = Signal(object)  # the run's description (str)
    phase = Signal(str)  # a step after training, e.g. the final test evaluation
    progress = Signal(object)  # BatchInfo
    epoch_done = Signal(object)  # EpochInfo
    finished = Signal(object)  # TrainResult
    errored = Signal(str)

    def __init__(self, cfg: TrainConfig, base_net, store=None, data: TrainData | None = None):
        super().__init__()
        self.cfg = cfg
        self.base_net = base_net  # a copy of the live network: read-only here
        self.store = store
        self.data = data
        self.stop_event = threading.Event()
        self.pause_event = threading.Event()
        self.net = None

    def cancel(self) -> None:
        self.stop_event.set()

    def set_paused(self, paused: bool) -> None:
        (self.pause_event.set if paused else self.pause_event.clear)()

    @Slot()
    def run(self) -> None:
        yield_to_the_gui()
        try:
            self._run()
        except Exception as exc:  # the thread's boundary: the live model is untouched
            self.errored.emit(describe_failure(exc))

    def _run(self) -> None:
        callbacks = RunCallbacks(on_started=self.started.emit, on_batch=self.progress.emit,
                                 on_epoch=self.epoch_done.emit, on_phase=self.phase.emit)
        self.finished.emit(run_training(self.cfg, self.base_net, self.store, self.data,
                                        callbacks, self.stop_event, self.pause_event))


def yield_to_the_gui() -> None:
    """Lower the calling thread's scheduling priority (and that of the threads it starts
    from now on, e.g. the engine's pool): a training then takes the CPU the live canvas
    leaves, instead of slowing every mouse move several times over on a small machine.
    Linux keeps a nice value per thread; elsewhere Qt's thread priority does it."""
    thread = QThread.currentThread()
    if thread is not None:
        thread.setPriority(QThread.LowestPriority)
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(NICE, os.getpriority(os.PRIO_PROCESS, tid)))
        except OSError:  # not allowed here: the default priority it is
            pass


NICE = 10  # how much lower (Linux nice: 0 normal .. 19 lowest)


class ProgressThrottle:
    """``throttle(done, total)`` calls ``emit(done, total)`` at most every ``interval``
    seconds, and always for the last step: a queued signal per byte or per step would flood
    the GUI thread's event queue."""

    def __init__(self, emit, interval: float = 0.05):
        self.emit, self.interval = emit, interval
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self._last >= self.interval or done >= total:
            self._last = now
            self.emit(int(done), int(total))


class DownloadWorker(QObject):
    """Fetches a dataset (``load_dataset(..., download=True)``) with progress and cancel."""

    progress = Signal(int, int)  # bytes done, bytes total
    finished = Signal(str)  # the folder now holding the dataset
    errored = Signal(str)

    def __init__(self, name: str, data_dir=None):
        super().__init__()
        self.name, self.data_dir = name, data_dir
        self.stop_event = threading.Event()
        self._progress = ProgressThrottle(self.progress.emit)

    def cancel(self) -> None:
        self.stop_event.set()

    @Slot()
    def run(self) -> None:
        from ..data import load_dataset

        try:
            ds = load_dataset(self.name, self.data_dir, download=True, progress=self._progress,
                              stop_event=self.stop_event)
        except Exception as exc:  # the thread's boundary: reported, never a crash
            self.errored.emit(describe_failure(exc))
            return
        self.finished.emit(str(ds.root))


class WorkerThread:
    """The daemon thread ``start_worker`` runs a worker in: ``wait`` joins it for a while,
    ``is_alive`` tells whether it still runs. A run still going when the process ends (it
    did not stop within the caller's wait) ends with it."""

    def __init__(self, worker: QObject):
        self.worker = worker  # the signals' sender: kept alive while it runs
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"drawcnn-{type(worker).__name__}")

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException:
            # The process is ending under a run that did not stop in time (the engine's
            # pool refuses work, Qt objects go): nothing to report to, and nobody to tell.
            if threading.main_thread().is_alive():
                raise

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout_ms: int | None = None) -> bool:
        """Join for at most ``timeout_ms`` (None: until it ends); True when it has ended."""
        if self._thread.ident is None:
            return True  # never started
        self._thread.join(None if timeout_ms is None else timeout_ms / 1000)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread.is_alive()


def start_worker(worker: QObject) -> WorkerThread:
    """Run ``worker.run`` in a new daemon thread; its signals reach the GUI thread queued."""
    thread = WorkerThread(worker)
    thread.start()
    return thread
