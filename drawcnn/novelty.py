"""The "not a digit" score: what it reads of a network, how it is fitted and calibrated.

A drawing is scored by how unlike the training digits it looks to the network, from three
parts (``reading.novelty_scores`` applies them): the energy of the logits, -log sum exp; the
Mahalanobis distance of the dense head's input (per-channel means of the last feature maps)
to the nearest digit class under class-conditional Gaussians with a shared covariance (Lee et
al., 2018; ``fit_gaussian``, ``novelty_parts``); and, optionally, the distance of the
penultimate features to the nearest of a bank of training digits' (Sun et al., 2022;
``fit_neighbours``, ``neighbour_distance``). Each part is standardised on held-out digits and
weighted (``combine_novelty``); ``calibrate_balanced`` and ``calibrate_novelty`` choose the
weight and threshold on held-out writers and held-out kinds of non-digits
(drawcnn/cli/train_readings.py). NumPy and the engine's layers only.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from .adapt import forward_part, head_start
from .engine.weights import NEIGHBOUR_FIELDS, NEIGHBOUR_KEYS


def calibrate_threshold(scores_correct: np.ndarray, keep: float = 0.99) -> float:
    """The top-probability threshold that keeps ``keep`` of correctly read held-out digits."""
    s = np.sort(np.asarray(scores_correct, np.float64))
    if not len(s):
        raise ValueError("no scores to calibrate on")
    return float(s[int(math.floor((1.0 - keep) * len(s)))])


def calibrate_balanced(conf_digits, correct, conf_neg, max_loss: float = 0.015) -> float:
    """The threshold that best separates held-out digits from held-out non-digits.

    Maximises (share of digits read right and accepted) + (share of non-digits declined),
    among thresholds that decline at most ``max_loss`` of the digits that were read right.
    """
    conf_digits = np.asarray(conf_digits, np.float64)
    correct = np.asarray(correct, bool)
    conf_neg = np.asarray(conf_neg, np.float64)
    floor = calibrate_threshold(conf_digits[correct], 1.0 - max_loss)
    cands = np.unique(np.r_[conf_digits[correct], conf_neg, 0.0])
    cands = cands[cands <= floor]
    right = ((conf_digits[None, :] >= cands[:, None]) & correct).mean(axis=1)
    declined = (conf_neg[None, :] < cands[:, None]).mean(axis=1)
    return float(cands[int(np.argmax(right + declined))])


def last_dense(net) -> int:
    """Index of the last Dense layer (its input: the penultimate features)."""
    kinds = [layer.kind for layer in net.layers]
    return len(kinds) - 1 - kinds[::-1].index("Dense")


def penultimate(net, flat) -> np.ndarray:
    """Eval-mode input of the last Dense layer for the Flatten layer's outputs ``flat``."""
    k = head_start(net) + 1
    return np.asarray(net.backend.to_host(forward_part(net, flat, k, last_dense(net), False)))


def head_outputs(net, x, batch: int = 256) -> dict[str, np.ndarray]:
    """What the "not a digit" score reads of (N, 1, 28, 28) images, eval mode, on the host:
    ``pooled`` (per-channel means of the dense head's input maps), ``penultimate`` (the last
    Dense layer's input) and ``logits``."""
    k, last = head_start(net), last_dense(net)
    out: dict[str, list] = {"pooled": [], "penultimate": [], "logits": []}
    for i in range(0, len(x), batch):
        maps = np.asarray(net.backend.to_host(forward_part(net, x[i:i + batch], 0, k, False)))
        out["pooled"].append(maps.reshape(len(maps), maps.shape[1], -1).mean(axis=2))
        pen = np.asarray(net.backend.to_host(forward_part(net, maps, k, last, False)))
        out["penultimate"].append(pen)
        out["logits"].append(np.asarray(net.backend.to_host(
            forward_part(net, pen, last, None, False))))
    return {key: np.concatenate(v) for key, v in out.items()}


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def fit_neighbours(features, dims: int = 128) -> dict[str, np.ndarray]:
    """A bank of the given penultimate ``features`` (N, F) of training digits: each made unit
    length, centred, projected on its ``dims`` principal directions, unit length again (the
    deep nearest-neighbour score of Sun et al., 2022, made smaller and faster). The rows are
    shuffled, so that the first rows are a fair sample (``NEIGHBOUR_SAMPLE``)."""
    f = _unit(np.asarray(features, np.float64))
    center = f.mean(axis=0)
    _, _, vt = np.linalg.svd(f - center, full_matrices=False)
    projection = vt[:dims].T
    order = np.random.default_rng(0).permutation(len(f))  # any prefix is a fair sample
    return {"reading.bank": _unit((f[order] - center) @ projection).astype(np.float32),
            "reading.center": center.astype(np.float32),
            "reading.projection": projection.astype(np.float32)}


