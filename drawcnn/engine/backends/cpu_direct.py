"""Im2col-free convolutions for the CPU backend: direct kernels and shifted GEMMs.

Profiled on the shipped networks (README, "Speed"), im2col + one GEMM spent as long
building the 9x column matrix as multiplying it, and a GEMM with K = C*k*k = 9 or 25
(first layers with one input channel) runs far below BLAS speed. Two replacements:

* **Direct kernels** (``direct_*``) for few input channels (C*k*k small: the first layer of
  every shipped net, LeNet's second): every output row accumulates ``w * input row`` over
  (c, i, j), contiguous and vectorised over the output width, four filters at a time so
  one input load feeds four FMAs; bias and ReLU fused into the same pass. Any stride/pad.
* **Shifted GEMMs** (``ShiftConv``) for stride 1 with more channels (the 3x3 convolutions
  of the deep net): the input is copied once, zero-padded, channel-major, images side by
  side (C, n*Hp*Wp). For kernel tap (i, j) the input the tap reads is that buffer shifted
  by i*Wp + j, a strided *view*, so the convolution is k*k accumulating GEMMs
  ``Y (F, n*Hp*Wp) += W[:, :, i, j] (F, C) @ X[:, shift:]`` straight from BLAS with beta=1:
  no column matrix; the padded grid computes a few border positions that are thrown away.
  Backward is the same trick: dW[:, :, i, j] = dY @ X[:, shift:]^T and
  dX[:, shift:] += W[:, :, i, j]^T @ dY.

BLAS is called through ctypes (``cblas_?gemm`` of the OpenBLAS that NumPy loads), which
releases the GIL, so the worker threads of cpu.py run their image slices truly in
parallel. Every buffer comes from a per-thread workspace, reused across calls of the same
shape (no page faults from fresh multi-megabyte allocations every step). All Numba
kernels here are serial, nogil and cached: parallelism is cpu.py's batch split, so none of
them needs ``PARALLEL_LOCK``.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np
from numba import njit

from .. import runtime  # noqa: F401  (configures Numba before anything compiles)
from ..blas import _candidate_paths

_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
_JIT = dict(cache=True, nogil=True, fastmath=_FASTMATH)

# --------------------------------------------------------------------------- BLAS via ctypes

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _load_gemm():
    """{dtype: cblas ?gemm} from the OpenBLAS NumPy loaded ({} if none is found)."""
    import numpy  # noqa: F401  (make sure NumPy's BLAS is loaded)

    for path in _candidate_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        found = {}
        for dt, letter, ctype in ((np.float32, "s", ctypes.c_float),
                                  (np.float64, "d", ctypes.c_double)):
            for name, int_t in ((f"scipy_cblas_{letter}gemm64_", ctypes.c_int64),
                                (f"cblas_{letter}gemm64_", ctypes.c_int64),
                                (f"scipy_cblas_{letter}gemm", ctypes.c_int),
                                (f"cblas_{letter}gemm", ctypes.c_int)):
                fn = getattr(lib, name, None)
                if fn is not None:
                    fn.restype = None
                    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, int_t, int_t, int_t,
                                   ctype, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t, ctype,
                                   ctypes.c_void_p, int_t]
                    found[np.dtype(dt)] = fn
                    break
        if found:
            return found
    return {}


_GEMM = _load_gemm()


def gemm_available(dtype) -> bool:
    return np.dtype(dtype) in _GEMM


def _ld(a) -> int:
    return a.strides[0] // a.itemsize


def gemm(a, b, c, beta: float, trans_a: bool = False, trans_b: bool = False) -> None:
    """c = op(a) @ op(b) + beta * c on row-major views whose rows are contiguous.

    ``op(a)`` is ``a.T`` when ``trans_a`` (then ``a`` is the untransposed (K, M) view).
    Views may have a row stride larger than their width (shifted windows of a buffer).
    """
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    _GEMM[c.dtype](_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS,
                   _TRANS if trans_b else _NO_TRANS, m, n, k, 1.0, a.ctypes.data, _ld(a),
                   b.ctypes.data, _ld(b), beta, c.ctypes.data, _ld(c))


# --------------------------------------------------------------------------- workspaces

_LOCAL = threading.local()


def workspace(key: str, shape: tuple, dtype) -> np.ndarray:
    """A per-thread scratch array, reused while ``key`` asks for the same shape and dtype.

    Contents are whatever the previous user left: callers overwrite what they read.
    """
    cache = getattr(_LOCAL, "arrays", None)
    if cache is None:
        cache = _LOCAL.arrays = {}
    arr = cache.get(key)
    if arr is None or arr.shape != shape or arr.dtype != dtype:
        arr = cache[key] = np.empty(shape, dtype=dtype)
    return arr


# --------------------------------------------------------------------------- direct kernels


@njit(**_JIT)
def _pad_image(xp, x, n, pad):
    """xp (C, Hp, Wp) = image n of x, zero-padded by ``pad`` on every side."""
    n_ch, height, width = x.shape[1], x.shape[2], x.shape[3]
    hp, wp = xp.shape[1], xp.shape[2]
    for c in range(n_ch):
        for h in range(hp):
            for w in range(wp):
                xp[c, h, w] = 0.0
        for h in range(height):
            for w in range(width):
                xp[c, h + pad, w + pad] = x[n, c, h, w]


@njit(**_JIT)
def direct_conv_forward(out, x, W, b, xp, stride, pad, relu):
    """out (N,F,OH,OW) = conv(x, W) + b (then max(., 0) if relu), im2col-free.

    For few input channels: each output row accumulates w[f,c,i,j] * (a padded input row)
    over (c, i, j), contiguous over the output width; filters go four at a time so each
    input load feeds four multiply-adds. ``xp`` is (C, H+2p, W+2p) scratch.
    """
    n_img = x.shape[0]
    n_f, n_ch, kh, kw = W.shape
    out_h, out_w = out.shape[2], out.shape[3]
    f4 = n_f - n_f % 4
    for n in range(n_img):
        _pad_image(xp, x, n, pad)
        for f in range(0, f4, 4):
            b0, b1, b2, b3 = b[f], b[f + 1], b[f + 2], b[f + 3]
            for oh in range(out_h):
                r0 = out[n, f, oh]
                r1 = out[n, f + 1, oh]
                r2 = out[n, f + 2, oh]
                r3 = out[n, f + 3, oh]
                for ow in range(out_w):
                    r0[ow] = b0
                    r1[ow] = b1
                    r2[ow] = b2
                    r3[ow] = b3
                for c in range(n_ch):
                    for i in range(kh):
                        xr = xp[c, oh * stride + i]
                        for j in range(kw):
                            w0 = W[f, c, i, j]
                            w1 = W[f + 1, c, i, j]
                            w2 = W[f + 2, c, i, j]
                            w3 = W[f + 3, c, i, j]
                            if stride == 1:
                                for ow in range(out_w):
                                    v = xr[ow + j]
                                    r0[ow] += w0 * v
                                    r1[ow] += w1 * v
                                    r2[ow] += w2 * v
                                    r3[ow] += w3 * v
                            else:
                                for ow in range(out_w):
                                    v = xr[ow * stride + j]
                                    r0[ow] += w0 * v
                                    r1[ow] += w1 * v
                                    r2[ow] += w2 * v
                                    r3[ow] += w3 * v
                if relu:
                    for ow in range(out_w):
                        r0[ow] = max(r0[ow], 0.0)
                        r1[ow] = max(r1[ow], 0.0)
                        r2[ow] = max(r2[ow], 0.0)
                        r3[ow] = max(r3[ow], 0.0)
        for f in range(f4, n_f):
            for oh in range(out_h):
                r0 = out[n, f, oh]
                for ow in range(out_w):
                    r0[ow] = b[f]
                for c in range(n_ch):
                    for i in range(kh):
                        xr = xp[c, oh * stride + i]
                        for j in range(kw):
                            w0 = W[f, c, i, j]
                            for ow in range(out_w):
                                r0[ow] += w0 * xr[ow * stride + j]
                if relu:
                    for ow in range(out_w):
                        r0[ow] = max(r0[ow], 0.0)


@njit(**_JIT)
def direct_conv_backward(dW, db, dx, dout, x, W, xp, dxp, stride, pad, need_dx):
    """Gradients of direct_conv_forward (without relu); dW, db are *accumulated* into.

    dW[f,c,i,j] += sum dout[n,f,oh,ow] * xpad[n,c,oh*s+i,ow*s+j] (a dot product per tap,
    contiguous for stride 1); dx (overwritten) scatters W * dout into a padded scratch
    ``dxp`` (C, Hp, Wp) and crops it.
    """
    n_img, n_ch, height, width = x.shape
    n_f, _, kh, kw = W.shape
    out_h, out_w = dout.shape[2], dout.shape[3]
    for n in range(n_img):
        _pad_image(xp, x, n, pad)
        for f in range(n_f):
            acc = 0.0
            for oh in range(out_h):
                for ow in range(out_w):
                    acc += dout[n, f, oh, ow]
            db[f] += acc
            for c in range(n_ch):
                for i in range(kh):
                    for j in range(kw):
                        acc = 0.0
                        for oh in range(out_h):
                            xr = xp[c, oh * stride + i]
                            g = dout[n, f, oh]
                            if stride == 1:
                                for ow in range(out_w):
                                    acc += g[ow] * xr[ow + j]
                            else:
                                for ow in range(out_w):
                                    acc += g[ow] * xr[ow * stride + j]
                        dW[f, c, i, j] += acc
        if need_dx:
            for c in range(n_ch):
                for h in range(dxp.shape[1]):
                    for w in range(dxp.shape[2]):
                        dxp[c, h, w] = 0.0
            for f in range(n_f):
                for c in range(n_ch):
                    for i in range(kh):
                        for oh in range(out_h):
                            dr = dxp[c, oh * stride + i]
                            g = dout[n, f, oh]
                            for j in range(kw):
                                wv = W[f, c, i, j]
                                if stride == 1:
                                    for ow in range(out_w):
                                        dr[ow + j] += wv * g[ow]
                                else:
                                    for ow in range(out_w):
                                        dr[ow * stride + j] += wv * g[ow]
            for c in range(n_ch):
                for h in range(height):
                    for w in range(width):
                        dx[n, c, h, w] = dxp[c, h + pad, w + pad]


# --------------------------------------------------------------------------- shifted GEMMs


@njit(**_JIT)
def pack_padded(xp, x, pad):
    """xp (C, >= N*Hp*Wp) = x (N,C,H,W) zero-padded, channel-major, images side by side;
    the tail past N*Hp*Wp (read by the largest shifts) is zeroed too."""
    n_img, n_ch, height, width = x.shape
    hp, wp = height + 2 * pad, width + 2 * pad
    grid = hp * wp
    for c in range(n_ch):
        row = xp[c]
        for k in range(row.shape[0]):
            row[k] = 0.0
        for n in range(n_img):
            base = n * grid + pad * wp + pad
            for h in range(height):
                o = base + h * wp
                for w in range(width):
                    row[o + w] = x[n, c, h, w]


@njit(**_JIT)
def unpack_bias(out, y, b, wp, grid, relu):
    """out (N,F,OH,OW) = y[f, n*grid + oh*wp + ow] + b[f] (then ReLU if relu)."""
    n_img, n_f, out_h, out_w = out.shape
    for n in range(n_img):
        for f in range(n_f):
            bias = b[f]
            yr = y[f]
            for oh in range(out_h):
                o = n * grid + oh * wp
                orow = out[n, f, oh]
                if relu:
                    for ow in range(out_w):
                        orow[ow] = max(yr[o + ow] + bias, 0.0)
                else:
                    for ow in range(out_w):
                        orow[ow] = yr[o + ow] + bias


@njit(**_JIT)
def embed_grad(dfull, db, dout, wp, grid):
    """dfull (F, N*grid) = dout on the padded grid, zero elsewhere; db (F,) += its sums."""
    n_img, n_f, out_h, out_w = dout.shape
    for f in range(n_f):
        row = dfull[f]
        for k in range(row.shape[0]):
            row[k] = 0.0
        acc = 0.0
        for n in range(n_img):
            for oh in range(out_h):
                o = n * grid + oh * wp
                for ow in range(out_w):
                    v = dout[n, f, oh, ow]
                    row[o + ow] = v
                    acc += v
        db[f] += acc


@njit(**_JIT)
def unpack_padded(dx, dxp, pad):
    """dx (N,C,H,W) = the interior of dxp (C, N*Hp*Wp) (the inverse of pack_padded)."""
    n_img, n_ch, height, width = dx.shape
    hp, wp = height + 2 * pad, width + 2 * pad
    grid = hp * wp
    for n in range(n_img):
        for c in range(n_ch):
            row = dxp[c]
            base = n * grid + pad * wp + pad
            for h in range(height):
                o = base + h * wp
                for w in range(width):
                    dx[n, c, h, w] = row[o + w]


@njit(**_JIT)
def zero_rows(a):
    for r in range(a.shape[0]):
        row = a[r]
        for k in range(row.shape[0]):
            row[k] = 0.0


def _geometry(x_shape, kh, kw, pad):
    n, c, h, w = x_shape
    hp, wp = h + 2 * pad, w + 2 * pad
    grid = hp * wp
    length = n * grid  # output columns computed (a few are padded-border positions)
    tail = (kh - 1) * wp + (kw - 1)  # furthest shift reads this far past the last image
    return hp, wp, grid, length, tail


def shift_forward(out, x, Wt, b, pad, relu) -> None:
    """out (N,F,OH,OW) = conv(x, W) + b for stride 1, as k*k shifted GEMMs.

    Wt is W rearranged to (kh, kw, F, C), contiguous (see ``taps``).
    """
    kh, kw, n_f, n_ch = Wt.shape
    hp, wp, grid, length, tail = _geometry(x.shape, kh, kw, pad)
    xp = workspace("shift_xp", (n_ch, length + tail), x.dtype)
    y = workspace("shift_y", (n_f, length), x.dtype)
    pack_padded(xp, x, pad)
    for i in range(kh):
        for j in range(kw):
            off = i * wp + j
            gemm(Wt[i, j], xp[:, off:off + length], y, 0.0 if i == j == 0 else 1.0)
    unpack_bias(out, y, b, wp, grid, relu)


def shift_backward(dWt, db, dx, dout, x, Wt, pad) -> None:
    """Accumulate dWt (kh,kw,F,C) and db (F,); write dx (if not None), stride 1."""
    kh, kw, n_f, n_ch = Wt.shape
    hp, wp, grid, length, tail = _geometry(x.shape, kh, kw, pad)
    xp = workspace("shift_xp", (n_ch, length + tail), x.dtype)
    dfull = workspace("shift_y", (n_f, length), x.dtype)
    pack_padded(xp, x, pad)
    embed_grad(dfull, db, dout, wp, grid)
    for i in range(kh):
        for j in range(kw):
            off = i * wp + j
            gemm(dfull, xp[:, off:off + length], dWt[i, j], 1.0, trans_b=True)
    if dx is None:
        return
    dxp = workspace("shift_dxp", (n_ch, length + tail), x.dtype)
    zero_rows(dxp)
    for i in range(kh):
        for j in range(kw):
            off = i * wp + j
            gemm(Wt[i, j], dfull, dxp[:, off:off + length], 1.0, trans_a=True)
    unpack_padded(dx, dxp, pad)


def taps(W) -> np.ndarray:
    """W (F,C,kh,kw) -> (kh,kw,F,C) contiguous: one BLAS-ready (F,C) matrix per tap."""
    return np.ascontiguousarray(W.transpose(2, 3, 0, 1))


def direct_forward(out, x, W, b, stride, pad, relu) -> None:
    """Direct (few-channel) convolution of x into out; scratch from the workspace."""
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    xp = workspace("direct_xp", (c, h + 2 * pad, w + 2 * pad), x.dtype)
    direct_conv_forward(out, x, W, b, xp, stride, pad, relu)


def direct_backward(dW, db, dx, dout, x, W, stride, pad) -> None:
    """Accumulate dW, db; write dx (if not None) for the direct convolution."""
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    shape = (c, h + 2 * pad, w + 2 * pad)
    xp = workspace("direct_xp", shape, x.dtype)
    dxp = workspace("direct_dxp", shape, x.dtype)
    need_dx = dx is not None
    direct_conv_backward(dW, db, dx if need_dx else x, dout, x, W, xp, dxp, stride, pad,
                         need_dx)
