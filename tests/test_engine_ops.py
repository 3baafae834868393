"""The op suite (tests/ops_suite.py) on the CPU (Numba) and reference backends, big cases
included, plus what only the CPU backend has: cache-sized column chunks."""

import numpy as np

from drawcnn.engine import get_backend

from .ops_suite import *  # noqa: F403  (the suite's tests, fixtures and parametrisation)

BACKENDS = ["cpu", "reference"]
BIG = True


def test_cpu_conv_chunking_matches_unchunked(monkeypatch):
    """Column chunks (cache-sized) give the same result as one chunk for the whole batch."""
    cpu = get_backend("cpu")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 3, 12, 12)).astype(np.float32)
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    out1, c1 = cpu.conv2d_forward(x, W, b, 1, 1)
    g1 = cpu.conv2d_backward(out1, c1, W, 1, 1)
    monkeypatch.setattr(type(cpu), "CHUNK_BYTES", 1)  # one image per chunk
    out2, c2 = cpu.conv2d_forward(x, W, b, 1, 1)
    g2 = cpu.conv2d_backward(out1, c2, W, 1, 1)
    np.testing.assert_allclose(out1, out2, rtol=1e-6)
    for a, bb in zip(g1, g2):
        np.testing.assert_allclose(a, bb, rtol=1e-5, atol=1e-5)
