"""QApplication set-up and the event loop (``drawcnn`` with no arguments)."""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtWidgets import QApplication


def configure_pyqtgraph():
    """Import pyqtgraph (about half a second: after the window is shown, on a staged start)
    and set the options every panel assumes; returns the module."""
    import pyqtgraph as pg

    from . import theme

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    theme.configure_plots()
    return pg


def ensure_app(argv=None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        # Qt's raster engine hands large image blits to a thread pool and waits on a latch;
        # for this window's small images that wait (worst on a busy 2-core machine: a third
        # of the panels' paint time, measured) costs more than the blits. Paint inline.
        os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
        app.setApplicationName("drawcnn")
        app.setOrganizationName("drawcnn")
        app.setApplicationDisplayName("drawcnn")
        app.setStyle("Fusion")
        _set_icon(app)
    return app


def _set_icon(app) -> None:
    """The drawcnn icon for every window (PNG: no SVG plugin needed)."""
    from importlib.resources import files

    from PySide6.QtGui import QIcon

    try:
        icon = files("drawcnn.assets") / "drawcnn.png"
        app.setWindowIcon(QIcon(str(icon)))
    except (ModuleNotFoundError, FileNotFoundError, TypeError):
        pass  # no icon is no reason not to start


def run_app(weights=None) -> int:
    """Create the QApplication, show the main window, run the event loop.

    On Linux, first checks that the system libraries Qt's platform plugin needs are there:
    a missing one would make Qt abort the process; this prints the install command instead
    and returns 1."""
    from .syslibs import check_system_libraries, release_display_probe

    t0 = time.perf_counter()
    if QApplication.instance() is None and not check_system_libraries():
        return 1
    app = ensure_app()
    release_display_probe()  # Qt holds its own X connection now
    from . import create_window

    window = create_window(weights, staged=True)  # the panels come after the first paint
    window.show()
    window.startup_seconds = time.perf_counter() - t0
    return app.exec()
