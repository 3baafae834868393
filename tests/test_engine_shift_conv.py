"""The CPU backend's shifted-GEMM (cpu_shift_conv.py) and Winograd (cpu_winograd.py)
convolutions against the NumPy reference,
forward and backward: odd shapes, padding, several kernel sizes, float32 and float64, batches
split over the worker threads and over several chunks, stride 2 (which goes to im2col), and
two threads convolving at once with their per-thread workspaces."""

import threading

import numpy as np
import pytest

from drawcnn.engine import get_backend
from drawcnn.engine.backends import cpu_shift_conv as S
from drawcnn.engine.backends import cpu_winograd as WG

CPU = get_backend("cpu")
REF = get_backend("reference")

# (N, C, H, W, F, k, pad): C >= SHIFT_MIN_CHANNELS, stride 1
SHIFT_CASES = [
    (1, 8, 7, 9, 5, 3, 1),
    (3, 9, 11, 6, 4, 3, 0),
    (2, 12, 10, 10, 7, 5, 2),
    (5, 8, 6, 7, 3, 4, 1),
    (4, 10, 5, 5, 6, 1, 0),
    (2, 8, 8, 9, 9, 3, 2),
    (40, 16, 14, 14, 12, 3, 1),  # big enough for the worker threads
    (2, 8, 9, 6, 5, 3, 3),  # 3x3 with pad 3: shifted GEMMs, not Winograd
    (3, 11, 8, 13, 10, 3, 2),
    (2, 8, 3, 4, 3, 3, 0),  # one output row
]


def rand(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _check(case, dtype, stride=1, tol=1e-4):
    n, c, h, w, f, k, pad = case
    rng = np.random.default_rng(sum(case) + stride)
    x, W, b = rand(rng, n, c, h, w, dtype=dtype), rand(rng, f, c, k, k, dtype=dtype), \
        rand(rng, f, dtype=dtype)
    out, cache = CPU.conv2d_forward(x, W, b, stride, pad)
    ref, rcache = REF.conv2d_forward(x, W, b, stride, pad)
    assert out.shape == ref.shape and out.dtype == dtype
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * 10)
    fused, _ = CPU.conv2d_forward(x, W, b, stride, pad, relu=True)  # conv + ReLU in one call
    np.testing.assert_allclose(fused, np.maximum(ref, 0), rtol=tol, atol=tol * 10)
    dout = rand(rng, *out.shape, dtype=dtype)
    dx, dW, db = CPU.conv2d_backward(dout, cache, W, stride, pad)
    rdx, rdW, rdb = REF.conv2d_backward(dout, rcache, W, stride, pad)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    np.testing.assert_allclose(dx, rdx, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(dW, rdW, rtol=tol, atol=tol * 100)
    np.testing.assert_allclose(db, rdb, rtol=tol, atol=tol * 100)
    masked = REF.conv2d_backward(dout * (fused > 0), rcache, W, stride, pad)
    for got, want in zip(CPU.conv2d_backward(dout, cache, W, stride, pad, relu_out=fused),
                         masked):  # conv + ReLU fused backward
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 100)
    none_dx, dW2, db2 = CPU.conv2d_backward(dout, cache, W, stride, pad, need_dx=False)
    assert none_dx is None
    np.testing.assert_allclose(dW2, dW, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(db2, db, rtol=1e-6, atol=1e-6)


def test_shift_path_is_the_one_taken():
    x = np.zeros((1, 8, 5, 5), np.float32)
    W = np.zeros((4, 8, 3, 3), np.float32)
    assert S.gemm_available(np.float32) and S.gemm_available(np.float64)
    assert CPU._use_shift(x, W, 1)
    assert not CPU._use_shift(x, W, 2)  # stride 2: im2col
    assert not CPU._use_shift(x[:, :4], W[:, :4], 1)  # few channels: im2col
    assert CPU._use_winograd(x, W, 1, 1) and CPU._use_winograd(x, W, 1, 2)
    assert not CPU._use_winograd(x, W, 1, 3)  # dx would need negative padding
    assert not CPU._use_winograd(x, np.zeros((4, 8, 5, 5), np.float32), 1, 1)  # 5x5


@pytest.mark.parametrize("shape,pad", [((2, 3, 7, 9), 1), ((1, 5, 6, 5), 0), ((3, 2, 4, 4), 2),
                                       ((1, 1, 3, 3), 0), ((2, 4, 5, 8), 1)])
def test_winograd_kernels_match_reference(shape, pad):
    """The transforms on their own, on odd output sizes (half tiles), float32 and float64."""
    rng = np.random.default_rng(sum(shape) + pad)
    for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-11)):
        x = rand(rng, *shape, dtype=dtype)
        W, b = rand(rng, 6, shape[1], 3, 3, dtype=dtype), rand(rng, 6, dtype=dtype)
        ref, _ = REF.conv2d_forward(x, W, b, 1, pad)
        out = np.full(ref.shape, np.nan, dtype=dtype)
        WG.winograd_forward(out, x, WG.transform_filters(W), b, pad)
        np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("case", SHIFT_CASES)
