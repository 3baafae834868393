"""Convolution on the CPU: the path each layer takes (Winograd, shifted GEMMs or im2col) and
the split of the batch over the worker threads; ``CpuBackend`` (cpu.py) inherits it.

See cpu.py's docstring for the paths and why each exists.
"""

from __future__ import annotations

import numpy as np

from ..shapes import conv_out_size
from . import cpu_conv_kernels as C
from . import cpu_im2col_fused as IF
from . import cpu_im2col_s1 as I
from . import cpu_kernels as K
from . import cpu_shift_conv as S
from . import cpu_winograd as WG
from .cpu_threads import CONV_PAR_WORK, PAR_WORK, WORKERS, in_parts, run_op


def _padded_plane(x, pad):
    return S.workspace("plane", (x.shape[2] + 2 * pad, x.shape[3] + 2 * pad), x.dtype)


def _im2col(cols, x, kh, kw, stride, pad, grid_span) -> None:
    """Column matrix of a slice of images: the grid layout (grid_span > 0), the
    branch-free stride-1 kernel, or the general one."""
    if stride == 1:
        n, c, h, w = x.shape
        xp = S.workspace("padded", (n, c, h + 2 * pad, w + 2 * pad), x.dtype)
        I.pad_images(xp, x, pad)
        if grid_span:
            I.im2col_grid(cols, xp, kh, kw, grid_span)
        else:
            I.im2col_s1(cols, xp, kh, kw)
    else:
        C.im2col_rows(cols, x, kh, kw, stride, pad)


def _col2im(dx, dcols, kh, kw, stride, pad, grid_span) -> None:
    if grid_span:
        I.col2im_grid(dx, dcols, kh, kw, pad, _padded_plane(dx, pad), grid_span)
    elif stride == 1:
        I.col2im_s1(dx, dcols, kh, kw, pad, _padded_plane(dx, pad))
    else:
        C.col2im_rows(dx, dcols, kh, kw, stride, pad)


