"""Training as the CLI, the train dialog and Teach share it: configuration, data, runs.

Nothing here knows Qt. A run reports through plain callbacks (``on_started``, ``on_batch``,
``on_epoch``) and stops when its ``stop`` event is set; the GUI's worker turns the callbacks
into signals, ``drawcnn train`` into a progress bar. ``fine_tune`` adapts a network to a
person's own drawings and returns a new network: the one in use is never changed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .errors import UsageError

DATASET_CHOICES = {
    "mnist": "MNIST digits",
    "fashion-mnist": "Fashion-MNIST (clothing)",
    "drawings": "My drawings",
    "mnist+drawings": "MNIST + my drawings (fine-tune)",
}
MIN_DRAWINGS = 10  # fewer than this: nothing sensible to hold out and train on


@dataclass
class TrainConfig:
    arch: str = "lenet"
    dataset: str = "mnist"  # a key of DATASET_CHOICES
    epochs: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    augment: bool = True
    from_current: bool = False  # start from the live network's weights (a copy)
    backend: str = "cpu"  # auto | cpu | cuda
    subset: int = 0  # train on the first N dataset images only (0: all)
    test_subset: int = 0  # evaluate on the first N test images only (0: all)
    val_size: int = 5000
    drawings_share: float = 0.35  # expected share of drawings in each mixed batch
    holdout: float = 0.2  # share of my drawings kept aside for the before/after score
    seed: int = 0
    data_dir: str | None = None

    @property
    def uses_drawings(self) -> bool:
        return "drawings" in self.dataset

    @property
    def base_dataset(self) -> str | None:
        return None if self.dataset == "drawings" else self.dataset.split("+")[0]


@dataclass
class TrainData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    description: str
    x_hold: np.ndarray | None = None  # held-out drawings (before/after score)
    y_hold: np.ndarray | None = None
    checksum: str = ""


@dataclass
class TrainResult:
    status: str  # completed | stopped | diverged
    message: str
    config: TrainConfig
    history: object
    net: object | None = None  # the trained network (None unless the run completed)
    test: object | None = None  # EvalResult on the test images
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: tuple = ()
    drawings_before: float | None = None  # accuracy on held-out drawings, current model
    drawings_after: float | None = None
    summary: dict = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status == "completed" and self.net is not None


def mix_drawings(x_base, y_base, x_draw, y_draw, share: float, rng: np.random.Generator):
    """Base images plus drawings repeated so that they make ~``share`` of the result (so each
    shuffled batch holds about that share: the network learns the drawings without forgetting
    the base set). Returns (x, y, repeats)."""
    n_b, n_d = len(y_base), len(y_draw)
    if n_d == 0:
        return x_base, y_base, 0
    if n_b == 0:
        return x_draw, y_draw, 1
    reps = max(1, math.ceil(share * n_b / ((1 - share) * n_d)))
    idx = np.concatenate([rng.permutation(n_d) for _ in range(reps)])
    total = int(round(share * n_b / (1 - share)))
    idx = idx[: max(n_d, total)]
    x = np.concatenate([x_base, x_draw[idx]])
    y = np.concatenate([np.asarray(y_base, np.int64), np.asarray(y_draw, np.int64)[idx]])
    return x, y, len(idx) / n_d


def prepare_data(cfg: TrainConfig, store=None) -> TrainData:
    """Load and split what ``cfg`` asks for (raises DataError / ValueError with a message)."""
    from .data import load_dataset

    rng = np.random.default_rng(cfg.seed + 7)
    parts = []
    x_hold = y_hold = None
    x_draw = np.zeros((0, 1, 28, 28), np.float32)
    y_draw = np.zeros(0, np.int64)
    if cfg.uses_drawings:
        n = len(store) if store is not None else 0
        if n < MIN_DRAWINGS:
            raise UsageError(f"You have {n} labelled drawings; teach at least {MIN_DRAWINGS} "
                             "(Model → Teach this drawing) before training on them.")
        (x_draw, y_draw), (x_hold, y_hold) = store.split_holdout(cfg.holdout, cfg.seed)
    checksum = ""
    if cfg.base_dataset:
        ds = load_dataset(cfg.base_dataset, cfg.data_dir)
        checksum = ds.checksum
        x, y = ds.x_train, ds.y_train
        if cfg.subset:
            x, y = x[: cfg.subset], y[: cfg.subset]
        x_tr, y_tr, x_val, y_val = split_validation(x, y, cfg.val_size, cfg.seed)
        x_te, y_te = ds.x_test, ds.y_test
        if cfg.test_subset:
            x_te, y_te = x_te[: cfg.test_subset], y_te[: cfg.test_subset]
        names = ds.class_names
        parts.append(f"{len(y_tr):,} {ds.name} images")
        if len(y_draw):
            x_tr, y_tr, reps = mix_drawings(x_tr, y_tr, x_draw, y_draw, cfg.drawings_share, rng)
            parts.append(f"{len(y_draw)} drawings ×{reps:.0f} (~{cfg.drawings_share:.0%} of "
                         "each batch)")
    else:
        # Drawings only: validation and test are both the held-out drawings.
        x_tr, y_tr = x_draw, y_draw
        x_val, y_val, x_te, y_te = x_hold, y_hold, x_hold, y_hold
        names = tuple(str(i) for i in range(10))
        parts.append(f"{len(y_draw)} drawings")
    desc = " + ".join(parts) + f"; {len(y_val):,} validation, {len(y_te):,} test"
    if x_hold is not None:
        desc += f", {len(y_hold)} held-out drawings"
    return TrainData(x_tr, y_tr, x_val, y_val, x_te, y_te, names, desc, x_hold, y_hold, checksum)




def split_validation(x, y, val_size: int, seed: int):
    """A fixed, seeded hold-out from the training set (at most a fifth of it)."""
    order = np.random.default_rng(seed + 12345).permutation(len(y))
    val_size = min(val_size, len(y) // 5)
    val, tr = order[:val_size], order[val_size:]
    return x[tr], y[tr], x[val], y[val]


@dataclass
class RunCallbacks:
    """How a run talks to whoever started it (all optional, called on the run's thread)."""

    on_started: Callable[[str], None] | None = None  # the run's description
    on_batch: Callable | None = None  # engine.BatchInfo
    on_epoch: Callable | None = None  # engine.EpochInfo
    on_phase: Callable[[str], None] | None = None  # e.g. "evaluating on 10,000 test images"


def run_training(cfg: TrainConfig, base_net, store=None, data: TrainData | None = None,
                 callbacks: RunCallbacks | None = None, stop: threading.Event | None = None,
                 pause: threading.Event | None = None, trained_in: str = "drawcnn GUI"
                 ) -> TrainResult:
    """Train what ``cfg`` asks for; ``base_net`` (the live network) is only read, never changed.

    Returns a TrainResult whatever the outcome (completed, stopped, diverged); raises
    DrawCNNError when the run cannot start (missing data, bad settings).
    """
    from .data import augment_batch
    from .engine import build_network, evaluate, fit, make_optimizer

    cb = callbacks or RunCallbacks()
    stop = stop or threading.Event()
    data = data or prepare_data(cfg, store)
    if stop.is_set():
        return TrainResult("stopped", "cancelled before training started", cfg, None)
    if cfg.from_current:
        net = base_net.copy(cfg.backend)
    else:
        net = build_network(cfg.arch, seed=cfg.seed, backend=cfg.backend)
    before = None
    if data.x_hold is not None and len(data.x_hold):
        before = evaluate(base_net, data.x_hold, data.y_hold).accuracy
    opt = make_optimizer(cfg.optimizer, cfg.lr)
    if cb.on_started:
        cb.on_started(f"Training {net.arch.name} ({net.param_count():,} parameters) on "
                      f"{data.description}; backend {net.backend_name} ({net.backend_reason})")
    augment = (lambda xb, rng: augment_batch(xb, rng)) if cfg.augment else None
    t0 = time.perf_counter()
    hist = fit(net, data.x_train, data.y_train, opt, epochs=cfg.epochs,
               batch_size=cfg.batch_size, x_val=data.x_val, y_val=data.y_val,
               augment=augment, seed=cfg.seed, on_batch=cb.on_batch,
               on_epoch=cb.on_epoch, stop=stop, pause=pause)
    res = TrainResult(hist.status, hist.message, cfg, hist, class_names=data.class_names,
                      drawings_before=before)
    if hist.status != "completed":
        return res
    if cb.on_phase:
        cb.on_phase(f"Evaluating on {len(data.y_test):,} test images…")
    test = evaluate(net, data.x_test, data.y_test)
    res.net, res.test, res.x_test, res.y_test = net, test, data.x_test, data.y_test
    if before is not None:
        res.drawings_after = evaluate(net, data.x_hold, data.y_hold).accuracy
    summary = hist.summary()
    summary.update(
        architecture=net.arch.name, dataset=cfg.dataset, data=data.description,
        dataset_checksum=data.checksum, train_images=int(len(data.y_train)),
        val_images=int(len(data.y_val)), epochs=cfg.epochs, batch_size=cfg.batch_size,
        optimizer=repr(opt), lr=cfg.lr, augment=cfg.augment, seed=cfg.seed,
        init="current weights" if cfg.from_current else "scratch",
        test_accuracy=float(test.accuracy), test_images=int(len(data.y_test)),
        val_accuracy_per_epoch=[e.val_accuracy for e in hist.epochs],
        backend=net.backend_name, trained_in=trained_in,
        wall_s=round(time.perf_counter() - t0, 2))
    if before is not None:
        summary.update(drawings_holdout=int(len(data.y_hold)),
                       drawings_accuracy_before=float(before),
                       drawings_accuracy_after=float(res.drawings_after))
    res.summary = summary
    net.metadata.pop("untrained", None)
    net.metadata["training"] = summary
    return res


# --------------------------------------------------------------------------- fine-tuning

#: Images of other people (MNIST, pen strokes) and non-digits replayed in a fine-tune.
FINE_TUNE_REPLAY = 1500
FINE_TUNE_STROKES = 500
FINE_TUNE_NEGATIVES = 300


def _replay_images(seed: int, data_dir=None, exclude_writers=()) -> np.ndarray:
    """Replay inputs: MNIST training digits, other writers' pen digits rendered the app's way
    (``exclude_writers`` left out: a measurement must not replay the person it tests) and
    generated non-digits, each part left out when its data is not found."""
    from .data import load_dataset
    from .data.negatives import GROUPS, make_negatives
    from .data.pendigits import CANVAS, load_pendigits
    from .data.stroke_augment import render_batch
    from .errors import DataError

    rng = np.random.default_rng(seed + 99)
    parts = []
    try:
        ds = load_dataset("mnist", data_dir)
        parts.append(ds.x_train[rng.choice(len(ds.y_train), FINE_TUNE_REPLAY, replace=False)])
    except DataError:
        pass
    try:
        pd = load_pendigits(data_dir=data_dir)
        pd = pd.subset(~np.isin(pd.writers, list(exclude_writers)))
        pick = rng.choice(len(pd), min(FINE_TUNE_STROKES, len(pd)), replace=False)
        parts.append(render_batch([pd.strokes[i] for i in pick], None, CANVAS))
    except DataError:
        pass
    parts.append(make_negatives(GROUPS["train"], FINE_TUNE_NEGATIVES, rng)[0])
    return np.concatenate(parts).astype(np.float32)


def fine_tune(net, images, labels, *, seed: int = 0, progress=None, replay=None, stop=None):
    """A copy of ``net`` adapted to a person's drawings; ``net`` itself is never changed.

    images: (N, 28, 28) or (N, 1, 28, 28) float32 model inputs; labels: (N,) digits 0-9.
    The dense head is trained on the drawings (as drawn and in augmented copies) together
    with replayed inputs of other people and non-digits whose targets are ``net``'s own
    outputs (``replay``: images, or (images, labels); default: MNIST, pen digits and
    generated non-digits found through the usual data folders), so the other digits, other
    handwriting and the "not a digit" answer do not drift (``drawcnn.adapt.personal_tune``).
    About 30 drawings take seconds on a CPU. ``progress(fraction)`` is called as it goes;
    ``stop()`` (a callable or an Event's ``is_set``) ends early with what was learned so far.
    """
    from .adapt import personal_tune
    from .data import augment_batch
    from .novelty import without_neighbours

    x = np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[:, None]
    y = np.asarray(labels)
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        raise UsageError(f"fine_tune needs (N, 28, 28) images, got shape {x.shape}")
    if len(x) == 0 or len(y) != len(x):
        raise UsageError(f"fine_tune needs as many labels as images ({len(x)} images, "
                         f"{len(y)} labels)")
    if not np.all(np.isfinite(x)) or y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9:
        raise UsageError("fine_tune needs finite images and integer labels 0-9")
    if isinstance(replay, tuple):
        replay = replay[0]
    x_rep = _replay_images(seed) if replay is None else np.asarray(replay, np.float32)
    x_rep = x_rep.reshape(-1, 1, 28, 28)
    if stop is not None and hasattr(stop, "is_set"):
        stop = stop.is_set
    tuned, secs = personal_tune(net, x, y.astype(np.int64), x_rep, seed=seed,
                                augment=lambda xb, r: augment_batch(xb, r, strength=0.7),
                                progress=progress, stop=stop)
    if not all(np.all(np.isfinite(p)) for p in tuned.get_params().values()):
        from .errors import TrainingDiverged

        raise TrainingDiverged("fine-tuning diverged; nothing was changed")
    tuned.metadata.pop("untrained", None)
    # the head changed, so its penultimate features no longer match the neighbour bank: the
    # copy keeps the rest of the score, with the threshold calibrated for it
    tuned = without_neighbours(tuned)
    tuned.metadata["fine_tune"] = {"drawings": int(len(y)), "replay": int(len(x_rep)),
                                   "trained": "dense head", "seconds": round(secs, 1),
                                   "seed": seed}
    if progress:
        progress(1.0)
    return tuned
