"""drawcnn.explain against the engine: neuron arithmetic equals the engine's activations,
softmax_trace equals predict, saliency and Grad-CAM equal numerical gradients (float64),
activation maximisation beats real digits."""

from __future__ import annotations

import numpy as np
import pytest

from drawcnn import explain as E
from drawcnn.engine import load_network
from drawcnn.engine.layers import Conv2D, DenseLayer

from .engine_helpers import numerical_grad, synthetic_digits
from .gui_helpers import REPO

SHIPPED = ["simple", "lenet", "deep"]


def shipped(name, backend="cpu"):
    path = REPO / "weights" / f"{name}.npz"
    if not path.exists():
        pytest.skip(f"weights/{name}.npz not available")
    return load_network(path, backend)


def digit(seed=0, dtype=np.float32):
    x, _ = synthetic_digits(1, seed=seed)
    return x.astype(dtype)


def float64(net):
    """The float64 check path: parameters and inputs stay float64 end to end."""
    for k in net.params:
        net.params[k] = np.asarray(net.params[k], np.float64)
    net._prepare = lambda a: np.ascontiguousarray(a, np.float64)
    return net


def cells(shape, rng, out, n=6):
    """n random cells of a (C,H,W) or (D,) output plus its largest one."""
    picks = [tuple(int(rng.integers(s)) for s in shape) for _ in range(n)]
    picks.append(tuple(int(v) for v in np.unravel_index(int(np.argmax(out)), shape)))
    return picks


@pytest.mark.parametrize("name", SHIPPED)
def test_neuron_sums_equal_engine_activations(name):
    net = shipped(name)
    x = digit(1)
    acts = net.activations(x)
    outs = dict(acts)
    rng = np.random.default_rng(0)
    kinds = set()
    for lay in net.layers:
        out = outs[lay.name][0]
        if lay.kind not in ("Conv2D", "Dense", "MaxPool2D", "AvgPool2D", "ReLU"):
            continue
        for idx in cells(out.shape, rng, out):
            t = E.neuron(net, x, lay.name, idx)
            assert t.value == float(out[idx])  # the engine's number, not a recomputation
            kinds.add(t.kind)
            if t.kind == "ReLU":
                assert t.value == max(t.pre_activation, 0.0)
                assert t.source is not None and t.source.value == t.pre_activation
                continue
            assert t.inputs.shape == t.weights.shape
            scale = np.abs(t.products).sum() + abs(t.bias)
            assert abs(t.total - t.value) <= 1e-5 * scale + 1e-6, (lay.name, idx)
            if isinstance(lay, Conv2D):
                assert t.inputs.shape == tuple(
                    net.params[f"{lay.name}.W"].shape[1:])  # (C, kh, kw) incl. padding
            if lay.kind == "MaxPool2D":
                r, c = t.winner
                prev = outs[t.previous][0]
                assert prev[idx[0], r, c] == t.value == t.inputs.max()
    assert {"Conv2D", "Dense", "MaxPool2D", "ReLU"} <= kinds


def test_neuron_patch_includes_zero_padding():
    net = shipped("deep")
    x = digit(2)
    t = E.neuron(net, x, "conv1", (0, 0, 0))  # corner: pad 1 -> first row/col are padding
    assert t.inputs.shape == (1, 3, 3)
    assert np.all(t.inputs[:, 0, :] == 0) and np.all(t.inputs[:, :, 0] == 0)
    np.testing.assert_array_equal(t.inputs[0, 1:, 1:], x[0, 0, :2, :2])
    assert t.input_field == (0, 1, 0, 1)


