"""The feature-space "not a digit" score: stored with the weights, checked on load, used by
read_image, kept by copies and fine-tuning; a file without it reads as before."""


import numpy as np
import pytest

from drawcnn.engine import WeightsError, build_network, load_network, save_network
from drawcnn.engine.weights import NEIGHBOUR_KEYS, stats_shapes
from drawcnn.novelty import calibrate_novelty, combine_novelty, fit_gaussian, novelty_parts
from drawcnn.reading import read_image
from drawcnn.shipped import shipped_weights

from .engine_helpers import rewrite_weights

BAR = np.zeros((28, 28), np.float32)
BAR[4:24, 13:16] = 1.0


def _score(threshold=0.0, **over):
    return {"energy_mean": -5.0, "energy_std": 2.0, "distance_mean": 1.0, "distance_std": 0.5,
            "weight": 0.5, "threshold": threshold, **over}


def _with_stats(seed=3, threshold=0.0):
    net = build_network("lenet", seed=seed)
    rng = np.random.default_rng(seed)
    net.stats = {"reading.means": rng.random((10, 16), dtype=np.float32),
                 "reading.precision": np.eye(16, dtype=np.float32)}
    net.metadata["reading"] = {"min_confidence": 0.0, "score": _score(threshold)}
    return net


@pytest.fixture
def saved(tmp_path):
    net = _with_stats()
    path = tmp_path / "lenet.npz"
    save_network(net, path)
    return net, path


def test_shapes_follow_the_architecture():
    assert stats_shapes(build_network("lenet").arch) == {
        "reading.means": (10, 16), "reading.precision": (16, 16)}
    assert stats_shapes(build_network("deep").arch)["reading.precision"] == (64, 64)


def test_round_trip_keeps_the_statistics_and_the_reading_uses_them(saved):
    net, path = saved
    loaded = load_network(path)
    for k, v in net.stats.items():
        np.testing.assert_array_equal(loaded.stats[k], v)
    r = read_image(BAR, loaded)
    assert r.novelty is not None
    # the same number by hand: energy of the logits + distance of the pooled head input
    acts = dict(loaded.activations(BAR[None, None]))
    maps = acts["pool2"]
    energy, log_dist = novelty_parts(acts["fc3"], maps.reshape(1, 16, -1).mean(axis=2),
                                     loaded.stats["reading.means"],
                                     loaded.stats["reading.precision"])
    expected = combine_novelty(energy, log_dist, loaded.metadata["reading"]["score"])[0]
    assert r.novelty == pytest.approx(float(expected), rel=1e-5)
    assert (r.digit is None) == (r.novelty > 0.0)


def test_the_threshold_decides(saved):
    _, path = saved
    net = load_network(path)
    net.metadata["reading"]["score"]["threshold"] = 1e9
    assert read_image(BAR, net).digit is not None
    net.metadata["reading"]["score"]["threshold"] = -1e9
    r = read_image(BAR, net)
    assert r.digit is None and r.reason.startswith("not a digit") and r.closest is not None


def test_a_file_without_statistics_uses_the_softmax_threshold(tmp_path):
    net = build_network("lenet", seed=1)
    path = tmp_path / "plain.npz"
    save_network(net, path)
    loaded = load_network(path)
    assert loaded.stats == {}
    r = read_image(BAR, loaded)
    assert r.novelty is None and r.digit is not None
    loaded.metadata["reading"] = {"min_confidence": 1.01}
    assert read_image(BAR, loaded).digit is None


def test_copies_keep_the_statistics():
    net = _with_stats()
    twin = net.copy()
    assert set(twin.stats) == set(net.stats)
    twin.stats["reading.means"][0, 0] += 1.0  # a copy, not a view
    assert net.stats["reading.means"][0, 0] != twin.stats["reading.means"][0, 0]


def test_fine_tune_keeps_the_score():
    from drawcnn.training import fine_tune

    net = _with_stats()
    x = np.repeat(BAR[None], 10, axis=0)
    tuned = fine_tune(net, x, np.arange(10), replay=np.zeros((8, 1, 28, 28), np.float32))
    assert set(tuned.stats) == set(net.stats)
    assert read_image(BAR, tuned).novelty is not None


