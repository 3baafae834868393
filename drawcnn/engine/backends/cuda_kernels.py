"""numba.cuda kernels: im2col/col2im, activations, pooling, loss, optimizer updates; the
launch configuration shared with cuda_gemm.py (the tiled GEMM and the block reductions).

Style as in cpu_kernels.py: a kernel writes into the output arrays it is given and returns
nothing, and a kernel that also exists on the CPU takes the same arguments in the same
order. Image arrays are NCHW, C-contiguous, float32; every arithmetic constant is cast to
float32 so no kernel silently runs in (slow, on consumer GPUs) float64. Kernels here use
grid-stride loops, so any launch size is correct and the backend picks it. Backward
kernels *gather* (each thread owns one input element and sums what flows into it) instead
of scattering with atomics: results are deterministic and need no zero-fill.

Importing this module needs numba.cuda (NVIDIA's numba-cuda, or the deprecated copy built
into numba); it compiles nothing until a kernel is first launched.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

#: True under NUMBA_ENABLE_CUDASIM=1, where kernels run as Python threads.
SIMULATOR = "simulator" in getattr(cuda.jit, "__module__", "")

#: cuda.jit for every kernel of the backend (no on-disk cache in the simulator).
cuda_jit = cuda.jit if SIMULATOR else cuda.jit(cache=True)


@cuda_jit
def probe(out):
    """out[i] = 2*i: launched once by create_backend to prove compile + launch work."""
    i = cuda.grid(1)
    if i < out.size:
        out[i] = np.float32(2 * i)


# --------------------------------------------------------------------------- convolution


@cuda_jit
def im2col(cols, x, kh, kw, stride, pad):
    """x (N,C,H,W) -> cols (N, C*kh*kw, OH*OW); row (c,i,j), column (oh,ow); zero padding."""
    n_img, n_ch, height, width = x.shape
    n_rows = cols.shape[1]
    n_pos = cols.shape[2]
    out_w = (width + 2 * pad - kw) // stride + 1
    for idx in range(cuda.grid(1), cols.size, cuda.gridsize(1)):
        p = idx % n_pos
        row = (idx // n_pos) % n_rows
        n = idx // (n_pos * n_rows)
        j = row % kw
        i = (row // kw) % kh
        c = row // (kh * kw)
        h = (p // out_w) * stride - pad + i
        w = (p % out_w) * stride - pad + j
        if 0 <= h < height and 0 <= w < width:
            cols[n, row, p] = x[n, c, h, w]
        else:
            cols[n, row, p] = np.float32(0.0)


@cuda_jit
def col2im(dx, dcols, kh, kw, stride, pad):
    """dx (N,C,H,W) = sum of the dcols (N, C*kh*kw, OH*OW) entries that read each pixel."""
    n_img, n_ch, height, width = dx.shape
    out_h = (height + 2 * pad - kh) // stride + 1
    out_w = (width + 2 * pad - kw) // stride + 1
    for idx in range(cuda.grid(1), dx.size, cuda.gridsize(1)):
        w = idx % width
        h = (idx // width) % height
        c = (idx // (width * height)) % n_ch
        n = idx // (width * height * n_ch)
        acc = np.float32(0.0)
        for i in range(kh):
            th = h + pad - i  # = oh * stride for the output rows that read h
            if th < 0 or th % stride != 0 or th // stride >= out_h:
                continue
            oh = th // stride
            for j in range(kw):
                tw = w + pad - j
                if tw < 0 or tw % stride != 0 or tw // stride >= out_w:
                    continue
                acc += dcols[n, (c * kh + i) * kw + j, oh * out_w + tw // stride]
        dx[n, c, h, w] = acc


# --------------------------------------------------------------------------- elementwise


@cuda_jit
def relu_forward(out, x):
    """out = max(x, 0) on flat views."""
    for k in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        v = x[k]
        out[k] = v if v > np.float32(0.0) else np.float32(0.0)


@cuda_jit
def relu_backward(dx, dout, out):
    """dx = dout where the forward output was positive, else 0 (flat views)."""
    for k in range(cuda.grid(1), dx.size, cuda.gridsize(1)):
        dx[k] = dout[k] if out[k] > np.float32(0.0) else np.float32(0.0)


@cuda_jit
def scale_mask(out, x, mask):
    """out = x * mask (flat views): dropout forward and backward alike."""
    for k in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[k] = x[k] * mask[k]


# --------------------------------------------------------------------------- pooling


@cuda_jit
def maxpool_forward(out, argmax, x, size, stride):
    """out (N,C,OH,OW) = window max of x; argmax keeps the flat index h*W+w of each max
    (the first maximum in row-major window order, like the CPU kernel)."""
    n_ch, width = x.shape[1], x.shape[3]
    out_h, out_w = out.shape[2], out.shape[3]
    for idx in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        ow = idx % out_w
        oh = (idx // out_w) % out_h
        c = (idx // (out_w * out_h)) % n_ch
        n = idx // (out_w * out_h * n_ch)
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


@cuda_jit
def maxpool_forward_eval(out, x, size, stride):
    """out = window max of x, without the argmax bookkeeping (inference only)."""
    n_ch = x.shape[1]
    out_h, out_w = out.shape[2], out.shape[3]
    for idx in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        ow = idx % out_w
        oh = (idx // out_w) % out_h
        c = (idx // (out_w * out_h)) % n_ch
        n = idx // (out_w * out_h * n_ch)
        best = x[n, c, oh * stride, ow * stride]
        for i in range(size):
            for j in range(size):
                v = x[n, c, oh * stride + i, ow * stride + j]
                if v > best:  # as in maxpool_forward: the same max, NaN included
                    best = v
        out[n, c, oh, ow] = best


@cuda_jit
def maxpool_backward(dx, dout, argmax, size, stride):
    """dx pixel = sum of dout over the windows that cover it and chose it as their max."""
    n_ch, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    out_h, out_w = dout.shape[2], dout.shape[3]
    for idx in range(cuda.grid(1), dx.size, cuda.gridsize(1)):
        w = idx % width
        h = (idx // width) % height
        c = (idx // (width * height)) % n_ch
        n = idx // (width * height * n_ch)
        me = h * width + w
        acc = np.float32(0.0)
        # windows oh*stride <= h < oh*stride + size
        for oh in range(max(0, (h - size + stride) // stride), min(out_h, h // stride + 1)):
            for ow in range(max(0, (w - size + stride) // stride), min(out_w, w // stride + 1)):
                if argmax[n, c, oh, ow] == me:
                    acc += dout[n, c, oh, ow]
        dx[n, c, h, w] = acc


@cuda_jit
def avgpool_forward(out, x, size, stride):
    """out (N,C,OH,OW) = window mean of x."""
    n_ch = x.shape[1]
    out_h, out_w = out.shape[2], out.shape[3]
    scale = np.float32(1.0) / np.float32(size * size)
    for idx in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        ow = idx % out_w
        oh = (idx // out_w) % out_h
        c = (idx // (out_w * out_h)) % n_ch
        n = idx // (out_w * out_h * n_ch)
        acc = np.float32(0.0)
        for i in range(size):
            for j in range(size):
                acc += x[n, c, oh * stride + i, ow * stride + j]
        out[n, c, oh, ow] = acc * scale


@cuda_jit
def avgpool_backward(dx, dout, size, stride):
    """dx pixel = sum over the windows covering it of dout / size^2."""
    n_ch, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    out_h, out_w = dout.shape[2], dout.shape[3]
    scale = np.float32(1.0) / np.float32(size * size)
    for idx in range(cuda.grid(1), dx.size, cuda.gridsize(1)):
        w = idx % width
        h = (idx // width) % height
        c = (idx // (width * height)) % n_ch
        n = idx // (width * height * n_ch)
        acc = np.float32(0.0)
        for oh in range(max(0, (h - size + stride) // stride), min(out_h, h // stride + 1)):
            for ow in range(max(0, (w - size + stride) // stride), min(out_w, w // stride + 1)):
                acc += dout[n, c, oh, ow]
        dx[n, c, h, w] = acc * scale


# --------------------------------------------------------------------------- loss


@cuda_jit
def softmax(probs, logits):
    """Row-wise stable softmax, one thread per row (rows are a handful of classes)."""
    n_rows, n_cls = logits.shape
    for r in range(cuda.grid(1), n_rows, cuda.gridsize(1)):
        m = logits[r, 0]
        for k in range(1, n_cls):
            m = max(m, logits[r, k])
        total = np.float32(0.0)
        for k in range(n_cls):
            e = math.exp(logits[r, k] - m)
            probs[r, k] = e
            total += e
        inv = np.float32(1.0) / total
        for k in range(n_cls):
            probs[r, k] *= inv


@cuda_jit
def softmax_cross_entropy(dlogits, row_loss, logits, labels):
    """row_loss[r] = CE of row r / N (summed on device by channel_sum);
    dlogits = (softmax - onehot) / N. Log-sum-exp keeps huge logits finite; NaN stays NaN."""
    n_rows, n_cls = logits.shape
    inv_n = np.float32(1.0) / np.float32(n_rows)
    for r in range(cuda.grid(1), n_rows, cuda.gridsize(1)):
        m = logits[r, 0]
        for k in range(1, n_cls):
            m = max(m, logits[r, k])
        total = np.float32(0.0)
        for k in range(n_cls):
            total += math.exp(logits[r, k] - m)
        log_z = m + math.log(total)
        y = labels[r]
        row_loss[r] = (log_z - logits[r, y]) * inv_n
        for k in range(n_cls):
            p = math.exp(logits[r, k] - log_z)
            onehot = np.float32(1.0) if k == y else np.float32(0.0)
            dlogits[r, k] = (p - onehot) * inv_n


# --------------------------------------------------------------------------- optimizers


@cuda_jit
def adam_update(param, grad, m, v, lr, beta1, one_m_beta1, beta2, one_m_beta2, eps,
                weight_decay, bias1, bias2):
    """In-place Adam on flat views; decoupled weight decay (AdamW); bias_k = 1 - beta_k^t.
    Scalars arrive as float32 (1 - beta precomputed on the host)."""
    for k in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        g = grad[k]
        mk = beta1 * m[k] + one_m_beta1 * g
        vk = beta2 * v[k] + one_m_beta2 * g * g
        m[k] = mk
        v[k] = vk
        step = lr * (mk / bias1) / (math.sqrt(vk / bias2) + eps)
        param[k] -= step + lr * weight_decay * param[k]


@cuda_jit
def sgd_update(param, grad, velocity, lr, momentum, weight_decay):
    """In-place SGD with heavy-ball momentum and L2 weight decay, on flat views."""
    for k in range(cuda.grid(1), param.size, cuda.gridsize(1)):
        g = grad[k] + weight_decay * param[k]
        vel = momentum * velocity[k] - lr * g
        velocity[k] = vel
        param[k] += vel
