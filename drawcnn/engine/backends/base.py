"""The backend interface and how a backend is chosen.

A backend implements the layer primitives on its own array type (NumPy arrays for the CPU
and the reference, device arrays for CUDA). ``Backend`` lists every method the layers,
the network and the optimizers call, with the one signature that the CPU, reference and
CUDA backends all implement; nothing probes a backend for optional methods.

Conventions: images are NCHW float32 (the CPU and reference backends also run float64 for
the gradient checks); a method returns arrays of its own backend type and accepts host
arrays where it says so. Forward methods that need state for backward return
``(out, cache)``; the cache is opaque and only handed back to the same backend's backward.
Backward methods return fresh gradient arrays; ``need_dx=False`` skips (returns None for)
the input gradient. Optimizer updates change ``p`` and their state arrays in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ...errors import BackendUnavailable


class Backend(Protocol):
    name: str

    # -- arrays
    def asarray(self, x) -> Any:
        """A contiguous array of this backend (host arrays are copied over; own arrays kept)."""

    def to_host(self, x) -> Any:
        """A host NumPy array with the values of ``x`` (own host arrays may be returned as is)."""

    #: ``Network.predict`` runs a batch larger than this as slices of this many images
    #: (None: whole), so each layer's output stays in cache (the CPU backend sets it).
    infer_chunk: int | None

    # -- convolution: x (N,C,H,W), W (F,C,k,k), b (F,) -> (N,F,OH,OW)
    def conv2d_forward(self, x, W, b, stride: int, pad: int,
                       relu: bool = False) -> tuple[Any, Any]:
        """(out, cache); ``relu=True`` returns relu(out), the ReLU layer that follows fused
        in (the cache, and so backward, is the same either way)."""

    def conv2d_backward(self, dout, cache, W, stride: int, pad: int, need_dx: bool = True,
                        relu_out=None) -> tuple[Any, Any, Any]:
        """(dx or None, dW, db). With ``relu_out`` (the output of a fused conv + ReLU
        forward) ``dout`` is the gradient of relu(conv): the ReLU's backward fused in."""

    # -- activations (any shape)
    def relu_forward(self, x) -> Any: ...

    def relu_backward(self, dout, out) -> Any:
        """dx from dout and the forward *output*."""

    # -- pooling: x (N,C,H,W) -> (N,C,OH,OW), windows size x size moved by stride, no padding
    def maxpool_forward(self, x, size: int, stride: int,
                        need_argmax: bool) -> tuple[Any, Any]:
        """(out, cache); with need_argmax=False (inference) no argmax is kept: cache is None."""

    def maxpool_backward(self, dout, cache, size: int, stride: int) -> Any: ...

    def avgpool_forward(self, x, size: int, stride: int) -> tuple[Any, Any]:
        """(out, cache)."""

    def avgpool_backward(self, dout, cache, size: int, stride: int) -> Any: ...

    # -- dense: x (N,K), W (K,M), b (M,) -> (N,M)
    def dense_forward(self, x, W, b) -> Any: ...

    def dense_backward(self, dout, x, W, need_dx: bool = True) -> tuple[Any, Any, Any]:
        """(dx or None, dW, db); ``x`` is the forward input."""

    # -- dropout: the same elementwise product forward and backward (mask: host or own array)
    def dropout_apply(self, x, mask) -> Any: ...

    # -- loss: logits (N,classes), labels (N,) int (host or own array)
    def softmax(self, logits) -> Any: ...

    def softmax_cross_entropy(self, logits, labels) -> tuple[float, Any]:
        """(mean cross-entropy as a host float, dlogits = (softmax - onehot) / N)."""

    # -- optimizers, in place on p and the state arrays; t is the 1-based step count
    def adam_update(self, p, g, m, v, lr: float, beta1: float, beta2: float, eps: float,
                    weight_decay: float, t: int) -> None: ...

    def sgd_update(self, p, g, vel, lr: float, momentum: float,
                   weight_decay: float) -> None: ...

    # -- a fused eval forward of one image (the live-drawing path)
    def single_image_plan(self, arch) -> Any:
        """An object whose ``run(params, x, capture=False)`` gives the logits (1, classes) of
        one host image x (C, H, W) float32, or with ``capture`` the per-layer outputs as
        ``Network.activations`` lists them; None where this backend has no such path for
        ``arch`` (the network then runs layer by layer)."""


#: Every method of the protocol, for the tests that check each backend implements them all.
BACKEND_METHODS = tuple(n for n in vars(Backend) if not n.startswith("_") and n != "name")


@dataclass(frozen=True)
class BackendChoice:
    """Which backend runs, and why (e.g. why ``auto`` fell back to the CPU)."""

    backend: Backend
    name: str
    reason: str


_INSTANCES: dict[str, Backend] = {}


def get_backend(name: str) -> Backend:
    """The backend called ``name`` ('cpu', 'reference', 'cuda'); raises BackendUnavailable."""
    if name in _INSTANCES:
        return _INSTANCES[name]
    if name == "cpu":
        from .cpu import CpuBackend

        inst: Backend = CpuBackend()
    elif name == "reference":
        from .reference import ReferenceBackend

        inst = ReferenceBackend()
    elif name == "cuda":
        from . import cuda_detect

        inst = cuda_detect.create_backend()  # raises BackendUnavailable with the reason
    else:
        raise BackendUnavailable(f"unknown backend {name!r} (choose auto, cpu, cuda or reference)")
    _INSTANCES[name] = inst
    return inst


def resolve_backend(name: str = "auto") -> BackendChoice:
    """Turn 'auto' | 'cpu' | 'cuda' | 'reference' into a backend plus a sentence saying why."""
    if name != "auto":
        return BackendChoice(get_backend(name), name, f"{name} requested")
    try:
        return BackendChoice(get_backend("cuda"), "cuda", "auto: a usable CUDA GPU was found")
    except BackendUnavailable as exc:
        return BackendChoice(get_backend("cpu"), "cpu", f"auto: using the CPU ({exc})")
