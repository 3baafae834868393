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
    n = len(x_train)
    if n == 0:
        raise ValueError("no training data")
    rng = np.random.default_rng(seed)
    should_stop, is_paused = _flag(stop), _flag(pause)
    batches = math.ceil(n / batch_size)
    base_lr = optimizer.lr
    conv_key = _first_conv(net)
    hist = History()
    best_params = None
    last_good = net.get_params()
    t_start = time.perf_counter()
    last_report = 0.0
    y_train = np.asarray(y_train, dtype=np.int64)

    def finish(status, message=""):
        hist.status, hist.message = status, message
        hist.duration = time.perf_counter() - t_start
        if restore_best and best_params is not None:
            net.set_params(best_params)
        optimizer.lr = base_lr
        return hist

    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        t_epoch = time.perf_counter()
        loss_sum = 0.0
        correct = 0
        seen = 0
        for b in range(batches):
            while is_paused() and not should_stop():
                time.sleep(0.05)
            if should_stop():
                return finish("stopped", f"stopped by the user in epoch {epoch}")
            if lr_schedule == "cosine":
                progress = ((epoch - 1) * batches + b) / (epochs * batches)
                optimizer.lr = base_lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb = x_train[idx]
            if augment is not None:
                xb = augment(xb, rng)
            yb = y_train[idx]
            loss = net.train_step(xb, yb, optimizer)
            if not math.isfinite(loss):
                net.set_params(last_good)
                return finish(
                    "diverged",
                    f"the loss became {loss} in epoch {epoch}, batch {b + 1}; "
                    "the last good weights were kept (try a lower learning rate)",
                )
            # training accuracy from the logits of this step's forward pass (cheap)
            correct += _batch_correct(net, yb)
            loss_sum += loss * len(idx)
            seen += len(idx)
            hist.images_seen += len(idx)
            now = time.perf_counter()
            if on_batch and (now - last_report >= report_interval or b == batches - 1):
                last_report = now
                elapsed = now - t_start
                done = (epoch - 1) * batches + b + 1
                rate = hist.images_seen / elapsed if elapsed > 0 else 0.0
                eta = elapsed / done * (epochs * batches - done)
                filters = np.array(net.backend.to_host(net.params[conv_key])) if conv_key else None
                on_batch(
                    BatchInfo(
                        epoch,
                        epochs,
                        b + 1,
                        batches,
                        loss_sum / seen,
                        correct / seen,
                        rate,
                        elapsed,
                        eta,
                        optimizer.lr,
                        filters,
                    )
                )
        val_loss = val_acc = None
        if x_val is not None and len(x_val):
            res = evaluate(net, x_val, y_val)
            val_loss, val_acc = res.loss, res.accuracy
        if not np.all([np.all(np.isfinite(net.backend.to_host(p))) for p in net.params.values()]):
            net.set_params(last_good)
            return finish(
                "diverged",
                f"weights became NaN/inf in epoch {epoch}; "
                "the last good weights were kept (try a lower learning rate)",
            )
        last_good = net.get_params()
        dur = time.perf_counter() - t_epoch
        info = EpochInfo(
            epoch,
            epochs,
            loss_sum / seen,
            correct / seen,
            val_loss,
            val_acc,
            dur,
            seen / dur if dur > 0 else 0.0,
            optimizer.lr,
        )
        hist.epochs.append(info)
        if val_acc is not None and (
            hist.best_val_accuracy is None or val_acc > hist.best_val_accuracy
        ):
            hist.best_val_accuracy, hist.best_epoch = val_acc, epoch
            best_params = last_good
        if on_epoch:
            on_epoch(info)
    return finish("completed")


def _batch_correct(net, yb) -> int:
    """Correct predictions of the last training forward, read from the loss layer's input."""
    logits = getattr(net, "last_logits", None)
    if logits is None:
        return 0
    return int((np.asarray(net.backend.to_host(logits)).argmax(axis=1) == yb).sum())
