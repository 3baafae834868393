"""What the network computes, explained on one input: Qt-free, built on the engine's numbers.

* ``neuron(net, x, layer, index)``: one cell's arithmetic (patch x kernel + bias, the pooling
  window and its winner, a dense unit), read from the engine's own activations and parameters,
  so ``sum(inputs * weights) + bias == value == activations[layer][0][index]``.
* ``softmax_trace(net, x, label)``: logits -> shifted exps -> sum -> probabilities -> loss.
* ``saliency``, ``grad_cam``, ``occlusion``: why the network chose a class.
* ``maximize_activation``: the input a conv channel (or a class) responds to most.

``x`` is a (1, 1, 28, 28) float32 image in [0, 1] (a (28, 28) array is accepted); layer names
are those of ``net.activations``. Gradients come from ``Network.backprop`` (every backend).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .engine.layers import Conv2D, DenseLayer

POOLS = ("MaxPool2D", "AvgPool2D")

__all__ = [
    "NeuronTrace",
    "SoftmaxTrace",
    "grad_cam",
    "logit_layer",
    "maximize_activation",
    "maximize_layer",
    "neuron",
    "occlusion",
    "receptive_field",
    "saliency",
    "softmax_trace",
]


def _x(net, x) -> np.ndarray:
    """(1, C, H, W) float32 (float64 stays float64: the numerical-gradient check path)."""
    a = np.asarray(x)
    a = a.astype(np.float64 if a.dtype == np.float64 else np.float32, copy=False)
    c, h, w = net.arch.input_shape
    return np.ascontiguousarray(a.reshape(1, c, h, w))


def _param(net, key: str) -> np.ndarray:
    return np.asarray(net.backend.to_host(net.params[key]))


def logit_layer(net) -> str:
    """Name of the layer whose output are the logits (the last layer)."""
    return net.layers[-1].name


# ---------------------------------------------------------------------------- neuron
@dataclass
class NeuronTrace:
    """One cell's arithmetic. For conv, dense and pooling cells
    ``sum(inputs * weights) + bias == value`` (pooling: one-hot weights on the winner for max,
    1/k^2 for average). Elementwise layers (ReLU, dropout, flatten) carry the trace of the
    cell they read in ``source`` and ``pre_activation`` = that cell's value."""

    layer: str
    kind: str
    index: tuple
    value: float  # the engine's activations[layer][0][index]
    inputs: np.ndarray  # conv: (C,kh,kw) patch incl. zero padding; dense: (D,); pool: (k,k)
    weights: np.ndarray  # same shape as inputs
    bias: float
    previous: str  # layer the inputs come from ("input" for the first layer)
    prev_field: tuple | None = None  # (r0, r1, c0, c1) inclusive, on the previous layer
    input_field: tuple | None = None  # (r0, r1, c0, c1) inclusive, on the 28x28 input
    winner: tuple | None = None  # max pooling: (row, col) of the maximum, previous layer
    pre_activation: float | None = None
    source: NeuronTrace | None = None
    extra: dict = field(default_factory=dict)

    @property
    def products(self) -> np.ndarray:
        return self.inputs.astype(np.float64) * self.weights

    @property
    def total(self) -> float:
        """sum(inputs * weights) + bias, in float64."""
        return float(self.products.sum() + self.bias)


def receptive_field(net, layer: str, row: int, col: int, upto: int = -1) -> tuple:
    """(r0, r1, c0, c1), inclusive, that cell (row, col) of ``layer`` sees in the output of
    layer ``upto`` (index; -1: the network input), clipped to that map."""
    i = net.layer_index(layer)
    r0 = r1 = row
    c0 = c1 = col
    for lay in reversed(net.layers[upto + 1 : i + 1]):
        if isinstance(lay, Conv2D):
            s, p, k = lay.spec.stride, lay.spec.pad, lay.spec.kernel
            r0, r1, c0, c1 = r0 * s - p, r1 * s - p + k - 1, c0 * s - p, c1 * s - p + k - 1
        elif lay.kind in POOLS:
            s, k = lay.spec.stride or lay.spec.size, lay.spec.size
            r0, r1, c0, c1 = r0 * s, r1 * s + k - 1, c0 * s, c1 * s + k - 1
        elif isinstance(lay, DenseLayer) or lay.kind == "Flatten":
            return None
    shape = net.arch.input_shape if upto < 0 else net.arch.output_shapes()[upto]
    h, w = shape[1], shape[2]
    return (max(r0, 0), min(r1, h - 1), max(c0, 0), min(c1, w - 1))


