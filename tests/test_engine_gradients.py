"""Every layer's backward pass against central-difference numerical gradients.

Runs in float64 on the reference backend (exact oracle) and on the Numba CPU backend (the
kernels are dtype-generic), on odd sizes, stride 2 and padding, through the Layer classes.
"""

import numpy as np
import pytest

from drawcnn.engine import get_backend, models
from drawcnn.engine.layers import make_layer

from .engine_helpers import numerical_grad, sample_indices

BACKENDS = ["reference", "cpu"]

LAYER_CASES = [
    ("conv", models.Conv(3, 3, stride=1, pad=1), (2, 2, 7, 6)),
    ("conv", models.Conv(4, 3, stride=2, pad=1), (3, 3, 9, 8)),
    ("conv", models.Conv(2, 5, stride=2, pad=2), (2, 1, 11, 11)),
    ("conv", models.Conv(2, 2, stride=1, pad=0), (1, 2, 5, 4)),
    ("relu", models.ReLU(), (3, 2, 5, 5)),
    ("pool", models.MaxPool(2), (3, 2, 6, 7)),
    ("pool", models.MaxPool(3, stride=2), (2, 2, 7, 7)),
    ("avgpool", models.AvgPool(2), (3, 2, 6, 6)),
    ("avgpool", models.AvgPool(3, stride=1), (2, 1, 5, 6)),
    ("fc", models.Dense(7), (4, 11)),
    ("fc", models.Dense(3), (1, 5)),
    ("flatten", models.Flatten(), (3, 2, 3, 4)),
    ("dropout", models.Dropout(0.4), (5, 9)),
]


def _params_for(spec, in_shape, rng):
    if isinstance(spec, models.Conv):
        return {"l.W": rng.standard_normal((spec.filters, in_shape[1], spec.kernel,
                                            spec.kernel)),
                "l.b": rng.standard_normal(spec.filters)}
    if isinstance(spec, models.Dense):
        return {"l.W": rng.standard_normal((in_shape[1], spec.units)),
                "l.b": rng.standard_normal(spec.units)}
    return {}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind,spec,in_shape", LAYER_CASES,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(LAYER_CASES)])
def test_layer_backward_matches_numerical_gradient(backend, kind, spec, in_shape):
    rng = np.random.default_rng(abs(hash((kind, in_shape))) % 2**32)
    be = get_backend(backend)
    params = _params_for(spec, in_shape, rng)
    grads = {}
    layer = make_layer("l", spec, be, params, grads, np.random.default_rng(0))
    x = rng.standard_normal(in_shape)
    if kind == "pool":  # keep window maxima apart so finite differences don't switch them
        x = rng.permutation(np.arange(x.size, dtype=np.float64)).reshape(in_shape) * 0.1
    out = layer.forward(x, train=True)
    R = rng.standard_normal(out.shape)
    if kind == "dropout":
        mask = layer._cache.copy()
        layer._cache = mask

        def loss():
            return float(np.sum(be.dropout_apply(x, mask) * R))
    else:

        def loss():
            return float(np.sum(layer.forward(x, train=False) * R))

    dx = layer.backward(R)
    eps = 1e-5 if kind != "pool" else 1e-4
    idx = sample_indices(x.shape, 25, rng)
    num = numerical_grad(loss, x, idx, eps)
    ana = np.array([dx[i] for i in idx])
    np.testing.assert_allclose(ana, num, rtol=1e-5, atol=1e-6)
    for key, p in params.items():
        idx = sample_indices(p.shape, 20, rng)
        num = numerical_grad(loss, p, idx, 1e-5)
        ana = np.array([grads[key][i] for i in idx])
        np.testing.assert_allclose(ana, num, rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_cross_entropy_gradient(backend):
    be = get_backend(backend)
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((4, 10)) * 3
    labels = rng.integers(0, 10, 4)
    _, d = be.softmax_cross_entropy(logits, labels)
    idx = sample_indices(logits.shape, 20, rng)
    num = numerical_grad(lambda: be.softmax_cross_entropy(logits, labels)[0], logits, idx, 1e-6)
    np.testing.assert_allclose([d[i] for i in idx], num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_whole_network_gradient_float64(backend):
    """Gradients of a small conv net end to end (all layer types chained) in float64; on the
    CPU this runs the fused conv + ReLU forward and the 2x2 max-pool kernels."""
    from drawcnn.engine.models import Architecture, init_params
    from drawcnn.engine.network import Network

    arch = Architecture("tiny", (models.Conv(3, 3, pad=1), models.ReLU(), models.MaxPool(2),
                                 models.Conv(4, 3, stride=2), models.ReLU(), models.AvgPool(1),
                                 models.Flatten(), models.Dense(6), models.ReLU(),
                                 models.Dense(3)), input_shape=(2, 9, 9), num_classes=3)
    net = Network(arch, init_params(arch, 1), backend)
    rng = np.random.default_rng(0)
    for k in net.params:  # float64 check path; random biases keep units off the ReLU kink
        net.params[k] = net.params[k].astype(np.float64) + 0.3 * rng.standard_normal(
            net.params[k].shape)
    x = rng.standard_normal((3, 2, 9, 9))
    y = np.array([0, 2, 1])
    net._prepare = lambda a: a  # keep float64 end to end
    loss_val, grads = net.gradients(x, y)
    grads = {k: np.array(v) for k, v in grads.items()}

    def loss():
        logits = net.forward(x)
        return net.backend.softmax_cross_entropy(logits, y)[0]

    for key, p in net.params.items():
        idx = sample_indices(p.shape, 8, rng)
        num = numerical_grad(loss, p, idx, 1e-6)
        np.testing.assert_allclose([grads[key][i] for i in idx], num, rtol=1e-4, atol=1e-7,
                                   err_msg=key)
