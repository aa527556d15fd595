# ruff: noqa: F401  (re-exports for the notebook and the tests: the names this chapter module publishes)
"""Chapter 06: the tradeoff between parameter norm and LayerNorm blowup (HR24 §7.2, App. E; Fig. 2, 9, 10).

HR24's Cor. 5 bounds ``C · E[Blowup²]`` from below by a quantity that grows with n for PARITY, where ``C``
grows exponentially with the parameter norm: a model can pay with a large norm or a large blowup, and for
PARITY the price rises with n. Each *tradeoff run* is a chapter-05 run (:class:`~.encoder_sweep.EncoderRun`,
trained and measured by :func:`~.encoder_sweep.measure_run`) whose learning rate and weight decay are drawn
uniformly, seeded by (function, n, draw), and stored in its config; runs go through the shared sweep and
store under their own kind. Chapter 05's runs (fixed learning rate and weight decay) are read through its
public functions as a marked reference set.

The chapter's config and presets are in :mod:`.config`, the statistic (:func:`~.stats.n_effect`,
:func:`~.stats.parity_offset`) in :mod:`.stats`, the claims in :mod:`.claims` and the dynamics of PARITY
(Fig. 3, 12-14) in :mod:`.dynamics`; this module runs the sweeps and holds the tables and sentences, and
the notebook reads all of them from here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...report.claims import ALPHA, fmt
from ...report.text import label
from ...runs.store import ResultsMissing, Store
from ...runs.chapters import chapter, kind
from ...runs.parts import Part, first_seeds, refuse
from ...runs.sweep import run_sweep
from . import dynamics
from .dynamics import DynamicsRun, dynamics_claims, span  # noqa: F401 (DynamicsRun, dynamics_claims: for the tests)
from .dynamics import describe_dynamics, events_display  # noqa: F401 (for the notebook)
from .config import DRAW_SEED, PRESETS, TradeoffConfig, draw, dynamics_runs, long_runs, tradeoff_runs  # noqa: F401
from .stats import (
    equivalence_table,
    interaction_table,
    n_effect,
    ols,
    parity_offset,  # noqa: F401 (notebook, tests)
    pooled_interaction,
)
from .claims import claims  # noqa: F401 (for the notebook)
from .long_dynamics import describe_long, floor, long_curves, long_events  # noqa: F401 (for the notebook)
from .long_dynamics import tests as long_tests  # noqa: F401 (for the notebook)
from ...runs.encoder.sweep import EncoderRun, SweepConfig, convergence_counts, kept_runs, measure_run, run_main

KIND = kind("tradeoff_run", __name__)


# --------------------------------------------------------------------------------------------------
# Running


def measure_tradeoff(run: EncoderRun, device: str = "cpu") -> dict:
    """Chapter 05's :func:`~.encoder_sweep.measure_run` without the weights (this chapter never reads them)."""
    out = measure_run(run, device)
    out.pop("state_dict", None)
    return out


def _annotate(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["failed"] = df["failed"].fillna(False).astype(bool) if "failed" in df else False
    df["kept"] = df["converged"].astype(bool) & ~df["failed"]
    df["log_mean_blowup"] = np.log(df["blowup"].astype(float))
    return df


def run_tradeoff(cfg: TradeoffConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every tradeoff run (computed or read), one row per run, with ``kept`` and ``log_mean_blowup``."""
    return _annotate(
        run_sweep(tradeoff_runs(cfg), measure_tradeoff, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    )


def make_runs(scale: str, functions=None, seeds=None, steps=None) -> list[Part]:
    """The chapter's runs at ``scale`` for ``python -m replication.make``: the tradeoff runs (part ``tradeoff``),
    the dynamics runs (``dynamics``) and the long dynamics runs of HR24 Fig. 3, 12, 13 (``long``); ``seeds`` keeps
    the first seeds of each."""
    refuse(chapter(__name__).number, functions, steps)
    cfg = TradeoffConfig.from_params(scale)
    return [
        Part("tradeoff", KIND, first_seeds(tradeoff_runs(cfg), seeds), measure_tradeoff),
        Part("dynamics", dynamics.KIND, first_seeds(dynamics_runs(cfg), seeds), dynamics.measure_dynamics),
        Part("long", dynamics.KIND, first_seeds(long_runs(cfg), seeds), dynamics.measure_dynamics),
    ]


def reference_runs(cfg: TradeoffConfig, cache: Store | None = None) -> pd.DataFrame:
    """Chapter 05's kept runs at this scale (fixed learning rate and weight decay), for the tradeoff plot.

    Only a figure's reference: where chapter 05's results are not committed (the book build reads and never
    trains), the frame is empty and :func:`describe_reference` says so.
    """
    try:
        ref = run_main(SweepConfig.from_params(scale=cfg.scale), cache=cache)
    except ResultsMissing:
        return pd.DataFrame(columns=["function", "n", "seed", "param_norm", "blowup", "log_mean_blowup", "kept"])
    ref = kept_runs(ref)
    ref = ref[ref["function"].isin(cfg.functions)].copy()
    ref["log_mean_blowup"] = np.log(ref["blowup"].astype(float))
    return ref


def dynamics_curves(cfg: TradeoffConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every evaluation of every dynamics run (:func:`.dynamics.dynamics_curves`)."""
    return dynamics.dynamics_curves(dynamics_runs(cfg), cache, cfg.n_jobs, progress)


def events_table(curves: pd.DataFrame, cfg: TradeoffConfig) -> pd.DataFrame:
    """One row per dynamics run: plateau exit, sharpness peak, and norm / blowup change after convergence."""
    return dynamics.events_table(curves, window=cfg.window)


def counts(df: pd.DataFrame) -> pd.DataFrame:
    """Runs, kept runs and dropped runs per (function, n) (:func:`~.encoder_sweep.convergence_counts`)."""
    return convergence_counts(df)


# --------------------------------------------------------------------------------------------------
# Tables and prose for the notebook

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
