"""The CUDA simulator flake, found: Numba's ``cuda.shared.array`` is not thread-safe.

The simulator runs every CUDA thread of a block as a Python thread and hands out a block's
shared arrays from a dict keyed by the calling source line. Its code
(``FakeCUDAShared.array`` in numba/cuda/simulator/kernelapi.py; the same in NVIDIA's
numba-cuda) is a check-then-act without a lock::

    res = self._allocations.get(caller)
    if res is None:
        res = np.empty(shape, dtype)
        self._allocations[caller] = res
    return res

When the interpreter switches threads between the ``get`` and the store (more likely under
load, and with the short switch interval tests/cuda/conftest.py sets for speed), two
threads of one block both miss and each allocates an array; the one whose array is
replaced in the dict computes with a private copy. It writes its element of the GEMM tile
where nobody reads it and reads its neighbours' elements from uninitialised (recycled)
memory, so a few entries of ``gemm`` (or ``channel_sum``) come out as stale values: the
"stale value in the tiled GEMM's grid-stride loop" the wrapper used to retry. The kernels'
barriers are right; on a GPU a block's shared array is one array.

``install()`` replaces the method with the same logic under a lock; tests/cuda/conftest.py
calls it in the simulator lane, and tests/cuda/test_cudasim_shared_race.py forces the
interleaving to show the unlocked method hand out private copies and the locked one not.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

_LOCK = threading.Lock()
ORIGINAL_ARRAY = None  # the simulator's own method, kept by install()


def _new_array(shape, dtype):
    """Fresh shared memory: uninitialised, as on a GPU (the race test poisons it)."""
    return np.empty(shape, dtype)


def locked_shared_array(self, shape, dtype, *args, **kwargs):
    """FakeCUDAShared.array with the lookup and the store under one lock."""
    if shape == 0 or args or kwargs:  # dynamic shared memory (one buffer), or alignment
        return ORIGINAL_ARRAY(self, shape, dtype, *args, **kwargs)
    from numba.cuda.simulator import kernelapi

    if isinstance(dtype, kernelapi.types.Type):
        dtype = kernelapi.numpy_support.as_dtype(dtype)
    caller = sys._getframe(1)  # keyed by source line, as the simulator does
    key = (caller.f_code.co_filename, caller.f_lineno)
    with _LOCK:
        res = self._allocations.get(key)
        if res is None:
            res = _new_array(shape, dtype)
            self._allocations[key] = res
    return res


def install() -> None:
    """Make the running simulator hand each block one array per cuda.shared.array line."""
    global ORIGINAL_ARRAY
    from numba.cuda.simulator import kernelapi

    if kernelapi.FakeCUDAShared.array is not locked_shared_array:
        ORIGINAL_ARRAY = kernelapi.FakeCUDAShared.array
        kernelapi.FakeCUDAShared.array = locked_shared_array
