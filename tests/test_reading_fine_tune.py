"""fine_tune: a new network adapted to a few drawings; the given one is never changed."""

import numpy as np
import pytest

from drawcnn.adapt import head_start, soft_step
from drawcnn.engine import Adam, load_network
from drawcnn.errors import UsageError
from drawcnn.novelty import calibrate_threshold
from drawcnn.shipped import shipped_weights
from drawcnn.training import fine_tune


@pytest.fixture(scope="module")
def lenet():
    return load_network(shipped_weights()["lenet"])


def _drawings(n=20, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.float32)
    y = np.arange(n) % 10
    for i, d in enumerate(y):  # a crude mark per class, different from MNIST on purpose
        x[i, 6 + d : 9 + d, 5:23] = 1.0
        x[i, 4:24, 12 + d // 3 : 14 + d // 3] = rng.uniform(0.6, 1.0)
    return x, y


def test_returns_a_new_network_and_leaves_the_given_one_unchanged(lenet):
    before = lenet.get_params()
    meta = dict(lenet.metadata)
    x, y = _drawings()
    replay = np.random.default_rng(1).random((64, 1, 28, 28), dtype=np.float32) * 0.2
    seen = []
    tuned = fine_tune(lenet, x, y, seed=0, progress=seen.append, replay=replay)
    assert tuned is not lenet
    for k, v in lenet.get_params().items():
        np.testing.assert_array_equal(v, before[k])
    assert lenet.metadata == meta
    changed = [k for k, v in tuned.get_params().items() if not np.array_equal(v, before[k])]
    assert changed and all(k.startswith("fc") for k in changed)  # only the dense head
    assert tuned.metadata["fine_tune"]["drawings"] == len(y)
    assert seen[-1] == 1.0 and all(0 <= a <= b for a, b in zip(seen, seen[1:]))
    # it learned the drawings
    assert (tuned.predict(x[:, None]).argmax(1) == y).mean() > \
        (lenet.predict(x[:, None]).argmax(1) == y).mean()


def test_keeps_the_calibrated_threshold(lenet):
    net = lenet.copy()
    net.metadata["reading"] = {"min_confidence": 0.7}
    x, y = _drawings(10)
    tuned = fine_tune(net, x, y, replay=x[:, None])
    assert tuned.metadata["reading"]["min_confidence"] == 0.7


@pytest.mark.parametrize("images,labels", [(np.zeros((3, 28, 28)), [1, 2]),
                                           (np.zeros((2, 14, 14)), [1, 2]),
                                           (np.zeros((2, 28, 28)), [1, 12])])
def test_bad_input_is_a_usage_error(lenet, images, labels):
    with pytest.raises(UsageError):
        fine_tune(lenet, images, np.array(labels), replay=np.zeros((4, 1, 28, 28), np.float32))


def test_soft_step_towards_flat_targets_flattens_the_output(lenet):
    net = lenet.copy()
    x, _ = _drawings(10)
    flat = np.full((10, 10), 0.1)
    opt = Adam(1e-3)
    first = soft_step(net, x[:, None], flat, opt)
    for _ in range(30):
        last = soft_step(net, x[:, None], flat, opt)
    assert head_start(net) == [layer.kind for layer in net.layers].index("Flatten")
    assert last < first
    assert net.predict(x[:, None]).max(1).mean() < 0.5


def test_calibrated_threshold_keeps_the_asked_share():
    scores = np.linspace(0.5, 1.0, 1000)
    t = calibrate_threshold(scores, keep=0.99)
    assert (scores >= t).mean() == pytest.approx(0.99, abs=0.002)
