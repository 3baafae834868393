"""The CPU backend: Numba kernels (cpu_kernels.py, cpu_conv_kernels.py) plus BLAS GEMMs.
Convolution dispatch lives in cpu_conv.py (CpuConvolution, a base class of CpuBackend).

Convolution, stride 1 with at least SHIFT_MIN_CHANNELS input channels (the deep net's 3x3
layers): forward, dx and dW by Winograd F(2x2, 3x3) for 3x3 kernels (cpu_winograd.py,
2.25x fewer multiplications), other kernel sizes by k*k shifted GEMMs on a padded copy of
the input, no column matrix (cpu_shift_conv.py). Otherwise im2col + GEMM: a chunk of
images becomes one column matrix (C*k*k, images*positions), so forward and both backward
products are one large GEMM per chunk; chunks are cache-sized and backward rebuilds the
columns instead of storing them (few filters: the grid layout, cpu_im2col_s1.py). The bias
and a fused ReLU are applied as the GEMM result is unpacked, and the ReLU's backward as
dY is packed (Network.forward pairs each conv with its ReLU). All split the batch over
WORKERS threads; in float32 (with NumPy 2's ILP64 OpenBLAS) a thread's whole slice is one
nogil kernel call, BLAS included (cpu_im2col_fused.py, cpu_winograd.forward_slice): with a
Python loop per chunk the two threads spent their time handing the GIL over. Scratch buffers
are per-thread workspaces. Other ops touching fewer than PAR_WORK elements run their serial
twins (waking threads costs more than that much work); bigger ones run the serial twin on
slices over the same threads (cpu_threads.py).
"""

from __future__ import annotations

import numpy as np

from ..shapes import pool_out_size
from . import cpu_kernels as K
from . import cpu_plan
from . import cpu_pool2 as P2
from .cpu_conv import CpuConvolution
from .cpu_threads import PAR_WORK, SERIAL_PARAM_SIZE, WORKERS, in_parts, run_op


