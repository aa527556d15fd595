"""Chapter 06's tables and sentences: the runs, the counts of kept runs, the dynamics events, the tradeoff and its
reference set in words, and the compute table's parts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...report.claims import ALPHA, fmt
from ...report.text import label
from ...runs.encoder.sweep import convergence_counts
from . import dynamics
from .config import TradeoffConfig
from .dynamics import span
from .stats import n_effect


def events_table(curves: pd.DataFrame, cfg: TradeoffConfig) -> pd.DataFrame:
    """One row per dynamics run: plateau exit, sharpness peak, and norm / blowup change after convergence."""
    return dynamics.events_table(curves, window=cfg.window)


def counts(df: pd.DataFrame) -> pd.DataFrame:
    """Runs, kept runs and dropped runs per (function, n) (:func:`~replication.runs.encoder.sweep.convergence_counts`)."""
    return convergence_counts(df)


#: The columns of :func:`runs_table`.
RUN_COLUMNS = [
    "function",
    "n",
    "seed",
    "lr",
    "weight_decay",
    "eval_mse",
    "kept",
    "param_norm",
    "blowup",
    "log_mean_blowup",
    "sharpness",
    "source",
]


def runs_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per tradeoff run with the columns of :data:`RUN_COLUMNS`, rounded for display."""
    return df[[c for c in RUN_COLUMNS if c in df]].round(5)


def describe_tradeoff(runs: pd.DataFrame) -> str:
    """A few sentences (Markdown) with this run's tradeoff numbers."""
    c = counts(runs)
    lines = [f"{int(c['kept'].sum())} of {int(c['runs'].sum())} tradeoff runs converged and are kept."]
    drops = c[c["dropped"] > 0]
    if len(drops):
        lines.append(
            "Dropped: "
            + ", ".join(f"{label(r.function)} n = {r.n}: {r.dropped}/{r.runs}" for r in drops.itertuples())
            + "."
        )
    eff = n_effect(runs)
    for r in eff.itertuples():
        if np.isfinite(r.coef_n):
            sig = "significant" if r.p_n < ALPHA else "not significant"
            lines.append(
                f"{label(r.function)}: at matched norm, log blowup changes by {r.coef_n:+.3f} per unit of "
                f"n (p = {fmt(r.p_n)}, {sig}); per unit of norm by {r.coef_norm:+.3f}."
            )
    kept = runs[runs["kept"].astype(bool)]
    if len(kept):
        lines.append(
            f"Across kept runs the norm spans {kept['param_norm'].min():.1f}–{kept['param_norm'].max():.1f} "
            f"and the mean blowup {kept['blowup'].min():.1f}–{kept['blowup'].max():.1f}."
        )
    return " ".join(lines)


def describe_reference(reference: pd.DataFrame) -> str:
    """One sentence on the reference set (chapter 05's runs) drawn in the tradeoff figure."""
    if not len(reference):
        return "Chapter 05's runs are not stored at this scale, so the figure has no reference set."
    lr, wd = reference["lr"].iloc[0], reference["weight_decay"].iloc[0]
    return (
        f"The grey crosses are chapter 05's {len(reference)} kept runs (learning rate {lr:g}, weight decay {wd:g}, "
        f"{int(reference['steps'].iloc[0]):,} steps, lengths {span(reference['n'])})."
    )


#: The compute table's columns (:func:`replication.report.stats.compute_summary`, per experiment of
#: :func:`cost_parts`): CPU minutes training and measuring (a dynamics run measures inside its training time).
COST = {"train_min": ("train_seconds", "sum", "min"), "measure_min": ("measure_seconds", "sum", "min")}


def cost_parts(runs: pd.DataFrame, events: pd.DataFrame, long: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The runs of the tradeoff, the dynamics and the long dynamics (``long``: :func:`.long_dynamics.long_events`,
    left out when None or empty), for the compute table."""
    parts = {"tradeoff": runs, "dynamics": events}
    return parts | ({"long dynamics": long} if long is not None and len(long) else {})
