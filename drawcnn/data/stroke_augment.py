"""What a canvas does to strokes, as random transforms of point lists, then the model input.

People draw on the canvas at any size and place, slanted, with a shaky or a smooth hand, and
the mouse samples densely where a tablet sampled every 100 ms. ``augment_strokes`` varies all
of that on (K, 2) point lists; ``render_batch`` sends strokes through the app's own
preprocessing (``strokes_to_mnist``) with a random stroke width, so training sees exactly
the kind of input the app gives the network. NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .preprocess import MNIST_STROKE, strokes_to_mnist
from .strokes import as_points

ROTATE = 12.0  # degrees
SLANT = 0.35  # x += SLANT * y (shear), either way
ASPECT = 0.2  # height/width scaled by 1 ± this
JITTER = 0.012  # point noise, share of the drawing's size
WIDTH_RANGE = (0.8, 1.3)  # stroke width, times MNIST_STROKE


def _smooth(p: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Chaikin corner cutting: a coarse polyline becomes the smooth dense one a mouse gives."""
    for _ in range(rounds):
        if len(p) < 3:
            return p
        q = 0.75 * p[:-1] + 0.25 * p[1:]
        r = 0.25 * p[:-1] + 0.75 * p[1:]
        p = np.vstack([p[:1], np.stack([q, r], 1).reshape(-1, 2), p[-1:]])
    return p


def _thin(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sparse sampling: keep every 2nd or 3rd point (ends kept)."""
    if len(p) < 5:
        return p
    step = int(rng.integers(2, 4))
    idx = np.unique(np.r_[np.arange(0, len(p), step), len(p) - 1])
    return p[idx]


def augment_strokes(strokes: Sequence[np.ndarray], rng: np.random.Generator,
                    canvas: float = 280.0, strength: float = 1.0) -> list[np.ndarray]:
    """A randomly transformed copy of ``strokes``, placed on a ``canvas``-sized square.

    Rotation, slant (shear), aspect, size (25-80 % of the canvas) and position, point jitter,
    and either smoothing (dense mouse-like sampling) or thinning (sparse sampling).
    """
    pts = as_points(strokes)
    if not pts:
        return []
    s = float(strength)
    a = np.deg2rad(rng.uniform(-ROTATE, ROTATE) * s)
    shear = rng.uniform(-SLANT, SLANT) * s
    aspect = 1.0 + rng.uniform(-ASPECT, ASPECT) * s
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = rot @ np.array([[1.0, shear], [0.0, aspect]])
    allp = np.concatenate(pts)
    centre = (allp.min(0) + allp.max(0)) / 2
    size = float((allp.max(0) - allp.min(0)).max()) or 1.0
    out = []
    for p in pts:
        q = (p - centre) @ m.T
        q = q + rng.normal(0.0, JITTER * s * size, q.shape)
        mode = rng.random()
        q = _smooth(q) if mode < 0.45 else _thin(q, rng) if mode < 0.7 else q
        out.append(q)
    allq = np.concatenate(out)
    lo, hi = allq.min(0), allq.max(0)
    ext = float((hi - lo).max()) or 1.0
    target = canvas * rng.uniform(0.25, 0.8)
    k = target / ext
    room = canvas - (hi - lo) * k
    offset = rng.uniform(0, 1, 2) * np.maximum(room, 0)
    return [(q - lo) * k + offset for q in out]


def render_batch(drawings: Sequence[Sequence[np.ndarray]], rng: np.random.Generator | None = None,
                 canvas: float | None = None, strength: float = 1.0) -> np.ndarray:
    """(N, 1, 28, 28) float32 model inputs through ``strokes_to_mnist``.

    With ``rng`` each drawing is augmented (``augment_strokes``) and gets a random stroke
    width; without, it is rendered as is (``canvas``: the side its points refer to, or None to
    always fill the box). An empty drawing gives a blank image.
    """
    out = np.zeros((len(drawings), 1, 28, 28), np.float32)
    for i, d in enumerate(drawings):
        if rng is not None:
            c = 280.0
            d = augment_strokes(d, rng, c, strength)
            width = MNIST_STROKE * rng.uniform(*WIDTH_RANGE)
        else:
            c, width = canvas, MNIST_STROKE
        img = strokes_to_mnist(d, c, width)
        if img is not None:
            out[i, 0] = img
    return out
