"""drawcnn data: IDX parsing, datasets, downloads, preprocessing, augmentation, drawings.

NumPy and the standard library only (never Qt); the GUI and the CLI build on this.
"""

from .errors import (
    DataError,
    DatasetCorrupt,
    DatasetNotFound,
    DownloadCancelled,
    DownloadError,
    ImageReadError,
)
from .preprocess import (
    load_digit_image,
    naive_resize,
    preprocess_steps,
    render_strokes,
    strokes_to_mnist,
    to_mnist,
)

__all__ = [
    "DataError", "DatasetCorrupt", "DatasetNotFound", "DownloadCancelled", "DownloadError",
    "ImageReadError", "load_digit_image", "naive_resize", "preprocess_steps", "render_strokes",
    "strokes_to_mnist", "to_mnist",
]
