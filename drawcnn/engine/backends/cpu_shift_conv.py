"""Im2col-free convolution for the CPU backend: k*k shifted GEMMs straight from BLAS.

Profiled on the shipped networks (README, "Speed"), im2col + one GEMM spent about as long
building the 9x column matrix as multiplying it in the deep net's 3x3 layers, and its
backward (columns rebuilt, then col2im's scatter-add) 3-5x longer than PyTorch's. Here the
input is copied once, zero-padded, channel-major, images side by side: X (C, n*Hp*Wp).
Kernel tap (i, j) reads X shifted by i*Wp + j, which is a strided *view* of the same
buffer, so a stride-1 convolution is k*k accumulating GEMMs (beta = 1)

    Y (F, n*Hp*Wp) += W[:, :, i, j] (F, C) @ X[:, shift(i, j):]

with no column matrix at all; the padded grid also computes the few positions that fall
on the border, which are skipped when Y is unpacked (with the bias) to NCHW. Backward is
the same trick: dW[:, :, i, j] = dY @ X[:, shift:]^T and dX[:, shift:] += W[:, :, i, j]^T @ dY,
with dY embedded on the grid (zeros on the border positions).

BLAS is OpenBLAS's ``cblas_?gemm`` (the library NumPy loaded), called through ctypes with
raw pointers: ctypes releases the GIL, so cpu.py's worker threads run their image slices in
parallel. Buffers are per-thread workspaces that only grow, so a training step does not
fault in fresh multi-megabyte arrays. The Numba kernels are serial, nogil and cached: the
parallelism is cpu.py's batch split, so nothing here takes ``PARALLEL_LOCK``. Only stride 1
(with any padding and kernel size); cpu.py keeps im2col for the rest and for few input
channels, where im2col measured faster (its columns are small when C*k*k is).
"""

from __future__ import annotations

import ctypes
import math
import threading

import numpy as np
from numba import types as _nt

from ..blas import openblas_libraries
from .cpu_kernels import serial_kernel

# --------------------------------------------------------------------------- BLAS via ctypes

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _load_gemm():
    """{dtype: cblas ?gemm} from the OpenBLAS NumPy loaded ({} if none is found)."""
    for lib in openblas_libraries():
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


def sgemm64_address() -> int | None:
    """Address of the ILP64 ``cblas_sgemm`` (64-bit M, N, K and leading dimensions: NumPy 2's
    scipy-openblas64), or None: cpu_winograd.py calls it from inside its Numba kernels."""
    fn = _GEMM.get(np.dtype(np.float32))
    if fn is None or fn.argtypes[3] is not ctypes.c_int64:
        return None
    return ctypes.cast(fn, ctypes.c_void_p).value


# The same sgemm callable from inside a nogil Numba kernel, so a worker thread runs a whole
# slice of the batch (transforms and GEMMs) in one call and never waits for the GIL between
# them (cpu_winograd.py, cpu_im2col_fused.py). It is registered with LLVM as an external
# symbol rather than called through a ctypes pointer, whose address would be baked into the
# code and keep Numba from caching it. Signature: (order, transA, transB, M, N, K, alpha,
# A, lda, B, ldb, beta, C, ldc), pointers as intp (arr.ctypes.data).
_SGEMM_SYMBOL = "drawcnn_cblas_sgemm64"
_SGEMM_ADDRESS = sgemm64_address()
#: True when sgemm_k can be called (float32, ILP64 OpenBLAS: NumPy 2's wheels)
FUSED = _SGEMM_ADDRESS is not None
if FUSED:
    import llvmlite.binding as _llvm

    _llvm.add_symbol(_SGEMM_SYMBOL, _SGEMM_ADDRESS)

sgemm_k = _nt.ExternalFunction(_SGEMM_SYMBOL, _nt.void(
    _nt.int32, _nt.int32, _nt.int32, _nt.int64, _nt.int64, _nt.int64, _nt.float32, _nt.intp,
    _nt.int64, _nt.intp, _nt.int64, _nt.float32, _nt.intp, _nt.int64))


def gemm_available(dtype) -> bool:
    return np.dtype(dtype) in _GEMM


def gemm(trans_a: bool, trans_b: bool, m: int, n: int, k: int, a: int, lda: int, b: int,
         ldb: int, beta: float, c: int, ldc: int, dtype) -> None:
    """C = op(A) @ op(B) + beta * C, row-major, on raw data pointers with leading dimensions.

    Pointers let the caller address shifted windows of one buffer without building a NumPy
    view per call (a view and its ``.ctypes`` cost more than a small GEMM's bookkeeping).
    """
    _GEMM[np.dtype(dtype)](_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS,
                           _TRANS if trans_b else _NO_TRANS, m, n, k, 1.0, a, lda, b, ldb, beta,
                           c, ldc)


