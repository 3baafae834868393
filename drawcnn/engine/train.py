"""The training loop shared by ``drawcnn train`` and the GUI: fit() and evaluate().

fit() talks only through callbacks (throttled to ~10 Hz, with copies of what it reports),
checks a stop flag and a pause flag between batches, keeps the best weights by validation
accuracy, and guards against divergence: a NaN/inf loss restores the last good weights and
ends the run with status "diverged" instead of saving garbage.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .optim import Optimizer


@dataclass
class BatchInfo:
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based within the epoch
    batches: int
    loss: float  # running mean over the epoch so far
    accuracy: float  # running training accuracy over the epoch so far
    images_per_s: float
    elapsed: float
    eta: float  # seconds left for the whole run
    lr: float
    filters: np.ndarray | None = None  # copy of the first conv layer's weights

    @property
    def progress(self) -> float:
        return ((self.epoch - 1) * self.batches + self.batch) / (self.epochs * self.batches)


@dataclass
class EpochInfo:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    duration: float
    images_per_s: float
    lr: float


@dataclass
class History:
    epochs: list[EpochInfo] = field(default_factory=list)
    status: str = "running"  # completed | stopped | diverged
    message: str = ""
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    duration: float = 0.0
    images_seen: int = 0

    def summary(self) -> dict:
        last = self.epochs[-1] if self.epochs else None
        return {
            "status": self.status,
            "epochs_completed": len(self.epochs),
            "best_epoch": self.best_epoch,
            "best_val_accuracy": self.best_val_accuracy,
            "final_train_accuracy": last.train_accuracy if last else None,
            "final_train_loss": last.train_loss if last else None,
            "duration_s": round(self.duration, 2),
            "images_per_s": round(self.images_seen / self.duration, 1) if self.duration else None,
        }


@dataclass
class EvalResult:
    accuracy: float
    loss: float
    predictions: np.ndarray
    confusion: np.ndarray  # [true, predicted] counts

    @property
    def per_class_accuracy(self) -> np.ndarray:
        totals = self.confusion.sum(axis=1)
        return np.divide(
            np.diag(self.confusion), totals, out=np.zeros(len(totals)), where=totals > 0
        )


def evaluate(net, x, y, batch_size: int = 500, num_classes: int | None = None) -> EvalResult:
    """Accuracy, mean loss, predictions and confusion matrix over (x, y), batched."""
    num_classes = num_classes or net.arch.num_classes
    y = np.asarray(y, dtype=np.int64)
    preds = np.empty(len(y), dtype=np.int64)
    total_loss = 0.0
    for s in range(0, len(y), batch_size):
        p = net.predict(x[s : s + batch_size])
        preds[s : s + len(p)] = p.argmax(axis=1)
        picked = p[np.arange(len(p)), y[s : s + batch_size]]
        total_loss += float(-np.log(np.maximum(picked, 1e-12)).sum())
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (y, preds), 1)
    acc = float((preds == y).mean()) if len(y) else 0.0
    return EvalResult(acc, total_loss / max(1, len(y)), preds, confusion)


def _flag(obj) -> Callable[[], bool]:
    """Accept a threading.Event, a callable, or None as a flag."""
    if obj is None:
        return lambda: False
    if hasattr(obj, "is_set"):
        return obj.is_set
    return obj


def _first_conv(net):
    for key in net.params:
        if key.endswith(".W") and len(np.shape(net.params[key])) == 4:
            return key
    return None


def fit(
    net,
    x_train,
    y_train,
    optimizer: Optimizer,
    *,
    epochs: int = 1,
    batch_size: int = 100,
    x_val=None,
    y_val=None,
    augment: Callable | None = None,
    seed: int = 0,
    lr_schedule: str = "cosine",
    on_batch: Callable[[BatchInfo], None] | None = None,
    on_epoch: Callable[[EpochInfo], None] | None = None,
    stop=None,
    pause=None,
    report_interval: float = 0.1,
    restore_best: bool = True,
) -> History:
    """Train ``net`` in place; returns a History whose status says how the run ended.

    ``augment(x_batch, rng) -> x_batch`` is applied to each training batch. ``stop``/``pause``
    are threading.Events (or callables). With validation data, the best epoch's weights are
    restored at the end (also when stopped early).
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    if len(x_train) == 0:
        raise ValueError("no training data")
    run = _FitRun(net, optimizer, epochs, batch_size, len(x_train), lr_schedule,
                  on_batch, on_epoch, _flag(stop), _flag(pause), report_interval, restore_best)
    rng = np.random.default_rng(seed)
    y_train = np.asarray(y_train, dtype=np.int64)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_train))
        stats = _EpochStats()
        for b in range(run.batches):
            if run.wait_while_paused():
                return run.finish("stopped", f"stopped by the user in epoch {epoch}")
            run.schedule_lr(epoch, b)
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb = x_train[idx] if augment is None else augment(x_train[idx], rng)
            yb = y_train[idx]
            loss = net.train_step(xb, yb, optimizer)
            if not math.isfinite(loss):
                return run.diverged(f"the loss became {loss} in epoch {epoch}, batch {b + 1}")
            stats.add(loss, _batch_correct(net, yb), len(idx))
            run.hist.images_seen += len(idx)
            run.report_batch(epoch, b, stats)
        if not run.end_epoch(epoch, stats, x_val, y_val):
            return run.diverged(f"weights became NaN/inf in epoch {epoch}")
    return run.finish("completed")


