"""Light and dark themes (Fusion + palette) and colours for the pyqtgraph panels.

"system" follows the platform's colour scheme where Qt reports one (Qt >= 6.5).
Every widget with an ``apply_theme(background, foreground)`` method (the panels, the training
curves) is restyled when the theme changes; widgets made later take the current colours from
:func:`plot_colors` when they are built.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_DEFAULT_PALETTE: QPalette | None = None
_DARK = False  # the theme last applied


def system_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    try:
        return app.styleHints().colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # Qt < 6.5
        return app.palette().window().color().lightness() < 128


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 32, 36), QColor(43, 45, 50), QColor(225, 225, 225)
    p.setColor(QPalette.Window, window)
    p.setColor(QPalette.WindowText, text)
    p.setColor(QPalette.Base, base)
    p.setColor(QPalette.AlternateBase, window)
    p.setColor(QPalette.ToolTipBase, window)
    p.setColor(QPalette.ToolTipText, text)
    p.setColor(QPalette.Text, text)
    p.setColor(QPalette.Button, window)
    p.setColor(QPalette.ButtonText, text)
    p.setColor(QPalette.BrightText, QColor(255, 80, 80))
    p.setColor(QPalette.Highlight, QColor(66, 133, 244))
    p.setColor(QPalette.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.Link, QColor(110, 170, 255))
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        p.setColor(QPalette.Disabled, role, QColor(120, 120, 120))
    return p


def light_palette() -> QPalette:
    return QApplication.style().standardPalette()


def is_dark(name: str) -> bool:
    return name == "dark" or (name == "system" and system_is_dark())


def apply(name: str) -> bool:
    """Apply 'system', 'light' or 'dark' to the running application; True when dark."""
    global _DEFAULT_PALETTE, _DARK
    app = QApplication.instance()
    if app is None:
        return is_dark(name)
    if _DEFAULT_PALETTE is None:
        _DEFAULT_PALETTE = QPalette(app.palette())
    if name == "dark" or (name == "system" and system_is_dark()):
        app.setPalette(dark_palette())
    elif name == "light":
        app.setPalette(light_palette())
    else:
        app.setPalette(_DEFAULT_PALETTE)
    dark = _DARK = is_dark(name)
    if "pyqtgraph" in sys.modules:  # else app.configure_pyqtgraph does it when imported
        configure_plots()
    return dark


def configure_plots() -> None:
    """pyqtgraph's default colours for the theme last applied (items made from now on)."""
    import pyqtgraph as pg

    pg.setConfigOptions(background=plot_background(_DARK), foreground=plot_foreground(_DARK))


def plot_background(dark: bool) -> QColor:
    return QColor(24, 26, 30) if dark else QColor(252, 252, 250)


def plot_foreground(dark: bool) -> QColor:
    return QColor(210, 210, 210) if dark else QColor(40, 40, 40)


def plot_colors() -> tuple[QColor, QColor]:
    """(background, foreground) for plots of the theme last applied (light before any)."""
    return plot_background(_DARK), plot_foreground(_DARK)


def style_plot(plot, background, foreground) -> None:
    """Background, axes, axis titles, plot title and legend text of ``plot`` in these colours
    (pyqtgraph takes its colours once, when an item is made: a theme change must repaint)."""
    fg = QColor(foreground)
    plot.setBackground(background)
    item = plot.getPlotItem()
    for name in ("left", "bottom"):
        ax = item.getAxis(name)
        ax.setPen(fg)
        ax.setTextPen(fg)  # also the axis title
    title = item.titleLabel
    if title.text:
        title.setText(title.text, color=fg.name())
    if item.legend is not None:
        item.legend.setLabelTextColor(fg)
        for _, label in item.legend.items:
            label.setText(label.text)  # setAttr alone does not redraw the text


def style_window(w, dark: bool) -> None:
    """Give the canvas and every themed panel under ``w`` colours that suit the theme."""
    bg, fg = plot_background(dark), plot_foreground(dark)
    from PySide6.QtWidgets import QWidget

    for panel in w.findChildren(QWidget):
        if hasattr(panel, "apply_theme"):
            panel.apply_theme(bg, fg)
    if dark:
        w.canvas.set_colors(QColor(18, 18, 20), QColor(245, 245, 240), QColor(90, 90, 96))
    else:
        w.canvas.set_colors(QColor("#fbfaf6"), QColor("#1b1f3a"), QColor("#b9b5aa"))
