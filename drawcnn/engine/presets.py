"""The architectures drawcnn ships, by name: simple (the textbook SimpleConvNet), lenet, deep.

Each is an ``Architecture`` value (see ``models.py``); ``get_architecture`` turns a name (a
command-line ``--arch``, the train dialog's choice) into one, with a one-line error otherwise.
"""

from __future__ import annotations

from ..errors import ArchitectureError
from .models import Architecture, Conv, Dense, Dropout, Flatten, MaxPool, ReLU

ARCHITECTURES: dict[str, Architecture] = {
    "simple": Architecture(
        "simple",
        (Conv(30, 5), ReLU(), MaxPool(2), Flatten(), Dense(100), ReLU(), Dense(10)),
        description="Textbook SimpleConvNet: conv 30@5x5, ReLU, max-pool 2, FC 100, ReLU, FC 10",
    ),
    "lenet": Architecture(
        "lenet",
        (
            Conv(6, 5, pad=2),
            ReLU(),
            MaxPool(2),
            Conv(16, 5),
            ReLU(),
            MaxPool(2),
            Flatten(),
            Dense(120),
            ReLU(),
            Dense(84),
            ReLU(),
            Dense(10),
        ),
        description="LeNet-5 with ReLU and max-pooling",
    ),
    "deep": Architecture(
        "deep",
        (
            Conv(32, 3, pad=1),
            ReLU(),
            Conv(32, 3, pad=1),
            ReLU(),
            MaxPool(2),
            Conv(64, 3, pad=1),
            ReLU(),
            Conv(64, 3, pad=1),
            ReLU(),
            MaxPool(2),
            Flatten(),
            Dense(256),
            ReLU(),
            Dropout(0.5),
            Dense(10),
        ),
        description="VGG-style: 2x(conv 32@3x3), pool, 2x(conv 64@3x3), pool, FC 256, "
        "dropout, FC 10",
    ),
}

DEFAULT_ARCHITECTURE = "deep"


def get_architecture(arch: str | Architecture) -> Architecture:
    if isinstance(arch, Architecture):
        return arch
    try:
        return ARCHITECTURES[arch]
    except KeyError:
        raise ArchitectureError(
            f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}"
        ) from None
