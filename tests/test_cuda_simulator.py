"""Runs tests/cuda in its own pytest process under Numba's CUDA simulator.

The simulator must be switched on before numba is imported, so it cannot share this
process; this wrapper keeps the README's single test command covering the CUDA backend.
On a machine with a real GPU, ``pytest tests/cuda`` runs the same tests on the device.
No retries: the one flake it used to retry was a race in the simulator itself, fixed in
the lane (tests/cudasim_shared.py).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.cuda
def test_cuda_backend_suite_under_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    res = subprocess.run([sys.executable, "-m", "pytest", "tests/cuda", "-q", "-p",
                          "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=1200)
    tail = res.stdout[-4000:] + res.stderr[-2000:]
    assert res.returncode == 0, tail
    assert " passed" in res.stdout and " failed" not in res.stdout, tail
