"""Test set-up: headless Qt before any Qt import, real MNIST found through DRAWCNN_DATA."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "DRAWCNN_DATA" not in os.environ and (_SHARED / "mnist").is_dir():
    os.environ["DRAWCNN_DATA"] = str(_SHARED)


@pytest.fixture(scope="session")
def mnist_dir():
    """Folder holding the real MNIST files, or skip when this machine has none."""
    root = os.environ.get("DRAWCNN_DATA")
    if not root or not (Path(root) / "mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("real MNIST not available (set DRAWCNN_DATA to the folder holding mnist/)")
    return Path(root) / "mnist"
