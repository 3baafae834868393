"""Output sizes of sliding-window layers, written once for the architecture checks, the
backends and the tests (the kernels recompute the same formula inside compiled code)."""

from __future__ import annotations


def conv_out_size(size: int, k: int, stride: int, pad: int) -> int:
    """Output length along one axis of a ``k``-wide window sliding by ``stride`` over
    ``size`` inputs zero-padded by ``pad`` on both sides (floor: a partial window is dropped)."""
    return (size + 2 * pad - k) // stride + 1


def pool_out_size(size: int, window: int, stride: int) -> int:
    """Output length of a pooling window (no padding)."""
    return conv_out_size(size, window, stride, 0)
