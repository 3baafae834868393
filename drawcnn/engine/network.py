"""Network: ordered named layers over a flat parameter dict; predict, activations, training.

``predict`` and ``activations`` run in eval mode and keep no state, so a GUI thread may call
them while another thread trains a *copy* of the network. ``train_step`` does forward,
loss, backward and an optimizer update, and skips the update when the loss is not finite,
so a diverging batch never corrupts the weights.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from .backends import resolve_backend
from .backends.base import Backend
from .layers import Conv2D, DropoutLayer, Layer, ReLULayer, make_layer
from .models import Architecture, init_params
from .presets import get_architecture


@dataclass(frozen=True)
class LayerInfo:
    """One row of the architecture table the GUI and CLI show."""

    name: str
    kind: str
    output_shape: tuple
    params: int
    detail: str


@dataclass
class Backprop:
    """One eval-mode forward + backward from a seed gradient (host arrays, batch axis kept).

    ``output`` is the output of the layer the seed was applied to (the logits by default);
    ``input_grad`` is d objective / d input (None when not asked for); ``activations[name]``
    and ``gradients[name]`` are, for each captured layer, its output and d objective / d
    that output.
    """

    output: np.ndarray
    input_grad: np.ndarray | None
    activations: dict[str, np.ndarray] = field(default_factory=dict)
    gradients: dict[str, np.ndarray] = field(default_factory=dict)


class Network:
    def __init__(
        self,
        arch: Architecture,
        params: dict[str, np.ndarray],
        backend: str | Backend = "cpu",
        *,
        seed: int = 0,
        metadata: dict | None = None,
    ):
        self.arch = arch
        if isinstance(backend, str):
            choice = resolve_backend(backend)
            self.backend, self.backend_reason = choice.backend, choice.reason
        else:
            self.backend, self.backend_reason = backend, f"{backend.name} given"
        self.metadata: dict = dict(metadata or {})
        self.grads: dict[str, object] = {}
        self.last_logits = None
        self.params: dict[str, object] = {}
        self._rng = np.random.default_rng(seed)
        self.layers: list[Layer] = [
            make_layer(name, spec, self.backend, self.params, self.grads, self._rng)
            for name, spec in zip(arch.layer_names(), arch.layers)
        ]
        if self.layers:
            self.layers[0].need_dx = False
        # indices of convolutions whose ReLU (the next layer) runs fused with them
        self._fused = {i for i, (a, b) in enumerate(zip(self.layers, self.layers[1:]))
                       if isinstance(a, Conv2D) and isinstance(b, ReLULayer)}
        self._backprop_lock = threading.Lock()
        self._plan = None  # the backend's fused one-image forward, built on first use
        self._plan_built = False
        self.set_params(params)

    # ------------------------------------------------------------------ parameters
    @property
    def name(self) -> str:
        return self.arch.name

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Replace every parameter (copied onto the backend), checking names and shapes."""
        expected = self.arch.param_shapes()
        missing = sorted(set(expected) - set(params))
        extra = sorted(set(params) - set(expected))
        if missing or extra:
            raise ValueError(f"parameters do not match {self.arch.name}: missing {missing}, "
                             f"unexpected {extra}")
        for key, shape in expected.items():
            arr = np.asarray(self.backend.to_host(params[key]))
            if arr.shape != tuple(shape):
                raise ValueError(f"{key}: shape {arr.shape}, expected {tuple(shape)}")
        for key in expected:
            host = np.array(self.backend.to_host(params[key]), dtype=np.float32, order="C")
            self.params[key] = self.backend.asarray(host)

    def get_params(self) -> dict[str, np.ndarray]:
        """A host copy of every parameter (safe to keep: later training will not change it)."""
        return {k: np.array(self.backend.to_host(v), dtype=np.float32) for k, v in
                self.params.items()}

    def param_count(self) -> int:
        return self.arch.param_count()

    def copy(self, backend: str | Backend | None = None) -> Network:
        """An independent network with the same weights (optionally on another backend)."""
        return Network(self.arch, self.get_params(), backend or self.backend,
                       metadata=dict(self.metadata))

    # ------------------------------------------------------------------ inference
    def _prepare(self, x) -> np.ndarray:
        x = np.asarray(x)
        c, h, w = self.arch.input_shape
        if x.ndim == 2 and c == 1:
            x = x[None, None]
        elif x.ndim == 3 and x.shape == (c, h, w):
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != (c, h, w):
            raise ValueError(f"{self.arch.name} expects input of shape (N,{c},{h},{w}), "
                             f"got {x.shape}")
        if x.shape[0] == 0:
            raise ValueError("empty batch")
        return self.backend.asarray(np.ascontiguousarray(x, dtype=np.float32))

    def _single_image_plan(self, xb):
        """The backend's fused eval forward when ``xb`` is one image and it has one."""
        if xb.shape[0] != 1 or xb.dtype != np.float32:
            return None
        if not self._plan_built:
            self._plan = self.backend.single_image_plan(self.arch)
            self._plan_built = True
        return self._plan

    def forward(self, x, train: bool = False):
        """Logits (on the backend) for a prepared batch. A convolution followed by a ReLU
        runs as one backend call (the ReLU applied as the output is written, not in a
        second pass over it); the ReLU layer keeps that output, and ``gradients`` runs
        the pair's backward as one call too."""
        out = x
        layers = self.layers
        i = 0
        while i < len(layers):
            if i in self._fused:
                out = layers[i + 1].adopt(layers[i].forward(out, train, relu=True), train)
                i += 2
            else:
                out = layers[i].forward(out, train)
                i += 1
        return out

    def predict(self, x) -> np.ndarray:
        """(N,C,H,W) in [0,1] -> (N,classes) probabilities on the host; rows sum to 1.

        One image runs the backend's fused single-image plan where it has one. A batch
        larger than the backend's ``infer_chunk`` runs in near-equal slices of at most
        that size (no short tail: BLAS takes another code path for a small product, and
        an image there would come out an ulp off the same image elsewhere)."""
        xb = self._prepare(x)
        plan = self._single_image_plan(xb)
        if plan is not None:
            logits = plan.run(self.params, xb[0])
            return np.asarray(self.backend.to_host(self.backend.softmax(logits)))
        n = len(xb)
        k = -(-n // (self.backend.infer_chunk or n))
        parts = [np.asarray(self.backend.to_host(self.backend.softmax(
            self.forward(xb[i * n // k:(i + 1) * n // k])))) for i in range(k)]
        return parts[0] if k == 1 else np.concatenate(parts)

    def activations(self, x) -> list[tuple[str, np.ndarray]]:
        """[(layer_name, output), ...] for every layer in order, then ("softmax", probs)."""
        out = self._prepare(x)
        plan = self._single_image_plan(out)
        if plan is not None:
            acts = plan.run(self.params, out[0], capture=True)
            logits = self.backend.asarray(acts[-1][1])
            return acts + [("softmax", np.asarray(self.backend.softmax(logits)))]
        acts = []
        for layer in self.layers:
            out = layer.forward(out, False)
            acts.append((layer.name, np.asarray(self.backend.to_host(out))))
        acts.append(("softmax", np.asarray(self.backend.to_host(self.backend.softmax(out)))))
        return acts

    # ------------------------------------------------------------------ gradients to the input
    def layer_index(self, name: str) -> int:
        for i, layer in enumerate(self.layers):
            if layer.name == name:
                return i
        raise ValueError(f"{self.arch.name} has no layer {name!r}; layers: "
                         f"{', '.join(lay.name for lay in self.layers)}")

    def backprop(self, x, seed, *, layer: str | None = None, capture=(),
                 input_grad: bool = True) -> Backprop:
        """Eval-mode forward up to ``layer`` (default: the last, the logits), then backward.

        ``seed`` is d objective / d output of ``layer``: an array of that output's shape, or
        a callable ``seed(output_on_host) -> array``. The pass uses each layer's own
        ``backward`` (so every backend gets it), dropout as in eval (identity), and leaves
        the parameter gradients of a training step untouched. ``capture`` names layers whose
        outputs and gradients are returned; without ``input_grad`` the backward pass stops
        at the earliest captured layer. Calls on one network are serialised (the layers keep
        their backward caches on themselves); use ``copy()`` for a parallel worker.
        """
        stop = self.layer_index(layer) if layer is not None else len(self.layers) - 1
        capture = set(capture)
        for name in capture:
            if self.layer_index(name) > stop:
                raise ValueError(f"cannot capture {name!r}: it comes after "
                                 f"{self.layers[stop].name!r}")
        xb = self._prepare(x)
        with self._backprop_lock:
            saved_grads = dict(self.grads)
            first_need_dx = self.layers[0].need_dx
            self.layers[0].need_dx = input_grad
            try:
                return self._backprop(xb, seed, stop, capture, input_grad)
            finally:
                self.layers[0].need_dx = first_need_dx
                for lay in self.layers[: stop + 1]:
                    lay._cache = None
                self.grads.clear()
                self.grads.update(saved_grads)

    def _backprop(self, xb, seed, stop: int, capture: set, input_grad: bool) -> Backprop:
        be = self.backend
        out = xb
        acts = {}
        for lay in self.layers[: stop + 1]:
            if isinstance(lay, DropoutLayer):
                lay._cache = None  # eval: identity, and backward passes dout through
            else:
                out = lay.forward(out, True)
            if lay.name in capture:
                acts[lay.name] = np.asarray(be.to_host(out))
        host_out = np.asarray(be.to_host(out))
        g = seed(host_out) if callable(seed) else seed
        g = np.asarray(g, dtype=host_out.dtype)
        if g.shape != host_out.shape:
            raise ValueError(f"seed has shape {g.shape}, the output of "
                             f"{self.layers[stop].name} has {host_out.shape}")
        dout = be.asarray(np.ascontiguousarray(g))
        grads = {}
        last = 0 if input_grad else min((self.layer_index(n) for n in capture), default=stop)
        for i in range(stop, last - 1, -1):
            lay = self.layers[i]
            if lay.name in capture:
                grads[lay.name] = np.array(be.to_host(dout))
            if i == 0 and not input_grad:
                break
            dout = lay.backward(dout)
        dx = np.array(be.to_host(dout)) if input_grad else None
        return Backprop(host_out, dx, acts, grads)

    def input_gradient(self, x, target: int) -> np.ndarray:
        """d logit[target] / d input for every image of the batch: (N, C, H, W) on the host."""
        if not 0 <= int(target) < self.arch.num_classes:
            raise ValueError(f"target must be in 0..{self.arch.num_classes - 1}")

        def one_hot(logits):
            g = np.zeros_like(logits)
            g[:, int(target)] = 1
            return g

        return self.backprop(x, one_hot).input_grad

    # ------------------------------------------------------------------ training
    def _labels(self, y, n: int) -> np.ndarray:
        y = np.asarray(y)
        if y.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= self.arch.num_classes):
            raise ValueError(f"labels must be in 0..{self.arch.num_classes - 1}")
        return np.ascontiguousarray(y, dtype=np.int64)

    def loss(self, x, y) -> float:
        """Mean cross-entropy in eval mode (no dropout), no gradients."""
        xb = self._prepare(x)
        loss, _ = self.backend.softmax_cross_entropy(self.forward(xb), self._labels(y, len(xb)))
        return loss

    def gradients(self, x, y) -> tuple[float, dict]:
        """Training-mode forward + backward; returns (loss, {param: grad})."""
        xb = self._prepare(x)
        labels = self._labels(y, xb.shape[0])
        logits = self.forward(xb, train=True)
        self.last_logits = logits  # read by fit() for the running training accuracy
        loss, dout = self.backend.softmax_cross_entropy(logits, labels)
        i = len(self.layers) - 1
        while i >= 0:
            if i - 1 in self._fused:  # this ReLU's backward runs inside its convolution's
                dout = self.layers[i - 1].backward(dout, self.layers[i].release())
                i -= 2
            else:
                dout = self.layers[i].backward(dout)
                i -= 1
        return loss, self.grads

    def train_step(self, x, y, optimizer) -> float:
        """One forward+backward+update. A non-finite loss skips the update and is returned."""
        loss, grads = self.gradients(x, y)
        if np.isfinite(loss):
            optimizer.step(self.params, grads, self.backend)
        return loss

    # ------------------------------------------------------------------ description
    def summary(self) -> list[LayerInfo]:
        rows = []
        shapes = self.arch.output_shapes()
        pshapes = self.arch.param_shapes()
        for layer, shape in zip(self.layers, shapes):
            n = sum(int(np.prod(pshapes[f"{layer.name}.{k}"])) for k in layer.param_keys)
            detail = ", ".join(f"{k}={v}" for k, v in vars(layer.spec).items())
            rows.append(LayerInfo(layer.name, layer.kind, tuple(shape), n, detail))
        return rows

    def __repr__(self) -> str:
        return (f"<Network {self.arch.name}: {len(self.layers)} layers, "
                f"{self.param_count():,} parameters, backend {self.backend.name}>")


def build_network(arch: str | Architecture = "deep", seed: int = 0,
                  backend: str | Backend = "cpu") -> Network:
    """A freshly initialised network from an architecture name or spec."""
    spec = get_architecture(arch)
    spec.output_shapes()  # validate before allocating
    return Network(spec, init_params(spec, seed), backend, seed=seed)
