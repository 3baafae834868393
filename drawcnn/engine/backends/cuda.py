"""The CUDA backend: numba.cuda kernels from cuda_kernels.py on device arrays.

Arrays stay on the GPU for a whole training step: ``asarray`` uploads a host array once
(device arrays pass through), every method returns device arrays, and only ``to_host``
(called by the network for what it hands out) copies back. Convolution is im2col + the
tiled GEMM, as on the CPU; backward reuses the forward's column matrix. The loss is summed
on the device and only its one float crosses the bus.

``create_backend()`` is the only entry point: it imports numba.cuda (NVIDIA's numba-cuda
if installed, else the deprecated copy inside numba), checks the driver and the device,
then compiles and launches a probe kernel, and raises BackendUnavailable with a sentence
saying what is missing. Under NUMBA_ENABLE_CUDASIM=1 the same code runs in Numba's
simulator (kernels as Python threads: correct, very slow; tests use tiny shapes).
"""

from __future__ import annotations

import numpy as np

from ...errors import BackendUnavailable

_INSTALL_HINT = 'install the CUDA extra: pip install "drawcnn[cuda]"'


def conv_out_size(size: int, k: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - k) // stride + 1


def _f32(x) -> np.float32:
    return np.float32(x)


class CudaBackend:
    """numba.cuda kernels on device arrays (``DeviceNDArray``, or the simulator's fake)."""

    name = "cuda"

    def __init__(self, cuda_module, kernels, device_name: str):
        self._cuda = cuda_module
        self.K = kernels
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
        tile = self.K.TILE
        m, n = c.shape[1], c.shape[2]
        cap = self._gemm_grid_cap
        grid = (min((n + tile - 1) // tile, cap[0]), min((m + tile - 1) // tile, cap[1]),
                min(c.shape[0], cap[2]))
        if bias is None:
            if self._dummy_bias is None:
                self._dummy_bias = self._empty((1,))
            bias = self._dummy_bias
        self.K.gemm[grid, (tile, tile)](c, a, b, trans_a, trans_b, sum_batch, bias, bias_mode)

    def _channel_sum(self, x3):
        """(N, F, P) -> (F,) summed over N and P, on the device."""
        out = self._empty((x3.shape[1],))
        blocks = max(1, min(x3.shape[1], self._max_blocks))
        self.K.channel_sum[blocks, self.K.RED](out, x3)
        return out

    # -- convolution
    def conv2d_forward(self, x, W, b, stride, pad):
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
        return out.reshape(n, f, oh, ow), (x.shape, cols)

    def conv2d_backward(self, dout, cache, W, stride, pad, need_dx=True):
        x_shape, cols = cache
        dout = self.asarray(dout)
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
            self._launch(self.K.sum_axis0, f * ckk, dW, parts.reshape(parts.shape[0], f * ckk))
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
    def maxpool_forward(self, x, size, stride):
        x = self.asarray(x)
        n, c, h, w = x.shape
        oh, ow = conv_out_size(h, size, stride, 0), conv_out_size(w, size, stride, 0)
        out = self._empty((n, c, oh, ow))
        argmax = self._empty((n, c, oh, ow), np.int32)
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
        n, c, h, w = x.shape
        oh, ow = conv_out_size(h, size, stride, 0), conv_out_size(w, size, stride, 0)
        out = self._empty((n, c, oh, ow))
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

    def __repr__(self) -> str:
        return f"<CudaBackend on {self.device_name}>"


# ------------------------------------------------------------------------------ detection


def _import_cuda():
    try:
        import numba.cuda as cuda
    except Exception as exc:  # ImportError, or a broken numba-cuda install
        raise BackendUnavailable(f"numba.cuda cannot be imported ({type(exc).__name__}: "
                                 f"{exc}); {_INSTALL_HINT}") from exc
    return cuda


def _driver_reason(cuda) -> str | None:
    """None when a driver, a device and NVVM are there, else why not."""
    try:
        if cuda.is_available():
            return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"CUDA initialisation failed ({type(exc).__name__}: {exc})"
    err = cuda.cuda_error() if hasattr(cuda, "cuda_error") else None
    if err:
        text = " ".join(str(err).split())
        low = text.lower()
        if "cannot be found" in low or "not found" in low or "no such file" in low:
            return f"no NVIDIA driver found ({text})"
        return f"the NVIDIA driver failed to initialise ({text})"
    try:
        n_dev = len(cuda.list_devices())
    except Exception as exc:  # pragma: no cover
        return f"cannot list CUDA devices ({type(exc).__name__}: {exc})"
    if n_dev == 0:
        return "no CUDA GPU found (the NVIDIA driver loaded but reports no device)"
    return ("NVVM, the CUDA compiler library, was not found: install the CUDA toolkit or "
            "pip install \"numba-cuda[cu12]\"")  # pragma: no cover - needs a GPU


def _device_name(cuda, simulator: bool) -> str:
    if simulator:
        return "the Numba CUDA simulator"
    try:
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        return f"{name} (compute capability {dev.compute_capability[0]}."\
               f"{dev.compute_capability[1]})"
    except Exception:  # pragma: no cover
        return "a CUDA GPU"


def create_backend() -> CudaBackend:
    """A working CUDA backend, or BackendUnavailable saying why there is none."""
    cuda = _import_cuda()
    try:
        from . import cuda_kernels as K
    except BackendUnavailable:
        raise
    except Exception as exc:
        raise BackendUnavailable(f"the CUDA kernels cannot be loaded ({type(exc).__name__}: "
                                 f"{exc})") from exc
    if not K.SIMULATOR:
        reason = _driver_reason(cuda)
        if reason is not None:
            raise BackendUnavailable(reason)
    try:  # compile + launch one tiny kernel: catches missing NVVM/libdevice, old drivers
        out = cuda.device_array(32, dtype=np.float32)
        K.probe[1, 32](out)
        got = out.copy_to_host()
    except Exception as exc:
        msg = " ".join(str(exc).split())[:300]
        raise BackendUnavailable(f"a CUDA kernel failed to compile or launch "
                                 f"({type(exc).__name__}: {msg})") from exc
    if not np.array_equal(got, 2 * np.arange(32, dtype=np.float32)):
        raise BackendUnavailable("the CUDA probe kernel returned wrong results")
    return CudaBackend(cuda, K, _device_name(cuda, K.SIMULATOR))