#: A reading first looks at this many bank vectors: the nearest of them bounds the nearest of
#: all, which usually settles the answer (``reading.novelty_scores``).
NEIGHBOUR_SAMPLE = 1024


def project(features, center, projection) -> np.ndarray:
    """Penultimate ``features`` (N, F) as the bank's vectors are made (``fit_neighbours``)."""
    return _unit((_unit(np.asarray(features, np.float32)) - center) @ projection)


def neighbour_distance(features, bank, center, projection, chunk: int = 2048) -> np.ndarray:
    """1 - the cosine similarity of each row of penultimate ``features`` (N, F), projected as
    the bank was (``fit_neighbours``), to its nearest vector in the bank: 0 for a drawing
    just like a training digit, larger the further it is from all of them."""
    q = project(features, center, projection)
    if len(q) == 1:
        return np.array([1.0 - nearest_similarity(q[0], bank)])
    return np.concatenate([1.0 - (q[i:i + chunk] @ bank.T).max(axis=1)
                           for i in range(0, len(q), chunk)]).astype(np.float64)


def sample_similarity(q: np.ndarray, bank: np.ndarray) -> float:
    """The largest cosine similarity of unit ``q`` (D,) to the first ``NEIGHBOUR_SAMPLE``
    vectors: at most the largest over the whole bank, so 1 - it bounds the nearest distance."""
    return float((bank[:NEIGHBOUR_SAMPLE] @ q).max())


#: One query searches the bank's first this many dimensions (the leading principal
#: directions) for all vectors, and the rest only for the vectors that could still be nearest.
NEIGHBOUR_HEAD = 32
_SPLIT_BANKS: dict[int, tuple] = {}


def _split_bank(bank: np.ndarray):
    """(head (N, h), tail (N, D - h), norms of the tails) of ``bank``, made once per bank."""
    entry = _SPLIT_BANKS.get(id(bank))
    if entry is None or entry[0]() is not bank:
        h = min(NEIGHBOUR_HEAD, bank.shape[1])
        tail = np.ascontiguousarray(bank[:, h:])
        entry = (weakref.ref(bank), np.ascontiguousarray(bank[:, :h]), tail,
                 np.linalg.norm(tail, axis=1))
        _SPLIT_BANKS.clear()  # one bank in use at a time is the rule; never a growing cache
        _SPLIT_BANKS[id(bank)] = entry
    return entry[1:]


