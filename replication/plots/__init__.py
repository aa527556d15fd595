"""Figure helpers. Each takes tidy data and an optional ``ax``, returns the Axes, never calls ``show``.

One palette for the whole book: a function has the same colour in every figure.
"""

from __future__ import annotations

from ..report.text import LABELS, label  # display names: one copy, in the reporting layer

#: Colour of each Boolean function, everywhere in the book.
PALETTE = {
    "parity": "#d62728",
    "majority": "#1f77b4",
    "first": "#2ca02c",
    "mean": "#9467bd",
    "random": "#7f7f7f",
    "transformer": "#ff7f0e",
}

#: Plotting order of the four functions.
ORDER = ["parity", "majority", "first", "mean"]

__all__ = ["LABELS", "ORDER", "PALETTE", "label"]
