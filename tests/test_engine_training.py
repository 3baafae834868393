"""fit(): it learns (synthetic shapes to near-perfect accuracy), reports through callbacks in
order, stops on request, survives divergence, and evaluate() counts correctly."""

import threading

import numpy as np
import pytest

from drawcnn.engine import SGD, Adam, build_network, evaluate, fit
from drawcnn.engine.models import Architecture, Conv, Dense, Flatten, MaxPool, ReLU

from .engine_helpers import synthetic_digits

SMALL = Architecture("small4", (Conv(8, 5), ReLU(), MaxPool(2), Conv(8, 3), ReLU(),
                                MaxPool(2), Flatten(), Dense(32), ReLU(), Dense(4)),
                     num_classes=4)


def test_training_reaches_near_perfect_accuracy_on_synthetic_shapes():
    x, y = synthetic_digits(2400, seed=0)
    xv, yv = synthetic_digits(400, seed=1)
    net = build_network(SMALL, seed=0)
    assert evaluate(net, xv, yv).accuracy < 0.6
    batches, epochs = [], []
    hist = fit(net, x, y, Adam(lr=3e-3), epochs=3, batch_size=50, x_val=xv, y_val=yv,
               on_batch=batches.append, on_epoch=epochs.append, report_interval=0.0)
    assert hist.status == "completed"
    res = evaluate(net, xv, yv)
    assert res.accuracy >= 0.98, res.accuracy
    assert res.confusion.sum() == 400 and res.confusion.trace() == round(res.accuracy * 400)
    # callbacks arrive in order, with copies of the first-layer filters
    assert [e.epoch for e in epochs] == [1, 2, 3]
    steps = [(b.epoch, b.batch) for b in batches]
    assert steps == sorted(steps) and len(steps) == 3 * 48
    assert batches[-1].filters.shape == (8, 1, 5, 5)
    assert batches[0].filters is not batches[-1].filters
    assert not np.array_equal(batches[0].filters, batches[-1].filters)
    assert epochs[-1].val_accuracy == hist.best_val_accuracy or hist.best_epoch != 3


def test_stop_flag_ends_cleanly_and_keeps_best_weights():
    x, y = synthetic_digits(600, seed=2)
    net = build_network(SMALL, seed=1)
    stop = threading.Event()

    def on_epoch(info):
        if info.epoch == 1:
            stop.set()

    hist = fit(net, x, y, Adam(), epochs=5, batch_size=50, x_val=x[:100], y_val=y[:100],
               on_epoch=on_epoch, stop=stop)
    assert hist.status == "stopped" and len(hist.epochs) == 1
    assert "stopped" in hist.message


def test_divergence_keeps_last_good_weights():
    x, y = synthetic_digits(200, seed=3)
    net = build_network(SMALL, seed=2)
    before = net.get_params()
    x_bad = x.copy()
    x_bad[150:] = np.nan  # poisoned batch -> NaN loss
    hist = fit(net, x_bad, y, SGD(lr=0.01), epochs=1, batch_size=50, seed=0)
    assert hist.status == "diverged"
    assert "last good weights" in hist.message
    after = net.get_params()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
        assert np.all(np.isfinite(after[k]))


def test_train_step_skips_update_on_nan_loss():
    net = build_network("simple", seed=0)
    before = net.get_params()
    x = np.full((4, 1, 28, 28), np.nan, np.float32)
    loss = net.train_step(x, np.zeros(4, np.int64), Adam())
    assert not np.isfinite(loss)
    for k, v in net.get_params().items():
        np.testing.assert_array_equal(v, before[k])


def test_pause_blocks_until_resumed():
    x, y = synthetic_digits(200, seed=4)
    net = build_network(SMALL, seed=3)
    pause, stop = threading.Event(), threading.Event()
    pause.set()
    seen = []
    t = threading.Thread(target=lambda: seen.append(
        fit(net, x, y, Adam(), epochs=1, batch_size=50, pause=pause, stop=stop)))
    t.start()
    t.join(0.5)
    assert t.is_alive() and not seen  # paused before the first batch
    pause.clear()
    t.join(30)
    assert seen and seen[0].status == "completed"


def test_invalid_arguments():
    net = build_network(SMALL)
    with pytest.raises(ValueError):
        fit(net, np.zeros((0, 1, 28, 28), np.float32), np.zeros(0), Adam())
    with pytest.raises(ValueError):
        Adam(lr=0)
