"""im2col and col2im for stride 1, through a zero-padded copy of each image plane.

The general kernels (cpu_conv_kernels.py) work out the padding border for every (row, image,
output row) and copy rows of OW elements; with LeNet's OW of 10 to 28 that bookkeeping
cost 3-4x the GEMM it feeds (profile in README, "Speed"). Here each (image, channel) plane
is first zero-padded (the whole slice for im2col, one plane in L1 for col2im), after which
every column row is a plain copy of OW contiguous elements with no branch (and col2im a
plain add), which the compiler vectorises: the runs are addressed as slices, so each copy
indexes from 0 by its loop counter (an index like ``src[ow + j]`` is a signed sum Numba
wraps when negative, which LLVM turned into gathers: 3x slower, measured on LeNet's
layers). Same layouts as the general kernels: cols
(C*kh*kw, N*OH*OW). Serial, nogil, cached: cpu.py runs them per slice of the batch on its
worker threads.
"""

from __future__ import annotations

from .cpu_kernels import serial_kernel


@serial_kernel
def pad_images(xp, x, pad):
    """xp (N, C, Hp, Wp) = x zero-padded: x at offset (pad, pad), zeros elsewhere (Hp, Wp
    at least H+pad, W+pad; Winograd's tile-aligned planes are larger). Each element is
    written once."""
    n_img, n_ch, height, width = x.shape
    hp, wp = xp.shape[2], xp.shape[3]
    for n in range(n_img):
        for c in range(n_ch):
            for h in range(hp):
                hh = h - pad
                if hh < 0 or hh >= height:
                    for w in range(wp):
                        xp[n, c, h, w] = 0.0
                    continue
                for w in range(pad):
                    xp[n, c, h, w] = 0.0
                for w in range(width):
                    xp[n, c, h, w + pad] = x[n, c, hh, w]
                for w in range(width + pad, wp):
                    xp[n, c, h, w] = 0.0


@serial_kernel
def im2col_s1(cols, xp, kh, kw):
    """cols (C*kh*kw, N*OH*OW) from the padded images xp (N, C, Hp, Wp), stride 1: row by
    row (sequential writes), each a run of contiguous OW-element copies."""
    n_img, n_ch, hp, wp = xp.shape
    out_h = hp - kh + 1
    out_w = wp - kw + 1
    n_pos = out_h * out_w
    for c in range(n_ch):
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                for n in range(n_img):
                    for oh in range(out_h):
                        src = xp[n, c, oh + i, j:j + out_w]
                        base = n * n_pos + oh * out_w
                        dst = row[base:base + out_w]
                        for ow in range(out_w):
                            dst[ow] = src[ow]


@serial_kernel
def col2im_s1(dx, dcols, kh, kw, pad, dxp):
    """dx (N,C,H,W) = the scatter-add of dcols (C*kh*kw, N*OH*OW), stride 1 (overwritten);
    dxp is (H+2p, W+2p) scratch."""
    n_img, n_ch, height, width = dx.shape
    hp, wp = dxp.shape
    out_h = hp - kh + 1
    out_w = wp - kw + 1
    n_pos = out_h * out_w
    for n in range(n_img):
        for c in range(n_ch):
            for h in range(hp):
                for w in range(wp):
                    dxp[h, w] = 0.0
            for i in range(kh):
                for j in range(kw):
                    row = dcols[(c * kh + i) * kw + j]
                    for oh in range(out_h):
                        dst = dxp[oh + i, j:j + out_w]
                        base = n * n_pos + oh * out_w
                        src = row[base:base + out_w]
                        for ow in range(out_w):
                            dst[ow] += src[ow]
            for h in range(height):
                src = dxp[h + pad, pad:pad + width]
                dst = dx[n, c, h]
                for w in range(width):
                    dst[w] = src[w]


# ---------------------------------------------------------------------------- grid layout
# For few filters the GEMM is cheap and the copies dominate: LeNet's conv1 (6 filters)
# spent 4.7 us per image in im2col_s1's 700 runs of 28 elements against 2.8 us in the GEMM.
# The grid layout computes every output on the padded image's full width: column q of image
# n stands for position q = oh*Wp + ow of the padded grid (q < span = (OH-1)*Wp + OW; the
# columns with ow >= OW are computed and thrown away), so row (c, i, j) of the column
# matrix is the padded plane read from i*Wp + j on: one copy of span elements per image.
# Measured on conv1 (per image): im2col 4.7 -> 1.8 us, col2im 5.5 -> 2.1, the GEMMs 14%
# bigger (2.8 -> 3.2). cpu.py takes this layout only where the GEMM is small (few filters)
# and the waste is (span under 1.25 OH*OW).


@serial_kernel
def im2col_grid(cols, xp, kh, kw, span):
    """cols (C*kh*kw, N*span) from padded images xp (N, C, Hp, Wp), stride 1, grid layout:
    cols[(c*kh + i)*kw + j, n*span + q] = xp[n, c] flattened, at i*Wp + j + q."""
    n_img, n_ch, hp, wp = xp.shape
    for n in range(n_img):
        for c in range(n_ch):
            plane = xp[n, c].reshape(hp * wp)
            for i in range(kh):
                for j in range(kw):
                    start = i * wp + j
                    src = plane[start:start + span]
                    dst = cols[(c * kh + i) * kw + j, n * span:(n + 1) * span]
                    for q in range(span):
                        dst[q] = src[q]


@serial_kernel
def col2im_grid(dx, dcols, kh, kw, pad, dxp, span):
    """dx (N,C,H,W) = the scatter-add of grid-layout dcols (C*kh*kw, N*span), stride 1
    (overwritten); dxp is (H+2p, W+2p) scratch. The thrown-away columns must hold zeros
    (they do when dcols = W^T @ dY with dY zero there, cpu_conv_kernels.nchw_to_rows)."""
    n_img, n_ch, height, width = dx.shape
    hp, wp = dxp.shape
    flat = dxp.reshape(hp * wp)
    for n in range(n_img):
        for c in range(n_ch):
            for q in range(hp * wp):
                flat[q] = 0.0
            for i in range(kh):
                for j in range(kw):
                    start = i * wp + j
                    dst = flat[start:start + span]
                    src = dcols[(c * kh + i) * kw + j, n * span:(n + 1) * span]
                    for q in range(span):
                        dst[q] += src[q]
            for h in range(height):
                src = dxp[h + pad, pad:pad + width]
                d = dx[n, c, h]
                for w in range(width):
                    d[w] = src[w]
