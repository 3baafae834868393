"""Where the shipped networks live (no Qt): the CLI, the self-test and the GUI all use this.

Installed, ``weights/`` is the package ``drawcnn.weights``; in a source checkout it is the
``weights/`` folder next to the ``drawcnn`` package; frozen, it sits in the bundle.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHIPPED_ORDER = ("deep", "lenet", "simple")
DEFAULT_NAME = "deep"


def weights_dir() -> Path | None:
    """The folder holding the shipped ``*.npz`` files (None if it cannot be found)."""
    candidates = []
    if getattr(sys, "frozen", False):
        candidates.append(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) /
                          "drawcnn" / "weights")
    try:
        from importlib.resources import files

        candidates.append(Path(str(files("drawcnn.weights"))))
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    candidates.append(Path(__file__).resolve().parents[1] / "weights")
    for p in candidates:
        if p.is_dir() and any(p.glob("*.npz")):
            return p
    return next((p for p in candidates if p.is_dir()), None)


def shipped_weights() -> dict[str, Path]:
    """{architecture name: path} for every shipped weights file that exists, default first."""
    folder = weights_dir()
    if folder is None:
        return {}
    found = {}
    for name in SHIPPED_ORDER:
        p = folder / f"{name}.npz"
        if p.is_file():
            found[name] = p
    for p in sorted(folder.glob("*.npz")):
        found.setdefault(p.stem, p)
    return found


def default_weights_path(shipped: dict[str, Path] | None = None) -> Path | None:
    """The default network's weights file (``deep``), else any shipped one, else None.

    ``shipped`` is a {name: path} mapping to choose from (default: ``shipped_weights()``).
    """
    shipped = shipped_weights() if shipped is None else shipped
    if DEFAULT_NAME in shipped:
        return shipped[DEFAULT_NAME]
    return next(iter(shipped.values()), None)
