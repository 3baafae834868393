"""``drawcnn evaluate`` and ``drawcnn predict``: score weights on a test set, classify images."""

from __future__ import annotations

import numpy as np

from .common import add_data_args, fail


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="test accuracy, per-class accuracy, confusion matrix")
    p.add_argument("--weights", help="weights file (default: the shipped default network)")
    add_data_args(p)
    p.set_defaults(func=evaluate_command)

    p = sub.add_parser("predict", help="classify image files (PNG/JPEG, dark or light digit)")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--weights", help="weights file (default: the shipped default network)")
    p.add_argument("--top", type=int, default=3, help="how many classes to print (default 3)")
    p.set_defaults(func=predict_command)


def _load(weights):
    from ..engine import load_network
    from ..shipped import default_weights_path

    path = weights or default_weights_path()
    if path is None:
        raise FileNotFoundError("no weights given and no shipped weights found")
    return load_network(path)


def evaluate_command(args) -> int:
    from ..data import DataError, load_dataset
    from ..engine import DrawCNNError, evaluate

    try:
        net = _load(args.weights)
        ds = load_dataset(args.dataset, args.data_dir, download=args.download)
    except (DrawCNNError, DataError, FileNotFoundError) as exc:
        return fail(str(exc))
    res = evaluate(net, ds.x_test, ds.y_test)
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
    from ..data import DataError, load_digit_image, to_mnist
    from ..engine import DrawCNNError
    from ..imageio import read_image

    try:
        net = _load(args.weights)
    except (DrawCNNError, FileNotFoundError) as exc:
        return fail(str(exc))
    status = 0
    for path in args.images:
        try:
            x = to_mnist(load_digit_image(read_image(path)))
        except DataError as exc:
            print(f"{path}: error: {exc}")
            status = 2
            continue
        if x is None:
            print(f"{path}: empty image (no digit found)")
            continue
        from ..reading import read_image as read_model_input

        r = read_model_input(x, net)  # the app's reading: "not a digit" below the threshold
        p = r.probabilities
        order = np.argsort(p)[::-1][: max(1, args.top)]
        tops = "  ".join(f"{k}: {p[k] * 100:5.1f}%" for k in order)
        answer = r.digit if r.digit is not None else "not a digit"
        print(f"{path}: {answer}  ({tops})")
    return status
