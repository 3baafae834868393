"""Numba runtime set-up, done once before any kernel is compiled.

Why it exists: an installed or frozen app cannot always write Numba's cache next to its
modules, and parallel kernels called from two threads at once (training + live prediction)
can abort under Numba's ``workqueue`` threading layer. This module points the cache at a
writable user directory when needed, prefers a thread-safe threading layer, and owns the one
lock that serialises parallel kernel launches whatever layer loads.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _user_cache_dir() -> Path:
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("drawcnn", appauthor=False)) / "numba"
    except Exception:  # platformdirs missing: fall back to ~/.cache
        return Path.home() / ".cache" / "drawcnn" / "numba"


def _configure_cache_dir() -> None:
    """Use a user cache dir when frozen or when the package dir is read-only."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    frozen = getattr(sys, "frozen", False)
    if frozen or not os.access(_PACKAGE_DIR, os.W_OK):
        cache = _user_cache_dir()
        try:
            cache.mkdir(parents=True, exist_ok=True)
            os.environ["NUMBA_CACHE_DIR"] = str(cache)
        except OSError:
            # No writable user cache (e.g. no home): a temporary one. Without any writable
            # cache dir, Numba refuses cache=True kernels ("no locator available").
            try:
                os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="drawcnn-numba-")
            except OSError:
                pass


_configure_cache_dir()

import numba  # noqa: E402  (after NUMBA_CACHE_DIR is set)

# Thread-safe layers first; workqueue last (safe here only because of PARALLEL_LOCK).
numba.config.THREADING_LAYER_PRIORITY = ["tbb", "omp", "workqueue"]

#: Serialises launches of ``parallel=True`` kernels. Serial kernels (small batches, live
#: prediction) never take it, so the canvas keeps predicting while a training step runs.
PARALLEL_LOCK = threading.RLock()


def threading_layer() -> str:
    """Name of the Numba threading layer in use ('not started' before the first kernel)."""
    try:
        return numba.threading_layer()
    except ValueError:
        return "not started"


def num_threads() -> int:
    return numba.get_num_threads()
