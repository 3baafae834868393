"""The simulator race behind the old flake (tests/cudasim_shared.py), made certain.

A shared-array table that, on a miss, waits until a second thread has missed too forces
the interleaving that happens by chance under load; fresh shared memory is poisoned with
NaN so a read of an element nobody wrote shows. The simulator's own (unlocked) method then
gives a thread of the block a private copy and the tiled GEMM returns NaN; the locked one
keeps one array per block, and the GEMM and the block reduction are exact.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests import cudasim_shared

pytestmark = pytest.mark.cuda


class MissTogether(dict):
    """Shared-array table whose first miss waits (up to ``wait`` s) for a second one."""

    def __init__(self, wait: float):
        super().__init__()
        self.wait, self.misses, self.stores = wait, 0, 0
        self._cv = threading.Condition()

    def get(self, key, default=None):
        if key in self:
            return self[key]
        with self._cv:
            self.misses += 1
            self._cv.notify_all()
            self._cv.wait_for(lambda: self.misses >= 2, timeout=self.wait)
        return default

    def __setitem__(self, key, value):
        self.stores += 1
        super().__setitem__(key, value)


class _PoisonedNumpy:
    """numpy, except that ``empty`` hands out NaN-filled memory."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(shape, dtype=float):
        return np.full(shape, np.nan, dtype=dtype)


@pytest.fixture
def forced(lane, monkeypatch):
    """Every kernel launch gets a MissTogether table; returns the list of tables."""
    if lane != "simulator":
        pytest.skip("a simulator race: a GPU has real shared memory")
    from numba.cuda.simulator import kernelapi

    tables = []
    init = kernelapi.FakeCUDAShared.__init__

    def init_forced(self, dynshared_size):
        init(self, dynshared_size)
        # the unlocked method never waits on the lock, so its first miss may wait long
        locked = kernelapi.FakeCUDAShared.array is cudasim_shared.locked_shared_array
        self._allocations = MissTogether(wait=0.05 if locked else 10.0)
        tables.append(self._allocations)

    monkeypatch.setattr(kernelapi.FakeCUDAShared, "__init__", init_forced)
    monkeypatch.setattr(kernelapi, "np", _PoisonedNumpy())
    monkeypatch.setattr(cudasim_shared, "_new_array", _PoisonedNumpy.empty)
    return tables


def _gemm(cu, rng):
    a = rng.standard_normal((1, 4, 6)).astype(np.float32)
    b = rng.standard_normal((1, 6, 4)).astype(np.float32)
    c = cu._empty((1, 4, 4))
    cu._gemm(c, cu.asarray(a), cu.asarray(b))
    return cu.to_host(c)[0], a[0] @ b[0]


def test_unlocked_shared_array_hands_out_private_copies(cu, rng, forced, monkeypatch):
    from numba.cuda.simulator import kernelapi

    monkeypatch.setattr(kernelapi.FakeCUDAShared, "array", cudasim_shared.ORIGINAL_ARRAY)
    got, _ = _gemm(cu, rng)
    (table,) = forced
    assert table.stores > len(table)  # two threads of one block stored their own array
    assert np.isnan(got).any()  # ... and the GEMM read elements nobody wrote


def test_locked_shared_array_is_one_per_block(cu, rng, forced):
    got, want = _gemm(cu, rng)
    x = rng.standard_normal((3, 2, 5)).astype(np.float32)
    sums = cu.to_host(cu._channel_sum(cu.asarray(x)))
    assert all(t.stores == len(t) for t in forced) and len(forced) == 2
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sums, x.sum(axis=(0, 2)), rtol=1e-5, atol=1e-6)
