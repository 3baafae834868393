"""From pen strokes to what the network reads: the one path the GUI, the CLI and tests share.

``read_drawing(strokes)`` turns canvas strokes (point lists, y down) into the 28x28 model
input the MNIST way (stroke re-rendered at an MNIST-like width, 20x20 box, centre of mass),
runs the network and returns a ``Reading``: the digit (or None, with the reason), the ten
probabilities and what the network saw. The Qt controller only schedules this and emits
the result; nothing here knows Qt.

"Not a digit" has three sources, checked in this order:
* nothing drawn, or no ink left after preprocessing ("too faint to read");
* a drawing whose longest side is under ``MIN_SIZE_FRACTION`` of the canvas (a dot, a tick):
  "too small to read" (the preprocessing keeps it small, so what the network saw shows that);
* a drawing with a separate dot (``data.dots.separate_dot``: !, ?, i, j, :, ;, ÷), which no
  handwritten digit has: "not a digit: a separate dot", whatever the network says;
* a drawing the network's calibrated test finds unlike digits: "not a digit". With feature
  statistics in its weights file (``net.stats``), the test is the ``novelty`` score, an energy
  score of the logits plus the Mahalanobis distance of the dense head's input (per-channel
  means of the feature maps) to the nearest digit class under a shared covariance, both
  standardised, plus the distance of the penultimate features to the nearest of 20,000
  training digits' (a bank in the file), against ``metadata["reading"]["score"]["threshold"]``;
  without them, a top probability under ``metadata["reading"]["min_confidence"]``. Both are set by
  ``drawcnn/cli/train_readings.py`` on held-out writers and held-out kinds of non-digits. A
  network with neither (e.g. freshly trained) declines only the kinds above.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from .data.dots import separate_dot
from .data.preprocess import preprocess_steps, render_strokes
from .data.strokes import extent
from .errors import NonFiniteOutput, WeightsError
from .novelty import (
    combine_novelty,
    decided_score,
    last_dense,
    neighbour_distance,
    novelty_parts,
    penultimate,
    project,
)

#: Side of the "as drawn" image for the pipeline view's first and naive-resize stages.
RAW_SIZE = 112
#: Logical canvas side the GUI uses when the caller does not say (points in 0..280).
DEFAULT_CANVAS = 280
#: Brush width, in canvas units, of the "as drawn" rendering.
BRUSH_WIDTH = 16.0
#: A drawing whose longest side is under this share of the canvas is too small to read (on
#: the 280 canvas: under 20 units, about the brush width). Digits of the 30 pen-digit writers
#: are at least 17 % of their tablet; see README, "Readings you can trust".
MIN_SIZE_FRACTION = 0.07


@dataclass
class Reading:
    """What the network made of one drawing.

    ``digit`` is None when there is nothing to read (``reason`` says why); ``probabilities``
    are then zeros for an empty canvas, or the network's honest output for a drawing it
    declined to name. ``activations`` (``[(layer, array)]``) and ``steps`` (the named
    preprocessing stages) are filled when asked for (the GUI's panels show them).
    """

    digit: int | None
    probabilities: np.ndarray
    model_input: np.ndarray | None
    reason: str
    activations: list | None = field(default=None, repr=False)
    steps: dict | None = field(default=None, repr=False)
    #: The novelty score (higher: less like a digit) when the network has one, else None; a
    #: bound on the same side of the threshold when the bank search could stop early.
    novelty: float | None = None
    #: The network's novelty threshold the score was compared with (None without a score).
    threshold: float | None = None

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max()) if self.probabilities.size else 0.0

    @property
    def closest(self) -> int | None:
        """The most probable digit, also when ``digit`` is None (shown greyed in the app)."""
        if self.model_input is None or not self.probabilities.any():
            return None
        return int(np.argmax(self.probabilities))


_DEFAULT_NET = None
_DEFAULT_LOCK = threading.Lock()


def default_network():
    """The shipped default network, loaded once (raises WeightsError if it is missing)."""
    global _DEFAULT_NET
    with _DEFAULT_LOCK:
        if _DEFAULT_NET is None:
            from .engine import load_network
            from .shipped import default_weights_path

            path = default_weights_path()
            if path is None:
                raise WeightsError("no shipped weights were found (reinstall drawcnn)")
            _DEFAULT_NET = load_network(path)
        return _DEFAULT_NET


def _points(strokes) -> list[np.ndarray]:
    """Strokes as (K, 2) float arrays of x, y; empty strokes dropped."""
    out = []
    for s in strokes or ():
        a = np.asarray(s, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] < 2:
            raise ValueError(f"a stroke must be a (K, 2) or (K, 3) array of points, got {a.shape}")
        a = a[:, :2]
        a = a[np.all(np.isfinite(a), axis=1)]
        if len(a):
            out.append(a)
    return out


def _empty(reason: str, steps=None) -> Reading:
    return Reading(None, np.zeros(10), None, reason, None, steps)


def read_drawing(strokes, net=None, canvas_size=None, *, details: bool = False) -> Reading:
    """Read a drawing: strokes (list of (K, 2|3) canvas points, y down) -> Reading.

    ``net=None`` uses the shipped default network; ``canvas_size`` (default 280) is the
    canvas side the points refer to, used only for the "as drawn" stages. With ``details``
    the reading also carries every layer's activations and the preprocessing stages.
    Raises NonFiniteOutput when the network's output is not finite (never a reading).
    """
    pts = _points(strokes)
    if not pts:
        return _empty("nothing drawn")
    size = canvas_size or DEFAULT_CANVAS
    raw = render_strokes(pts, size, RAW_SIZE, RAW_SIZE * BRUSH_WIDTH / size)
    steps = preprocess_steps(raw, strokes=pts, canvas_size=size)
    img = steps.get("centred")
    if img is None:
        return _empty("too faint to read", steps if details else None)
    reading = read_image(img, net, details=details, steps=steps)
    if extent(pts) < MIN_SIZE_FRACTION * size:
        reading.digit = None
        reading.reason = "too small to read"
    return reading


def min_confidence(net) -> float:
    """The calibrated "not a digit" threshold stored with ``net`` (0.0 when it has none)."""
    meta = getattr(net, "metadata", None) or {}
    try:
        return float((meta.get("reading") or {}).get("min_confidence", 0.0))
    except (TypeError, ValueError, AttributeError):
        return 0.0


def score_params(net) -> dict | None:
    """The novelty score's calibration (``metadata["reading"]["score"]``) when ``net`` has
    feature statistics, else None (the file was checked on load, see engine.weights)."""
    if not getattr(net, "stats", None):
        return None
    return ((getattr(net, "metadata", None) or {}).get("reading") or {}).get("score")


def novelty_scores(net, logits: np.ndarray, head_input: np.ndarray, params: dict,
                   threshold: float | None = None, penult: np.ndarray | None = None
                   ) -> np.ndarray:
    """Novelty of (N, classes) logits and the dense head's inputs (N, C, H, W), or the Flatten
    layer's outputs (N, C*H*W): higher is less like a digit.

    (energy - mean) / std + weight * (log distance - mean) / std, with the energy
    -log sum exp(logits) and the distance the smallest squared Mahalanobis distance of the
    per-channel means of the head input to a class mean (``net.stats``); plus, when the file
    has a neighbour bank, neighbour_weight * (neighbour distance - mean) / std, the distance
    of the penultimate features to the nearest training digit's (``novelty.neighbour_distance``).

    With a ``threshold`` and one row, the search of the bank stops as soon as the side of the
    threshold is certain (``novelty.decided_score``): the score returned is then a bound on
    that side, not the exact value.
    """
    st = net.stats
    means = st["reading.means"]
    head = np.asarray(head_input)
    pooled = head.reshape(len(head), means.shape[1], -1).mean(axis=2)
    energy, log_dist = novelty_parts(logits, pooled, means, st["reading.precision"])
    if "reading.bank" not in st or "neighbour_weight" not in params:
        return combine_novelty(energy, log_dist, params)
    pen = penult if penult is not None else penultimate(
        net, np.ascontiguousarray(head.reshape(len(head), -1), np.float32))
    base = combine_novelty(energy, log_dist, params)
    w, mean, std = (params[k] for k in ("neighbour_weight", "neighbour_mean", "neighbour_std"))
    bank, center, proj = st["reading.bank"], st["reading.center"], st["reading.projection"]
    if threshold is None or len(base) != 1:
        return base + w * (neighbour_distance(pen, bank, center, proj) - mean) / std
    q = project(pen, center, proj)[0]
    return np.array([decided_score(float(base[0]), q, bank, w, mean, std, threshold)])


def _forward(net, x: np.ndarray, details: bool, score: bool):
    """(probabilities (classes,), novelty input (logits, head input, penultimate features or
    None) or None, activations or None) of one eval pass; the plain reading is
    ``net.predict`` (the fused one-image path)."""
    if details:
        acts = net.activations(x)
        kinds = [layer.kind for layer in net.layers]
        head = acts[kinds.index("Flatten")][1] if "Flatten" in kinds else None
        # the last dense layer's input is among the activations: no second pass for the bank
        penult = acts[last_dense(net) - 1][1] if "Dense" in kinds else None
        parts = (acts[-2][1], head, penult) if score and head is not None else None
        return acts[-1][1][0], parts, acts
    if score:
        logits, head = net.logits_and_head_input(x)
        if head is not None:
            b = net.backend
            probs = np.asarray(b.to_host(b.softmax(b.asarray(logits))))
            return probs[0], (logits, head, None), None
    return net.predict(x)[0], None, None


def read_image(model_input: np.ndarray, net=None, *, details: bool = False,
               steps: dict | None = None) -> Reading:
    """Read a (28, 28) model input that is already preprocessed (e.g. from an image file).

    Declines ("not a digit") when the image has a separate dot, or when the network's
    calibrated test says so (the novelty score above its threshold, or else the top
    probability under ``min_confidence``); the probabilities are the network's own either way.
    """
    net = default_network() if net is None else net
    x = np.ascontiguousarray(model_input, dtype=np.float32).reshape(28, 28)
    params = score_params(net)
    probs, parts, acts = _forward(net, x[None, None], details, params is not None)
    probs = np.asarray(probs, dtype=np.float64)
    novelty = None
    if parts is not None:
        logits, head, penult = parts
        novelty = float(novelty_scores(net, logits, head, params, params["threshold"],
                                       penult)[0])
    if not np.all(np.isfinite(probs)) or not np.isfinite(novelty if novelty is not None else 0):
        raise NonFiniteOutput(f"the network {net.name!r} produced non-finite outputs "
                              "(its weights are damaged); no reading")
    digit = int(np.argmax(probs))
    closest = f"closest {digit} at {probs[digit]:.0%}"
    threshold = params["threshold"] if novelty is not None else None
    kept = (acts, steps if details else None, novelty, threshold)
    if separate_dot(x):
        return Reading(None, probs, x, f"not a digit: a separate dot ({closest})", *kept)
    declined = (novelty > threshold if novelty is not None
                else probs[digit] < min_confidence(net))
    if declined:
        return Reading(None, probs, x, f"not a digit ({closest})", *kept)
    return Reading(digit, probs, x, f"{digit} at {probs[digit]:.0%}", *kept)
