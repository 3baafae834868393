"""Small helpers that write pen strokes as point lists in a 10 x 10 box (y down).

The stroke templates of the generated non-digits (``negatives``, ``negatives_fresh``) are
written with these, so a shape reads as what it is: ``polyline("0,10 5,0 10,10")`` is an A's
outline, ``arc(5, 5, 4, 4, 0, 360)`` a circle.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def arc(cx, cy, rx, ry, a0, a1, n=None) -> list[tuple[float, float]]:
    """Points on an ellipse from angle a0 to a1 (degrees; 0 = right, 90 = down)."""
    n = n or max(6, int(abs(a1 - a0) / 12))
    t = np.deg2rad(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


def polyline(spec: str) -> list[tuple[float, float]]:
    """Points from "x,y x,y ..." text."""
    return [tuple(float(v) for v in xy.split(",")) for xy in spec.split()]


def param(fn: Callable, t0: float, t1: float, n: int = 60) -> list[tuple[float, float]]:
    """Points of the parametric curve ``fn(t) -> (x, y)`` for t from t0 to t1."""
    t = np.linspace(t0, t1, n)
    x, y = fn(t)
    return list(zip(x, y))


def dense(points, step: float = 0.5) -> list[tuple[float, float]]:
    """The same path with a point at least every ``step`` units, so that sparse sampling
    (``stroke_augment``) thins a sampled line, not the corners of a polygon."""
    p = np.asarray(points, float)
    out = [p[:1]]
    for a, b in zip(p[:-1], p[1:]):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / step)))
        out.append(a + (b - a) * np.linspace(0, 1, n + 1)[1:, None])
    return [tuple(q) for q in np.concatenate(out)]