@pytest.mark.parametrize("mutate,message", [
    (lambda a, m: a.update({"reading.means": np.zeros((10, 15), np.float32)}), "shape"),
    (lambda a, m: a.update({"reading.precision": np.full((16, 16), np.nan, np.float32)}),
     "NaN"),
    (lambda a, m: a.update({"reading.precision": np.full((16, 16), 1e30, np.float32)}),
     "huge"),
    (lambda a, m: a.update({"reading.means": np.zeros((10, 16), np.int32)}), "dtype"),
    (lambda a, m: a.pop("reading.precision"), "do not match"),
    (lambda a, m: a.update({"reading.other": np.zeros(3, np.float32)}), "do not match"),
    (lambda a, m: m["reading"].pop("score"), "no reading.score"),
    (lambda a, m: m.pop("reading"), "no reading.score"),
    (lambda a, m: m["reading"]["score"].pop("threshold"), "threshold"),
    (lambda a, m: m["reading"]["score"].update(weight="1"), "weight"),
    (lambda a, m: m["reading"]["score"].update(energy_std=0.0), "standard deviation"),
])
def test_bad_statistics_are_a_weights_error(saved, mutate, message):
    _, path = saved
    rewrite_weights(path, mutate)
    with pytest.raises(WeightsError, match=message):
        load_network(path)


def test_saving_statistics_without_their_calibration_is_refused(tmp_path):
    net = _with_stats()
    net.metadata.pop("reading")
    with pytest.raises(WeightsError, match="no reading.score"):
        save_network(net, tmp_path / "x.npz")


def test_gaussian_fit_and_calibration_separate_far_points():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 3000)
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    f = centres[y] + rng.normal(0, 1, (3000, 2))
    means, precision = fit_gaussian(f, y, 3)
    np.testing.assert_allclose(means, centres, atol=0.1)
    np.testing.assert_allclose(precision, np.eye(2), atol=0.1)
    logits = np.zeros((3000, 3))
    digits = novelty_parts(logits, f, means, precision)
    far = novelty_parts(np.zeros((300, 3)), rng.normal(0, 1, (300, 2)) + [20.0, 20.0], means,
                        precision)
    score, tried = calibrate_novelty(digits, np.ones(3000, bool), far, max_loss=0.01)
    assert set(tried) == {0.25, 0.5, 1.0} and score["weight"] in tried
    s_d = combine_novelty(*digits, score)
    s_n = combine_novelty(*far, score)
    assert (s_n > score["threshold"]).all() and (s_d <= score["threshold"]).mean() >= 0.99


def test_shipped_networks_carry_a_calibrated_score():
    for name, path in shipped_weights().items():
        net = load_network(path)
        assert set(net.stats) == set(stats_shapes(net.arch)) | set(NEIGHBOUR_KEYS), name
        assert "about" in net.metadata["reading"]["score"], name


@pytest.mark.parametrize("arch", ["lenet", "deep"])
def test_one_image_plan_and_the_layer_path_give_the_same_novelty(arch):
    net = build_network(arch, seed=2)
    k = stats_shapes(net.arch)["reading.means"][1]
    rng = np.random.default_rng(0)
    net.stats = {"reading.means": rng.random((10, k), dtype=np.float32),
                 "reading.precision": np.eye(k, dtype=np.float32)}
    net.metadata["reading"] = {"score": _score()}
    x = rng.random((2, 1, 28, 28), dtype=np.float32)
    one_logits, one_head = net.logits_and_head_input(x[:1])
    two_logits, two_head = net.logits_and_head_input(x)
    np.testing.assert_allclose(one_logits, two_logits[:1], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(one_head, two_head[:1].reshape(1, -1), rtol=1e-4, atol=1e-5)
    plain, detailed = read_image(x[0, 0], net), read_image(x[0, 0], net, details=True)
    assert plain.novelty == pytest.approx(detailed.novelty, rel=1e-4, abs=1e-4)
    np.testing.assert_allclose(plain.probabilities, net.predict(x[:1])[0], rtol=1e-6)
