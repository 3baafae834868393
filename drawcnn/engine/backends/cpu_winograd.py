"""3x3 stride-1 convolution by Winograd F(2x2, 3x3): 2.25x fewer multiplications.

The deep net's 3x3 layers are GEMM-bound, and the GEMM is as fast as OpenBLAS gets, so the
remaining lever is doing less arithmetic. Winograd's minimal filtering computes each 2x2
output tile from a 4x4 input tile with 16 multiplications per (filter, channel) pair where
direct convolution needs 36:

    Y = A^T [ (G g G^T) * (B^T d B) ] A        (* elementwise over the 4x4 tile)

Per chunk of images: the input tiles are transformed once (``input_transform``: V, 16 x
(C, tiles)), the filters once per call (``filter_transform``: U, 16 x (F, C)), then 16
independent GEMMs M[e] (F, tiles) = U[e] @ V[e] through BLAS (cpu_shift_conv.gemm, GIL
released), and ``output_transform`` folds each tile's 16 values back into 2x2 outputs,
adds the bias and writes NCHW. F(2x2, 3x3) keeps float32 rounding at the level of direct
convolution (transforms use only +, - and halves).

The input gradient of a stride-1 convolution is itself a stride-1 convolution of dY with
the flipped, transposed filters (padding k-1-pad), so backward reuses the same path for dx;
the filter gradient is the adjoint of the same transform (``winograd_filter_grad``, below).
Kernels are serial, nogil and cached; cpu.py runs them on its worker threads per slice.
"""

from __future__ import annotations

import numpy as np

from .cpu_im2col_s1 import pad_images
from .cpu_kernels import serial_kernel
from .cpu_shift_conv import gemm, workspace
from .cpu_shift_conv import sgemm_k as _sgemm


def tiles(out_h: int, out_w: int) -> tuple[int, int]:
    return (out_h + 1) // 2, (out_w + 1) // 2


@serial_kernel
def filter_transform(U, W):
    """U (16, F, C) = G g G^T for every 3x3 filter g = W[f, c]; G = [[1,0,0], [.5,.5,.5],
    [.5,-.5,.5], [0,0,1]]. Inner loop over c: straight-line code, vectorised over filters."""
    n_f, n_ch = W.shape[0], W.shape[1]
    for f in range(n_f):
        for c in range(n_ch):
            g00, g01, g02 = W[f, c, 0, 0], W[f, c, 0, 1], W[f, c, 0, 2]
            g10, g11, g12 = W[f, c, 1, 0], W[f, c, 1, 1], W[f, c, 1, 2]
            g20, g21, g22 = W[f, c, 2, 0], W[f, c, 2, 1], W[f, c, 2, 2]
            # t = G g (4 x 3)
            t00, t01, t02 = g00, g01, g02
            t10 = 0.5 * (g00 + g10 + g20)
            t11 = 0.5 * (g01 + g11 + g21)
            t12 = 0.5 * (g02 + g12 + g22)
            t20 = 0.5 * (g00 - g10 + g20)
            t21 = 0.5 * (g01 - g11 + g21)
            t22 = 0.5 * (g02 - g12 + g22)
            t30, t31, t32 = g20, g21, g22
            # U = t G^T (4 x 4)
            U[0, f, c] = t00
            U[1, f, c] = 0.5 * (t00 + t01 + t02)
            U[2, f, c] = 0.5 * (t00 - t01 + t02)
            U[3, f, c] = t02
            U[4, f, c] = t10
            U[5, f, c] = 0.5 * (t10 + t11 + t12)
            U[6, f, c] = 0.5 * (t10 - t11 + t12)
            U[7, f, c] = t12
            U[8, f, c] = t20
            U[9, f, c] = 0.5 * (t20 + t21 + t22)
            U[10, f, c] = 0.5 * (t20 - t21 + t22)
            U[11, f, c] = t22
            U[12, f, c] = t30
            U[13, f, c] = 0.5 * (t30 + t31 + t32)
            U[14, f, c] = 0.5 * (t30 - t31 + t32)
            U[15, f, c] = t32


