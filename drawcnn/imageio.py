"""Reading picture files for "classify this image": Pillow, imported only when needed.

Kept outside ``drawcnn.data`` so that package stays NumPy + standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import ImageReadError


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The image as a uint8 array: (H, W) grayscale, (H, W, 3) RGB or (H, W, 4) RGBA.

    Raises ImageReadError (naming the file) when it is missing, unreadable or not an image.
    Feed the result to :func:`drawcnn.data.load_digit_image` for an ink image.
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(path, "the file does not exist")
    if path.is_dir():
        raise ImageReadError(path, "this is a folder, not an image file")
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - pillow is a dependency
        raise ImageReadError(path, "Pillow is not installed (pip install pillow)") from None
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
            elif im.mode not in ("L", "RGB"):
                im = im.convert("RGB") if im.mode in ("P", "CMYK", "YCbCr") else im.convert("L")
            return np.asarray(im, dtype=np.uint8).copy()
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file Pillow can read (PNG, JPEG, BMP, ...)") \
            from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(path, f"the image is damaged or truncated ({exc})") from None