def neuron(net, x, layer: str, index, activations=None) -> NeuronTrace:
    """The arithmetic of cell ``index`` of ``layer`` on input ``x`` (see NeuronTrace).

    ``index`` is (channel, row, col) for maps, (unit,) for vectors. ``activations`` (the
    list ``net.activations(x)`` returned) may be passed to skip the forward pass.
    """
    acts = activations if activations is not None else net.activations(_x(net, x))
    outs = dict(acts)
    i = net.layer_index(layer)
    lay = net.layers[i]
    out = outs[layer][0]
    index = tuple(int(v) for v in np.atleast_1d(index))
    if len(index) != out.ndim or any(not 0 <= v < s for v, s in zip(index, out.shape)):
        raise ValueError(f"index {index} is outside {layer}'s output of shape {out.shape}")
    value = float(out[index])
    prev_name = "input" if i == 0 else net.layers[i - 1].name
    prev = _x(net, x)[0] if i == 0 else outs[prev_name][0]
    kind = lay.kind
    if isinstance(lay, Conv2D):
        f, r, c = index
        s, p, k = lay.spec.stride, lay.spec.pad, lay.spec.kernel
        padded = np.pad(prev, ((0, 0), (p, p), (p, p)))
        patch = padded[:, r * s : r * s + k, c * s : c * s + k].copy()
        w = _param(net, f"{layer}.W")[f].copy()
        b = float(_param(net, f"{layer}.b")[f])
        return NeuronTrace(layer, kind, index, value, patch, w, b, prev_name,
                           receptive_field(net, layer, r, c, i - 1),
                           receptive_field(net, layer, r, c), extra={"pad": p, "stride": s,
                                                                     "top_left": (r * s - p,
                                                                                  c * s - p)})
    if lay.kind in POOLS:
        ch, r, c = index
        s, k = lay.spec.stride or lay.spec.size, lay.spec.size
        win = prev[ch, r * s : r * s + k, c * s : c * s + k].copy()
        if kind == "MaxPool2D":
            wi, wj = np.unravel_index(int(np.argmax(win)), win.shape)
            weights = np.zeros_like(win)
            weights[wi, wj] = 1
            winner = (r * s + int(wi), c * s + int(wj))
        else:
            weights = np.full_like(win, 1.0 / win.size)
            winner = None
        return NeuronTrace(layer, kind, index, value, win, weights, 0.0, prev_name,
                           receptive_field(net, layer, r, c, i - 1),
                           receptive_field(net, layer, r, c), winner=winner)
    if isinstance(lay, DenseLayer):
        (u,) = index
        vec = prev.reshape(-1).copy()
        w = _param(net, f"{layer}.W")[:, u].copy()
        b = float(_param(net, f"{layer}.b")[u])
        return NeuronTrace(layer, kind, index, value, vec, w, b, prev_name)
    # Elementwise (ReLU, dropout) or flatten: the value comes from one cell of the previous
    # layer; its trace is the interesting arithmetic.
    src_index = index if kind != "Flatten" else np.unravel_index(index[0], prev.shape)
    pre = float(prev[tuple(src_index)])
    source = None if i == 0 else neuron(net, x, prev_name, src_index, acts)
    rf = None
    if len(index) == 3:
        rf = receptive_field(net, layer, index[1], index[2])
    elif source is not None:
        rf = source.input_field
    return NeuronTrace(layer, kind, index, value, np.array([pre], np.float32),
                       np.ones(1, np.float32), 0.0, prev_name, None, rf,
                       pre_activation=pre, source=source)


# ---------------------------------------------------------------------------- softmax
@dataclass
class SoftmaxTrace:
    """Softmax and cross-entropy step by step (float64 from the engine's float32 logits)."""

    logits: np.ndarray
    shifted: np.ndarray  # logits - max(logits)
    exps: np.ndarray  # exp(shifted)
    total: float  # sum(exps)
    probabilities: np.ndarray  # exps / total
    predicted: int
    label: int
    loss: float  # -log probabilities[label]


def softmax_trace(net, x, label: int | None = None, activations=None) -> SoftmaxTrace:
    """Logits -> probabilities -> cross-entropy for ``label`` (default: the predicted class)."""
    acts = activations if activations is not None else net.activations(_x(net, x))
    logits = np.asarray(dict(acts)[logit_layer(net)][0], dtype=np.float64)
    shifted = logits - logits.max()
    exps = np.exp(shifted)
    total = float(exps.sum())
    probs = exps / total
    predicted = int(np.argmax(probs))
    label = predicted if label is None else int(label)
    if not 0 <= label < logits.size:
        raise ValueError(f"label must be in 0..{logits.size - 1}")
    loss = float(-(shifted[label] - np.log(total)))  # -log p, stable for tiny p
    return SoftmaxTrace(logits, shifted, exps, total, probs, predicted, label, loss)


# ---------------------------------------------------------------------------- why this digit
def saliency(net, x, target: int) -> np.ndarray:
    """(H, W): d logit[target] / d input (first input channel)."""
    return net.input_gradient(_x(net, x), int(target))[0, 0]


def _one_hot_logit(target: int):
    def seed(logits):
        g = np.zeros_like(logits)
        g[:, int(target)] = 1
        return g

    return seed


