"""One op test suite for every backend: each op against an oracle, forward and backward, on
odd sizes, stride 2 and padding.

Imported (``from tests.ops_suite import *``) by tests/test_engine_ops.py, which runs it on
the cpu and reference backends in the main process, and by tests/cuda/test_cuda_ops.py,
which runs it on the cuda backend in its own process (Numba's simulator or a real GPU).
The importing module names its backends in ``BACKENDS`` and sets ``BIG``: the big cases
reach the CPU's parallel kernels and conv worker threads; the simulator gets only the
tiny ones.

The oracle is the reference backend (slow, obvious NumPy). The reference backend itself is
checked against ``LoopOracle``: convolution and pooling again, one output position at a
time, so a slicing mistake in the reference's sliding windows cannot hide.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from drawcnn.engine.backends import get_backend
from drawcnn.engine.backends.base import BACKEND_METHODS, Backend
from drawcnn.engine.backends.reference import ReferenceBackend
from drawcnn.engine.shapes import conv_out_size, pool_out_size

__all__ = [
    "be", "oracle", "rng", "pytest_generate_tests",
    "test_backend_implements_the_protocol", "test_asarray_and_to_host", "test_conv2d",
    "test_relu", "test_pooling", "test_dense", "test_dropout_apply",
    "test_softmax_and_cross_entropy", "test_cross_entropy_extremes",
    "test_optimizer_updates_in_place",
]

# (N, C, H, W, F, k, stride, pad)
CONV_SMALL = [(2, 3, 7, 6, 4, 3, 1, 0), (2, 2, 7, 5, 3, 3, 2, 1), (1, 1, 5, 5, 5, 2, 2, 0)]
CONV_BIG = [(1, 1, 28, 28, 6, 5, 1, 2), (5, 2, 11, 10, 3, 3, 2, 1), (4, 3, 9, 9, 5, 5, 2, 0),
            (3, 4, 6, 5, 2, 1, 1, 0), (6, 2, 13, 8, 3, 4, 3, 2),
            (3, 2, 9, 11, 5, 3, 1, 1),  # few filters: the CPU's grid layout, with gaps
            (16, 3, 28, 28, 8, 3, 1, 1)]  # the last one splits over the worker threads
# ((N, C, H, W), size, stride): floor division, overlapping windows, stride 1
POOL_SMALL = [((2, 2, 5, 7), 2, 2), ((2, 2, 7, 6), 3, 2)]
POOL_BIG = [((1, 3, 7, 9), 2, 1), ((5, 4, 8, 8), 3, 3), ((2, 1, 5, 6), 2, 2),
            ((4, 8, 48, 48), 2, 2)]  # the last one runs the parallel kernels
ACT_SMALL = [(2, 3, 5, 3)]
ACT_BIG = [(4, 8, 48, 48)]
DENSE_SMALL = [(3, 7, 5), (9, 6, 11)]  # (N, K, M): odd, and several GEMM tiles each way
DENSE_BIG = [(1, 13, 6), (700, 100, 120)]
OPT_SMALL = [15]
OPT_BIG = [40000]  # parameters this large update in parallel

_CASES = {
    "conv_case": (CONV_SMALL, CONV_BIG),
    "pool_case": (POOL_SMALL, POOL_BIG),
    "act_shape": (ACT_SMALL, ACT_BIG),
    "dense_case": (DENSE_SMALL, DENSE_BIG),
    "opt_size": (OPT_SMALL, OPT_BIG),
}

TOL = dict(rtol=1e-4, atol=1e-5)


def pytest_generate_tests(metafunc):
    """Backends and case lists come from the importing module (BACKENDS, BIG)."""
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", metafunc.module.BACKENDS)
    for argname, (small, big) in _CASES.items():
        if argname in metafunc.fixturenames:
            cases = small + (big if metafunc.module.BIG else [])
            metafunc.parametrize(argname, cases, ids=[str(c).replace(" ", "") for c in cases])


@pytest.fixture
def be(backend_name) -> Backend:
    return get_backend(backend_name)


@pytest.fixture
def oracle(backend_name) -> Backend:
    return LoopOracle() if backend_name == "reference" else get_backend("reference")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def check(be, got, want, **tol):
    """``got`` is an array of the backend's own kind, float32, equal to ``want``."""
    assert type(got) is type(be.asarray(np.zeros(1, np.float32))), type(got).__name__
    host = np.asarray(be.to_host(got))
    assert host.shape == want.shape and host.dtype == np.float32
    np.testing.assert_allclose(host, want, **(tol or TOL))


