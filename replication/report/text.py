"""Short text helpers shared by the chapters' prose and tables: one ``span``, one label, one machine list."""

from __future__ import annotations

from typing import Any
from collections.abc import Callable, Iterable

import math

import numpy as np
import pandas as pd


#: How a Boolean function or an architecture is written in prose, tables and figures.
LABELS = {
    "parity": "PARITY",
    "majority": "MAJORITY",
    "first": "FIRST",
    "mean": "MEAN",
    "random": "random f",
    "vit": "ViT",
    "cnn": "CNN",
    "mlp": "MLP",
    "vit_nopn": "ViT without patch LayerNorm",
}


def label(name: str, variant: str | None = None) -> str:
    """``name`` as the book writes it (:data:`LABELS`, else as is); ``" + variant"`` appended unless
    ``variant`` is None or ``"plain"`` (e.g. ``label("vit", "reg")`` is ``"ViT + reg"``)."""
    base = LABELS.get(name, name)
    return base if variant in (None, "plain") else f"{base} + {variant}"


def fmt(x: Any, digits: int = 3) -> str:
    """Compact number formatting for claims tables (``digits`` significant digits; very small or large numbers in
    scientific notation; integers as they are; NaN as :data:`DASH`)."""
    if isinstance(x, (int,)) and not isinstance(x, bool):
        return str(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return DASH  # not measured, or not computable from what was
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.{digits}g}"
    return f"{v:.{max(digits - 1, 1)}e}"


_number = fmt  # span's default, which its own parameter ``fmt`` hides


def _missing(x: Any) -> bool:
    """None, an empty string, NaN / NA / NaT, or an infinite number."""
    if x is None or (isinstance(x, str) and not x):
        return True
    if isinstance(x, (int, float, np.number)):
        return not np.isfinite(x)
    return bool(pd.isna(x))


def span(
    values: Iterable,
    fmt: Callable[[Any], Any] | None = None,
    *,
    digits: int | None = None,
    sep: str = "–",
    empty: str = "none",
) -> str:
    """``"lo–hi"`` of the present values (missing and infinite ones left out), or one value where both ends
    read alike; ``empty`` where there are none.

    Each end is written by ``fmt`` (any callable; its result goes through ``str``), else with ``digits``
    decimals and thousands separators (``digits=0``: ``"1,200"``), else by :func:`fmt`.
    ``sep`` joins the two ends (``" to "`` reads better between long numbers or dates).
    """
    v = [x for x in values if not _missing(x)]
    if not v:
        return empty
    if fmt is None:
        fmt = _number if digits is None else (lambda x: f"{x:,.{digits}f}")
    lo, hi = str(fmt(min(v))), str(fmt(max(v)))
    return lo if lo == hi else f"{lo}{sep}{hi}"


def computed_on(machines: pd.Series | None) -> str:
    """Which machines computed how many runs, most first: ``"2 runs on a; 1 run on b"`` (a missing machine
    counts as ``unknown``; no column at all gives ``"unknown"``)."""
    if machines is None:
        return "unknown"
    counts = machines.fillna("unknown").value_counts()
    return "; ".join(f"{k} run{'s' * (k != 1)} on {m}" for m, k in counts.items())


#: What a reader's table shows for a value not measured (never "NaN").
DASH = "—"


def dashed(df: pd.DataFrame, digits: int | None = None) -> pd.DataFrame:
    """``df`` for a reader: every missing value (NaN, None, NA) shown as :data:`DASH`, numbers rounded to ``digits``
    decimals (None: as they are) and whole floats written as integers, so that a column with a gap still reads
    "12" rather than "12.0". The index and columns are kept; cells become text where a column had a gap."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not s.isna().any():
            if digits is not None and pd.api.types.is_float_dtype(s):
                out[col] = s.round(digits)
            continue
        out[col] = [DASH if _missing_cell(v) else _number_cell(v, digits) for v in s]
    return out


def _missing_cell(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _number_cell(v: Any, digits: int | None) -> Any:
    if isinstance(v, (float, np.floating)):
        v = float(v) if digits is None else round(float(v), digits)
        return int(v) if v.is_integer() and abs(v) < 1e15 else v
    return v
