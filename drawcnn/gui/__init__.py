"""The drawcnn desktop app (PySide6 + pyqtgraph).

>>> from drawcnn.gui import create_window
>>> window = create_window()          # default weights; no event loop started
>>> window.canvas, window.controller  # the drawing widget, the network owner
"""

from __future__ import annotations

from pathlib import Path


def create_window(weights: str | Path | None = None, *, settings_path: str | Path | None = None):
    """The main window, ready to draw (not shown, no event loop). Needs a QApplication.

    ``weights``: a weights file (default: the network used last time while its file still
    opens, else the shipped default network, or an untrained one when none is shipped).
    ``settings_path``: an .ini file for remembered settings (tests).
    """
    from .app import ensure_app
    from .main_window import MainWindow
    from .settings import Settings
    from .weights_locator import load_startup

    ensure_app()
    settings = Settings(settings_path)
    startup = load_startup(weights, remembered=settings.get("weights"))
    return MainWindow(startup, settings)


__all__ = ["create_window"]