def test_receptive_field_is_what_the_cell_sees():
    net = shipped("deep")
    x = digit(3)
    layer, idx = "conv3", (5, 3, 4)
    t = E.neuron(net, x, layer, idx)
    r0, r1, c0, c1 = t.input_field
    assert (r1 - r0 + 1, c1 - c0 + 1) == (10, 10)  # 3x3, 3x3, pool 2, 3x3 -> 10 pixels
    outside = x.copy()
    mask = np.ones((28, 28), bool)
    mask[r0 : r1 + 1, c0 : c1 + 1] = False
    outside[0, 0][mask] = np.random.default_rng(0).random(mask.sum())
    assert dict(net.activations(outside))[layer][0][idx] == t.value
    inside = x.copy()
    inside[0, 0, r0 : r1 + 1, c0 : c1 + 1] = 1 - inside[0, 0, r0 : r1 + 1, c0 : c1 + 1]
    assert dict(net.activations(inside))[layer][0][idx] != t.value


@pytest.mark.parametrize("name", SHIPPED)
def test_softmax_trace_equals_predict_and_loss(name):
    net = shipped(name)
    x = digit(4)
    p = net.predict(x)[0]
    s = E.softmax_trace(net, x)
    np.testing.assert_allclose(s.probabilities, p, atol=1e-6)
    assert s.predicted == int(np.argmax(p)) == s.label
    np.testing.assert_allclose(s.exps / s.total, s.probabilities)
    assert s.shifted.max() == 0
    for label in (s.predicted, (s.predicted + 3) % 10):
        s = E.softmax_trace(net, x, label)
        assert s.loss == pytest.approx(-np.log(s.probabilities[label]), rel=1e-9)
        assert s.loss == pytest.approx(net.loss(x, np.array([label])), rel=1e-4, abs=1e-6)


def tail_logit(net, layer, target):
    """logit[target] as a function of ``layer``'s output (the rest of the network, eval)."""
    start = net.layer_index(layer) + 1

    def f(a):
        out = a
        for lay in net.layers[start:]:
            out = lay.forward(out, False)
        return float(np.asarray(net.backend.to_host(out))[0, target])

    return f


@pytest.mark.parametrize("name,backend", [("lenet", "reference"), ("lenet", "cpu"),
                                          ("simple", "reference"), ("deep", "cpu")])
def test_saliency_matches_numerical_gradient(name, backend):
    net = float64(shipped(name, backend))
    rng = np.random.default_rng(5)
    x = np.clip(digit(5, np.float64) + 0.05 * rng.standard_normal((1, 1, 28, 28)), 0, 1)
    target = int(np.argmax(net.forward(x)[0]))
    sal = E.saliency(net, x, target)
    assert sal.shape == (28, 28) and sal.dtype == np.float64
    f = tail_logit(net, net.layers[0].name, target)
    first = net.layers[0]

    def logit():
        return f(first.forward(x, False))

    strong = [tuple(v) for v in np.argwhere(np.abs(sal) > 0.3 * np.abs(sal).max())[:6]]
    idx = [(0, 0, r, c) for r, c in strong] + [
        (0, 0, int(rng.integers(28)), int(rng.integers(28))) for _ in range(6)]
    num = numerical_grad(logit, x, idx, 1e-6)
    np.testing.assert_allclose([sal[i[2:]] for i in idx], num, rtol=1e-5, atol=1e-8)
    assert np.abs(num).max() > 0


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("name,layer", [("lenet", "conv2"), ("simple", "pool1"),
                                        ("deep", "pool2")])
def test_grad_cam_matches_numerical_gradient(name, layer, backend):
    net = float64(shipped(name, backend))
    x = digit(6, np.float64)
    target = 3
    cam = E.grad_cam(net, x, target, layer)
    a = np.array(dict(net.activations(x))[layer])  # float64 through the patched _prepare
    assert a.dtype == np.float64
    f = tail_logit(net, layer, target)
    flat = a.reshape(-1)
    num = numerical_grad(lambda: f(a), flat, list(range(flat.size)), 1e-6).reshape(a.shape)
    alpha = num[0].mean(axis=(1, 2))
    want = np.maximum(np.tensordot(alpha, a[0], axes=1), 0)
    assert cam.shape == a.shape[2:]
    np.testing.assert_allclose(cam, want, rtol=1e-5, atol=1e-8 * np.abs(want).max() + 1e-12)
    assert cam.max() > 0


