"""Chapter 12's claim with power: across seeds, whether how soon sensitivity falls predicts the grokking step better
than how soon the weight norm falls (V25 §7.3, App. A.5), by a test for two correlations that share a variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, Claim, claims_for, fmt
from ...report.stats import (
    EXACT_RUNS,
    critical_rho,
    dependent_correlations,
    rank_correlation,
    runs_for_dependent_correlations,
)
from .tables import POWER

if TYPE_CHECKING:
    from .config import GrokkingConfig

CLAIM = claims_for(__name__)


def grokked(phases: pd.DataFrame) -> pd.DataFrame:
    """The runs whose test accuracy reached 95%."""
    return phases[phases["grokked"].astype(bool)]


def _rank_r(a, b) -> float:
    """Spearman's ρ of the pairs where both are finite (nan with fewer than 3 or a constant column)."""
    m = pd.DataFrame({"a": a, "b": b}, dtype=float).dropna()
    if len(m) < 3 or m["a"].nunique() < 2 or m["b"].nunique() < 2:
        return float("nan")
    return float(stats.spearmanr(m["a"], m["b"])[0])


def planned_runs(cfg: GrokkingConfig) -> int:
    """The runs the predictor claim is judged on: fixed before they are computed (``predictor_seeds``, else the
    chapter's seeds)."""
    return max(cfg.predictor_seeds, cfg.seeds)


def _can_show(n: int) -> str:
    """What ``n`` runs can show at all: the smallest rank correlation that reaches the book's level over them."""
    rho = critical_rho(n)
    if not np.isfinite(rho):
        return f"over {n} runs no rank correlation can reach p < {ALPHA}"
    return f"over {n} runs sensitivity's ρ reaches p < {ALPHA} only at ρ ≥ {fmt(rho)}"


def grok_step_predictor(*, cfg: GrokkingConfig, phases: pd.DataFrame, planned: int | None = None) -> Claim:
    """Across seeds, the step at which sensitivity has fallen predicts the grokking step better than the norm's does:
    the two rank correlations compared by Williams's test for correlations that share a variable."""
    g = grokked(phases)
    g = g[np.isfinite(g[["t_sens_half", "t_norm_half", "t_grok"]].astype(float)).all(axis=1)]
    rs, ps, ns = rank_correlation(g["t_sens_half"], g["t_grok"])
    rn, pn, _ = rank_correlation(g["t_norm_half"], g["t_grok"])
    r_sn = _rank_r(g["t_sens_half"], g["t_norm_half"])
    t, pw = dependent_correlations(rs, rn, r_sn, ns)
    need = runs_for_dependent_correlations(rs, rn, r_sn, power=POWER)
    ok = bool(ps < ALPHA and rs > 0 and pw < ALPHA)
    share = lambda col: fmt(100 * g[col].iloc[0]) + "%" if len(g) else "nan"  # noqa: E731
    runs = (
        "too few grokked runs to estimate how many the test needs"
        if not np.isfinite([rs, rn, r_sn]).all()
        else f"at these correlations the test needs about {need} runs for {POWER:.0%} power"
        if need
        else "at these correlations no number of runs would show sensitivity ahead"
    )
    why = (
        f"with {ns} runs a one-sided p < {ALPHA} needs ρ ≥ {fmt(critical_rho(ns))}; sensitivity's ρ is {fmt(rs)}"
        if not ps < ALPHA
        else f"the weight norm's fall predicts the grokking step too (ρ = {fmt(rn)}), and over {ns} runs sensitivity's "
        f"larger ρ is not shown to be larger (Williams p = {fmt(pw)}): {runs}"
        + (f", {need - ns} more than these" if need and need > ns else "")
    )
    early = planned is not None and len(phases) < planned
    if early:  # judging as runs arrive and stopping when p < ALPHA would inflate the error rate (optional stopping)
        ok = False
    return CLAIM(
        scale=cfg.scale,
        claim="Across seeds, how soon sensitivity falls predicts when a run groks; how soon the weight norm falls does not",
        paper_ref="V25 §7.3, App. A.5",
        paper_value="sensitivity is a progress measure, the norm is not (one run)",
        measured=f"Spearman ρ with the grokking step over {ns} grokked runs: sensitivity {fmt(rs)} (p = {fmt(ps)}), "
        f"weight norm {fmt(rn)} (p = {fmt(pn)}); the two predictors' ρ {fmt(r_sn)}; Williams's t = {fmt(t)} "
        f"(one-sided p = {fmt(pw)}); {runs}",
        holds=ok,
        note=f"check: for each run, the first step after the sensitivity peak at which the smoothed sensitivity has "
        f"lost {share('sens_share')} of its peak value, and the first at which the weight norm has lost "
        f"{share('norm_share')} of its value there (for each, half its median relative fall over clean-up), each "
        f"rank-correlated over runs with the step test accuracy reaches 95%: sensitivity's ρ one-sided p < {ALPHA} "
        f"(exact over every permutation up to {EXACT_RUNS} runs), and larger than the norm's by Williams's test for "
        f"two correlations that share a variable (one-sided p < {ALPHA}; Steiger 1980, applied to the rank "
        f"correlations); the run count for {POWER:.0%} power takes the three measured correlations as the true ones; "
        + _can_show(ns)
        + (
            f"; not judged yet: {len(phases)} of the {planned} runs fixed in advance are stored (a verdict as runs "
            f"arrive would be optional stopping), the numbers are interim"
            if early
            else ("" if ok else "; fails: " + why)
        ),
        testable=not early,
        kind="paper",
        section="Clean-up: sensitivity against the weight norm",
    )
