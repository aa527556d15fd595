"""Chapter 12's claims on modular addition: one function per claim, from :func:`.modular_addition.phases_table`.

The sparse-parity claims are :func:`.sparse_parity.parity_claims`; :func:`claims` returns both.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, Claim, fmt
from ...runs.chapters import chapter
from .sparse_parity import parity_claims, rng, span

if TYPE_CHECKING:
    from .modular_addition import GrokkingConfig

CHAPTER = chapter(__name__).stem
#: A sensitivity fall counts when the smoothed curve lost at least this share of its peak before test accuracy rose.
MIN_FALL = 0.25
#: The weight norm "turns" if it rises this much (relative) above its running minimum before test accuracy rises.
NORM_TURN = 0.01
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
    out = [grokking(cfg, phases), memorisation_drop(cfg, phases), sensitivity_leads(cfg, phases),
           norm_no_signal(cfg, phases)]  # fmt: skip
    return out + parity_claims(parity, cfg.parity_n, cfg.parity_k, cfg.scale)


def _grokked(phases: pd.DataFrame) -> pd.DataFrame:
    """The runs whose test accuracy reached 95%."""
    return phases[phases["grokked"].astype(bool)]


def _never(cfg: GrokkingConfig, phases: pd.DataFrame) -> str:
    """How many runs never grokked ("" if all did): the reason a claim that needs every run fails."""
    g = _grokked(phases)
    return (f"{len(phases) - len(g)} of {len(phases)} runs never grokked within {cfg.steps} steps"
            if len(g) < len(phases) else "")  # fmt: skip


def grokking(cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """Test accuracy jumps long after training accuracy saturates."""
    g = _grokked(phases)
    late = (g["t_grok"] >= LATE * g["t_sat"]).all() and len(g) == len(phases)
    return Claim(
        chapter=CHAPTER, scale=cfg.scale,
        claim="Test accuracy jumps (≥ 95%) long after training accuracy saturates (grokking)",
        paper_ref=GROKKING_REF, paper_value="train saturated by epoch ~500, test jumps at ~9,800",
        measured=f"train ≥ 99% at steps {span(phases['t_sat'])}; test ≥ 95% at {span(g['t_grok'])} "
                 f"({len(g)}/{len(phases)} runs)",
        holds=bool(late),
        note=f"check: every run reaches test ≥ 95% and does so at ≥ {LATE}× the step training accuracy reached 99%"
             + ("" if late else "; fails: " + (_never(cfg, phases) or "the jump came too soon after memorisation")),
    )  # fmt: skip


def memorisation_drop(cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """Sensitivity falls from its value at step 0 while the training set is memorised."""
    drop = bool(len(phases) and (phases["sens_trough"] <= (1 - MIN_FALL) * phases["sens_start"]).all())
    return Claim(
        chapter=CHAPTER, scale=cfg.scale, claim="Sensitivity drops while the training set is memorised",
        paper_ref="V25 App. A.5 (memorisation phase)", paper_value="drops from epoch 0 to 500",
        measured=f"{rng(phases['sens_start'])} at step 0 → {rng(phases['sens_trough'])} at its lowest before the "
                 f"peak; training accuracy ≥ 99% at steps {span(phases['t_sat'])}",
        holds=drop,
        note=f"check: in every run the lowest sensitivity logged between step 0 and the peak is at least "
             f"{MIN_FALL:.0%} below its value at step 0" + ("" if drop else "; fails in at least one run"),
    )  # fmt: skip


def sensitivity_leads(cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """Sensitivity peaks and falls before test accuracy leaves its plateau."""
    g = _grokked(phases)
    pv = [fall_p_value(r.sens_peak, r.sens_low_end, r.sens_count) for r in g.itertuples()]
    lead_ok = bool(len(g) == len(phases) and len(g) and (g["sens_peak"] > g["sens_sat"]).all()
                   and (g["sens_fall"] >= MIN_FALL).all() and all(p < ALPHA for p in pv))  # fmt: skip
    return Claim(
        chapter=CHAPTER, scale=cfg.scale,
        claim="Sensitivity rises, peaks and falls while test accuracy is still low: it leads the test jump",
        paper_ref=GROKKING_REF, paper_value="falls from epoch ~3,000; test flat until ~9,800 (≈ 6,800 epochs ahead)",
        measured=f"peak at steps {span(g['t_peak'])}, fell {rng(100 * g['sens_fall'])}% of its peak before test "
                 f"left its plateau; lead {span(g['lead'])} steps to the rise, {span(g['lead_grok'])} to ≥ 95%",
        holds=lead_ok,
        note=f"check: in every run the smoothed sensitivity peaks above its value at training saturation, then falls "
             f"by ≥ {MIN_FALL:.0%} of the peak (one-sided two-proportion z-test p < {ALPHA}) by the last evaluation "
             f"where test accuracy is under the commutativity baseline + 0.1" + ("" if lead_ok else "; fails: "
             + (_never(cfg, phases) or "some run's sensitivity did not turn, or fell too little, before test "
                                       "accuracy rose")),
    )  # fmt: skip


def norm_no_signal(cfg: GrokkingConfig, phases: pd.DataFrame) -> Claim:
    """The weight norm has no turning point before test accuracy rises."""
    g = _grokked(phases)
    flat = bool(len(g) == len(phases) and len(g) and (g["norm_rise"] < NORM_TURN).all())
    return Claim(
        chapter=CHAPTER, scale=cfg.scale,
        claim="The weight norm gives no such advance signal: it has no turn before test accuracy rises",
        paper_ref="V25 §7.3", paper_value="flat, like test accuracy, over epochs 3,000–9,800",
        measured=f"largest rise above its running minimum {fmt(g['norm_rise'].max())}; fell "
                 f"{rng(100 * g['norm_fall_cleanup'])}% of its value while sensitivity fell "
                 f"{rng(100 * g['sens_fall'])}%",
        holds=flat,
        note=f"check: between training saturation and the test rise the weight norm never rises more than "
             f"{NORM_TURN:.0%} above its running minimum (it only falls, so it has no turning point to announce the "
             f"jump); it is not flat as in V25's figure but falls steadily"
             + ("" if flat else "; fails: " + (_never(cfg, phases) or "the weight norm turned in some run")),
    )  # fmt: skip
