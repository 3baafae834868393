"""The pen-digits loader: strokes with writer ids, errors as DataError, writer splits."""

import gzip
import json

import numpy as np
import pytest

from drawcnn.data.pendigits import CANVAS, find_pendigits, load_pendigits, split_writers
from drawcnn.data.stroke_augment import augment_strokes, render_batch
from drawcnn.errors import DatasetCorrupt, DatasetNotFound

RECORDS = [
    {"writer": "w-1", "label": 1, "strokes": [[[250, 50], [250, 450]]]},
    {"writer": "w-1", "label": 7, "strokes": [[[100, 80], [400, 80], [200, 450]]]},
    {"writer": "w-2", "label": 4, "strokes": [[[300, 50], [100, 300], [400, 300]],
                                               [[300, 50], [300, 450]]]},
]


def _write(path, lines):
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def test_loads_strokes_labels_and_writers(tmp_path):
    path = _write(tmp_path / "pd.jsonl.gz", [json.dumps(r) for r in RECORDS])
    pd = load_pendigits(path)
    assert len(pd) == 3 and pd.labels.tolist() == [1, 7, 4]
    assert pd.writer_ids == ["w-1", "w-2"]
    assert [len(s) for s in pd.strokes] == [1, 1, 2]
    assert pd.strokes[2][0].shape == (3, 2)
    assert len(pd.by_writers(["w-2"])) == 1


def test_found_in_a_data_folder(tmp_path, monkeypatch):
    (tmp_path / "pendigits").mkdir()
    _write(tmp_path / "pendigits" / "pendigits-train-writers.jsonl.gz",
           [json.dumps(RECORDS[0])])
    assert find_pendigits(tmp_path) == tmp_path / "pendigits" / "pendigits-train-writers.jsonl.gz"
    assert len(load_pendigits(data_dir=tmp_path)) == 1


@pytest.mark.parametrize("line", ["{not json", json.dumps({"writer": "w", "label": 12,
                                                          "strokes": [[[1, 2]]]}),
                                  json.dumps({"label": 3})])
def test_bad_records_are_dataset_corrupt(tmp_path, line):
    path = _write(tmp_path / "bad.jsonl.gz", [json.dumps(RECORDS[0]), line])
    with pytest.raises(DatasetCorrupt, match="line 2"):
        load_pendigits(path)


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(DatasetNotFound):
        load_pendigits(data_dir=tmp_path)
    bad = tmp_path / "x.jsonl.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(DatasetCorrupt):
        load_pendigits(bad)


def test_writer_split_is_disjoint_and_complete():
    writers = np.array([f"w{i % 30}" for i in range(300)])
    groups = split_writers(writers, 3, seed=0)
    flat = [w for g in groups for w in g]
    assert sorted(flat) == sorted(set(writers.tolist())) and len(set(flat)) == 30
    assert [len(g) for g in groups] == [10, 10, 10]
    assert groups == split_writers(writers, 3, seed=0)


def test_rendered_through_the_app_preprocessing(tmp_path):
    pd = load_pendigits(_write(tmp_path / "pd.jsonl.gz", [json.dumps(r) for r in RECORDS]))
    x = render_batch(pd.strokes, None, CANVAS)
    assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32 and x.max() <= 1.0
    aug = render_batch(pd.strokes, np.random.default_rng(0))
    assert aug.shape == x.shape and not np.allclose(aug, x)
    moved = augment_strokes(pd.strokes[1], np.random.default_rng(1), canvas=280)
    allp = np.concatenate(moved)
    assert allp.min() >= -1e-6 and allp.max() <= 280 + 1e-6


def test_real_file_when_present():
    try:
        pd = load_pendigits()
    except DatasetNotFound:
        pytest.skip("pen digits not installed")
    assert len(pd) == 7494 and len(pd.writer_ids) == 30
    assert sorted(set(pd.labels.tolist())) == list(range(10))
