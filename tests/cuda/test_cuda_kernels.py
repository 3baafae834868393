"""Every CUDA backend method against the NumPy reference, forward and backward, on tiny
random shapes with odd sizes, stride 2 and padding (the simulator is slow: keep them tiny).
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.cuda

TOL = dict(rtol=1e-4, atol=1e-5)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def is_device(a) -> bool:
    return hasattr(a, "copy_to_host")


def check(cu, got, want, **tol):
    assert is_device(got), f"expected a device array, got {type(got).__name__}"
    host = cu.to_host(got)
    assert host.shape == want.shape and host.dtype == np.float32
    np.testing.assert_allclose(host, want, **(tol or TOL))


def test_asarray_keeps_device_arrays_and_to_host_copies(cu, rng):
    x = f32(rng, 2, 3)
    d = cu.asarray(x)
    assert is_device(d) and cu.asarray(d) is d
    back = cu.to_host(d)
    assert isinstance(back, np.ndarray) and np.array_equal(back, x)
    assert cu.to_host(x) is x or np.array_equal(cu.to_host(x), x)


@pytest.mark.parametrize(
    "n,c,h,w,f,k,stride,pad",
    [
        (2, 3, 7, 6, 4, 3, 1, 0),  # odd sizes
        (2, 2, 7, 5, 3, 3, 2, 1),  # stride 2 + padding, odd output
        (1, 1, 5, 5, 5, 2, 2, 0),  # even kernel, stride 2, single channel
    ],
)
def test_conv2d_forward_backward(cu, ref, rng, n, c, h, w, f, k, stride, pad):
    x, W, b = f32(rng, n, c, h, w), f32(rng, f, c, k, k), f32(rng, f)
    out, cache = cu.conv2d_forward(cu.asarray(x), cu.asarray(W), cu.asarray(b), stride, pad)
    want, rcache = ref.conv2d_forward(x, W, b, stride, pad)
    check(cu, out, want)
    dout = f32(rng, *want.shape)
    dx, dW, db = cu.conv2d_backward(cu.asarray(dout), cache, cu.asarray(W), stride, pad)
    rdx, rdW, rdb = ref.conv2d_backward(dout, rcache, W, stride, pad)
    check(cu, dx, rdx)
    check(cu, dW, rdW)  # device arrays of the parameters' shapes
    check(cu, db, rdb)


def test_conv2d_backward_without_dx(cu, ref, rng):
    x, W, b = f32(rng, 1, 2, 5, 5), f32(rng, 2, 2, 3, 3), f32(rng, 2)
    out, cache = cu.conv2d_forward(cu.asarray(x), cu.asarray(W), cu.asarray(b), 1, 1)
    dout = f32(rng, *out.shape)
    dx, dW, db = cu.conv2d_backward(cu.asarray(dout), cache, cu.asarray(W), 1, 1, need_dx=False)
    _, rdW, rdb = ref.conv2d_backward(dout, ref.conv2d_forward(x, W, b, 1, 1)[1], W, 1, 1)
    assert dx is None
    check(cu, dW, rdW)
    check(cu, db, rdb)


def test_relu(cu, ref, rng):
    x = f32(rng, 2, 3, 5, 3)
    out = cu.relu_forward(cu.asarray(x))
    check(cu, out, ref.relu_forward(x))
    dout = f32(rng, *x.shape)
    check(cu, cu.relu_backward(cu.asarray(dout), out),
          ref.relu_backward(dout, ref.relu_forward(x)))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("h,w,size,stride", [(5, 7, 2, 2), (7, 6, 3, 2)])  # floor, overlap
def test_pooling(cu, ref, rng, kind, h, w, size, stride):
    x = f32(rng, 2, 2, h, w)
    fwd, bwd = f"{kind}pool_forward", f"{kind}pool_backward"
    out, cache = getattr(cu, fwd)(cu.asarray(x), size, stride)
    want, rcache = getattr(ref, fwd)(x, size, stride)
    check(cu, out, want)
    dout = f32(rng, *want.shape)
    check(cu, getattr(cu, bwd)(cu.asarray(dout), cache, size, stride),
          getattr(ref, bwd)(dout, rcache, size, stride))


@pytest.mark.parametrize("n,k,m", [(3, 7, 5), (9, 6, 11)])  # odd, and several tiles each way
def test_dense(cu, ref, rng, n, k, m):
    x, W, b = f32(rng, n, k), f32(rng, k, m), f32(rng, m)
    dx_in = cu.asarray(x)
    check(cu, cu.dense_forward(dx_in, cu.asarray(W), cu.asarray(b)), ref.dense_forward(x, W, b))
    dout = f32(rng, n, m)
    dx, dW, db = cu.dense_backward(cu.asarray(dout), dx_in, cu.asarray(W))
    rdx, rdW, rdb = ref.dense_backward(dout, x, W)
    check(cu, dx, rdx)
    check(cu, dW, rdW)
    check(cu, db, rdb)
    assert cu.dense_backward(cu.asarray(dout), dx_in, cu.asarray(W), need_dx=False)[0] is None


def test_dropout_apply_with_host_or_device_mask(cu, ref, rng):
    x = f32(rng, 3, 2, 3)
    mask = ((rng.random(x.shape) > 0.5) * 2.0).astype(np.float32)
    check(cu, cu.dropout_apply(cu.asarray(x), mask), ref.dropout_apply(x, mask))
    check(cu, cu.dropout_apply(cu.asarray(x), cu.asarray(mask)), ref.dropout_apply(x, mask))


def test_softmax_and_cross_entropy(cu, ref, rng):
    logits = f32(rng, 5, 7) * 3
    labels = rng.integers(0, 7, 5)
    check(cu, cu.softmax(cu.asarray(logits)), ref.softmax(logits))
    loss, d = cu.softmax_cross_entropy(cu.asarray(logits), labels)
    rloss, rd = ref.softmax_cross_entropy(logits, labels)
    assert isinstance(loss, float)
    assert loss == pytest.approx(rloss, rel=1e-5)
    check(cu, d, rd)


def test_cross_entropy_extremes(cu):
    huge = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    loss, d = cu.softmax_cross_entropy(cu.asarray(huge), np.array([1, 2]))
    assert np.isfinite(loss) and loss == pytest.approx((2e4 + np.log(3)) / 2, rel=1e-5)
    assert np.all(np.isfinite(cu.to_host(d)))
    bad = huge.copy()
    bad[1, 1] = np.nan
    assert np.isnan(cu.softmax_cross_entropy(cu.asarray(bad), np.array([0, 0]))[0])


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_optimizer_updates_in_place(cu, ref, rng, opt):
    shape = (3, 5)
    p = f32(rng, *shape)
    dp = cu.asarray(p)
    s1, s2 = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    d1, d2 = cu.asarray(s1), cu.asarray(s2)
    for t in range(1, 4):
        g = f32(rng, *shape)
        if opt == "adam":
            cu.adam_update(dp, cu.asarray(g), d1, d2, 1e-2, 0.9, 0.999, 1e-8, 1e-2, t)
            ref.adam_update(p, g, s1, s2, 1e-2, 0.9, 0.999, 1e-8, 1e-2, t)
        else:
            cu.sgd_update(dp, cu.asarray(g), d1, 0.05, 0.9, 1e-3)
            ref.sgd_update(p, g, s1, 0.05, 0.9, 1e-3)
    check(cu, dp, p, rtol=1e-5, atol=1e-6)
    check(cu, d1, s1, rtol=1e-5, atol=1e-6)
