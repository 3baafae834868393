"""The CPU backend's threads: one small pool the batch is split over, and how an op runs.

BLAS stays single-threaded: convolutions and big element-wise ops split the batch over
WORKERS threads instead, each running serial (nogil) Numba kernels and its own GEMMs, so no
thread pool spins against another (measured: README, "Threads, BLAS and a busy machine").
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..blas import use_single_threaded_blas
from ..runtime import PARALLEL_LOCK, num_threads

# BLAS stays single-threaded: convolutions split the batch over WORKERS threads instead,
# each running serial (nogil) Numba kernels and its own GEMMs, so no thread pool spins.
use_single_threaded_blas()
WORKERS = max(1, int(os.environ.get("DRAWCNN_THREADS", 0)) or num_threads())
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="drawcnn-conv")
    return _POOL


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    """[(start, end)] covering range(n) in ``parts`` contiguous, near-equal slices."""
    bounds = np.linspace(0, n, parts + 1).astype(int)
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

# Handing a slice to the pool thread and getting it back costs ~130 µs on the 2-core VM (the
# idle vCPU has to be woken; measured with in_parts on empty parts), so memory-bound
# element-wise ops split only when that is well under their serial time: LeNet's first
# max-pool (470k elements) took 90 µs serially and 187 µs split, the deep net's 2.5M-element
# ReLU/pool about the same either way. (Was 1 << 16 and 1 << 15.)
PAR_WORK = 1 << 20  # element-wise kernels touching fewer elements than this run serially
SERIAL_PARAM_SIZE = 1 << 18  # parameter arrays smaller than this update serially
CONV_PAR_WORK = 1 << 18  # convolutions (cpu.py) split above this many multiply-adds / k*k


#: Launch Numba ``prange`` kernels for big element-wise ops (True), or split them over the
#: WORKERS threads as serial kernels (False, the default). Measured on the 2-core dev machine
#: while other processes kept it busy (README, "Speed"): a prange launch waits at its
#: barrier for whichever pool thread the OS has descheduled (OpenMP spins first), so a
#: LeNet training step took 40-140 ms with prange and 18-25 ms with the split.
USE_PRANGE = False


def run_op(parallel_kernel, serial_kernel, parallel: bool, *args, split: int = 0) -> None:
    """Run an op: serially when small; when big, as the serial kernel on ``split``-leading
    slices (the first ``split`` arguments are arrays cut along axis 0, the rest are passed
    whole) over the worker threads; or, with USE_PRANGE, the parallel build under the
    process-wide lock (one Numba thread pool)."""
    if not parallel:
        serial_kernel(*args)
    elif USE_PRANGE or split == 0:
        with PARALLEL_LOCK:
            parallel_kernel(*args)
    else:
        n = args[0].shape[0]
        rest = args[split:]

        def part(lo, hi):
            serial_kernel(*(a[lo:hi] for a in args[:split]), *rest)

        in_parts(n, min(WORKERS, n), part)


def in_parts(n: int, parts: int, part) -> None:
    """part(lo, hi) over ``parts`` slices of range(n): the first inline, the rest on the pool
    (the calling thread works instead of waiting; a pool thread never waits on the pool)."""
    if parts <= 1:
        part(0, n)
        return
    slices = _split(n, parts)
    futures = [_pool().submit(part, lo, hi) for lo, hi in slices[1:]]
    try:
        part(*slices[0])
    finally:
        for fut in futures:
            fut.result()  # re-raises a worker's exception here
