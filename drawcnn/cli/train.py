"""``drawcnn train``: the engine's fit() with a terminal progress bar, Ctrl-C and a summary.

The first Ctrl-C stops cleanly after the current batch and still evaluates and saves the
best weights so far; a second one aborts. Weights are written atomically with a training
summary (architecture, epochs, accuracies, duration, dataset checksum, seed) in the file.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import threading
import time

from .common import (
    add_data_args,
    check_dataset,
    check_float,
    check_input_dir,
    check_input_file,
    check_int,
    check_output_file,
    fail,
)


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train a network on MNIST (or Fashion-MNIST)",
        description="Train a network and save it (weights + a training summary) atomically. "
        "Ctrl-C stops after the current batch and still saves the best weights so far.")
    p.add_argument("--arch", default="deep", choices=["simple", "lenet", "deep"],
                   help="network architecture (default %(default)s)")
    p.add_argument("--epochs", type=int, default=10,
                   help="passes over the training images (at least 1) (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=100,
                   help="images per optimisation step (at least 1) (default %(default)s)")
    p.add_argument("--lr", type=float, default=1e-3,
                   help="learning rate: the optimiser's step size (above 0) (default %(default)s)")
    p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"],
                   help="adam, or sgd with momentum (default %(default)s)")
    p.add_argument("--weight-decay", type=float, default=0.0,
                   help="L2 penalty on the weights (0 or more) (default %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for initialisation, shuffling, augmentation and the split "
                   "(default %(default)s)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="random shifts/rotations/scaling/thickness of training images (default on)")
    p.add_argument("--val-size", type=int, default=5000,
                   help="training images held out for validation (0 or more, at most a fifth; "
                   "default %(default)s)")
    p.add_argument("--limit", type=int, default=0,
                   help="train on the first N images only (0: all)")
    p.add_argument("--track-test", action="store_true",
                   help="also record test accuracy after each epoch (not used for selection)")
    p.add_argument("--init", metavar="WEIGHTS",
                   help="start from this weights file instead of from scratch")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"],
                   help="compute backend (default %(default)s)")
    p.add_argument("--out", help="where to save the weights (default: ./<arch>.npz)")
    add_data_args(p)
    p.set_defaults(func=train_command)


def check_args(args) -> None:
    """Every argument, before any work: raises UsageError (exit 2, one line)."""
    check_int("--epochs", args.epochs, 1)
    check_int("--batch-size", args.batch_size, 1)
    check_int("--limit", args.limit, 0)
    check_int("--val-size", args.val_size, 0)
    check_int("--seed", args.seed, 0)
    check_float("--lr", args.lr, positive=True)
    check_float("--weight-decay", args.weight_decay, positive=False)
    check_dataset(args.dataset)
    check_input_dir("--data-dir", args.data_dir)
    check_input_file("--init", args.init)
    check_output_file("--out", args.out or f"{args.arch}.npz")


class ProgressBar:
    """One self-rewriting line on stderr: epoch, bar, loss, accuracy, images/s, ETA."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr  # looked up now: sys.stderr may have been replaced
        self.tty = self.stream.isatty()
        self._last_plain = 0.0

    def batch(self, info) -> None:
        frac = info.batch / info.batches
        bar = "#" * int(frac * 24) + "." * (24 - int(frac * 24))
        eta = time.strftime("%M:%S", time.gmtime(info.eta)) if info.eta < 3600 else \
            f"{info.eta / 3600:.1f}h"
        line = (f"epoch {info.epoch}/{info.epochs} [{bar}] loss {info.loss:.4f} "
                f"acc {info.accuracy * 100:5.2f}% {info.images_per_s:6.0f} img/s ETA {eta}")
        if self.tty:
            self.stream.write("\r" + line)
        elif time.perf_counter() - self._last_plain > 10 or info.batch == info.batches:
            self._last_plain = time.perf_counter()
            self.stream.write(line + "\n")
        self.stream.flush()

    def epoch(self, info, test_acc=None) -> None:
        val = f" val acc {info.val_accuracy * 100:.2f}%" if info.val_accuracy is not None else ""
        test = f" test acc {test_acc * 100:.2f}%" if test_acc is not None else ""
        self.stream.write(("\r" if self.tty else "") +
                          f"epoch {info.epoch}/{info.epochs}: loss {info.train_loss:.4f} "
                          f"train acc {info.train_accuracy * 100:.2f}%{val}{test} "
                          f"({info.duration:.0f} s, {info.images_per_s:.0f} img/s)\n")
        self.stream.flush()


