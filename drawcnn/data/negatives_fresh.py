"""Two more sets of held-out non-digit kinds, made after the first set's results were known.

The first held-out kinds (``negatives.GROUPS["test"]``) were looked at, kind by kind, while the
"not a digit" rules were developed, so they no longer measure those rules blind. The 20
``FRESH_TEMPLATES`` kinds were written down before anything was measured on them and never
trained on (they then served as development data, see ``FRESH2_TEMPLATES`` below): the
remaining lower-case letters that are not written like digits, punctuation, brackets,
currency, Greek letters and pictograms, hard ones included (a theta, an hourglass, a
lightning bolt and a house sit close to 0, 8 and 4).
"""

from __future__ import annotations

import numpy as np

from .shape_paths import arc, dense, polyline

_SUN_RAYS = [[(5 + 3.2 * np.cos(a), 5 + 3.2 * np.sin(a)), (5 + 5 * np.cos(a), 5 + 5 * np.sin(a))]
             for a in np.deg2rad(np.arange(0, 360, 45))]

#: Fresh held-out kinds: name -> strokes (10 x 10 box, y down), each path sampled densely
#: (``dense``) so that sparse sampling keeps a house a house.
_FRESH: dict[str, list[list[tuple[float, float]]]] = {
    "c": [arc(5.5, 6.5, 3.5, 3.5, -40, -320)],
    "d": [arc(4, 6.5, 3.5, 3.5, -20, -380), polyline("7.5,0 7.5,10")],
    "j": [polyline("6,3 6,9") + arc(3.5, 9, 2.5, 1.5, 0, 180), polyline("6,0.3 6,0.6")],
    "p": [polyline("1,10 1,2"), polyline("1,3") + arc(4.5, 4.5, 3.5, 2.2, -150, 150)
          + polyline("1,6.5")],
    "semicolon": [polyline("5,2 5,2.4"), polyline("5,7 5,7.4 4,10")],
    "colon": [polyline("5,2 5,2.4"), polyline("5,8 5,8.4")],
    "bracket": [polyline("7,0 3,0 3,10 7,10")],
    "brace": [polyline("7,0 5,0.5 4.5,2 4.5,4 3,5 4.5,6 4.5,8 5,9.5 7,10")],
    "euro": [arc(6, 5, 4, 5, -50, -310), polyline("0,4 6,4"), polyline("0,6 6,6")],
    "theta": [arc(5, 5, 3.5, 5, 0, 360), polyline("1.5,5 8.5,5")],
    "mu": [polyline("1,10 1,3"), polyline("1,6") + arc(3.5, 6, 2.5, 2.5, 180, 0)
           + polyline("6,3 6,8 7,9")],
    "crescent": [arc(5, 5, 5, 5, -60, -300) + arc(9, 5, 4.5, 4.4, 110, 250)],
    "sun": [arc(5, 5, 2, 2, 0, 360)] + _SUN_RAYS,
    "bolt": [polyline("6,0 2,5.5 6,5 3,10")],
    "house": [polyline("0,10 0,4 5,0 10,4 10,10 0,10")],
    "hourglass": [polyline("0,0 10,0 0,10 10,10 0,0")],
    "cross_circle": [arc(5, 5, 5, 5, 0, 360), polyline("5,0 5,10"), polyline("0,5 10,5")],
    "checkbox": [polyline("0,0 10,0 10,10 0,10 0,0"), polyline("2,5 4,8 8,2")],
    "note": [arc(3, 8.5, 2.2, 1.5, 0, 360), polyline("5.2,8.5 5.2,0 9,2")],
    "arrow_ne": [polyline("0,10 10,0"), polyline("4,0 10,0 10,6")],
}

FRESH_TEMPLATES = {name: [dense(s) for s in strokes] for name, strokes in _FRESH.items()}

#: A third held-out set, written when the first fresh set had been used to choose between
#: novelty scores (so it had become development data): 20 more kinds, never trained on, never
#: used for a choice, measured once per change. Greek and Hebrew letters, currency and
#: pilcrow, shapes, arrows and pictograms.
_FRESH2: dict[str, list[list[tuple[float, float]]]] = {
    "eta": [polyline("1,3 1,7"), polyline("1,5") + arc(4, 5, 3, 2, 180, 360) + polyline("7,10")],
    "gamma": [polyline("0,2 2,1 4,2 6,7") + arc(6, 8.5, 1, 1.5, -60, 240) + polyline("6,7 9,1")],
    "xi": [polyline("3,0 7,0"), arc(5, 2.5, 3, 2.5, -90, -270) + arc(5, 6.5, 3.5, 2, -90, -270)
           + polyline("6,10")],
    "tau": [polyline("0,2 10,2"), polyline("5,2 5,9") + arc(6.5, 9, 1.5, 1, 180, 90)],
    "alef": [polyline("1,0 9,10"), polyline("8,0 8,3 5,5"), polyline("2,10 2,7 5,5")],
    "shin": [arc(5, 4, 4.5, 6, 180, 0) + polyline("9.5,0"), polyline("0.5,0 0.5,4"),
             polyline("5,0 5,10")],
    "cent": [arc(5, 5, 3.5, 3.5, -50, -310), polyline("5,0 5,10")],
    "yen": [polyline("0,0 5,5 10,0"), polyline("5,5 5,10"), polyline("2,6 8,6"),
            polyline("2,8 8,8")],
    "pilcrow": [arc(4, 2.5, 2.5, 2.5, -90, -270) + polyline("4,0 9,0"), polyline("6,0 6,10"),
                polyline("8.5,0 8.5,10")],
    "trapezoid": [polyline("3,1 7,1 10,9 0,9 3,1")],
    "double_arrow": [polyline("0,5 10,5"), polyline("3,2 0,5 3,8"), polyline("7,2 10,5 7,8")],
    "curved_arrow": [polyline("10,2 4,2") + arc(4, 5.5, 3.5, 3.5, -90, -270) + polyline("7,9"),
                     polyline("7,0 10,2 7,4")],
    "bowtie": [polyline("0,1 10,9 10,1 0,9 0,1")],
    "flag": [polyline("1,10 1,0 9,2 1,5")],
    "stick_figure": [arc(5, 1.5, 1.5, 1.5, 0, 360), polyline("5,3 5,7"), polyline("2,4.5 8,4.5"),
                     polyline("2,10 5,7 8,10")],
    "fish": [arc(4, 5, 4, 2.5, 0, 360), polyline("7,5 10,2 10,8 7,5")],
    "umbrella": [arc(5, 4, 5, 3.5, 180, 360) + polyline("0,4 10,4"),
                 polyline("5,4 5,9") + arc(4, 9, 1, 1, 0, 180)],
    "key": [arc(2, 5, 2, 2, 0, 360), polyline("4,5 10,5"), polyline("8,5 8,7"),
            polyline("10,5 10,7")],
    "cup": [polyline("1,1 2,10 7,10 8,1"), arc(8, 4.5, 2, 2, -90, 90)],
    "clock": [arc(5, 5, 5, 5, 0, 360), polyline("5,5 5,2"), polyline("5,5 7.5,5")],
}
FRESH2_TEMPLATES = {name: [dense(s) for s in strokes] for name, strokes in _FRESH2.items()}
