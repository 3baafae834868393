"""The CUDA backend: numba.cuda kernels (cuda_kernels.py, cuda_gemm.py) on device arrays.

Arrays stay on the GPU for a whole training step: ``asarray`` uploads a host array once
(device arrays pass through), every method returns device arrays, and only ``to_host``
(called by the network for what it hands out) copies back. Convolution is im2col + the
tiled GEMM, as on the CPU; backward reuses the forward's column matrix. The loss is summed
on the device and only its one float crosses the bus.

A backend is made by ``cuda_detect.create_backend()``, which checks that a usable GPU (or
Numba's simulator, under NUMBA_ENABLE_CUDASIM=1) is there and says why not otherwise.
"""

from __future__ import annotations

import numpy as np

from ..shapes import conv_out_size, pool_out_size


def _f32(x) -> np.float32:
    return np.float32(x)


class CudaBackend:
    """numba.cuda kernels on device arrays (``DeviceNDArray``, or the simulator's fake)."""

    name = "cuda"
    infer_chunk = None  # a GPU wants the whole batch

    def __init__(self, cuda_module, kernels, gemm_kernels, device_name: str):
        self._cuda = cuda_module
        self.K = kernels  # cuda_kernels: elementwise, im2col/col2im, pooling, loss, optimizers
        self.G = gemm_kernels  # cuda_gemm: the tiled GEMM and the block reductions
        self.device_name = device_name
        self.simulator = kernels.SIMULATOR
        # grid-stride kernels: any launch is correct; the simulator gets tiny launches
        self._threads = 16 if self.simulator else 256
        self._max_blocks = 4 if self.simulator else 4096
        self._gemm_grid_cap = (1, 1, 1) if self.simulator else (1 << 30, 65535, 65535)
        # conv dW sums over the batch: S partial GEMMs run side by side, then one add
        self._batch_split = 2 if self.simulator else 32
        self._dummy_bias = None

    # -- arrays
    def _is_device(self, x) -> bool:
        return hasattr(x, "copy_to_host")

    def asarray(self, x):
        """A device array: host arrays are uploaded (C-contiguous), device arrays kept."""
        if self._is_device(x):
            return x
        if hasattr(x, "__cuda_array_interface__"):  # CuPy / PyTorch tensors, zero-copy
            return self._cuda.as_cuda_array(x)
        return self._cuda.to_device(np.ascontiguousarray(x))

    def to_host(self, x):
        """A host NumPy copy of a device array (host arrays are returned as they are)."""
        if self._is_device(x):
            return x.copy_to_host()
        return np.asarray(x)

    def _empty(self, shape, dtype=np.float32):
        return self._cuda.device_array(shape, dtype=dtype)

    # -- launching
    def _launch(self, kernel, n: int, *args) -> None:
        """A 1-D grid-stride kernel over ``n`` items."""
        blocks = max(1, min((n + self._threads - 1) // self._threads, self._max_blocks))
        kernel[blocks, self._threads](*args)

    def _gemm(self, c, a, b, trans_a=False, trans_b=False, sum_batch=False, bias=None,
              bias_mode=0) -> None:
        """c[z] = op(a[z]) @ op(b[z]) (+bias); all three 3-D, see cuda_kernels.gemm."""
        tile = self.G.TILE
        m, n = c.shape[1], c.shape[2]
        cap = self._gemm_grid_cap
        grid = (min((n + tile - 1) // tile, cap[0]), min((m + tile - 1) // tile, cap[1]),
                min(c.shape[0], cap[2]))
        if bias is None:
            if self._dummy_bias is None:
                self._dummy_bias = self._empty((1,))
            bias = self._dummy_bias
        self.G.gemm[grid, (tile, tile)](c, a, b, trans_a, trans_b, sum_batch, bias, bias_mode)

    def _channel_sum(self, x3):
        """(N, F, P) -> (F,) summed over N and P, on the device."""
        out = self._empty((x3.shape[1],))
        blocks = max(1, min(x3.shape[1], self._max_blocks))
        self.G.channel_sum[blocks, self.G.RED](out, x3)
        return out

    # -- convolution
    def conv2d_forward(self, x, W, b, stride, pad, relu=False):
        x = self.asarray(x)
        n, c, h, w = x.shape
        f, _, kh, kw = W.shape
        oh, ow = conv_out_size(h, kh, stride, pad), conv_out_size(w, kw, stride, pad)
        ckk = c * kh * kw
        cols = self._empty((n, ckk, oh * ow))
        self._launch(self.K.im2col, cols.size, cols, x, kh, kw, stride, pad)
        out = self._empty((n, f, oh * ow))
        # (1, F, CKK) @ (N, CKK, P) -> (N, F, P), + b[f]
        self._gemm(out, W.reshape(1, f, ckk), cols, bias=b, bias_mode=1)
        out = out.reshape(n, f, oh, ow)
        return (self.relu_forward(out) if relu else out), (x.shape, cols)

    def conv2d_backward(self, dout, cache, W, stride, pad, need_dx=True, relu_out=None):
        x_shape, cols = cache
        dout = self.asarray(dout)
        if relu_out is not None:
            dout = self.relu_backward(dout, relu_out)
        n, f, oh, ow = dout.shape
        d3 = dout.reshape(n, f, oh * ow)
        ckk = cols.shape[1]
        db = self._channel_sum(d3)
        # sum_n dout[n] (F, P) @ cols[n]^T (P, CKK), split into partial sums over the batch
        parts = self._empty((min(n, self._batch_split), f, ckk))
        self._gemm(parts, d3, cols, trans_b=True, sum_batch=True)
        if parts.shape[0] == 1:
            dW = parts
        else:
            dW = self._empty((f * ckk,))
            self._launch(self.G.sum_axis0, f * ckk, dW, parts.reshape(parts.shape[0], f * ckk))
        dx = None
        if need_dx:
            dcols = self._empty((n, ckk, oh * ow))
            # W^T (CKK, F) @ dout[n] (F, P)
            self._gemm(dcols, W.reshape(1, f, ckk), d3, trans_a=True)
            dx = self._empty(x_shape)
            self._launch(self.K.col2im, dx.size, dx, dcols, W.shape[2], W.shape[3], stride,
                         pad)
        return dx, dW.reshape(W.shape), db

    # -- activations
    def relu_forward(self, x):
        x = self.asarray(x)
        out = self._empty(x.shape)
        self._launch(self.K.relu_forward, x.size, out.reshape(-1), x.reshape(-1))
        return out

    def relu_backward(self, dout, out):
        dout = self.asarray(dout)
        dx = self._empty(out.shape)
        self._launch(self.K.relu_backward, dx.size, dx.reshape(-1), dout.reshape(-1),
                     out.reshape(-1))
        return dx

    # -- pooling
    def _pool_out(self, x, size, stride):
        n, c, h, w = x.shape
        return self._empty((n, c, pool_out_size(h, size, stride), pool_out_size(w, size, stride)))

    def maxpool_forward(self, x, size, stride, need_argmax):
        x = self.asarray(x)
        out = self._pool_out(x, size, stride)
        if not need_argmax:  # inference: no argmax bookkeeping
            self._launch(self.K.maxpool_forward_eval, out.size, out, x, size, stride)
            return out, None
        argmax = self._empty(out.shape, np.int32)
        self._launch(self.K.maxpool_forward, out.size, out, argmax, x, size, stride)
        return out, (x.shape, argmax)

    def maxpool_backward(self, dout, cache, size, stride):
        x_shape, argmax = cache
        dx = self._empty(x_shape)
        self._launch(self.K.maxpool_backward, dx.size, dx, self.asarray(dout), argmax, size,
                     stride)
        return dx

    def avgpool_forward(self, x, size, stride):
        x = self.asarray(x)
        out = self._pool_out(x, size, stride)
        self._launch(self.K.avgpool_forward, out.size, out, x, size, stride)
        return out, x.shape

    def avgpool_backward(self, dout, cache, size, stride):
        dx = self._empty(cache)
        self._launch(self.K.avgpool_backward, dx.size, dx, self.asarray(dout), size, stride)
        return dx

    # -- dense
    def dense_forward(self, x, W, b):
        x = self.asarray(x)
        n, k = x.shape
        m = W.shape[1]
        out = self._empty((1, n, m))
        self._gemm(out, x.reshape(1, n, k), W.reshape(1, k, m), bias=b, bias_mode=2)
        return out.reshape(n, m)

    def dense_backward(self, dout, x, W, need_dx=True):
        dout = self.asarray(dout)
        n, m = dout.shape
        k = W.shape[0]
        d3 = dout.reshape(1, n, m)
        dW = self._empty((1, k, m))
        self._gemm(dW, x.reshape(1, n, k), d3, trans_a=True)  # x^T @ dout
        db = self._channel_sum(dout.reshape(n, m, 1))
        dx = None
        if need_dx:
            dx = self._empty((1, n, k))
            self._gemm(dx, d3, W.reshape(1, k, m), trans_b=True)  # dout @ W^T
            dx = dx.reshape(n, k)
        return dx, dW.reshape(k, m), db

    # -- dropout
    def dropout_apply(self, x, mask):
        x, mask = self.asarray(x), self.asarray(mask)
        out = self._empty(x.shape)
        self._launch(self.K.scale_mask, out.size, out.reshape(-1), x.reshape(-1),
                     mask.reshape(-1))
        return out

    # -- loss
    def softmax(self, logits):
        logits = self.asarray(logits)
        probs = self._empty(logits.shape)
        self._launch(self.K.softmax, logits.shape[0], probs, logits)
        return probs

    def softmax_cross_entropy(self, logits, labels):
        logits = self.asarray(logits)
        n = logits.shape[0]
        labels = labels if self._is_device(labels) else np.ascontiguousarray(labels, np.int64)
        labels = self.asarray(labels)
        dlogits = self._empty(logits.shape)
        row_loss = self._empty((n,))
        self._launch(self.K.softmax_cross_entropy, n, dlogits, row_loss, logits, labels)
        loss = self._channel_sum(row_loss.reshape(1, 1, n))  # mean: rows are pre-scaled
        return float(loss.copy_to_host()[0]), dlogits

    # -- optimizers (in place, flat views of contiguous device arrays)
    def adam_update(self, p, g, m, v, lr, beta1, beta2, eps, weight_decay, t):
        b1, b2 = 1.0 - beta1**t, 1.0 - beta2**t
        self._launch(self.K.adam_update, p.size, p.reshape(-1), self.asarray(g).reshape(-1),
                     m.reshape(-1), v.reshape(-1), _f32(lr), _f32(beta1), _f32(1.0 - beta1),
                     _f32(beta2), _f32(1.0 - beta2), _f32(eps), _f32(weight_decay), _f32(b1),
                     _f32(b2))

    def sgd_update(self, p, g, vel, lr, momentum, weight_decay):
        self._launch(self.K.sgd_update, p.size, p.reshape(-1), self.asarray(g).reshape(-1),
                     vel.reshape(-1), _f32(lr), _f32(momentum), _f32(weight_decay))

    def single_image_plan(self, arch):
        return None  # one image runs layer by layer on the device

    def __repr__(self) -> str:
        return f"<CudaBackend on {self.device_name}>"
