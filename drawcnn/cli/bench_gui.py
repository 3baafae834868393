"""Measure how immediate the app feels (used by ``drawcnn bench --gui`` and the tests).

* ``measure_latency``: mouse move -> updated predictions + feature maps, up to the end of the
  last repaint it caused (a relayout after the first paint counts too), over synthetic
  moves sent like a 50 Hz mouse (moves spaced wider than the update throttle, so the number
  is the work per move, not the throttle's wait: ``to_update_median_ms`` shows it).
* ``measure_startup``: a fresh process up to a shown window, up to the first reading of a
  drawing made as soon as the canvas shows (usable), and up to the compiled network (warm),
  with Numba's on-disk cache as it is ("warm") or empty ("cold").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def _percentiles(ms: list[float]) -> dict:
    a = np.asarray(ms, dtype=float)
    return {"median_ms": float(np.median(a)), "p95_ms": float(np.percentile(a, 95)),
            "max_ms": float(a.max()), "n": int(a.size)}


def measure_latency(window=None, moves: int = 200, weights=None, interval_ms: float = 20.0,
                    timeout_s: float = 120.0, restart_every: int = 100) -> dict:
    """Median / p95 ms from a mouse move to updated probabilities and feature maps."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    own = window is None
    if own:
        from ..gui import create_window

        settings = os.path.join(tempfile.mkdtemp(prefix="drawcnn-bench-"), "settings.ini")
        window = create_window(weights, settings_path=settings)
        window.show()
    app = QApplication.instance()
    c, canvas = window.controller, window.canvas
    deadline = time.perf_counter() + timeout_s
    while not c.ready and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.005)
    if not c.ready:
        raise RuntimeError("the network did not warm up in time")
    canvas.clear()

    def send(kind, pos, button, buttons):
        QApplication.sendEvent(canvas, QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button,
                                                   buttons, Qt.NoModifier))

    class Repaints(QObject):  # counts the window's repaints (one UpdateRequest each)
        n = 0

        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.UpdateRequest:
                self.n += 1
            return False

    repaints = Repaints()
    window.installEventFilter(repaints)

    # A digit-sized path (a "2"-like curve), revisited back and forth.
    t = np.linspace(0, 1, 60)
    path = [canvas.to_widget(0.3 + 0.4 * np.sin(np.pi * u), 0.2 + 0.6 * u) for u in t]
    send(QEvent.MouseButtonPress, path[0], Qt.LeftButton, Qt.LeftButton)
    ms, compute, stages = [], [], {"reading": [], "panels": []}
    waits, paints, passes, cpu = [], [], [], []
    jitter = QPointF(0.0, 0.0)
    for i in range(moves):
        if i and i % restart_every == 0:  # a digit has ~50-150 points: start a new one
            send(QEvent.MouseButtonRelease, path[0], Qt.LeftButton, Qt.NoButton)
            canvas.clear()
            send(QEvent.MouseButtonPress, path[0], Qt.LeftButton, Qt.LeftButton)
        k = i % (2 * len(path) - 2)
        p = path[k if k < len(path) else 2 * len(path) - 2 - k]
        jitter = QPointF(0.0, 0.0) if jitter.x() else QPointF(3.0, 0.0)  # always a new point
        before, before_paints = c.updates, repaints.n
        start, cpu_start = time.perf_counter(), time.thread_time()
        send(QEvent.MouseMove, p + jitter, Qt.NoButton, Qt.LeftButton)
        while c.updates == before and time.perf_counter() - start < 2.0:
            app.processEvents()
        updated = time.perf_counter()
        # The repaints the update caused: until an event-loop turn paints nothing more (a
        # relayout, say, can repaint again after the first paint).
        end, seen = updated, repaints.n
        for _ in range(8):
            app.processEvents()
            if repaints.n == seen:
                break
            end, seen = time.perf_counter(), repaints.n
        cpu.append((time.thread_time() - cpu_start) * 1000)
        ms.append((end - start) * 1000)
        compute.append(c.last_update_s * 1000)
        # move -> update begins: the canvas's own handling and repaint (+ a throttle's wait)
        waits.append(max(0.0, c.update_started - start) * 1000)
        paints.append((end - updated) * 1000)
        passes.append(repaints.n - before_paints)
        for k, v in getattr(c, "timings", {}).items():
            stages[k].append(v * 1000)
        rest = interval_ms / 1000 - (time.perf_counter() - start)
        if rest > 0:
            time.sleep(rest)
    send(QEvent.MouseButtonRelease, path[-1], Qt.LeftButton, Qt.NoButton)
    app.processEvents()
    window.removeEventFilter(repaints)
    result = _percentiles(ms)
    result["compute_median_ms"] = float(np.median(compute))
    result["to_update_median_ms"] = float(np.median(waits))
    result["paint_median_ms"] = float(np.median(paints))  # after the update
    result["repaints_per_move"] = float(np.mean(passes))
    # The GUI thread's CPU time per move (the live read runs on it, single-threaded): what
    # the work costs, whatever else keeps the machine busy (wall time includes waiting for
    # a core).
    result["cpu_median_ms"] = float(np.median(cpu))
    result["cpu_p95_ms"] = float(np.percentile(cpu, 95))
    for k, v in stages.items():
        if v:
            result[f"{k}_median_ms"] = float(np.median(v))
    result["network"] = c.net.arch.name
    result["points_per_drawing"] = restart_every
    if own:
        window.close()
    return result


