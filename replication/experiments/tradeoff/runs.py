"""Chapter 06's runs: the tradeoff runs trained and measured, chapter 05's reference set read, the dynamics curves,
and the hook of ``python -m replication.make``.

Each *tradeoff run* is a chapter-05 run (:class:`~replication.runs.encoder.config.EncoderRun`, trained and measured
by :func:`~replication.runs.encoder.sweep.measure_run`) whose learning rate and weight decay are drawn uniformly,
seeded by (function, n, draw), and stored in its config; runs go through the shared sweep and store under their own
kind. Chapter 05's runs (fixed learning rate and weight decay) are read through the core sweep as a marked reference
set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...runs.chapters import chapter, kind
from ...runs.encoder.sweep import EncoderRun, SweepConfig, kept_runs, measure_run, run_main
from ...runs.parts import Part, first_seeds, refuse
from ...runs.store import ResultsMissing, Store
from ...runs.sweep import run_sweep
from . import dynamics
from .config import TradeoffConfig, dynamics_runs, long_runs, tradeoff_runs

KIND = kind("tradeoff_run", __name__)


def measure_tradeoff(run: EncoderRun, device: str = "cpu") -> dict:
    """Chapter 05's :func:`~replication.runs.encoder.sweep.measure_run` without the weights (this chapter never reads them)."""
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
    trains), the frame is empty and :func:`~.tables.describe_reference` says so.
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
