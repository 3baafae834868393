"""Max-pooling with 2x2 windows and stride 2 (every pool of the shipped networks).

The general kernels (cpu_kernels.py) loop over a run-time window with a branch per
element and keep a 32-bit flat argmax per output; here the window is unrolled, each output
row reads two input rows, and training keeps which of the four won as an int8 code
(0..3, row-major; the first maximum wins ties, as in the reference). Backward writes every
input element once (its gradient or 0) instead of zeroing dx and scattering into it.
Layout NCHW, C-contiguous; the inputs' odd last row/column (floor division) get no output
and a zero gradient. Serial kernels: cpu.py runs them on slices of the batch.
"""

from __future__ import annotations

import numpy as np

from .cpu_kernels import serial_kernel


@serial_kernel
def maxpool2_forward(out, code, x):
    """out (N,C,H//2,W//2) = 2x2 window max of x; code (same shape, int8) = winner 0..3."""
    n_img, n_ch = x.shape[0], x.shape[1]
    out_h, out_w = out.shape[2], out.shape[3]
    for n in range(n_img):
        for c in range(n_ch):
            for oh in range(out_h):
                r0 = x[n, c, 2 * oh]
                r1 = x[n, c, 2 * oh + 1]
                o = out[n, c, oh]
                k = code[n, c, oh]
                for ow in range(out_w):
                    best = r0[2 * ow]
                    win = 0
                    v = r0[2 * ow + 1]
                    if v > best:
                        best = v
                        win = 1
                    v = r1[2 * ow]
                    if v > best:
                        best = v
                        win = 2
                    v = r1[2 * ow + 1]
                    if v > best:
                        best = v
                        win = 3
                    o[ow] = best
                    k[ow] = np.int8(win)


@serial_kernel
def maxpool2_forward_eval(out, x):
    """out = 2x2 window max of x (inference: no winner codes); same maxima and NaN handling
    as maxpool2_forward."""
    n_img, n_ch = x.shape[0], x.shape[1]
    out_h, out_w = out.shape[2], out.shape[3]
    for n in range(n_img):
        for c in range(n_ch):
            for oh in range(out_h):
                r0 = x[n, c, 2 * oh]
                r1 = x[n, c, 2 * oh + 1]
                o = out[n, c, oh]
                for ow in range(out_w):
                    best = r0[2 * ow]
                    v = r0[2 * ow + 1]
                    if v > best:
                        best = v
                    v = r1[2 * ow]
                    if v > best:
                        best = v
                    v = r1[2 * ow + 1]
                    if v > best:
                        best = v
                    o[ow] = best


@serial_kernel
def maxpool2_backward(dx, dout, code):
    """dx (N,C,H,W) = dout routed to each window's winner, 0 elsewhere (overwritten)."""
    n_img, n_ch, height, width = dx.shape
    out_h, out_w = dout.shape[2], dout.shape[3]
    for n in range(n_img):
        for c in range(n_ch):
            for oh in range(out_h):
                d0 = dx[n, c, 2 * oh]
                d1 = dx[n, c, 2 * oh + 1]
                g = dout[n, c, oh]
                k = code[n, c, oh]
                for ow in range(out_w):
                    gv = g[ow]
                    kv = k[ow]
                    d0[2 * ow] = gv if kv == 0 else 0.0
                    d0[2 * ow + 1] = gv if kv == 1 else 0.0
                    d1[2 * ow] = gv if kv == 2 else 0.0
                    d1[2 * ow + 1] = gv if kv == 3 else 0.0
                if width > 2 * out_w:
                    d0[width - 1] = 0.0
                    d1[width - 1] = 0.0
            if height > 2 * out_h:
                last = dx[n, c, height - 1]
                for w in range(width):
                    last[w] = 0.0