def train_command(args) -> int:
    from .. import __version__
    from ..data import augment_batch, load_dataset
    from ..engine import (
        build_network,
        evaluate,
        fit,
        load_network,
        make_optimizer,
        save_network,
    )
    from ..engine.runtime import num_threads, threading_layer
    from ..training import split_validation

    check_args(args)
    ds = load_dataset(args.dataset, args.data_dir, download=args.download)
    if args.init:
        net = load_network(args.init, backend=args.device)
    else:
        net = build_network(args.arch, seed=args.seed, backend=args.device)
    opt = make_optimizer(args.optimizer, args.lr, args.weight_decay)
    out = args.out or f"{args.arch}.npz"
    prior_training = net.metadata.get("training") if args.init else None
    x, y = ds.x_train, ds.y_train
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    x_tr, y_tr, x_val, y_val = split_validation(x, y, args.val_size, args.seed)
    if len(y_tr) == 0:
        return fail(f"no training images left ({len(y)} images, {len(y_val)} held out for "
                    "validation); raise --limit or lower --val-size")
    print(f"training {net.arch.name} ({net.param_count():,} parameters) on {ds.name}: "
          f"{len(y_tr)} train / {len(y_val)} validation images, backend {net.backend_name} "
          f"({net.backend_reason}), {args.epochs} epochs, batch {args.batch_size}, "
          f"{opt!r}, augment {'on' if args.augment else 'off'}", file=sys.stderr)

    stop = threading.Event()
    bar = ProgressBar()
    test_curve: list[float] = []

    def on_sigint(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after this batch (Ctrl-C again to abort)...", file=sys.stderr)

    def on_epoch(info):
        test_acc = None
        if args.track_test:
            test_acc = evaluate(net, ds.x_test, ds.y_test).accuracy
            test_curve.append(test_acc)
        bar.epoch(info, test_acc)

    augment = (lambda xb, rng: augment_batch(xb, rng)) if args.augment else None
    old_handler = signal.signal(signal.SIGINT, on_sigint)
    try:
        hist = fit(net, x_tr, y_tr, opt, epochs=args.epochs, batch_size=args.batch_size,
                   x_val=x_val, y_val=y_val, augment=augment, seed=args.seed,
                   on_batch=bar.batch, on_epoch=on_epoch, stop=stop)
    finally:
        signal.signal(signal.SIGINT, old_handler)
    if hist.status == "diverged":
        return fail(f"training diverged: {hist.message}; nothing was saved", 3)
    if not hist.epochs:
        return fail("stopped before the first epoch finished; nothing was saved", 130)
    test = evaluate(net, ds.x_test, ds.y_test)
    summary = hist.summary()
    summary.update(
        architecture=net.arch.name,
        dataset=ds.name,
        dataset_checksum=ds.checksum,
        train_images=int(len(y_tr)),
        val_images=int(len(y_val)),
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=repr(opt),
        lr=args.lr,
        augment=bool(args.augment),
        seed=args.seed,
        init=args.init,
        # the stages before this one, so a fine-tuned file keeps its whole history
        previous_training=prior_training,
        final_val_accuracy=hist.epochs[-1].val_accuracy,
        test_accuracy=test.accuracy,
        test_accuracy_per_epoch=test_curve or None,
        val_accuracy_per_epoch=[e.val_accuracy for e in hist.epochs],
        seconds_per_epoch=[round(e.duration, 1) for e in hist.epochs],
        backend=net.backend_name,
        threads=num_threads(),
        threading_layer=threading_layer(),
        machine=f"{platform.machine()} {os.cpu_count()} cpus, {platform.system()}",
        drawcnn_version=__version__,
    )
    save_network(net, out, training=summary)  # --out was checked writable before training
    print(f"{hist.status}: test accuracy {test.accuracy * 100:.2f}% "
          f"(best val {100 * (hist.best_val_accuracy or 0):.2f}% at epoch {hist.best_epoch}), "
          f"{hist.duration:.0f} s of training; saved {out}", file=sys.stderr)
    return 0 if hist.status == "completed" else 130
