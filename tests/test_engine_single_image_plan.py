"""The CPU backend's fused single-image forward (cpu_plan.py) against the NumPy reference:
every layer's output, for the deep net and for other shapes the plan accepts; the
architectures it must leave to the layer-by-layer path; weights changed in place after
the filters were cached; two threads at once; one and two worker threads."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from drawcnn.engine import Adam, build_network
from drawcnn.engine.backends.cpu_plan import SingleImagePlan
from drawcnn.engine.models import (
    Architecture,
    AvgPool,
    Conv,
    Dense,
    Dropout,
    Flatten,
    MaxPool,
    ReLU,
    init_params,
)
from drawcnn.engine.network import Network

# Shapes the plan takes: conv without ReLU, conv without pool, a pool without a ReLU
# before it, three input channels, 8 channels (the Winograd minimum), odd filter counts,
# several dense layers with and without ReLU, dropout before a ReLU.
ACCEPTED = [
    Architecture("deep-like", (Conv(32, 3, pad=1), ReLU(), Conv(32, 3, pad=1), ReLU(),
                               MaxPool(2), Conv(64, 3, pad=1), ReLU(), Conv(64, 3, pad=1),
                               ReLU(), MaxPool(2), Flatten(), Dense(256), ReLU(), Dropout(0.5),
                               Dense(10))),
    Architecture("odd", (Conv(8, 3, pad=1), Conv(13, 3, pad=1), MaxPool(2), Conv(9, 3, pad=1),
                         ReLU(), Flatten(), Dense(17), Dropout(0.3), ReLU(), Dense(5), Dense(4)),
                 input_shape=(3, 12, 12), num_classes=4),
    Architecture("three", (Conv(16, 3, pad=1), ReLU(), Conv(24, 3, pad=1), ReLU(), MaxPool(2),
                           Conv(8, 3, pad=1), MaxPool(2), Conv(11, 3, pad=1), ReLU(), Flatten(),
                           Dense(10)), input_shape=(1, 16, 8)),
]

REJECTED = [
    "simple", "lenet",
    Architecture("one-conv", (Conv(8, 3, pad=1), ReLU(), Flatten(), Dense(10))),
    Architecture("pad0", (Conv(8, 3), Conv(8, 3, pad=1), Flatten(), Dense(10))),
    Architecture("5x5", (Conv(8, 3, pad=1), Conv(8, 5, pad=2), Flatten(), Dense(10))),
    Architecture("stride2", (Conv(8, 3, pad=1), Conv(8, 3, stride=2, pad=1), Flatten(),
                             Dense(10))),
    Architecture("pool-first", (Conv(8, 3, pad=1), MaxPool(2), Conv(8, 3, pad=1), Flatten(),
                                Dense(10))),
    Architecture("few-channels", (Conv(4, 3, pad=1), Conv(8, 3, pad=1), Flatten(), Dense(10))),
    Architecture("odd-size", (Conv(8, 3, pad=1), Conv(8, 3, pad=1), Flatten(), Dense(10)),
                 input_shape=(1, 9, 8)),
    Architecture("pool3", (Conv(8, 3, pad=1), Conv(8, 3, pad=1), MaxPool(3), Flatten(),
                           Dense(10)), input_shape=(1, 12, 12)),
    Architecture("avgpool", (Conv(8, 3, pad=1), Conv(8, 3, pad=1), AvgPool(2), Flatten(),
                             Dense(10))),
    Architecture("relu-last", (Conv(8, 3, pad=1), Conv(8, 3, pad=1), Flatten(), Dense(10),
                               ReLU())),
]


def _pair(arch, seed):
    """The same random weights (biases too, so a zero bias hides nothing) on cpu and ref."""
    params = init_params(arch, seed)
    rng = np.random.default_rng(seed + 100)
    for k in params:
        if k.endswith(".b"):
            params[k] = (rng.standard_normal(params[k].shape) * 0.3).astype(np.float32)
    return Network(arch, params, "cpu"), Network(arch, params, "reference")


def _image(arch, seed):
    return np.random.default_rng(seed).random((1, *arch.input_shape), dtype=np.float32)


def _assert_matches_reference(net, ref, x):
    acts, racts = net.activations(x), ref.activations(x)
    assert [n for n, _ in acts] == [n for n, _ in racts] == net.arch.layer_names() + ["softmax"]
    for (name, a), (_, r) in zip(acts, racts):
        assert a.shape == r.shape and a.dtype == np.float32, name
        scale = max(1.0, float(np.abs(r).max()))
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5 * scale, err_msg=name)
    p = net.predict(x)
    np.testing.assert_allclose(p, racts[-1][1], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(p, acts[-1][1])  # predict and activations: one path


@pytest.mark.parametrize("arch", ACCEPTED, ids=lambda a: a.name)
def test_plan_matches_reference_layer_by_layer(arch):
    assert SingleImagePlan.build(arch) is not None
    net, ref = _pair(arch, 1)
    assert net._single_image_plan(net._prepare(_image(arch, 0))) is not None
    for seed in range(3):
        _assert_matches_reference(net, ref, _image(arch, seed))


@pytest.mark.parametrize("arch", REJECTED, ids=lambda a: a if isinstance(a, str) else a.name)
def test_other_architectures_run_layer_by_layer(arch):
    net = build_network(arch, seed=0)
    assert SingleImagePlan.build(net.arch) is None
    x = _image(net.arch, 0)
    assert net._single_image_plan(net._prepare(x)) is None
    np.testing.assert_allclose(net.predict(x), net.predict(np.repeat(x, 2, axis=0))[:1],
                               rtol=1e-4, atol=1e-6)


def test_batch_path_and_plan_agree_on_the_deep_net():
    net = build_network("deep", seed=3)
    x = np.random.default_rng(3).random((4, 1, 28, 28), dtype=np.float32)
    batch = net.predict(x)  # layer by layer, batched kernels
    for i in range(4):
        np.testing.assert_allclose(net.predict(x[i]), batch[i:i + 1], rtol=1e-4, atol=1e-6)


def test_cached_filters_follow_weights_changed_in_place():
    arch = ACCEPTED[0]
    net, ref = _pair(arch, 2)
    x = _image(arch, 5)
    _assert_matches_reference(net, ref, x)  # filters transformed and cached
    rng = np.random.default_rng(9)
    xb = rng.random((8, *arch.input_shape), dtype=np.float32)
    opt = Adam(lr=1e-2)
    net.train_step(xb, rng.integers(0, 10, 8), opt)  # the optimizer updates in place
    ref.set_params(net.get_params())
    _assert_matches_reference(net, ref, x)
    net.params["conv3.W"][0, 0, 1, 1] += 0.5  # one weight, by hand
    ref.set_params(net.get_params())
    _assert_matches_reference(net, ref, x)
    net.set_params(init_params(arch, 7))  # new arrays
    ref.set_params(net.get_params())
    _assert_matches_reference(net, ref, x)


def test_non_finite_weights_show_in_the_output():
    net = build_network("deep", seed=0)
    x = _image(net.arch, 0)
    assert np.isfinite(net.predict(x)).all()
    net.params["conv2.W"][3, 1, 0, 2] = np.nan
    assert np.isnan(net.predict(x)).any()
    net.params["conv2.W"][3, 1, 0, 2] = 0.0
    assert np.isfinite(net.predict(x)).all()


def test_two_threads_run_one_plan_at_once():
    net = build_network("deep", seed=4)
    xs = np.random.default_rng(4).random((6, 1, 28, 28), dtype=np.float32)
    expected = [net.predict(x) for x in xs]
    errors = []

    def worker(offset):
        try:
            for r in range(30):
                i = (r + offset) % len(xs)
                np.testing.assert_array_equal(net.predict(xs[i]), expected[i])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_same_result_with_one_and_two_worker_threads():
    code = ("import numpy as np; from drawcnn.engine import build_network; "
            "net = build_network('deep', seed=6); "
            "x = np.random.default_rng(6).random((1, 1, 28, 28), dtype=np.float32); "
            "print(repr(net.predict(x).tobytes()), repr(net.activations(x)[4][1].tobytes()))")
    outs = []
    for n in ("1", "2"):
        env = dict(os.environ, DRAWCNN_THREADS=n, NUMBA_NUM_THREADS=n)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        outs.append(res.stdout)
    assert outs[0] == outs[1]
