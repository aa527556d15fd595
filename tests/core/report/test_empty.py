"""A table or figure function wrapped for the scales that measure nothing shows "not run at this scale" for no
data and is itself otherwise."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from replication.experiments.vision_sensitivity import fixed
from replication.plots import vision_sensitivity as plots
from replication.report.empty import NOT_RUN, figure_when_run, is_empty, shown, table_when_run


@pytest.fixture(autouse=True)
def _headless():
    matplotlib.use("Agg")


def test_a_wrapped_table_says_not_run_for_no_rows_and_is_itself_otherwise():
    @table_when_run
    def doubled(df: pd.DataFrame, k: int = 2) -> pd.DataFrame:
        return df * k

    df = pd.DataFrame({"x": [1, 2]})
    assert doubled(df, k=3)["x"].tolist() == [3, 6]
    for empty in (df.iloc[:0], None, []):
        out = doubled(empty)
        assert out.shape == (1, 1) and out.iloc[0, 0] == NOT_RUN
    assert doubled.__name__ == "doubled"
    assert is_empty(None) and is_empty(pd.DataFrame()) and not is_empty(df)


def test_shown_rounds_or_says_not_run():
    assert shown(pd.DataFrame({"x": [0.12345]}), 2)["x"].tolist() == [0.12]
    assert shown(pd.DataFrame()).iloc[0, 0] == NOT_RUN


def test_a_wrapped_figure_draws_the_message_for_no_data():
    calls = []

    @figure_when_run
    def plot(df, ax=None):
        calls.append(len(df))
        return "drawn"

    assert plot(pd.DataFrame({"x": [1]})) == "drawn" and calls == [1]
    ax = plot(pd.DataFrame())
    assert calls == [1] and NOT_RUN in ax.texts[0].get_text() and "plot" in ax.texts[0].get_text()


def test_the_chapters_display_functions_take_empty_data():
    """Chapter 10's pages call its table and figure functions without guards: each must take no data."""
    empty = pd.DataFrame()
    for table in (fixed.fixed_matched_table, fixed.sharp_table, fixed.settle_counts, fixed.scale_summary):
        assert table(empty).iloc[0, 0] == NOT_RUN, table.__name__
    assert fixed.reached_levels(empty, fixed.PLAIN) == []
    for figure in (plots.training_curves, plots.noise_levels, plots.sharpness_levels, plots.readings_map):
        assert NOT_RUN in figure(empty).texts[0].get_text(), figure.__name__
    assert NOT_RUN in plots.matched_sensitivity(empty, []).texts[0].get_text()
