"""Numba CPU kernels of the convolution's data layout: im2col/col2im over a chunk of
images, the GEMM result back to NCHW with the bias, the output gradient into GEMM layout,
and the bias gradient.

cpu.py turns a chunk of images into one column matrix (C*k*k, images*positions), so that
forward and both backward products are one large BLAS GEMM per chunk. These kernels are
serial (``range``, not ``prange``): cpu.py already runs one slice of the batch per worker
thread, and they are ``nogil`` so those threads run side by side. Arrays are C-contiguous
float32 or float64 (the kernels are generic; the gradient checks use float64).
"""

from __future__ import annotations

from .cpu_kernels import serial_kernel


@serial_kernel
def im2col_rows(cols, x, kh, kw, stride, pad):
    """x (N,C,H,W) -> cols (C*kh*kw, N*OH*OW): one row per (c,i,j), images side by side.

    This layout makes a whole chunk of images one GEMM (W (F,CKK) @ cols) instead of N
    small ones, which matters for small feature maps (LeNet's 10x10, the deep net's 14x14).
    """
    n_img, n_ch, height, width = x.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    n_pos = out_h * out_w
    for row in range(n_ch * kh * kw):
        c = row // (kh * kw)
        i = (row // kw) % kh
        j = row % kw
        lo = max(0, (pad - j + stride - 1) // stride)
        hi = min(out_w, (width - 1 + pad - j) // stride + 1)
        for n in range(n_img):
            for oh in range(out_h):
                h = oh * stride - pad + i
                base = n * n_pos + oh * out_w
                if h < 0 or h >= height or lo >= hi:
                    for ow in range(out_w):
                        cols[row, base + ow] = 0.0
                    continue
                for ow in range(lo):
                    cols[row, base + ow] = 0.0
                for ow in range(lo, hi):
                    cols[row, base + ow] = x[n, c, h, ow * stride - pad + j]
                for ow in range(hi, out_w):
                    cols[row, base + ow] = 0.0


@serial_kernel
def col2im_rows(dx, dcols, kh, kw, stride, pad):
    """Scatter-add dcols (C*kh*kw, N*OH*OW) into dx (N,C,H,W); dx is overwritten."""
    n_img, n_ch, height, width = dx.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    n_pos = out_h * out_w
    for nc in range(n_img * n_ch):  # each (n, c) plane is written by one iteration only
        n = nc // n_ch
        c = nc % n_ch
        for h in range(height):
            for w in range(width):
                dx[n, c, h, w] = 0.0
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                lo = max(0, (pad - j + stride - 1) // stride)
                hi = min(out_w, (width - 1 + pad - j) // stride + 1)
                for oh in range(out_h):
                    h = oh * stride - pad + i
                    if h < 0 or h >= height:
                        continue
                    base = n * n_pos + oh * out_w
                    for ow in range(lo, hi):
                        dx[n, c, h, ow * stride - pad + j] += dcols[row, base + ow]


@serial_kernel
def rows_to_nchw_bias(out, y, b, relu, span, rstride):
    """out (N, F, OH, OW) = y (F, N*span) + b[f]: the GEMM result back to NCHW, bias
    fused, and with ``relu`` the following ReLU too (as cpu_kernels.relu_forward: NaN stays
    NaN). Image n's output row oh starts at column n*span + oh*rstride of y: rstride = OW
    for im2col's dense columns, the padded width for the grid layout (cpu_im2col_s1.py)."""
    n_img, n_f, out_h, out_w = out.shape
    for n in range(n_img):
        for f in range(n_f):
            bias = b[f]
            for oh in range(out_h):
                start = n * span + oh * rstride
                src = y[f, start:start + out_w]  # a slice: contiguous loads, not gathers
                dst = out[n, f, oh]
                if relu:
                    for ow in range(out_w):
                        v = src[ow] + bias
                        dst[ow] = 0.0 if v <= 0.0 else v
                else:
                    for ow in range(out_w):
                        dst[ow] = src[ow] + bias


@serial_kernel
def nchw_to_rows(y, db, d, r, masked, span, rstride):
    """y (F, N*span) = d (N, F, OH, OW) in GEMM layout (the layout of rows_to_nchw_bias;
    with rstride > OW the grid's columns between rows are zeroed); db (F,) += its sums
    (the bias gradient, accumulated in db's precision). With ``masked``, d is the gradient
    of a fused ReLU's output r (N, F, OH, OW): y takes d where r > 0, else 0 (the ReLU's
    backward, as cpu_kernels.relu_backward)."""
    n_img, n_f, out_h, out_w = d.shape
    for f in range(n_f):
        acc = db[f]
        for n in range(n_img):
            for oh in range(out_h):
                start = n * span + oh * rstride
                dst = y[f, start:start + out_w]
                src = d[n, f, oh]
                if masked:
                    out = r[n, f, oh]
                    for ow in range(out_w):
                        v = src[ow] if out[ow] > 0.0 else 0.0
                        dst[ow] = v
                        acc += v
                else:
                    for ow in range(out_w):
                        v = src[ow]
                        dst[ow] = v
                        acc += v
                if oh < out_h - 1:
                    gap = y[f, start + out_w:start + rstride]
                    for q in range(rstride - out_w):
                        gap[q] = 0.0
        db[f] = acc


@serial_kernel
def channel_sum(out, x):
    """out (F,) = sum of x (N, F, P) over batch and positions: the conv bias gradient."""
    n_img, n_f, n_pos = x.shape
    for f in range(n_f):
        acc = 0.0
        for n in range(n_img):
            for p in range(n_pos):
                acc += x[n, f, p]
        out[f] = acc
