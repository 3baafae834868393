"""drawcnn data: IDX parsing, datasets, downloads, preprocessing, augmentation, drawings.

NumPy and the standard library only (never Qt); the GUI and the CLI build on this.
"""

from ..errors import (
    DataError,
    DatasetCorrupt,
    DatasetNotFound,
    DownloadCancelled,
    DownloadError,
    ImageReadError,
)
from .augment import augment_batch
from .datasets import (
    DATASETS,
    Dataset,
    DatasetStatus,
    clear_cache,
    dataset_status,
    download_root,
    find_dataset,
    load_dataset,
    verify_dataset,
)
from .drawings import DrawingStore
from .drawings_file import Sample
from .idx import read_idx, write_idx
from .preprocess import (
    load_digit_image,
    naive_resize,
    preprocess_steps,
    render_strokes,
    strokes_to_mnist,
    to_mnist,
)

__all__ = [
    "DATASETS", "DataError", "Dataset", "DatasetCorrupt", "DatasetNotFound", "DatasetStatus",
    "DownloadCancelled", "DownloadError", "DrawingStore", "ImageReadError", "Sample",
    "augment_batch", "clear_cache", "dataset_status", "download_dataset", "download_file",
    "download_root", "find_dataset", "load_dataset", "load_digit_image", "naive_resize",
    "preprocess_steps", "read_idx", "render_strokes", "strokes_to_mnist", "to_mnist",
    "verify_dataset", "write_idx",
]


def __getattr__(name: str):
    """``download_dataset`` / ``download_file`` load ``download`` (urllib, http.client,
    ~30 ms) on first use: the app's start-up never needs them."""
    if name in ("download_dataset", "download_file"):
        from . import download

        return getattr(download, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
