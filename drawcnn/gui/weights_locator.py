"""The network the app starts with, and the shipped ones it can switch to.

Finding the files is ``drawcnn.shipped``'s job (installed, source checkout, frozen). When no
weights file exists yet the app starts with a freshly initialised (untrained) network and
says so in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import shipped as _shipped
from ..shipped import DEFAULT_NAME, SHIPPED_ORDER, weights_dir

__all__ = ["DEFAULT_NAME", "SHIPPED_ORDER", "Startup", "default_weights_path", "fresh_network",
           "is_untrained", "load_startup", "shipped_weights", "weights_dir"]


def shipped_weights() -> dict[str, Path]:
    """{architecture name: path} of the shipped weights files that exist (see drawcnn.shipped)."""
    return _shipped.shipped_weights()


def default_weights_path() -> Path | None:
    """The default network's weights file, chosen from this module's ``shipped_weights()``."""
    return _shipped.default_weights_path(shipped_weights())


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
