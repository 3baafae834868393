"""Kernels of the CPU backend's single-image inference plan (cpu_plan.py): channels-last.

One image, eval mode. Activations are kept channels-last, so a loop over a row of pixels
and their 32-64 channels is long; and each is split by column parity: the zero-padded
(H+2, W+2, C) activation is stored as (2, H+2, (W/2+1)*C) with padded column w at
[w % 2, :, (w//2)*C:]. A 3x3 stride-1 pad-1 convolution is Winograd F(2x2, 3x3) (the
transforms of cpu_winograd.py), and the 4x4 input tile tx of a tile row reads padded
columns 2tx..2tx+3 = even[tx], odd[tx], even[tx+1], odd[tx+1]: all at tx*C + c or C past
it. So every transform is a handful of flat loops over tx*C + c per tile row, each with
two or three memory streams, which LLVM vectorises; written per tile with 16 loads and
16 stores over 32 channels, the same transforms stayed scalar (LLVM gave up on the
aliasing checks between that many streams) and ran 2.5-5x slower (41 vs 17 µs, 48 vs 17 µs
on the deep net's conv2).

    V (16, T*C) = B^T d B for each 4x4 input tile d        (``wino_input``)
    M[e] (T, F) = V[e] (T, C) @ U[e] (C, F)                 (16 GEMMs, cpu_plan.py, BLAS)
    y = A^T m A + b, then ReLU, then the 2x2 max-pool over the same output tile,
    into the next layer's split buffer                      (``wino_output``)

The first layer (one input channel) is im2col (``im2col_taps``) + one GEMM, with bias and
ReLU on the way into the split buffer (``rows_out``). Buffers keep their zero border from
creation on: nothing writes there, so padding costs nothing per call. ``capture``
arguments write the NCHW outputs ``Network.activations`` returns (the GUI's feature maps);
predict passes capture=False. Serial, nogil, cached, like every CPU kernel.
"""

from __future__ import annotations

from .cpu_kernels import serial_kernel


@serial_kernel
def weights_differ(a, b):
    """True when the flat arrays a and b differ anywhere (a NaN differs from itself).
    No early exit, so the loop vectorises: one pass over both."""
    diff = False
    for i in range(a.size):
        diff |= a[i] != b[i]
    return diff


@serial_kernel
def filter_transform_cf(U, W):
    """U (16, C, F) = G g G^T for every 3x3 filter g = W[f, c] (the layout the per-tile
    GEMMs read); G as in cpu_winograd.filter_transform."""
    n_f, n_ch = W.shape[0], W.shape[1]
    for f in range(n_f):
        for c in range(n_ch):
            g00, g01, g02 = W[f, c, 0, 0], W[f, c, 0, 1], W[f, c, 0, 2]
            g10, g11, g12 = W[f, c, 1, 0], W[f, c, 1, 1], W[f, c, 1, 2]
            g20, g21, g22 = W[f, c, 2, 0], W[f, c, 2, 1], W[f, c, 2, 2]
            t10 = 0.5 * (g00 + g10 + g20)
            t11 = 0.5 * (g01 + g11 + g21)
            t12 = 0.5 * (g02 + g12 + g22)
            t20 = 0.5 * (g00 - g10 + g20)
            t21 = 0.5 * (g01 - g11 + g21)
            t22 = 0.5 * (g02 - g12 + g22)
            U[0, c, f] = g00
            U[1, c, f] = 0.5 * (g00 + g01 + g02)
            U[2, c, f] = 0.5 * (g00 - g01 + g02)
            U[3, c, f] = g02
            U[4, c, f] = t10
            U[5, c, f] = 0.5 * (t10 + t11 + t12)
            U[6, c, f] = 0.5 * (t10 - t11 + t12)
            U[7, c, f] = t12
            U[8, c, f] = t20
            U[9, c, f] = 0.5 * (t20 + t21 + t22)
            U[10, c, f] = 0.5 * (t20 - t21 + t22)
            U[11, c, f] = t22
            U[12, c, f] = g20
            U[13, c, f] = 0.5 * (g20 + g21 + g22)
            U[14, c, f] = 0.5 * (g20 - g21 + g22)
            U[15, c, f] = g22


@serial_kernel
def im2col_taps(cols, x):
    """cols (H*W, C*9): row y*W+x holds the 3x3 pad-1 window of every channel of the NCHW
    image x (C, H, W) around (y, x), zeros past the border: the first layer as one GEMM."""
    n_ch, height, width = x.shape
    for y in range(height):
        for xx in range(width):
            row = cols[y * width + xx]
            for c in range(n_ch):
                for i in range(3):
                    yy = y + i - 1
                    for j in range(3):
                        xs = xx + j - 1
                        inside = 0 <= yy < height and 0 <= xs < width
                        row[c * 9 + i * 3 + j] = x[c, yy, xs] if inside else 0.0


