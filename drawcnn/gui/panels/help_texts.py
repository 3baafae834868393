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
        "highest bar. A low top bar means the network is unsure: a scribble is not a digit, "
        "and the network must still pick one of ten."),
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
