"""Training on soft targets, without new engine kernels: "not a digit" and one person's hand.

* ``outlier_exposure`` teaches a network to answer drawings that are not digits with a flat
  distribution (the target of a non-digit is 1/10 for every class) while it keeps learning
  digits, so that its top probability and its features tell digits from the rest (Hendrycks
  et al., "Deep Anomaly Detection with Outlier Exposure", 2019); ``drawcnn.novelty`` builds
  and calibrates the "not a digit" score on top.
* ``personal_tune`` adapts the dense head of a copy of a network to a few labelled drawings
  (features of the convolutional part computed once, so it takes seconds on a CPU), with
  replayed images whose targets are the original network's own outputs (distillation), so
  the other digits, other people and the "not a digit" behaviour do not drift.

Both use the engine's layers directly: forward in training mode, a softmax cross-entropy
against soft targets computed here, backward, and the optimizer on the parameters trained.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .engine import Adam, evaluate


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def head_start(net) -> int:
    """Index of the first layer of the dense head (the Flatten layer; 0 if there is none)."""
    kinds = [layer.kind for layer in net.layers]
    return kinds.index("Flatten") if "Flatten" in kinds else 0


def forward_part(net, x, start: int, stop: int, train: bool):
    out = net.backend.asarray(np.ascontiguousarray(x, dtype=np.float32))
    for layer in net.layers[start:stop]:
        out = layer.forward(out, train)
    return out


def features(net, x, stop: int, batch: int = 256) -> np.ndarray:
    """Eval-mode outputs of ``net.layers[:stop]`` for (N, 1, 28, 28) images, on the host."""
    parts = [np.asarray(net.backend.to_host(forward_part(net, x[i:i + batch], 0, stop, False)))
             for i in range(0, len(x), batch)]
    return np.concatenate(parts)


def soft_step(net, x, targets, opt, *, weights=None, start: int = 0) -> float:
    """One update of ``net.layers[start:]`` towards soft ``targets`` (N, classes) rows.

    ``x`` is the input of layer ``start`` (images when 0). The loss is the weighted mean of
    cross-entropies sum_k -t_k log p_k; a non-finite loss skips the update.
    """
    n = len(x)
    logits = np.asarray(net.backend.to_host(forward_part(net, x, start, None, True)),
                        dtype=np.float64)
    p = softmax(logits)
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    loss = float((w * -(targets * np.log(np.maximum(p, 1e-12))).sum(axis=1)).sum() / n)
    dout = net.backend.asarray(((p - targets) * (w / n)[:, None]).astype(np.float32))
    for layer in reversed(net.layers[start:]):
        dout = layer.backward(dout)
    if not math.isfinite(loss):
        return loss
    keys = [f"{layer.name}.{k}" for layer in net.layers[start:] for k in layer.param_keys]
    opt.step({k: net.params[k] for k in keys}, {k: net.grads[k] for k in keys}, net.backend)
    return loss


def _sample(rng, n_have: int, n: int) -> np.ndarray:
    return rng.integers(0, n_have, n)


def outlier_exposure(net, digit_pools, x_neg, *, steps: int, batch: int = 64,
                     neg_share: float = 0.25, neg_weight: float = 0.5, lr: float = 1e-4,
                     augment=None, seed: int = 0, start: int = 0, on_step=None, stop=None):
    """A copy of ``net`` trained on digits (hard labels) and non-digits (flat targets).

    ``digit_pools``: [(x, y, share, augmented), ...] of (N, 1, 28, 28) images and labels,
    drawn with the given shares; ``x_neg`` non-digits make ``neg_share`` of each batch.
    ``augment(x, rng)`` is applied to the non-digits and to the pools marked ``augmented``
    (MNIST replay is best left as it is: augmenting it costs MNIST test accuracy).
    Cosine learning-rate decay to 2 % over ``steps``.
    ``start > 0`` trains only ``net.layers[start:]``, the pools then holding the outputs of
    layer ``start - 1`` (``features``), computed once: minutes instead of an hour on a CPU.
    ``on_step(step, steps, loss)`` reports; ``stop()`` ends early (the copy so far returned).
    """
    rng = np.random.default_rng(seed)
    tuned = net.copy()
    classes = net.arch.num_classes
    opt = Adam(lr=lr)
    n_neg = int(round(batch * neg_share))
    shares = np.array([pool[2] for pool in digit_pools], float)
    counts = np.floor(shares / shares.sum() * (batch - n_neg)).astype(int)
    counts[0] += batch - n_neg - counts.sum()
    for step in range(steps):
        if stop is not None and stop():
            break
        opt.lr = lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        xs, ts, ws = [], [], []
        for (x, y, _, aug), c in zip(digit_pools, counts):
            idx = _sample(rng, len(y), c)
            xs.append(augment(x[idx], rng) if aug and augment is not None else x[idx])
            ts.append(np.eye(classes)[y[idx]])
            ws.append(np.ones(c))
        if n_neg:
            xn = x_neg[_sample(rng, len(x_neg), n_neg)]
            xs.append(augment(xn, rng) if augment is not None else xn)
            ts.append(np.full((n_neg, classes), 1.0 / classes))
            ws.append(np.full(n_neg, neg_weight))
        xb = np.concatenate(xs)
        loss = soft_step(tuned, xb, np.concatenate(ts), opt, weights=np.concatenate(ws),
                         start=start)
        if on_step is not None:
            on_step(step + 1, steps, loss)
    tuned.metadata.pop("untrained", None)
    return tuned


def personal_tune(net, x, y, x_replay, *, copies: int = 16, epochs: int = 6, lr: float = 1e-3,
                  batch: int = 64, seed: int = 0, augment=None, progress=None, stop=None):
    """A copy of ``net`` whose dense head is adapted to drawings ``x`` (N, 1, 28, 28), ``y``.

    Each drawing is used as is and in ``copies`` augmented versions (``augment(x, rng)``);
    ``x_replay`` (digits and non-digits of other people) keep the original network's outputs
    as targets. Returns (network, seconds).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    tuned = net.copy()
    k = head_start(tuned)
    classes = net.arch.num_classes
    mine = [x] + ([augment(x, rng) for _ in range(copies)] if augment is not None else [])
    x_mine = np.concatenate(mine)
    y_mine = np.tile(np.asarray(y, np.int64), len(mine))
    f_mine = features(tuned, x_mine, k)
    f_rep = features(tuned, x_replay, k) if len(x_replay) else f_mine[:0]
    t_rep = softmax(np.asarray(net.backend.to_host(forward_part(net, f_rep, k, None, False)),
                               np.float64)) if len(f_rep) else np.zeros((0, classes))
    feats = np.concatenate([f_mine, f_rep])
    targets = np.concatenate([np.eye(classes)[y_mine], t_rep])
    opt = Adam(lr=lr)
    n = len(feats)
    steps = epochs * math.ceil(n / batch)
    done = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(0, n, batch):
            if stop is not None and stop():
                return tuned, time.perf_counter() - t0
            opt.lr = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done / steps)))
            idx = order[i:i + batch]
            soft_step(tuned, feats[idx], targets[idx], opt, start=k)
            done += 1
            if progress is not None:
                progress(done / steps)
    return tuned, time.perf_counter() - t0


def blend(base, tuned, alpha: float):
    """base + alpha * (tuned - base), weight by weight (both from the same starting point)."""
    pb, pt = base.get_params(), tuned.get_params()
    net = tuned.copy()
    net.set_params({k: pb[k] + np.float32(alpha) * (pt[k] - pb[k]) for k in pb})
    return net


def choose_blend(base, tuned, x_val, y_val, tol: float, log=None):
    """The largest share of a fine-tune's change whose validation accuracy (images ``base``
    was not trained on) stays within ``tol`` of ``base``'s: (network, share, base's accuracy,
    {share: accuracy tried}). ``log(text)`` hears each try."""
    ref = evaluate(base, x_val, y_val).accuracy
    tried = {}
    for alpha in (1.0, 0.8, 0.65, 0.5, 0.4, 0.3):
        net = blend(base, tuned, alpha) if alpha < 1 else tuned
        tried[alpha] = evaluate(net, x_val, y_val).accuracy
        if log is not None:
            log(f"  blend {alpha:.2f}: MNIST validation {tried[alpha]:.4f} (shipped {ref:.4f})")
        if tried[alpha] >= ref - tol:
            return net, alpha, ref, tried
    return net, alpha, ref, tried
