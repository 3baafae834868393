"""The backend interface and how a backend is chosen.

A backend implements the layer primitives on its own array type. Every method is listed in
``Backend``; the CPU, reference and CUDA backends implement the same names, so layers and
the tests are written once. Forward methods that need state for backward return
``(out, cache)``; the cache is opaque and only passed back to the same backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ...errors import BackendUnavailable


class Backend(Protocol):
    name: str

    def asarray(self, x) -> Any: ...
    def to_host(self, x) -> Any: ...
    def conv2d_forward(self, x, W, b, stride, pad) -> tuple[Any, Any]: ...
    def conv2d_backward(self, dout, cache, W, stride, pad, need_dx=True) -> tuple: ...
    def relu_forward(self, x) -> Any: ...
    def relu_backward(self, dout, out) -> Any: ...
    def maxpool_forward(self, x, size, stride) -> tuple[Any, Any]: ...
    def maxpool_backward(self, dout, cache, size, stride) -> Any: ...
    def avgpool_forward(self, x, size, stride) -> tuple[Any, Any]: ...
    def avgpool_backward(self, dout, cache, size, stride) -> Any: ...
    def dense_forward(self, x, W, b) -> Any: ...
    def dense_backward(self, dout, x, W, need_dx=True) -> tuple: ...
    def dropout_apply(self, x, mask) -> Any: ...
    def softmax(self, logits) -> Any: ...
    def softmax_cross_entropy(self, logits, labels) -> tuple[float, Any]: ...
    def adam_update(self, p, g, m, v, lr, beta1, beta2, eps, weight_decay, t) -> None: ...
    def sgd_update(self, p, g, vel, lr, momentum, weight_decay) -> None: ...


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
        try:
            from . import cuda
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise BackendUnavailable(f"CUDA backend not installed: {exc}") from exc
        inst = cuda.create_backend()  # raises BackendUnavailable with the reason
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
