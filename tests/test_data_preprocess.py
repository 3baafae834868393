"""MNIST-style preprocessing: centring, box size, empty detection, stroke width, polarity."""

import numpy as np
import pytest

from drawcnn.data.preprocess import (
    load_digit_image,
    naive_resize,
    preprocess_steps,
    render_strokes,
    strokes_to_mnist,
    to_mnist,
)


def _com(img):
    ys = np.arange(img.shape[0])
    total = img.sum()
    return (img.sum(1) @ ys) / total, (img.sum(0) @ ys) / total


def _bbox(img, thr=0.05):
    rows = np.flatnonzero((img > thr).any(1))
    cols = np.flatnonzero((img > thr).any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def _seven(x0, y0, s):
    return [np.array([[x0, y0], [x0 + s, y0], [x0 + 0.4 * s, y0 + 1.6 * s]], float)]


def test_small_off_centre_digit_ends_centred_in_20x20_box():
    img = render_strokes(_seven(20, 15, 30), canvas_size=280, out_size=280, width=6)
    out = to_mnist(img)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0 and out.max() > 0.9
    cy, cx = _com(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    h, w = _bbox(out)
    assert max(h, w) <= 20 and max(h, w) >= 19


def test_aspect_ratio_kept():
    img = np.zeros((200, 200), np.float32)
    img[50:150, 90:110] = 1.0  # 100 tall, 20 wide
    out = to_mnist(img)
    h, w = _bbox(out, 0.3)
    assert h == 20 and 3 <= w <= 5


@pytest.mark.parametrize("img", [np.zeros((280, 280)), np.full((64, 64), 0.01),
                                 np.pad(np.full((1, 1), 0.5), 40)])
def test_empty_image_is_none(img):
    assert to_mnist(img) is None
    steps = preprocess_steps(img)
    assert steps["centred"] is None and steps["naive"].shape == (28, 28)


def test_no_strokes_is_none():
    assert strokes_to_mnist([], 280) is None
    assert strokes_to_mnist([np.zeros((0, 3))], 280) is None


@pytest.mark.parametrize("length,canvas", [(40, 280), (240, 280), (400, 560)])
def test_vertical_line_width_is_mnist_like_whatever_the_size(length, canvas):
    line = [np.array([[100, 30, 1.0], [100, 30 + length, 1.0]])]
    out = strokes_to_mnist(line, canvas)
    rows = np.flatnonzero((out > 0.05).any(1))
    assert len(rows) in (19, 20, 21)
    mid = out[10:18]
    widths = mid.sum(1)
    assert np.all((widths >= 1.8) & (widths <= 3.2)), widths


def test_thick_brush_does_not_fill_loops():
    t = np.linspace(0, 2 * np.pi, 80)
    loop = [np.c_[140 + 30 * np.cos(t), 140 + 45 * np.sin(t)]]
    out = strokes_to_mnist(loop, 280)
    assert out[14, 14] < 0.05  # the hole of the 0 stays open
    # whereas rendering the canvas with the thick brush and then to_mnist fills it more
    thick = to_mnist(render_strokes(loop, 280, 280, width=40))
    assert thick.sum() > 1.3 * out.sum()


def test_single_point_is_a_dot():
    img = render_strokes([np.array([[50.0, 50.0]])], 100, 100, width=10)
    assert img[50, 50] == pytest.approx(1.0)
    assert img[50, 60] == 0
    assert 60 < img.sum() < 100  # about pi * 5^2


def test_render_is_anti_aliased():
    img = render_strokes([np.array([[0, 10.3], [40, 10.3]])], 40, 40, width=3)
    values = np.unique(np.round(img[:, 20], 3))
    assert len(values) > 2  # partial coverage at the edges, not just 0/1


def test_preprocess_steps_follow_strokes():
    strokes = _seven(100, 60, 60)
    steps = preprocess_steps(strokes=strokes, canvas_size=280)
    for key in ("input", "rendered", "cropped", "scaled", "box20", "centred", "naive"):
        assert steps[key] is not None, key
    assert steps["box20"].shape == (20, 20)
    np.testing.assert_array_equal(steps["centred"], strokes_to_mnist(strokes, 280))


def test_naive_resize_keeps_position():
    img = np.zeros((280, 280), np.float32)
    img[:50, :50] = 1
    out = naive_resize(img)
    assert out.shape == (28, 28) and out[:4, :4].min() > 0.9 and out[10:, 10:].max() == 0


def test_polarity_dark_digit_on_light_paper():
    paper = np.full((60, 40, 3), 235, np.uint8)
    paper[10:50, 18:23] = 20  # dark vertical bar
    ink = load_digit_image(paper)
    assert ink.shape == (60, 40)
    assert ink[30, 20] > 0.9 and ink[5, 5] == 0.0
    light = load_digit_image(255 - paper[:, :, 0])  # already light on dark
    np.testing.assert_allclose(light, ink, atol=1e-5)


def test_load_digit_image_noise_and_alpha():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 0.1, (50, 50)).astype(np.float32)
    img[10:40, 20:25] = 0.9
    ink = load_digit_image(img)
    assert ink[:, :15].max() == 0.0 and ink[25, 22] > 0.9
    rgba = np.zeros((30, 30, 4), np.uint8)  # black ink on transparent
    rgba[5:25, 12:16, 3] = 255
    ink = load_digit_image(rgba)
    assert ink[15, 14] > 0.9 and ink[2, 2] == 0
    out = to_mnist(ink)
    assert out is not None


def test_bad_shapes_rejected():
    with pytest.raises(ValueError):
        to_mnist(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError):
        load_digit_image(np.zeros((4, 4, 5)))


def test_read_image_and_errors(tmp_path):
    from PIL import Image

    from drawcnn.errors import DataError, ImageReadError
    from drawcnn.imageio import read_image

    arr = np.full((40, 30), 240, np.uint8)
    arr[5:35, 13:17] = 10
    Image.fromarray(arr).save(tmp_path / "d.png")
    img = read_image(tmp_path / "d.png")
    assert img.shape == (40, 30) and img.dtype == np.uint8
    assert to_mnist(load_digit_image(img)) is not None
    (tmp_path / "notes.png").write_text("hello")
    data = (tmp_path / "d.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    for name, reason in [("missing.png", "does not exist"), ("notes.png", "not an image"),
                         ("cut.png", "damaged")]:
        with pytest.raises(ImageReadError, match=reason) as exc:
            read_image(tmp_path / name)
        assert name in str(exc.value) and isinstance(exc.value, DataError)


def test_data_package_never_imports_qt():
    import subprocess
    import sys

    code = ("import sys, drawcnn.data, drawcnn.imageio; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'PIL', 'numba') or m.startswith('drawcnn.gui')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_growing_stroke_renders_the_same_as_from_scratch():
    """The rasteriser reuses its last image while a stroke grows (the app's per-move path):
    bit for bit what a fresh render gives, also with two images rendered in turn."""
    import threading

    from drawcnn.data import strokes as pp  # the rasteriser lives in data/strokes.py

    def fresh(strokes, h, w, width):
        result = {}
        t = threading.Thread(target=lambda: result.update(img=pp.rasterise(strokes, h, w, width)))
        t.start()
        t.join()  # another thread: its own, empty cache
        return result["img"]

    rng = np.random.default_rng(3)
    done = [np.cumsum(rng.normal(0, 6, (30, 2)), 0) + 50]
    growing = np.cumsum(rng.normal(0, 3, (50, 2)), 0) + 50
    for k in range(1, len(growing) + 1):
        strokes = done + [growing[:k]]
        a = pp.rasterise(strokes, 100, 90, 6.4)
        b = pp.rasterise(strokes, 64, 64, 11.2)
        np.testing.assert_array_equal(a, fresh(strokes, 100, 90, 6.4))
        np.testing.assert_array_equal(b, fresh(strokes, 64, 64, 11.2))
    shorter = pp.rasterise(done, 100, 90, 6.4)  # undo: fewer segments than last time
    np.testing.assert_array_equal(shorter, fresh(done, 100, 90, 6.4))
