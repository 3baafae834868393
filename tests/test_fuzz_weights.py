"""Fuzzing the weights loader: every mutated or crafted file gives a WeightsError or a network
that reads finite probabilities. Never another exception, a NaN reading, a hang, or memory
beyond a budget (the bombs load in a child process under RLIMIT_AS)."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest

from drawcnn.engine import build_network, load_network, save_network
from drawcnn.engine.weights import META_KEY
from drawcnn.errors import WeightsError

from .fuzz_helpers import Outcomes, no_hang, run_capped, zip_with_zeros

SEED = 20261201
PROBE = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
PROBE[0] = 0.0
PROBE[1] = 1.0


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "lenet.npz"
    save_network(build_network("lenet", seed=3), path, training={"test_accuracy": 0.5})
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    meta = json.loads(bytes(arrays.pop(META_KEY)).decode())
    return path.read_bytes(), arrays, meta


def _npz(arrays: dict, meta_bytes: bytes | None, compress=False) -> bytes:
    buf = io.BytesIO()
    out = dict(arrays)
    if meta_bytes is not None:
        out[META_KEY] = np.frombuffer(meta_bytes, np.uint8)
    (np.savez_compressed if compress else np.savez)(buf, **out)
    return buf.getvalue()


def _finite_reading(net) -> str | None:
    p = net.predict(PROBE)
    if not np.all(np.isfinite(p)):
        return f"loaded, then read non-finite probabilities {p[0][:3]}"
    return None


def _load_and_check(path):
    def fn():
        return load_network(path)
    return fn


# ------------------------------------------------------------------ the mutations

_FIELD_VALUES = ["3", None, 1.5, -1, 0, 10_000, True, [], {}, "INF", "HUGE", "NEG"]


def _meta_json(meta, bad_number=None) -> bytes:
    text = json.dumps(meta)
    if bad_number is not None:  # JSON that Python's json accepts but is not a real number
        text = text.replace('"INF"', "Infinity").replace('"HUGE"', "1e400")
        text = text.replace('"NEG"', "-" + "9" * 30)
    return text.encode()


def meta_cases(meta):
    """(label, metadata bytes): every field of the spec made the wrong type or range."""
    arch = meta["architecture"]
    for li, layer in enumerate(arch["layers"]):
        for key in [k for k in layer if k != "type"]:
            for v in _FIELD_VALUES:
                m = json.loads(json.dumps(meta))
                m["architecture"]["layers"][li][key] = v
                yield f"layer{li}.{key}={v!r}", _meta_json(m, True)
    for v in ([3, 28, 28], [1, 32, 32], [1, 28], [], "x", [1, 28, 28.5], None, [1, -28, 28]):
        m = json.loads(json.dumps(meta))
        m["architecture"]["input_shape"] = v
        yield f"input_shape={v!r}", _meta_json(m)
    for v in (0, -1, None, 10.5, "10", 1, "INF", "HUGE"):
        m = json.loads(json.dumps(meta))
        m["architecture"]["num_classes"] = v
        yield f"num_classes={v!r}", _meta_json(m, True)
    for v in ([], None, "abc", [{}], [{"type": "Conv"}], [{"type": "Dense", "units": 10}],
              [["Conv", 6, 5]], [{"type": "Conv", "filters": 6, "kernel": 5, "pad": 10_000},
                                 {"type": "Flatten"}, {"type": "Dense", "units": 10}],
              [{"type": "Conv", "filters": 6, "kernel": 5, "stride": 0}],
              [{"type": "MaxPool", "size": 2, "stride": -1}, {"type": "Flatten"},
               {"type": "Dense", "units": 10}]):
        m = json.loads(json.dumps(meta))
        m["architecture"]["layers"] = v
        yield f"layers={json.dumps(v)[:40]}", _meta_json(m)
    for v in ("1", 1.0, None, 2, -1, True, "INF"):
        m = dict(meta, format_version=v)
        yield f"format_version={v!r}", _meta_json(m, True)
    for v in (None, 5, "lenet", []):
        m = dict(meta, architecture=v)
        yield f"architecture={v!r}", _meta_json(m)
    yield "meta is a list", b"[1, 2, 3]"
    yield "meta is NaN", b"NaN"
    yield "meta is a string", b'"drawcnn-weights"'
    yield "meta not utf-8", b"\xff\xfe{" + b"\x00" * 10
    yield "meta empty", b""
    yield "deeply nested meta", b"[" * 200_000 + b"]" * 200_000
    yield "deeply nested object", ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()
    yield "1e400 in meta", _meta_json(dict(meta, extra="HUGE"), True)
    yield "meta digits", b"1" * 5000


def array_cases(arrays):
    """(label, arrays): dtype, value and shape changes."""
    def with_(key, value):
        a = dict(arrays)
        a[key] = value
        return a

    w = arrays["fc1.W"]
    yield "float64 overflowing float32", with_("fc1.W", w.astype(np.float64) * 0 + 1e39)
    big = w.copy()
    big[:] = 3e38
    yield "finite float32 near 3e38", with_("fc1.W", big)
    big = w.copy()
    big[0, :5] = 3e38
    yield "a few float32 near 3e38", with_("fc1.W", big)
    yield "moderately large weights", with_("fc1.W", w * 1e6)
    yield "int32 weights", with_("fc1.W", w.astype(np.int32))
    yield "float16 weights", with_("fc1.W", w.astype(np.float16))
    yield "complex weights", with_("fc1.W", w.astype(np.complex64))
    yield "bool weights", with_("fc1.W", w > 0)
    yield "fortran order", with_("fc1.W", np.asfortranarray(w))
    yield "transposed", with_("fc1.W", w.T.copy())
    yield "0-d", with_("fc1.b", np.float32(1.0))
    yield "empty", with_("fc1.b", np.zeros(0, np.float32))
    yield "extra array", with_("fc9.W", w)
    yield "NaN bias", with_("fc2.b", np.full(10, np.nan, np.float32))
    yield "-inf", with_("conv1.W", np.full_like(arrays["conv1.W"], -np.inf))
    yield "structured dtype", with_("fc2.b", np.zeros(10, dtype=[("a", "f4")]))
    yield "bytes dtype", with_("fc2.b", np.array([b"abc"] * 10))


def _npy_with_header(header: str, payload: bytes = b"", version=(1, 0)) -> bytes:
    head = header.encode("latin1")
    if version == (1, 0):
        pad = 64 - (10 + len(head)) % 64
        head += b" " * (pad - 1) + b"\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head + payload
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(head)) + head + payload


def _zip(members: dict[str, bytes], method=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_cases(raw: bytes, arrays, meta):
    """(label, file bytes): crafted archives and .npy headers."""
    meta_npy = io.BytesIO()
    np.save(meta_npy, np.frombuffer(json.dumps(meta).encode(), np.uint8))
    members = {}
    for k, v in arrays.items():
        b = io.BytesIO()
        np.save(b, v)
        members[k + ".npy"] = b.getvalue()
    members[META_KEY + ".npy"] = meta_npy.getvalue()

    def variant(name, data):
        m = dict(members)
        m[name] = data
        return _zip(m)

    yield "header declares 10^12 elements", variant(
        "fc1.W.npy", _npy_with_header("{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (1000000, 1000000), }", b"\0" * 64))
    yield "header shape negative", variant(
        "fc1.W.npy", _npy_with_header("{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (-1, 120), }"))
    yield "header object dtype", variant(
        "fc1.W.npy", _npy_with_header("{'descr': '|O', 'fortran_order': False, "
                                      "'shape': (2,), }", b"\x80\x04N."))
    yield "header garbage", variant("fc1.W.npy", _npy_with_header("{'descr': '<f4', (((("))
    yield "header unterminated string", variant("fc1.W.npy", _npy_with_header("{'descr': '<f4"))
    yield "header not a dict", variant("fc1.W.npy", _npy_with_header("[1, 2, 3]"))
    yield "header huge shape tuple", variant(
        "fc1.W.npy", _npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': ("
                                      + "2, " * 3000 + "), }"))
    yield "npy version 2", variant(
        "fc1.W.npy", _npy_with_header("{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (3,), }", b"\0" * 12, (2, 0)))
    yield "npy version 3", variant(
        "fc1.W.npy", _npy_with_header("{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (3,), }", b"\0" * 12, (3, 0)))
    yield "npy version 9", variant("fc1.W.npy", b"\x93NUMPY\x09\x00" + b"\0" * 100)
    yield "npy header length 4 GB", variant("fc1.W.npy", b"\x93NUMPY\x02\x00\xff\xff\xff\xff")
    yield "npy header unicode", variant(
        "fc1.W.npy", _npy_with_header("{'descr': '<f4', 'fortran_order': False, "
                                      "'shape': (3,), 'é': 1}", b"\0" * 12))
    yield "not .npy member", _zip(dict(members, **{"evil.pkl": b"\x80\x04N."}))
    yield "pickled array", variant("fc1.W.npy", _pickled())
    yield "no end of central directory", _zip(members)[:-22] + b"\0" * 22
    yield "empty zip", _zip({})
    yield "many members", _zip({f"a{i}.npy": b"" for i in range(200)})
    yield "deflated members", _zip(members, zipfile.ZIP_DEFLATED)
    for method in (12, 14, 93, 99):
        yield f"compression method {method}", _set_method(_zip(members, zipfile.ZIP_DEFLATED),
                                                          method)
    yield "encrypted flag", _set_flag(_zip(members), 0x1)
    yield "declared size 4 GB", _set_sizes(_zip(members), 2**32 - 1)
    yield "declared size 0", _set_sizes(_zip(members), 0)
    yield "damaged deflate stream", _damage_deflate(_zip(members, zipfile.ZIP_DEFLATED))


def _pickled() -> bytes:
    b = io.BytesIO()
    np.save(b, np.array([object()], dtype=object), allow_pickle=True)
    return b.getvalue()


def _central_entries(data: bytearray):
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        yield pos
        pos += 4


def _local_entries(data: bytearray):
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) >= 0:
        yield pos
        pos += 4


def _set_method(raw: bytes, method: int) -> bytes:
    d = bytearray(raw)
    for p in _central_entries(d):
        d[p + 10:p + 12] = struct.pack("<H", method)
    for p in _local_entries(d):
        d[p + 8:p + 10] = struct.pack("<H", method)
    return bytes(d)


def _set_flag(raw: bytes, flag: int) -> bytes:
    d = bytearray(raw)
    for p in _central_entries(d):
        d[p + 8] |= flag
    for p in _local_entries(d):
        d[p + 6] |= flag
    return bytes(d)


def _set_sizes(raw: bytes, size: int) -> bytes:
    d = bytearray(raw)
    for p in _central_entries(d):
        d[p + 24:p + 28] = struct.pack("<I", size)
    return bytes(d)


def _damage_deflate(raw: bytes) -> bytes:
    d = bytearray(raw)
    for p in list(_local_entries(d))[:3]:
        name_len, extra_len = struct.unpack("<HH", d[p + 26:p + 30])
        start = p + 30 + name_len + extra_len
        d[start:start + 4] = b"\xff\xff\xff\xff"
    return bytes(d)


def byte_cases(raw: bytes, rng: np.random.Generator, n: int):
    for i in range(n):
        d = bytearray(raw)
        kind = i % 4
        if kind == 0:
            for _ in range(int(rng.integers(1, 12))):
                d[int(rng.integers(0, len(d)))] ^= int(rng.integers(1, 256))
            yield f"flip#{i}", bytes(d)
        elif kind == 1:
            yield f"truncate#{i}", bytes(d[: int(rng.integers(0, len(d)))])
        elif kind == 2:
            at = int(rng.integers(0, len(d)))
            yield f"insert#{i}", bytes(d[:at] + rng.bytes(int(rng.integers(1, 64))) + d[at:])
        else:  # hit the zip structures: the headers and the central directory
            targets = list(_central_entries(d)) + list(_local_entries(d))
            p = targets[int(rng.integers(0, len(targets)))] + int(rng.integers(4, 46))
            d[p % len(d)] = int(rng.integers(0, 256))
            yield f"zipfield#{i}", bytes(d)


def test_fuzz_weights_files(base, tmp_path):
    raw, arrays, meta = base
    rng = np.random.default_rng(SEED)
    cases = list(byte_cases(raw, rng, 160))
    cases += [(f"meta {lbl}", _npz(arrays, mb)) for lbl, mb in meta_cases(meta)]
    meta_bytes = json.dumps(meta).encode()
    cases += [(f"arrays {lbl}", _npz(a, meta_bytes)) for lbl, a in array_cases(arrays)]
    cases += [(f"zip {lbl}", data) for lbl, data in zip_cases(raw, arrays, meta)]
    out = Outcomes()
    path = tmp_path / "fuzz.npz"
    with no_hang(600):
        for label, data in cases:
            path.write_bytes(data)
            out.run(label, _load_and_check(path), _finite_reading)
    out.report("weights fuzz")
    assert not out.bad, "\n".join(out.bad[:40])
    assert out.total == len(cases) >= 300
    assert out.counts["WeightsError"] > 250 and out.counts["ok"] > 0  # benign flips load


def test_nan_cannot_reach_a_reading(base, tmp_path):
    """The issue's bypasses, one by one: each is refused at load with a clear message."""
    _, arrays, meta = base
    meta_bytes = json.dumps(meta).encode()
    for label, a in array_cases(arrays):
        if "3e38" in label or "overflowing" in label:
            p = tmp_path / "w.npz"
            p.write_bytes(_npz(a, meta_bytes))
            with pytest.raises(WeightsError, match="overflow|NaN or infinite"):
                load_network(p)


