"""Reading picture files for "classify this image": Pillow, imported only when needed.

Kept outside ``drawcnn.data`` so that package stays NumPy + standard library only. A file is
read only if it is a regular file (a FIFO would block for ever) of sane size, and decoded only
if its header declares at most MAX_PIXELS pixels (a small PNG can declare 20000x20000).
16-bit and 32-bit integer images are scaled, not clipped, to 8 bits, and float images (TIFF)
by their value range, so a 16-bit scan reads as the same digit as its 8-bit copy.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np

from .errors import ImageReadError
from .untrusted import check_regular_file

#: A 24-megapixel photo is fine; more would take gigabytes on the way to 28x28.
MAX_PIXELS = 24_000_000
MAX_FILE_BYTES = 256 << 20


def _scaled_to_uint8(a: np.ndarray, full_scale: float | None) -> np.ndarray:
    """Map numbers to 0-255: by ``full_scale`` when the values fit it, else by their range."""
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("the image holds NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if full_scale is not None and lo >= 0 and hi <= full_scale:
        a = a / full_scale
    elif lo >= 0 and hi <= 1.0:
        pass  # float images in [0, 1]
    elif lo >= 0 and hi <= 255.0:
        a = a / 255.0
    else:
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return np.round(np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)


def _to_array(im) -> np.ndarray:
    mode = im.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        return np.asarray(im.convert("RGBA"), dtype=np.uint8).copy()
    if mode in ("L", "RGB"):
        return np.asarray(im, dtype=np.uint8).copy()
    if mode.startswith("I;16") or mode == "I":
        # 16-bit PNGs open as I;16 or I (values 0-65535): scale, never clip at 255
        return _scaled_to_uint8(np.asarray(im), 65535.0)
    if mode == "F":
        return _scaled_to_uint8(np.asarray(im), None)
    if mode in ("P", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    return np.asarray(im.convert("L"), dtype=np.uint8).copy()


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The image as a uint8 array: (H, W) grayscale, (H, W, 3) RGB or (H, W, 4) RGBA.

    Raises ImageReadError (naming the file) when it is missing, not a regular file, too large,
    unreadable or not an image. Feed the result to
    :func:`drawcnn.data.load_digit_image` for an ink image.
    """
    path = Path(path)
    reasons = {"no such file": "the file does not exist",
               "is a folder, not a file": "this is a folder, not an image file"}
    check_regular_file(path, MAX_FILE_BYTES,
                       lambda why: ImageReadError(path, reasons.get(why, why)))
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - pillow is a dependency
        raise ImageReadError(path, "Pillow is not installed (pip install pillow)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageReadError(path, f"too large ({w}x{h} pixels; at most "
                                               f"{MAX_PIXELS // 1_000_000} megapixels)")
                if w < 1 or h < 1:
                    raise ImageReadError(path, f"empty image ({w}x{h} pixels)")
                im.load()
                return _to_array(im)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(path, "too large (Pillow refused it as a decompression bomb)") \
            from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file Pillow can read (PNG, JPEG, BMP, ...)") \
            from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    # What Pillow's decoders raise on damaged data (seen in fuzzing), turned into one error
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, TypeError,
            KeyError, ZeroDivisionError, MemoryError, RecursionError, OverflowError) as exc:
        msg = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ImageReadError(path, f"the image is damaged or truncated ({msg})") from None

