"""Chapter 07's claims, one function each, and the rules they read (:data:`AGREE`, :data:`MIN_RANK_CORR`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, Claim, claims_for, fmt
from .config import GeneralizationConfig
from .tables import _log_ci, ratio_ci

CLAIM = claims_for(__name__)


#: Training-set and cube sharpness "agree" when their ratio's interval lies inside this band.
AGREE = (0.8, 1.25)
#: ... and they rank the models alike: Spearman correlation at least this.
MIN_RANK_CORR = 0.8


def _not_fitted(df: pd.DataFrame, what: str) -> str:
    k = int((~df["fitted"].astype(bool)).sum())
    return f"; {k} of {len(df)} {what} did not fit within the budget and are left out" if k else ""


def _fails(holds: bool) -> str:
    return "" if holds else "; fails at this scale"


def learned_less_sensitive(scale: str, t1: pd.DataFrame) -> Claim:
    """Claim 1: as(T1) < as(f), paired over the fitted T1 runs (one-sided Wilcoxon signed-rank test)."""
    ok = t1[t1["fitted"].astype(bool)]
    diff = ok["as_T1"] - ok["as_f"]
    p = float(stats.wilcoxon(diff, alternative="less").pvalue) if len(ok) > 1 and diff.any() else float("nan")
    holds = bool(len(ok) > 1 and diff.mean() < 0 and p < ALPHA)
    return CLAIM(
        claim="The function a transformer learns from part of a random f is less sensitive than f",
        paper_ref="HR24 §7.2, Fig. 4",
        paper_value="as(T1) below as(f) ≈ n/2 at every training-set size",
        measured=f"as(T1) {fmt(ok['as_T1'].mean())} vs as(f) {fmt(ok['as_f'].mean())} (mean over {len(ok)} runs; "
        f"lower in {int((diff < 0).sum())}); Wilcoxon p = {fmt(p)}",
        holds=holds,
        scale=scale,
        note=f"check: one-sided Wilcoxon signed-rank test on as(T1) − as(f), paired by run, p < {ALPHA}"
        + _not_fitted(t1, "T1 runs")
        + _fails(holds),
        kind="paper",
        headline=True,
        section="Step 1: what the transformer learns from part of $f$",
    )


def smaller_sets_less_sensitive(scale: str, t1: pd.DataFrame) -> Claim:
    """Claim 2: smaller training sets -> lower as(T1) (one-sided Spearman correlation of size and as(T1))."""
    ok = t1[t1["fitted"].astype(bool)]
    if ok["size"].nunique() > 1:
        rho, p = stats.spearmanr(ok["size"], ok["as_T1"], alternative="greater")
    else:
        rho, p = float("nan"), float("nan")
    holds = bool(rho > 0 and p < ALPHA)
    means = ", ".join(f"{s}: {fmt(v)}" for s, v in ok.groupby("size")["as_T1"].mean().items())
    return CLAIM(
        claim="With a smaller training set the learned function is less sensitive still",
        paper_ref="HR24 Fig. 4",
        paper_value="as(T1) rises with the training-set size (128 < 256 < 512)",
        measured=f"mean as(T1) by size {means}; Spearman ρ = {fmt(rho)}, p = {fmt(p)}",
        holds=holds,
        scale=scale,
        note=f"check: Spearman rank correlation of size and as(T1) over the T1 runs, one-sided p < {ALPHA}"
        + _fails(holds),
        kind="paper",
        section="Step 1: what the transformer learns from part of $f$",
    )


def flatter_on_cube(scale: str, refit: pd.DataFrame) -> Claim:
    """Claim 3: fits to T1 less sharp than fits to f on the cube (Mann–Whitney, and the ratio's interval)."""
    fitted = refit[refit["fitted"].astype(bool)]
    a, b = fitted.loc[fitted["target"] == "T1", "sharpness_cube"], fitted.loc[fitted["target"] == "f", "sharpness_cube"]
    if len(a) and len(b):
        p = float(stats.mannwhitneyu(a, b, alternative="less").pvalue)
        ratio, lo, hi = ratio_ci(a, b)
    else:
        p = ratio = lo = hi = float("nan")
    holds = bool(p < ALPHA and hi < 1)
    return CLAIM(
        claim="Models fitted to the learned function T1 sit in flatter minima than models fitted to f",
        paper_ref="HR24 §7.2, Fig. 4",
        paper_value="sharpness of fits to T1 below that of fits to f",
        measured=f"mean sharpness {fmt(a.mean())} ({len(a)} fits to T1) vs {fmt(b.mean())} ({len(b)} fits to f); "
        f"ratio {fmt(ratio)} [{fmt(lo)}, {fmt(hi)}]; Mann–Whitney p = {fmt(p)}",
        holds=holds,
        scale=scale,
        note=f"check: one-sided Mann–Whitney U test on cube sharpness p < {ALPHA}, and the 95% bootstrap interval "
        f"of the ratio of means below 1" + _not_fitted(refit, "refits") + _fails(holds),
        kind="paper",
        headline=True,
        section="Step 2: fresh models fitted to $T_1$ and to $f$",
    )


def flatter_on_training_set(scale: str, tv: pd.DataFrame) -> Claim:
    """Claim 4: claim 3 with sharpness on each training set, paired by set (one-sided Wilcoxon on log ratios)."""
    pairs = tv[tv["model"] != "T1 model"].groupby(["function", "size", "train_set", "model"])["sharpness_train"]
    wide = pairs.mean().unstack("model").dropna()
    if {"fit to T1", "fit to f"} <= set(wide.columns) and len(wide) > 1:
        d = np.log(wide["fit to T1"]) - np.log(wide["fit to f"])
        p = float(stats.wilcoxon(d, alternative="less").pvalue)
        lower, gm = int((d < 0).sum()), float(np.exp(d.mean()))
    else:
        p, lower, gm, wide = float("nan"), 0, float("nan"), wide.iloc[:0]
    holds = bool(p < ALPHA and gm < 1)
    return CLAIM(
        claim="The same holds when sharpness is measured on the training set only",
        paper_ref="HR24 App., Fig. 15",
        paper_value="fits to T1 flatter than fits to f on the training set too",
        measured=f"on {len(wide)} training sets: fit to T1 flatter on {lower}; geometric-mean ratio {fmt(gm)}; "
        f"Wilcoxon p = {fmt(p)}",
        holds=holds,
        scale=scale,
        note=f"check: per training set, log sharpness of the fits to its T1 minus that of the fits to its f, both "
        f"on that set; one-sided Wilcoxon signed-rank p < {ALPHA}" + _fails(holds),
        kind="paper",
        section="Step 3: sharpness on the training set and on the whole cube",
    )


def train_matches_cube(scale: str, tv: pd.DataFrame) -> Claim:
    """Claim 5: training-set sharpness agrees with cube sharpness, on the models fitted on the cube (Fig. 15)."""
    cube_fits = tv[tv["model"] != "T1 model"]
    if len(cube_fits) > 2:
        gm = float(np.exp(np.log(cube_fits["ratio"]).mean()))
        lo, hi = _log_ci(cube_fits["ratio"])
        rho, p = stats.spearmanr(cube_fits["sharpness_train"], cube_fits["sharpness_cube"])
    else:
        gm = lo = hi = rho = p = float("nan")
    holds = bool(AGREE[0] <= lo and hi <= AGREE[1] and rho >= MIN_RANK_CORR and p < ALPHA)
    return CLAIM(
        claim="Sharpness measured on the training set is about the sharpness on the whole cube",
        paper_ref="HR24 App., Fig. 15",
        paper_value="almost the same",
        measured=f"train / cube ratio {fmt(gm)} [{fmt(lo)}, {fmt(hi)}] (geometric mean, {len(cube_fits)} model × "
        f"set pairs); Spearman ρ = {fmt(rho)}, p = {fmt(p)}",
        holds=holds,
        scale=scale,
        note=f"check, on the models fitted on the cube: the 95% bootstrap interval of the geometric-mean ratio "
        f"inside [{AGREE[0]}, {AGREE[1]}] and Spearman ρ ≥ {MIN_RANK_CORR} (p < {ALPHA})" + _fails(holds),
        kind="paper",
        section="Step 3: sharpness on the training set and on the whole cube",
    )


def claims(cfg: GeneralizationConfig, t1: pd.DataFrame, refit: pd.DataFrame, tv: pd.DataFrame) -> list[Claim]:
    """Chapter 07's claims, each computed from the tables with the check stated in its note."""
    sc = cfg.scale
    return [
        learned_less_sensitive(sc, t1),
        smaller_sets_less_sensitive(sc, t1),
        flatter_on_cube(sc, refit),
        flatter_on_training_set(sc, tv),
        train_matches_cube(sc, tv),
    ]
