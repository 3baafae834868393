"""The user's drawings store: add, relabel, delete, export/import, corruption handling."""

import numpy as np
import pytest

from drawcnn.data.drawings import DrawingStore
from drawcnn.errors import DataError


def _sample(i):
    img = np.zeros((28, 28), np.float32)
    img[4 + i % 10, 5:20] = 1.0
    strokes = [np.array([[10.0, 20.0 + i, 1.0], [200.0, 20.0 + i, 0.5]]),
               np.array([[50.0, 50.0]])]
    return img, i % 10, strokes


def test_add_relabel_delete_persist(tmp_path):
    st = DrawingStore(tmp_path)
    ids = [st.add(*_sample(i)) for i in range(5)]
    assert len(set(ids)) == 5 and len(st) == 5
    st.relabel(ids[1], 7)
    st.delete(ids[0])
    again = DrawingStore(tmp_path)  # reread from disk
    assert [s.id for s in again.samples()] == ids[1:]
    s1 = again.samples()[0]
    assert s1.label == 7 and s1.image.dtype == np.uint8 and s1.image.max() == 255
    assert len(s1.strokes) == 2 and s1.strokes[0].shape == (2, 3) and s1.strokes[1].shape == (1, 3)
    np.testing.assert_allclose(s1.strokes[0][1], [200.0, 21.0, 0.5])
    assert s1.timestamp > 1e9
    x, y = again.arrays()
    assert x.shape == (4, 1, 28, 28) and x.dtype == np.float32 and y.tolist() == [7, 2, 3, 4]
    with pytest.raises(DataError, match="no drawing with id"):
        again.delete(999)
    with pytest.raises(ValueError):
        again.add(np.zeros((28, 28)), 11, [])
    assert not list(tmp_path.glob("*.tmp*"))


def test_export_import_round_trip(tmp_path):
    a = DrawingStore(tmp_path / "a")
    for i in range(6):
        a.add(*_sample(i))
    out = a.export(tmp_path / "mine.npz")
    b = DrawingStore(tmp_path / "b")
    b.add(*_sample(0))
    assert b.import_file(out) == 5  # sample 0 is a duplicate
    assert len(b) == 6 and len({s.id for s in b.samples()}) == 6
    c = DrawingStore(tmp_path / "c")
    c.add(*_sample(9))
    assert c.import_file(out, merge=False) == 6
    xa, ya = a.arrays()
    xc, yc = c.arrays()
    np.testing.assert_array_equal(xa, xc)
    np.testing.assert_array_equal(ya, yc)
    for sa, sc in zip(a.samples(), c.samples(), strict=True):
        for ka, kc in zip(sa.strokes, sc.strokes, strict=True):
            np.testing.assert_array_equal(ka, kc)


@pytest.mark.parametrize("junk", [b"garbage", b"PK\x03\x04broken zip", b""])
def test_corrupt_import_leaves_store_intact(tmp_path, junk):
    st = DrawingStore(tmp_path / "s")
    st.add(*_sample(1))
    before = (tmp_path / "s" / "drawings.npz").read_bytes()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(junk)
    with pytest.raises(DataError, match="bad.npz"):
        st.import_file(bad)
    assert len(st) == 1 and (tmp_path / "s" / "drawings.npz").read_bytes() == before


def test_wrong_npz_and_corrupt_store(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    st = DrawingStore(tmp_path / "s")
    with pytest.raises(DataError, match="not a drawcnn drawings file"):
        st.import_file(other)
    (tmp_path / "s").mkdir(exist_ok=True)
    store_file = tmp_path / "s" / "drawings.npz"
    store_file.write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match="drawings.npz.*moved to drawings.corrupt-"):
        DrawingStore(tmp_path / "s")
    aside = list((tmp_path / "s").glob("drawings.corrupt-*.npz"))
    assert [p.read_bytes() for p in aside] == [b"\x00" * 100]  # kept for the user, intact
    assert not store_file.exists()
    st = DrawingStore(tmp_path / "s")  # a new collection starts; the bad file stays aside
    st.add(*_sample(3))
    assert len(DrawingStore(tmp_path / "s")) == 1 and aside[0].read_bytes() == b"\x00" * 100


def test_split_holdout(tmp_path):
    st = DrawingStore(tmp_path)
    for i in range(10):
        st.add(*_sample(i))
    (xt, yt), (xh, yh) = st.split_holdout(0.3, seed=1)
    assert len(yt) == 7 and len(yh) == 3 and xh.shape == (3, 1, 28, 28)
    assert sorted(yt.tolist() + yh.tolist()) == list(range(10))
    assert st.split_holdout(0.3, seed=1)[1][1].tolist() == yh.tolist()


def test_default_root_is_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: str(tmp_path / "u"))
    st = DrawingStore()
    st.add(*_sample(2))
    assert (tmp_path / "u" / "drawings" / "drawings.npz").exists()
