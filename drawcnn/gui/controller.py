"""The controller: owns the current network and turns strokes into predictions.

Panels never call the engine; they render what this object emits:

* ``input_changed(img | None)``      the (28, 28) model input, None for a blank canvas
* ``steps_changed(dict | None)``     the preprocessing stages (raw, box, 20x20, 28x28, naive)
* ``activations_changed(list | None)`` ``[(layer_name, array), ...]`` for the current drawing
* ``prediction_changed(probs | None)`` the 10 probabilities (NumPy), None for a blank canvas
* ``weights_changed(net)``           a new network is in use (load, switch, hot swap)
* ``reading_changed(Reading)``       the whole reading (digit or None, reason, probabilities)
* ``error_occurred(title, message)`` something the user should be told; the model is kept.
  This is the GUI's one error path (``reporting.ErrorReporter``, ``self.errors``): widgets
  get the reporter and call it, the window shows what it emits.
* ``ready_changed(bool)``            the Numba kernels are compiled (warm-up finished)

Until then drawings are read by a copy of the network on the NumPy reference backend (no
compilation; ~20-60 ms a reading for the default network instead of ~1-4 ms), so the first
drawing gets its reading at once even when Numba's cache is cold and compiling takes seconds.

Updates are throttled: a change of the strokes schedules one update at most every
``min_interval_ms`` (leading edge: an idle controller updates on the next event-loop turn, so
queued mouse moves coalesce). The network is a plain attribute swapped by reference, so a
training worker can hand over new weights with ``set_network`` at any time.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..reading import Reading, read_drawing
from . import weights_locator
from .reporting import ErrorReporter
from .warmup import Warmup


class Controller(QObject):
    prediction_changed = Signal(object)
    activations_changed = Signal(object)
    input_changed = Signal(object)
    steps_changed = Signal(object)
    weights_changed = Signal(object)
    reading_changed = Signal(object)  # reading.Reading
    ready_changed = Signal(bool)
    status_changed = Signal(str)

    def __init__(self, net, path: Path | None = None, parent=None, min_interval_ms: int = 16):
        super().__init__(parent)
        self._net = net
        self.path: Path | None = Path(path) if path else None
        self.probabilities: np.ndarray | None = None
        self.activations: list | None = None
        self.input_image: np.ndarray | None = None
        self.steps: dict | None = None
        self.reading: Reading | None = None
        self.strokes: list[np.ndarray] = []
        self.canvas_size = 280
        self.ready = False
        self.last_update_s = 0.0  # duration of the last update (preprocess + network)
        self.update_started = 0.0  # perf_counter() when the last update began
        self.updates = 0
        self._min_interval = min_interval_ms / 1000.0
        self._last_t = -1.0
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
        self._warmup: Warmup | None = None
        self._interim = None  # the network on the NumPy reference backend, until warm
        self._failing = False  # the last update failed (and was reported)
        self.warmup_seconds: float | None = None
        self.timings: dict[str, float] = {}
        #: The GUI's one error path: widgets report through it, the window shows it.
        self.errors = ErrorReporter(self)

    # ------------------------------------------------------------------ network
    @property
    def error_occurred(self):
        """``error_occurred(title, message)`` of the error reporter (see ``self.errors``)."""
        return self.errors.error_occurred

    @property
    def net(self):
        return self._net

    @property
    def reads(self) -> bool:
        """A drawing gets its reading now: the kernels are warm, or the interim network is
        there."""
        return self.ready or self._interim is not None

    def start_warmup(self) -> None:
        """Compile the kernels in a background thread; the window stays responsive and reads
        drawings with the interim network meanwhile."""
        self.status_changed.emit("Warming up the network (compiling kernels; reading with "
                                 "the NumPy reference engine meanwhile)…")
        self._interim = _interim_copy(self._net)
        self._warmup = Warmup(self._net, self)
        self._warmup.finished.connect(self._on_warm)
        self._warmup.failed.connect(self._on_warm_failed)
        self._warmup.start()
        self.request_update()  # a drawing made before going live gets its reading now

    def _on_warm(self, seconds: float) -> None:
        self.ready = True
        self._interim = None
        self.warmup_seconds = seconds
        self.ready_changed.emit(True)
        self.status_changed.emit(f"Ready ({self._net.arch.name}, warm-up {seconds:.2f} s)")
        self.request_update()

    def report_error(self, title: str, message: str) -> None:
        """Tell the user something went wrong (the window shows it; nothing is changed)."""
        self.errors.report(title, message)

    def _on_warm_failed(self, message: str) -> None:
        self.report_error("Warm-up failed", message)
        self.status_changed.emit("The network could not be compiled")

    def set_network(self, net, path: Path | None = None) -> None:
        """Swap the network in use (by reference) and refresh everything."""
        self._net = net
        if not self.ready and self._interim is not None:
            self._interim = _interim_copy(net)
        self.path = Path(path) if path else None
        self.weights_changed.emit(net)
        self.request_update(now=True)

    def load_weights(self, path) -> bool:
        """Open a weights file; on any problem report it and keep the current network."""
        from ..engine import load_network

        ok, net = self.errors.attempt("Cannot open weights", load_network, path)
        if not ok:
            return False
        self.set_network(net, path)
        self.status_changed.emit(f"Loaded {Path(path).name} ({net.arch.name})")
        return True

    def switch_to(self, name: str) -> bool:
        """Switch to a shipped network by architecture name."""
        path = weights_locator.shipped_weights().get(name)
        if path is None:
            self.report_error("Network not available",
                              f"No shipped weights for {name!r} were found.")
            return False
        return self.load_weights(path)

    def save_copy(self, path) -> bool:
        from ..engine import save_network

        ok, _ = self.errors.attempt("Cannot save weights", save_network, self._net, path)
        if not ok:
            return False
        self.status_changed.emit(f"Saved a copy to {path}")
        return True

    # ------------------------------------------------------------------ input
    def set_strokes(self, strokes, canvas_size: int | None = None) -> None:
        self.strokes = list(strokes)
        if canvas_size:
            self.canvas_size = canvas_size
        self.request_update()

    def request_update(self, now: bool = False) -> None:
        """Schedule an update, at most one per ``min_interval`` (or at once with ``now``)."""
        self._dirty = True
        if now:
            self._timer.stop()
            self._on_timer()
            return
        if self._timer.isActive():
            return
        wait = self._last_t + self._min_interval - time.perf_counter()
        self._timer.start(max(0, int(wait * 1000)))

    def _on_timer(self) -> None:
        if not self._dirty:
            return
        if not self.reads:
            return  # start_warmup / _on_warm call request_update
        self._dirty = False
        self._last_t = time.perf_counter()
        self.update_now()

    def update_now(self) -> None:
        """Read the drawing (``reading.read_drawing``) and emit everything (GUI thread, ~ms)."""
        t0 = self.update_started = time.perf_counter()
        warm = self.ready
        net = self._net if warm else self._interim  # one read: a swap cannot mix two
        try:
            with _one_thread() if warm else contextlib.nullcontext():
                r = read_drawing(self.strokes, net, self.canvas_size, details=True)
        except Exception as exc:  # the live path's boundary; DrawCNNError or a bug
            if not self._failing:  # once, not on every mouse move until it works again
                self.errors.report_exception("Prediction failed", exc)
            self._failing = True
            return
        self._failing = False
        t2 = time.perf_counter()
        self.reading = r
        self.steps = r.steps
        self.input_image = r.model_input
        self.activations = r.activations
        self.probabilities = None if r.model_input is None else r.probabilities
        self.last_update_s = t2 - t0
        self.updates += 1
        self.input_changed.emit(self.input_image)
        self.steps_changed.emit(self.steps)
        self.activations_changed.emit(self.activations)
        self.prediction_changed.emit(self.probabilities)
        self.reading_changed.emit(r)
        t3 = time.perf_counter()
        #: Seconds per stage of the last update (the panels' work runs in the emits).
        self.timings = {"reading": t2 - t0, "panels": t3 - t2}


def _interim_copy(net):
    """``net`` on the NumPy reference backend: the same weights, nothing to compile."""
    return net.copy(backend="reference")


@contextlib.contextmanager
def _one_thread():
    """Run the live read's Numba kernels on the GUI thread alone: one drawing at batch 1 does
    not pay for waking worker threads, nor fight a training run for them (measured in the app
    on a busy 2-core machine: activations 4.6 -> 3.9 ms). Only this thread's setting changes."""
    import numba  # loaded already: the controller reads only once the network is warm

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)
