"""The CUDA lane: its own pytest process, in Numba's CUDA simulator or on a real GPU.

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda -q      # simulator, any machine
    python -m pytest tests/cuda -q                               # a machine with a CUDA GPU

Numba reads NUMBA_ENABLE_CUDASIM once, when numba is first imported, and the main test run
imports numba long before this directory is collected; so the simulator must be asked for
in the environment of the process. Without it, and without a usable GPU, every test here is
skipped with that hint (the main ``pytest`` run stays fast and CPU-only).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_SIM = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
if _SIM and "numba" not in sys.modules:
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # normalise, before numba is imported
    # The simulator runs each CUDA thread as a Python thread and its scheduler busy-polls
    # them: a short GIL switch interval makes it several times faster.
    sys.setswitchinterval(1e-4)
if _SIM:
    # The simulator's cuda.shared.array races between the threads of a block (see
    # tests/cudasim_shared.py): without this a few GEMM entries come out stale now and then.
    from tests import cudasim_shared

    cudasim_shared.install()


def _real_gpu_reason() -> str | None:
    """None when a real CUDA GPU is usable, else why not."""
    try:
        from drawcnn.engine.backends import cuda_detect

        cuda_detect.create_backend()
    except Exception as exc:
        return str(exc)
    return None


if _SIM:
    LANE, _SKIP_REASON = "simulator", None
else:
    _SKIP_REASON = _real_gpu_reason()
    LANE = "gpu" if _SKIP_REASON is None else "off"

_HERE = Path(__file__).resolve().parent


def pytest_report_header(config):
    return f"CUDA lane: {LANE}" + (f" ({_SKIP_REASON})" if _SKIP_REASON else "")


def pytest_collection_modifyitems(config, items):
    """Lane off: skip (with the reason, shown once by -ra) rather than fail."""
    if LANE != "off":
        return
    skip = pytest.mark.skip(reason="CUDA lane off: run NUMBA_ENABLE_CUDASIM=1 python -m pytest "
                                   "tests/cuda (no GPU here)")
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def lane():
    """'simulator' or 'gpu'."""
    return LANE


@pytest.fixture(scope="session")
def cu():
    from drawcnn.engine.backends import get_backend

    backend = get_backend("cuda")
    assert backend.simulator == (LANE == "simulator")
    return backend


@pytest.fixture(scope="session")
def ref():
    from drawcnn.engine.backends import get_backend

    return get_backend("reference")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(1234)
