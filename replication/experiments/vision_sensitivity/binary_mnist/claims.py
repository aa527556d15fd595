"""The claims of V25's binary MNIST experiment (App. A.1, Fig. 13): the ViT below the MLP at matched training
accuracy and at the end of the budget, judged over seeds."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ....report.claims import ALPHA, Claim, claims_for, fmt
from ....report.stats import paired_p, welch_p


from ..binary_analysis import BORDER, _trend, matched_levels
from ..config import VisionConfig

CLAIM = claims_for(__name__)

#: The section of the page that shows this module's claims (each claims row links to it).
SECTION = "V25's MNIST experiment: digits 0–4 against 5–9, ViT against MLP (App. A.1, Fig. 13)"


def _why(checks: pd.DataFrame, which: pd.DataFrame, curves: pd.DataFrame | None = None) -> str:
    """The chapter's own numbers behind a failing ViT-below-MLP claim: where the ViT's excess flips sit (blank border
    patches or inked central ones), the accuracies, and how sensitivity moved along training."""
    cols = ["border_share", "train_acc", "test_acc", "sensitivity"]
    m = which.groupby("arch")[[c for c in cols if c in which]].mean()
    if not {"vit", "mlp"} <= set(m.index):
        return ""
    nb = len(BORDER)
    # mean sensitivity of one border patch and of one central patch (the measure is a mean over the 16 patches)
    per = {
        a: (
            m.loc[a, "sensitivity"] * m.loc[a, "border_share"] * 16 / nb,
            m.loc[a, "sensitivity"] * (1 - m.loc[a, "border_share"]) * 16 / (16 - nb),
        )
        for a in ("vit", "mlp")
    }
    xb, xc = per["vit"][0] - per["mlp"][0], per["vit"][1] - per["mlp"][1]
    where = (
        "mostly on the blank border patches"
        if xb > 2 * xc
        else "mostly on the inked central patches"
        if xc > 2 * xb
        else "on blank and inked patches alike"
    )
    v, p = m.loc["vit"], m.loc["mlp"]
    acc = f"training accuracy ViT {fmt(v.train_acc)}, MLP {fmt(p.train_acc)}"
    if "test_acc" in m:
        acc += f"; test accuracy ViT {fmt(v.test_acc)}, MLP {fmt(p.test_acc)}"
    return (
        f"The ViT puts {v.border_share:.0%} of its flips on the 12 mostly blank border patches (MLP "
        f"{p.border_share:.0%}); per patch its sensitivity exceeds the MLP's by {fmt(xb)} on a border patch and "
        f"{fmt(xc)} on a central one, so the excess lies {where}. At these checkpoints: {acc}{_trend(curves)}"
    )


def matched_claim(cfg: VisionConfig, checks: pd.DataFrame, curves: pd.DataFrame | None = None) -> Claim:
    """V25 Fig. 13: at matched training accuracy the ViT is less sensitive than the MLP. Statistic: per seed, the
    ViT's minus the MLP's sensitivity averaged over the matched levels; one-sided one-sample t-test < 0."""
    lv = matched_levels(checks) if not checks.empty else []
    base = dict(
        section=SECTION,
        claim="Binary MNIST: the ViT is less sensitive than the MLP at matched training accuracy",
        paper_ref="V25 App. A.1, Fig. 13",
        paper_value="ViT below MLP at the same training accuracy",
        scale=cfg.scale,
        kind="paper",
        headline=True,
    )
    if not lv:
        return CLAIM.untestable(
            **base, why="no training-accuracy level was reached by every run of both models (or no runs are stored)"
        )
    sel = checks[checks["level"].isin(lv)]
    s = sel.pivot_table(index=["seed", "level"], columns="arch", values="sensitivity")
    d = (s["vit"] - s["mlp"]).groupby("seed").mean().dropna()
    p = paired_p(d)
    holds = bool(len(d) >= 2 and p < ALPHA)
    mean = sel.groupby("arch")["sensitivity"].mean()
    note = (
        f"check: per seed, ViT minus MLP sensitivity averaged over the levels {', '.join(f'{x:g}' for x in lv)} "
        f"(each model's first epoch at or above the level); one-sided t-test over {len(d)} seeds that the mean "
        f"is below 0, p = {fmt(p)} (holds if < {ALPHA})"
    )
    if not holds:
        note += "; fails. " + _why(checks, sel, curves)
    return CLAIM(
        **base,
        measured=f"ViT {fmt(mean['vit'])}, MLP {fmt(mean['mlp'])}; mean difference {fmt(d.mean())} ({len(d)} seeds)",
        holds=holds,
        note=note,
    )


def final_claim(cfg: VisionConfig, checks: pd.DataFrame, curves: pd.DataFrame | None = None) -> Claim:
    """At the end of the (equal) epoch budget the ViT is less sensitive than the MLP: one-sided Welch t-test."""
    base = dict(
        section=SECTION,
        claim="Binary MNIST: the ViT is less sensitive than the MLP at the end of the budget",
        paper_ref="V25 App. A.1, Fig. 13",
        paper_value="ViT below MLP at the end of training",
        scale=cfg.scale,
        kind="paper",
    )
    fin = checks[checks["name"] == "final"] if not checks.empty else checks
    v = fin[fin["arch"] == "vit"]["sensitivity"] if len(fin) else pd.Series(dtype=float)
    m = fin[fin["arch"] == "mlp"]["sensitivity"] if len(fin) else pd.Series(dtype=float)
    if len(v) < 2 or len(m) < 2:
        return CLAIM.untestable(**base, why="fewer than 2 stored runs per model at this scale")
    p = welch_p(v, m)
    holds = bool(p < ALPHA)
    note = f"check: one-sided Welch t-test over seeds, ViT < MLP, p = {fmt(p)} (holds if < {ALPHA})"
    if not holds:
        note += "; fails. " + _why(checks, fin, curves)
    return CLAIM(
        **base,
        measured=f"ViT {fmt(v.mean())} ± {fmt(v.std())}, MLP {fmt(m.mean())} ± {fmt(m.std())} "
        f"({len(v)} and {len(m)} seeds)",
        holds=holds,
        note=note,
    )


def crossing(levels: pd.DataFrame | None, which: str = "of the final models") -> str:
    """From a noise-level sweep (:func:`.posthoc_analysis.level_table`; ``which`` models it measured, in words): at
    which multiples of the chapter's sigma the ViT's mean sensitivity is below the MLP's and at which above; ""
    without a sweep."""
    if levels is None or levels.empty or not {"vit", "mlp"} <= set(levels["arch"]):
        return ""
    m = levels.groupby(["ratio", "arch"])["sensitivity"].mean().unstack()
    below = [f"{r:g}" for r, row in m.iterrows() if row["vit"] < row["mlp"]]
    above = [f"{r:g}" for r, row in m.iterrows() if row["vit"] >= row["mlp"]]
    if not below:
        return f" The noise-level sweep {which} puts the ViT at or above the MLP at every level measured."
    return (
        f" The noise-level sweep {which} (V25 Fig. 17, in the post-hoc section) puts the ViT below the MLP at "
        f"{', '.join(below)} × sigma and at or above it at {', '.join(above) or 'no level'} × sigma: the order "
        "turns with the noise level, which V25 do not state for MNIST."
    )


def binary_claims(
    cfg: VisionConfig,
    checks: pd.DataFrame,
    curves: pd.DataFrame | None = None,
    levels: pd.DataFrame | None = None,
    matched_levels_: pd.DataFrame | None = None,
) -> list[Claim]:
    """The binary experiment's claims (none when ``binary_seeds`` is 0); ``curves`` (:func:`binary_curves`) adds
    the along-training trend to a failing claim's note, ``levels`` (the final models' noise-level sweep) where the
    order turns to a failing end-of-budget claim's, and ``matched_levels_`` (the same sweep at the checkpoints at
    the highest of ``cfg.binary_levels``) to a failing matched-accuracy claim's."""
    if not cfg.binary_seeds:
        return []
    matched, final = matched_claim(cfg, checks, curves), final_claim(cfg, checks, curves)
    if not final.holds and final.testable:  # the sweep measured the final models, so it speaks to this claim
        final = dataclasses.replace(final, note=final.note + crossing(levels))
    if not matched.holds and matched.testable:
        which = f"at each model's first epoch with training accuracy ≥ {cfg.binary_levels[-1]:g}"
        matched = dataclasses.replace(matched, note=matched.note + crossing(matched_levels_, which))
    return [matched, final]
