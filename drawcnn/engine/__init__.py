"""The drawcnn CNN engine: NumPy + Numba only (never imports Qt).

>>> from drawcnn.engine import build_network, load_network, Adam, SGD
>>> net = build_network("lenet", seed=0)
>>> p = net.predict(x)            # (N,1,28,28) float32 in [0,1] -> (N,10)
>>> acts = net.activations(x)     # [(layer_name, output), ...]
>>> loss = net.train_step(x, y, Adam(lr=1e-3))
"""

from ..errors import (
    ArchitectureError,
    BackendUnavailable,
    DrawCNNError,
    TrainingDiverged,
    WeightsError,
)
from . import runtime  # noqa: F401  (must configure Numba first)
from .backends import get_backend, resolve_backend
from .models import Architecture
from .network import LayerInfo, Network, build_network
from .optim import SGD, Adam, Optimizer, make_optimizer
from .presets import ARCHITECTURES, DEFAULT_ARCHITECTURE, get_architecture
from .train import BatchInfo, EpochInfo, EvalResult, History, evaluate, fit
from .weights import load_network, read_weights, save_network

__all__ = [
    "ARCHITECTURES",
    "BatchInfo",
    "DEFAULT_ARCHITECTURE",
    "EpochInfo",
    "EvalResult",
    "History",
    "Adam",
    "Architecture",
    "ArchitectureError",
    "BackendUnavailable",
    "DrawCNNError",
    "LayerInfo",
    "Network",
    "Optimizer",
    "SGD",
    "TrainingDiverged",
    "WeightsError",
    "build_network",
    "evaluate",
    "fit",
    "get_architecture",
    "get_backend",
    "load_network",
    "make_optimizer",
    "read_weights",
    "resolve_backend",
    "save_network",
]
