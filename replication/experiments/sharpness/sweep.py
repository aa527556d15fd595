# ruff: noqa: F401, F403  (the chapter's public face for the sweep: the notebooks and ``replication.make`` read it)
"""Chapter 05's encoder sweep: the HR24 encoder sweep of the core (:mod:`replication.runs.encoder`) with the
chapter's settings table (:mod:`.settings`) and its compute summary.

The runs, their config and presets, training and measuring live in :mod:`replication.runs.encoder.sweep` (chapters
04, 06 and 08 import them from there); every name of it can be imported from here, as the notebooks do.
"""

from __future__ import annotations

import pandas as pd

from ...report.text import computed_on
from ...runs.encoder.sweep import *
from ...runs.encoder.sweep import __all__ as _core
from .settings import SETTINGS, settings_table, step_ms

__all__ = [*_core, "SETTINGS", "compute_summary", "settings_table", "step_ms"]


def compute_summary(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Runs, where they came from, CPU time (training, measuring) and the machines that computed them, per sweep,
    as recorded per run (times on different machines add up only roughly)."""
    rows = []
    for name, df in frames.items():
        total = df["train_seconds"] + df["measure_seconds"].fillna(0)
        rows.append(
            {
                "sweep": name,
                "runs": len(df),
                "computed_now": int((df["source"] == "computed").sum()),
                "train_min": df["train_seconds"].sum() / 60,
                "measure_min": df["measure_seconds"].sum() / 60,
                "mean_run_s": total.mean(),
                "longest_run_s": total.max(),
                "computed_on": computed_on(df["machine"] if "machine" in df else None),
            }
        )
    return pd.DataFrame(rows).round(2)
