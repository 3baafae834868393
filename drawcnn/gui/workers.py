"""Workers: the engine's training loop and dataset downloads, off the GUI thread.

A worker is a QObject moved into its own QThread; the engine's plain callbacks become Qt
signals, which reach the GUI thread queued (never a direct call across threads). Pause and
cancel are ``threading.Event`` objects the engine checks between batches.

``TrainWorker`` trains a network the dialog hands it: always a copy or a freshly built one,
never the live network the canvas predicts with. Its ``finished`` signal carries a
``TrainResult`` whatever the outcome (completed, stopped, diverged); ``errored`` is for runs
that could not start or crashed (missing data, bad settings), with a message for the user.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

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
    from ..cmd_train import split_validation
    from ..data import load_dataset

    rng = np.random.default_rng(cfg.seed + 7)
    parts = []
    x_hold = y_hold = None
    x_draw = np.zeros((0, 1, 28, 28), np.float32)
    y_draw = np.zeros(0, np.int64)
    if cfg.uses_drawings:
        n = len(store) if store is not None else 0
        if n < MIN_DRAWINGS:
            raise ValueError(f"You have {n} labelled drawings; teach at least {MIN_DRAWINGS} "
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


class TrainWorker(QObject):
    """Runs ``fit`` on ``net`` (a copy!) in its thread; see the module docstring."""

    started = Signal(object)  # the run's description (str)
    progress = Signal(object)  # BatchInfo
    epoch_done = Signal(object)  # EpochInfo
    finished = Signal(object)  # TrainResult
    errored = Signal(str)

    def __init__(self, cfg: TrainConfig, base_net, store=None, data: TrainData | None = None):
        super().__init__()
        self.cfg = cfg
        self.base_net = base_net  # a copy of the live network: read-only here
        self.store = store
        self.data = data
        self.stop_event = threading.Event()
        self.pause_event = threading.Event()
        self.net = None

    def cancel(self) -> None:
        self.stop_event.set()

    def set_paused(self, paused: bool) -> None:
        (self.pause_event.set if paused else self.pause_event.clear)()

    @Slot()
    def run(self) -> None:
        from ..data import DataError
        from ..engine import DrawCNNError

        try:
            self._run()
        except (DataError, DrawCNNError, ValueError, OSError) as exc:  # expected: say why
            self.errored.emit(str(exc) or type(exc).__name__)
        except Exception as exc:  # a bug: still reported; the live model is untouched
            self.errored.emit(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=6)}")

    def _run(self) -> None:
        from ..data import augment_batch
        from ..engine import build_network, evaluate, fit, make_optimizer

        cfg = self.cfg
        data = self.data or prepare_data(cfg, self.store)
        if self.stop_event.is_set():
            self.finished.emit(TrainResult("stopped", "cancelled before training started",
                                           cfg, None))
            return
        if cfg.from_current:
            net = self.base_net.copy(cfg.backend)
        else:
            net = build_network(cfg.arch, seed=cfg.seed, backend=cfg.backend)
        self.net = net
        before = None
        if data.x_hold is not None and len(data.x_hold):
            before = evaluate(self.base_net, data.x_hold, data.y_hold).accuracy
        opt = make_optimizer(cfg.optimizer, cfg.lr)
        self.started.emit(f"Training {net.arch.name} ({net.param_count():,} parameters) on "
                          f"{data.description}; backend {net.backend_name} "
                          f"({net.backend_reason})")
        augment = (lambda xb, rng: augment_batch(xb, rng)) if cfg.augment else None
        t0 = time.perf_counter()
        hist = fit(net, data.x_train, data.y_train, opt, epochs=cfg.epochs,
                   batch_size=cfg.batch_size, x_val=data.x_val, y_val=data.y_val,
                   augment=augment, seed=cfg.seed, on_batch=self.progress.emit,
                   on_epoch=self.epoch_done.emit, stop=self.stop_event,
                   pause=self.pause_event)
        res = TrainResult(hist.status, hist.message, cfg, hist, class_names=data.class_names,
                          drawings_before=before)
        if hist.status != "completed":
            self.finished.emit(res)
            return
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
            backend=net.backend_name, trained_in="drawcnn GUI",
            wall_s=round(time.perf_counter() - t0, 2))
        if before is not None:
            summary.update(drawings_holdout=int(len(data.y_hold)),
                           drawings_accuracy_before=float(before),
                           drawings_accuracy_after=float(res.drawings_after))
        res.summary = summary
        net.metadata.pop("untrained", None)
        net.metadata["training"] = summary
        self.finished.emit(res)


class DownloadWorker(QObject):
    """Fetches a dataset (``load_dataset(..., download=True)``) with progress and cancel."""

    progress = Signal(int, int)  # bytes done, bytes total
    finished = Signal(str)  # the folder now holding the dataset
    errored = Signal(str)

    def __init__(self, name: str, data_dir=None):
        super().__init__()
        self.name, self.data_dir = name, data_dir
        self.stop_event = threading.Event()
        self._last = 0.0

    def cancel(self) -> None:
        self.stop_event.set()

    def _progress(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self._last >= 0.05 or done >= total:
            self._last = now
            self.progress.emit(int(done), int(total))

    @Slot()
    def run(self) -> None:
        from ..data import DataError, load_dataset

        try:
            ds = load_dataset(self.name, self.data_dir, download=True, progress=self._progress,
                              stop_event=self.stop_event)
        except DataError as exc:
            self.errored.emit(str(exc))
            return
        except Exception as exc:
            self.errored.emit(f"{type(exc).__name__}: {exc}")
            return
        self.finished.emit(str(ds.root))


def start_worker(worker: QObject, parent=None) -> QThread:
    """Move ``worker`` into a new QThread, run ``worker.run`` there, quit when it ends."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: quit() is thread-safe, and the thread ends even when nobody spins the event loop
    worker.finished.connect(thread.quit, Qt.DirectConnection)
    worker.errored.connect(thread.quit, Qt.DirectConnection)
    thread.start()
    return thread
