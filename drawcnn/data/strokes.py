"""Pen strokes -> anti-aliased ink images: the rasteriser behind the model input and the canvas.

Strokes are point lists (K, 2|3) of x, y[, pressure] with y growing downwards. Each segment is
drawn as a round-capped capsule with a 1-px linear edge ramp. Also the size measures the
reading path needs (how big a drawing is on its canvas). NumPy only.
"""

from __future__ import annotations

import threading
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
    # While a stroke grows (the app re-renders on every mouse move) the segments are the last
    # call's plus a few: ink is a max over segments, so drawing only the new ones onto the
    # last image gives the same pixels (bit for bit) for a fraction of the work.
    renders = getattr(_LAST, "renders", None)
    if renders is None:
        renders = _LAST.renders = {}
    key = (h, w, float(width))
    last = renders.pop(key, None)
    if last is not None and len(last[0]) <= len(seg) and np.array_equal(seg[:len(last[0])],
                                                                         last[0]):
        out[:] = last[1]
        new = seg[len(last[0]):]
    else:
        new = seg
    _draw_segments(out, new, reach)
    renders[key] = (seg, out.copy())  # newest last
    while len(renders) > 4:  # the app renders two images per move (as drawn, re-rendered)
        del renders[next(iter(renders))]
    return out


#: The last renders of each thread, by image size and width (see ``rasterise``).
_LAST = threading.local()


def _draw_segments(out: np.ndarray, seg: np.ndarray, reach: float) -> None:
    """Max-composite the ink of segments ``seg`` (S, 4) into ``out`` (H, W)."""
    if not len(seg):
        return
    h, w = out.shape
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
    """All small segments at once: (S, Wy, Wx) windows, then one scatter-max into ``out``.

    Same ink as :func:`_coverage`, computed in float32 relative to each segment's start (the
    app calls this on every mouse move; float32 halves the memory traffic).
    """
    # Windows as wide as the widest segment's (not _BATCH_WINDOW): mouse samples are a few
    # pixels apart, so this is several times fewer pixels than fixed 24x24 windows.
    side_x, side_y = int((c1 - c0).max()), int((r1 - r0).max())
    f32 = np.float32
    x0, y0 = seg[:, 0], seg[:, 1]
    dx, dy = (seg[:, 2] - x0).astype(f32), (seg[:, 3] - y0).astype(f32)
    ll = dx * dx + dy * dy
    inv = np.where(ll > 0, 1.0 / np.where(ll > 0, ll, 1), 0).astype(f32)
    # Pixel centres relative to the segment start: (S, 1, Wx) and (S, Wy, 1).
    u = ((c0 + 0.5 - x0).astype(f32)[:, None] + np.arange(side_x, dtype=f32))[:, None, :]
    v = ((r0 + 0.5 - y0).astype(f32)[:, None] + np.arange(side_y, dtype=f32))[:, :, None]
    dx, dy, inv = dx[:, None, None], dy[:, None, None], inv[:, None, None]
    t = (u * dx + v * dy) * inv
    np.clip(t, 0, 1, out=t)
    ex, ey = u - t * dx, v - t * dy
    cov = f32(reach) - np.sqrt(ex * ex + ey * ey)
    np.clip(cov, 0, 1, out=cov)
    cols = c0[:, None, None] + np.arange(side_x)[None, None, :]  # (S, 1, Wx)
    rows = r0[:, None, None] + np.arange(side_y)[None, :, None]  # (S, Wy, 1)
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
