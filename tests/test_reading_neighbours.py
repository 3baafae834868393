"""The nearest-neighbour part of the "not a digit" score: a bank of training digits'
penultimate features, stored in half precision, checked on load, used by every reading path,
and dropped (with the threshold calibrated without it) when fine-tuning moves the features."""


import numpy as np
import pytest

from drawcnn.engine import WeightsError, build_network, load_network, save_network
from drawcnn.engine.weights import NEIGHBOUR_KEYS, penultimate_width, stats_shapes
from drawcnn.novelty import (
    combine_novelty,
    fit_neighbours,
    head_outputs,
    neighbour_distance,
    without_neighbours,
)
from drawcnn.reading import read_image
from drawcnn.shipped import shipped_weights

from .engine_helpers import rewrite_weights

BAR = np.zeros((28, 28), np.float32)
BAR[4:24, 13:16] = 1.0


def _score(**over):
    return {"energy_mean": -5.0, "energy_std": 2.0, "distance_mean": 1.0, "distance_std": 0.5,
            "weight": 0.5, "threshold": 0.5, "neighbour_mean": 0.1, "neighbour_std": 0.05,
            "neighbour_weight": 1.0, "base_threshold": 0.0, **over}


def _with_bank(arch="lenet", seed=3, n=200):
    net = build_network(arch, seed=seed)
    rng = np.random.default_rng(seed)
    k = stats_shapes(net.arch)["reading.means"][1]
    x = rng.random((n, 1, 28, 28), dtype=np.float32)
    net.stats = {"reading.means": rng.random((10, k), dtype=np.float32),
                 "reading.precision": np.eye(k, dtype=np.float32),
                 **fit_neighbours(head_outputs(net, x)["penultimate"], 16)}
    net.metadata["reading"] = {"min_confidence": 0.0, "score": _score()}
    return net, x


@pytest.fixture
def saved(tmp_path):
    net, _ = _with_bank()
    path = tmp_path / "lenet.npz"
    save_network(net, path)
    return net, path


def test_a_bank_digit_is_its_own_nearest_neighbour():
    net, x = _with_bank()
    st = net.stats
    pen = head_outputs(net, x[:20])["penultimate"]
    d = neighbour_distance(pen, st["reading.bank"], st["reading.center"], st["reading.projection"])
    np.testing.assert_allclose(d, 0.0, atol=1e-5)
    far = neighbour_distance(-pen - 1.0, st["reading.bank"], st["reading.center"],
                             st["reading.projection"])
    assert (far > 0.05).all()


def test_saved_in_half_precision_and_loaded_as_float32(saved):
    net, path = saved
    with np.load(path) as d:
        assert d["reading.bank"].dtype == np.float16
    loaded = load_network(path)
    assert loaded.stats["reading.bank"].dtype == np.float32
    np.testing.assert_allclose(loaded.stats["reading.bank"], net.stats["reading.bank"],
                               atol=2e-3)
    assert read_image(BAR, loaded).novelty == pytest.approx(read_image(BAR, net).novelty,
                                                            abs=0.05)


def test_the_reading_uses_the_bank(saved):
    net, _ = saved
    with_bank = read_image(BAR, net).novelty
    net.metadata["reading"]["score"] = _score(neighbour_weight=0.0)
    assert read_image(BAR, net).novelty != pytest.approx(with_bank)


def test_the_parts_add_up():
    e, d, k = np.array([-5.0]), np.array([1.0]), np.array([0.2])
    assert combine_novelty(e, d, _score(), k)[0] == pytest.approx(0.0 + 0.0 + 2.0)
    assert combine_novelty(e, d, _score())[0] == pytest.approx(0.0)  # no distance given


@pytest.mark.parametrize("mutate,message", [
    (lambda a, m: a.pop("reading.center"), "only part of the neighbour bank"),
    (lambda a, m: a.update({"reading.bank": np.ones((5, 16), np.float16)}), "unit length"),
    (lambda a, m: a.update({"reading.bank": np.ones((5, 500), np.float32)}), "needs"),
    (lambda a, m: a.update({"reading.projection": np.zeros((3, 16), np.float32)}), "shape"),
    (lambda a, m: a.update({"reading.center": np.full(84, np.nan, np.float32)}), "NaN"),
    (lambda a, m: m["reading"]["score"].pop("base_threshold"), "base_threshold"),
    (lambda a, m: m["reading"]["score"].update(neighbour_std=0.0), "standard deviation"),
    (lambda a, m: [a.pop("reading.means"), a.pop("reading.precision")], "do not match"),
])
def test_bad_banks_are_a_weights_error(saved, mutate, message):
    _, path = saved
    rewrite_weights(path, mutate)
    with pytest.raises(WeightsError, match=message):
        load_network(path)


