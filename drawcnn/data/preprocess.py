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
from collections.abc import Sequence

import numpy as np

from .strokes import as_points, extent, rasterise, render_strokes  # noqa: F401 (re-exported)

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


def _pipeline(image: np.ndarray, side: float = BOX_SIZE) -> dict[str, np.ndarray | None]:
    """Every MNIST step, kept so the GUI can show them; later stages None when empty.

    ``side``: what the ink's longest side is scaled to (20, MNIST's; less for a tiny drawing).
    """
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
    f = min(float(side), BOX_SIZE) / max(h, w)
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

#: Supersampling factor of the stroke re-render (the digit's longest side is ~20 * K px).
_RENDER_K = 4
#: A drawing whose longest side is at least this share of the canvas fills the 20x20 box;
#: a smaller one is drawn proportionally smaller, so a dot or a short tick stays small instead
#: of being blown up into a blob or a bar (a digit is rarely under 15 % of the canvas).
FULL_SIZE_FRACTION = 0.12


def box_side(strokes: Sequence[np.ndarray], canvas_size: float | None,
             stroke: float = MNIST_STROKE) -> float:
    """Side of the box (in 28x28 pixels, stroke included) the drawing gets in the model input.

    ``BOX_SIZE`` for a drawing of normal size (or without a canvas size), down to the stroke
    width alone for a dot: linear in the drawing's size below ``FULL_SIZE_FRACTION``.
    """
    if not canvas_size:
        return float(BOX_SIZE)
    fill = min(1.0, extent(strokes) / (FULL_SIZE_FRACTION * float(canvas_size)))
    return stroke + (BOX_SIZE - stroke) * fill


def render_normalised(strokes: Sequence[np.ndarray], box: float = BOX_SIZE,
                      stroke: float = MNIST_STROKE) -> np.ndarray | None:
    """Re-render strokes so that once the ink is scaled to ``box`` px it is ``stroke`` px wide.

    The ink box's longest side will be box*K px including the stroke width W = stroke*K, so
    the points' extent L is scaled to box*K - W. This is what makes the input independent of
    the brush width and of the digit's size on the canvas.
    """
    pts = as_points(strokes)
    if not pts:
        return None
    allp = np.concatenate(pts)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    ext = float((hi - lo).max())
    k = _RENDER_K
    stroke_w = stroke * k
    target = max(box * k - stroke_w, 0.0)
    scale = target / ext if ext > 1e-9 else 1.0
    margin = stroke_w / 2 + 2
    size_xy = np.ceil((hi - lo) * scale + 2 * margin).astype(int)
    moved = [(p - lo) * scale + margin for p in pts]
    return rasterise(moved, int(size_xy[1]), int(size_xy[0]), stroke_w)


def strokes_to_mnist(strokes: Sequence[np.ndarray], canvas_size: int | None,
                     stroke: float = MNIST_STROKE) -> np.ndarray | None:
    """Model input (28, 28) float32 from stroke point lists, MNIST-like width; None if empty.

    The strokes are re-rendered relative to their own bounding box, so the result does not
    depend on the brush or on the digit's size, except that a drawing smaller than
    ``FULL_SIZE_FRACTION`` of ``canvas_size`` stays that much smaller (a dot stays a dot).
    ``canvas_size=None`` always fills the box. ``stroke``: the stroke width in 28x28 pixels.
    """
    box = box_side(strokes, canvas_size, stroke)
    img = render_normalised(strokes, box, stroke)
    return None if img is None else _pipeline(img, box)["centred"]


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
    box = box_side(strokes, canvas_size) if strokes is not None else BOX_SIZE
    rendered = render_normalised(strokes, box) if strokes is not None else None
    steps = _pipeline(rendered if rendered is not None else image, box)
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
