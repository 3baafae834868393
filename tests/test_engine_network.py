"""The public engine API: shapes, probabilities, activations, summary, input checks."""

import numpy as np
import pytest

from drawcnn.engine import ARCHITECTURES, ArchitectureError, build_network, get_architecture


@pytest.mark.parametrize("arch", ["simple", "lenet", "deep"])
def test_predict_and_activations(arch):
    net = build_network(arch, seed=0)
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    p = net.predict(x)
    assert p.shape == (3, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    acts = net.activations(x[:1])
    names = [n for n, _ in acts]
    assert names == net.arch.layer_names() + ["softmax"]
    for (name, a), shape in zip(acts, net.arch.output_shapes()):
        assert a.shape == (1, *shape), name
    np.testing.assert_allclose(acts[-1][1], p[:1], rtol=1e-5, atol=1e-6)
    # single image and batch paths (serial vs parallel kernels) agree
    np.testing.assert_allclose(net.predict(x[1]), p[1:2], rtol=1e-4, atol=1e-6)


def test_architecture_shapes_and_parameter_counts():
    simple = get_architecture("simple")
    assert simple.output_shapes()[:3] == [(30, 24, 24), (30, 24, 24), (30, 12, 12)]
    assert simple.param_count() == 30 * 25 + 30 + 4320 * 100 + 100 + 100 * 10 + 10
    lenet = get_architecture("lenet")
    assert lenet.output_shapes()[5] == (16, 5, 5)
    assert lenet.param_count() == 61706
    deep = get_architecture("deep")
    assert deep.output_shapes()[9] == (64, 7, 7)
    rows = build_network("deep").summary()
    assert sum(r.params for r in rows) == deep.param_count()
    assert set(ARCHITECTURES) >= {"simple", "lenet", "deep"}


def test_seeded_build_is_reproducible():
    a, b, c = build_network("lenet", seed=3), build_network("lenet", seed=3), build_network(
        "lenet", seed=4)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["conv1.W"], c.params["conv1.W"])


def test_bad_inputs_give_clear_errors():
    net = build_network("simple")
    with pytest.raises(ValueError, match=r"expects input of shape \(N,1,28,28\)"):
        net.predict(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(ValueError, match="labels"):
        net.loss(np.zeros((2, 1, 28, 28), np.float32), np.array([0, 12]))
    with pytest.raises(ArchitectureError, match="unknown architecture"):
        build_network("resnet9000")


def test_copy_is_independent_and_train_step_learns():
    from drawcnn.engine import SGD

    net = build_network("simple", seed=1)
    twin = net.copy()
    rng = np.random.default_rng(0)
    x = rng.random((8, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 8)
    before = net.loss(x, y)
    opt = SGD(lr=0.05)
    for _ in range(15):
        net.train_step(x, y, opt)
    assert net.loss(x, y) < before * 0.5  # it can memorise 8 images
    np.testing.assert_allclose(twin.loss(x, y), before, rtol=1e-5)


def test_dropout_only_in_training():
    net = build_network("deep", seed=0)
    x = np.random.default_rng(1).random((2, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(net.predict(x), net.predict(x))  # eval: deterministic
    out = net.forward(net._prepare(x), train=True)
    drop = dict(zip(net.arch.layer_names(), net.layers))["dropout1"]
    assert drop._cache is not None and set(np.unique(drop._cache)) <= {0.0, 2.0}
    assert out.shape == (2, 10)


def test_architecture_round_trips_through_dict():
    from drawcnn.engine.models import Architecture

    for arch in ARCHITECTURES.values():
        assert Architecture.from_dict(arch.to_dict()) == arch
    bad = ARCHITECTURES["simple"].to_dict()
    bad["layers"][0]["kernel"] = 40
    with pytest.raises(ArchitectureError, match="does not fit"):
        Architecture.from_dict(bad)


@pytest.mark.parametrize("arch", ["lenet", "deep"])
def test_fused_and_chunked_forward_match_layer_by_layer(arch):
    """Network.forward fuses each conv with its ReLU and predict runs big batches in slices
    (the CPU's infer_chunk): both give what the layers give one at a time, and a training
    step's gradients match the NumPy reference backend's."""
    net = build_network(arch, seed=0, backend="cpu")
    rng = np.random.default_rng(1)
    n = net.backend.infer_chunk + 7  # more than one slice
    x = rng.random((n, 1, 28, 28), dtype=np.float32)
    out = x
    for layer in net.layers:
        out = layer.forward(out, False)
    np.testing.assert_allclose(net.forward(x), out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net.predict(x), net.backend.softmax(out), rtol=1e-5, atol=1e-6)
    ref = build_network(arch, seed=0, backend="reference")
    y = rng.integers(0, 10, 8)
    loss, grads = net.gradients(x[:8], y)
    rloss, rgrads = ref.gradients(x[:8], y)
    assert loss == pytest.approx(rloss, rel=1e-5)
    for key, g in rgrads.items():
        np.testing.assert_allclose(grads[key], g, rtol=1e-3, atol=1e-5, err_msg=key)
