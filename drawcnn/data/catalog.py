"""The datasets drawcnn knows: their files, checksums, sizes and download mirrors.

Both the loader (datasets.py) and the downloader (download.py) read this table; neither
imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DataError

ENV_VAR = "DRAWCNN_DATA"
ROLES = ("train_images", "train_labels", "test_images", "test_labels")
_MNIST_FILES = {"train_images": "train-images-idx3-ubyte.gz",
                "train_labels": "train-labels-idx1-ubyte.gz",
                "test_images": "t10k-images-idx3-ubyte.gz",
                "test_labels": "t10k-labels-idx1-ubyte.gz"}


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is made of and where to get it (md5s of the .gz and of the raw file)."""

    name: str
    title: str
    files: dict[str, str]
    md5: dict[str, str]
    raw_md5: dict[str, str]
    mirrors: tuple[str, ...]
    class_names: tuple[str, ...]
    counts: tuple[int, int] = (60000, 10000)
    dir_names: tuple[str, ...] = ()
    system_dirs: tuple[str, ...] = ()
    #: .gz sizes: progress estimates, and the cap on what a download may deliver
    sizes: dict[str, int] = field(default_factory=dict)

    def urls(self, filename: str) -> list[str]:
        return [m.rstrip("/") + "/" + filename for m in self.mirrors]


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist", title="MNIST handwritten digits", files=_MNIST_FILES,
        # Same sums as /work/shared/data/mnist/MD5SUMS and the published distribution.
        md5={"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
        raw_md5={"train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
                 "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
                 "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
                 "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637"},
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        class_names=tuple(str(i) for i in range(10)),
        dir_names=("mnist", "MNIST/raw"),
        sizes={"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
               "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
    ),
    "fashion-mnist": DatasetInfo(
        name="fashion-mnist", title="Fashion-MNIST (Zalando)", files=_MNIST_FILES,
        md5={"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
             "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
             "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
             "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
        # Debian re-compresses the .gz files (other .gz md5s), so the raw sums matter too.
        raw_md5={"train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                 "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
                 "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
                 "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"},
        mirrors=("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                 "data/fashion/",
                 # Keras' copy of the same files (https; the http-only S3 website was dropped)
                 "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"),
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                     "Sneaker", "Bag", "Ankle boot"),
        dir_names=("fashion-mnist", "fashion_mnist", "fashion", "FashionMNIST/raw"),
        system_dirs=("/usr/share/datasets/fashion-mnist",),  # apt install dataset-fashion-mnist
        sizes={"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
               "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148},
    ),
}
_ALIASES = {"fashion": "fashion-mnist", "fashion_mnist": "fashion-mnist",
            "fashionmnist": "fashion-mnist"}


def get_info(name: str) -> DatasetInfo:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[key]