@serial_kernel
def input_transform(V, xp, tiles_h, tiles_w):
    """V (16, C, N*tiles) = B^T d B for every 4x4 tile d of the padded input xp (tiles at
    stride 2); B^T = [[1,0,-1,0], [0,1,1,0], [0,-1,1,0], [0,1,0,-1]]. Inner loop over the
    tiles of a row: 16 strided loads, straight-line arithmetic, 16 contiguous stores."""
    n_img, n_ch = xp.shape[0], xp.shape[1]
    n_tiles = tiles_h * tiles_w
    for n in range(n_img):
        for c in range(n_ch):
            for ty in range(tiles_h):
                r0 = xp[n, c, 2 * ty]
                r1 = xp[n, c, 2 * ty + 1]
                r2 = xp[n, c, 2 * ty + 2]
                r3 = xp[n, c, 2 * ty + 3]
                base = n * n_tiles + ty * tiles_w
                for tx in range(tiles_w):
                    w = 2 * tx
                    # rows: B^T d (column s of the tile)
                    a0 = r0[w] - r2[w]
                    a1 = r0[w + 1] - r2[w + 1]
                    a2 = r0[w + 2] - r2[w + 2]
                    a3 = r0[w + 3] - r2[w + 3]
                    b0 = r1[w] + r2[w]
                    b1 = r1[w + 1] + r2[w + 1]
                    b2 = r1[w + 2] + r2[w + 2]
                    b3 = r1[w + 3] + r2[w + 3]
                    c0 = r2[w] - r1[w]
                    c1 = r2[w + 1] - r1[w + 1]
                    c2 = r2[w + 2] - r1[w + 2]
                    c3 = r2[w + 3] - r1[w + 3]
                    d0 = r1[w] - r3[w]
                    d1 = r1[w + 1] - r3[w + 1]
                    d2 = r1[w + 2] - r3[w + 2]
                    d3 = r1[w + 3] - r3[w + 3]
                    col = base + tx
                    # columns: (B^T d) B
                    V[0, c, col] = a0 - a2
                    V[1, c, col] = a1 + a2
                    V[2, c, col] = a2 - a1
                    V[3, c, col] = a1 - a3
                    V[4, c, col] = b0 - b2
                    V[5, c, col] = b1 + b2
                    V[6, c, col] = b2 - b1
                    V[7, c, col] = b1 - b3
                    V[8, c, col] = c0 - c2
                    V[9, c, col] = c1 + c2
                    V[10, c, col] = c2 - c1
                    V[11, c, col] = c1 - c3
                    V[12, c, col] = d0 - d2
                    V[13, c, col] = d1 + d2
                    V[14, c, col] = d2 - d1
                    V[15, c, col] = d1 - d3


@serial_kernel
def output_transform(out, M, b, rows, tiles_h, tiles_w):
    """out (N,F,OH,OW) = A^T m A + b[f] for every tile's 16 values m = M[:, f, tile];
    A^T = [[1,1,1,0], [0,1,-1,-1]]. A tile row goes to ``rows`` (2, 2*tiles_w) scratch with
    contiguous loads, then the part inside the output is copied."""
    n_img, n_f, out_h, out_w = out.shape
    n_tiles = tiles_h * tiles_w
    top = rows[0]
    bot = rows[1]
    for n in range(n_img):
        for f in range(n_f):
            bias = b[f]
            for ty in range(tiles_h):
                base = n * n_tiles + ty * tiles_w
                for tx in range(tiles_w):
                    col = base + tx
                    t00 = M[0, f, col] + M[4, f, col] + M[8, f, col]
                    t01 = M[1, f, col] + M[5, f, col] + M[9, f, col]
                    t02 = M[2, f, col] + M[6, f, col] + M[10, f, col]
                    t03 = M[3, f, col] + M[7, f, col] + M[11, f, col]
                    t10 = M[4, f, col] - M[8, f, col] - M[12, f, col]
                    t11 = M[5, f, col] - M[9, f, col] - M[13, f, col]
                    t12 = M[6, f, col] - M[10, f, col] - M[14, f, col]
                    t13 = M[7, f, col] - M[11, f, col] - M[15, f, col]
                    top[2 * tx] = t00 + t01 + t02 + bias
                    top[2 * tx + 1] = t01 - t02 - t03 + bias
                    bot[2 * tx] = t10 + t11 + t12 + bias
                    bot[2 * tx + 1] = t11 - t12 - t13 + bias
                h = 2 * ty
                orow = out[n, f, h]
                for w in range(out_w):
                    orow[w] = top[w]
                if h + 1 < out_h:
                    orow = out[n, f, h + 1]
                    for w in range(out_w):
                        orow[w] = bot[w]


