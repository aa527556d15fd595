"""Chapter 12's claims on modular addition: one function per claim, from :func:`.modular_addition.phases_table`.

The sparse-parity claims are :func:`.sparse_parity.parity_claims`; :func:`claims` returns both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, Claim, fmt
from ...report.stats import EXACT_RUNS, critical_rho, rank_correlation  # noqa: F401 (EXACT_RUNS re-exported)
from ...runs.chapters import chapter
from .sparse_parity import parity_claims, rng, span

if TYPE_CHECKING:
    from .modular_addition import GrokkingConfig

CHAPTER = chapter(__name__).stem
#: A sensitivity fall counts when the smoothed curve lost at least this share of its peak before test accuracy rose.
MIN_FALL = 0.25
#: Over clean-up the weight norm is "comparatively flat" while its relative fall is under this share of sensitivity's.
FLAT_SHARE = 0.5
#: Test accuracy jumps "long after" memorisation: at least this many times the steps training accuracy needed.
LATE = 5
#: Where V25 show the grokking curves.
GROKKING_REF = "V25 §7.3, App. A.5"


def fall_p_value(peak: float, low: float, count: int) -> float:
    """One-sided two-proportion z-test that the sensitivity at ``low`` is below the one at ``peak``.

    Each smoothed value is a share of ``count`` noisy predictions (training pairs × draws × window).
    """
    pooled = (peak + low) / 2
    se = np.sqrt(2 * pooled * (1 - pooled) / count) if 0 < pooled < 1 else np.nan
    return float(stats.norm.sf((peak - low) / se)) if se and np.isfinite(se) else float("nan")


def claims(cfg: GrokkingConfig, phases: pd.DataFrame, parity: pd.DataFrame) -> list[Claim]:
    """Chapter 12's claims, each computed from the phase tables with the check stated in its note."""
    out = [
        grokking(cfg=cfg, phases=phases),
        memorisation_drop(cfg=cfg, phases=phases),
        sensitivity_leads(cfg=cfg, phases=phases),
        norm_flat(cfg=cfg, phases=phases),
        grok_step_predictor(cfg=cfg, phases=phases),
    ]
    return out + parity_claims(parity, cfg.parity_n, cfg.parity_k, cfg.scale)


def paired_p(high, low) -> float:
    """One-sided Wilcoxon signed-rank p-value that ``high`` exceeds ``low`` run by run (nan with < 2 runs)."""
    d = np.asarray(high, dtype=float) - np.asarray(low, dtype=float)
    d = d[np.isfinite(d)]
    return float(stats.wilcoxon(d, alternative="greater").pvalue) if len(d) >= 2 and d.any() else float("nan")


def _floor(n: int) -> str:
    """Why a one-sided Wilcoxon signed-rank test over few runs cannot reach ALPHA: its smallest p is 1/2^n."""
    return f" (over {n} runs its smallest possible p is 1/2^{n} = {fmt(0.5**n)})" if 0.5**n >= ALPHA else ""


def _grokked(phases: pd.DataFrame) -> pd.DataFrame:
    """The runs whose test accuracy reached 95%."""
    return phases[phases["grokked"].astype(bool)]


def _never(cfg: GrokkingConfig, phases: pd.DataFrame) -> str:
    """How many runs never grokked ("" if all did): the reason a claim that needs every run fails."""
    g = _grokked(phases)
    return (
        f"{len(phases) - len(g)} of {len(phases)} runs never grokked within {cfg.steps} steps"
        if len(g) < len(phases)
        else ""
    )


