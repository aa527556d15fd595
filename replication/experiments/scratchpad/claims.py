"""Chapter 08's claims: one function per claim, each computed from the tables with the check in its note."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...report.claims import ALPHA, Claim, claims_for, fmt
from ...runs.encoder import sweep as encoder_sweep
from .config import CONVERGED, ScratchpadConfig
from ...report.text import span
from .tables import slope_test

CLAIM = claims_for(__name__)


def claims(
    cfg: ScratchpadConfig, theory: pd.DataFrame, scratch: pd.DataFrame, parity: pd.DataFrame, ratios: pd.DataFrame
) -> list[Claim]:
    """Chapter 08's claims, each computed from the tables above with the check stated in its note."""
    return [
        step_sensitivity(cfg, theory),
        learns_every_length(cfg, scratch),
        sharpness_flat(cfg, scratch, parity),
        below_parity(cfg, ratios),
    ]


def step_sensitivity(cfg: ScratchpadConfig, theory: pd.DataFrame) -> Claim:
    """HR24 Thm 7: every scratchpad step has average sensitivity 2 (at most), whatever n (exact)."""
    later = theory["n"] >= 2
    two = bool(np.allclose(theory.loc[later, "step_as"], 2.0) and (theory["max_step_as"] <= 2.0).all())
    return CLAIM(
        scale=cfg.scale,
        claim="With a scratchpad each autoregressive step of PARITY has O(1) average sensitivity",
        paper_ref="HR24 §6 Thm 7",
        paper_value="O(1) per step (PARITY in one step: n)",
        measured=f"as of the last step = {span(theory['step_as'])} for n = {span(theory['n'])}, every step ≤ "
        f"{fmt(theory['max_step_as'].max())} (PARITY: {span(theory['parity_as'])})",
        holds=two,
        note="check: exact enumeration of every step's truth table; holds if every step i ≥ 2 has as = 2 and none "
        "exceeds 2, whatever n",
        kind="check",
        section="The theory, exactly",
    )


def learns_every_length(cfg: ScratchpadConfig, scratch: pd.DataFrame) -> Claim:
    """At least one run converges at every length of the sweep (HR24 Fig. 11)."""
    kept = scratch[scratch["kept"]]
    per_n = scratch.groupby("n")["kept"].sum()
    all_n = bool((per_n > 0).all())
    return CLAIM(
        scale=cfg.scale,
        claim="With a scratchpad, transformers learn PARITY at every length tried",
        paper_ref="HR24 §7.2, Fig. 11",
        paper_value="trained up to n ≈ 300",
        measured=f"{len(kept)}/{len(scratch)} runs converged (autoregressive bit accuracy > {CONVERGED}); lengths "
        f"{', '.join(str(n) for n in per_n.index)}; largest n with a converged run: "
        f"{int(kept['n'].max()) if len(kept) else 'none'}",
        holds=all_n,
        note=f"check: at least one converged run at every length of the sweep (up to n = {cfg.max_n})"
        + (
            ""
            if all_n
            else f"; fails at n = {', '.join(str(n) for n in per_n.index[per_n == 0])} within {cfg.steps} steps"
        ),
        kind="paper",
        section="The runs",
    )


def sharpness_flat(cfg: ScratchpadConfig, scratch: pd.DataFrame, parity: pd.DataFrame) -> Claim:
    """The converged runs' sharpness does not rise with n, and rises less steeply than chapter 05's PARITY's."""
    s = slope_test(scratch[scratch["kept"]])
    p_ref = slope_test(encoder_sweep.kept_runs(parity))
    flat = bool(
        np.isfinite(s["p_up"]) and s["p_up"] >= ALPHA and np.isfinite(p_ref["slope"]) and s["hi"] < p_ref["slope"]
    )
    return CLAIM(
        scale=cfg.scale,
        claim="With a scratchpad, sharpness does not grow with the input length",
        paper_ref="HR24 §7.2, Fig. 11",
        paper_value="low, little increase up to n ≈ 300",
        measured=f"slope {fmt(s['slope'])} per bit (95% CI {fmt(s['lo'])} to {fmt(s['hi'])}), one-sided p = "
        f"{fmt(s['p_up'])} (r = {fmt(s['r'])}, {s['runs']} runs, n ≤ {cfg.max_n}); PARITY in one step "
        f"(chapter 05): slope {fmt(p_ref['slope'])}",
        holds=flat,
        note=f"check: regression of sharpness on n over converged runs; holds if there is no significant increase "
        f"(one-sided p ≥ {ALPHA}) and the slope's upper 95% bound is below chapter 05's PARITY slope"
        + ("" if flat else "; fails: " + _slope_reason(s, p_ref)),
        kind="paper",
        headline=True,
        section="Sharpness with and without a scratchpad",
    )


def below_parity(cfg: ScratchpadConfig, ratios: pd.DataFrame) -> Claim:
    """The scratchpad's mean sharpness over PARITY's at the common lengths (:func:`.tables.ratio_table`) is below 1."""
    if len(ratios):
        allr = ratios.iloc[-1]
        below = bool(allr["hi"] < 1)
        measured = (
            f"scratchpad / PARITY = {fmt(allr['ratio'])} (95% bootstrap CI {fmt(allr['lo'])}–"
            f"{fmt(allr['hi'])}; {fmt(1 / allr['ratio'])}× lower) over n = "
            f"{', '.join(str(n) for n in ratios['n'][:-1])}"
        )
        why = "" if below else "; fails: the interval reaches 1"
    else:
        below, measured, why = False, "no length with converged runs in both chapters", "; fails: nothing to compare"
    return CLAIM(
        scale=cfg.scale,
        claim="Sharpness with a scratchpad stays below PARITY's without one at the same length",
        paper_ref="HR24 §7.1–7.2, Fig. 5 vs Fig. 11",
        paper_value="PARITY's sharpness grows with n; the scratchpad's stays low",
        measured=measured,
        holds=below,
        note="check: geometric mean over common lengths of the ratio of mean sharpness, percentile bootstrap over "
        f"runs ({cfg.bootstrap} resamples); holds if the upper bound is below 1" + why,
        kind="paper",
        section="Sharpness with and without a scratchpad",
    )


def _slope_reason(s: dict, p_ref: dict) -> str:
    if not np.isfinite(s["p_up"]):
        return "too few converged runs for a regression"
    if s["p_up"] < ALPHA:
        return "sharpness rises significantly with n"
    if not np.isfinite(p_ref["slope"]):
        return "chapter 05 has too few converged PARITY runs for its slope"
    return "the interval is too wide to rule out a rise as steep as PARITY's"
