"""Fuzzing what else a user hands drawcnn: IDX dataset files, images for ``predict`` and the
drawings store. Every case gives a clean DrawCNNError or a correct result; bombs are read in
a child process under RLIMIT_AS; a damaged store is moved aside, intact, and Teach opens."""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib

import numpy as np
import pytest

from drawcnn.data import load_dataset, load_digit_image, to_mnist
from drawcnn.data.datasets import clear_cache
from drawcnn.data.drawings import DrawingStore
from drawcnn.data.idx import read_idx, write_idx
from drawcnn.errors import DataError, DatasetCorrupt, ImageReadError
from drawcnn.imageio import read_image

from .fuzz_helpers import Outcomes, gzip_zeros, no_hang, run_capped, zip_with_zeros, zlib_zeros

SEED = 12


def _mutations(raw: bytes, rng: np.random.Generator, n: int, tag: str):
    for i in range(n):
        d = bytearray(raw)
        kind = i % 3
        if kind == 0:
            for _ in range(int(rng.integers(1, 8))):
                d[int(rng.integers(0, len(d)))] ^= int(rng.integers(1, 256))
            yield f"{tag} flip#{i}", bytes(d)
        elif kind == 1:
            yield f"{tag} truncate#{i}", bytes(d[: int(rng.integers(0, len(d)))])
        else:
            at = int(rng.integers(0, min(len(d), 64)))  # mostly the headers
            yield f"{tag} insert#{i}", bytes(d[:at] + rng.bytes(int(rng.integers(1, 9))) + d[at:])


# ------------------------------------------------------------------------ IDX


def _idx_header(code: int, dims) -> bytes:
    return struct.pack(">HBB", 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


def test_fuzz_idx_files(tmp_path):
    rng = np.random.default_rng(SEED)
    images = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    gz = write_idx(tmp_path / "i.gz", images).read_bytes()
    raw = write_idx(tmp_path / "i.idx", images, gzip=False).read_bytes()
    cases = list(_mutations(gz, rng, 90, "gz")) + list(_mutations(raw, rng, 60, "raw"))
    crafted = {
        "dims 2^32-1 cubed": _idx_header(8, (2**32 - 1,) * 3),
        "dims 10^12 items": _idx_header(8, (1_000_000, 1000, 1000)),
        "255 dimensions": _idx_header(8, (1,) * 255),
        "zero dimensions": struct.pack(">HBB", 0, 8, 0),
        "unknown dtype": _idx_header(0x42, (1, 28, 28)),
        "float64 huge": _idx_header(0x0E, (60000, 28, 28)) + b"\0" * 100,
        "header only": _idx_header(8, (40, 28, 28)),
        "zero images": _idx_header(8, (0, 28, 28)),
        "zero width": _idx_header(8, (5, 0, 28)),
    }
    for label, data in crafted.items():
        cases += [(f"raw {label}", data), (f"gz {label}", gzip.compress(data))]
    cases += [("gz two members", gz + gz), ("gz trailing garbage", gz + b"garbage"),
              ("gz trailing zeros", gz + b"\0" * 16), ("gz empty", gzip.compress(b"")),
              ("empty file", b""), ("gzip magic only", b"\x1f\x8b")]

    def correct(arr):
        if arr.ndim != 3 or arr.dtype.kind not in "iuf":
            return f"read as {arr.dtype} {arr.shape}"
        return None

    out = Outcomes()
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    with no_hang(300):
        for label, data in cases:
            path.write_bytes(data)
            out.run(label, lambda: read_idx(path, expect_ndim=3), correct)
    out.report("IDX fuzz")
    assert not out.bad, "\n".join(out.bad[:30])
    assert out.total >= 160 and out.counts["DatasetCorrupt"] > 120


def _dataset_dir(root, train_labels, test_labels=None, n_test=5):
    rng = np.random.default_rng(1)
    d = root / "mnist"
    d.mkdir(parents=True, exist_ok=True)
    n = len(train_labels)
    write_idx(d / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8))
    write_idx(d / "train-labels-idx1-ubyte.gz", np.asarray(train_labels))
    test_labels = np.arange(n_test, dtype=np.uint8) % 10 if test_labels is None else test_labels
    write_idx(d / "t10k-images-idx3-ubyte.gz",
              rng.integers(0, 256, (len(test_labels), 28, 28), np.uint8))
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.asarray(test_labels))
    return root