def transform_filters(W) -> np.ndarray:
    """U (16, F, C) for W (F, C, 3, 3): once per call, shared by every slice of the batch.

    The 16 planes sit ``plane`` elements apart, a little more than F*C: with F*C*4 bytes a
    multiple of 4 KiB (64 x 64 filters) the 16 store streams would alias in the L1 and the
    transform ran 4x slower. The GEMMs only need each plane's start and row length.
    """
    n_f, n_ch = W.shape[0], W.shape[1]
    plane = n_f * n_ch + 16
    buf = np.empty(16 * plane, dtype=W.dtype)
    U = np.lib.stride_tricks.as_strided(buf, (16, n_f, n_ch),
                                        (plane * buf.itemsize, n_ch * buf.itemsize, buf.itemsize))
    filter_transform(U, W)
    return U


def dx_filters(W) -> np.ndarray:
    """The filters whose convolution with dY gives dX: flipped in space, F and C swapped."""
    return np.ascontiguousarray(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def winograd_forward(out, x, U, b, pad) -> None:
    """out (N,F,OH,OW) = conv3x3(x) + b, stride 1, from the transformed filters U."""
    n, n_ch = x.shape[0], x.shape[1]
    n_f = U.shape[1]
    th, tw = tiles(out.shape[2], out.shape[3])
    cols = n * th * tw
    xp = workspace("wino_x", (n, n_ch, 2 * th + 2, 2 * tw + 2), x.dtype)
    V = workspace("wino_v", (16, n_ch, cols), x.dtype)
    M = workspace("wino_m", (16, n_f, cols), x.dtype)
    rows = workspace("wino_rows", (2, 2 * tw), x.dtype)
    pad_images(xp, x, pad)  # tile-aligned: every 4x4 tile lies inside
    input_transform(V, xp, th, tw)
    item = x.itemsize
    uptr, vptr, mptr = U.ctypes.data, V.ctypes.data, M.ctypes.data
    uplane = U.strides[0]
    for e in range(16):
        # M[e] (F, T) = U[e] (F, C) @ V[e] (C, T)
        gemm(False, False, n_f, cols, n_ch, uptr + e * uplane, n_ch,
             vptr + e * n_ch * cols * item, cols, 0.0, mptr + e * n_f * cols * item, cols,
             x.dtype)
    output_transform(out, M, b, rows, th, tw)


# --------------------------------------------------------------------------- weight gradient
# Y = A^T [(G w G^T) * V] A is linear in w, so its adjoint gives the filter gradient:
# dW = G^T [ sum over tiles (A dY A^T) * V ] G. With the tiles as the GEMM's inner dimension
# that is 16 GEMMs dWe[e] (F, C) += dYt[e] (F, T) @ V[e]^T (T, C): long K, 2.25x fewer
# multiply-adds than the 9 shifted ones.


@serial_kernel
def grad_transform(D, dout, tiles_h, tiles_w):
    """D (16, F, N*tiles) = A g A^T for every 2x2 tile g of dout (zero past its edge);
    A = [[1,0], [1,1], [1,-1], [0,-1]]."""
    n_img, n_f, out_h, out_w = dout.shape
    n_tiles = tiles_h * tiles_w
    for n in range(n_img):
        for f in range(n_f):
            for ty in range(tiles_h):
                h = 2 * ty
                base = n * n_tiles + ty * tiles_w
                for tx in range(tiles_w):
                    w = 2 * tx
                    g00 = dout[n, f, h, w]
                    g01 = dout[n, f, h, w + 1] if w + 1 < out_w else 0.0
                    g10 = dout[n, f, h + 1, w] if h + 1 < out_h else 0.0
                    g11 = dout[n, f, h + 1, w + 1] if (h + 1 < out_h and w + 1 < out_w) else 0.0
                    # t = A g (4 x 2)
                    t00, t01 = g00, g01
                    t10, t11 = g00 + g10, g01 + g11
                    t20, t21 = g00 - g10, g01 - g11
                    t30, t31 = -g10, -g11
                    col = base + tx
                    D[0, f, col] = t00
                    D[1, f, col] = t00 + t01
                    D[2, f, col] = t00 - t01
                    D[3, f, col] = -t01
                    D[4, f, col] = t10
                    D[5, f, col] = t10 + t11
                    D[6, f, col] = t10 - t11
                    D[7, f, col] = -t11
                    D[8, f, col] = t20
                    D[9, f, col] = t20 + t21
                    D[10, f, col] = t20 - t21
                    D[11, f, col] = -t21
                    D[12, f, col] = t30
                    D[13, f, col] = t30 + t31
                    D[14, f, col] = t30 - t31
                    D[15, f, col] = -t31


@serial_kernel
def filter_grad_inverse(dW, Z):
    """dW (F, C, 3, 3) += G^T z G for every (f, c), z = Z[:, f, c] as 4x4 (G: 4x3)."""
    n_f, n_ch = dW.shape[0], dW.shape[1]
    for f in range(n_f):
        for c in range(n_ch):
            # s = G^T z (3 x 4): rows g0 = z0 + (z1 + z2)/2, g1 = (z1 - z2)/2, g2 = (z1 + z2)/2 + z3
            for s_ in range(4):
                z0 = Z[s_, f, c]
                z1 = Z[4 + s_, f, c]
                z2 = Z[8 + s_, f, c]
                z3 = Z[12 + s_, f, c]
                Z[s_, f, c] = z0 + 0.5 * (z1 + z2)
                Z[4 + s_, f, c] = 0.5 * (z1 - z2)
                Z[8 + s_, f, c] = 0.5 * (z1 + z2) + z3
            for r in range(3):
                z0 = Z[4 * r, f, c]
                z1 = Z[4 * r + 1, f, c]
                z2 = Z[4 * r + 2, f, c]
                z3 = Z[4 * r + 3, f, c]
                dW[f, c, r, 0] += z0 + 0.5 * (z1 + z2)
                dW[f, c, r, 1] += 0.5 * (z1 - z2)
                dW[f, c, r, 2] += 0.5 * (z1 + z2) + z3


def winograd_filter_grad(Z, x, dout, pad) -> None:
    """Z (16, F, C) += the Winograd-domain filter gradient of one slice of the batch;
    ``filter_grad_inverse`` turns the sum over slices into dW."""
    n, n_ch = x.shape[0], x.shape[1]
    n_f = dout.shape[1]
    th, tw = tiles(dout.shape[2], dout.shape[3])
    cols = n * th * tw
    xp = workspace("wino_x", (n, n_ch, 2 * th + 2, 2 * tw + 2), x.dtype)
    V = workspace("wino_v", (16, n_ch, cols), x.dtype)
    D = workspace("wino_m", (16, n_f, cols), x.dtype)
    pad_images(xp, x, pad)  # tile-aligned: every 4x4 tile lies inside
    input_transform(V, xp, th, tw)
    grad_transform(D, dout, th, tw)
    item = x.itemsize
    zptr, vptr, dptr = Z.ctypes.data, V.ctypes.data, D.ctypes.data
    for e in range(16):
        # Z[e] (F, C) += D[e] (F, T) @ V[e]^T (T, C)
        gemm(False, True, n_f, n_ch, cols, dptr + e * n_f * cols * item, cols,
             vptr + e * n_ch * cols * item, cols, 1.0, zptr + e * n_f * n_ch * item, n_ch,
             x.dtype)


# --------------------------------------------------------------------------- one call per slice
# With the GEMMs called from Python (ctypes, above), a worker thread took and released the GIL
# some 25 times per image (16 GEMM calls, the transforms, the workspaces): ~60 µs of Python
# per image that two threads could only run in turn, plus a futex hand-off each time. At two
# threads the deep net's conv2 forward ran 22 ms against 23 ms at one (35 ms of CPU time).
# Here one nogil kernel runs a whole slice of the batch, BLAS included (cpu_shift_conv.py,
# sgemm_k: OpenBLAS's ILP64 ``cblas_sgemm`` as an external symbol, so the kernels stay
# cacheable). Only float32 with ILP64 BLAS (FUSED); cpu.py keeps the Python loop above for
# the rest (float64 gradient checks, a 32-bit-int BLAS).

# (the ILP64 sgemm as seen from a kernel: cpu_shift_conv.py, sgemm_k)


@serial_kernel
def forward_slice(out, x, U, b, pad, xp, V, M, rows, step):
    """winograd_forward over a slice of the batch, ``step`` images at a time, in one call:
    xp (step, C, 2*th+2, 2*tw+2), V (16, C, step*tiles), M (16, F, step*tiles) scratch."""
    n, n_ch = x.shape[0], x.shape[1]
    n_f = U.shape[1]
    th = (out.shape[2] + 1) // 2
    tw = (out.shape[3] + 1) // 2
    ld = V.shape[2]
    uptr, vptr, mptr = U.ctypes.data, V.ctypes.data, M.ctypes.data
    ustride = U.strides[0]
    for s in range(0, n, step):
        e = min(n, s + step)
        cols = (e - s) * th * tw
        xs = xp[: e - s]
        pad_images(xs, x[s:e], pad)
        input_transform(V, xs, th, tw)
        for k in range(16):
            _sgemm(101, 111, 111, n_f, cols, n_ch, 1.0, uptr + k * ustride, n_ch,
                   vptr + k * n_ch * ld * 4, ld, 0.0, mptr + k * n_f * ld * 4, ld)
        output_transform(out[s:e], M, b, rows, th, tw)


@serial_kernel
def filter_grad_slice(Z, x, dout, pad, xp, V, D, step):
    """winograd_filter_grad over a slice, ``step`` images at a time, in one call; scratch as
    in forward_slice (D like M)."""
    n, n_ch = x.shape[0], x.shape[1]
    n_f = dout.shape[1]
    th = (dout.shape[2] + 1) // 2
    tw = (dout.shape[3] + 1) // 2
    ld = V.shape[2]
    zptr, vptr, dptr = Z.ctypes.data, V.ctypes.data, D.ctypes.data
    for s in range(0, n, step):
        e = min(n, s + step)
        cols = (e - s) * th * tw
        xs = xp[: e - s]
        pad_images(xs, x[s:e], pad)
        input_transform(V, xs, th, tw)
        grad_transform(D, dout[s:e], th, tw)
        for k in range(16):
            # Z[k] (F, C) += D[k] (F, T) @ V[k]^T (T, C)
            _sgemm(101, 111, 112, n_f, n_ch, cols, 1.0, dptr + k * n_f * ld * 4, ld,
                   vptr + k * n_ch * ld * 4, ld, 1.0, zptr + k * n_f * n_ch * 4, n_ch)


def slice_scratch(n_ch, n_f, out_h, out_w, step):
    """This thread's scratch for forward_slice / filter_grad_slice (workspaces)."""
    th, tw = tiles(out_h, out_w)
    xp = workspace("wino_x", (step, n_ch, 2 * th + 2, 2 * tw + 2), np.float32)
    V = workspace("wino_v", (16, n_ch, step * th * tw), np.float32)
    M = workspace("wino_m", (16, n_f, step * th * tw), np.float32)
    return xp, V, M
