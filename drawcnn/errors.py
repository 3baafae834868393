"""Every error drawcnn raises on purpose, under one root.

``DrawCNNError`` is the root of each failure a user can trigger (a bad file, a missing
dataset, an unusable backend, a diverged run). Each carries a one-line message meant to be
shown as is; commands and workers catch ``DrawCNNError`` once, at their boundary, and
anything else that escapes is a bug. On a terminal, ``print_error`` shows a message as
``drawcnn: ...``. Nothing here imports anything but the standard library, so every layer
(engine, data, core, CLI, GUI) can share it.
"""

from __future__ import annotations

import sys
from pathlib import Path


class DrawCNNError(Exception):
    """Root of every error drawcnn raises on purpose; ``str(exc)`` is for the user."""


def print_error(message: object) -> None:
    """How a terminal shows an error: ``drawcnn: <first line>`` on stderr, any further lines
    (where a dataset was looked for, say) indented below it."""
    first, *rest = str(message).splitlines() or [""]
    print(f"drawcnn: {first}", file=sys.stderr)
    for line in rest:
        print(f"  {line}", file=sys.stderr)


# -- the engine


class WeightsError(DrawCNNError):
    """A weights file is missing, truncated, corrupted or does not match its architecture."""


class ArchitectureError(DrawCNNError):
    """An architecture spec is unknown, malformed, or its shapes do not fit together."""


class BackendUnavailable(DrawCNNError):
    """A requested compute backend cannot run here; the message says why."""


class TrainingDiverged(DrawCNNError):
    """The loss became NaN or infinite; the last good weights were kept."""


class NonFiniteOutput(DrawCNNError):
    """The network produced NaN or infinite values: never shown as a reading."""


class ExportError(DrawCNNError):
    """A network cannot be exported (e.g. to ONNX): missing package, unwritable file, ..."""


# -- data


class DataError(DrawCNNError):
    """A dataset, drawings store, image or download problem; the message names the file."""


class DatasetNotFound(DataError):
    """The dataset files are not where we looked (the message lists the places and the fixes)."""


class DatasetCorrupt(DataError):
    """A dataset file exists but is truncated, garbled or fails its checksum."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DownloadError(DataError):
    """No mirror could deliver a good copy of a file (or the download was cancelled)."""


class DownloadCancelled(DownloadError):
    """The user stopped the download; the partial file is kept for a later resume."""


class ImageReadError(DataError):
    """An image file is missing, unreadable, too large or not an image."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


# -- usage


class UsageError(DrawCNNError):
    """A setting or command-line value that cannot work (the CLI exits 2 with it)."""