@pytest.mark.parametrize("labels,message", [
    (np.array([1, -1, 3], np.int8), "negative"),
    (np.array([1, 200, 3], np.uint8), "out of range"),
    (np.array([1.0, np.nan, 3.0], np.float32), "integers"),
    (np.array([1.0, 2.5, 3.0], np.float64), "integers"),
    (np.array([], np.uint8), "no images"),
])
def test_bad_labels_and_empty_sets_are_data_errors(tmp_path, labels, message):
    clear_cache()
    root = _dataset_dir(tmp_path, labels)
    with pytest.raises(DatasetCorrupt, match=message):
        load_dataset("mnist", root)
    clear_cache()
    root2 = _dataset_dir(tmp_path / "t", np.array([1, 2, 3], np.uint8), labels)
    with pytest.raises(DatasetCorrupt, match=message):
        load_dataset("mnist", root2)


def test_evaluate_refuses_minus_one_labels(tmp_path, capsys):
    """int8 labels of -1 once counted as class 9 (94.12%, exit 0)."""
    from drawcnn.cli import main

    clear_cache()
    root = _dataset_dir(tmp_path, np.array([1, 2, 3], np.uint8),
                        np.array([7, -1, 2, 1], np.int8))
    assert main(["evaluate", "--data-dir", str(root)]) == 2
    cap = capsys.readouterr()
    assert "%" not in cap.out and "negative" in cap.err
    assert len(cap.err.strip().splitlines()) == 1 and cap.err.startswith("drawcnn: ")