class CpuBackend(CpuConvolution):
    """Numba kernels (serial, or split over the worker threads) and BLAS on host arrays."""

    name = "cpu"
    # predict in slices of this many images: each layer's output stays in L2, and the
    # allocator reuses its blocks (a whole batch of 256 page-faulted ~5 MB per call, 30%
    # of LeNet's inference time, measured with getrusage)
    infer_chunk = 64

    # -- arrays
    def asarray(self, x):
        return np.ascontiguousarray(x)

    def to_host(self, x):
        return x

    # -- activations
    def relu_forward(self, x):
        out = np.empty_like(x)
        run_op(K.relu_forward, K.relu_forward_serial, x.size >= PAR_WORK, out.reshape(-1),
             x.reshape(-1), split=2)
        return out

    def relu_backward(self, dout, out):
        dx = np.empty_like(out)
        dout = np.ascontiguousarray(dout)
        run_op(K.relu_backward, K.relu_backward_serial, out.size >= PAR_WORK, dx.reshape(-1),
             dout.reshape(-1), out.reshape(-1), split=3)
        return dx

    # -- pooling
    def _pool_out(self, x, size, stride):
        n, c, h, w = x.shape
        shape = (n, c, pool_out_size(h, size, stride), pool_out_size(w, size, stride))
        return np.empty(shape, dtype=x.dtype)

    def maxpool_forward(self, x, size, stride, need_argmax):
        out = self._pool_out(x, size, stride)
        parallel = x.size >= PAR_WORK
        if size == stride == 2:  # the shipped networks' pools: unrolled, int8 winner codes
            if not need_argmax:
                run_op(P2.maxpool2_forward_eval, P2.maxpool2_forward_eval, parallel, out, x,
                       split=2)
                return out, None
            code = np.empty(out.shape, dtype=np.int8)
            run_op(P2.maxpool2_forward, P2.maxpool2_forward, parallel, out, code, x, split=3)
            return out, (x.shape, code)
        if not need_argmax:  # inference: no argmax bookkeeping
            run_op(K.maxpool_forward_eval, K.maxpool_forward_eval_serial, parallel, out, x, size,
                 stride, split=2)
            return out, None
        argmax = np.empty(out.shape, dtype=np.int32)
        run_op(K.maxpool_forward, K.maxpool_forward_serial, parallel, out, argmax, x, size, stride,
             split=3)
        return out, (x.shape, argmax)

    def maxpool_backward(self, dout, cache, size, stride):
        x_shape, argmax = cache
        dx = np.empty(x_shape, dtype=dout.dtype)
        if argmax.dtype == np.int8:  # from the 2x2 kernel
            run_op(P2.maxpool2_backward, P2.maxpool2_backward, dout.size * 4 >= PAR_WORK, dx,
                   np.ascontiguousarray(dout), argmax, split=3)
            return dx
        run_op(K.maxpool_backward, K.maxpool_backward_serial, dout.size * 4 >= PAR_WORK, dx,
             np.ascontiguousarray(dout), argmax, size, stride, split=3)
        return dx

    def avgpool_forward(self, x, size, stride):
        out = self._pool_out(x, size, stride)
        run_op(K.avgpool_forward, K.avgpool_forward_serial, x.size >= PAR_WORK, out, x, size,
             stride, split=2)
        return out, x.shape

    def avgpool_backward(self, dout, cache, size, stride):
        dx = np.empty(cache, dtype=dout.dtype)
        run_op(K.avgpool_backward, K.avgpool_backward_serial, dout.size * 4 >= PAR_WORK, dx,
             np.ascontiguousarray(dout), size, stride, split=2)
        return dx

    # -- dense
    def dense_forward(self, x, W, b):
        out = x @ W
        run_op(K.add_row_bias, K.add_row_bias_serial, out.size >= PAR_WORK, out, b, split=1)
        return out

    # dense backward's two GEMMs run side by side on two threads above this many multiply-adds
    # (BLAS is single-threaded: the deep net's fc1 backward, 2 x 80 MFLOP, left one core idle)
    DENSE_PAIR_WORK = 1 << 21

    def dense_backward(self, dout, x, W, need_dx=True):
        res = {}

        def part(lo, hi):  # part 0: dW and db; part 1: dx (each the same GEMM as alone)
            if lo == 0:
                res["dW"] = x.T @ dout
                res["db"] = dout.sum(axis=0)
            if hi == 2:
                res["dx"] = dout @ W.T if need_dx else None

        pair = need_dx and WORKERS > 1 and x.size * dout.shape[1] >= self.DENSE_PAIR_WORK
        in_parts(2, 2 if pair else 1, part)
        return res["dx"], res["dW"], res["db"]

    # -- dropout
    def dropout_apply(self, x, mask):
        out = np.empty_like(x)
        run_op(K.scale_mask, K.scale_mask_serial, x.size >= PAR_WORK, out.reshape(-1),
             np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(mask).reshape(-1), split=3)
        return out

    # -- loss
    def softmax(self, logits):
        probs = np.empty_like(logits)
        K.softmax(probs, np.ascontiguousarray(logits))
        return probs

    def softmax_cross_entropy(self, logits, labels):
        dlogits = np.empty_like(logits)
        row_loss = np.empty(logits.shape[0], dtype=np.float64)
        K.softmax_cross_entropy(dlogits, row_loss, np.ascontiguousarray(logits),
                                np.ascontiguousarray(labels, dtype=np.int64))
        return float(row_loss.sum()), dlogits

    # -- one image, eval: fused channels-last forward (cpu_plan.py) for the deep net's shape
    def single_image_plan(self, arch):
        return cpu_plan.SingleImagePlan.build(arch)

    # -- optimizers (in place, flat views of contiguous arrays)
    def adam_update(self, p, g, m, v, lr, beta1, beta2, eps, weight_decay, t):
        b1, b2 = 1.0 - beta1**t, 1.0 - beta2**t
        s = p.dtype.type  # scalars in the parameters' precision: Python floats would make
        # the kernel compute in float64 (1.6x slower for float32 parameters)
        run_op(K.adam_update, K.adam_update_serial, p.size >= SERIAL_PARAM_SIZE, p.reshape(-1),
             np.ascontiguousarray(g).reshape(-1), m.reshape(-1), v.reshape(-1),
             s(lr), s(beta1), s(1.0 - beta1), s(beta2), s(1.0 - beta2), s(eps),
             s(weight_decay), s(b1), s(b2), split=4)

    def sgd_update(self, p, g, vel, lr, momentum, weight_decay):
        s = p.dtype.type
        run_op(K.sgd_update, K.sgd_update_serial, p.size >= SERIAL_PARAM_SIZE, p.reshape(-1),
             np.ascontiguousarray(g).reshape(-1), vel.reshape(-1), s(lr), s(momentum),
             s(weight_decay), split=3)