_PROBE = """
import time
t0 = time.perf_counter()
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from drawcnn.cli.bench_gui import _startup_probe
_startup_probe(t0)
"""


def _startup_probe(t0: float) -> None:
    """Run inside a fresh interpreter, the way ``run_app`` starts (a staged window): print
    seconds to the window's first paint (visible, the canvas takes strokes), to the first
    reading of a drawing made at that moment (usable: a drawing gets its prediction), to the
    compiled network (warm) and to every panel built."""
    import tempfile

    import numpy as np
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from ..gui import create_window

    marks: dict[str, float] = {}
    seven = [np.array([[60.0, 60.0, 1.0], [220.0, 60.0, 1.0], [120.0, 230.0, 1.0]])]

    class FirstPaint(QObject):
        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Paint and "window_s" not in marks:
                marks["window_s"] = time.perf_counter() - t0
            return False

    def on_reading(r) -> None:
        if r.model_input is not None and "usable_s" not in marks:
            marks["usable_s"] = time.perf_counter() - t0

    settings = os.path.join(tempfile.mkdtemp(prefix="drawcnn-probe-"), "settings.ini")
    w = create_window(os.environ.get("DRAWCNN_PROBE_WEIGHTS") or None, settings_path=settings,
                      staged=True)
    w.controller.reading_changed.connect(on_reading)
    spy = FirstPaint()
    w.canvas.installEventFilter(spy)
    w.show()
    app = QApplication.instance()
    drawn = False
    while not (w.controller.ready and w.finished and "usable_s" in marks) \
            and time.perf_counter() - t0 < 300:
        app.processEvents()
        if "window_s" in marks and not drawn:  # the user draws as soon as the canvas is there
            w.canvas.set_strokes(seven)
            drawn = True
        if w.controller.ready and "ready_s" not in marks:
            marks["ready_s"] = time.perf_counter() - t0
        if w.finished and "panels_s" not in marks:
            marks["panels_s"] = time.perf_counter() - t0
        time.sleep(0.002)
    now = time.perf_counter() - t0
    for key in ("ready_s", "panels_s", "usable_s"):
        marks.setdefault(key, now)
    marks.setdefault("window_s", marks["ready_s"])
    print(json.dumps(marks), flush=True)
    w.close()  # as a user would: the window stops its workers (the drawing started some)
    app.processEvents()


def measure_startup(cold: bool = False, weights=None) -> dict:
    """Seconds from launching a fresh process to the window shown / the network warm.

    ``cold`` points Numba at an empty cache directory, so every kernel compiles.
    """
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if weights:
        env["DRAWCNN_PROBE_WEIGHTS"] = str(weights)
    tmp = None
    if cold:
        tmp = tempfile.TemporaryDirectory(prefix="drawcnn-numba-")
        env["NUMBA_CACHE_DIR"] = tmp.name
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                             text=True, timeout=600, check=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    total = time.perf_counter() - start
    line = [s for s in out.stdout.splitlines() if s.startswith("{")][-1]
    data = json.loads(line)
    data["process_s"] = total
    data["cold"] = cold
    return data


if __name__ == "__main__":  # python -m drawcnn.cli.bench_gui
    print(json.dumps(measure_latency(), indent=2))
    print(json.dumps(measure_startup(cold=False), indent=2))
