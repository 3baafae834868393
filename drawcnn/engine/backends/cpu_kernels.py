"""Numba CPU kernels: im2col/col2im, bias, ReLU, pooling, softmax-CE, optimizer updates.

Style: a kernel writes into output arrays it is given (llm.c style) and returns nothing.
All image arrays are NCHW, C-contiguous, float32 (float64 works too: the kernels are
generic, the gradient checks use it). Matrix products go to BLAS through NumPy in cpu.py.
A kernel that exists on the CUDA backend too takes the same arguments in the same order.

Elementwise, pooling and optimizer kernels exist twice, compiled from one source: ``name``
(``parallel=True``, ``prange`` over batch x channels) for training-sized batches and
``name_serial`` for a single image, where waking the thread pool costs more than the work.
The convolution's layout kernels (cpu_conv_kernels.py) are serial only: cpu.py runs them on
its own worker threads, one slice of the batch each. Every kernel is ``nogil`` so a worker
thread never freezes the GUI thread.
"""

from __future__ import annotations

import math
import types

from numba import njit, prange

from .. import runtime  # noqa: F401  (configures Numba before anything compiles)

# No nnan/ninf: a diverging run must still produce NaN/inf that the trainer can see.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
# NumPy's error model: a float division by zero gives inf/NaN. Numba's default (Python's)
# tests every divisor to raise ZeroDivisionError, and that branch kept LLVM from
# vectorising any loop that divides (Adam's update ran scalar, 5x slower). No kernel here
# divides by a value that can be zero.
_FLAGS = dict(fastmath=_FASTMATH, error_model="numpy", cache=True, nogil=True)


def parallel_kernel(fn):
    """``fn`` compiled with ``parallel=True``: its ``prange`` loops run on Numba's threads."""
    return njit(parallel=True, **_FLAGS)(fn)


def serial_kernel(fn):
    """``fn`` compiled single-threaded (``prange`` runs as ``range``)."""
    return njit(parallel=False, **_FLAGS)(fn)


def serial_twin(kernel):
    """The serial build of a parallel kernel's source, named ``<name>_serial``.

    The copy gets its own qualname because Numba's on-disk cache keys a function by
    qualname and bytecode, not by compile flags: two builds of one function would share
    (and overwrite) one cache entry.
    """
    fn = kernel.py_func
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial",
                              fn.__defaults__)
    twin.__qualname__ = fn.__qualname__ + "_serial"
    twin.__doc__ = fn.__doc__
    return serial_kernel(twin)


# --------------------------------------------------------------------------- activations


@parallel_kernel
def relu_forward(out, x):
    """out = max(x, 0), on flat views; NaN stays NaN so divergence stays visible."""
    for k in prange(x.size):
        v = x[k]
        out[k] = 0.0 if v <= 0.0 else v


relu_forward_serial = serial_twin(relu_forward)


@parallel_kernel
def relu_backward(dx, dout, out):
    """dx = dout where the forward output was positive, else 0 (flat views)."""
    for k in prange(dout.size):
        dx[k] = dout[k] if out[k] > 0.0 else 0.0


relu_backward_serial = serial_twin(relu_backward)


# --------------------------------------------------------------------------- pooling


@parallel_kernel
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


maxpool_forward_serial = serial_twin(maxpool_forward)


@parallel_kernel
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
                        v = x[n, c, oh * stride + i, ow * stride + j]
                        if v > best:  # as in maxpool_forward: the same max, NaN included
                            best = v
                out[n, c, oh, ow] = best


maxpool_forward_eval_serial = serial_twin(maxpool_forward_eval)


@parallel_kernel
def maxpool_backward(dx, dout, argmax, size, stride):
    """Route each dout to the input position that won the max; dx is overwritten.

    A scatter: the argmax says where, so ``size`` and ``stride`` go unused here (the CUDA
    kernel gathers instead and needs them; the two keep one signature)."""
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


maxpool_backward_serial = serial_twin(maxpool_backward)


@parallel_kernel
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


avgpool_forward_serial = serial_twin(avgpool_forward)


@parallel_kernel
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


avgpool_backward_serial = serial_twin(avgpool_backward)


# --------------------------------------------------------------------------- dense, dropout


@parallel_kernel
def add_row_bias(out, b):
    """out (N, M) += b (M,)."""
    n_rows, n_cols = out.shape
    for r in prange(n_rows):
        for k in range(n_cols):
            out[r, k] += b[k]


add_row_bias_serial = serial_twin(add_row_bias)


@parallel_kernel
def scale_mask(out, x, mask):
    """out = x * mask (flat views): dropout forward and backward alike."""
    for k in prange(x.size):
        out[k] = x[k] * mask[k]


scale_mask_serial = serial_twin(scale_mask)


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
def softmax_cross_entropy(dlogits, row_loss, logits, labels):
    """row_loss[r] = cross-entropy of softmax(logits[r]) vs labels[r], divided by N (their
    sum is the mean loss); dlogits = (p - onehot) / N.

    Uses log-sum-exp, so huge logits give a finite loss; NaN/inf in the logits give NaN.
    """
    n_rows, n_cls = logits.shape
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
        row_loss[r] = (log_z - logits[r, y]) * inv_n
        for k in range(n_cls):
            p = math.exp(logits[r, k] - log_z)
            dlogits[r, k] = (p - (1.0 if k == y else 0.0)) * inv_n


# --------------------------------------------------------------------------- optimizers


@parallel_kernel
def adam_update(param, grad, m, v, lr, beta1, one_m_beta1, beta2, one_m_beta2, eps,
                weight_decay, bias1, bias2):
    """In-place Adam on flat views; weight_decay is decoupled (AdamW); bias_k = 1 - beta_k^t;
    one_m_beta_k = 1 - beta_k, computed once on the host."""
    for k in prange(param.size):
        g = grad[k]
        mk = beta1 * m[k] + one_m_beta1 * g
        vk = beta2 * v[k] + one_m_beta2 * g * g
        m[k] = mk
        v[k] = vk
        step = lr * (mk / bias1) / (math.sqrt(vk / bias2) + eps)
        param[k] -= step + lr * weight_decay * param[k]


adam_update_serial = serial_twin(adam_update)


@parallel_kernel
def sgd_update(param, grad, velocity, lr, momentum, weight_decay):
    """In-place SGD with (heavy-ball) momentum and L2 weight decay, on flat views."""
    for k in prange(param.size):
        g = grad[k] + weight_decay * param[k]
        vel = momentum * velocity[k] - lr * g
        velocity[k] = vel
        param[k] += vel


sgd_update_serial = serial_twin(sgd_update)
