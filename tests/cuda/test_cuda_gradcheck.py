"""Numerical gradients through the CUDA layers: central differences of the CUDA network's
own loss against the gradients its backward kernels produce (float32, so eps is large)."""

from __future__ import annotations

import numpy as np
import pytest

from drawcnn.engine import Network
from drawcnn.engine.models import Architecture, AvgPool, Conv, Dense, Flatten, ReLU, init_params

pytestmark = pytest.mark.cuda

GC = Architecture(
    "gradcheck",
    (Conv(2, 3, stride=2, pad=1), ReLU(), Conv(2, 2), AvgPool(2), Flatten(), Dense(3)),
    input_shape=(1, 5, 5),
    num_classes=3,
)
EPS = 1e-2


def test_cuda_backward_matches_numerical_gradients(cu):
    rng = np.random.default_rng(7)
    params = init_params(GC, rng)
    for key in params:  # non-zero biases, so their gradients are exercised too
        if key.endswith(".b"):
            params[key] = rng.standard_normal(params[key].shape).astype(np.float32) * 0.1
    x = rng.random((2, 1, 5, 5), dtype=np.float32)
    y = np.array([2, 0])
    net = Network(GC, params, cu)
    _, grads = net.gradients(x, y)
    analytic = {k: net.backend.to_host(g) for k, g in grads.items()}

    checked = 0
    for key, value in params.items():
        flat = value.reshape(-1)
        for idx in rng.choice(flat.size, size=min(3, flat.size), replace=False):
            old = flat[idx]
            flat[idx] = old + EPS
            net.set_params(params)
            up = net.loss(x, y)
            flat[idx] = old - EPS
            net.set_params(params)
            down = net.loss(x, y)
            flat[idx] = old
            numeric = (up - down) / (2 * EPS)
            got = analytic[key].reshape(-1)[idx]
            assert got == pytest.approx(numeric, rel=2e-2, abs=1e-3), (key, idx)
            checked += 1
    assert checked == 16
