"""Numba CPU kernels: im2col/col2im, bias, ReLU, pooling, softmax-CE, optimizer updates.

Style: a kernel writes into output arrays it is given (llm.c style) and returns nothing.
All image arrays are NCHW, C-contiguous, float32 (float64 works too: the kernels are
generic, the gradient checks use it). Matrix products go to BLAS through NumPy in cpu.py.

Every kernel exists twice, compiled from the same source: ``name`` (``parallel=True``,
``prange`` over batch x channels) for training-sized batches, and ``name_serial`` for a
single image, where waking the thread pool costs more than the work. All are ``nogil`` so
a worker thread never freezes the GUI thread.
"""

from __future__ import annotations

import math
import types

from numba import njit, prange

from .. import runtime  # noqa: F401  (configures Numba before anything compiles)

# No nnan/ninf: a diverging run must still produce NaN/inf that the trainer can see.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def _twin(fn, suffix):
    """A copy of ``fn`` under another qualname, so Numba caches each variant separately."""
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__)
    twin.__qualname__ = fn.__qualname__ + suffix
    twin.__doc__ = fn.__doc__
    return twin


def kernel(fn):
    """Compile ``fn`` as a parallel kernel and a serial twin (exported as ``<name>_serial``)."""
    serial = njit(parallel=False, fastmath=_FASTMATH, cache=True, nogil=True)(
        _twin(fn, "_serial")
    )
    par = njit(parallel=True, fastmath=_FASTMATH, cache=True, nogil=True)(fn)
    globals()[fn.__name__ + "_serial"] = serial
    return par


# --------------------------------------------------------------------------- convolution