def _even_chunks(lo, hi, step):
    """(start, end) covering [lo, hi) in near-equal chunks of at most ``step`` images. Not
    full chunks plus a short tail: OpenBLAS multiplies a small GEMM by another kernel (its
    own summation order), so an image in a tail chunk came out 1 ulp off the same image
    elsewhere in the batch (occlusion's blank patches then moved the probability)."""
    k = -(-(hi - lo) // step)
    return [(lo + i * (hi - lo) // k, lo + (i + 1) * (hi - lo) // k) for i in range(k)]


def _bounds(lo, hi, step):
    """_even_chunks(lo, hi, step) as the int64 array of chunk starts plus ``hi``."""
    return np.array([s for s, _ in _even_chunks(lo, hi, step)] + [hi], dtype=np.int64)


def _padded(x, m, pad):
    """This thread's scratch for ``m`` zero-padded images of x."""
    return S.workspace("padded", (m, x.shape[1], x.shape[2] + 2 * pad, x.shape[3] + 2 * pad),
                       x.dtype)


class CpuConvolution:
    """conv2d_forward / conv2d_backward of the CPU backend (a base class of CpuBackend)."""

    # -- convolution
    # Columns are built a few images at a time (CHUNK_BYTES) so they stay in cache while
    # the GEMM reads them; backward rebuilds them instead of keeping a 9x copy of the input.
    # 512 KiB (was 2 MiB): the first layers of all three networks and LeNet's conv2 ran
    # 10-25% faster forward and backward with the chunk's columns well inside the 1 MiB L2
    CHUNK_BYTES = 512 << 10

    def _chunk(self, c, kh, kw, p):
        return max(1, self.CHUNK_BYTES // (c * kh * kw * p * 4))

    # The grid layout (cpu_im2col_s1.py) for stride 1 with at most this many filters, when
    # it computes under 25% more positions than the output has: LeNet's conv1 (6 filters,
    # +14%); the 16-30 filters of LeNet's conv2 and simple's conv1 measured slower with it.
    GRID_MAX_FILTERS = 8

    def _layout(self, f, h, w, kw, stride, pad, oh, ow):
        """(span, row stride) of one image in the GEMM's columns, and whether it is the
        grid layout (span: columns per image; row stride: from one output row to the next)."""
        wp = w + 2 * pad
        span = (oh - 1) * wp + ow
        if stride == 1 and f <= self.GRID_MAX_FILTERS and span * 4 <= oh * ow * 5:
            return span, wp, True
        return oh * ow, ow, False

    # Shifted GEMMs: chunks sized so the padded input and the output grid stay in L2.
    SHIFT_CHUNK_BYTES = 1 << 20
    SHIFT_MIN_CHANNELS = 8  # below this im2col measured faster (small columns, K=C tiny)

    def _use_shift(self, x, W, stride):
        return (stride == 1 and x.shape[1] >= self.SHIFT_MIN_CHANNELS
                and x.dtype == W.dtype and S.gemm_available(x.dtype))

    def _shift_chunk(self, x, W, pad):
        c, h, w = x.shape[1], x.shape[2], x.shape[3]
        grid = (h + 2 * pad) * (w + 2 * pad)
        return max(1, self.SHIFT_CHUNK_BYTES // ((c + W.shape[0]) * grid * x.itemsize))

    # Winograd F(2x2, 3x3) for 3x3 kernels on the shift path; pad <= 2 so that dx (a conv
    # with padding 2 - pad) can take the same path. Its transformed tiles are 4x the output,
    # so chunks are sized for those.
    def _use_winograd(self, x, W, stride, pad):
        return W.shape[2] == W.shape[3] == 3 and pad <= 2 and self._use_shift(x, W, stride)

    def _winograd_chunk(self, c, f, out_h, out_w, itemsize):
        th, tw = WG.tiles(out_h, out_w)
        return max(1, self.SHIFT_CHUNK_BYTES // (16 * (c + f) * th * tw * itemsize))

    def _winograd(self, out, x, U, b, pad):
        """out = conv3x3(x) + b from transformed filters U, in chunks over worker threads."""
        n, c = x.shape[0], x.shape[1]
        step = self._winograd_chunk(c, U.shape[1], out.shape[2], out.shape[3], x.itemsize)

        if S.FUSED and x.dtype == np.float32:
            def part(lo, hi):  # one nogil call per slice (cpu_winograd.py, forward_slice)
                m = min(step, hi - lo)
                xp, V, M = WG.slice_scratch(c, U.shape[1], out.shape[2], out.shape[3], m)
                rows = S.workspace("wino_rows", (2, xp.shape[3] - 2), x.dtype)
                WG.forward_slice(out[lo:hi], x[lo:hi], U, b, pad, xp, V, M, rows, m)
        else:
            def part(lo, hi):
                for s in range(lo, hi, step):
                    e = min(hi, s + step)
                    WG.winograd_forward(out[s:e], x[s:e], U, b, pad)

        self._parallel_over_batch(n, out.size * c * 9, part)
        return out

    def conv2d_forward(self, x, W, b, stride, pad, relu=False):
        if self._use_winograd(x, W, stride, pad):
            n, _, h, w = x.shape
            out = np.empty((n, W.shape[0], conv_out_size(h, 3, 1, pad),
                            conv_out_size(w, 3, 1, pad)), dtype=x.dtype)
            return self._relu_inplace(self._winograd(out, x, WG.transform_filters(W), b, pad),
                                      relu), x
        if self._use_shift(x, W, stride):
            return self._relu_inplace(self._shift_forward(x, W, b, pad), relu), x
        n, c, h, w = x.shape
        f, _, kh, kw = W.shape
        oh, ow = conv_out_size(h, kh, stride, pad), conv_out_size(w, kw, stride, pad)
        p, rstride, grid = self._layout(f, h, w, kw, stride, pad, oh, ow)  # p: span
        ckk = c * kh * kw
        out = np.empty((n, f, oh, ow), dtype=x.dtype)
        w2 = W.reshape(f, ckk)
        step = self._chunk(c, kh, kw, p)
        if self._fused_im2col(x, W, stride):  # one nogil call per slice
            w2 = np.ascontiguousarray(w2)

            def part(lo, hi):
                m = min(step, hi - lo)
                IF.forward_slice(out, x, w2, b, relu, kh, kw, pad, grid, p, rstride,
                                 _bounds(lo, hi, step), _padded(x, m, pad),
                                 S.workspace("cols", (ckk * m * p,), x.dtype),
                                 S.workspace("y", (f * m * p,), x.dtype))

            self._parallel_over_batch(n, n * ckk * p, part)
            return out, x

        def part(lo, hi):
            m = min(step, hi - lo)
            cols = S.workspace("cols", (ckk * m * p,), x.dtype)
            y = S.workspace("y", (f * m * p,), x.dtype)
            for s, e in _even_chunks(lo, hi, step):
                cc = cols[: ckk * (e - s) * p].reshape(ckk, (e - s) * p)
                yy = y[: f * (e - s) * p].reshape(f, (e - s) * p)
                _im2col(cc, x[s:e], kh, kw, stride, pad, p if grid else 0)
                np.matmul(w2, cc, out=yy)  # one GEMM for the chunk: (F,CKK) @ (CKK, n*P)
                # + bias (+ ReLU), to NCHW
                C.rows_to_nchw_bias(out[s:e], yy, b, relu, p, rstride)

        self._parallel_over_batch(n, n * ckk * p, part)
        return out, x

    def _relu_inplace(self, out, relu):
        if relu:
            flat = out.reshape(-1)
            run_op(K.relu_forward, K.relu_forward_serial, out.size >= PAR_WORK, flat, flat,
                   split=2)
        return out

    def _shift_forward(self, x, W, b, pad):
        n, _, h, w = x.shape
        f, _, kh, kw = W.shape
        out = np.empty((n, f, conv_out_size(h, kh, 1, pad), conv_out_size(w, kw, 1, pad)),
                       dtype=x.dtype)
        wt = S.taps(W)
        step = self._shift_chunk(x, W, pad)

        def part(lo, hi):
            for s in range(lo, hi, step):
                e = min(hi, s + step)
                S.shift_forward(out[s:e], x[s:e], wt, b, pad)

        self._parallel_over_batch(n, out.size * x.shape[1] * kh * kw, part)
        return out

    def _shift_backward(self, dout, x, W, pad, need_dx):
        n = x.shape[0]
        kh = W.shape[2]
        dout = np.ascontiguousarray(dout)
        wt = S.taps(W)
        dx = np.empty(x.shape, dtype=dout.dtype) if need_dx else None
        step = self._shift_chunk(x, W, pad)
        partial = {}  # keyed by slice start: a fixed summation order

        def part(lo, hi):
            dwt = np.zeros(wt.shape, dtype=dout.dtype)
            db = np.zeros(W.shape[0], dtype=dout.dtype)
            for s in range(lo, hi, step):
                e = min(hi, s + step)
                S.shift_backward(dwt, db, None if dx is None else dx[s:e], dout[s:e], x[s:e],
                                 wt, pad)
            partial[lo] = (dwt, db)

        self._parallel_over_batch(n, dout.size * x.shape[1] * kh * kh, part)
        keys = sorted(partial)
        dwt = sum(partial[k][0] for k in keys)
        db = sum(partial[k][1] for k in keys)
        return dx, np.ascontiguousarray(dwt.transpose(2, 3, 0, 1)), db

    def _winograd_backward(self, dout, x, W, pad, need_dx):
        """dW in the Winograd domain (16 GEMMs over the tiles), dx as the Winograd
        convolution of dout with W flipped and transposed (padding 2 - pad)."""
        n, c = x.shape[0], x.shape[1]
        f = W.shape[0]
        dout = np.ascontiguousarray(dout)
        step = self._winograd_chunk(c, f, dout.shape[2], dout.shape[3], x.itemsize)
        partial = {}  # keyed by slice start: a fixed summation order

        def part(lo, hi):
            z = np.zeros((16, f, c), dtype=dout.dtype)
            db = np.empty(f, dtype=dout.dtype)
            C.channel_sum(db, dout[lo:hi].reshape(hi - lo, f, -1))
            if S.FUSED and x.dtype == np.float32:  # one nogil call for the slice
                m = min(step, hi - lo)
                xp, V, D = WG.slice_scratch(c, f, dout.shape[2], dout.shape[3], m)
                WG.filter_grad_slice(z, x[lo:hi], dout[lo:hi], pad, xp, V, D, m)
                partial[lo] = (z, db)
                return
            for s in range(lo, hi, step):
                e = min(hi, s + step)
                WG.winograd_filter_grad(z, x[s:e], dout[s:e], pad)
            partial[lo] = (z, db)

        self._parallel_over_batch(n, dout.size * c * 9, part)
        keys = sorted(partial)
        z = sum(partial[k][0] for k in keys)
        db = sum(partial[k][1] for k in keys)
        dW = np.zeros(W.shape, dtype=dout.dtype)
        WG.filter_grad_inverse(dW, z)
        dx = None
        if need_dx:
            dx = self._winograd(np.empty(x.shape, dtype=dout.dtype), dout,
                                WG.transform_filters(WG.dx_filters(W)),
                                np.zeros(c, dtype=dout.dtype), 2 - pad)
        return dx, dW, db

    def conv2d_backward(self, dout, cache, W, stride, pad, need_dx=True, relu_out=None):
        x = cache
        if relu_out is not None and (self._use_winograd(x, W, stride, pad)
                                     or self._use_shift(x, W, stride)):
            dout = self.relu_backward(dout, relu_out)  # a pass of its own on these paths
            relu_out = None
        if self._use_winograd(x, W, stride, pad):
            return self._winograd_backward(dout, x, W, pad, need_dx)
        if self._use_shift(x, W, stride):
            return self._shift_backward(dout, x, W, pad, need_dx)
        n, c, h, w = x.shape
        _, f, oh, ow = dout.shape
        kh, kw = W.shape[2], W.shape[3]
        p, rstride, grid = self._layout(f, h, w, kw, stride, pad, oh, ow)  # p: span
        ckk = c * kh * kw
        d3 = np.ascontiguousarray(dout)
        masked = relu_out is not None  # the ReLU's backward, applied as dout is rearranged
        r3 = relu_out if masked else d3
        w2 = W.reshape(f, ckk)
        dx = np.empty(x.shape, dtype=dout.dtype) if need_dx else None
        step = self._chunk(c, kh, kw, p)
        partial_dW, partial_db = {}, {}  # keyed by slice start: a fixed summation order
        if self._fused_im2col(x, W, stride):  # one nogil call per slice
            w2 = np.ascontiguousarray(w2)
            dxa = dx if need_dx else np.empty((1, 1, 1, 1), dtype=x.dtype)

            def part(lo, hi):
                m = min(step, hi - lo)
                dWt = np.zeros((ckk, f), dtype=dout.dtype)
                db = np.zeros(f, dtype=np.float64)
                IF.backward_slice(
                    dxa, dWt, db, x, d3, r3, masked, w2, kh, kw, pad, grid, p, rstride,
                    _bounds(lo, hi, step), _padded(x, m, pad),
                    S.workspace("cols", (ckk * m * p,), x.dtype),
                    S.workspace("y", (f * m * p,), x.dtype),
                    S.workspace("dcols", (ckk * m * p if need_dx else 1,), x.dtype),
                    _padded_plane(x, pad), need_dx)
                partial_dW[lo] = dWt
                partial_db[lo] = db
        else:
            part = self._im2col_backward_part(
                x, d3, r3, masked, w2, dx, need_dx, kh, kw, stride, pad, p, rstride, grid,
                step, partial_dW, partial_db)

        self._parallel_over_batch(n, n * ckk * p, part)
        dWt = sum(partial_dW[k] for k in sorted(partial_dW))
        db = sum(partial_db[k] for k in sorted(partial_db)).astype(dout.dtype)
        return dx, np.ascontiguousarray(dWt.T).reshape(W.shape), db

    @staticmethod
    def _fused_im2col(x, W, stride):
        return stride == 1 and S.FUSED and x.dtype == W.dtype == np.float32

    @staticmethod
    def _im2col_backward_part(x, d3, r3, masked, w2, dx, need_dx, kh, kw, stride, pad, p,
                              rstride, grid, step, partial_dW, partial_db):
        """part(lo, hi) of the im2col backward, chunk by chunk from Python (float64, a
        stride, a BLAS sgemm_k cannot call)."""
        ckk, f = w2.shape[1], w2.shape[0]
        dtype = d3.dtype

        def part(lo, hi):
            m = min(step, hi - lo)
            dWt = np.zeros((ckk, f), dtype=dtype)  # dW transposed: see the GEMM below
            db = np.zeros(f, dtype=np.float64)
            cols = S.workspace("cols", (ckk * m * p,), x.dtype)
            dy = S.workspace("y", (f * m * p,), x.dtype)
            dcols = S.workspace("dcols", (ckk * m * p,), x.dtype) if need_dx else None
            for s, e in _even_chunks(lo, hi, step):
                k = (e - s) * p
                cc = cols[: ckk * k].reshape(ckk, k)
                dd = dy[: f * k].reshape(f, k)
                _im2col(cc, x[s:e], kh, kw, stride, pad, p if grid else 0)
                C.nchw_to_rows(dd, db, d3[s:e], r3[s:e], masked, p, rstride)
                # (CKK, n*P) @ (n*P, F): one GEMM per chunk; OpenBLAS ran this orientation
                # 1.7x faster than dd @ cc.T for LeNet's shapes (F = 6, 16; CKK = 25, 150)
                dWt += cc @ dd.T
                if need_dx:
                    dc = dcols[: ckk * k].reshape(ckk, k)
                    np.matmul(w2.T, dd, out=dc)  # (CKK, F) @ (F, n*P)
                    _col2im(dx[s:e], dc, kh, kw, stride, pad, p if grid else 0)
            partial_dW[lo] = dWt
            partial_db[lo] = db

        return part

    def _parallel_over_batch(self, n, work, part):
        """Run part(lo, hi) over slices of the batch on the worker threads (or inline)."""
        in_parts(n, min(WORKERS, n) if work >= CONV_PAR_WORK else 1, part)