def grokking(*, cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """Test accuracy jumps long after training accuracy saturates."""
    g = _grokked(phases)
    late = (g["t_grok"] >= LATE * g["t_sat"]).all() and len(g) == len(phases)
    return Claim(
        chapter=CHAPTER,
        scale=cfg.scale,
        claim="Test accuracy jumps (≥ 95%) long after training accuracy saturates (grokking)",
        paper_ref=GROKKING_REF,
        paper_value="train saturated by epoch ~500, test jumps at ~9,800",
        measured=f"train ≥ 99% at steps {span(phases['t_sat'])}; test ≥ 95% at {span(g['t_grok'])} "
        f"({len(g)}/{len(phases)} runs)",
        holds=bool(late),
        note=f"check: every run reaches test ≥ 95% and does so at ≥ {LATE}× the step training accuracy reached 99%"
        + ("" if late else "; fails: " + (_never(cfg, phases) or "the jump came too soon after memorisation")),
    )


def memorisation_drop(*, cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """Sensitivity falls from its early peak (while the training set is fitted) to its trough before it climbs."""
    fall, p = phases["early_fall"], paired_p(phases["sens_early"], phases["sens_trough"])
    rose = int((phases["t_early"] > 0).sum())
    drop = bool(len(phases) and (fall >= MIN_FALL).all() and p < ALPHA)
    why = (
        f"{int((fall < MIN_FALL).sum())} of {len(phases)} runs fell less than {MIN_FALL:.0%} from their early peak"
        if (fall < MIN_FALL).any()
        else f"the paired test over {len(phases)} runs has p = {fmt(p)}" + _floor(len(phases))
    )
    return Claim(
        chapter=CHAPTER,
        scale=cfg.scale,
        claim="Sensitivity drops while the training set is memorised",
        paper_ref="V25 App. A.5 (memorisation phase)",
        paper_value="drops from epoch 0 to 500",
        measured=f"early peak {rng(phases['sens_early'])} at steps {span(phases['t_early'])} (above step 0 in {rose} "
        f"of {len(phases)} runs; step 0: {rng(phases['sens_start'])}) → trough {rng(phases['sens_trough'])} "
        f"at steps {span(phases['t_trough'])}: fell {rng(100 * fall)}% (median {100 * fall.median():.0f}%; "
        f"Wilcoxon p = {fmt(p)}); training ≥ 99% at steps {span(phases['t_sat'])}",
        holds=drop,
        note=f"check: in every run the smoothed sensitivity falls by ≥ {MIN_FALL:.0%} from its early peak (its largest "
        f"value up to training saturation) to its trough (its smallest between that peak and the climb of "
        f"circuit formation), and over runs the peak exceeds the trough (one-sided Wilcoxon signed-rank "
        f"p < {ALPHA}); measured against the early peak, not the untrained model at step 0"
        + ("" if drop else "; fails: " + why),
    )


def sensitivity_leads(*, cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """Sensitivity peaks and falls before test accuracy leaves its plateau."""
    g = _grokked(phases)
    pv = [fall_p_value(r.sens_peak, r.sens_low_end, r.sens_count) for r in g.itertuples()]
    lead_ok = bool(
        len(g) == len(phases)
        and len(g)
        and (g["sens_peak"] > g["sens_trough"]).all()
        and (g["sens_fall"] >= MIN_FALL).all()
        and all(p < ALPHA for p in pv)
    )
    return Claim(
        chapter=CHAPTER,
        scale=cfg.scale,
        claim="Sensitivity rises, peaks and falls while test accuracy is still low: it leads the test jump",
        paper_ref=GROKKING_REF,
        paper_value="falls from epoch ~3,000; test flat until ~9,800 (≈ 6,800 epochs ahead)",
        measured=f"peak at steps {span(g['t_peak'])}, fell {rng(100 * g['sens_fall'])}% of its peak before test "
        f"left its plateau; lead {span(g['lead'])} steps to the rise, {span(g['lead_grok'])} to ≥ 95%",
        holds=lead_ok,
        note=f"check: in every run the smoothed sensitivity climbs from its memorisation trough to a peak, then falls "
        f"by ≥ {MIN_FALL:.0%} of the peak (one-sided two-proportion z-test p < {ALPHA}) by the last evaluation "
        f"where test accuracy is under the commutativity baseline + 0.1"
        + (
            ""
            if lead_ok
            else "; fails: "
            + (
                _never(cfg, phases)
                or "some run's sensitivity did not turn, or fell too little, before test accuracy rose"
            )
        ),
    )


def norm_flat(*, cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """Over clean-up the weight norm changes little, relative to sensitivity's fall (V25 §7.3)."""
    g = _grokked(phases)
    ratio = g["norm_fall_cleanup"] / g["sens_fall"]
    p = paired_p(np.full(len(ratio), FLAT_SHARE), ratio)
    flat = bool(len(g) == len(phases) and len(g) and (ratio < FLAT_SHARE).all() and p < ALPHA)
    why = _never(cfg, phases) or (
        f"in {int((ratio >= FLAT_SHARE).sum())} of {len(g)} runs the norm fell by at "
        f"least {FLAT_SHARE:.0%} of sensitivity's relative fall"
        if (ratio >= FLAT_SHARE).any()
        else f"the test over {len(g)} runs has p = {fmt(p)}" + _floor(len(g))
    )
    return Claim(
        chapter=CHAPTER,
        scale=cfg.scale,
        claim="Over clean-up the weight norm stays comparatively flat while sensitivity falls",
        paper_ref="V25 §7.3",
        paper_value="norm flat, like test accuracy, over epochs 3,000–9,800; sensitivity falls",
        measured=f"from the sensitivity peak to the test rise the norm fell {rng(100 * g['norm_fall_cleanup'])}% and "
        f"sensitivity {rng(100 * g['sens_fall'])}%: ratio {rng(ratio)} (median {fmt(ratio.median())}, "
        f"Wilcoxon p = {fmt(p)}, {len(g)} runs)",
        holds=flat,
        note=f"check: over clean-up (sensitivity peak to the last evaluation with test accuracy still low) the weight "
        f"norm's relative fall is under {FLAT_SHARE:.0%} of sensitivity's in every run, and over runs the ratio "
        f"is below {FLAT_SHARE} (one-sided Wilcoxon signed-rank p < {ALPHA}); the norm is not flat in the "
        f"strict sense (it keeps sliding under weight decay) but moves far less than sensitivity"
        + ("" if flat else "; fails: " + why),
    )


def rho_difference(a, b, y, reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Spearman ρ(a, y) − ρ(b, y) over the runs where all three are finite, with its percentile bootstrap
    interval at level 1 − ALPHA (runs resampled with replacement; resamples with a constant column skipped)."""
    m = pd.DataFrame({"a": a, "b": b, "y": y}, dtype=float).dropna().to_numpy()
    if len(m) < 3:
        return float("nan"), float("nan"), float("nan")

    def diff(rows: np.ndarray) -> float:
        r = np.apply_along_axis(stats.rankdata, 0, rows)
        if (r.std(axis=0) == 0).any():
            return float("nan")
        return float(np.corrcoef(r[:, 0], r[:, 2])[0, 1] - np.corrcoef(r[:, 1], r[:, 2])[0, 1])

    draws = np.array([diff(m[i]) for i in np.random.default_rng(seed).integers(0, len(m), (reps, len(m)))])
    draws = draws[np.isfinite(draws)]
    return diff(m), float(np.quantile(draws, ALPHA / 2)), float(np.quantile(draws, 1 - ALPHA / 2))


def grok_step_predictor(*, cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """Across seeds, the step at which sensitivity has fallen predicts the grokking step; the norm's does not."""
    g = _grokked(phases)
    rs, ps, ns = rank_correlation(g["t_sens_half"], g["t_grok"])
    rn, pn, nn = rank_correlation(g["t_norm_half"], g["t_grok"])
    d, lo, hi = rho_difference(g["t_sens_half"], g["t_norm_half"], g["t_grok"])
    ok = bool(ps < ALPHA and rs > 0 and not pn < ALPHA)
    share = lambda col: fmt(100 * g[col].iloc[0]) + "%" if len(g) else "nan"  # noqa: E731
    why = (
        f"with {ns} runs a one-sided p < {ALPHA} needs ρ ≥ {fmt(critical_rho(ns))}; sensitivity's ρ is {fmt(rs)}"
        if not ps < ALPHA
        else f"the weight norm's fall predicts the grokking step too (ρ = {fmt(rn)}, p = "
        f"{fmt(pn)}); sensitivity's ρ is larger by {fmt(d)}, but the bootstrap interval of the difference over "
        f"runs, {fmt(lo)} to {fmt(hi)}, "
        + ("includes 0: on these runs both signals time the jump" if lo <= 0 <= hi else "excludes 0")
    )
    return Claim(
        chapter=CHAPTER,
        scale=cfg.scale,
        claim="Across seeds, how soon sensitivity falls predicts when a run groks; how soon the weight norm falls does not",
        paper_ref="V25 §7.3, App. A.5",
        paper_value="sensitivity is a progress measure, the norm is not (one run)",
        measured=f"Spearman ρ with the grokking step over {len(g)} grokked runs: sensitivity {fmt(rs)} (p = {fmt(ps)}, "
        f"{ns} runs), weight norm {fmt(rn)} (p = {fmt(pn)}, {nn} runs); difference {fmt(d)} "
        f"({100 * (1 - ALPHA):.0f}% bootstrap interval {fmt(lo)} to {fmt(hi)})",
        holds=ok,
        note=f"check: for each run, the first step after the sensitivity peak at which the smoothed sensitivity has "
        f"lost {share('sens_share')} of its peak value, and the first at which the weight norm has lost "
        f"{share('norm_share')} of its value there (for each, half its median relative fall over clean-up), "
        f"each rank-correlated over runs with the step test accuracy reaches 95% (Spearman, one-sided, exact "
        f"p over every permutation): sensitivity's with p < {ALPHA}, the norm's not (with {len(g)} runs p < "
        f"{ALPHA} needs ρ ≥ {fmt(critical_rho(len(g)))}, so a norm below that is only not shown to predict)"
        + ("" if ok else "; fails: " + why),
    )
