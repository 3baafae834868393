"""'What am I looking at?': one short, plain-language text per panel (no Qt here).

Each text is a few sentences of simple HTML, shown by the panel's "?" button. Keys are the
panels' object names.
"""

from __future__ import annotations

#: What the two colour maps mean, shared by the texts and the panels' legends.
DIVERGING_LEGEND = "blue = negative, white = 0, red = positive"
SEQUENTIAL_LEGEND = "black = 0, purple → orange → yellow = larger"

HELP: dict[str, tuple[str, str]] = {
    "probabilities": (
        "Prediction",
        "The network's last layer gives one score (a <i>logit</i>) per digit; <b>softmax</b> "
        "turns the ten scores into probabilities that add up to 100%. The big digit is the "
        "highest bar. Softmax must always pick one of ten, so a letter can get a high bar "
        "too: the app answers <b>not a digit</b> (the closest digit greyed, the bars still "
        "the network's own) when the drawing has a separate dot, as ! ? : ; do and digits "
        "never do, or when the network's features are far from every digit it learned (its "
        "<i>novelty score</i>: low logits, and inner features unlike the training digits')."),
    "input_view": (
        "What the network sees",
        "Your strokes are turned into a 28×28 image the way the MNIST digits were made: "
        "redrawn with an MNIST-like stroke width, cropped to the ink, fitted into 20×20 "
        "keeping the aspect, then centred by its centre of mass in 28×28. That last image "
        "(red frame) is the network's only input. <i>naive resize</i> is what squeezing the "
        "whole canvas would give: small, off-centre digits the network never saw in training."),
    "feature_maps": (
        "Feature maps",
        "Every layer's output for your drawing, updated while you draw. A convolution layer "
        "makes one <b>map</b> per filter (one small square each): where the filter's pattern "
        "matches your drawing the map is strong. Convolution outputs can be negative ("
        + DIVERGING_LEGEND + "); <b>ReLU</b> sets negatives to 0 and pooling keeps the largest "
        "value of each 2×2 window, so their maps use " + SEQUENTIAL_LEGEND + ". The bar beside "
        "each layer gives its scale. Dense layers are strips of numbers; the last strip holds "
        "the ten digit scores (logits) that softmax turns into the prediction."),
    "filters": (
        "Filters",
        "The learned weights of a convolution layer. Each small square is one kernel: the "
        "layer slides it over its input and, at every position, multiplies the pixels under "
        "it by these weights and adds them up (plus a bias). " + DIVERGING_LEGEND.capitalize()
        + ": a kernel with red on one side and blue on the other responds to an edge in that "
        "direction. Deeper layers have one kernel per input channel for each output channel."),
    "edge_filters": (
        "Edge filters",
        "Hand-made kernels from image processing next to the ones the network learned. "
        "<b>Sobel x</b> responds to vertical edges (a change from left to right), <b>Sobel "
        "y</b> to horizontal ones, the <b>Laplacian</b> to spots and thin lines, "
        "<b>Sharpen</b> boosts the middle pixel against its neighbours. Below each row is "
        "what the kernels give on your drawing. The learned conv1 kernels often end up as "
        "similar edge detectors. Each map is scaled to its own largest value."),
    "confusion": (
        "Confusion matrix",
        "One row per <b>true</b> digit, one column per <b>predicted</b> digit; each cell "
        "counts the test images of that row the network called that column. The diagonal "
        "(green) is correct; red cells are mistakes, darker for more. Click a cell to see "
        "its images."),
    "training_curves": (
        "Training curves",
        "<b>Loss</b> (cross-entropy, lower is better) and <b>accuracy</b> over the epochs "
        "(one epoch = one pass over the training images). The blue line is measured on the "
        "batches being trained on; the orange dots on held-out validation images after each "
        "epoch. Validation much worse than training means the network memorises instead of "
        "learning (overfitting). A loss that shoots up means the learning rate is too high."),
    "live_filters": (
        "First-layer filters",
        "The first convolution layer's kernels, " + DIVERGING_LEGEND + ". Before training "
        "they are random noise; while the network learns they turn into edge, stroke and "
        "blob detectors. <i>Before</i> is the network training starts from; the other view "
        "follows training live."),
}


def help_title(key: str) -> str:
    return HELP[key][0]


def help_text(key: str) -> str:
    return HELP[key][1]


# --------------------------------------------------------------------------- training advice

#: Learning rates that train well: (lowest, highest, default) per optimizer. Above the highest
#: the loss typically explodes within a few batches.
LR_RANGES: dict[str, tuple[float, float, float]] = {
    "adam": (1e-4, 1e-2, 1e-3),
    "sgd": (1e-3, 0.5, 1e-2),
}
OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "SGD + momentum"}

#: A mean cross-entropy above this means training has blown up (guessing among ten classes
#: gives 2.3; no run that learns gets near 20).
EXPLODED_LOSS = 20.0


def lr_hint(optimizer: str) -> str:
    lo, hi, default = LR_RANGES[optimizer]
    return (f"{OPTIMIZER_NAMES[optimizer]} trains well with a learning rate from {lo:g} to "
            f"{hi:g} (default {default:g}).")


def lr_warning(optimizer: str, lr: float) -> str | None:
    """A warning when ``lr`` is above the range that trains well, else None."""
    lo, hi, default = LR_RANGES[optimizer]
    if lr <= hi:
        return None
    return (f"<b>Learning rate {lr:g} is too high for {OPTIMIZER_NAMES[optimizer]}</b>: the "
            f"loss will likely explode. Use {lo:g} to {hi:g} (try {default:g}).")


def loss_exploded(loss: float) -> bool:
    return not (loss == loss) or loss > EXPLODED_LOSS  # NaN, inf or absurdly large


def too_high_message(optimizer: str, lr: float, loss: float) -> str:
    default = LR_RANGES.get(optimizer, (0, 0, 1e-3))[2]
    return (f"Learning rate too high: the loss exploded to {loss:.3g} (a random guess scores "
            f"2.3), so training was stopped. Try {default:g}. Your current network is "
            "unchanged.")


def plain_backend_reason(name: str, reason: str, available: bool) -> str:
    """A sentence for the backend choice without Numba's raw driver text (which is kept for
    a tooltip): what runs where and what to do."""
    no_gpu = any(k in reason for k in ("CUDA", "NVIDIA", "cuda", "driver", "GPU"))
    if available and name == "cpu" and reason.startswith("auto") and no_gpu:
        return ("Runs on the <b>CPU</b>: this computer has no usable NVIDIA GPU, so training "
                "uses the processor instead (slower, same result).")
    if available:
        return f"Runs on <b>{name}</b>: {reason}"
    if no_gpu:
        return ("<b>No usable NVIDIA GPU</b> on this computer, so the cuda backend cannot run. "
                "Choose <i>auto</i> or <i>cpu</i>.")
    return f"<b>{name} is not available</b>: {reason}"