def test_fine_tuning_drops_the_bank_and_uses_the_threshold_without_it():
    from drawcnn.training import fine_tune

    net, _ = _with_bank()
    x = np.repeat(BAR[None], 10, axis=0)
    tuned = fine_tune(net, x, np.arange(10), replay=np.zeros((8, 1, 28, 28), np.float32))
    assert not set(NEIGHBOUR_KEYS) & set(tuned.stats)
    score = tuned.metadata["reading"]["score"]
    assert score["threshold"] == 0.0 and "neighbour_weight" not in score
    assert set(NEIGHBOUR_KEYS) <= set(net.stats)  # the network in use is unchanged
    assert net.metadata["reading"]["score"]["threshold"] == 0.5
    assert read_image(BAR, tuned).novelty is not None


def test_without_neighbours_leaves_a_file_without_a_bank_alone():
    net = build_network("lenet", seed=0)
    assert without_neighbours(net) is net


@pytest.mark.parametrize("arch", ["simple", "lenet", "deep"])
def test_widths_follow_the_architecture(arch):
    net = build_network(arch)
    assert penultimate_width(net.arch) == head_outputs(net, BAR[None, None])["penultimate"].shape[1]


def test_shipped_banks_and_the_one_image_path_agree():
    """The fused one-image path and the layer path give the same novelty with a bank."""
    net = load_network(shipped_weights()["deep"])
    plain, detailed = read_image(BAR, net), read_image(BAR, net, details=True)
    assert plain.novelty == pytest.approx(detailed.novelty, rel=1e-4, abs=1e-4)
    assert net.stats["reading.bank"].shape == (20000, 128)


def test_a_bank_without_its_base_threshold_is_still_dropped_by_fine_tuning():
    """Found while measuring: a network whose score in memory had no base_threshold kept its
    bank through fine_tune, and the tuned head's moved features were read as unlike digits
    (one writer's digits 99.1% -> 91.3% read right)."""
    from drawcnn.training import fine_tune

    net, _ = _with_bank()
    net.metadata["reading"]["score"].pop("base_threshold")
    x = np.repeat(BAR[None], 10, axis=0)
    tuned = fine_tune(net, x, np.arange(10), replay=np.zeros((8, 1, 28, 28), np.float32))
    assert not set(NEIGHBOUR_KEYS) & set(tuned.stats)
    assert "neighbour_weight" not in tuned.metadata["reading"]["score"]


def test_stopping_the_bank_search_early_never_changes_the_answer():
    """One reading searches the first NEIGHBOUR_SAMPLE vectors, and all of them only when that
    cannot settle the side of the threshold: the answer is the exhaustive one's."""
    from drawcnn.data.negatives import GROUPS, make_negatives
    from drawcnn.reading import novelty_scores

    net = load_network(shipped_weights()["deep"])
    params = net.metadata["reading"]["score"]
    t = params["threshold"]
    rng = np.random.default_rng(0)
    x = np.concatenate([make_negatives(GROUPS["calib"], 40, rng)[0],
                        make_negatives(GROUPS["test"], 40, rng)[0],
                        rng.random((10, 1, 28, 28), dtype=np.float32)])
    x = np.concatenate([x, x[:, :, ::-1]])  # flipped: some look like digits, some do not
    early = []
    for img in x:
        logits, head = net.logits_and_head_input(img[None])
        exact = novelty_scores(net, logits, head, params)[0]
        quick = novelty_scores(net, logits, head, params, t)[0]
        assert (quick > t) == (exact > t)
        # declined early: a lower bound; accepted early: an upper bound
        assert quick <= exact + 1e-5 if exact > t else quick >= exact - 1e-5
        early.append(quick != exact)
    assert any(early) and not all(early)


def test_one_query_finds_the_same_nearest_as_the_whole_batch():
    """A single reading prunes the bank (a bound from its leading dimensions); the nearest it
    finds is the exhaustive search's."""
    net = load_network(shipped_weights()["deep"])
    st = net.stats
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.random((20, 1, 28, 28), dtype=np.float32),
                        np.repeat(BAR[None, None], 2, axis=0)])
    pen = head_outputs(net, x)["penultimate"]
    args = (st["reading.bank"], st["reading.center"], st["reading.projection"])
    batch = neighbour_distance(pen, *args)
    one = np.concatenate([neighbour_distance(p[None], *args) for p in pen])
    np.testing.assert_allclose(one, batch, atol=1e-5)
