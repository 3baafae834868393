"""Canvas -> 28x28 model input, made the way MNIST was made.

MNIST digits were cropped to their ink, scaled (anti-aliased, aspect kept) into a 20x20 box and
pasted into 28x28 so that their centre of mass sits at the centre (index coordinates (14, 14),
measured on the real test set: 13.99, 14.01). A network trained on that only works on drawings
prepared the same way, and with a similar stroke width (about 2-3 px): a brush thick relative
to a small digit fills its loops (6, 8, 9) and costs ~10 points of accuracy.
NumPy only.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

import numpy as np

MNIST_SIZE = 28
BOX_SIZE = 20
#: Target stroke width in the final 28x28 image (MNIST strokes are about 2-3 px wide).
MNIST_STROKE = 2.8
#: A pixel counts as ink (for the bounding box) above this value.
INK_THRESHOLD = 0.05
#: Below this much total ink (in full-ink pixels) an image counts as empty.
MIN_TOTAL_INK = 1.0


@functools.lru_cache(maxsize=256)
def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of a separable anti-aliased linear resample.

    A triangle (bilinear) filter whose support widens with the downscale factor, so shrinking
    averages over the covered area (no aliasing) and enlarging interpolates bilinearly.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale
    dist = (np.arange(n_in) + 0.5)[None, :] - centres[:, None]
    w = np.clip(1.0 - np.abs(dist) / support, 0.0, None)
    w /= w.sum(axis=1, keepdims=True)
    w = w.astype(np.float32)
    w.flags.writeable = False  # cached (the app resizes the same sizes on every move)
    return w


def resize(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Anti-aliased resize of a 2-D float image to (out_h, out_w)."""
    img = np.asarray(image, dtype=np.float32)
    ry = _resize_matrix(img.shape[0], out_h)
    rx = _resize_matrix(img.shape[1], out_w)
    return ry @ img @ rx.T


def _check_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D (H, W) ink image, got shape {img.shape}")
    if not np.isfinite(img).all():  # rare: the slower, careful way
        img = np.nan_to_num(img)
    return np.clip(img, 0.0, 1.0)


