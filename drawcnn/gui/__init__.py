"""The drawcnn desktop app (PySide6 + pyqtgraph).

>>> from drawcnn.gui import create_window
>>> window = create_window()          # default weights; no event loop started
>>> window.canvas, window.controller  # the drawing widget, the network owner
"""

from __future__ import annotations

from pathlib import Path


def create_window(weights: str | Path | None = None, *, settings_path: str | Path | None = None,
                  staged: bool = False):
    """The main window, ready to draw (not shown, no event loop). Needs a QApplication.

    ``weights``: a weights file (default: the network used last time while its file still
    opens, else the shipped default network, or an untrained one when none is shipped).
    ``settings_path``: an .ini file for remembered settings (tests).
    ``staged``: return at once with the canvas and the docks' frames (no pyqtgraph, no
    Numba imported yet); after the first paint the network, the prediction panels and the
    menus (``window.live``), once the network is warm the other panels (``window.finished``;
    ``window.finish()`` forces both), in the event loop. What ``run_app`` does.
    """
    from .app import ensure_app
    from .main_window import MainWindow
    from .settings import Settings
    from .weights_locator import load_startup

    ensure_app()
    settings = Settings(settings_path)
    if staged:  # the network loads (Numba imported) in a thread while the window is built
        remembered = settings.get("weights")
        return MainWindow(None, settings,
                          load=in_background(lambda: load_startup(weights, remembered)))
    startup = load_startup(weights, remembered=settings.get("weights"))
    return MainWindow(startup, settings)


def in_background(fn):
    """Start ``fn()`` in a daemon thread now; the returned function waits for its result
    (re-raising what it raised)."""
    import threading

    box: dict = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the caller, raised there
            box["error"] = exc

    thread = threading.Thread(target=run, name="drawcnn-load", daemon=True)
    thread.start()

    def result():
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    return result


__all__ = ["create_window"]