@serial_kernel
def rows_out(dst, Y, b, relu, width):
    """The first layer's GEMM output Y (H*W, F) plus the bias, then ReLU, into the next
    stage's split buffer dst (2, H+2, (W/2+1)*F) (see ``wino_input``): pixel (y, x) goes
    to padded column x+1, i.e. dst[(x+1) % 2, y+1, ((x+1)//2)*F:]."""
    n_px, n_f = Y.shape
    for px in range(n_px):
        y = px // width
        xx = px - y * width
        src = Y[px]
        w = xx + 1
        o = dst[w % 2, y + 1, (w // 2) * n_f:]
        if relu:
            for f in range(n_f):
                v = src[f] + b[f]
                o[f] = 0.0 if v <= 0.0 else v
        else:
            for f in range(n_f):
                o[f] = src[f] + b[f]


@serial_kernel
def rows_to_nchw(cap, Y, b):
    """cap (F, H*W) = Y (H*W, F) transposed, plus the bias: the first layer's output as
    ``activations`` returns it; one output row (contiguous stores) at a time."""
    n_px, n_f = Y.shape
    for f in range(n_f):
        row = cap[f]
        bias = b[f]
        for px in range(n_px):
            row[px] = Y[px, f] + bias


@serial_kernel
def wino_input(V, xs, R, n_ch):
    """V (16, T*C) = B^T d B for every 4x4 tile d of the padded input (tiles at stride 2,
    tile t = ty*tw + tx, channel c at t*C + c); B^T = [[1,0,-1,0], [0,1,1,0], [0,-1,1,0],
    [0,1,0,-1]].

    xs (2, Hp, (Wp/2)*C) holds the zero-padded channels-last input split by column parity:
    padded column w is xs[w % 2, :, (w//2)*C:]. A tile's columns 2tx..2tx+3 are then
    even[tx], odd[tx], even[tx+1], odd[tx+1], all at tx*C + c or C past it, so a row of
    tiles is one flat loop over tx*C + c with two or three streams (R (4, 2, Wp/2*C) holds
    the row combinations): long loops LLVM vectorises without per-tile alias checks."""
    hp = xs.shape[1]
    n = xs.shape[2]
    m = n - n_ch  # tw * C
    tiles_h = (hp - 2) // 2
    for ty in range(tiles_h):
        for p in range(2):
            x0 = xs[p, 2 * ty]
            x1 = xs[p, 2 * ty + 1]
            x2 = xs[p, 2 * ty + 2]
            x3 = xs[p, 2 * ty + 3]
            ra = R[0, p]
            rb = R[1, p]
            rc = R[2, p]
            rd = R[3, p]
            for u in range(n):
                ra[u] = x0[u] - x2[u]
            for u in range(n):
                rb[u] = x1[u] + x2[u]
            for u in range(n):
                rc[u] = x2[u] - x1[u]
            for u in range(n):
                rd[u] = x1[u] - x3[u]
        lo = ty * m
        for g in range(4):
            ev = R[g, 0]
            od = R[g, 1]
            ev1 = ev[n_ch:]
            od1 = od[n_ch:]
            v0 = V[4 * g, lo:lo + m]
            v1 = V[4 * g + 1, lo:lo + m]
            v2 = V[4 * g + 2, lo:lo + m]
            v3 = V[4 * g + 3, lo:lo + m]
            for u in range(m):
                v0[u] = ev[u] - ev1[u]
            for u in range(m):
                v1[u] = od[u] + ev1[u]
            for u in range(m):
                v2[u] = ev1[u] - od[u]
            for u in range(m):
                v3[u] = od[u] - od1[u]


@serial_kernel
def _capture_tiles(cap, Y, ty, tiles_w, n_f):
    """cap (F, H, W)[:, 2ty:2ty+2, :] = the output tile rows Y[8..11] (tw*F each), one
    output row of one filter at a time (its stores share cache lines)."""
    for f in range(n_f):
        top = cap[f, 2 * ty]
        bot = cap[f, 2 * ty + 1]
        for tx in range(tiles_w):
            u = tx * n_f + f
            top[2 * tx] = Y[8, u]
            top[2 * tx + 1] = Y[9, u]
            bot[2 * tx] = Y[10, u]
            bot[2 * tx + 1] = Y[11, u]


@serial_kernel
def wino_output(dst, M, b, bt, Y, n_f, tiles_w, relu, pool, cap_conv, cap_pool, capture):
    """The 2x2 output tiles from M (16, T*F): y = A^T m A + b, A^T = [[1,1,1,0],
    [0,1,-1,-1]], then ReLU, then with ``pool`` the 2x2 max (the tile is the window).
    Written into dst, the next stage's split buffer (see ``wino_input``) at offset 1:
    output (r, x) to dst[(x+1) % 2, r+1, ((x+1)//2)*F:]. One row of tiles at a time, as
    flat loops over tx*F + f; bt (tw*F) and Y (12, tw*F) are scratch.
    ``capture``: the convolution and pool outputs also go to cap_* (F, H, W)."""
    m = tiles_w * n_f
    tiles_h = M.shape[1] // m
    for tx in range(tiles_w):  # the bias, tiled along a row of tiles
        for f in range(n_f):
            bt[tx * n_f + f] = b[f]
    s0, s1, s2, s3 = Y[0], Y[1], Y[2], Y[3]
    d0, d1, d2, d3 = Y[4], Y[5], Y[6], Y[7]
    y00, y01, y10, y11 = Y[8], Y[9], Y[10], Y[11]
    for ty in range(tiles_h):
        lo = ty * m
        m0, m1, m2, m3 = M[0, lo:lo + m], M[1, lo:lo + m], M[2, lo:lo + m], M[3, lo:lo + m]
        m4, m5, m6, m7 = M[4, lo:lo + m], M[5, lo:lo + m], M[6, lo:lo + m], M[7, lo:lo + m]
        m8, m9, m10, m11 = (M[8, lo:lo + m], M[9, lo:lo + m], M[10, lo:lo + m],
                            M[11, lo:lo + m])
        m12, m13, m14, m15 = (M[12, lo:lo + m], M[13, lo:lo + m], M[14, lo:lo + m],
                              M[15, lo:lo + m])
        for u in range(m):
            s0[u] = m0[u] + m4[u] + m8[u]
        for u in range(m):
            s1[u] = m1[u] + m5[u] + m9[u]
        for u in range(m):
            s2[u] = m2[u] + m6[u] + m10[u]
        for u in range(m):
            s3[u] = m3[u] + m7[u] + m11[u]
        for u in range(m):
            d0[u] = m4[u] - m8[u] - m12[u]
        for u in range(m):
            d1[u] = m5[u] - m9[u] - m13[u]
        for u in range(m):
            d2[u] = m6[u] - m10[u] - m14[u]
        for u in range(m):
            d3[u] = m7[u] - m11[u] - m15[u]
        for u in range(m):
            y00[u] = s0[u] + s1[u] + s2[u] + bt[u]
        for u in range(m):
            y01[u] = s1[u] - s2[u] - s3[u] + bt[u]
        for u in range(m):
            y10[u] = d0[u] + d1[u] + d2[u] + bt[u]
        for u in range(m):
            y11[u] = d1[u] - d2[u] - d3[u] + bt[u]
        if capture:
            _capture_tiles(cap_conv, Y, ty, tiles_w, n_f)
        if relu:
            for k in range(8, 12):
                yk = Y[k]
                for u in range(m):
                    v = yk[u]
                    yk[u] = 0.0 if v <= 0.0 else v
        if pool:
            pm = Y[0]  # s0 is free again
            for u in range(m):
                a = y00[u]
                b = y01[u]
                pm[u] = a if a > b else b
            for u in range(m):
                a = y10[u]
                b = y11[u]
                c = a if a > b else b
                d = pm[u]
                pm[u] = d if d > c else c
            for tx in range(tiles_w):  # pooled (ty, tx) to padded column tx+1
                w = tx + 1
                o = dst[w % 2, ty + 1, (w // 2) * n_f:]
                src = pm[tx * n_f:]
                for f in range(n_f):
                    o[f] = src[f]
            if capture:
                for f in range(n_f):
                    for tx in range(tiles_w):
                        cap_pool[f, ty, tx] = pm[tx * n_f + f]
        else:  # column 2tx -> padded 2tx+1 (odd, tx); 2tx+1 -> padded 2tx+2 (even, tx+1)
            for r in range(2):
                od = dst[1, 2 * ty + 1 + r]
                ev = dst[0, 2 * ty + 1 + r, n_f:]
                ya = Y[8 + 2 * r]
                yb = Y[9 + 2 * r]
                for u in range(m):
                    od[u] = ya[u]
                for u in range(m):
                    ev[u] = yb[u]


@serial_kernel
def to_flat_nchw(flat, xs, height, width, n_ch):
    """flat (C*H*W,) = the split buffer xs (see ``wino_input``) in NCHW order (Flatten's)."""
    for y in range(height):
        for x in range(width):
            w = x + 1
            src = xs[w % 2, y + 1, (w // 2) * n_ch:]
            for c in range(n_ch):
                flat[(c * height + y) * width + x] = src[c]


@serial_kernel
def dense(out, x, W, b, relu):
    """out (M,) = x (K,) @ W (K, M) + b, then ReLU if asked; vectorised over M, four rows
    of W per pass over ``out``."""
    k_in, m = W.shape
    for j in range(m):
        out[j] = b[j]
    k4 = k_in - k_in % 4
    for k in range(0, k4, 4):
        x0, x1, x2, x3 = x[k], x[k + 1], x[k + 2], x[k + 3]
        w0, w1, w2, w3 = W[k], W[k + 1], W[k + 2], W[k + 3]
        for j in range(m):
            out[j] += x0 * w0[j] + x1 * w1[j] + x2 * w2[j] + x3 * w3[j]
    for k in range(k4, k_in):
        xk = x[k]
        wk = W[k]
        for j in range(m):
            out[j] += xk * wk[j]
    if relu:
        for j in range(m):
            v = out[j]
            out[j] = 0.0 if v <= 0.0 else v
