"""Where the shipped networks live, and the network the app starts with.

Installed, ``weights/`` is the package ``drawcnn.weights``; in a source checkout it is the
``weights/`` folder next to the ``drawcnn`` package. When no weights file exists yet the app
starts with a freshly initialised (untrained) network and says so in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SHIPPED_ORDER = ("deep", "lenet", "simple")
DEFAULT_NAME = "deep"


def weights_dir() -> Path | None:
    """The folder holding the shipped ``*.npz`` files (None if it cannot be found)."""
    try:
        from importlib.resources import files

        p = Path(str(files("drawcnn.weights")))
        if p.is_dir():
            return p
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    p = Path(__file__).resolve().parents[2] / "weights"
    return p if p.is_dir() else None


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


def default_weights_path() -> Path | None:
    """The default network's weights file (``deep``), else any shipped one, else None."""
    shipped = shipped_weights()
    if DEFAULT_NAME in shipped:
        return shipped[DEFAULT_NAME]
    return next(iter(shipped.values()), None)


@dataclass
class Startup:
    """The network to start with and, when it is not a trained one, why (shown in the window)."""

    net: object
    path: Path | None
    warning: str | None = None


def fresh_network(arch: str = DEFAULT_NAME):
    from ..engine import build_network

    net = build_network(arch, seed=0)
    net.metadata["untrained"] = True
    return net


def is_untrained(net) -> bool:
    return bool(getattr(net, "metadata", {}).get("untrained"))


def load_startup(weights: str | Path | None = None) -> Startup:
    """Load ``weights`` (or the default); on failure fall back to an untrained network."""
    from ..engine import WeightsError, load_network

    path = Path(weights) if weights is not None else default_weights_path()
    if path is None:
        return Startup(fresh_network(), None,
                       "No trained weights found: this network is untrained, so its guesses "
                       "are random. Train one or open a weights file (Model menu).")
    try:
        return Startup(load_network(path), path)
    except WeightsError as exc:
        return Startup(fresh_network(), None,
                       f"{exc}\nStarted with an untrained network instead.")
