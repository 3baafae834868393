"""Reproduce the "Readings you can trust" training and every number in the README section.

    git show f52980e^:weights/deep.npz > /tmp/deep-mnist-only.npz   # the MNIST-only stage
    python -m drawcnn.cli.train_readings --arch deep --init /tmp/deep-mnist-only.npz --fold 0 \
        --head-only --steps 3000 --lr 3e-4 --neg-share 0.3 --pen-share 0.3 --batch 128 \
        --more-negatives --personal --neighbours 20000 --out weights/deep.npz --report deep.json

For one writer fold of the 30 pendigits writers (3 folds of 10, seeded): fine-tunes the given
weights (default: the shipped file) on MNIST + the other 20 writers' strokes rendered through
the app's preprocessing with canvas-like augmentation + generated non-digits (train kinds)
with flat targets (``--more-negatives``: also the composed kinds and more typed glyphs); fits
the novelty score's Gaussians (``novelty.fit_gaussian``) on MNIST training digits and the train
writers' pen digits; calibrates the softmax threshold and the novelty score on 5 held-out
writers and held-out kinds of non-digits (``novelty.calibrate_balanced``,
``novelty.calibrate_novelty``), with ``--neighbours N`` also a bank of N training digits'
penultimate features (``novelty.fit_neighbours``); measures both on the other 5 writers, on
the held-out kinds (test, fresh, fresh2: ``data.negatives.GROUPS``), on typed digits and on
MNIST test, with the separate-dot rule (``data.dots``) applied as the app does; optionally
(--personal) the 30-drawing personal fine-tune on each of the 10 held-out writers.
``--eval-only`` measures a file as it is (``--refit-score`` fits its novelty score
again). Writes the weights (only if MNIST test passes its target) and a JSON report. Rendered
data is cached in --cache (not in the project).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from drawcnn.adapt import choose_blend, features, head_start, outlier_exposure
from drawcnn.data import augment_batch, load_dataset
from drawcnn.data.negatives import (
    COMPOSED,
    FONT_TEXT_MORE,
    GROUPS,
    font_glyphs,
    make_negatives,
    typed_digits,
)
from drawcnn.data.pendigits import CANVAS, load_pendigits, split_writers
from drawcnn.data.stroke_augment import render_batch
from drawcnn.engine import evaluate, load_network, save_network
from drawcnn.errors import DataError
from drawcnn.novelty import (
    calibrate_balanced,
    calibrate_novelty,
    fit_gaussian,
)
from drawcnn.training import split_validation

from .readings_measure import add_neighbours, digit_stats, novelty, outputs, parts, personal

MIN_MNIST = {"deep": 0.995, "lenet": 0.990, "simple": 0.989}


def cached(cache: Path, name: str, make):
    path = cache / f"{name}.npz"
    if path.exists():
        with np.load(path) as d:
            return {k: d[k] for k in d.files}
    out = make()
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)  # uncompressed: fast to reload
    return out


def split(pd, fold: int):
    folds = split_writers(pd.writers, 3, seed=0)
    held = folds[fold]
    train = [w for w in pd.writer_ids if w not in held]
    return train, held[:5], held[5:]


def training_record(meta: dict, args, mnist_test: float, alpha: float, init: str) -> dict:
    """The file's training summary: this stage on top of the stages before it."""
    return {"stage": "readings: dense head on MNIST + pen digits + non-digits (outlier "
                     "exposure), drawcnn/cli/train_readings.py", "architecture": args.arch,
            "init": init, "steps": args.steps, "batch_size": args.batch, "lr": args.lr,
            "neg_share": args.neg_share, "pen_share": args.pen_share,
            "head_only": bool(args.head_only), "blend": alpha, "fold": args.fold,
            "test_accuracy": float(mnist_test), "test_images": 10000,
            "previous_training": meta.get("training")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="deep")
    ap.add_argument("--init", help="weights to start from (default weights/<arch>.npz)")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--neg-share", type=float, default=0.25)
    ap.add_argument("--pen-share", type=float, default=0.3)
    ap.add_argument("--max-loss", type=float, default=0.015,
                    help="most of the right digits the threshold may decline")
    ap.add_argument("--copies", type=int, default=4, help="augmented renders per train digit")
    ap.add_argument("--out", help="save the weights here (if MNIST test passes)")
    ap.add_argument("--report", help="write the measurements (JSON) here")
    ap.add_argument("--personal", action="store_true", help="measure the personal fine-tune")
    ap.add_argument("--eval-only", action="store_true", help="measure --init as it is")
    ap.add_argument("--cache", default="/tmp/drawcnn-readings-cache")
    ap.add_argument("--head-only", action="store_true",
                    help="train the dense head only, on features computed once")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--tuned", help="skip training: blend and measure this fine-tuned file")
    ap.add_argument("--tol", type=float, default=0.0004,
                    help="MNIST validation accuracy the blend may lose against --init")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-score", action="store_true",
                    help="no feature-space novelty score: the softmax threshold only")
    ap.add_argument("--refit-score", action="store_true",
                    help="fit the novelty score again even if --init has one")
    ap.add_argument("--more-negatives", action="store_true",
                    help="also train on the composed kinds and more typed glyphs")
    ap.add_argument("--neighbours", type=int, default=0,
                    help="fit a bank of this many training digits' penultimate features "
                         "(half MNIST, half pen digits) into the score (0: keep the file's)")
    ap.add_argument("--neighbour-dims", type=int, default=128)
    ap.add_argument("--neighbour-weight", type=float, default=0.5,
                    help="the bank's weight, in spreads of the score without it")
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    t_start = time.perf_counter()
    try:
        mnist = load_dataset("mnist")
        pd = load_pendigits()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    train_w, calib_w, test_w = split(pd, args.fold)
    print(f"fold {args.fold}: train writers {len(train_w)}, calibration {calib_w}, "
          f"test {test_w}", flush=True)
    plain = cached(cache, "pen_plain", lambda: {"x": render_batch(pd.strokes, None, CANVAS)})["x"]

    def make_pen():
        rng = np.random.default_rng(100 + args.fold)
        sub = pd.by_writers(train_w)
        xs = [render_batch(sub.strokes, rng) for _ in range(args.copies)]
        return {"x": np.concatenate(xs), "y": np.tile(sub.labels, args.copies)}

    pen = cached(cache, f"pen_train_f{args.fold}_c{args.copies}", make_pen)

    def make_neg():
        rng = np.random.default_rng(7)
        # the composed kinds came later: generated apart (make_more), so that this rng
        # stream, hence the calibration and test drawings below, stay the same sample
        first = [k for k in GROUPS["train"] if k not in COMPOSED]
        x_tr, _ = make_negatives(first, 9000, rng)
        parts = [x_tr, font_glyphs(2000, rng)]
        try:
            fm = load_dataset("fashion-mnist")
            parts.append(fm.x_train[rng.choice(len(fm.x_train), 2000, replace=False)])
            fm_test = fm.x_test[:1000]
        except DataError:
            fm_test = np.zeros((0, 1, 28, 28), np.float32)
        x_cal, k_cal = make_negatives(GROUPS["calib"], 40 * len(GROUPS["calib"]), rng)
        x_te, k_te = make_negatives(GROUPS["test"], 40 * len(GROUPS["test"]), rng)
        return {"train": np.concatenate(parts), "calib": x_cal, "calib_kinds": k_cal,
                "test": x_te, "test_kinds": k_te, "fashion_test": fm_test}

    def make_more():
        rng = np.random.default_rng(8)
        return {"train": np.concatenate([make_negatives(COMPOSED, 3000, rng)[0],
                                         font_glyphs(1000, rng, FONT_TEXT_MORE)])}

    neg = cached(cache, "negatives", make_neg)
    fresh = cached(cache, "negatives_fresh", lambda: dict(zip(("x", "kinds"), make_negatives(
        GROUPS["fresh"], 40 * len(GROUPS["fresh"]), np.random.default_rng(9)))))
    fresh2 = cached(cache, "negatives_fresh2", lambda: dict(zip(("x", "kinds"), make_negatives(
        GROUPS["fresh2"], 40 * len(GROUPS["fresh2"]), np.random.default_rng(10)))))
    if args.more_negatives:
        neg["train"] = np.concatenate([neg["train"], cached(cache, "negatives_more",
                                                            make_more)["train"]])
    print(f"data ready: {len(pen['y'])} stroke renders, {len(neg['train'])} train non-digits "
          f"({time.perf_counter() - t_start:.0f} s)", flush=True)

    init = args.init or f"weights/{args.arch}.npz"
    base = load_network(init)
    prior = {k: base.metadata.get(k) for k in ("training",) if k in base.metadata}
    # the shipped networks were trained on 55,000 images; the other 5,000 (seed 0) validate
    x_tr, y_tr, x_val, y_val = split_validation(mnist.x_train, mnist.y_train, 5000, 0)
    alpha, val = 1.0, {}
    if args.eval_only:
        net = base
    elif args.tuned:
        net = load_network(args.tuned)
    else:
        t0 = time.perf_counter()

        def on_step(step, steps, loss):
            if step % 50 == 0 or step == steps:
                print(f"  step {step}/{steps} loss {loss:.4f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)

        pools = [(x_tr, np.asarray(y_tr, np.int64), 1 - args.pen_share, False),
                 (pen["x"], pen["y"].astype(np.int64), args.pen_share, True)]
        x_neg, start = neg["train"], 0
        augment = lambda xb, r: augment_batch(xb, r, strength=0.6)  # noqa: E731
        if args.head_only:
            start = head_start(base)

            def make_features():
                pick = np.random.default_rng(args.seed).choice(len(y_tr), 20000, replace=False)
                return {"mnist": features(base, x_tr[pick], start), "mnist_y": y_tr[pick],
                        "pen": features(base, pen["x"], start),
                        "neg": features(base, neg["train"], start)}

            f = cached(cache, f"features_{Path(init).stem}_{args.arch}_f{args.fold}"
                       f"{'_more' if args.more_negatives else ''}",
                       make_features)
            pools = [(f["mnist"], f["mnist_y"].astype(np.int64), 1 - args.pen_share, False),
                     (f["pen"], pen["y"].astype(np.int64), args.pen_share, False)]
            x_neg, augment = f["neg"], None
            print(f"features ready ({time.perf_counter() - t0:.0f} s)", flush=True)
        net = outlier_exposure(base, pools, x_neg, steps=args.steps, lr=args.lr,
                               batch=args.batch, neg_share=args.neg_share, augment=augment,
                               seed=args.seed, start=start, on_step=on_step)
        train_s = time.perf_counter() - t0
        print(f"trained in {train_s:.0f} s", flush=True)
        save_network(net, cache / f"{args.arch}_f{args.fold}_tuned.npz")
    if not args.eval_only:
        net, alpha, ref, val = choose_blend(
            base, net, x_val, y_val, args.tol, log=lambda text: print(text, flush=True))

    mn = evaluate(net, mnist.x_test, mnist.y_test).accuracy
    print(f"MNIST test {mn:.4f}", flush=True)
    y = pd.labels
    cal, te, trw = (np.isin(pd.writers, w) for w in (calib_w, test_w, train_w))
    typed = cached(cache, "typed_digits", lambda: dict(zip("xy", typed_digits())))
    outs = {"calib": outputs(net, plain[cal]), "calib_neg": outputs(net, neg["calib"])}
    # the softmax threshold (kept in every file: the answer of a file without statistics)
    conf = outs["calib"]["p"].max(1)
    right = outs["calib"]["p"].argmax(1) == y[cal]
    threshold = calibrate_balanced(conf, right, outs["calib_neg"]["p"].max(1), args.max_loss)
    score, tried = None, None
    if not args.no_score:
        if net.stats and not args.refit_score:
            score = net.metadata["reading"]["score"]
        else:
            t0 = time.perf_counter()
            fit = outputs(net, np.concatenate([x_tr, pen["x"]]))
            means, precision = fit_gaussian(fit["pooled"], np.r_[y_tr, pen["y"]],
                                            net.arch.num_classes)
            net.stats = {"reading.means": means.astype(np.float32),
                         "reading.precision": precision.astype(np.float32)}
            score, tried = calibrate_novelty(parts(net, outs["calib"]), right,
                                             parts(net, outs["calib_neg"]),
                                             max_loss=args.max_loss)
            print(f"novelty score fitted ({time.perf_counter() - t0:.0f} s): {score}",
                  flush=True)
    sets = {"calib_digits": (plain[cal], y[cal]), "test_digits": (plain[te], y[te]),
            "train_writer_digits": (plain[trw], y[trw]), "typed_digits": (typed["x"], typed["y"]),
            "mnist_test": (mnist.x_test, mnist.y_test), "calib_nondigits": (neg["calib"], None),
            "test_nondigits": (neg["test"], None), "fresh_nondigits": (fresh["x"], None),
            "fresh2_nondigits": (fresh2["x"], None),
            "fashion_test": (neg["fashion_test"], None)}
    kinds_of = {"test_nondigits": neg["test_kinds"], "fresh_nondigits": fresh["kinds"],
                "fresh2_nondigits": fresh2["kinds"]}
    if score is not None and args.neighbours:
        t0 = time.perf_counter()
        pick = np.random.default_rng(0)
        fit_x = np.concatenate([x_tr[pick.choice(len(x_tr), args.neighbours // 2, replace=False)],
                                pen["x"][pick.choice(len(pen["x"]), args.neighbours // 2,
                                                     replace=False)]])
        score = add_neighbours(net, score, fit_x, outs["calib"], outs["calib_neg"], right, args)
        print(f"neighbour bank fitted ({time.perf_counter() - t0:.0f} s): {score}", flush=True)
    # the network measured carries its calibration, as a saved file would: a fine-tuned copy
    # (--personal) then adjusts its own (fine_tune drops the bank and its part of the score)
    net.metadata["reading"] = {**(net.metadata.get("reading") or {}), "min_confidence": threshold}
    if score is not None:
        net.metadata["reading"]["score"] = score
    methods = {"softmax": lambda net, o: o["dot"] | (o["p"].max(1) < threshold)}
    if score is not None:
        def own(net):
            return net.metadata["reading"]["score"]

        methods["novelty"] = lambda net, o: o["dot"] | (novelty(net, o, own(net))
                                                        > own(net)["threshold"])
    report = {
        "arch": net.arch.name, "fold": args.fold, "init": init, "steps": args.steps,
        "blend": alpha, "mnist_val_by_blend": val, "lr": args.lr, "max_loss": args.max_loss,
        "threshold": threshold, "score": score, "score_weights_tried": tried, "mnist_test": mn,
        "writers": {"train": train_w, "calib": calib_w, "test": test_w}}
    outs = {"calib_digits": outs["calib"], "calib_nondigits": outs["calib_neg"],
            **{what: outputs(net, x) for what, (x, _) in sets.items()
               if len(x) and what not in ("calib_digits", "calib_nondigits")}}
    for name, decline in methods.items():
        rep = report[name] = {}
        for what, (_, labels) in sets.items():
            if what not in outs:
                continue
            o = outs[what]
            out = decline(net, o)
            rep.setdefault("separate_dot", {})[what] = float(o["dot"].mean())
            if labels is None:
                rep[what] = float(out.mean())
                if what in kinds_of:
                    kinds = kinds_of[what]
                    rep[f"{what}_per_kind"] = {
                        k: float(out[kinds == k].mean()) for k in sorted(set(kinds.tolist()))}
            else:
                rep[what] = digit_stats(o["p"], labels, out)
        print(name, json.dumps(rep, indent=1), flush=True)
    best = "novelty" if score is not None else "softmax"
    if args.personal:
        rows = personal(net, pd, calib_w + test_w, plain, methods[best], args.seed)
        report["personal"] = {"method": best, "rows": rows,
                              "mean_before": float(np.mean([r["before"] for r in rows])),
                              "mean_after": float(np.mean([r["after"] for r in rows])),
                              "max_seconds": max(r["seconds"] for r in rows)}
        print(json.dumps({k: v for k, v in report["personal"].items() if k != "rows"}))
    if args.out:
        need = MIN_MNIST.get(net.arch.name, 0.0)
        if mn < need:
            print(f"NOT saved: MNIST test {mn:.4f} < {need}", flush=True)
        else:
            if not args.eval_only:
                net.metadata.update(prior)
                net.metadata["training"] = training_record(net.metadata, args, mn, alpha, init)
            old = net.metadata.get("reading") or {}
            bank = (f" --neighbours {args.neighbours} --neighbour-dims {args.neighbour_dims} "
                    f"--neighbour-weight {args.neighbour_weight}" if args.neighbours else "")
            recipe = (f"{old.get('recipe', '')}; then measured"
                      f"{' and its novelty score fitted' if args.refit_score or bank else ''} "
                      f"by drawcnn/cli/train_readings.py --arch {args.arch} --fold {args.fold} "
                      f"--eval-only{' --refit-score' if args.refit_score else ''}{bank}"
                      if args.eval_only else
                      f"drawcnn/cli/train_readings.py --arch {args.arch} --fold {args.fold} "
                      f"--steps {args.steps} --lr {args.lr} --neg-share {args.neg_share} "
                      f"--pen-share {args.pen_share} --batch {args.batch}"
                      f"{' --head-only' if args.head_only else ''}"
                      f"{' --more-negatives' if args.more_negatives else ''}{bank}; "
                      f"blend {alpha}")
            held = (f"held-out writers {calib_w} and held-out kinds "
                    f"{list(GROUPS['calib'])}, declining at most {args.max_loss:.1%} of the "
                    "digits read right")
            net.metadata["reading"] = {
                "min_confidence": threshold,
                "calibration": "top-probability threshold maximising digits read right + "
                               f"non-digits declined on {held}",
                "measured": {"mnist_test": mn, **{m: {k: v for k, v in report[m].items()
                                                      if k != "train_writer_digits"}
                                                   for m in methods}},
                "writers": report["writers"],
                "recipe": recipe,
            }
            if score is not None:
                net.metadata["reading"]["score"] = {
                    **score, "about": "energy of the logits + weight x log Mahalanobis "
                    "distance of the per-channel means of the dense head's input to the "
                    "nearest digit class (shared covariance fitted on the 55,000 MNIST training "
                    "digits and the train writers' pen digits), standardised on the "
                    f"calibration digits; weight and threshold chosen on {held}"
                    + ("; + neighbour_weight x (1 - cosine similarity of the penultimate "
                       "features to the nearest of "
                       f"{len(net.stats['reading.bank'])} training digits' (half MNIST "
                       "training, half train writers' pen digits; centred, projected on "
                       f"{net.stats['reading.bank'].shape[1]} principal directions)), "
                       "standardised on the calibration digits, its weight chosen on "
                       "development data (calibration kinds + the first fresh kinds), "
                       "base_threshold: the threshold without it"
                       if "reading.bank" in net.stats else "")}
            else:
                net.stats = {}
            net.metadata.pop("source", None)
            save_network(net, args.out)
            print(f"saved {args.out}", flush=True)
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1, default=str))
    print(f"total {time.perf_counter() - t_start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
