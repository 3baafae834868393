"""Backends: one interface (see base.py), several implementations.

``get_backend("cpu")`` gives the Numba kernels, ``"reference"`` the NumPy oracle,
``"cuda"`` the numba.cuda kernels when a usable GPU exists; ``"auto"`` picks.
"""

from .base import BackendChoice, get_backend, resolve_backend

__all__ = ["BackendChoice", "get_backend", "resolve_backend"]