def test_grad_cam_defaults_to_last_conv_and_rejects_vectors():
    net = shipped("deep")
    x = digit(7)
    assert E.grad_cam(net, x, 1).shape == (14, 14)  # conv4 of deep
    with pytest.raises(ValueError):
        E.grad_cam(net, x, 1, "fc1")


def test_occlusion_is_probability_drop():
    net = shipped("lenet")
    x = np.zeros((1, 1, 28, 28), np.float32)
    x[0, 0, 8:20, 12:16] = 1.0  # a bar in the middle: the corners are empty
    target = int(np.argmax(net.predict(x)[0]))
    occ = E.occlusion(net, x, target, patch=4, stride=4)
    assert occ.shape == (7, 7)
    assert occ[0, 0] == 0 and occ[6, 6] == 0  # blanking blank pixels changes nothing
    blanked = x.copy()
    blanked[0, 0, 8:12, 12:16] = 0
    want = net.predict(x)[0, target] - net.predict(blanked)[0, target]
    assert occ[2, 3] == pytest.approx(float(want), abs=1e-6)
    assert np.abs(occ).max() > 0


def test_backprop_keeps_training_state_and_captures():
    net = shipped("lenet")
    sentinel = {"fc3.W": "untouched"}
    net.grads.clear()
    net.grads.update(sentinel)
    x = np.concatenate([digit(8), digit(9)])
    g2 = net.input_gradient(x, 4)
    assert net.grads == sentinel and net.layers[0].need_dx is False
    assert all(lay._cache is None for lay in net.layers)
    np.testing.assert_allclose(g2[1:], net.input_gradient(x[1:], 4), rtol=1e-5, atol=1e-7)
    bp = net.backprop(x[:1], lambda o: np.ones_like(o), layer="fc2",
                      capture=("fc1", "relu3", "fc2"))
    assert bp.output.shape == (1, 84)
    np.testing.assert_array_equal(bp.gradients["fc2"], np.ones((1, 84)))
    w = np.asarray(net.params["fc2.W"])
    np.testing.assert_allclose(bp.gradients["relu3"], w.sum(axis=1)[None], rtol=1e-5, atol=1e-6)
    want = w.sum(axis=1)[None] * (bp.activations["fc1"] > 0)  # through the ReLU
    np.testing.assert_allclose(bp.gradients["fc1"], want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        net.backprop(x, lambda o: o, layer="fc1", capture=("fc3",))


def test_maximize_activation_beats_real_digits(mnist_dir):
    from drawcnn.data.idx import read_idx

    net = shipped("deep")
    imgs = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:300].astype(np.float32) / 255
    real = dict(net.activations(imgs[:, None]))
    checks = [("conv4", [0, 1, 2, 3]), ("conv2", [5, 9]), ("fc2", [3, 8])]
    for layer, channels in checks:
        best = E.maximize_layer(net, layer, channels, seed=0)
        assert best.shape == (len(channels), 28, 28)
        assert best.min() >= 0 and best.max() <= 1
        got = E.objective(dict(net.activations(best[:, None]))[layer], channels)
        for k, ch in enumerate(channels):
            on_digits = real[layer][:, ch]
            if on_digits.ndim == 3:
                on_digits = on_digits.mean(axis=(1, 2))
            assert got[k] > on_digits.max(), (layer, ch, got[k], on_digits.max())
    one = E.maximize_activation(net, "conv4", 2, seed=0)
    np.testing.assert_array_equal(one, E.maximize_layer(net, "conv4", [2], seed=0)[0])


def test_layer_kinds_cover_the_shipped_networks():
    net = shipped("simple")
    assert E.logit_layer(net) == "fc2"
    assert isinstance(net.layers[-1], DenseLayer)
