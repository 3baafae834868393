"""Optimizers: SGD (+momentum) and Adam (+decoupled weight decay), updating in place.

State (momentum, moments) is keyed by parameter name and lives on the same backend as the
parameters; the update itself is one backend kernel per parameter array.
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    def __init__(self, lr: float, weight_decay: float = 0.0):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight decay must be >= 0, got {weight_decay}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.state: dict[str, tuple] = {}
        self.t = 0

    def _zeros_like(self, p, backend):
        return backend.asarray(np.zeros(np.shape(p), dtype=np.float32))

    def step(self, params: dict, grads: dict, backend) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        self.state.clear()
        self.t = 0


class SGD(Optimizer):
    """SGD with heavy-ball momentum (0 for plain SGD) and L2 weight decay."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)

    def step(self, params, grads, backend):
        self.t += 1
        for key, p in params.items():
            if key not in self.state:
                self.state[key] = (self._zeros_like(p, backend),)
            (vel,) = self.state[key]
            backend.sgd_update(p, grads[key], vel, self.lr, self.momentum, self.weight_decay)

    def __repr__(self):
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


class Adam(Optimizer):
    """Adam with bias correction; ``weight_decay`` is decoupled (AdamW)."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def step(self, params, grads, backend):
        self.t += 1
        for key, p in params.items():
            if key not in self.state:
                self.state[key] = (self._zeros_like(p, backend), self._zeros_like(p, backend))
            m, v = self.state[key]
            backend.adam_update(p, grads[key], m, v, self.lr, self.beta1, self.beta2, self.eps,
                                self.weight_decay, self.t)

    def __repr__(self):
        return f"Adam(lr={self.lr}, weight_decay={self.weight_decay})"


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0) -> Optimizer:
    """'adam' | 'sgd' -> an optimizer (the CLI and the GUI's train dialog use this)."""
    name = name.lower()
    if name == "adam":
        return Adam(lr=lr, weight_decay=weight_decay)
    if name in ("sgd", "momentum"):
        return SGD(lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r} (choose adam or sgd)")
