"""Whether a panel can be seen (Qt only: the live panels use it before pyqtgraph is loaded)."""

from __future__ import annotations


def on_screen(widget) -> bool:
    """True when any part of ``widget`` can be seen (a dock in a background tab cannot)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()
