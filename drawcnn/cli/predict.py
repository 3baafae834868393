"""``drawcnn evaluate`` and ``drawcnn predict``: score weights on a test set, classify images.

Errors go up to ``drawcnn.cli.main``; only ``predict`` catches per image, so one bad file is
reported and the others are still read.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, DrawCNNError, NonFiniteOutput, WeightsError
from .common import add_data_args, check_dataset, check_input_dir, check_input_file, check_int


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="test accuracy, per-class accuracy, confusion matrix")
    p.add_argument("--weights", help="weights file (default: the shipped default network)")
    add_data_args(p)
    p.set_defaults(func=evaluate_command)

    p = sub.add_parser("predict", help="classify image files (PNG/JPEG, dark or light digit)")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--weights", help="weights file (default: the shipped default network)")
    p.add_argument("--top", type=int, default=3,
                   help="how many classes to print (1-10, default 3)")
    p.set_defaults(func=predict_command)


def _load(weights):
    from ..engine import load_network
    from ..shipped import default_weights_path

    check_input_file("--weights", weights)
    path = weights or default_weights_path()
    if path is None:
        raise WeightsError("no weights given and no shipped weights found")
    return load_network(path)


def _finite(p: np.ndarray, net) -> np.ndarray:
    if not np.all(np.isfinite(p)):
        raise NonFiniteOutput(f"the network {net.name!r} produced non-finite outputs (its "
                              "weights are damaged); no result")
    return p


def evaluate_command(args) -> int:
    import math

    from ..data import load_dataset
    from ..engine import evaluate

    check_dataset(args.dataset)
    check_input_dir("--data-dir", args.data_dir)
    net = _load(args.weights)
    ds = load_dataset(args.dataset, args.data_dir, download=args.download)
    if net.arch.num_classes != len(ds.class_names):
        raise WeightsError(f"the network has {net.arch.num_classes} outputs but {ds.name} "
                           f"has {len(ds.class_names)} classes")
    res = evaluate(net, ds.x_test, ds.y_test)
    if not math.isfinite(res.loss):  # a NaN probability makes the loss NaN
        raise NonFiniteOutput(f"the network {net.name!r} produced non-finite outputs "
                              "(its weights are damaged); no score")
    print(f"{net.arch.name} on {ds.name} test set ({len(ds.y_test)} images): "
          f"accuracy {res.accuracy * 100:.2f}%  loss {res.loss:.4f}")
    print("per-class accuracy:")
    for k, acc in enumerate(res.per_class_accuracy):
        label = ds.class_names[k] if ds.class_names else str(k)
        print(f"  {label:>12}: {acc * 100:6.2f}%")
    print("confusion matrix (rows: true, columns: predicted):")
    print("      " + "".join(f"{k:>6}" for k in range(res.confusion.shape[1])))
    for k, row in enumerate(res.confusion):
        print(f"{k:>6}" + "".join(f"{v:>6}" for v in row))
    return 0


def predict_command(args) -> int:
    from ..data import load_digit_image, to_mnist
    from ..imageio import read_image
    from ..reading import read_image as read_model_input

    check_int("--top", args.top, 1)
    net = _load(args.weights)
    status = 0
    for path in args.images:  # one bad file is reported and the others still read
        try:
            x = to_mnist(load_digit_image(read_image(path)))
            if x is None:
                print(f"{path}: empty image (no digit found)")
                continue
            # the app's reading: "not a digit" below the network's calibrated threshold
            r = read_model_input(x, net)
            p = _finite(r.probabilities, net)
        except DrawCNNError as exc:  # this file's boundary: 2 unreadable, 1 no result
            print(f"{path}: error: {exc}")
            status = 2 if isinstance(exc, DataError) else 1
            continue
        order = np.argsort(p)[::-1][: min(len(p), args.top)]
        tops = "  ".join(f"{k}: {p[k] * 100:5.1f}%" for k in order)
        # "not a digit", or "not a digit: a separate dot" (the closest digit is in the list)
        answer = r.digit if r.digit is not None else r.reason.split(" (closest")[0]
        print(f"{path}: {answer}  ({tops})")
    return status
