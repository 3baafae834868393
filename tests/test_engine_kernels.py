"""Every CPU (Numba) op against the NumPy reference backend, forward and backward,
on odd shapes, stride 2 and padding, through the serial (small) and parallel (large) kernels."""

import numpy as np
import pytest

from drawcnn.engine import get_backend

CPU = get_backend("cpu")
REF = get_backend("reference")

CONV_CASES = [
    # (N, C, H, W, F, k, stride, pad)
    (1, 1, 28, 28, 6, 5, 1, 2),
    (2, 3, 7, 9, 4, 3, 1, 1),
    (5, 2, 11, 10, 3, 3, 2, 1),
    (4, 3, 9, 9, 5, 5, 2, 0),
    (3, 4, 6, 5, 2, 1, 1, 0),
    (6, 2, 13, 8, 3, 4, 3, 2),
]


def rand(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_reference(case):
    n, c, h, w, f, k, s, p = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x, W, b = rand(rng, n, c, h, w), rand(rng, f, c, k, k), rand(rng, f)
    out, cache = CPU.conv2d_forward(x, W, b, s, p)
    ref, rcache = REF.conv2d_forward(x, W, b, s, p)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    dout = rand(rng, *out.shape)
    dx, dW, db = CPU.conv2d_backward(dout, cache, W, s, p)
    rdx, rdW, rdb = REF.conv2d_backward(dout, rcache, W, s, p)
    np.testing.assert_allclose(dx, rdx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dW, rdW, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(db, rdb, rtol=1e-4, atol=1e-4)
    none_dx, dW2, _ = CPU.conv2d_backward(dout, cache, W, s, p, need_dx=False)
    assert none_dx is None
    np.testing.assert_allclose(dW2, dW, rtol=1e-6)


def test_conv_chunking_matches_unchunked(monkeypatch):
    """Column chunks (cache-sized) give the same result as one chunk for the whole batch."""
    rng = np.random.default_rng(3)
    x, W, b = rand(rng, 9, 3, 12, 12), rand(rng, 4, 3, 3, 3), rand(rng, 4)
    out1, c1 = CPU.conv2d_forward(x, W, b, 1, 1)
    g1 = CPU.conv2d_backward(out1, c1, W, 1, 1)
    monkeypatch.setattr(type(CPU), "CHUNK_BYTES", 1)  # one image per chunk
    out2, c2 = CPU.conv2d_forward(x, W, b, 1, 1)
    g2 = CPU.conv2d_backward(out1, c2, W, 1, 1)
    np.testing.assert_allclose(out1, out2, rtol=1e-6)
    for a, bb in zip(g1, g2):
        np.testing.assert_allclose(a, bb, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 3, 7, 9), (5, 4, 8, 8), (2, 1, 5, 6)])
@pytest.mark.parametrize("size,stride", [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_pooling_matches_reference(shape, size, stride):
    rng = np.random.default_rng(1)
    x = rand(rng, *shape)
    out, cache = CPU.maxpool_forward(x, size, stride)
    ref, rcache = REF.maxpool_forward(x, size, stride)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(CPU.maxpool_forward_eval(x, size, stride), ref)
    dout = rand(rng, *out.shape)
    np.testing.assert_allclose(CPU.maxpool_backward(dout, cache, size, stride),
                               REF.maxpool_backward(dout, rcache, size, stride), rtol=1e-6,
                               atol=1e-6)
    out, cache = CPU.avgpool_forward(x, size, stride)
    ref, rcache = REF.avgpool_forward(x, size, stride)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(CPU.avgpool_backward(dout, cache, size, stride),
                               REF.avgpool_backward(dout, rcache, size, stride), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("n", [1, 7])
def test_relu_dense_dropout_match_reference(n):
    rng = np.random.default_rng(2)
    x = rand(rng, n, 3, 5, 5)
    out = CPU.relu_forward(x)
    np.testing.assert_array_equal(out, REF.relu_forward(x))
    dout = rand(rng, *x.shape)
    np.testing.assert_array_equal(CPU.relu_backward(dout, out), REF.relu_backward(dout, out))
    xd, W, b = rand(rng, n, 13), rand(rng, 13, 6), rand(rng, 6)
    np.testing.assert_allclose(CPU.dense_forward(xd, W, b), REF.dense_forward(xd, W, b),
                               rtol=1e-5, atol=1e-5)
    d = rand(rng, n, 6)
    for a, r in zip(CPU.dense_backward(d, xd, W), REF.dense_backward(d, xd, W)):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)
    mask = (rng.random(x.shape) > 0.5).astype(np.float32) * 2
    np.testing.assert_array_equal(CPU.dropout_apply(x, mask), REF.dropout_apply(x, mask))


def test_softmax_cross_entropy_matches_reference_and_is_stable():
    rng = np.random.default_rng(4)
    logits = rand(rng, 9, 10) * 5
    labels = rng.integers(0, 10, 9)
    loss, d = CPU.softmax_cross_entropy(logits, labels)
    rloss, rd = REF.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(rloss, rel=1e-5)
    np.testing.assert_allclose(d, rd, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(CPU.softmax(logits), REF.softmax(logits), rtol=1e-5, atol=1e-7)
    huge = np.array([[1000.0, -1000.0, 0.0]], np.float32)
    loss, d = CPU.softmax_cross_entropy(huge, np.array([1]))
    assert np.isfinite(loss) and loss == pytest.approx(2000.0, rel=1e-4)
    assert np.all(np.isfinite(d))
    p = CPU.softmax(huge)
    assert np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0)
    nan_loss, _ = CPU.softmax_cross_entropy(np.array([[np.nan, 0.0]], np.float32), np.array([0]))
    assert not np.isfinite(nan_loss)


@pytest.mark.parametrize("size", [10, 40000])  # serial and parallel update paths
def test_optimizer_updates_match_reference(size):
    rng = np.random.default_rng(5)
    for kind in ("adam", "sgd"):
        p1 = rand(rng, size)
        p2 = p1.copy()
        s1 = [np.zeros_like(p1), np.zeros_like(p1)]
        s2 = [np.zeros_like(p1), np.zeros_like(p1)]
        for t in range(1, 4):
            g = rand(rng, size)
            if kind == "adam":
                CPU.adam_update(p1, g, s1[0], s1[1], 1e-2, 0.9, 0.999, 1e-8, 1e-3, t)
                REF.adam_update(p2, g, s2[0], s2[1], 1e-2, 0.9, 0.999, 1e-8, 1e-3, t)
            else:
                CPU.sgd_update(p1, g, s1[0], 1e-2, 0.9, 1e-3)
                REF.sgd_update(p2, g, s2[0], 1e-2, 0.9, 1e-3)
        np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-6)
