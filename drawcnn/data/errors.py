"""The data package's exception types; ``str(exc)`` is meant to be shown to the user as is.

Each message names the file or folder involved, what is wrong with it and, where there is
one, what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """Base of every error the data package raises on purpose."""


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
    """An image file is missing, unreadable or not an image."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")
