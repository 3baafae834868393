"""A separate dot: a mark that handwritten digits do not have, and !, ?, i, j, :, ; and ÷ do.

The network sees a 28x28 image; a "!" there is a bar with a speck under it, and a network
trained on MNIST reads it as a 1 (the novelty score declined 10 % of them). The speck is the
tell: of the 10,000 MNIST test digits none has one, of the 7,494 pen digits of 30 writers three
do (a stray tap), and a dot inside a loop (a typed zero with a dot in it) is not counted.
``separate_dot`` finds it in the model input itself, so drawings and image files get the same
answer. The sizes were chosen on the calibration writers and kinds (README, "Readings you can
trust"). NumPy only.
"""

from __future__ import annotations

import numpy as np

#: Pixels at or above this level (of 1) are ink.
INK_LEVEL = 0.25
#: A piece of ink whose bounding box is at most this many pixels on its longer side is a dot
#: (the preprocessing renders a tap at MNIST's stroke width: 2-4 px) ...
DOT_MAX_SIDE = 4
#: ... if it holds at least this much ink (sum of its pixels): a pen tap holds 4-10, the
#: scanning specks of MNIST's images mostly under 1.
DOT_MIN_MASS = 4.0

_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def ink_pieces(image: np.ndarray, level: float = INK_LEVEL) -> list[np.ndarray]:
    """The 8-connected pieces of ink of a 2-D image, each as an (K, 2) array of (row, col),
    largest ink mass first."""
    img = np.asarray(image)
    left = {(int(r), int(c)) for r, c in zip(*np.nonzero(img >= level))}
    pieces = []
    while left:
        todo = [left.pop()]
        piece = []
        while todo:
            r, c = todo.pop()
            piece.append((r, c))
            for dr, dc in _NEIGHBOURS:
                q = (r + dr, c + dc)
                if q in left:
                    left.remove(q)
                    todo.append(q)
        pieces.append(np.array(piece))
    pieces.sort(key=lambda p: -float(img[p[:, 0], p[:, 1]].sum()))
    return pieces


def separate_dot(image: np.ndarray) -> bool:
    """True when the image holds a dot apart from its main piece of ink: a piece no larger
    than ``DOT_MAX_SIDE`` pixels a side, with at least ``DOT_MIN_MASS`` of ink, whose centre
    lies outside the main piece's bounding box (so a dot inside a loop does not count)."""
    img = np.asarray(image)
    pieces = ink_pieces(img)
    if len(pieces) < 2:
        return False
    lo, hi = pieces[0].min(axis=0), pieces[0].max(axis=0)
    for p in pieces[1:]:
        side = int((p.max(axis=0) - p.min(axis=0)).max()) + 1
        centre = (p.min(axis=0) + p.max(axis=0)) / 2
        if (side <= DOT_MAX_SIDE and float(img[p[:, 0], p[:, 1]].sum()) >= DOT_MIN_MASS
                and not np.all((centre >= lo) & (centre <= hi))):
            return True
    return False


def separate_dots(images: np.ndarray) -> np.ndarray:
    """``separate_dot`` of each (1, 28, 28) or (28, 28) image of a batch, as a bool array."""
    x = np.asarray(images)
    return np.array([separate_dot(i.reshape(i.shape[-2:])) for i in x], bool)