# --------------------------------------------------------------------------- workspaces

_LOCAL = threading.local()


def workspace(key: str, shape: tuple, dtype) -> np.ndarray:
    """A per-thread scratch array of ``shape``: a view of a buffer that only ever grows.

    Contents are whatever the previous user left; callers overwrite everything they read.
    One thread uses one key for one thing at a time (the conv calls do not nest).
    """
    pool = getattr(_LOCAL, "buffers", None)
    if pool is None:
        pool = _LOCAL.buffers = {}
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    buf = pool.get((key, dtype))
    if buf is None or buf.size < size:
        buf = pool[(key, dtype)] = np.empty(max(size, 1), dtype=dtype)
    return buf[:size].reshape(shape)


# --------------------------------------------------------------------------- shifted GEMMs


@serial_kernel
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


@serial_kernel
def unpack_bias(out, y, b, wp, grid):
    """out (N,F,OH,OW) = y[f, n*grid + oh*wp + ow] + b[f]: the grid back to NCHW, bias fused."""
    n_img, n_f, out_h, out_w = out.shape
    for n in range(n_img):
        for f in range(n_f):
            bias = b[f]
            yr = y[f]
            for oh in range(out_h):
                o = n * grid + oh * wp
                orow = out[n, f, oh]
                for ow in range(out_w):
                    orow[ow] = yr[o + ow] + bias


@serial_kernel
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


@serial_kernel
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


@serial_kernel
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


def shift_forward(out, x, Wt, b, pad) -> None:
    """out (N,F,OH,OW) = conv(x, W) + b for stride 1, as k*k shifted GEMMs.

    ``Wt`` is W rearranged to (kh, kw, F, C), contiguous (``taps``).
    """
    kh, kw, n_f, n_ch = Wt.shape
    hp, wp, grid, length, tail = _geometry(x.shape, kh, kw, pad)
    xp = workspace("shift_x", (n_ch, length + tail), x.dtype)
    y = workspace("shift_y", (n_f, length), x.dtype)
    pack_padded(xp, x, pad)
    item = x.itemsize
    ldx = length + tail
    xptr, yptr, wptr = xp.ctypes.data, y.ctypes.data, Wt.ctypes.data
    for i in range(kh):
        for j in range(kw):
            tap = (i * kw + j) * n_f * n_ch * item
            # Y (F, L) += Wt[i, j] (F, C) @ X[:, shift:shift + L] (C, L)
            gemm(False, False, n_f, length, n_ch, wptr + tap, n_ch, xptr + (i * wp + j) * item,
                 ldx, 0.0 if i == j == 0 else 1.0, yptr, length, x.dtype)
    unpack_bias(out, y, b, wp, grid)


def shift_backward(dWt, db, dx, dout, x, Wt, pad) -> None:
    """Accumulate dWt (kh,kw,F,C) and db (F,); write dx (unless None); stride 1."""
    kh, kw, n_f, n_ch = Wt.shape
    hp, wp, grid, length, tail = _geometry(x.shape, kh, kw, pad)
    xp = workspace("shift_x", (n_ch, length + tail), x.dtype)
    dy = workspace("shift_y", (n_f, length), x.dtype)
    pack_padded(xp, x, pad)
    embed_grad(dy, db, dout, wp, grid)
    item = x.itemsize
    ldx = length + tail
    xptr, dyptr, wptr, dwptr = xp.ctypes.data, dy.ctypes.data, Wt.ctypes.data, dWt.ctypes.data
    for i in range(kh):
        for j in range(kw):
            tap = (i * kw + j) * n_f * n_ch * item
            # dW[i, j] (F, C) += dY (F, L) @ X[:, shift:shift + L]^T (L, C)
            gemm(False, True, n_f, n_ch, length, dyptr, length, xptr + (i * wp + j) * item, ldx,
                 1.0, dwptr + tap, n_ch, x.dtype)
    if dx is None:
        return
    dxp = workspace("shift_dx", (n_ch, length + tail), x.dtype)
    zero_rows(dxp)
    dxptr = dxp.ctypes.data
    for i in range(kh):
        for j in range(kw):
            tap = (i * kw + j) * n_f * n_ch * item
            # dX[:, shift:shift + L] (C, L) += Wt[i, j]^T (C, F) @ dY (F, L)
            gemm(True, False, n_ch, length, n_f, wptr + tap, n_ch, dyptr, length, 1.0,
                 dxptr + (i * wp + j) * item, ldx, x.dtype)
    unpack_padded(dx, dxp, pad)


def taps(W) -> np.ndarray:
    """W (F,C,kh,kw) -> (kh,kw,F,C) contiguous: one BLAS-ready (F,C) matrix per tap."""
    return np.ascontiguousarray(W.transpose(2, 3, 0, 1))