def test_shift_conv_matches_reference_float32(case):
    _check(case, np.float32)


@pytest.mark.parametrize("case", SHIFT_CASES[:4])
def test_shift_conv_matches_reference_float64(case):
    _check(case, np.float64, tol=1e-10)


@pytest.mark.parametrize("case", [(3, 8, 11, 9, 5, 3, 1), (2, 9, 10, 7, 4, 4, 0)])
def test_many_channels_stride_2_still_matches(case):
    _check(case, np.float32, stride=2)


@pytest.mark.parametrize("k", [3, 5])
def test_shift_chunks_match_one_chunk(monkeypatch, k):
    """Chunks of one image (tiny SHIFT_CHUNK_BYTES) give what one chunk per worker gives."""
    rng = np.random.default_rng(5)
    x, W, b = rand(rng, 7, 8, 9, 9), rand(rng, 6, 8, k, k), rand(rng, 6)
    out1, c1 = CPU.conv2d_forward(x, W, b, 1, 1)
    dout = rand(rng, *out1.shape)
    g1 = CPU.conv2d_backward(dout, c1, W, 1, 1)
    monkeypatch.setattr(type(CPU), "SHIFT_CHUNK_BYTES", 1)
    out2, c2 = CPU.conv2d_forward(x, W, b, 1, 1)
    g2 = CPU.conv2d_backward(dout, c2, W, 1, 1)
    np.testing.assert_allclose(out1, out2, rtol=1e-6)
    for a, bb in zip(g1, g2):
        np.testing.assert_allclose(a, bb, rtol=1e-5, atol=1e-5)


def test_workspaces_shrink_and_grow_between_calls():
    """A big call, a small one, a big one again: reused buffers never leak old values."""
    rng = np.random.default_rng(6)
    for shape in [(4, 8, 14, 14), (1, 8, 5, 6), (3, 16, 12, 12), (1, 8, 5, 6)]:
        x, W, b = rand(rng, *shape), rand(rng, 5, shape[1], 3, 3), rand(rng, 5)
        out, _ = CPU.conv2d_forward(x, W, b, 1, 1)
        ref, _ = REF.conv2d_forward(x, W, b, 1, 1)
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)