# ------------------------------------------------------------------ the interface


def test_backend_implements_the_protocol(be):
    for name in BACKEND_METHODS:
        method = getattr(type(be), name, None)
        assert callable(method), f"{be.name} lacks {name}"
        want = list(inspect.signature(getattr(Backend, name)).parameters)
        assert list(inspect.signature(method).parameters) == want, f"{be.name}.{name}"


def test_asarray_and_to_host(be, rng):
    x = f32(rng, 2, 3)
    d = be.asarray(x)
    assert be.asarray(d) is d  # an array of the backend's own kind is kept
    back = be.to_host(d)
    assert isinstance(back, np.ndarray) and np.array_equal(back, x)


# ------------------------------------------------------------------ layers


def test_conv2d(be, oracle, rng, conv_case):
    n, c, h, w, f, k, stride, pad = conv_case
    x, W, b = f32(rng, n, c, h, w), f32(rng, f, c, k, k), f32(rng, f)
    Wd = be.asarray(W)
    out, cache = be.conv2d_forward(be.asarray(x), Wd, be.asarray(b), stride, pad)
    want, ocache = oracle.conv2d_forward(x, W, b, stride, pad)
    assert want.shape == (n, f, conv_out_size(h, k, stride, pad), conv_out_size(w, k, stride, pad))
    check(be, out, want, rtol=1e-4, atol=1e-4)
    fused, _ = be.conv2d_forward(be.asarray(x), Wd, be.asarray(b), stride, pad, relu=True)
    check(be, fused, oracle.relu_forward(want), rtol=1e-4, atol=1e-4)  # conv + ReLU in one
    dout = f32(rng, *want.shape)
    dx, dW, db = be.conv2d_backward(be.asarray(dout), cache, Wd, stride, pad)
    odx, odW, odb = oracle.conv2d_backward(dout, ocache, W, stride, pad)
    check(be, dx, odx, rtol=1e-4, atol=1e-4)
    check(be, dW, odW, rtol=1e-4, atol=1e-3)  # sums over the batch and every position
    check(be, db, odb, rtol=1e-4, atol=1e-4)
    none_dx, dW2, db2 = be.conv2d_backward(be.asarray(dout), cache, Wd, stride, pad,
                                           need_dx=False)
    assert none_dx is None
    check(be, dW2, odW, rtol=1e-4, atol=1e-3)
    check(be, db2, odb, rtol=1e-4, atol=1e-4)
    # conv + ReLU fused backward: dout is the gradient of relu(conv), masked inside
    fdx, fdW, fdb = be.conv2d_backward(be.asarray(dout), cache, Wd, stride, pad,
                                       relu_out=fused)
    want_fused = oracle.conv2d_backward(oracle.relu_backward(dout, oracle.relu_forward(want)),
                                        ocache, W, stride, pad)
    for got, ref in zip((fdx, fdW, fdb), want_fused):
        check(be, got, ref, rtol=1e-4, atol=1e-3)


