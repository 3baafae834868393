"""Pure NumPy helpers for showing what a network sees (no Qt here).

* ``tile`` lays a stack of channels out as one mosaic image with 1 px separators, so a layer
  is drawn by a single image item however many channels it has.
* ``symmetric_levels`` / ``normalize`` map values to display levels; a diverging colour map
  (``diverging_lut``) centred on 0 makes positive and negative weights distinguishable.
* ``SOBEL_X``, ``SOBEL_Y``, ``LAPLACIAN`` and ``correlate2d`` are the textbook hand-set
  filters, applied the way a conv layer does (cross-correlation, zero padding).
"""

from __future__ import annotations

import math

import numpy as np

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
SOBEL_Y = SOBEL_X.T.copy()
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32)

HAND_FILTERS: dict[str, np.ndarray] = {
    "Sobel x": SOBEL_X,  # responds to vertical edges (a change along x)
    "Sobel y": SOBEL_Y,  # responds to horizontal edges
    "Laplacian": LAPLACIAN,
    "Sharpen": SHARPEN,
}


def grid_shape(n: int, aspect: float = 1.0) -> tuple[int, int]:
    """(rows, cols) for ``n`` tiles, roughly ``aspect`` times as wide as tall (in tiles).

    An exact divisor of ``n`` near the ideal column count is preferred (32 -> 2x16 rather
    than 3x12 with four empty cells).
    """
    if n <= 0:
        return (0, 0)
    ideal = max(1, min(n, math.ceil(math.sqrt(n * aspect))))
    best = ideal
    for d in range(0, ideal // 2 + 1):
        hits = [c for c in (ideal + d, ideal - d) if 1 <= c <= n and n % c == 0]
        if hits:
            best = max(hits)
            break
    cols = best
    return math.ceil(n / cols), cols


def normalize_channels(channels: np.ndarray) -> np.ndarray:
    """Scale each channel of (C,H,W) by its own max |value| (into [-1, 1])."""
    a = np.asarray(channels, dtype=np.float32)
    m = np.abs(a).reshape(a.shape[0], -1).max(axis=1)
    m = np.where(m > 1e-12, m, 1.0).astype(np.float32)
    return a / m[:, None, None]


def tile(channels: np.ndarray, cols: int | None = None, sep: int = 1,
         fill: float = np.nan, aspect: float = 1.0, dtype=np.float32) -> np.ndarray:
    """(C,H,W) -> one (rows*(H+sep)-sep, cols*(W+sep)-sep) mosaic, row-major by channel.

    Separators and unused cells hold ``fill`` (NaN by default, which image items draw as
    transparent so the gaps show the background).
    """
    channels = np.asarray(channels, dtype=dtype)
    if channels.ndim == 2:
        channels = channels[None]
    if channels.ndim != 3:
        raise ValueError(f"tile expects (C,H,W), got shape {channels.shape}")
    c, h, w = channels.shape
    if cols is None:
        rows, cols = grid_shape(c, aspect)
    else:
        cols = max(1, min(cols, c)) if c else 1
        rows = math.ceil(c / cols) if c else 0
    if c == 0:
        return np.full((h, w), fill, dtype=dtype)
    grid = np.full((rows * cols, h + sep, w + sep), fill, dtype=dtype)
    grid[:c, :h, :w] = channels
    out = grid.reshape(rows, cols, h + sep, w + sep).transpose(0, 2, 1, 3)
    out = out.reshape(rows * (h + sep), cols * (w + sep))
    return np.ascontiguousarray(out[:out.shape[0] - sep, :out.shape[1] - sep])


def to_index(a: np.ndarray, levels: tuple[float, float], n: int = 256) -> np.ndarray:
    """Map finite values to LUT indices 0..n-1 (uint16), clipped to ``levels``."""
    lo, hi = levels
    span = hi - lo if hi > lo else 1.0
    t = (np.asarray(a, dtype=np.float32) - np.float32(lo)) * np.float32((n - 1) / span)
    np.clip(t, 0, n - 1, out=t)
    return t.astype(np.uint16)


def with_transparent(lut: np.ndarray) -> np.ndarray:
    """``lut`` plus one fully transparent entry at index len(lut) (for mosaic gaps)."""
    return np.concatenate([lut, np.zeros((1, 4), np.uint8)])


def colorize(img: np.ndarray, levels: tuple[float, float], lut: np.ndarray) -> np.ndarray:
    """(H,W) float -> (H,W,4) uint8 RGBA through ``lut``; NaN becomes fully transparent."""
    lo, hi = levels
    span = hi - lo if hi > lo else 1.0
    a = np.asarray(img, dtype=np.float32)
    nan = np.isnan(a)
    t = (np.nan_to_num(a, nan=lo) - lo) * ((len(lut) - 1) / span)
    idx = np.clip(t, 0, len(lut) - 1).astype(np.intp)
    rgba = lut[idx]
    rgba[nan] = 0
    return rgba


def strip(values: np.ndarray, width: int = 32) -> np.ndarray:
    """A 1-D vector (D,) -> a (rows, width) heat strip, padded with NaN."""
    v = np.asarray(values, dtype=np.float32).ravel()
    width = max(1, min(width, v.size)) if v.size else 1
    rows = max(1, math.ceil(v.size / width))
    out = np.full(rows * width, np.nan, dtype=np.float32)
    out[:v.size] = v
    return out.reshape(rows, width)


def _finite_range(a: np.ndarray) -> tuple[float, float]:
    a = np.asarray(a, dtype=np.float32)
    if a.size == 0:
        return (0.0, 0.0)
    lo, hi = float(np.min(a)), float(np.max(a))
    if not (np.isfinite(lo) and np.isfinite(hi)):  # NaN/inf present: the slow, careful way
        finite = a[np.isfinite(a)]
        if finite.size == 0:
            return (0.0, 0.0)
        lo, hi = float(finite.min()), float(finite.max())
    return lo, hi


def symmetric_levels(a: np.ndarray, floor: float = 1e-6) -> tuple[float, float]:
    """(-m, m) with m the largest finite |value|: a diverging map then puts 0 in the middle."""
    lo, hi = _finite_range(a)
    m = max(abs(lo), abs(hi), floor)
    return (-m, m)


def normalize(a: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """Map ``levels`` to [0, 1] (clipped); NaN stays NaN."""
    lo, hi = levels
    span = hi - lo if hi > lo else 1.0
    return np.clip((np.asarray(a, dtype=np.float32) - lo) / span, 0.0, 1.0)


def correlate2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'Same'-size 2-D cross-correlation with zero padding (what a conv layer computes)."""
    image = np.asarray(image, dtype=np.float32)
    kernel = np.asarray(kernel, dtype=np.float32)
    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    padded = np.pad(image, ((ph, kh - 1 - ph), (pw, kw - 1 - pw)))
    h, w = image.shape
    out = np.zeros((h, w), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            if kernel[i, j] != 0.0:
                out += kernel[i, j] * padded[i:i + h, j:j + w]
    return out


def apply_hand_filters(image: np.ndarray,
                       filters: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """{name: response} for each hand-set filter, plus the Sobel gradient magnitude."""
    filters = HAND_FILTERS if filters is None else filters
    out = {name: correlate2d(image, k) for name, k in filters.items()}
    if filters is HAND_FILTERS:
        gx, gy = out["Sobel x"], out["Sobel y"]
        out["Sobel magnitude"] = np.hypot(gx, gy)
    return out


def diverging_lut(n: int = 256) -> np.ndarray:
    """(n,4) uint8 blue -> white -> red lookup table (negative blue, zero white, positive red).

    Perceptually ordered and readable for the common red-green colour blindnesses.
    """
    t = np.linspace(-1.0, 1.0, n)
    neg = np.array([33, 102, 172], dtype=np.float64)   # blue
    mid = np.array([247, 247, 247], dtype=np.float64)  # near white
    pos = np.array([178, 24, 43], dtype=np.float64)    # red
    a = np.abs(t)[:, None]
    rgb = np.where(t[:, None] < 0, mid + (neg - mid) * a, mid + (pos - mid) * a)
    lut = np.empty((n, 4), dtype=np.uint8)
    lut[:, :3] = np.round(rgb).astype(np.uint8)
    lut[:, 3] = 255
    return lut


def sequential_lut(n: int = 256) -> np.ndarray:
    """(n,4) uint8 black -> purple -> orange -> yellow (an 'inferno'-like map for >= 0)."""
    stops = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
                     dtype=np.float64)
    x = np.linspace(0, len(stops) - 1, n)
    lo = np.floor(x).astype(int).clip(0, len(stops) - 2)
    f = (x - lo)[:, None]
    rgb = stops[lo] * (1 - f) + stops[lo + 1] * f
    lut = np.empty((n, 4), dtype=np.uint8)
    lut[:, :3] = np.round(rgb).astype(np.uint8)
    lut[:, 3] = 255
    return lut


def auto_levels(a: np.ndarray) -> tuple[tuple[float, float], bool]:
    """((lo, hi), diverging): symmetric around 0 when ``a`` has negatives, else (0, max)."""
    lo, hi = _finite_range(a)
    if lo < 0.0:
        m = max(abs(lo), abs(hi), 1e-6)
        return (-m, m), True
    return (0.0, max(hi, 1e-6)), False


#: Steps of a "nice" level in each decade: a level range snaps up to one of these, so the
#: colour bar reads round numbers and changes only now and then while the user draws (the
#: image is at most 1/3 dimmer at the top than with the exact maximum).
NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceil(m: float) -> float:
    """The smallest value of the form step * 10**k (step in ``NICE_STEPS``) that is >= m."""
    if not (m > 0.0 and math.isfinite(m)):
        return m
    e = math.floor(math.log10(m))
    scale = 10.0 ** e
    f = m / scale
    for s in NICE_STEPS:
        if f <= s * (1 + 1e-9):
            return float(f"{s * scale:.6g}")
    return float(f"{10.0 * scale:.6g}")


def nice_levels(levels: tuple[float, float]) -> tuple[float, float]:
    """``levels`` widened to round numbers: (-m, m) -> (-M, M), (0, m) -> (0, M), M >= m."""
    lo, hi = levels
    if lo < 0.0:
        m = nice_ceil(max(-lo, hi))
        return (-m, m)
    return (lo, nice_ceil(hi))


def format_level(v: float) -> str:
    """A short label for a colour-bar end: '0', '2.5', '-0.012', '1.5e+04'."""
    if v == 0.0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    return f"{v:.1e}"


def tile_centers(n: int, tile_h: int, tile_w: int, cols: int, sep: int = 1
                 ) -> list[tuple[float, float]]:
    """(x, y) centre of each of ``n`` tiles of a ``tile`` mosaic with ``cols`` columns."""
    return [((i % cols) * (tile_w + sep) + tile_w / 2, (i // cols) * (tile_h + sep) + tile_h / 2)
            for i in range(n)]


def fill_grid(n: int, area_w: float, area_h: float) -> tuple[int, int]:
    """(rows, cols) of ``n`` square tiles that makes them as large as possible in the area."""
    if n <= 0:
        return (0, 0)
    best, best_size = (1, n), -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        size = min(area_w / cols, area_h / rows)
        if size > best_size + 1e-9:
            best, best_size = (rows, cols), size
    return best
