"""Training in one thread while another predicts must not crash or corrupt anything, and the
engine and data layers must never import Qt."""

import subprocess
import sys
import threading

import numpy as np

from drawcnn.engine import Adam, build_network


def test_concurrent_training_and_prediction():
    trainee = build_network("lenet", seed=0)
    live = build_network("lenet", seed=1)
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    one = x[:1]
    expected = live.predict(one)
    errors, done = [], threading.Event()

    def train():
        try:
            opt = Adam()
            for _ in range(15):
                trainee.train_step(x, y, opt)
                trainee.predict(x)  # parallel kernels too
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    t = threading.Thread(target=train)
    t.start()
    n = 0
    while not done.is_set() or n < 20:
        np.testing.assert_allclose(live.predict(one), expected, rtol=1e-5)
        trainee.predict(one)  # same network as the trainer, eval mode: no shared cache
        n += 1
    t.join()
    assert not errors, errors


def test_engine_and_data_do_not_import_qt():
    code = ("import sys, drawcnn.engine, drawcnn.data; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', "
            "'drawcnn.gui'))]; print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


_STEP = """
import sys, numpy as np
from drawcnn.engine import Adam, build_network
from drawcnn.engine.backends.cpu_threads import WORKERS
rng = np.random.default_rng(0)
x = rng.random((130, 1, 28, 28), dtype=np.float32)
y = rng.integers(0, 10, 100)
net = build_network("lenet", seed=0, backend="cpu")
probs = net.predict(x)
loss, grads = net.gradients(x[:100], y)
opt = Adam(lr=1e-3)
for _ in range(2):
    net.train_step(x[:100], y, opt)
np.savez(sys.argv[1], workers=WORKERS, probs=probs, loss=loss, after=net.predict(x[:8]),
         **{"g_" + k: v for k, v in grads.items()})
"""


def test_one_and_two_worker_threads_agree(tmp_path):
    """LeNet's predict, gradients and Adam steps with the batch split over 2 worker threads
    give what one thread gives (up to float32 summation order)."""
    import os

    out = {}
    for n in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(n), DRAWCNN_THREADS=str(n))
        path = tmp_path / f"t{n}.npz"
        res = subprocess.run([sys.executable, "-c", _STEP, str(path)], env=env,
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]
        out[n] = dict(np.load(path))
        assert int(out[n]["workers"]) == n
    one, two = out[1], out[2]
    for key in one:
        if key != "workers":
            np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-6, err_msg=key)