def test_relu(be, oracle, rng, act_shape):
    x = f32(rng, *act_shape)
    out = be.relu_forward(be.asarray(x))
    want = oracle.relu_forward(x)
    check(be, out, want, rtol=0, atol=0)
    dout = f32(rng, *act_shape)
    check(be, be.relu_backward(be.asarray(dout), out), oracle.relu_backward(dout, want),
          rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling(be, oracle, rng, kind, pool_case):
    shape, size, stride = pool_case
    x = f32(rng, *shape)
    if kind == "max":
        out, cache = be.maxpool_forward(be.asarray(x), size, stride, need_argmax=True)
        want, ocache = oracle.maxpool_forward(x, size, stride, need_argmax=True)
        check(be, out, want, rtol=0, atol=0)
        out_eval, no_cache = be.maxpool_forward(be.asarray(x), size, stride, need_argmax=False)
        assert no_cache is None  # inference keeps no argmax
        check(be, out_eval, want, rtol=0, atol=0)
        backward, obackward = be.maxpool_backward, oracle.maxpool_backward
    else:
        out, cache = be.avgpool_forward(be.asarray(x), size, stride)
        want, ocache = oracle.avgpool_forward(x, size, stride)
        check(be, out, want, rtol=1e-5, atol=1e-6)
        backward, obackward = be.avgpool_backward, oracle.avgpool_backward
    n, c, h, w = shape
    assert want.shape == (n, c, pool_out_size(h, size, stride), pool_out_size(w, size, stride))
    dout = f32(rng, *want.shape)
    check(be, backward(be.asarray(dout), cache, size, stride),
          obackward(dout, ocache, size, stride), rtol=1e-5, atol=1e-6)


def test_dense(be, oracle, rng, dense_case):
    n, k, m = dense_case
    x, W, b = f32(rng, n, k), f32(rng, k, m), f32(rng, m)
    xd, Wd = be.asarray(x), be.asarray(W)
    check(be, be.dense_forward(xd, Wd, be.asarray(b)), oracle.dense_forward(x, W, b),
          rtol=1e-4, atol=1e-4)
    dout = f32(rng, n, m)
    dx, dW, db = be.dense_backward(be.asarray(dout), xd, Wd)
    odx, odW, odb = oracle.dense_backward(dout, x, W)
    check(be, dx, odx, rtol=1e-4, atol=1e-4)
    check(be, dW, odW, rtol=1e-4, atol=1e-4)
    check(be, db, odb, rtol=1e-4, atol=1e-4)
    assert be.dense_backward(be.asarray(dout), xd, Wd, need_dx=False)[0] is None


def test_dropout_apply(be, oracle, rng):
    x = f32(rng, 3, 2, 3)
    mask = ((rng.random(x.shape) > 0.5) * 2.0).astype(np.float32)
    want = oracle.dropout_apply(x, mask)
    check(be, be.dropout_apply(be.asarray(x), mask), want, rtol=0, atol=0)  # host mask
    check(be, be.dropout_apply(be.asarray(x), be.asarray(mask)), want, rtol=0, atol=0)


# ------------------------------------------------------------------ loss


def test_softmax_and_cross_entropy(be, oracle, rng):
    logits = f32(rng, 5, 7) * 3
    labels = rng.integers(0, 7, 5)
    check(be, be.softmax(be.asarray(logits)), oracle.softmax(logits), rtol=1e-5, atol=1e-7)
    loss, d = be.softmax_cross_entropy(be.asarray(logits), labels)
    oloss, od = oracle.softmax_cross_entropy(logits, labels)
    assert isinstance(loss, float)
    assert loss == pytest.approx(oloss, rel=1e-5)
    check(be, d, od, rtol=1e-4, atol=1e-6)


def test_cross_entropy_extremes(be):
    huge = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    loss, d = be.softmax_cross_entropy(be.asarray(huge), np.array([1, 2]))
    assert np.isfinite(loss) and loss == pytest.approx((2e4 + np.log(3)) / 2, rel=1e-5)
    assert np.all(np.isfinite(be.to_host(d)))
    p = np.asarray(be.to_host(be.softmax(be.asarray(huge))))
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1.0)
    bad = huge.copy()
    bad[1, 1] = np.nan  # a diverging run must stay visible
    assert np.isnan(be.softmax_cross_entropy(be.asarray(bad), np.array([0, 0]))[0])


