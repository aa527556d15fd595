"""What a page shows where a scale measured nothing: a table or figure function wrapped in :func:`table_when_run` or
:func:`figure_when_run` returns a one-line "not run at this scale" table, or a figure saying so, when its first
argument holds no rows, so that a notebook calls it without a guard of its own."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pandas as pd

#: The text shown in place of a table or figure whose data this scale did not compute.
NOT_RUN = "not run at this scale"


def is_empty(data) -> bool:
    """Whether ``data`` (a frame, a list, a dict or None) holds no rows."""
    return data is None or len(data) == 0


def not_run_table(what: str = "") -> pd.DataFrame:
    """A one-cell table that says ``what`` was not run at this scale."""
    return pd.DataFrame({"": [f"{what}: {NOT_RUN}" if what else NOT_RUN]})


def table_when_run(func: Callable) -> Callable:
    """``func`` (a table function whose first argument is its data), returning :func:`not_run_table` for no data."""

    @functools.wraps(func)
    def wrapper(data, *args, **kwargs):
        return not_run_table() if is_empty(data) else func(data, *args, **kwargs)

    return wrapper


def figure_when_run(func: Callable) -> Callable:
    """``func`` (a figure function whose first argument is its data), drawing one small axis that says
    :data:`NOT_RUN` for no data (and returning it)."""

    @functools.wraps(func)
    def wrapper(data, *args, **kwargs):
        if not is_empty(data):
            return func(data, *args, **kwargs)
        import matplotlib.pyplot as plt

        ax = kwargs.get("ax")
        if ax is None:
            _, ax = plt.subplots(figsize=(4, 0.6))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{func.__name__.replace('_', ' ')}: {NOT_RUN}", ha="center", va="center")
        return ax

    return wrapper


def shown(data: pd.DataFrame | None, digits: int | None = None) -> pd.DataFrame:
    """``data`` for display (rounded to ``digits`` where given), or :func:`not_run_table` where it holds no rows."""
    if is_empty(data):
        return not_run_table()
    return data.round(digits) if digits is not None else data
