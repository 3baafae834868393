"""``drawcnn --self-test``: prove an installed or frozen app can actually recognise digits.

Loads the shipped default weights, renders built-in digits from stroke point lists through
the same preprocessing as the canvas, classifies them and checks the answers. Exit code 0
only if every sample is right; a packaged app that opens but cannot classify fails here.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def _ellipse(cx, cy, rx, ry, n=40):
    t = np.linspace(0, 2 * np.pi, n)
    return np.stack([cx + rx * np.sin(t), cy - ry * np.cos(t), np.ones(n)], axis=1)


def _line(*pts, n=20):
    seg = []
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        t = np.linspace(0, 1, n)[:, None]
        seg.append(np.hstack([(1 - t) * [x0, y0] + t * [x1, y1], np.ones((n, 1))]))
    return np.vstack(seg)


#: (label, strokes in a 400x400 canvas): drawn the way a person would with a mouse
SAMPLES = [
    (0, [_ellipse(200, 200, 80, 130)]),
    (1, [_line((210, 70), (200, 330))]),
    (7, [_line((110, 80), (290, 80), (170, 330))]),
    (4, [_line((230, 60), (100, 240), (300, 240)), _line((230, 60), (230, 340))]),
]


def run_self_test(out=sys.stdout) -> int:
    t0 = time.perf_counter()
    try:
        from .data import strokes_to_mnist
        from .engine import load_network
        from .engine.runtime import threading_layer
        from .shipped import default_weights_path

        path = default_weights_path()
        if path is None:
            print("self-test FAILED: no shipped weights found", file=out)
            return 1
        net = load_network(path)
        x = np.stack([strokes_to_mnist(s, 400)[None] for _, s in SAMPLES])
        probs = net.predict(x)
    except Exception as exc:  # the point is to report anything that breaks, bugs included
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", file=out)
        return 1
    if not np.all(np.isfinite(probs)):
        print(f"self-test FAILED: {net.arch.name} from {path} produced non-finite outputs",
              file=out)
        return 1
    ok = True
    for (label, _), p in zip(SAMPLES, probs):
        guess = int(np.argmax(p))
        ok &= guess == label
        print(f"  drew {label}: predicted {guess} ({p[guess] * 100:.1f}%)"
              f"{'' if guess == label else '  WRONG'}", file=out)
    print(f"self-test {'passed' if ok else 'FAILED'}: {net.arch.name} from {path}, "
          f"threading layer {threading_layer()}, {time.perf_counter() - t0:.2f} s", file=out)
    return 0 if ok else 1
