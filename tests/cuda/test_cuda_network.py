"""Network(..., backend="cuda") end to end: predict, activations, gradients, optimizer
steps and weights files agree with the CPU and reference backends; device selection."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import numpy as np
import pytest

from drawcnn.engine import Adam, Network, load_network, save_network
from drawcnn.engine.backends import base
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
from drawcnn.engine.optim import SGD
from drawcnn.errors import BackendUnavailable

pytestmark = pytest.mark.cuda

# Every layer kind, a stride-2 padded conv, a second conv (so conv dx flows), odd sizes.
TINY = Architecture(
    "tiny",
    (
        Conv(3, 3, stride=2, pad=1), ReLU(), Conv(2, 3, pad=1), ReLU(), MaxPool(2),
        AvgPool(1), Flatten(), Dense(6), ReLU(), Dropout(0.25), Dense(4),
    ),
    input_shape=(1, 7, 7),
    num_classes=4,
)
TOL = dict(rtol=1e-4, atol=2e-5)


@pytest.fixture
def data(rng):
    x = rng.random((2, 1, 7, 7), dtype=np.float32)
    y = np.array([0, 3])
    return x, y


def nets(*backends, seed=0):
    params = init_params(TINY, seed)
    return [Network(TINY, params, b, seed=seed) for b in backends]


def host(net, arr):
    return np.asarray(net.backend.to_host(arr))


def test_params_live_on_the_device(cu):
    (net,) = nets("cuda")
    assert net.backend is cu and net.backend_name == "cuda"
    assert all(hasattr(p, "copy_to_host") for p in net.params.values())
    assert all(isinstance(p, np.ndarray) for p in net.get_params().values())


def test_predict_and_activations_match_cpu(cu, data):
    x, _ = data
    gpu, cpu = nets("cuda", "cpu")
    p = gpu.predict(x)
    assert isinstance(p, np.ndarray) and p.shape == (2, 4)
    np.testing.assert_allclose(p, cpu.predict(x), **TOL)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(gpu.predict(x[0]), cpu.predict(x[0]), **TOL)  # (C,H,W) input
    for (name_g, a_g), (name_c, a_c) in zip(gpu.activations(x), cpu.activations(x)):
        assert name_g == name_c and isinstance(a_g, np.ndarray)
        np.testing.assert_allclose(a_g, a_c, **TOL, err_msg=name_g)


def test_gradients_match_reference(cu, data):
    x, y = data
    gpu, refnet = nets("cuda", "reference")  # same seed: same dropout masks
    loss_g, grads_g = gpu.gradients(x, y)
    loss_r, grads_r = refnet.gradients(x, y)
    assert loss_g == pytest.approx(loss_r, rel=1e-5)
    assert set(grads_g) == set(TINY.param_shapes())
    for key, g in grads_g.items():
        assert hasattr(g, "copy_to_host"), key
        assert tuple(g.shape) == TINY.param_shapes()[key], key
        np.testing.assert_allclose(host(gpu, g), grads_r[key], **TOL, err_msg=key)


def test_adam_steps_match_cpu(cu, data):
    x, y = data
    gpu, cpu = nets("cuda", "cpu")
    opt_g, opt_c = Adam(lr=1e-3, weight_decay=1e-2), Adam(lr=1e-3, weight_decay=1e-2)
    for _ in range(2):
        assert gpu.train_step(x, y, opt_g) == pytest.approx(cpu.train_step(x, y, opt_c),
                                                            rel=1e-5)
    assert all(hasattr(m, "copy_to_host") for m, _ in opt_g.state.values())
    pg, pc = gpu.get_params(), cpu.get_params()
    for key in pc:
        np.testing.assert_allclose(pg[key], pc[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_sgd_step_matches_cpu(cu, data):
    x, y = data
    gpu, cpu = nets("cuda", "cpu")
    gpu.train_step(x, y, SGD(lr=0.1, momentum=0.9))
    cpu.train_step(x, y, SGD(lr=0.1, momentum=0.9))
    assert gpu.loss(x, y) == pytest.approx(cpu.loss(x, y), rel=1e-5)


def test_weights_saved_on_cuda_load_on_cpu(cu, tmp_path):
    # Weights files hold networks the app can run: 1x28x28 in (the loader refuses others).
    arch = Architecture("tiny28", TINY.layers, input_shape=(1, 28, 28), num_classes=4)
    rng = np.random.default_rng(3)
    x = rng.random((2, 1, 28, 28), dtype=np.float32)
    y = np.array([1, 3])
    gpu = Network(arch, init_params(arch, 0), "cuda", seed=0)
    gpu.train_step(x, y, Adam(lr=1e-2))
    path = tmp_path / "tiny.npz"
    save_network(gpu, path)
    cpu = load_network(path, backend="cpu")
    assert cpu.backend_name == "cpu"
    for key, value in gpu.get_params().items():
        assert np.array_equal(cpu.get_params()[key], value), key
    np.testing.assert_allclose(cpu.predict(x), gpu.predict(x), **TOL)
    back = cpu.copy(backend="cuda")
    np.testing.assert_allclose(back.predict(x), gpu.predict(x), rtol=0, atol=0)


# ------------------------------------------------------------------ choosing the device


def test_auto_falls_back_to_cpu_without_gpu(lane):
    """A fresh process without the simulator and without a GPU: auto -> cpu, with a reason."""
    if lane == "gpu":
        pytest.skip("this machine has a GPU: auto picks it")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = ("from drawcnn.engine import resolve_backend; c = resolve_backend('auto'); "
            "print(c.name); print(c.reason)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout.splitlines()
    assert out[0] == "cpu"
    assert out[1].startswith("auto: using the CPU (") and len(out[1]) > 30


def test_auto_picks_cuda_when_usable_and_explains_fallback(cu, monkeypatch):
    monkeypatch.setattr(base, "_INSTANCES", {})
    choice = base.resolve_backend("auto")
    assert choice.name == "cuda" and choice.backend.name == "cuda"

    from drawcnn.engine.backends import cuda_detect

    def unavailable():
        raise BackendUnavailable("no NVIDIA driver found")

    monkeypatch.setattr(base, "_INSTANCES", {})
    monkeypatch.setattr(cuda_detect, "create_backend", unavailable)
    choice = base.resolve_backend("auto")
    assert choice.name == "cpu" and "no NVIDIA driver found" in choice.reason
    with pytest.raises(BackendUnavailable, match="no NVIDIA driver"):
        base.resolve_backend("cuda")


def _fake_cuda(available=False, error=None, devices=()):
    return types.SimpleNamespace(is_available=lambda: available, cuda_error=lambda: error,
                                 list_devices=lambda: list(devices))


def test_driver_reasons_are_explained():
    from drawcnn.engine.backends.cuda_detect import _driver_reason

    assert _driver_reason(_fake_cuda(available=True)) is None
    msg = _driver_reason(_fake_cuda(error="CUDA driver library cannot be found.\nIf you..."))
    assert msg.startswith("no NVIDIA driver found")
    msg = _driver_reason(_fake_cuda(error="CUDA_ERROR_UNKNOWN"))
    assert "failed to initialise" in msg
    assert "no CUDA GPU found" in _driver_reason(_fake_cuda())
    assert "NVVM" in _driver_reason(_fake_cuda(devices=[object()]))


def test_failed_kernel_compile_is_explained(cu, monkeypatch):
    from drawcnn.engine.backends import cuda_detect, cuda_kernels

    class Broken:
        def __getitem__(self, config):
            raise RuntimeError("libNVVM cannot be found")

    monkeypatch.setattr(cuda_kernels, "probe", Broken())
    with pytest.raises(BackendUnavailable, match="failed to compile or launch.*libNVVM"):
        cuda_detect.create_backend()


def test_missing_numba_cuda_is_explained(monkeypatch):
    from drawcnn.engine.backends import cuda_detect

    monkeypatch.setitem(sys.modules, "numba.cuda", None)  # import numba.cuda -> ImportError
    with pytest.raises(BackendUnavailable, match=r"numba\.cuda cannot be imported.*\[cuda\]"):
        cuda_detect.create_backend()


def test_fit_and_evaluate_on_cuda(cu, rng):
    """The engine's training loop drives a CUDA network (callbacks see host data)."""
    from drawcnn.engine.train import evaluate, fit

    x = rng.random((4, 1, 7, 7), dtype=np.float32)
    y = np.array([0, 1, 2, 3])
    (gpu,) = nets("cuda")
    epochs = []
    hist = fit(gpu, x, y, Adam(lr=1e-2), epochs=1, batch_size=2, x_val=x[:2], y_val=y[:2],
               on_epoch=epochs.append)
    assert hist.status not in ("diverged", "stopped"), hist.message
    assert len(epochs) == 1
    result = evaluate(gpu, x, y, batch_size=3)
    assert result.confusion.sum() == 4 and 0.0 <= result.accuracy <= 1.0