@kernel
def im2col_rows(cols, x, kh, kw, stride, pad):
    """x (N,C,H,W) -> cols (C*kh*kw, N*OH*OW): one row per (c,i,j), images side by side.

    This layout makes a whole chunk of images one GEMM (W (F,CKK) @ cols) instead of N
    small ones, which matters for small feature maps (LeNet's 10x10, the deep net's 14x14).
    """
    n_img, n_ch, height, width = x.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    n_pos = out_h * out_w
    for row in prange(n_ch * kh * kw):
        c = row // (kh * kw)
        i = (row // kw) % kh
        j = row % kw
        lo = max(0, (pad - j + stride - 1) // stride)
        hi = min(out_w, (width - 1 + pad - j) // stride + 1)
        for n in range(n_img):
            for oh in range(out_h):
                h = oh * stride - pad + i
                base = n * n_pos + oh * out_w
                if h < 0 or h >= height or lo >= hi:
                    for ow in range(out_w):
                        cols[row, base + ow] = 0.0
                    continue
                for ow in range(lo):
                    cols[row, base + ow] = 0.0
                for ow in range(lo, hi):
                    cols[row, base + ow] = x[n, c, h, ow * stride - pad + j]
                for ow in range(hi, out_w):
                    cols[row, base + ow] = 0.0


@kernel
def col2im_rows(dx, dcols, kh, kw, stride, pad):
    """Scatter-add dcols (C*kh*kw, N*OH*OW) into dx (N,C,H,W); dx is overwritten."""
    n_img, n_ch, height, width = dx.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    n_pos = out_h * out_w
    for nc in prange(n_img * n_ch):  # each (n, c) plane is written by one iteration only
        n = nc // n_ch
        c = nc % n_ch
        for h in range(height):
            for w in range(width):
                dx[n, c, h, w] = 0.0
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                lo = max(0, (pad - j + stride - 1) // stride)
                hi = min(out_w, (width - 1 + pad - j) // stride + 1)
                for oh in range(out_h):
                    h = oh * stride - pad + i
                    if h < 0 or h >= height:
                        continue
                    base = n * n_pos + oh * out_w
                    for ow in range(lo, hi):
                        dx[n, c, h, ow * stride - pad + j] += dcols[row, base + ow]


@kernel
def rows_to_nchw_bias(out, y, b):
    """out (N, F, P) = y (F, N*P) + b[f]: the GEMM result back to NCHW, bias fused."""
    n_img, n_f, n_pos = out.shape
    for nf in prange(n_img * n_f):
        n = nf // n_f
        f = nf % n_f
        bias = b[f]
        for p in range(n_pos):
            out[n, f, p] = y[f, n * n_pos + p] + bias


@kernel
def nchw_to_rows(y, d):
    """y (F, N*P) = d (N, F, P) rearranged: the output gradient in GEMM layout."""
    n_img, n_f, n_pos = d.shape
    for f in prange(n_f):
        for n in range(n_img):
            for p in range(n_pos):
                y[f, n * n_pos + p] = d[n, f, p]


@kernel
def channel_sum(db, dout):
    """db (F,) = sum of dout (N, F, P) over batch and positions."""
    n_img, n_f, n_pos = dout.shape
    for f in prange(n_f):
        acc = 0.0
        for n in range(n_img):
            for p in range(n_pos):
                acc += dout[n, f, p]
        db[f] = acc


# --------------------------------------------------------------------------- activations


@kernel
def relu_forward(out, x):
    """out = max(x, 0), on flat views; NaN stays NaN so divergence stays visible."""
    for k in prange(x.size):
        v = x[k]
        out[k] = 0.0 if v <= 0.0 else v


@kernel
def relu_backward(dx, dout, out):
    """dx = dout where the forward output was positive, else 0 (flat views)."""
    for k in prange(dout.size):
        dx[k] = dout[k] if out[k] > 0.0 else 0.0


# --------------------------------------------------------------------------- pooling


@kernel
def maxpool_forward(out, argmax, x, size, stride):
    """out (N,C,OH,OW) = window max of x; argmax keeps the flat index h*W+w of each max."""
    n_img, n_ch, height, width = x.shape
    out_h, out_w = out.shape[2], out.shape[3]
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc % n_ch
        for oh in range(out_h):
            for ow in range(out_w):
                h0 = oh * stride
                w0 = ow * stride
                best = x[n, c, h0, w0]
                best_idx = h0 * width + w0
                for i in range(size):
                    for j in range(size):
                        v = x[n, c, h0 + i, w0 + j]
                        if v > best:
                            best = v
                            best_idx = (h0 + i) * width + w0 + j
                out[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = best_idx


@kernel
def maxpool_forward_eval(out, x, size, stride):
    """out = window max of x, without the argmax bookkeeping (inference only)."""
    n_img, n_ch = x.shape[0], x.shape[1]
    out_h, out_w = out.shape[2], out.shape[3]
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc % n_ch
        for oh in range(out_h):
            for ow in range(out_w):
                best = x[n, c, oh * stride, ow * stride]
                for i in range(size):
                    for j in range(size):
                        best = max(best, x[n, c, oh * stride + i, ow * stride + j])
                out[n, c, oh, ow] = best


@kernel
def maxpool_backward(dx, dout, argmax):
    """Route each dout to the input position that won the max; dx is overwritten."""
    n_img, n_ch, height, width = dx.shape
    out_h, out_w = dout.shape[2], dout.shape[3]
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc % n_ch
        for h in range(height):
            for w in range(width):
                dx[n, c, h, w] = 0.0
        for oh in range(out_h):
            for ow in range(out_w):
                idx = argmax[n, c, oh, ow]
                dx[n, c, idx // width, idx % width] += dout[n, c, oh, ow]


@kernel
def avgpool_forward(out, x, size, stride):
    """out (N,C,OH,OW) = window mean of x."""
    n_img, n_ch = x.shape[0], x.shape[1]
    out_h, out_w = out.shape[2], out.shape[3]
    scale = 1.0 / (size * size)
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc % n_ch
        for oh in range(out_h):
            for ow in range(out_w):
                acc = 0.0
                for i in range(size):
                    for j in range(size):
                        acc += x[n, c, oh * stride + i, ow * stride + j]
                out[n, c, oh, ow] = acc * scale


@kernel
def avgpool_backward(dx, dout, size, stride):
    """Spread each dout evenly over its window; dx is overwritten."""
    n_img, n_ch, height, width = dx.shape
    out_h, out_w = dout.shape[2], dout.shape[3]
    scale = 1.0 / (size * size)
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc % n_ch
        for h in range(height):
            for w in range(width):
                dx[n, c, h, w] = 0.0
        for oh in range(out_h):
            for ow in range(out_w):
                g = dout[n, c, oh, ow] * scale
                for i in range(size):
                    for j in range(size):
                        dx[n, c, oh * stride + i, ow * stride + j] += g


# --------------------------------------------------------------------------- dense, dropout


@kernel
def add_row_bias(out, b):
    """out (N, M) += b (M,)."""
    n_rows, n_cols = out.shape
    for r in prange(n_rows):
        for k in range(n_cols):
            out[r, k] += b[k]


@kernel
def scale_mask(out, x, mask):
    """out = x * mask (flat views): dropout forward and backward alike."""
    for k in prange(x.size):
        out[k] = x[k] * mask[k]


# --------------------------------------------------------------------------- loss


@njit(cache=True, nogil=True)
def softmax(probs, logits):
    """Row-wise softmax, stable: subtract the row max before exp."""
    n_rows, n_cls = logits.shape
    for r in range(n_rows):
        m = logits[r, 0]
        for k in range(1, n_cls):
            m = max(m, logits[r, k])
        total = 0.0
        for k in range(n_cls):
            e = math.exp(logits[r, k] - m)
            probs[r, k] = e
            total += e
        for k in range(n_cls):
            probs[r, k] /= total


@njit(cache=True, nogil=True)
def softmax_cross_entropy(dlogits, logits, labels):
    """Mean cross-entropy of softmax(logits) vs labels; dlogits = (p - onehot) / N.

    Uses log-sum-exp, so huge logits give a finite loss; NaN/inf in the logits give NaN.
    """
    n_rows, n_cls = logits.shape
    loss = 0.0
    inv_n = 1.0 / n_rows
    for r in range(n_rows):
        m = logits[r, 0]
        for k in range(1, n_cls):
            m = max(m, logits[r, k])
        total = 0.0
        for k in range(n_cls):
            total += math.exp(logits[r, k] - m)
        log_z = m + math.log(total)
        y = labels[r]
        loss += log_z - logits[r, y]
        for k in range(n_cls):
            p = math.exp(logits[r, k] - log_z)
            dlogits[r, k] = (p - (1.0 if k == y else 0.0)) * inv_n
    return loss * inv_n


# --------------------------------------------------------------------------- optimizers


@kernel
def adam_update(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, bias1, bias2):
    """In-place Adam on flat views; weight_decay is decoupled (AdamW); bias_k = 1 - beta_k^t."""
    for k in prange(param.size):
        g = grad[k]
        mk = beta1 * m[k] + (1.0 - beta1) * g
        vk = beta2 * v[k] + (1.0 - beta2) * g * g
        m[k] = mk
        v[k] = vk
        step = lr * (mk / bias1) / (math.sqrt(vk / bias2) + eps)
        param[k] -= step + lr * weight_decay * param[k]


@kernel
def sgd_update(param, grad, velocity, lr, momentum, weight_decay):
    """In-place SGD with (heavy-ball) momentum and L2 weight decay, on flat views."""
    for k in prange(param.size):
        g = grad[k] + weight_decay * param[k]
        vel = momentum * velocity[k] - lr * g
        velocity[k] = vel
        param[k] += vel
