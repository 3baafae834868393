"""Gradients to the input and to a conv layer on the CUDA backend (drawcnn.explain):
equal to the reference backend's (itself checked against numerical gradients in float64)."""

from __future__ import annotations

import numpy as np
import pytest

from drawcnn import explain as E
from drawcnn.engine import Network
from drawcnn.engine.models import (
    Architecture,
    Conv,
    Dense,
    Dropout,
    Flatten,
    MaxPool,
    ReLU,
    init_params,
)

pytestmark = pytest.mark.cuda

TINY = Architecture(
    "tiny-explain",
    (Conv(3, 3, pad=1), ReLU(), MaxPool(2), Conv(4, 3), ReLU(), Flatten(), Dense(6),
     Dropout(0.5), Dense(3)),
    input_shape=(1, 8, 8),
    num_classes=3,
)


def test_cuda_saliency_and_grad_cam_equal_reference(cu, ref):
    rng = np.random.default_rng(3)
    params = init_params(TINY, rng)
    for key in params:
        if key.endswith(".b"):
            params[key] = rng.standard_normal(params[key].shape).astype(np.float32) * 0.1
    x = rng.random((1, 1, 8, 8), dtype=np.float32)
    on_gpu, oracle = Network(TINY, params, cu), Network(TINY, params, ref)
    for target in range(3):
        np.testing.assert_allclose(on_gpu.input_gradient(x, target),
                                   oracle.input_gradient(x, target), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(E.grad_cam(on_gpu, x, target, "conv2"),
                                   E.grad_cam(oracle, x, target, "conv2"), rtol=1e-4, atol=1e-6)
    t = E.neuron(on_gpu, x, "conv2", (1, 1, 0))
    assert abs(t.total - t.value) < 1e-5
    assert on_gpu.layers[0].need_dx is False
