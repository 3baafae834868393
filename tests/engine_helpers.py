"""Shared helpers for the engine tests: synthetic data, numerical gradients, and weights files
rewritten on purpose."""

import json

import numpy as np


def synthetic_digits(n, seed=0, classes=4):
    """28x28 images of 4 shapes (vertical bar, horizontal bar, blob, diagonal) at random
    positions with noise: easy for a CNN, impossible to memorise by position."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 28, 28), np.float32)
    y = rng.integers(0, classes, n)
    yy, xx = np.mgrid[0:28, 0:28]
    for k in range(n):
        cx, cy = rng.integers(8, 20, 2)
        if y[k] == 0:
            img = (np.abs(xx - cx) <= 1) & (np.abs(yy - cy) <= 7)
        elif y[k] == 1:
            img = (np.abs(yy - cy) <= 1) & (np.abs(xx - cx) <= 7)
        elif y[k] == 2:
            img = (xx - cx) ** 2 + (yy - cy) ** 2 <= 16
        else:
            img = (np.abs((xx - cx) - (yy - cy)) <= 1) & (np.abs(xx - cx) <= 6)
        x[k, 0] = img + rng.normal(0, 0.1, (28, 28))
    return np.clip(x, 0, 1), y.astype(np.int64)


def numerical_grad(f, arr, idx_list, eps):
    """Central differences of scalar f() w.r.t. arr[idx] for each idx (arr modified in place)."""
    out = []
    for idx in idx_list:
        old = arr[idx]
        arr[idx] = old + eps
        fp = f()
        arr[idx] = old - eps
        fm = f()
        arr[idx] = old
        out.append((fp - fm) / (2 * eps))
    return np.array(out)


def sample_indices(shape, k, rng):
    flat = rng.choice(int(np.prod(shape)), size=min(k, int(np.prod(shape))), replace=False)
    return [np.unravel_index(i, shape) for i in flat]


def rewrite_weights(path, mutate):
    """Rewrite a saved weights file after ``mutate(arrays, metadata)`` changed it in place (a
    damaged or hand-edited file, for the load checks)."""
    from drawcnn.engine.weights import META_KEY

    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    meta = json.loads(bytes(arrays[META_KEY]).decode())
    mutate(arrays, meta)
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)
