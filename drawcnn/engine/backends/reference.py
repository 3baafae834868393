"""The reference backend: slow, obvious NumPy, written independently of the kernels.

It is the oracle the tests compare the Numba (and CUDA) kernels against, and the path the
float64 numerical-gradient checks run on. Convolution uses sliding windows + einsum, not
im2col, so a shared indexing mistake cannot hide in both.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(x, kh, kw, stride):
    """(N,C,H,W) -> (N,C,OH,OW,kh,kw) view of every window."""
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


class ReferenceBackend:
    name = "reference"
    infer_chunk = None

    def asarray(self, x):
        return np.ascontiguousarray(x)

    def to_host(self, x):
        return x

    def conv2d_forward(self, x, W, b, stride, pad, relu=False):
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        win = _windows(xp, W.shape[2], W.shape[3], stride)
        out = np.einsum("nchwij,fcij->nfhw", win, W, optimize=True)  # BLAS-backed contraction
        out = (out + b[None, :, None, None]).astype(x.dtype)
        return (self.relu_forward(out) if relu else out), (x, xp.shape)

    def conv2d_backward(self, dout, cache, W, stride, pad, need_dx=True, relu_out=None):
        if relu_out is not None:
            dout = self.relu_backward(dout, relu_out)
        x, padded_shape = cache
        kh, kw = W.shape[2], W.shape[3]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        win = _windows(xp, kh, kw, stride)
        dW = np.einsum("nfhw,nchwij->fcij", dout, win, optimize=True)
        db = dout.sum(axis=(0, 2, 3))
        dx = None
        if need_dx:
            oh, ow = dout.shape[2], dout.shape[3]
            dxp = np.zeros(padded_shape, dtype=dout.dtype)
            for i in range(kh):
                for j in range(kw):
                    contrib = np.einsum("nfhw,fc->nchw", dout, W[:, :, i, j])
                    dxp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += contrib
            h, w = x.shape[2], x.shape[3]
            dx = dxp[:, :, pad : pad + h, pad : pad + w].copy()
        return dx, dW.astype(dout.dtype), db.astype(dout.dtype)

    def relu_forward(self, x):
        return np.maximum(x, 0)

    def relu_backward(self, dout, out):
        return dout * (out > 0)

    def maxpool_forward(self, x, size, stride, need_argmax):
        win = _windows(x, size, size, stride)
        flat = win.reshape(*win.shape[:4], size * size)
        if not need_argmax:
            return flat.max(axis=-1), None
        return flat.max(axis=-1), (x, flat.argmax(axis=-1))

    def maxpool_backward(self, dout, cache, size, stride):
        x, arg = cache
        dx = np.zeros_like(x, dtype=dout.dtype)
        oh, ow = dout.shape[2], dout.shape[3]
        for i in range(size):
            for j in range(size):
                hit = arg == i * size + j
                dx[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += dout * hit
        return dx

    def avgpool_forward(self, x, size, stride):
        return _windows(x, size, size, stride).mean(axis=(-2, -1)).astype(x.dtype), x.shape

    def avgpool_backward(self, dout, cache, size, stride):
        dx = np.zeros(cache, dtype=dout.dtype)
        oh, ow = dout.shape[2], dout.shape[3]
        for i in range(size):
            for j in range(size):
                dx[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += dout / (
                    size * size
                )
        return dx

    def dense_forward(self, x, W, b):
        return x @ W + b

    def dense_backward(self, dout, x, W, need_dx=True):
        return (dout @ W.T if need_dx else None), x.T @ dout, dout.sum(axis=0)

    def dropout_apply(self, x, mask):
        return x * mask

    def softmax(self, logits):
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def softmax_cross_entropy(self, logits, labels):
        n = logits.shape[0]
        z = logits - logits.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -log_p[np.arange(n), labels].mean()
        d = np.exp(log_p)
        d[np.arange(n), labels] -= 1
        return float(loss), (d / n).astype(logits.dtype)

    def adam_update(self, p, g, m, v, lr, beta1, beta2, eps, weight_decay, t):
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        mhat = m / (1 - beta1**t)
        vhat = v / (1 - beta2**t)
        p -= lr * mhat / (np.sqrt(vhat) + eps) + lr * weight_decay * p

    def sgd_update(self, p, g, vel, lr, momentum, weight_decay):
        vel *= momentum
        vel -= lr * (g + weight_decay * p)
        p += vel

    def single_image_plan(self, arch):
        return None  # the oracle runs layer by layer