def similarity_bounds(q: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """For each bank vector b, a bound q.b <= q_head.b_head + |q_tail| |b_tail| (Cauchy-Schwarz)
    from the leading ``NEIGHBOUR_HEAD`` dimensions only: a quarter of the bank read."""
    head, _, tail_norms = _split_bank(bank)
    h = head.shape[1]
    return head @ q[:h] + tail_norms * float(np.linalg.norm(q[h:]))


def nearest_similarity(q: np.ndarray, bank: np.ndarray, sample: float | None = None,
                       bounds: np.ndarray | None = None) -> float:
    """The largest cosine similarity of unit ``q`` (D,) to the rows of ``bank``, exactly: the
    64 vectors with the best ``similarity_bounds`` are checked in full, then only those whose
    bound still beats the best found (or ``sample``)."""
    head, tail, _ = _split_bank(bank)
    h = head.shape[1]
    bound = similarity_bounds(q, bank) if bounds is None else bounds
    top = np.argpartition(bound, -64)[-64:] if len(bound) > 64 else np.arange(len(bound))
    best = float((bank[top] @ q).max())
    if sample is not None:
        best = max(best, sample)
    maybe = np.flatnonzero(bound >= best - 1e-5)  # float32 rounding: keep the near ties
    if maybe.size:
        best = max(best, float((head[maybe] @ q[:h] + tail[maybe] @ q[h:]).max()))
    return best


def decided_score(base: float, q: np.ndarray, bank: np.ndarray, weight: float, mean: float,
                  std: float, threshold: float) -> float:
    """``base + weight * (distance to the nearest bank vector - mean) / std`` for one projected
    reading ``q``, the bank searched only until the side of ``threshold`` is certain: a
    distance is at least 0; the nearest of the first ``NEIGHBOUR_SAMPLE`` vectors is at least
    as far as the nearest of all; no vector is nearer than its ``similarity_bounds`` allow.
    When one of these settles it, the value returned is that bound (on the deciding side of
    the threshold), not the exact score; most readings read a twentieth or a quarter of the
    bank."""
    def score(distance: float) -> float:
        return base + weight * (distance - mean) / std

    if weight <= 0:  # the bounds below assume a nearer neighbour lowers the score
        return score(1.0 - nearest_similarity(q, bank))
    if score(0.0) > threshold:
        return score(0.0)
    sample = sample_similarity(q, bank)
    if score(1.0 - sample) <= threshold:
        return score(1.0 - sample)
    bounds = similarity_bounds(q, bank)
    if score(1.0 - float(bounds.max())) > threshold:
        return score(1.0 - float(bounds.max()))
    return score(1.0 - nearest_similarity(q, bank, sample, bounds))


def novelty_parts(logits, pooled, means, precision) -> tuple[np.ndarray, np.ndarray]:
    """(energy, log distance) of each row: -log sum exp(logits), and the log of the smallest
    squared Mahalanobis distance of ``pooled`` (N, C) to a class mean under ``precision``."""
    z = np.asarray(logits, np.float64)
    top = z.max(axis=1)
    energy = -(top + np.log(np.exp(z - top[:, None]).sum(axis=1)))
    d = np.asarray(pooled, np.float64)[:, None, :] - np.asarray(means, np.float64)[None]
    dist = np.einsum("nci,ij,ncj->nc", d, np.asarray(precision, np.float64), d).min(axis=1)
    return energy, np.log(np.maximum(dist, 1e-12))


def combine_novelty(energy, log_dist, params: dict, neighbour=None) -> np.ndarray:
    """The novelty score from its parts and its calibration (``metadata["reading"]["score"]``):
    each standardised on held-out digits, the distance weighted, and the nearest-neighbour
    distance (``neighbour_distance``) weighted when the calibration has one and it is given;
    higher is less like a digit."""
    s = ((np.asarray(energy) - params["energy_mean"]) / params["energy_std"]
         + params["weight"] * (np.asarray(log_dist) - params["distance_mean"])
         / params["distance_std"])
    if neighbour is not None and "neighbour_weight" in params:
        s = s + params["neighbour_weight"] * (np.asarray(neighbour) - params["neighbour_mean"]) \
            / params["neighbour_std"]
    return s


def base_score(score: dict) -> dict:
    """The calibration ``score`` without its nearest-neighbour part: the other parts, and the
    threshold calibrated for them (``base_threshold``, when the score had a bank)."""
    kept = {k: v for k, v in score.items() if k not in NEIGHBOUR_FIELDS}
    if "base_threshold" in score:
        kept["threshold"] = score["base_threshold"]
    return kept


def without_neighbours(net):
    """``net`` with the nearest-neighbour part of its score taken out (its bank no longer
    matches once the dense head has changed): the rest of the score remains, with the
    threshold calibrated without that part (``base_score``)."""
    if NEIGHBOUR_KEYS[0] not in (net.stats or {}):
        return net
    net.stats = {k: v for k, v in net.stats.items() if k not in NEIGHBOUR_KEYS}
    reading = net.metadata.get("reading") or {}
    score = base_score(reading.get("score") or {})
    net.metadata = {**net.metadata, "reading": {**reading, "score": score}}
    return net


def fit_gaussian(pooled, labels, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Class means (classes, C) and the pseudo-inverse of the shared covariance (C, C), the
    "class-conditional Gaussians with a shared covariance" of Lee et al., 2018."""
    f = np.asarray(pooled, np.float64)
    y = np.asarray(labels)
    means = np.stack([f[y == c].mean(axis=0) for c in range(classes)])
    d = f - means[y]
    precision = np.linalg.pinv(d.T @ d / len(f), hermitian=True)
    return means, precision


def calibrate_novelty(parts_digits, correct, parts_neg, *, weights=(0.25, 0.5, 1.0),
                      max_loss: float = 0.015) -> tuple[dict, dict]:
    """The novelty score's calibration from held-out digits and non-digits.

    ``parts_*`` are (energy, log distance) pairs (``novelty_parts``). Both are standardised on
    the held-out digits; the distance's weight is the one of ``weights`` whose threshold
    (``calibrate_balanced`` on the negated score) reads the most digits right plus declines the
    most non-digits. Returns (the ``metadata["reading"]["score"]`` record, what each weight
    gave).
    """
    e_d, l_d = (np.asarray(a, np.float64) for a in parts_digits)
    e_n, l_n = (np.asarray(a, np.float64) for a in parts_neg)
    correct = np.asarray(correct, bool)
    base = {"energy_mean": float(e_d.mean()), "energy_std": float(e_d.std()) or 1.0,
            "distance_mean": float(l_d.mean()), "distance_std": float(l_d.std()) or 1.0}
    best, tried = None, {}
    for w in weights:
        params = {**base, "weight": w}
        s_d, s_n = combine_novelty(e_d, l_d, params), combine_novelty(e_n, l_n, params)
        t = -calibrate_balanced(-s_d, correct, -s_n, max_loss)
        right = float(((s_d <= t) & correct).mean())
        declined = float((s_n > t).mean())
        tried[w] = {"threshold": t, "digits_right": right, "nondigits_declined": declined}
        if best is None or right + declined > best[1]:
            best = (w, right + declined)
    w = best[0]
    return {**base, "weight": float(w), "threshold": float(tried[w]["threshold"])}, tried
