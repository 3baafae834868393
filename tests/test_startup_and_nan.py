"""A bad ``--weights`` file at start-up, and non-finite outputs: never a traceback, never a
NaN shown as a probability or an accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drawcnn.cli import main
from drawcnn.engine import build_network, save_network
from drawcnn.engine.weights import META_KEY
from drawcnn.errors import NonFiniteOutput
from drawcnn.gui.weights_locator import load_startup
from drawcnn.reading import read_image
from drawcnn.shipped import default_weights_path


def _bad_files(tmp_path):
    """The issue's start-up crashers: each escaped the old loader as a raw exception."""
    good = tmp_path / "good.npz"
    save_network(build_network("lenet", seed=0), good)
    with np.load(good) as d:
        arrays = {k: d[k] for k in d.files}
    meta = json.loads(bytes(arrays[META_KEY]).decode())
    variants = {
        "string field": lambda m: m["architecture"]["layers"][0].__setitem__("filters", "6"),
        "null field": lambda m: m["architecture"]["layers"][0].__setitem__("kernel", None),
        "infinity": lambda m: m["architecture"].__setitem__("num_classes", "INF"),
        "zero classes": lambda m: m["architecture"].__setitem__("num_classes", 0),
    }
    out = {}
    for name, change in variants.items():
        m = json.loads(json.dumps(meta))
        change(m)
        a = dict(arrays)
        a[META_KEY] = np.frombuffer(json.dumps(m).replace('"INF"', "Infinity").encode(),
                                    np.uint8)
        p = tmp_path / f"{name.replace(' ', '_')}.npz"
        np.savez(p, **a)
        out[name] = p
    nested = tmp_path / "nested.npz"
    a = dict(arrays)
    a[META_KEY] = np.frombuffer(b"[" * 100_000 + b"]" * 100_000, np.uint8)
    np.savez(nested, **a)
    out["deep nesting"] = nested
    huge = tmp_path / "huge.npz"
    a = dict(arrays)
    a["fc1.W"] = a["fc1.W"].astype(np.float64) * 0 + 1e39  # inf once cast to float32
    np.savez(huge, **a)
    out["float64 overflow"] = huge
    return out


def test_bad_weights_at_start_up_open_the_default_network(tmp_path, capsys):
    default = default_weights_path()
    for name, path in _bad_files(tmp_path).items():
        start = load_startup(path)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"drawcnn: {path}"), (name, err)
        assert "Traceback" not in err
        if default is not None:
            assert start.path == default and "default network" in start.warning
            assert not start.net.metadata.get("untrained")
        else:
            assert start.path is None and "untrained" in start.warning


@pytest.mark.gui
def test_the_window_opens_and_says_why(qtbot, tmp_path):
    from .gui_helpers import make_window

    bad = _bad_files(tmp_path)["string field"]
    w = make_window(qtbot, bad, tmp_path)
    assert w.banner.isVisible() and "string_field.npz" in w.banner.text()


def _huge_weights(tmp_path):
    p = tmp_path / "huge32.npz"
    net = build_network("lenet", seed=0)
    params = net.get_params()
    params["fc1.W"][:] = 3e38  # finite float32, overflows in the first sum
    net.set_params(params)
    save_network(net, p)
    return p, net


def test_predict_and_evaluate_never_print_nan(tmp_path, capsys, mnist_dir):
    from PIL import Image

    path, _ = _huge_weights(tmp_path)
    img = tmp_path / "one.png"
    a = np.full((28, 28), 255, np.uint8)
    a[4:24, 13:15] = 0
    Image.fromarray(a).save(img)
    assert main(["predict", str(img), "--weights", str(path)]) == 2
    assert main(["evaluate", "--weights", str(path), "--data-dir", str(mnist_dir.parent)]) == 2
    cap = capsys.readouterr()
    assert "nan" not in (cap.out + cap.err).lower() and "%" not in cap.out
    assert cap.err.count("overflow") == 2


def test_a_network_that_goes_non_finite_gives_no_reading(tmp_path, capsys, monkeypatch):
    """Weights damaged in memory (not from a file): the output check still refuses."""
    from PIL import Image

    import drawcnn.engine

    _, net = _huge_weights(tmp_path)
    with pytest.raises(NonFiniteOutput):
        read_image(np.random.default_rng(0).random((28, 28)), net)
    monkeypatch.setattr(drawcnn.engine, "load_network", lambda path: net)
    img = tmp_path / "one.png"
    a = np.full((28, 28), 255, np.uint8)
    a[4:24, 13:15] = 0
    Image.fromarray(a).save(img)
    assert main(["predict", str(img)]) == 1
    out = capsys.readouterr().out
    assert "non-finite" in out and "nan" not in out.lower()
