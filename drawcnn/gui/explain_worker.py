"""Explanations off the GUI thread: one job at a time per runner, the newest request wins.

A job is a plain function ``fn(progress, stop_event) -> result`` (``progress(done, total)``);
it runs in a daemon Python thread (as the warm-up does) and its result reaches the GUI
thread as a queued signal. Not a QThread: a job still compiling kernels when the window
closes (a first start, cold Numba cache) outlived the wait, and Qt aborts the process when a
running QThread is destroyed at exit. A request made while a job runs waits; a newer
request replaces it (a drawing that changed twice needs only the last explanation).

Jobs wait for the warm kernels too (``JobRunner.wait_for``, wired by the explain docks for
every runner): a job started while the warm-up compiles would compile its own kernels
beside it and hold Numba's compiler lock (a first start: the network warm seconds later). A
request made before then is held (the newest wins) and starts once the gate opens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from .reporting import describe_failure
from .workers import ProgressThrottle, start_worker, yield_to_the_gui


class ExplainJob(QObject):
    progress = Signal(int, int)
    finished = Signal(object)
    errored = Signal(str)

    def __init__(self, fn: Callable, stop_event: threading.Event):
        super().__init__()
        self.fn = fn
        self.stop_event = stop_event
        self._progress = ProgressThrottle(self.progress.emit)  # ~20 Hz at most

    @Slot()
    def run(self) -> None:
        yield_to_the_gui()  # the next stroke's live reading goes first
        try:
            result = self.fn(self._progress, self.stop_event)
        except Exception as exc:  # the thread's boundary: reported, never a crash
            self.errored.emit(describe_failure(exc))
            return
        self.finished.emit(result)


class JobRunner(QObject):
    """Runs one ExplainJob at a time; ``submit`` while busy keeps only the newest request."""

    progress = Signal(int, int)
    finished = Signal(object, object)  # (tag, result)
    errored = Signal(object, str)  # (tag, message)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._job: ExplainJob | None = None
        self._thread = None
        self._tag = None
        self._pending: tuple | None = None
        self._stop = threading.Event()
        self._closed = False
        self._ready: Callable[[], bool] | None = None

    @property
    def busy(self) -> bool:
        """A job runs, or one waits (for the running one, or for the warm kernels)."""
        return self._job is not None or self._pending is not None

    @property
    def waiting(self) -> bool:
        """A job waits for the gate (``wait_for``) to open."""
        return self._job is None and self._pending is not None

    def wait_for(self, ready: Callable[[], bool], became_ready) -> None:
        """Start no job while ``ready()`` is false: hold the newest request and start it when
        ``became_ready`` (a signal) is emitted and ``ready()`` is true."""
        self._ready = ready
        became_ready.connect(self._release)

    def _gate_open(self) -> bool:
        return self._ready is None or bool(self._ready())

    def _release(self, *_) -> None:
        if self._job is None and self._pending is not None and not self._closed \
                and self._gate_open():
            tag, fn = self._pending
            self._pending = None
            self._start(tag, fn)

    def submit(self, tag, fn: Callable) -> None:
        if self._closed:
            return
        if self._job is not None or not self._gate_open():
            self._pending = (tag, fn)
            return
        self._start(tag, fn)

    def cancel(self) -> None:
        """Ask the running job to stop (it checks between steps) and drop the pending one."""
        self._pending = None
        self._stop.set()

    def _start(self, tag, fn) -> None:
        self._stop = threading.Event()
        self._tag = tag
        job = ExplainJob(fn, self._stop)
        job.progress.connect(self.progress)
        job.finished.connect(self._on_finished)
        job.errored.connect(self._on_errored)
        self._job = job
        self._thread = start_worker(job)  # a daemon thread, as the training's

    def _done(self) -> None:
        if self._thread is not None:
            self._thread.wait(5000)  # it has emitted its last signal: ending now
        self._job = self._thread = None
        self._release()

    def _on_finished(self, result) -> None:
        tag = self._tag
        self._done()
        self.finished.emit(tag, result)

    def _on_errored(self, message: str) -> None:
        tag = self._tag
        self._done()
        self.errored.emit(tag, message)

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop, take no new job and wait (window closing); a job that cannot stop in time
        (compiling) ends with the process."""
        self._closed = True
        self.cancel()
        if self._thread is not None:
            self._thread.wait(timeout_ms)
