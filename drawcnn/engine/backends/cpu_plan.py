"""The CPU backend's single-image inference plan: one eval forward, fused, channels-last.

``predict`` and ``activations`` on one image are the live-drawing path. Layer by layer, a
batch-1 forward of the deep net spent more time around its three 3x3 convolutions than in
their GEMMs: the filters were Winograd-transformed again on every call, the input padded,
the batch-split machinery set up, ReLU and max-pool run as passes of their own, an array
allocated per op (README, "Speed"). A plan is built once per network for architectures of
the form

    [Conv 3x3 stride 1 pad 1, ReLU?, MaxPool 2x2?]+, Flatten, [Dense, ReLU?, Dropout?]+

(the deep net; the others keep the layer-by-layer path) and runs them as: the first
convolution as im2col + one GEMM, every further one by Winograd F(2x2, 3x3) with the
bias, ReLU and max-pool folded into its output transform, activations channels-last in
per-thread buffers whose zero border is the padding (cpu_plan_kernels.py), the 16 GEMMs
of a layer one NumPy matmul (BLAS), the dense layers as BLAS matrix-vector
products. The transformed filters are kept with a copy of the weights they came from and
redone when the weights differ (one compare per call: optimizers and ``set_params``
change the arrays in place).

Everything runs on the calling thread: splitting one image over the worker threads
measured slower (README, "Threads"), so results do not depend on the thread count.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .. import models
from . import cpu_kernels as K
from . import cpu_plan_kernels as P
from .cpu_winograd import filter_transform


class _Conv:
    """One convolution stage: conv (+ ReLU) (+ 2x2 max-pool), its layer names for captures."""

    def __init__(self, name, c, h, w, f, direct):
        self.name, self.c, self.h, self.w, self.f, self.direct = name, c, h, w, f, direct
        self.relu = None  # ReLU layer name, if one follows
        self.pool = None  # MaxPool layer name, if one follows
        self.tiles = (h // 2, w // 2)

    @property
    def out_hw(self):
        return (self.h // 2, self.w // 2) if self.pool else (self.h, self.w)


class SingleImagePlan:
    """Eval forward of one image through a supported architecture (see ``build``)."""

    def __init__(self, arch, convs, flatten, dense, tail):
        self.arch = arch
        self.convs: list[_Conv] = convs
        self.flatten: str = flatten
        self.dense: list[tuple[str, str | None]] = dense  # (dense name, ReLU name or None)
        self.identity: dict[str, str] = tail  # dropout name -> the layer whose output it is
        self._filters: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, arch) -> SingleImagePlan | None:
        """The plan for ``arch``, or None when its layers do not fit the pattern."""
        names = arch.layer_names()
        layers = list(zip(names, arch.layers))
        c, h, w = arch.input_shape
        convs: list[_Conv] = []
        i = 0
        while i < len(layers) and isinstance(layers[i][1], models.Conv):
            name, spec = layers[i]
            if (spec.kernel, spec.stride, spec.pad) != (3, 1, 1) or h % 2 or w % 2:
                return None
            direct = not convs
            if not direct and c < 8:
                return None
            conv = _Conv(name, c, h, w, spec.filters, direct)
            i += 1
            if i < len(layers) and isinstance(layers[i][1], models.ReLU):
                conv.relu = layers[i][0]
                i += 1
            if i < len(layers) and isinstance(layers[i][1], models.MaxPool):
                spec_p = layers[i][1]
                if spec_p.size != 2 or (spec_p.stride or 2) != 2 or direct:
                    return None
                conv.pool = layers[i][0]
                i += 1
            convs.append(conv)
            c, (h, w) = spec.filters, conv.out_hw
        if len(convs) < 2 or i >= len(layers) or not isinstance(layers[i][1], models.Flatten):
            return None  # the direct first convolution writes a Winograd stage's input
        flatten = layers[i][0]
        i += 1
        dense: list[tuple[str, str | None]] = []
        identity: dict[str, str] = {}
        last = flatten
        while i < len(layers):
            name, spec = layers[i]
            if isinstance(spec, models.Dense):
                dense.append((name, None))
                last = name
            elif isinstance(spec, models.ReLU) and dense and dense[-1][1] is None \
                    and last == dense[-1][0]:
                dense[-1] = (dense[-1][0], name)
                last = name
            elif isinstance(spec, models.Dropout):
                identity[name] = last
            else:
                return None
            i += 1
        if not dense or last != dense[-1][0]:
            return None  # ends in a ReLU or dropout: the logits would not be a Dense output
        return cls(arch, convs, flatten, dense, identity)

    # ------------------------------------------------------------------ cached filters
    def _transformed(self, conv: _Conv, W: np.ndarray) -> np.ndarray:
        """The filters of ``conv`` as its kernel reads them, redone when W changed."""
        entry = self._filters.get(conv.name)
        if entry is not None and entry[0].shape == W.shape and \
                not P.weights_differ(entry[0].reshape(-1), W.reshape(-1)):
            return entry[1]
        with self._lock:
            src = np.array(W, dtype=np.float32, order="C")  # transform the copy: consistent
            if conv.direct:  # (C*9, F): the GEMM's right-hand side
                t = np.ascontiguousarray(src.reshape(conv.f, conv.c * 9).T)
            else:
                u = np.empty((16, conv.f, conv.c), dtype=np.float32)
                filter_transform(u, src)  # the batch path's transform, in its (16, F, C)
                t = np.ascontiguousarray(u.transpose(0, 2, 1))  # (16, C, F) for the GEMMs
            self._filters[conv.name] = (src, t)
            flat = src.reshape(-1)
            P.weights_differ(flat, flat)  # compiled now (warm-up), not on the first reading
        return t

    # ------------------------------------------------------------------ buffers
    @staticmethod
    def _split_buffer(h, w, c):
        """A zero-padded channels-last (h, w, c) activation split by column parity (see
        cpu_plan_kernels.wino_input): (2, h+2, ((w+3)//2)*c), zero where nothing writes."""
        return np.zeros((2, h + 2, ((w + 3) // 2) * c), np.float32)

    def _buffers(self):
        """This thread's buffers, made on its first call: every stage's output (the next
        one's padded input, whose border stays zero: nothing writes there) and scratch."""
        bufs = getattr(self._local, "bufs", None)
        if bufs is not None:
            return bufs
        f32 = np.float32
        bufs = {}
        for k, conv in enumerate(self.convs):
            oh, ow = conv.out_hw
            bufs[("out", k)] = self._split_buffer(oh, ow, conv.f)
            if conv.direct:
                bufs[("pad", k)] = np.zeros((conv.c, conv.h + 2, conv.w + 2), f32)
                bufs[("cols", k)] = np.empty((conv.h * conv.w, conv.c * 9), f32)
                bufs[("Y", k)] = np.empty((conv.h * conv.w, conv.f), f32)
            else:
                th, tw = conv.tiles
                bufs[("V", k)] = np.empty((16, th * tw * conv.c), f32)
                bufs[("M", k)] = np.empty((16, th * tw * conv.f), f32)
                bufs[("R", k)] = np.empty((4, 2, (tw + 1) * conv.c), f32)
                bufs[("Y", k)] = np.empty((8, tw * conv.f), f32)
                bufs[("bt", k)] = np.empty(tw * conv.f, f32)
        last = self.convs[-1]
        oh, ow = last.out_hw
        bufs["flat"] = np.empty(oh * ow * last.f, f32)
        shapes = dict(zip(self.arch.layer_names(), self.arch.output_shapes()))
        for name, _ in self.dense:
            bufs[name] = np.empty(shapes[name][0], f32)
        self._local.bufs = bufs
        return bufs

    # ------------------------------------------------------------------ running
    def run(self, params: dict, x: np.ndarray, capture: bool = False, times=None,
            clock=time.perf_counter, head: bool = False):
        """Logits (1, classes) of one image x (C, H, W) float32; with ``capture`` the list
        [(layer name, (1, ...) output)] of every layer instead, as Network.activations; with
        ``head`` (logits, the Flatten layer's output (1, C*H*W)), for the novelty score.
        ``times``: a list that gets (stage, seconds by ``clock``) per fused stage, named by
        its layers ("conv2+relu2+pool1"), for ``drawcnn bench --layers``."""
        bufs = self._buffers()
        acts: list[tuple[str, np.ndarray]] = []
        src = None
        t0 = clock() if times is not None else 0.0

        def lap(label):
            nonlocal t0
            if times is not None:
                t1 = clock()
                times.append((label, t1 - t0))
                t0 = t1

        for k, conv in enumerate(self.convs):
            b = params[f"{conv.name}.b"]
            filt = self._transformed(conv, params[f"{conv.name}.W"])
            dst = bufs[("out", k)]
            relu = conv.relu is not None
            cap_c = np.empty((conv.f, conv.h, conv.w), np.float32) if capture else None
            if conv.direct:  # one GEMM (H*W, C*9) @ (C*9, F) on the 3x3 windows
                cols, Y = bufs[("cols", k)], bufs[("Y", k)]
                xp = bufs[("pad", k)]
                xp[:, 1:-1, 1:-1] = x  # the border stays zero
                P.im2col_taps(cols, xp)
                np.matmul(cols, filt, out=Y)
                P.rows_out(dst, Y, b, relu, conv.w)
                if capture:
                    P.rows_to_nchw(cap_c.reshape(conv.f, -1), Y, b)
            else:
                V, M = bufs[("V", k)], bufs[("M", k)]
                P.wino_input(V, src, bufs[("R", k)], conv.c)
                # 16 GEMMs M[e] (T, F) = V[e] (T, C) @ U[e] (C, F), one call
                np.matmul(V.reshape(16, -1, conv.c), filt, out=M.reshape(16, -1, conv.f))
                # bias, ReLU and pool fused, straight into the next stage's input
                P.wino_output(dst, M, b, bufs[("bt", k)], bufs[("Y", k)], conv.f,
                              conv.tiles[1], relu, conv.pool is not None)
                if capture:  # and the convolution alone, for its capture
                    full = bufs.get(("full", k))
                    if full is None:  # made on the first activations call, kept
                        full = bufs[("full", k)] = self._split_buffer(conv.h, conv.w, conv.f)
                    P.wino_output(full, M, b, bufs[("bt", k)], bufs[("Y", k)], conv.f,
                                  conv.tiles[1], False, False)
                    P.split_to_nchw(cap_c, full)
            if capture:
                acts.append((conv.name, cap_c[None]))
                if relu:
                    cap_r = np.empty_like(cap_c)
                    K.relu_forward_serial(cap_r.reshape(-1), cap_c.reshape(-1))
                    acts.append((conv.relu, cap_r[None]))
                if conv.pool:
                    cap_p = np.empty((conv.f, *conv.out_hw), np.float32)
                    P.split_to_nchw(cap_p, dst)
                    acts.append((conv.pool, cap_p[None]))
            src = dst
            lap("+".join(n for n in (conv.name, conv.relu, conv.pool) if n))
        last = self.convs[-1]
        oh, ow = last.out_hw
        flat = bufs["flat"]
        P.split_to_nchw(flat.reshape(last.f, oh, ow), src)
        lap(self.flatten)
        if capture:
            acts.append((self.flatten, flat[None].copy()))
        h = flat
        for name, relu in self.dense:  # BLAS matrix-vector product, bias, ReLU in place
            out = bufs[name]
            np.matmul(h, params[f"{name}.W"], out=out)
            out += params[f"{name}.b"]
            if capture:
                acts.append((name, out[None].copy()))
            if relu:
                K.relu_forward_serial(out, out)
                if capture:
                    acts.append((relu, out[None].copy()))
            h = out
            lap(f"{name}+{relu}" if relu else name)
        if not capture:
            return (h[None].copy(), flat[None].copy()) if head else h[None].copy()
        by_name = dict(acts)
        for drop, src in self.identity.items():
            by_name[drop] = by_name[src]
        return [(name, by_name[name]) for name in self.arch.layer_names()]