def test_two_threads_convolve_at_once():
    """Per-thread workspaces: a GUI thread and a trainer thread never share scratch."""
    rng = np.random.default_rng(7)
    jobs = [(rand(rng, 6, 8, 12, 12), rand(rng, 4, 8, 3, 3), rand(rng, 4)),
            (rand(rng, 2, 16, 7, 7), rand(rng, 3, 16, 3, 3), rand(rng, 3))]
    want = [REF.conv2d_forward(x, W, b, 1, 1)[0] for x, W, b in jobs]
    errors = []

    def work(k):
        x, W, b = jobs[k]
        for _ in range(30):
            out, cache = CPU.conv2d_forward(x, W, b, 1, 1)
            CPU.conv2d_backward(out, cache, W, 1, 1)
            if not np.allclose(out, want[k], rtol=1e-4, atol=1e-3):
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("use_prange", [False, True])
def test_big_elementwise_ops_split_or_prange_agree_with_reference(monkeypatch, use_prange):
    """Big ops run as serial kernels on batch slices over the worker threads (default) or as
    prange kernels (USE_PRANGE); both give the reference's results."""
    from drawcnn.engine.backends import cpu, cpu_threads

    monkeypatch.setattr(cpu_threads, "USE_PRANGE", use_prange)
    monkeypatch.setattr(cpu, "PAR_WORK", 1 << 12)  # the split path for this small batch
    rng = np.random.default_rng(8)
    x = rand(rng, 9, 8, 30, 30)  # > PAR_WORK elements
    np.testing.assert_array_equal(CPU.relu_forward(x), REF.relu_forward(x))
    out = CPU.relu_forward(x)
    dout = rand(rng, *x.shape)
    np.testing.assert_array_equal(CPU.relu_backward(dout, out), REF.relu_backward(dout, out))
    pooled, cache = CPU.maxpool_forward(x, 2, 2, True)
    want, rcache = REF.maxpool_forward(x, 2, 2, True)
    np.testing.assert_array_equal(pooled, want)
    np.testing.assert_array_equal(CPU.maxpool_forward(x, 2, 2, False)[0], want)
    g = rand(rng, *pooled.shape)
    np.testing.assert_allclose(CPU.maxpool_backward(g, cache, 2, 2),
                               REF.maxpool_backward(g, rcache, 2, 2))
    avg, acache = CPU.avgpool_forward(x, 3, 2)
    ravg, racache = REF.avgpool_forward(x, 3, 2)
    np.testing.assert_allclose(avg, ravg, rtol=1e-5, atol=1e-6)
    ga = rand(rng, *avg.shape)
    np.testing.assert_allclose(CPU.avgpool_backward(ga, acache, 3, 2),
                               REF.avgpool_backward(ga, racache, 3, 2), rtol=1e-5, atol=1e-6)
    flat, W, b = rand(rng, 700, 120), rand(rng, 120, 100), rand(rng, 100)
    np.testing.assert_allclose(CPU.dense_forward(flat, W, b), REF.dense_forward(flat, W, b),
                               rtol=1e-4, atol=1e-4)
    mask = (rng.random(x.shape) > 0.5).astype(np.float32) * 2
    np.testing.assert_array_equal(CPU.dropout_apply(x, mask), REF.dropout_apply(x, mask))
    p, grad = rand(rng, 300, 200), rand(rng, 300, 200)
    states = [(p.copy(), np.zeros_like(p), np.zeros_like(p)) for _ in range(2)]
    for be, (pp, m, v) in zip((CPU, REF), states):
        for t in (1, 2):
            be.adam_update(pp, grad, m, v, 1e-3, 0.9, 0.999, 1e-8, 1e-4, t)
    for a, bb in zip(*states):
        np.testing.assert_allclose(a, bb, rtol=1e-5, atol=1e-6)
    sgd = [(p.copy(), np.zeros_like(p)) for _ in range(2)]
    for be, (pp, vel) in zip((CPU, REF), sgd):
        be.sgd_update(pp, grad, vel, 1e-2, 0.9, 1e-4)
    np.testing.assert_allclose(sgd[0][0], sgd[1][0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", [(2, 3, 7, 9, 4, 3, 1), (3, 1, 28, 28, 6, 5, 2),
                                  (2, 6, 14, 13, 5, 5, 0), (4, 2, 6, 5, 3, 4, 2),
                                  (1, 5, 4, 4, 2, 1, 0)])
def test_stride1_im2col_kernels_match_general_ones(case):
    """The branch-free stride-1 im2col/col2im (few channels) against the general kernels."""
    from drawcnn.engine.backends import cpu_conv_kernels as C
    from drawcnn.engine.backends import cpu_im2col_s1 as I

    n, c, h, w, _, k, pad = case
    rng = np.random.default_rng(sum(case))
    x = rand(rng, n, c, h, w)
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    want = np.empty((c * k * k, n * oh * ow), np.float32)
    got = np.full_like(want, np.nan)
    C.im2col_rows(want, x, k, k, 1, pad)
    xp = np.full((n, c, h + 2 * pad, w + 2 * pad), np.nan, np.float32)
    I.pad_images(xp, x, pad)
    I.im2col_s1(got, xp, k, k)
    np.testing.assert_array_equal(got, want)
    dcols = rand(rng, *want.shape)
    dx_want, dx_got = np.empty_like(x), np.full_like(x, np.nan)
    C.col2im_rows(dx_want, dcols, k, k, 1, pad)
    I.col2im_s1(dx_got, dcols, k, k, pad, np.full((h + 2 * pad, w + 2 * pad), np.nan, np.float32))
    np.testing.assert_allclose(dx_got, dx_want, rtol=1e-5, atol=1e-5)
    _check(case, np.float32)  # and through the backend (im2col path: C < 8)


@pytest.mark.parametrize("shape,pad", [((2, 3, 7, 9), 1), ((1, 5, 6, 5), 0), ((3, 2, 4, 4), 2),
                                       ((2, 4, 5, 8), 1)])
