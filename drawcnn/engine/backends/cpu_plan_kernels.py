"""Kernels of the CPU backend's single-image inference plan (cpu_plan.py): channels-last.

One image, eval mode: activations are kept channels-last, (H, W, C) with C contiguous, so
every inner loop runs over 32-64 channels or filters, which LLVM vectorises whole; the
batched NCHW kernels vectorise over a 7-28 wide image row instead, mostly in remainder
loops at these sizes. A 3x3 stride-1 pad-1 convolution is Winograd F(2x2, 3x3) (the
transforms of cpu_winograd.py, regrouped per tile):

    V (T, 16, C) = B^T d B for each 4x4 input tile d   (``wino_input``)
    M[:, e] (T, F) = V[:, e] (T, C) @ U[e] (C, F)       (16 GEMMs, cpu_plan.py, BLAS)
    y = A^T m A + b, then ReLU and the 2x2 max-pool on the same 2x2 output tile
                                                       (``wino_output``)

A tile's 16 transformed values sit together (T, 16, C), so a tile is read and written as
one contiguous block; the GEMMs see them as 16 matrices with a leading dimension of 16*C.
The input of each convolution lives in a zero-bordered buffer (H+2, W+2, C) whose border
is never written, so padding costs nothing per call. The first layer (1 input channel) is
a direct 3x3 convolution vectorised over its filters (``direct_conv``).

``capture`` kernels' arguments write the NCHW per-layer outputs ``Network.activations``
returns (the GUI's feature maps); predict passes capture=False and never touches them.
Serial, nogil, cached, like every CPU kernel.
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
def direct_conv(dst, x, Wt, b, relu, cap_conv, cap_relu, capture):
    """dst[1+y, 1+x, f] = (ReLU of) conv3x3(x, pad 1)[f, y, x] + b[f], for one NCHW image
    x (C, H, W) and the filters Wt (C, 3, 3, F); dst is the next layer's zero-bordered
    channels-last buffer (H+2, W+2, F). Taps falling on the padding are skipped."""
    n_ch, height, width = x.shape
    n_f = Wt.shape[3]
    for y in range(height):
        for xx in range(width):
            acc = dst[1 + y, 1 + xx]
            for f in range(n_f):
                acc[f] = b[f]
            for c in range(n_ch):
                for i in range(3):
                    yy = y + i - 1
                    if yy < 0 or yy >= height:
                        continue
                    for j in range(3):
                        xs = xx + j - 1
                        if xs < 0 or xs >= width:
                            continue
                        v = x[c, yy, xs]
                        w = Wt[c, i, j]
                        for f in range(n_f):
                            acc[f] += v * w[f]
            if capture:
                for f in range(n_f):
                    cap_conv[f, y, xx] = acc[f]
            if relu:
                for f in range(n_f):
                    v = acc[f]
                    acc[f] = 0.0 if v <= 0.0 else v
                if capture:
                    for f in range(n_f):
                        cap_relu[f, y, xx] = acc[f]


@serial_kernel
def wino_input(V, xp):
    """V (T, 16, C) = B^T d B for every 4x4 tile d of the zero-bordered input xp (Hp, Wp, C),
    tiles at stride 2, T = ((Hp-2)/2) * ((Wp-2)/2); B^T = [[1,0,-1,0], [0,1,1,0],
    [0,-1,1,0], [0,1,0,-1]]. Vectorised over the channels."""
    hp, wp, n_ch = xp.shape
    tiles_h, tiles_w = (hp - 2) // 2, (wp - 2) // 2
    for ty in range(tiles_h):
        for tx in range(tiles_w):
            v = V[ty * tiles_w + tx]
            r0 = xp[2 * ty]
            r1 = xp[2 * ty + 1]
            r2 = xp[2 * ty + 2]
            r3 = xp[2 * ty + 3]
            w = 2 * tx
            for c in range(n_ch):
                # rows: B^T d, column s of the tile
                a0 = r0[w, c] - r2[w, c]
                a1 = r0[w + 1, c] - r2[w + 1, c]
                a2 = r0[w + 2, c] - r2[w + 2, c]
                a3 = r0[w + 3, c] - r2[w + 3, c]
                b0 = r1[w, c] + r2[w, c]
                b1 = r1[w + 1, c] + r2[w + 1, c]
                b2 = r1[w + 2, c] + r2[w + 2, c]
                b3 = r1[w + 3, c] + r2[w + 3, c]
                c0 = r2[w, c] - r1[w, c]
                c1 = r2[w + 1, c] - r1[w + 1, c]
                c2 = r2[w + 2, c] - r1[w + 2, c]
                c3 = r2[w + 3, c] - r1[w + 3, c]
                d0 = r1[w, c] - r3[w, c]
                d1 = r1[w + 1, c] - r3[w + 1, c]
                d2 = r1[w + 2, c] - r3[w + 2, c]
                d3 = r1[w + 3, c] - r3[w + 3, c]
                # columns: (B^T d) B
                v[0, c] = a0 - a2
                v[1, c] = a1 + a2
                v[2, c] = a2 - a1
                v[3, c] = a1 - a3
                v[4, c] = b0 - b2
                v[5, c] = b1 + b2
                v[6, c] = b2 - b1
                v[7, c] = b1 - b3
                v[8, c] = c0 - c2
                v[9, c] = c1 + c2
                v[10, c] = c2 - c1
                v[11, c] = c1 - c3
                v[12, c] = d0 - d2
                v[13, c] = d1 + d2
                v[14, c] = d2 - d1
                v[15, c] = d1 - d3


@serial_kernel
def wino_output(dst, off, M, b, relu, pool, tiles_w, cap_conv, cap_relu, cap_pool, capture):
    """The 2x2 output tile of each M[t] (16, F): y = A^T m A + b (A^T = [[1,1,1,0],
    [0,1,-1,-1]]), then ReLU, then with ``pool`` the 2x2 max (the tile is the pooling
    window). Written channels-last into dst at row/column offset ``off``: tile (ty, tx)
    goes to dst[off + 2ty.., off + 2tx..] (or one pixel dst[off + ty, off + tx] pooled).
    ``capture``: the convolution, ReLU and pool outputs also go to cap_* (NCHW, F first)."""
    n_tiles, n_f = M.shape[0], M.shape[2]
    for t in range(n_tiles):
        ty = t // tiles_w
        tx = t - ty * tiles_w
        m = M[t]
        if pool:
            o = dst[off + ty, off + tx]
        else:
            o0 = dst[off + 2 * ty, off + 2 * tx]
            o1 = dst[off + 2 * ty, off + 2 * tx + 1]
            o2 = dst[off + 2 * ty + 1, off + 2 * tx]
            o3 = dst[off + 2 * ty + 1, off + 2 * tx + 1]
        for f in range(n_f):
            t00 = m[0, f] + m[4, f] + m[8, f]
            t01 = m[1, f] + m[5, f] + m[9, f]
            t02 = m[2, f] + m[6, f] + m[10, f]
            t03 = m[3, f] + m[7, f] + m[11, f]
            t10 = m[4, f] - m[8, f] - m[12, f]
            t11 = m[5, f] - m[9, f] - m[13, f]
            t12 = m[6, f] - m[10, f] - m[14, f]
            t13 = m[7, f] - m[11, f] - m[15, f]
            bias = b[f]
            y00 = t00 + t01 + t02 + bias
            y01 = t01 - t02 - t03 + bias
            y10 = t10 + t11 + t12 + bias
            y11 = t11 - t12 - t13 + bias
            if capture:
                cap_conv[f, 2 * ty, 2 * tx] = y00
                cap_conv[f, 2 * ty, 2 * tx + 1] = y01
                cap_conv[f, 2 * ty + 1, 2 * tx] = y10
                cap_conv[f, 2 * ty + 1, 2 * tx + 1] = y11
            if relu:
                y00 = 0.0 if y00 <= 0.0 else y00
                y01 = 0.0 if y01 <= 0.0 else y01
                y10 = 0.0 if y10 <= 0.0 else y10
                y11 = 0.0 if y11 <= 0.0 else y11
                if capture:
                    cap_relu[f, 2 * ty, 2 * tx] = y00
                    cap_relu[f, 2 * ty, 2 * tx + 1] = y01
                    cap_relu[f, 2 * ty + 1, 2 * tx] = y10
                    cap_relu[f, 2 * ty + 1, 2 * tx + 1] = y11
            if pool:
                p = y00
                if y01 > p:
                    p = y01
                if y10 > p:
                    p = y10
                if y11 > p:
                    p = y11
                o[f] = p
                if capture:
                    cap_pool[f, ty, tx] = p
            else:
                o0[f] = y00
                o1[f] = y01
                o2[f] = y10
                o3[f] = y11


@serial_kernel
def to_flat_nchw(flat, a):
    """flat (C*H*W,) = the channels-last a (H, W, C) in NCHW order (Flatten's order)."""
    height, width, n_ch = a.shape
    for y in range(height):
        for x in range(width):
            for c in range(n_ch):
                flat[(c * height + y) * width + x] = a[y, x, c]


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
