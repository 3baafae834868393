"""The op suite (tests/ops_suite.py) on the CPU (Numba) and reference backends, big cases
included, plus what only the CPU backend has (cache-sized column chunks) and the check that a
CPU and a CUDA kernel of one op take the same arguments."""

import inspect

import numpy as np
import pytest

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


def _kernel_params(*modules) -> dict[str, list[str]]:
    out = {}
    for module in modules:
        for name, obj in vars(module).items():
            if hasattr(obj, "py_func") and not name.endswith("_serial"):
                out[name] = list(inspect.signature(obj.py_func).parameters)
    return out


def test_cpu_and_cuda_kernels_of_one_op_take_the_same_arguments():
    try:
        from drawcnn.engine.backends import cuda_gemm, cuda_kernels
    except ImportError as exc:
        pytest.skip(f"numba.cuda cannot be imported: {exc}")
    from drawcnn.engine.backends import cpu_conv_kernels, cpu_kernels

    cpu = _kernel_params(cpu_kernels, cpu_conv_kernels)
    gpu = _kernel_params(cuda_kernels, cuda_gemm)
    shared = sorted(set(cpu) & set(gpu))
    assert len(shared) >= 13  # pooling, activations, dropout, loss, optimizers, bias sum
    assert {name: cpu[name] for name in shared} == {name: gpu[name] for name in shared}