def test_winograd_filter_gradient_matches_reference(shape, pad):
    """dW summed over two slices in the Winograd domain, then transformed back; odd sizes."""
    rng = np.random.default_rng(sum(shape) + 10 * pad)
    for dtype, tol in ((np.float32, 1e-4), (np.float64, 1e-11)):
        x = rand(rng, *shape, dtype=dtype)
        W, b = rand(rng, 6, shape[1], 3, 3, dtype=dtype), rand(rng, 6, dtype=dtype)
        out, cache = REF.conv2d_forward(x, W, b, 1, pad)
        dout = rand(rng, *out.shape, dtype=dtype)
        _, want, _ = REF.conv2d_backward(dout, cache, W, 1, pad)
        z = np.zeros((16, 6, shape[1]), dtype=dtype)
        WG.winograd_filter_grad(z, x[:1], dout[:1], pad)
        WG.winograd_filter_grad(z, x[1:], dout[1:], pad)
        got = np.zeros_like(W)
        WG.filter_grad_inverse(got, z)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


@pytest.mark.skipif(not S.FUSED, reason="no ILP64 cblas_sgemm for the one-call kernels")
@pytest.mark.parametrize("shape,pad,step", [((5, 8, 7, 9), 1, 2), ((3, 9, 6, 5), 0, 3),
                                            ((4, 8, 5, 8), 2, 3)])
def test_one_call_slice_kernels_match_reference(shape, pad, step):
    """forward_slice and filter_grad_slice (BLAS called from inside the nogil kernel), over
    several chunks with a short last one, against the reference."""
    rng = np.random.default_rng(sum(shape) + pad + step)
    c = shape[1]
    x = rand(rng, *shape)
    W, b = rand(rng, 6, c, 3, 3), rand(rng, 6)
    ref, cache = REF.conv2d_forward(x, W, b, 1, pad)
    oh, ow = ref.shape[2], ref.shape[3]
    xp, V, M = WG.slice_scratch(c, 6, oh, ow, step)
    rows = np.empty((2, xp.shape[3] - 2), np.float32)
    out = np.full(ref.shape, np.nan, np.float32)
    WG.forward_slice(out, x, WG.transform_filters(W), b, pad, xp, V, M, rows, step)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)
    dout = rand(rng, *ref.shape)
    _, want, _ = REF.conv2d_backward(dout, cache, W, 1, pad)
    z = np.zeros((16, 6, c), np.float32)
    WG.filter_grad_slice(z, x, dout, pad, xp, V, M, step)
    got = np.zeros_like(W)
    WG.filter_grad_inverse(got, z)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


@pytest.mark.skipif(not S.FUSED, reason="no ILP64 cblas_sgemm for the one-call kernels")
@pytest.mark.parametrize("case", [(7, 1, 12, 11, 6, 5, 2),  # few filters: the grid layout
                                  (9, 6, 10, 9, 16, 5, 0),  # LeNet's conv2 shape, smaller
                                  (5, 3, 8, 8, 12, 3, 1)])
def test_im2col_one_call_path_matches_reference(case):
    """The im2col path as one kernel call per slice (cpu_im2col_fused.py), with chunks of 2
    images (a short last one), ReLU fused, with and without dx."""
    from drawcnn.engine.backends.cpu import CpuBackend

    small = CpuBackend()
    n, c, h, w, f, k, pad = case
    small.CHUNK_BYTES = 2 * c * k * k * (h + 2 * pad) * (w + 2 * pad) * 4
    assert small._fused_im2col(np.zeros((1, c, 1, 1), np.float32),
                               np.zeros((f, c, k, k), np.float32), 1)
    rng = np.random.default_rng(sum(case))
    x, W, b = rand(rng, n, c, h, w), rand(rng, f, c, k, k), rand(rng, f)
    out, cache = small.conv2d_forward(x, W, b, 1, pad, relu=True)
    ref, rcache = REF.conv2d_forward(x, W, b, 1, pad)
    np.testing.assert_allclose(out, np.maximum(ref, 0), rtol=1e-4, atol=1e-3)
    dout = rand(rng, *out.shape)
    want = REF.conv2d_backward(dout * (out > 0), rcache, W, 1, pad)
    for got, exp in zip(small.conv2d_backward(dout, cache, W, 1, pad, relu_out=out), want):
        np.testing.assert_allclose(got, exp, rtol=1e-4, atol=1e-2)
    none, dW, db = small.conv2d_backward(dout, cache, W, 1, pad, need_dx=False, relu_out=out)
    assert none is None
    np.testing.assert_allclose(dW, want[1], rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(db, want[2], rtol=1e-4, atol=1e-2)
