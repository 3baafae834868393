"""Control the BLAS thread count at run time (OpenBLAS, as bundled with NumPy wheels).

Why: on a busy machine OpenBLAS threads waiting for a core made one forward pass 10-100x
slower (measured here on 2 shared cores: 85 ms median with NumPy's default threads vs 3 ms
with one), and a deep-network training step fell from 53 to 2 images/s. The engine therefore
runs BLAS single-threaded and parallelises convolutions itself (cpu.py splits the batch over
its own threads). Best effort: when no OpenBLAS is found these functions do nothing.
"""

from __future__ import annotations

import ctypes
import glob
import os
from contextlib import contextmanager
from functools import lru_cache

_SET = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
        "openblas_set_num_threads64_", "openblas_set_num_threads")
_GET = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
        "openblas_get_num_threads64_", "openblas_get_num_threads")


def _candidate_paths() -> list[str]:
    paths = []
    try:
        with open("/proc/self/maps") as fh:  # Linux: the libraries actually loaded
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower()
                            and ln.split()[-1].startswith("/")})
    except OSError:
        pass
    if not paths:
        import numpy

        root = os.path.dirname(os.path.dirname(numpy.__file__))
        for pattern in ("numpy.libs/*openblas*", "numpy/.dylibs/*openblas*",
                        "numpy.libs/*openblas*.dll"):
            paths += glob.glob(os.path.join(root, pattern))
    return paths


@lru_cache(maxsize=1)
def openblas_libraries() -> tuple[ctypes.CDLL, ...]:
    """The OpenBLAS libraries NumPy loaded, opened with ctypes: for the thread controls here
    and the direct cblas GEMM calls of the CPU backend."""
    import numpy  # noqa: F401  (make sure NumPy's BLAS is loaded)

    libs = []
    for path in _candidate_paths():
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            continue
    return tuple(libs)


@lru_cache(maxsize=1)
def _functions():
    for lib in openblas_libraries():
        setter = next((getattr(lib, n) for n in _SET if hasattr(lib, n)), None)
        getter = next((getattr(lib, n) for n in _GET if hasattr(lib, n)), None)
        if setter is not None and getter is not None:
            getter.restype = ctypes.c_int
            return setter, getter
    return None


def get_blas_threads() -> int | None:
    f = _functions()
    return None if f is None else int(f[1]())


def set_blas_threads(n: int) -> int | None:
    """Set the BLAS thread count; returns the previous count (None if unsupported)."""
    f = _functions()
    if f is None:
        return None
    previous = int(f[1]())
    f[0](ctypes.c_int(max(1, int(n))))
    return previous


@contextmanager
def blas_threads(n: int):
    """``with blas_threads(os.cpu_count()):`` for a block of large GEMMs (training)."""
    previous = set_blas_threads(n)
    try:
        yield
    finally:
        if previous is not None:
            set_blas_threads(previous)


def use_single_threaded_blas() -> int | None:
    """Single-threaded BLAS unless the user set OPENBLAS_NUM_THREADS (engine start-up)."""
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return None
    return set_blas_threads(1)