@dataclass
class _EpochStats:
    """Running sums over the batches of one epoch."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    t_start: float = field(default_factory=time.perf_counter)

    def add(self, loss: float, correct: int, n: int) -> None:
        self.loss_sum += loss * n
        self.correct += correct
        self.seen += n


class _FitRun:
    """What one fit() call keeps between batches: the history, the last good and the best
    weights, the learning-rate schedule, the callbacks and their throttle."""

    def __init__(self, net, optimizer, epochs, batch_size, n, lr_schedule, on_batch, on_epoch,
                 should_stop, is_paused, report_interval, restore_best):
        self.net, self.optimizer = net, optimizer
        self.epochs, self.batches = epochs, math.ceil(n / batch_size)
        self.lr_schedule, self.base_lr = lr_schedule, optimizer.lr
        self.on_batch, self.on_epoch = on_batch, on_epoch
        self.should_stop, self.is_paused = should_stop, is_paused
        self.report_interval, self.restore_best = report_interval, restore_best
        self.conv_key = _first_conv(net)
        self.hist = History()
        self.best_params: dict | None = None
        self.last_good = net.get_params()
        self.t_start = time.perf_counter()
        self.last_report = 0.0

    def wait_while_paused(self) -> bool:
        """Sleep while paused; True when the run should stop."""
        while self.is_paused() and not self.should_stop():
            time.sleep(0.05)
        return bool(self.should_stop())

    def schedule_lr(self, epoch: int, b: int) -> None:
        """Cosine decay from the base rate to 2% of it over the whole run."""
        if self.lr_schedule == "cosine":
            progress = ((epoch - 1) * self.batches + b) / (self.epochs * self.batches)
            self.optimizer.lr = self.base_lr * (
                0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))

    def report_batch(self, epoch: int, b: int, stats: _EpochStats) -> None:
        """on_batch, at most every report_interval seconds and after an epoch's last batch;
        the filters it reports are a copy."""
        now = time.perf_counter()
        if not self.on_batch or (now - self.last_report < self.report_interval
                                 and b != self.batches - 1):
            return
        self.last_report = now
        elapsed = now - self.t_start
        done = (epoch - 1) * self.batches + b + 1
        rate = self.hist.images_seen / elapsed if elapsed > 0 else 0.0
        eta = elapsed / done * (self.epochs * self.batches - done)
        filters = None
        if self.conv_key:
            filters = np.array(self.net.backend.to_host(self.net.params[self.conv_key]))
        self.on_batch(BatchInfo(epoch, self.epochs, b + 1, self.batches,
                                stats.loss_sum / stats.seen, stats.correct / stats.seen, rate,
                                elapsed, eta, self.optimizer.lr, filters))

    def end_epoch(self, epoch: int, stats: _EpochStats, x_val, y_val) -> bool:
        """Validate, keep the weights as the last good (and maybe best) ones, call on_epoch;
        False when the weights are no longer finite."""
        val_loss = val_acc = None
        if x_val is not None and len(x_val):
            res = evaluate(self.net, x_val, y_val)
            val_loss, val_acc = res.loss, res.accuracy
        backend = self.net.backend
        if not all(np.all(np.isfinite(backend.to_host(p))) for p in self.net.params.values()):
            return False
        self.last_good = self.net.get_params()
        dur = time.perf_counter() - stats.t_start
        info = EpochInfo(epoch, self.epochs, stats.loss_sum / stats.seen,
                         stats.correct / stats.seen, val_loss, val_acc, dur,
                         stats.seen / dur if dur > 0 else 0.0, self.optimizer.lr)
        self.hist.epochs.append(info)
        best = self.hist.best_val_accuracy
        if val_acc is not None and (best is None or val_acc > best):
            self.hist.best_val_accuracy, self.hist.best_epoch = val_acc, epoch
            self.best_params = self.last_good
        if self.on_epoch:
            self.on_epoch(info)
        return True

    def diverged(self, what: str) -> History:
        """Put the last good weights back and end the run as diverged."""
        self.net.set_params(self.last_good)
        return self.finish("diverged", f"{what}; the last good weights were kept "
                                       "(try a lower learning rate)")

    def finish(self, status: str, message: str = "") -> History:
        hist = self.hist
        hist.status, hist.message = status, message
        hist.duration = time.perf_counter() - self.t_start
        if self.restore_best and self.best_params is not None:
            self.net.set_params(self.best_params)
        self.optimizer.lr = self.base_lr
        return hist


def _batch_correct(net, yb) -> int:
    """Correct predictions of the last training forward, read from the loss layer's input."""
    logits = net.last_logits
    if logits is None:
        return 0
    return int((np.asarray(net.backend.to_host(logits)).argmax(axis=1) == yb).sum())