# ------------------------------------------------------------------------ images


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png(w: int, h: int, rows_of_zeros: int = 0, idat: bytes | None = None) -> bytes:
    """A grey PNG declaring w x h; its pixel data holds ``rows_of_zeros`` rows (or ``idat``)."""
    if idat is None:
        comp = zlib.compressobj(9)
        row = b"\0" * (w + 1)
        idat = b"".join(comp.compress(row) for _ in range(rows_of_zeros)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def _digit(value=1.0) -> np.ndarray:
    img = np.zeros((40, 40), np.float64)
    img[8:12, 10:30] = value
    for k in range(20):  # a 7: top bar and a slanted stroke
        img[12 + k, 27 - k // 2: 31 - k // 2] = value
    return img


def _encoded(fmt: str, mode: str = "L") -> bytes:
    from PIL import Image

    a = _digit() * np.linspace(0.25, 1.0, 40)[None, :]  # anti-aliased greys, not just 0/1
    if mode == "L":
        im = Image.fromarray((a * 255).astype(np.uint8))
    elif mode == "I;16":
        im = Image.fromarray((a * 65535).astype(np.uint16))
    elif mode == "I":
        im = Image.fromarray((a * 65535).astype(np.int32))
    elif mode == "F":
        im = Image.fromarray(a.astype(np.float32), mode="F")
    else:
        im = Image.fromarray((a * 255).astype(np.uint8)).convert(mode)
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def test_fuzz_images(tmp_path):
    rng = np.random.default_rng(SEED)
    bases = {"png": _encoded("PNG"), "jpeg": _encoded("JPEG"), "bmp": _encoded("BMP"),
             "tiff": _encoded("TIFF", "F"), "gif": _encoded("GIF", "P"),
             "png16": _encoded("PNG", "I;16"), "rgba": _encoded("PNG", "RGBA")}
    cases = []
    for name, raw in bases.items():
        cases += [(f"{name} intact", raw)] + list(_mutations(raw, rng, 24, name))
    cases += [("empty", b""), ("text", b"hello"), ("png 0x0", _png(0, 0)),
              ("png 1x1", _png(1, 1, 1)), ("png 20000x20000", _png(20000, 20000)),
              ("png 70000x1", _png(70000, 1, 1)), ("png no data", _png(100, 100))]

    def correct(arr):
        x = to_mnist(load_digit_image(arr))
        if x is not None and (x.shape != (28, 28) or not np.all(np.isfinite(x))
                              or x.min() < 0 or x.max() > 1):
            return f"model input {x.shape} in [{x.min()}, {x.max()}]"
        return None

    out = Outcomes()
    path = tmp_path / "digit.img"
    with no_hang(300):
        for label, data in cases:
            path.write_bytes(data)
            out.run(label, lambda: read_image(path), correct)
    out.report("image fuzz")
    assert not out.bad, "\n".join(out.bad[:30])
    assert out.total >= 170 and out.counts["ImageReadError"] > 40 and out.counts["ok"] > 7


def test_fifo_and_folder_are_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with no_hang(20), pytest.raises(ImageReadError, match="not a regular file"):
        read_image(fifo)
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


@pytest.mark.parametrize("fmt,mode", [("PNG", "I;16"), ("TIFF", "I;16"), ("TIFF", "I"),
                                      ("TIFF", "F")])
def test_16_bit_and_float_images_read_like_8_bit(tmp_path, fmt, mode):
    """A 16-bit PNG or float TIFF was cut to two grey levels (a clear 7 read as 9)."""
    ref = tmp_path / "ref.png"
    ref.write_bytes(_encoded("PNG"))
    deep = tmp_path / f"deep.{fmt.lower()}"
    deep.write_bytes(_encoded(fmt, mode))
    a, b = read_image(ref).astype(int), read_image(deep).astype(int)
    assert a.shape == b.shape and np.abs(a - b).max() <= 1


def test_predict_reads_a_16_bit_mnist_seven(mnist_dir, tmp_path, capsys):
    from PIL import Image

    from drawcnn.cli import main

    ds = load_dataset("mnist", mnist_dir.parent)
    seven = np.asarray(ds.x_test[0, 0])  # MNIST test image 0 is a 7
    assert ds.y_test[0] == 7
    p8, p16, pf = tmp_path / "seven8.png", tmp_path / "seven16.png", tmp_path / "sevenf.tiff"
    Image.fromarray((255 - seven * 255).astype(np.uint8)).save(p8)
    Image.fromarray((65535 - seven * 65535).astype(np.uint16)).save(p16)
    Image.fromarray((1 - seven).astype(np.float32), mode="F").save(pf)
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    big = tmp_path / "big.png"
    big.write_bytes(_png(20000, 20000))
    with no_hang(120):
        code = main(["predict", str(p8), str(fifo), str(big), str(p16), str(pf)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 2  # two files could not be read; the others were
    assert lines[0].startswith(f"{p8}: 7 ")
    assert "not a regular file" in lines[1] and "too large" in lines[2]
    assert lines[3].startswith(f"{p16}: 7 ") and lines[4].startswith(f"{pf}: 7 ")
    assert "nan" not in "\n".join(lines).lower()


# ------------------------------------------------------------------------ drawings store


def _store_arrays(n=4):
    rng = np.random.default_rng(3)
    counts = np.full(n, 2, np.int64)
    lengths = np.full(2 * n, 3, np.int64)
    return {"version": np.array(1, np.int64), "ids": np.arange(1, n + 1, dtype=np.int64),
            "images": rng.integers(0, 256, (n, 28, 28), np.uint8),
            "labels": np.arange(n, dtype=np.int64) % 10,
            "timestamps": np.full(n, 1.7e9), "stroke_counts": counts,
            "stroke_lengths": lengths, "points": rng.random((6 * n, 3)).astype(np.float32)}


def _npz_bytes(arrays, compressed=True, pickle=False) -> bytes:
    buf = io.BytesIO()
    if pickle:
        np.savez(buf, **arrays)  # object arrays are pickled by np.save
    else:
        (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def store_cases(rng):
    good = _store_arrays()
    raw = _npz_bytes(good)
    yield "intact", raw
    yield from _mutations(raw, rng, 60, "store")
    yield from _mutations(_npz_bytes(good, compressed=False), rng, 30, "stored")

    def variant(label, **changes):
        a = dict(good)
        for k, v in changes.items():
            if v is None:
                a.pop(k)
            else:
                a[k] = v
        return label, _npz_bytes(a, pickle=any(getattr(v, "dtype", None) is np.dtype(object)
                                                for v in changes.values()))

    yield variant("version '1'", version=np.array("1"))
    yield variant("version 'x'", version=np.array("x"))
    yield variant("version 1.5", version=np.array(1.5))
    yield variant("version [1, 2]", version=np.array([1, 2]))
    yield variant("version 99", version=np.array(99))
    yield variant("version 0", version=np.array(0))
    yield variant("ids float", ids=np.array([1.0, 2.0, 3.0, 4.0]))
    yield variant("ids 0-d", ids=np.array(4))
    yield variant("ids duplicate", ids=np.array([1, 1, 2, 3]))
    yield variant("labels NaN", labels=np.array([1.0, np.nan, 2.0, 3.0]))
    yield variant("labels 10", labels=np.array([1, 10, 2, 3]))
    yield variant("labels -1", labels=np.array([1, -1, 2, 3]))
    yield variant("labels strings", labels=np.array(["a", "b", "c", "d"]))
    yield variant("images float", images=good["images"].astype(np.float32))
    yield variant("images 27x28", images=good["images"][:, :27])
    yield variant("counts negative", stroke_counts=np.array([-1, 3, 2, 2]))
    yield variant("lengths negative", stroke_lengths=np.array([-3] + [3] * 7 + [0] * 0))
    yield variant("lengths mismatch", stroke_lengths=np.full(8, 4))
    yield variant("points (K, 2)", points=good["points"][:, :2])
    yield variant("points NaN", points=np.full_like(good["points"], np.nan))
    yield variant("points strings", points=np.array([["a", "b", "c"]] * 24))
    yield variant("timestamps inf", timestamps=np.full(4, np.inf))
    yield variant("missing labels", labels=None)
    yield variant("object labels", labels=np.array([1, 2, 3, 4], dtype=object))
    yield "not a zip", b"hello"
    yield "zeros", b"\0" * 100
    yield "empty", b""


def test_fuzz_drawing_stores(tmp_path):
    rng = np.random.default_rng(SEED)
    out = Outcomes()
    moved = 0
    with no_hang(300):
        for i, (label, data) in enumerate(store_cases(rng)):
            root = tmp_path / f"s{i}"
            root.mkdir()
            (root / DrawingStore.FILENAME).write_bytes(data)

            def check(store, root=root, data=data):
                samples = store.samples()
                for s in samples:
                    if not (0 <= s.label <= 9 and s.image.shape == (28, 28)):
                        return f"bad sample {s.id}: label {s.label}"
                return None

            before = out.counts["DataError"]
            out.run(label, lambda root=root: DrawingStore(root), check)
            if out.counts["DataError"] > before:  # damaged: moved aside, intact; Teach opens
                aside = list(root.glob("drawings.corrupt-*.npz"))
                if [p.read_bytes() for p in aside] != [data]:
                    out.bad.append(f"{label}: the damaged file was not kept aside intact")
                out.run(f"{label} reopen", lambda root=root: DrawingStore(root).add(
                    np.zeros((28, 28)), 3))
                moved += 1
            # the same bytes as an import: an error changes nothing
            imp = tmp_path / f"import{i}.npz"
            imp.write_bytes(data)
            target = DrawingStore(tmp_path / "target")
            n = len(target)
            out.run(f"{label} import", lambda imp=imp, t=target: t.import_file(imp))
            if len(DrawingStore(tmp_path / "target")) < n:
                out.bad.append(f"{label}: import lost drawings")
    out.report("drawings store fuzz")
    assert not out.bad, "\n".join(out.bad[:30])
    assert out.total >= 200 and moved > 60


# ------------------------------------------------------------------------ memory bombs


def test_data_bombs_stay_within_a_memory_budget(tmp_path):
    """Each file is small on disk and would take 0.6-1.5 GB decoded the naive way; under
    RLIMIT_AS (memory after imports + the budget) each gives a DataError."""
    idx_bomb = tmp_path / "train-images-idx3-ubyte.gz"  # header: 60000x28x28; data: 600 MB
    idx_bomb.write_bytes(gzip_zeros(_idx_header(8, (60000, 28, 28)), 600 << 20))
    idx_claim = tmp_path / "claims.gz"  # header: 2^31 x 28 x 28
    idx_claim.write_bytes(gzip_zeros(_idx_header(8, (2**31, 28, 28)), 600 << 20))
    png = tmp_path / "big.png"  # 12000x12000: 144 M pixels of real data
    png.write_bytes(_png(12000, 12000, idat=zlib_zeros(b"", 12000 * 12001)))
    store = tmp_path / "store"
    store.mkdir()
    small = {}
    for k, v in _store_arrays().items():
        if k != "points":
            buf = io.BytesIO()
            np.save(buf, v)
            small[k + ".npy"] = buf.getvalue()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (50_000_000, 3)})
    (store / DrawingStore.FILENAME).write_bytes(  # 600 MB of points
        zip_with_zeros(small, "points.npy", header.getvalue(), 600_000_000))
    assert max(p.stat().st_size for p in (idx_bomb, idx_claim, png)) < 3 << 20
    res = run_capped("from drawcnn.data.idx import read_idx", "read_idx(arg)",
                     [str(idx_bomb), str(idx_claim)])
    res += run_capped("from drawcnn.imageio import read_image\n"
                      "from drawcnn.data import load_digit_image",
                      "load_digit_image(read_image(arg))", [str(png)])
    res += run_capped("from drawcnn.data.drawings import DrawingStore", "DrawingStore(arg)",
                      [str(store)])
    assert [r[0] for r in res] == ["DatasetCorrupt", "DatasetCorrupt", "ImageReadError",
                                   "DataError"], res


def test_moved_aside_store_is_never_overwritten(tmp_path):
    """Two damaged stores in a row: both kept, under different names."""
    root = tmp_path / "s"
    root.mkdir()
    for junk in (b"first damaged", b"second damaged"):
        (root / DrawingStore.FILENAME).write_bytes(junk)
        with pytest.raises(DataError, match="moved to"):
            DrawingStore(root)
    kept = sorted(p.read_bytes() for p in root.glob("drawings.corrupt-*.npz"))
    assert kept == [b"first damaged", b"second damaged"]
