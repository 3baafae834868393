"""Compile the Numba kernels in the background so the window appears at once.

The first call of each kernel compiles it (seconds when Numba's disk cache is cold, tens of
milliseconds when warm). A plain ``threading.Thread`` runs one forward pass on a small blob
and reports back through a queued Qt signal; the window shows "warming up…" until then.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from .reporting import describe_failure


def warm_input() -> np.ndarray:
    """A (1,1,28,28) float32 input with a blob of ink (exercises every kernel)."""
    x = np.zeros((1, 1, 28, 28), np.float32)
    x[0, 0, 8:20, 12:16] = 1.0
    return x


class Warmup(QObject):
    finished = Signal(float)
    failed = Signal(str)

    def __init__(self, net, parent=None):
        super().__init__(parent)
        self._net = net
        self._thread: threading.Thread | None = None
        self.seconds: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="drawcnn-warmup", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            from ..data.preprocess import strokes_to_mnist

            strokes_to_mnist([np.array([[10.0, 10.0, 1.0], [20.0, 30.0, 1.0]])], 280)
            self._net.activations(warm_input())
        except Exception as exc:  # the thread's boundary: reported in the window, never raised
            self.failed.emit(describe_failure(exc))
            return
        self.seconds = time.perf_counter() - t0
        self.finished.emit(self.seconds)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True
