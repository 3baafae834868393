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

#: The file dialogs' filter for weights files (open, save a copy, save a trained network).
WEIGHTS_FILTER = "drawcnn weights (*.npz);;All files (*)"

__all__ = ["DEFAULT_NAME", "SHIPPED_ORDER", "Startup", "default_weights_path", "fresh_network",
           "is_untrained", "load_startup", "remember_as", "shipped_name", "shipped_weights",
           "weights_dir", "weights_warning"]


def shipped_weights() -> dict[str, Path]:
    """{architecture name: path} of the shipped weights files that exist (see drawcnn.shipped)."""
    return _shipped.shipped_weights()


def shipped_name(path: str | Path | None) -> str | None:
    """The shipped network ``path`` is (its architecture name), or None."""
    if path is None:
        return None
    here = Path(path).resolve()
    for name, p in shipped_weights().items():
        if Path(p).resolve() == here:
            return name
    return None


def default_weights_path() -> Path | None:
    """The default network's weights file, chosen from this module's ``shipped_weights()``."""
    return _shipped.default_weights_path(shipped_weights())


@dataclass
class Startup:
    """The network to start with and, when it is not a trained one, why (shown in the window)."""

    net: object
    path: Path | None
    warning: str | None = None  # shown in the window's banner until another network is chosen


def fresh_network(arch: str = DEFAULT_NAME):
    from ..engine import build_network

    net = build_network(arch, seed=0)
    net.metadata["untrained"] = True
    return net


def is_untrained(net) -> bool:
    return bool((net.metadata or {}).get("untrained"))


def weights_warning(net) -> str | None:
    """Why this network's guesses cannot be trusted, or None when it was trained."""
    if is_untrained(net):
        return "This network is untrained: its guesses are random."
    if not (net.metadata or {}).get("training"):
        return ("This weights file has no training record: if it was never trained, its "
                "guesses are random.")
    return None


SHIPPED_PREFIX = "shipped:"


def remember_as(path: str | Path | None) -> str | None:
    """How the settings remember the network at ``path``: a shipped one by its name (so an
    upgrade that moves the package keeps the choice), any other file by its path."""
    if path is None:
        return None
    name = shipped_name(path)
    return f"{SHIPPED_PREFIX}{name}" if name else str(path)


def load_startup(weights: str | Path | None = None,
                 remembered: str | None = None) -> Startup:
    """Load ``weights``; else the network used last time (``remembered``, see
    ``remember_as``) while it still loads; else the default. A ``weights`` file that cannot be
    used is reported in one line on stderr and in the window, and the app still opens: with
    the shipped default network, or, when that fails too, an untrained one. Orphaned temp
    files of killed saves next to the weights are cleaned up on the way."""
    from ..atomic import clean_stale_temps
    from ..engine import load_network
    from ..errors import DrawCNNError, print_error

    if weights is None and remembered:
        remembered = str(remembered)
        if remembered.startswith(SHIPPED_PREFIX):
            shipped = shipped_weights().get(remembered[len(SHIPPED_PREFIX):])
            return load_startup(shipped)  # not shipped any more: the default
        try:
            return Startup(load_network(remembered), Path(remembered))
        except DrawCNNError as exc:  # moved, deleted or damaged since: the default
            start = load_startup(None)
            start.warning = start.warning or (f"The network used last time could not be "
                                              f"opened ({exc}); started with the default.")
            return start

    default = default_weights_path()
    path = Path(weights) if weights is not None else default
    if path is None:
        return Startup(fresh_network(), None,
                       "No trained weights found: this network is untrained, so its guesses "
                       "are random. Train one (Model → Train…) or open a weights file (File "
                       "menu).")
    clean_stale_temps(path.parent)
    try:
        return Startup(load_network(path), path)
    except DrawCNNError as exc:
        problem = str(exc).splitlines()[0]
    if weights is not None and default is not None and Path(default) != path:
        try:
            net = load_network(default)
        except DrawCNNError:
            pass
        else:
            print_error(f"{problem}; opening the default {default.stem} network instead")
            return Startup(net, default, f"{problem}\nOpened the default network "
                                         f"({default.name}) instead.")
    print_error(f"{problem}; starting with an untrained network")
    return Startup(fresh_network(), None, f"{problem}\nStarted with an untrained network "
                                          "instead.")
