"""Ink: erasing inside point-list strokes, and painting a stroke smoothly (the canvas uses both)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    """Insert points so consecutive ones are at most ``step`` apart (for the eraser)."""
    if len(points) < 2:
        return points
    out = [points[:1]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        n = int(np.ceil(np.hypot(*(b[:2] - a[:2])) / step))
        if n > 1:
            t = np.linspace(0, 1, n + 1)[1:, None]
            out.append(a + (b - a) * t)
        else:
            out.append(b[None])
    return np.concatenate(out)


def erase_strokes(strokes: list[np.ndarray], centre: tuple[float, float],
                  radius: float) -> tuple[list[np.ndarray], bool]:
    """Remove ink within ``radius`` of ``centre``, splitting strokes; (new strokes, changed)."""
    cx, cy = centre
    out, changed = [], False
    for s in strokes:
        lo, hi = s[:, :2].min(axis=0) - radius, s[:, :2].max(axis=0) + radius
        if not (lo[0] <= cx <= hi[0] and lo[1] <= cy <= hi[1]):
            out.append(s)
            continue
        d = _densify(s, max(radius / 3, 0.5))
        keep = np.hypot(d[:, 0] - cx, d[:, 1] - cy) > radius
        if keep.all():
            out.append(s)
            continue
        changed = True
        # Split into runs of kept points.
        edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if stop - start >= 1:
                out.append(d[start:stop].copy())
    return out, changed


def paint_stroke(p: QPainter, pts: np.ndarray, s: float, sq: QRectF, ink: QColor,
                 exposed: QRectF | None = None) -> None:
    """Paint one (K, 4) [x, y, pressure, width] stroke at scale ``s`` into the square ``sq``.

    ``exposed``: only this rectangle is being repainted; pieces of the stroke whose ink
    cannot reach it are left out (the pixels inside it are the same as for the whole stroke,
    and a long stroke costs per mouse move only what its new end touches)."""
    ox, oy = sq.left(), sq.top()
    base = float(pts[0, 3]) * s
    pressure = pts[:, 2]
    if len(pts) == 1 or np.ptp(pressure) < 0.05:
        # Constant width: one smooth path through segment midpoints (quadratic curves).
        width = base * (0.4 + 0.6 * float(pressure.mean()))
        pen = QPen(ink, width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        p.setPen(pen)
        xy = pts[:, :2] * s + (ox, oy)
        if len(xy) == 1:
            p.drawPoint(QPointF(*xy[0]))
            return
        p.drawPath(_smooth_path(xy, exposed, width / 2 + 2))
        return
    for a, b in zip(pts[:-1], pts[1:], strict=True):  # pen pressure: per-segment width
        w = base * (0.4 + 0.6 * (a[2] + b[2]) / 2)
        p.setPen(QPen(ink, w, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
        p.drawLine(QPointF(ox + a[0] * s, oy + a[1] * s), QPointF(ox + b[0] * s, oy + b[1] * s))


def _smooth_path(xy: np.ndarray, exposed: QRectF | None, reach: float) -> QPainterPath:
    """The path through ``xy`` (N >= 2 points): quadratic pieces from midpoint to midpoint
    with the points as controls, a straight last piece. With ``exposed``, only the runs of
    pieces whose bounding box comes within ``reach`` (half the pen, plus the anti-aliased
    edge) of it, as subpaths of one path (one fill: overlaps are not inked twice)."""
    n = len(xy)
    mids = (xy[1:-1] + xy[2:]) / 2  # mids[i - 1] ends piece i (1 <= i <= n - 2)
    starts = np.concatenate([xy[:1], mids])  # piece k (0-based) starts here ...
    ends = np.concatenate([mids, xy[-1:]])  # ... and ends here
    ctrls = np.concatenate([xy[1:-1], xy[-1:]])  # the last piece is a line (ctrl = its end)
    if exposed is None:
        keep = np.ones(n - 1, dtype=bool)
    else:
        lo = np.minimum(np.minimum(starts, ends), ctrls) - reach
        hi = np.maximum(np.maximum(starts, ends), ctrls) + reach
        keep = ((hi[:, 0] >= exposed.left()) & (lo[:, 0] <= exposed.right())
                & (hi[:, 1] >= exposed.top()) & (lo[:, 1] <= exposed.bottom()))
    path = QPainterPath()
    quad, line = path.quadTo, path.lineTo
    last = n - 2  # index of the straight last piece
    prev = -2
    for k in np.flatnonzero(keep).tolist():
        if k != prev + 1:
            path.moveTo(*starts[k].tolist())
        if k == last:
            line(*ends[k].tolist())
        else:
            (cx, cy), (ex, ey) = xy[k + 1].tolist(), ends[k].tolist()
            quad(cx, cy, ex, ey)
        prev = k
    return path
