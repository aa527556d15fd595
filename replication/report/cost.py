"""The compute table of a chapter: how many runs each part has and the seconds they took (:func:`compute_summary`),
from the seconds each run recorded when it was computed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from collections.abc import Mapping

import pandas as pd

from .text import computed_on

if TYPE_CHECKING:
    from pandas.core.groupby import DataFrameGroupBy


#: The default columns of :func:`compute_summary`: training seconds in total, per run and of the longest run.
COST = {
    "train_seconds": ("train_seconds", "sum"),
    "per_run": ("train_seconds", "mean"),
    "longest": ("train_seconds", "max"),
}
_STATISTICS = ("sum", "mean", "max", "computed", "machines")
_UNITS = {"s": 1.0, "min": 60.0}


def _seconds(t: pd.DataFrame, source: str) -> pd.Series:
    """Seconds per run of ``source``: a column, or columns joined by "+" added up; a missing column or a NaN counts
    0 in a sum of columns and a missing column counts 0 alone (a part that recorded no such time)."""
    names = source.split("+")
    if len(names) == 1:
        return t[source].astype(float) if source in t else pd.Series(0.0, index=t.index)
    return sum((t[n].astype(float).fillna(0) if n in t else 0.0) for n in names)


def _cost_cell(t: pd.DataFrame, spec: tuple) -> Any:
    source, statistic, unit = (*spec, "s")[:3]
    if statistic == "computed":  # runs computed in this session rather than read
        return int((t[source] == "computed").sum()) if source in t else 0
    if statistic == "machines":
        return computed_on(t[source] if source in t else None)
    if "/" in statistic:  # "sum/steps_run": the sum of seconds over the sum of another column
        return _seconds(t, source).sum() / t[statistic.split("/", 1)[1]].sum() / _UNITS[unit]
    return getattr(_seconds(t, source), statistic)() / _UNITS[unit]


def _check_cost_columns(columns: Mapping[str, tuple]) -> None:
    for name, spec in columns.items():
        stat = spec[1] if len(spec) > 1 else None
        unit = spec[2] if len(spec) > 2 else "s"
        ok = len(spec) in (2, 3) and (stat in _STATISTICS or str(stat).startswith("sum/")) and unit in _UNITS
        if not ok:
            raise ValueError(
                f"columns: {name!r} must be (source, statistic[, unit]) with a statistic in {list(_STATISTICS)} "
                f"or 'sum/<column>' and a unit in {list(_UNITS)}, got {spec!r}"
            )


def compute_summary(
    parts: Mapping[str, pd.DataFrame] | DataFrameGroupBy,
    index: str | None = None,
    *,
    columns: Mapping[str, tuple] = COST,
    total: str | None = None,
    digits: int | None = 1,
) -> pd.DataFrame:
    """The compute table of a chapter, from the seconds recorded when each run was computed: per part, ``runs``
    and then one column per entry of ``columns``, rounded to ``digits`` (None: not rounded).

    ``parts`` is a mapping of names to frames (the index is then named ``index``) or a ``groupby`` of one frame
    (indexed by its keys). ``columns`` maps a column's name to ``(source, statistic)`` or ``(source, statistic,
    unit)``: ``source`` a column of seconds (``"train_seconds"``), or columns added with "+"
    (``"train_seconds+measure_seconds"``, a NaN or a missing column counting 0); ``statistic`` ``sum``, ``mean``,
    ``max`` or ``sum/<column>`` (the seconds per unit of another column, e.g. ``sum/steps_run``); ``unit`` ``"s"``
    (default) or ``"min"``. Two statistics are not times: ``computed`` counts the runs whose ``source`` column
    says "computed" (made in this session), ``machines`` lists the machines of its ``source`` column
    (:func:`~replication.report.text.computed_on`). The default is :data:`COST`: total, mean and longest training
    seconds. ``total`` names a last row over every part's runs together (None: none).
    """
    _check_cost_columns(columns)
    if isinstance(parts, Mapping):
        named, names = dict(parts), [index]
    else:
        names = list(parts.keys) if isinstance(parts.keys, list) else [parts.keys]
        named = {(k[0] if len(names) == 1 and isinstance(k, tuple) else k): t for k, t in parts}
    if total is not None:
        named[total] = pd.concat(list(named.values())) if named else pd.DataFrame()
    rows = [[len(t)] + [_cost_cell(t, spec) for spec in columns.values()] for t in named.values()]
    keys = list(named)
    idx = pd.MultiIndex.from_tuples(keys, names=names) if len(names) > 1 else pd.Index(keys, name=names[0])
    out = pd.DataFrame(rows, index=idx, columns=["runs", *columns])
    return out if digits is None else out.round(digits)


def compute_cost(parts, index: str | None = None, seconds: str = "train_seconds", digits: int | None = 1):
    """:func:`compute_summary` of the ``seconds`` column (total, per run, longest) under the names of
    :data:`COST`; kept for the callers written before it."""
    cols = {k: (seconds, stat) for k, (_, stat) in COST.items()}
    return compute_summary(parts, index, columns=cols, digits=digits)