def ink_bbox(image: np.ndarray,
             threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels above ``threshold`` (exclusive ends), or None."""
    mask = image > threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, col) intensity-weighted centre in index coordinates."""
    total = float(image.sum())
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows = image.sum(axis=1) @ np.arange(image.shape[0]) / total
    cols = image.sum(axis=0) @ np.arange(image.shape[1]) / total
    return float(rows), float(cols)


def is_empty(image: np.ndarray) -> bool:
    """True when there is nothing worth classifying (honest "nothing drawn")."""
    img = _check_image(image)
    return not (img > 0.1).any() or float(img.sum()) < MIN_TOTAL_INK


def _pipeline(image: np.ndarray) -> dict[str, np.ndarray | None]:
    """Every MNIST step, kept so the GUI can show them; later stages None when empty."""
    img = _check_image(image)
    steps: dict[str, np.ndarray | None] = {
        "input": img, "cropped": None, "scaled": None, "box20": None, "centred": None,
    }
    box = ink_bbox(img)
    if box is None or is_empty(img):
        return steps
    top, bottom, left, right = box
    crop = img[top:bottom, left:right]
    h, w = crop.shape
    f = BOX_SIZE / max(h, w)
    sh, sw = max(1, round(h * f)), max(1, round(w * f))
    scaled = np.clip(resize(crop, sh, sw), 0.0, 1.0)
    peak = float(scaled.max())
    if peak > 0:
        # Faint or thin ink is averaged down when shrunk; MNIST strokes peak at full ink.
        scaled = scaled / peak
    box20 = np.zeros((BOX_SIZE, BOX_SIZE), np.float32)
    oy, ox = (BOX_SIZE - sh) // 2, (BOX_SIZE - sw) // 2
    box20[oy:oy + sh, ox:ox + sw] = scaled
    cy, cx = center_of_mass(scaled)
    # Integer shift that puts the centre of mass at (14, 14); clamped so no ink is cut off
    # (a lopsided digit ends up slightly off-centre rather than clipped).
    top28 = int(np.clip(np.floor(MNIST_SIZE / 2 - cy + 0.5), 0, MNIST_SIZE - sh))
    left28 = int(np.clip(np.floor(MNIST_SIZE / 2 - cx + 0.5), 0, MNIST_SIZE - sw))
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    out[top28:top28 + sh, left28:left28 + sw] = scaled
    steps.update(cropped=crop, scaled=scaled, box20=box20, centred=out)
    return steps


def to_mnist(image: np.ndarray) -> np.ndarray | None:
    """(H, W) ink image in [0, 1] (ink = 1) -> (28, 28) float32 MNIST-style, or None if empty."""
    return _pipeline(image)["centred"]


def naive_resize(image: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Plain resize of the whole image (what many demos do), for the comparison view."""
    img = _check_image(image)
    return np.clip(resize(img, size, size), 0.0, 1.0)


# ---------------------------------------------------------------------------- strokes


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


def _rasterise(strokes: list[np.ndarray], h: int, w: int, width: float) -> np.ndarray:
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


#: The last renders of each thread, by image size and width (see ``_rasterise``).
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
    return _rasterise(pts, out_size, out_size, width)


#: Supersampling factor of the stroke re-render (the digit's longest side is ~20 * K px).
_RENDER_K = 4


def render_normalised(strokes: Sequence[np.ndarray]) -> np.ndarray | None:
    """Re-render strokes so that after scaling into 20x20 the stroke is ~MNIST_STROKE wide.

    The ink box's longest side will be 20*K px including the stroke width W = MNIST_STROKE*K,
    so the points' extent L is scaled to 20*K - W. This is what makes the input independent of
    the brush width and the digit size.
    """
    pts = _as_points(strokes)
    if not pts:
        return None
    allp = np.concatenate(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    extent = float((hi - lo).max())
    k = _RENDER_K
    stroke_w = MNIST_STROKE * k
    target = BOX_SIZE * k - stroke_w
    scale = target / extent if extent > 1e-9 else 1.0
    margin = stroke_w / 2 + 2
    size_xy = np.ceil((hi - lo) * scale + 2 * margin).astype(int)
    moved = [(p - lo) * scale + margin for p in pts]
    return _rasterise(moved, int(size_xy[1]), int(size_xy[0]), stroke_w)


def strokes_to_mnist(strokes: Sequence[np.ndarray], canvas_size: int) -> np.ndarray | None:
    """Model input (28, 28) float32 from stroke point lists, MNIST-like width; None if empty.

    ``canvas_size`` is accepted for symmetry with :func:`render_strokes`; the result does not
    depend on it (the strokes are re-rendered relative to their own bounding box).
    """
    del canvas_size
    img = render_normalised(strokes)
    return None if img is None else to_mnist(img)


def preprocess_steps(image: np.ndarray | None = None, strokes: Sequence[np.ndarray] | None = None,
                     canvas_size: int | None = None) -> dict[str, np.ndarray | None]:
    """Named intermediate images for the pipeline view.

    Keys: ``input`` (what was given), ``rendered`` (strokes re-rendered at MNIST-like width;
    None without strokes), ``cropped`` (ink bounding box), ``scaled`` (fit into 20x20, aspect
    kept), ``box20`` (that, padded to 20x20), ``centred`` (the 28x28 model input) and ``naive``
    (the whole input resized to 28x28). Stages after an empty input are None. When strokes are
    given, the stages follow :func:`strokes_to_mnist`, so ``centred`` equals the model input.
    """
    if image is None and strokes is None:
        raise ValueError("give an image or strokes")
    if image is None:
        image = render_strokes(strokes, canvas_size or 280, canvas_size or 280, 1.0)
    rendered = render_normalised(strokes) if strokes is not None else None
    steps = _pipeline(rendered if rendered is not None else image)
    steps["input"] = _check_image(image)
    steps["rendered"] = rendered
    steps["naive"] = naive_resize(image)
    return steps


def load_digit_image(array: np.ndarray) -> np.ndarray:
    """Any grayscale/RGB/RGBA picture of a digit -> (H, W) float32 ink image (ink = 1 on 0).

    Polarity is detected from the border (the background): a light border means a dark digit
    on paper, which gets inverted. The background level is subtracted, contrast stretched to
    [0, 1] and faint noise below 20 % suppressed.
    """
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or min(a.shape[:2]) < 1:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got {a.shape}")
    if a.dtype == np.bool_:
        img = a.astype(np.float32)
    elif np.issubdtype(a.dtype, np.integer):
        img = a.astype(np.float32) / float(np.iinfo(a.dtype).max if a.dtype != np.uint8 else 255)
    else:
        img = np.nan_to_num(a.astype(np.float32))
        if img.max() > 1.0:
            img = img / 255.0
    img = np.clip(img, 0.0, 1.0)
    if img.ndim == 3:
        rgb = img[:, :, :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        if img.shape[2] == 4 and img[:, :, 3].min() < 0.99:
            alpha = img[:, :, 3]
            opaque = alpha > 0.5
            fg = float(rgb[opaque].mean()) if opaque.any() else 0.0
            # Put a transparent picture on a background that contrasts with its ink.
            bg = 1.0 if fg < 0.5 else 0.0
            rgb = rgb * alpha + bg * (1.0 - alpha)
        img = rgb
    h, w = img.shape
    b = max(1, min(h, w) // 20)
    border = np.concatenate([img[:b].ravel(), img[-b:].ravel(), img[:, :b].ravel(),
                             img[:, -b:].ravel()])
    bg_level = float(np.median(border))
    if abs(bg_level - 0.5) < 0.05:  # border says nothing: fall back to the whole image
        bg_level = float(np.median(img))
    if bg_level > 0.5:
        img = 1.0 - img
        bg_level = 1.0 - bg_level
    img = img - bg_level
    top = float(np.percentile(img, 99.9)) if img.size > 100 else float(img.max())
    top = max(top, float(img.max()) * 0.5)
    if top <= 1e-6:
        return np.zeros((h, w), np.float32)
    img = np.clip(img / top, 0.0, 1.0)
    noise = 0.2
    return np.clip((img - noise) / (1.0 - noise), 0.0, 1.0).astype(np.float32)