def _bomb_npz(path, declared_elements: int) -> None:
    """A weights file whose fc1.W entry really decompresses to ``4 * declared_elements``
    bytes of zeros (a few hundred KB on disk)."""
    header = _npy_with_header("{'descr': '<f4', 'fortran_order': False, "
                              f"'shape': ({declared_elements},), }}")
    path.write_bytes(zip_with_zeros({META_KEY + ".npy": _meta_npy()}, "fc1.W.npy", header,
                                    declared_elements * 4))


def _meta_npy() -> bytes:
    net = build_network("lenet", seed=0)
    meta = {"format": "drawcnn-weights", "format_version": 1,
            "architecture": net.arch.to_dict()}
    b = io.BytesIO()
    np.save(b, np.frombuffer(json.dumps(meta).encode(), np.uint8))
    return b.getvalue()


def test_bombs_stay_within_a_memory_budget(tmp_path):
    """A 600 MB array in a ~600 KB file, and headers that lie: loaded under RLIMIT_AS
    (the budget above what the child holds after its imports), each gives WeightsError."""
    bomb = tmp_path / "bomb.npz"
    _bomb_npz(bomb, 150_000_000)
    assert bomb.stat().st_size < 2 << 20
    liar = tmp_path / "liar.npz"  # central directory says 1 KB, the stream holds 600 MB
    liar.write_bytes(_set_sizes(bomb.read_bytes(), 1024))
    results = run_capped("from drawcnn.engine import load_network",
                         "load_network(arg)", [str(bomb), str(liar)])
    assert [r[0] for r in results] == ["WeightsError", "WeightsError"], results


def test_padding_10000_is_refused_before_any_prediction(base, tmp_path):
    _, arrays, meta = base
    m = json.loads(json.dumps(meta))
    m["architecture"]["layers"][0]["pad"] = 10_000
    p = tmp_path / "pad.npz"
    p.write_bytes(_npz(arrays, json.dumps(m).encode()))
    with pytest.raises(WeightsError, match="bad architecture"):
        load_network(p)


def test_crc_damage_is_caught(base, tmp_path):
    raw, _, _ = base
    d = bytearray(raw)
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        info = zf.getinfo("fc1.W.npy")
    d[info.header_offset + 30 + len(info.filename) + 200] ^= 0x55  # stored: data bytes
    p = tmp_path / "crc.npz"
    p.write_bytes(bytes(d))
    with pytest.raises(WeightsError, match="corrupted"):
        load_network(p)