# ------------------------------------------------------------------ optimizers


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_optimizer_updates_in_place(be, oracle, rng, opt, opt_size):
    p = f32(rng, opt_size)
    s1, s2 = np.zeros_like(p), np.zeros_like(p)
    dp, d1, d2 = be.asarray(p.copy()), be.asarray(s1.copy()), be.asarray(s2.copy())
    for t in range(1, 4):
        g = f32(rng, opt_size)
        if opt == "adam":
            be.adam_update(dp, be.asarray(g), d1, d2, 1e-2, 0.9, 0.999, 1e-8, 1e-2, t)
            oracle.adam_update(p, g, s1, s2, 1e-2, 0.9, 0.999, 1e-8, 1e-2, t)
        else:
            be.sgd_update(dp, be.asarray(g), d1, 0.05, 0.9, 1e-3)
            oracle.sgd_update(p, g, s1, 0.05, 0.9, 1e-3)
    check(be, dp, p, rtol=1e-5, atol=1e-6)
    check(be, d1, s1, rtol=1e-5, atol=1e-6)
    if opt == "adam":
        check(be, d2, s2, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ the oracle's oracle


class LoopOracle(ReferenceBackend):
    """The reference backend with convolution and pooling written as loops over output
    positions (each window sliced explicitly): the independent check of the reference."""

    name = "loops"

    def conv2d_forward(self, x, W, b, stride, pad):
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        f, _, k, _ = W.shape
        oh = conv_out_size(x.shape[2], k, stride, pad)
        ow = conv_out_size(x.shape[3], k, stride, pad)
        out = np.empty((x.shape[0], f, oh, ow), dtype=x.dtype)
        for i in range(oh):
            for j in range(ow):
                win = xp[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
                out[:, :, i, j] = np.tensordot(win, W, axes=([1, 2, 3], [1, 2, 3])) + b
        return out, x

    def conv2d_backward(self, dout, cache, W, stride, pad, need_dx=True):
        x = cache
        k = W.shape[2]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        dxp = np.zeros(xp.shape, dtype=np.float64)
        dW = np.zeros(W.shape, dtype=np.float64)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                rows = slice(i * stride, i * stride + k)
                cols = slice(j * stride, j * stride + k)
                d = dout[:, :, i, j]  # (N, F)
                dW += np.tensordot(d, xp[:, :, rows, cols], axes=([0], [0]))
                dxp[:, :, rows, cols] += np.tensordot(d, W, axes=([1], [0]))
        dx = dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]].astype(dout.dtype)
        return (dx if need_dx else None), dW.astype(dout.dtype), dout.sum(axis=(0, 2, 3))

    def _pool_windows(self, shape, size, stride):
        """(i, j, rows, cols) for every output position."""
        for i in range(pool_out_size(shape[2], size, stride)):
            for j in range(pool_out_size(shape[3], size, stride)):
                yield (i, j, slice(i * stride, i * stride + size),
                       slice(j * stride, j * stride + size))

    def maxpool_forward(self, x, size, stride, need_argmax):
        n, c = x.shape[:2]
        out_shape = (n, c, pool_out_size(x.shape[2], size, stride),
                     pool_out_size(x.shape[3], size, stride))
        out = np.empty(out_shape, dtype=x.dtype)
        arg = np.empty(out_shape, dtype=np.int64)
        for i, j, rows, cols in self._pool_windows(x.shape, size, stride):
            win = x[:, :, rows, cols].reshape(n, c, size * size)
            out[:, :, i, j] = win.max(axis=-1)
            arg[:, :, i, j] = win.argmax(axis=-1)  # the first maximum, row-major
        return out, ((x.shape, arg) if need_argmax else None)

    def maxpool_backward(self, dout, cache, size, stride):
        x_shape, arg = cache
        dx = np.zeros(x_shape, dtype=dout.dtype)
        for i, j, rows, cols in self._pool_windows(x_shape, size, stride):
            hit = np.arange(size * size) == arg[:, :, i, j, None]  # (N, C, size*size)
            dx[:, :, rows, cols] += (hit * dout[:, :, i, j, None]).reshape(
                *x_shape[:2], size, size)
        return dx

    def avgpool_forward(self, x, size, stride):
        n, c = x.shape[:2]
        out = np.empty((n, c, pool_out_size(x.shape[2], size, stride),
                        pool_out_size(x.shape[3], size, stride)), dtype=x.dtype)
        for i, j, rows, cols in self._pool_windows(x.shape, size, stride):
            out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
        return out, x.shape

    def avgpool_backward(self, dout, cache, size, stride):
        dx = np.zeros(cache, dtype=dout.dtype)
        for i, j, rows, cols in self._pool_windows(cache, size, stride):
            dx[:, :, rows, cols] += dout[:, :, i, j, None, None] / (size * size)
        return dx