def last_conv_layer(net) -> str:
    names = [lay.name for lay in net.layers if isinstance(lay, Conv2D)]
    if not names:
        raise ValueError(f"{net.arch.name} has no convolution layer")
    return names[-1]


def grad_cam(net, x, target: int, layer: str | None = None) -> np.ndarray:
    """(H, W) at ``layer``'s resolution: ReLU(sum_k alpha_k A_k), alpha_k = mean d logit/d A_k,
    A = the output of ``layer`` (default: the last conv layer). Pass the ReLU after a conv
    layer for the rectified maps of the Grad-CAM paper (what the GUI shows)."""
    layer = layer or last_conv_layer(net)
    if len(net.arch.output_shapes()[net.layer_index(layer)]) != 3:
        raise ValueError(f"Grad-CAM needs a layer with feature maps; {layer} has none")
    bp = net.backprop(_x(net, x), _one_hot_logit(target), capture=(layer,), input_grad=False)
    a = bp.activations[layer][0].astype(np.float64)
    g = bp.gradients[layer][0].astype(np.float64)
    alpha = g.mean(axis=(1, 2))
    return np.maximum(np.tensordot(alpha, a, axes=1), 0.0)


def occlusion(net, x, target: int, patch: int = 4, stride: int = 4,
              fill: float = 0.0) -> np.ndarray:
    """(OH, OW): p[target](x) - p[target](x with a patch x patch square set to ``fill``)."""
    img = _x(net, x)
    _, _, h, w = img.shape
    rows = range(0, h - patch + 1, stride)
    cols = range(0, w - patch + 1, stride)
    batch = np.repeat(img, len(rows) * len(cols) + 1, axis=0)
    k = 1
    for r in rows:
        for c in cols:
            batch[k, :, r : r + patch, c : c + patch] = fill
            k += 1
    p = net.predict(batch)[:, int(target)].astype(np.float64)
    return (p[0] - p[1:]).reshape(len(rows), len(cols))


# ---------------------------------------------------------------------------- maximisation
def _blur(img: np.ndarray) -> np.ndarray:
    """A light 3x3 binomial blur over the last two axes (keeps the result image-like)."""
    p = np.pad(img, [(0, 0)] * (img.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
    v = (p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]) / 4
    return (v[..., :, :-2] + 2 * v[..., :, 1:-1] + v[..., :, 2:]) / 4


def objective(out: np.ndarray, channels) -> np.ndarray:
    """Per image n: the mean of channel ``channels[n]`` of ``out`` (a unit for vectors)."""
    idx = np.arange(len(out))
    if out.ndim == 4:
        return out[idx, channels].mean(axis=(1, 2))
    return out[idx, channels]


def maximize_layer(net, layer: str, channels, seed: int = 0, steps: int = 96,
                   lr: float = 0.05, l2: float = 1e-3, blur_every: int = 4,
                   callback: Callable[[int, int], bool | None] | None = None) -> np.ndarray:
    """(K, H, W) in [0, 1]: for each of ``channels`` the input that maximises the mean of that
    channel of ``layer`` (a unit / class for dense layers), by normalised gradient ascent with
    a little L2 decay toward grey-black and an occasional blur. All channels run as one batch.
    ``callback(step, steps)`` may return True to stop early (the images so far are returned).
    """
    channels = np.asarray(channels, dtype=np.int64).reshape(-1)
    out_shape = net.arch.output_shapes()[net.layer_index(layer)]
    if channels.size == 0 or channels.min() < 0 or channels.max() >= out_shape[0]:
        raise ValueError(f"channels must be in 0..{out_shape[0] - 1} for {layer}")
    c, h, w = net.arch.input_shape
    rng = np.random.default_rng(seed)
    img = (0.1 + 0.05 * rng.standard_normal((channels.size, c, h, w))).astype(np.float32)
    img = np.clip(img, 0, 1)

    def seed_grad(out):
        g = np.zeros_like(out)
        idx = np.arange(len(out))
        if out.ndim == 4:
            g[idx, channels] = 1.0 / (out.shape[2] * out.shape[3])
        else:
            g[idx, channels] = 1.0
        return g

    for step in range(steps):
        g = net.backprop(img, seed_grad, layer=layer).input_grad.astype(np.float32)
        scale = np.sqrt((g**2).mean(axis=(1, 2, 3), keepdims=True)) + 1e-8
        img = img + lr * (g / scale) - l2 * img
        if blur_every and step % blur_every == blur_every - 1 and step < steps - 1:
            img = _blur(img)
        img = np.clip(img, 0, 1).astype(np.float32)
        if callback is not None and callback(step + 1, steps):
            break
    return img[:, 0]


def maximize_activation(net, layer: str, channel: int, seed: int = 0, **kw) -> np.ndarray:
    """(H, W) in [0, 1]: the input that maximises channel (or unit / class) ``channel``."""
    return maximize_layer(net, layer, [channel], seed=seed, **kw)[0]
