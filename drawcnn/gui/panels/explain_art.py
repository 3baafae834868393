"""Pictures for the explanation panels: heat maps, overlays on the drawing, rectangles.

NumPy does the colouring (``viz`` lookup tables); Qt only wraps the bytes in a pixmap that
is scaled up without smoothing, so every input pixel stays a visible square.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from . import viz

DIVERGING = viz.diverging_lut()
SEQUENTIAL = viz.sequential_lut()


def heat(a: np.ndarray, levels=None, diverging: bool | None = None) -> np.ndarray:
    """(H, W) values -> (H, W, 4) RGBA: blue-white-red around 0 when signed, else inferno."""
    a = np.asarray(a, dtype=np.float32)
    auto, signed = viz.auto_levels(a)
    diverging = signed if diverging is None else diverging
    if levels is None:
        levels = viz.symmetric_levels(a) if diverging else auto
    return viz.colorize(a, levels, DIVERGING if diverging else SEQUENTIAL)


def gray(img: np.ndarray, paper: bool = False) -> np.ndarray:
    """(H, W) ink in [0, 1] -> RGBA: white ink on black (MNIST), or dark ink on paper; NaN
    (mosaic gaps) transparent."""
    raw = np.asarray(img, dtype=np.float32)
    a = np.clip(np.nan_to_num(raw), 0, 1)
    if paper:
        a = 1.0 - 0.85 * a
    g = (a * 255).astype(np.uint8)
    out = np.empty((*g.shape, 4), np.uint8)
    out[..., :3] = g[..., None]
    out[..., 3] = np.where(np.isnan(raw), 0, 255)
    return out


def overlay(img: np.ndarray, values: np.ndarray, diverging: bool, strength: float = 0.9
            ) -> np.ndarray:
    """The drawing (dark ink on paper) with ``values`` (same shape) laid over it; a cell's
    opacity grows with |value| so weak evidence leaves the drawing visible."""
    v = np.asarray(values, dtype=np.float32)
    base = gray(img, paper=True).astype(np.float32)
    col = heat(v, diverging=diverging).astype(np.float32)
    m = float(np.abs(v).max()) or 1.0
    alpha = (strength * np.clip(np.abs(v) / m, 0, 1) ** 0.7)[..., None]
    out = base * (1 - alpha) + col * alpha
    out[..., 3] = 255
    return out.astype(np.uint8)


def upsample(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a coarse (h, w) map to ``shape`` (pixel centres aligned)."""
    a = np.asarray(a, dtype=np.float64)
    h, w = a.shape
    H, W = shape
    ys = np.clip((np.arange(H) + 0.5) * h / H - 0.5, 0, h - 1)
    xs = np.clip((np.arange(W) + 0.5) * w / W - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bot = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy) + bot * fy


def patches_to_pixels(occ: np.ndarray, shape, patch: int, stride: int) -> np.ndarray:
    """An occlusion map (one value per patch) painted back onto the pixels (mean of the
    patches covering each pixel; 0 where none does)."""
    total = np.zeros(shape, np.float64)
    count = np.zeros(shape, np.float64)
    for r in range(occ.shape[0]):
        for c in range(occ.shape[1]):
            total[r * stride : r * stride + patch, c * stride : c * stride + patch] += occ[r, c]
            count[r * stride : r * stride + patch, c * stride : c * stride + patch] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def pixmap(rgba: np.ndarray, size: int) -> QPixmap:
    """RGBA bytes -> a pixmap whose longer side is ``size`` (nearest neighbour)."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    img = QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888).copy()
    scale = size / max(h, w)
    return QPixmap.fromImage(img).scaled(max(1, round(w * scale)), max(1, round(h * scale)),
                                         Qt.KeepAspectRatio, Qt.FastTransformation)


def mark(pix: QPixmap, cells: tuple[int, int], boxes, color="#17c3b2", width=2) -> QPixmap:
    """Draw rectangles ``(r0, r1, c0, c1)`` (inclusive, in cells of a (rows, cols) image)."""
    rows, cols = cells
    sy, sx = pix.height() / rows, pix.width() / cols
    p = QPainter(pix)
    for box, col in boxes if isinstance(boxes, list) else [(boxes, color)]:
        if box is None:
            continue
        r0, r1, c0, c1 = box
        p.setPen(QPen(QColor(col), width))
        p.drawRect(QRectF(c0 * sx + 1, r0 * sy + 1, (c1 - c0 + 1) * sx - 2,
                          (r1 - r0 + 1) * sy - 2))
    p.end()
    return pix


def label_tiles(pix: QPixmap, n: int, cols: int, tile_px: float, texts=None,
                color="#ffd166") -> QPixmap:
    """Write each tile's number (or ``texts[i]``) in its top-left corner."""
    p = QPainter(pix)
    p.setPen(QColor(color))
    f = p.font()
    f.setPixelSize(max(9, int(tile_px * 0.2)))
    p.setFont(f)
    for i in range(n):
        r, c = divmod(i, cols)
        p.drawText(QRectF(c * tile_px + 2, r * tile_px + 1, tile_px, tile_px),
                   Qt.AlignLeft | Qt.AlignTop, str(i) if texts is None else texts[i])
    p.end()
    return pix
