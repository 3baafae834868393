"""What ``train_readings`` measures: a network's outputs on a set of images, the "not a digit"
decision rules applied to them, digits read right, and the personal fine-tune per writer.

Kept apart from the command so each stays short; nothing here trains a network except
``personal``, which calls ``drawcnn.training.fine_tune`` as the app does.
"""

from __future__ import annotations

import time

import numpy as np

from drawcnn.adapt import softmax
from drawcnn.data.dots import separate_dots
from drawcnn.engine.weights import NEIGHBOUR_KEYS
from drawcnn.novelty import (
    base_score,
    calibrate_balanced,
    combine_novelty,
    fit_neighbours,
    head_outputs,
    neighbour_distance,
    novelty_parts,
)
from drawcnn.training import _replay_images, fine_tune


def outputs(net, x) -> dict:
    """What the measurements need of images ``x``: logits, probabilities, pooled and
    penultimate features, and which images have a separate dot (declined whatever the
    network says)."""
    o = head_outputs(net, x)
    return {**o, "p": softmax(o["logits"]), "dot": separate_dots(x)}


def parts(net, o: dict):
    return novelty_parts(o["logits"], o["pooled"], net.stats["reading.means"],
                         net.stats["reading.precision"])


def neighbour(net, o: dict):
    """Distance to the nearest bank vector, or None when ``net`` has no bank."""
    st = net.stats or {}
    if "reading.bank" not in st:
        return None
    return neighbour_distance(o["penultimate"], st["reading.bank"], st["reading.center"],
                              st["reading.projection"])


def novelty(net, o: dict, score: dict):
    return combine_novelty(*parts(net, o), score, neighbour(net, o))


def add_neighbours(net, score, fit_x, calib, calib_neg, right, args) -> dict:
    """Fit a bank of ``args.neighbours`` training digits' penultimate features into
    ``net.stats`` and return ``score`` extended with its standardisation (on the calibration
    digits), its weight (``args.neighbour_weight`` times the spread of the score without it
    on those digits) and the threshold recalibrated (the old one kept as base_threshold)."""
    bank = fit_neighbours(head_outputs(net, fit_x)["penultimate"], args.neighbour_dims)
    net.stats = {**{k: v for k, v in net.stats.items() if k not in NEIGHBOUR_KEYS}, **bank}
    base = base_score(score)
    d = neighbour(net, calib)
    spread = float(combine_novelty(*parts(net, calib), base).std())
    out = {**base, "neighbour_mean": float(d.mean()), "neighbour_std": float(d.std()) or 1.0,
           "neighbour_weight": args.neighbour_weight * spread,
           "base_threshold": base["threshold"]}
    out["threshold"] = -calibrate_balanced(-novelty(net, calib, out), right,
                                           -novelty(net, calib_neg, out), args.max_loss)
    return out


def digit_stats(p, y, declined) -> dict:
    pred = p.argmax(1)
    right = (pred == y) & ~declined
    return {"n": int(len(y)), "right": float(right.mean()),
            "right_without_threshold": float((pred == y).mean()),
            "rejected": float(declined.mean()),
            "wrong_accepted": float(((pred != y) & ~declined).mean())}


def personal(net, pd, writers, x_plain, decline, seed=0):
    """3 drawings a digit of one writer -> fine_tune -> that writer's other digits."""
    rows = []
    for w in writers:
        idx = np.flatnonzero(pd.writers == w)
        rng = np.random.default_rng(seed + int(w.split("-")[-1]))
        teach = np.concatenate([rng.choice(idx[pd.labels[idx] == d], 3, replace=False)
                                for d in range(10)])
        rest = np.setdiff1d(idx, teach)
        o = outputs(net, x_plain[rest])
        before = digit_stats(o["p"], pd.labels[rest], decline(net, o))["right"]
        t0 = time.perf_counter()
        replay = _replay_images(seed, exclude_writers=[w])  # never the writer under test
        tuned = fine_tune(net, x_plain[teach][:, 0], pd.labels[teach], seed=seed, replay=replay)
        secs = time.perf_counter() - t0
        o = outputs(tuned, x_plain[rest])
        after = digit_stats(o["p"], pd.labels[rest], decline(tuned, o))["right"]
        rows.append({"writer": w, "test": int(len(rest)), "before": before, "after": after,
                     "seconds": round(secs, 1)})
        print(f"  {w}: {before:.4f} -> {after:.4f} on {len(rest)} ({secs:.1f} s)", flush=True)
    return rows
