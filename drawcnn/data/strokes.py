"""Pen strokes -> anti-aliased ink images: the rasteriser behind the model input and the canvas.

Strokes are point lists (K, 2|3) of x, y[, pressure] with y growing downwards. Each segment is
drawn as a round-capped capsule with a 1-px linear edge ramp. Also the size measures the
reading path needs (how big a drawing is on its canvas). NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _as_points(strokes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Strokes as (K, 2) float64 arrays of (x, y); empty strokes dropped, pressure ignored.

    Pressure is ignored on purpose: the model wants an even MNIST-like width, and a mouse
    reports 0 or 1 for it.
    """
    out = []
    for s in strokes or ():
        a = np.asarray(s, dtype=np.float64)
        if a.size == 0:
            continue
        a = a.reshape(-1, a.shape[-1]) if a.ndim > 1 else a.reshape(1, -1)
        if a.shape[1] < 2:
            raise ValueError(f"stroke points need (x, y[, pressure]) columns, got shape {a.shape}")
        a = a[:, :2]
        a = a[np.isfinite(a).all(axis=1)]
        if len(a):
            out.append(a)
    return out


def _segments(strokes: list[np.ndarray]) -> np.ndarray:
    """(S, 4) array of x0, y0, x1, y1; a lone point is a zero-length segment (a dot)."""
    segs = []
    for pts in strokes:
        a = pts if len(pts) > 1 else np.repeat(pts, 2, axis=0)
        if len(a) > 2:
            # Drop repeated points (zero-length segments add nothing but cost).
            keep = np.ones(len(a), bool)
            keep[1:] = np.any(np.abs(np.diff(a, axis=0)) > 1e-9, axis=1)
            a = a[keep] if keep.sum() > 1 else a[:2]
        segs.append(np.hstack([a[:-1, :2], a[1:, :2]]))
    return np.concatenate(segs).astype(np.float64) if segs else np.zeros((0, 4))


#: Segments whose window fits in this many pixels a side are rasterised together, in one
#: vectorised pass (the app calls this on every mouse move); longer ones one at a time.
_BATCH_WINDOW = 24


def rasterise(strokes: list[np.ndarray], h: int, w: int, width: float) -> np.ndarray:
    """Anti-aliased round-capped polylines in pixel coordinates (pixel centres at i + 0.5).

    Each pixel's ink is ``clip(width/2 + 0.5 - distance, 0, 1)``: a 1-px linear edge ramp.
    Every segment covers its bounding window; windows are merged with max, which gives round
    caps and joins for free.
    """
    out = np.zeros((h, w), np.float32)
    reach = max(width, 0.0) / 2.0 + 0.5
    seg = _segments(strokes)
    if not len(seg):
        return out
    x0, y0, x1, y1 = seg.T
    c0 = np.maximum(np.floor(np.minimum(x0, x1) - reach), 0).astype(np.int64)
    c1 = np.minimum(np.ceil(np.maximum(x0, x1) + reach) + 1, w).astype(np.int64)
    r0 = np.maximum(np.floor(np.minimum(y0, y1) - reach), 0).astype(np.int64)
    r1 = np.minimum(np.ceil(np.maximum(y0, y1) + reach) + 1, h).astype(np.int64)
    live = (c0 < c1) & (r0 < r1)
    small = live & (c1 - c0 <= _BATCH_WINDOW) & (r1 - r0 <= _BATCH_WINDOW)
    if small.any():
        _cover_batch(out, seg[small], c0[small], c1[small], r0[small], r1[small], reach)
    for k in np.flatnonzero(live & ~small):
        cols = np.arange(c0[k], c1[k])[None, :]
        rows = np.arange(r0[k], r1[k])[:, None]
        cov = _coverage(seg[k], cols + 0.5, rows + 0.5, reach)
        win = out[r0[k] : r1[k], c0[k] : c1[k]]
        np.maximum(win, cov, out=win)
    return out


def _coverage(seg, px, py, reach):
    """Ink of pixels centred at (px, py) for segment(s) ``seg`` (last axis x0, y0, x1, y1)."""
    x0, y0, x1, y1 = (seg[..., i] for i in range(4))
    dx, dy = x1 - x0, y1 - y0
    ll = dx * dx + dy * dy
    t = np.clip(((px - x0) * dx + (py - y0) * dy) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
    t = np.where(ll > 0, t, 0.0)
    d = np.hypot(px - (x0 + t * dx), py - (y0 + t * dy))
    return np.clip(reach - d, 0.0, 1.0).astype(np.float32)


def _cover_batch(out, seg, c0, c1, r0, r1, reach):
    """All small segments at once: (S, W, W) windows, then one scatter-max into ``out``."""
    side = _BATCH_WINDOW
    cols = c0[:, None, None] + np.arange(side)[None, None, :]  # (S, 1, W)
    rows = r0[:, None, None] + np.arange(side)[None, :, None]  # (S, W, 1)
    s3 = seg[:, None, None, :]
    cov = _coverage(s3, cols + 0.5, rows + 0.5, reach)  # (S, W, W)
    inside = (cols < c1[:, None, None]) & (rows < r1[:, None, None])
    idx = rows * out.shape[1] + cols
    np.maximum.at(out.reshape(-1), idx[inside], cov[inside])


def render_strokes(strokes: Sequence[np.ndarray], canvas_size: int, out_size: int,
                   width: float) -> np.ndarray:
    """Render canvas strokes into an (out_size, out_size) anti-aliased float32 ink image.

    ``width`` is the stroke width in output pixels; a single point is a dot.
    """
    scale = out_size / float(canvas_size)
    pts = [p * scale for p in _as_points(strokes)]
    return rasterise(pts, out_size, out_size, width)


def as_points(strokes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Public form of the point clean-up: (K, 2) float64 arrays, empty strokes dropped."""
    return _as_points(strokes)


def extent(strokes: Sequence[np.ndarray]) -> float:
    """Longest side of the points' bounding box (0 for a dot, or when nothing is drawn)."""
    pts = _as_points(strokes)
    if not pts:
        return 0.0
    allp = np.concatenate(pts)
    return float((allp.max(axis=0) - allp.min(axis=0)).max())
