"""im2col + GEMM convolution, stride 1, float32: one nogil Numba call per slice of the batch.

cpu.py's im2col path (LeNet's layers, simple's conv1) ran each chunk of a few images as
five or six Python-level calls (workspaces, pad, im2col, NumPy's GEMM, unpack), each taking
and releasing the GIL. At two worker threads the threads handed the GIL back and forth
between those calls: LeNet's conv1 forward took 1.24 ms against 0.74 ms at one thread.
These kernels run the same chunks (the bounds come from cpu.py, so every image sees the
GEMM shapes it saw before) with the same layout kernels (cpu_im2col_s1.py,
cpu_conv_kernels.py), and call OpenBLAS's sgemm from inside (cpu_shift_conv.sgemm_k).
"""

from __future__ import annotations

from .cpu_conv_kernels import nchw_to_rows, rows_to_nchw_bias
from .cpu_im2col_s1 import col2im_grid, col2im_s1, im2col_grid, im2col_s1, pad_images
from .cpu_kernels import serial_kernel
from .cpu_shift_conv import sgemm_k


@serial_kernel
def _columns(cc, xs, x, kh, kw, pad, grid, span):
    pad_images(xs, x, pad)
    if grid:
        im2col_grid(cc, xs, kh, kw, span)
    else:
        im2col_s1(cc, xs, kh, kw)


@serial_kernel
def forward_slice(out, x, w2, b, relu, kh, kw, pad, grid, span, rstride, bounds, xp, cols, y):
    """out[bounds[0]:bounds[-1]] = conv(x) + b (ReLU'd if ``relu``), chunk by chunk
    [bounds[i], bounds[i+1]): columns (C*kh*kw, m*span), one GEMM W (F, CKK) @ columns,
    unpacked to NCHW. xp (>= m, C, H+2p, W+2p), cols and y: flat scratch."""
    n_f, ckk = w2.shape
    for i in range(bounds.shape[0] - 1):
        s, e = bounds[i], bounds[i + 1]
        k = (e - s) * span
        cc = cols[: ckk * k].reshape((ckk, k))
        yy = y[: n_f * k].reshape((n_f, k))
        _columns(cc, xp[: e - s], x[s:e], kh, kw, pad, grid, span)
        sgemm_k(101, 111, 111, n_f, k, ckk, 1.0, w2.ctypes.data, ckk, cc.ctypes.data, k, 0.0,
                yy.ctypes.data, k)
        rows_to_nchw_bias(out[s:e], yy, b, relu, span, rstride)


@serial_kernel
def backward_slice(dx, dwt, db, x, d3, r3, masked, w2, kh, kw, pad, grid, span, rstride, bounds,
                   xp, cols, dy, dcols, plane, need_dx):
    """dWt (CKK, F) += columns @ dY^T and db (float64) += dY summed, chunk by chunk as in
    forward_slice; with ``need_dx``, dx[chunk] = col2im(W^T @ dY). The ReLU's backward is
    applied as dY is packed when ``masked`` (r3: the ReLU's output)."""
    n_f, ckk = w2.shape
    for i in range(bounds.shape[0] - 1):
        s, e = bounds[i], bounds[i + 1]
        k = (e - s) * span
        cc = cols[: ckk * k].reshape((ckk, k))
        dd = dy[: n_f * k].reshape((n_f, k))
        _columns(cc, xp[: e - s], x[s:e], kh, kw, pad, grid, span)
        nchw_to_rows(dd, db, d3[s:e], r3[s:e], masked, span, rstride)
        # (CKK, k) @ (k, F) accumulated in place: the orientation OpenBLAS ran fastest (cpu.py)
        sgemm_k(101, 111, 112, ckk, n_f, k, 1.0, cc.ctypes.data, k, dd.ctypes.data, k, 1.0,
                dwt.ctypes.data, n_f)
        if need_dx:
            dc = dcols[: ckk * k].reshape((ckk, k))
            sgemm_k(101, 112, 111, ckk, k, n_f, 1.0, w2.ctypes.data, ckk, dd.ctypes.data, k,
                    0.0, dc.ctypes.data, k)
            if grid:
                col2im_grid(dx[s:e], dc, kh, kw, pad, plane, span)
            else:
                col2im_s1(dx[s:e], dc, kh, kw, pad, plane)
