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
creation on: nothing writes there, so padding costs nothing per call. For
``Network.activations`` (the GUI's feature maps) cpu_plan.py also runs the output
transform unfused and reads the NCHW outputs back with ``split_to_nchw``, so the kernels
predict runs carry no capture code. Serial, nogil, cached, like every CPU kernel.
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
def im2col_taps(cols, xp):
    """cols (H*W, C*9): row y*W+x holds the 3x3 window of every channel of the zero-padded
    image xp (C, H+2, W+2) at (y, x): the first layer as one GEMM."""
    n_ch, hp, wp = xp.shape
    width = wp - 2
    for y in range(hp - 2):
        for x in range(width):
            row = cols[y * width + x]
            for c in range(n_ch):
                for i in range(3):
                    src = xp[c, y + i, x:]
                    for j in range(3):
                        row[c * 9 + i * 3 + j] = src[j]


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
    tiles is two flat loops over tx*C + c: the row combinations B^T d into R (4, 2,
    Wp/2*C), per column parity, then (B^T d) B, per row of B^T d."""
    hp = xs.shape[1]
    n = xs.shape[2]
    m = n - n_ch  # tw * C
    tiles_h = (hp - 2) // 2
    for ty in range(tiles_h):
        for p in range(2):  # rows: 0-2, 1+2, 2-1, 1-3
            x0 = xs[p, 2 * ty]
            x1 = xs[p, 2 * ty + 1]
            x2 = xs[p, 2 * ty + 2]
            x3 = xs[p, 2 * ty + 3]
            ra = R[0, p]
            rb = R[1, p]
            rc = R[2, p]
            rd = R[3, p]
            for u in range(n):
                a = x1[u]
                b = x2[u]
                ra[u] = x0[u] - b
                rb[u] = a + b
                rc[u] = b - a
                rd[u] = a - x3[u]
        lo = ty * m
        for g in range(4):  # columns: 0-2, 1+2, 2-1, 1-3 = even, odd, even+C, odd+C
            ev = R[g, 0]
            od = R[g, 1]
            ev1 = ev[n_ch:]
            od1 = od[n_ch:]
            v0 = V[4 * g, lo:lo + m]
            v1 = V[4 * g + 1, lo:lo + m]
            v2 = V[4 * g + 2, lo:lo + m]
            v3 = V[4 * g + 3, lo:lo + m]
            for u in range(m):
                a = od[u]
                b = ev1[u]
                v0[u] = ev[u] - b
                v1[u] = a + b
                v2[u] = b - a
                v3[u] = a - od1[u]


@serial_kernel
def wino_output(dst, M, b, bt, Y, n_f, tiles_w, relu, pool):
    """The 2x2 output tiles from M (16, T*F): y = A^T m A + b, A^T = [[1,1,1,0],
    [0,1,-1,-1]], then ReLU, then with ``pool`` the 2x2 max (the tile is the window).
    Written into dst, the next stage's split buffer (see ``wino_input``) at offset 1:
    output (r, x) to dst[(x+1) % 2, r+1, ((x+1)//2)*F:]. One row of tiles at a time, as
    flat loops over tx*F + f; bt (tw*F) and Y (8, tw*F) are scratch."""
    m = tiles_w * n_f
    tiles_h = M.shape[1] // m
    for tx in range(tiles_w):  # the bias, tiled along a row of tiles
        for f in range(n_f):
            bt[tx * n_f + f] = b[f]
    for ty in range(tiles_h):
        lo = ty * m
        hi = lo + m
        for j in range(4):  # A^T m: Y[j] = m_j + m_4+j + m_8+j, Y[4+j] = m_4+j - m_8+j - m_12+j
            m0 = M[j, lo:hi]
            m1 = M[4 + j, lo:hi]
            m2 = M[8 + j, lo:hi]
            m3 = M[12 + j, lo:hi]
            top = Y[j]
            bot = Y[4 + j]
            for u in range(m):
                a = m1[u]
                c = m2[u]
                top[u] = m0[u] + a + c
                bot[u] = a - c - m3[u]
        for r in range(2):  # (A^T m) A + b, then ReLU: columns 0+1+2 and 1-2-3
            t0 = Y[4 * r]
            t1 = Y[4 * r + 1]
            t2 = Y[4 * r + 2]
            t3 = Y[4 * r + 3]
            for u in range(m):
                a = t1[u]
                c = t2[u]
                bias = bt[u]
                y0 = t0[u] + a + c + bias
                y1 = a - c - t3[u] + bias
                if relu:
                    y0 = 0.0 if y0 <= 0.0 else y0
                    y1 = 0.0 if y1 <= 0.0 else y1
                t0[u] = y0  # Y[4r] and Y[4r+1] now hold output row 2ty+r
                t1[u] = y1
        if pool:
            y00 = Y[0]
            y01 = Y[1]
            y10 = Y[4]
            y11 = Y[5]
            pm = Y[2]
            for u in range(m):
                a = y00[u]
                c = y01[u]
                a = a if a > c else c
                c = y10[u]
                a = a if a > c else c
                c = y11[u]
                pm[u] = a if a > c else c
            for tx in range(tiles_w):  # pooled (ty, tx) to padded column tx+1
                w = tx + 1
                o = dst[w % 2, ty + 1, (w // 2) * n_f:]
                src = pm[tx * n_f:]
                for f in range(n_f):
                    o[f] = src[f]
        else:  # column 2tx -> padded 2tx+1 (odd, tx); 2tx+1 -> padded 2tx+2 (even, tx+1)
            for r in range(2):
                od = dst[1, 2 * ty + 1 + r]
                ev = dst[0, 2 * ty + 1 + r, n_f:]
                ya = Y[4 * r]
                yb = Y[4 * r + 1]
                for u in range(m):
                    od[u] = ya[u]
                    ev[u] = yb[u]


@serial_kernel
def split_to_nchw(out, xs):
    """out (C, H, W) = the split buffer xs (see ``wino_input``) in NCHW order: Flatten's
    order, and the per-layer outputs ``activations`` returns."""
    n_ch, height, width = out.shape
    for y in range(height):
        for x in range(width):
            w = x + 1
            src = xs[w % 2, y + 1, (w // 2) * n_ch:]
            for c in range(n_ch):
                out[c, y, x] = src[c]
