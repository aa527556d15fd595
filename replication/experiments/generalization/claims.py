"""Chapter 07's tables, claims and prose: training-set against cube sharpness, bootstrap intervals, the
summaries, the claims (one function each) and the notebook's description of a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, Claim, claims_for, fmt
from ...report.stats import bootstrap_ci
from .runs import GeneralizationConfig

CLAIM = claims_for(__name__)


def train_vs_cube(t1: pd.DataFrame, refit: pd.DataFrame) -> pd.DataFrame:
    """Sharpness on a training set against sharpness on the whole cube, one row per (model, training set).

    ``model`` is ``T1 model`` (trained on that set), ``fit to T1`` or ``fit to f`` (fitted on the cube;
    a fit to f is measured on every training set of its function).
    """
    rows = [
        {
            "model": "T1 model",
            "function": r.function,
            "size": r.size,
            "train_set": r.train_set,
            "seed": r.train_set,
            "sharpness_train": r.sharpness_train,
            "sharpness_cube": r.sharpness_cube,
        }
        for r in t1[t1["fitted"]].itertuples()
    ]
    for r in refit[refit["fitted"]].itertuples():
        for (size, s), val in zip(r.sets, r.sharpness_sets):
            rows.append(
                {
                    "model": f"fit to {r.target}",
                    "function": r.function,
                    "size": size,
                    "train_set": s,
                    "seed": r.seed,
                    "sharpness_train": val,
                    "sharpness_cube": r.sharpness_cube,
                }
            )
    out = pd.DataFrame(
        rows, columns=["model", "function", "size", "train_set", "seed", "sharpness_train", "sharpness_cube"]
    )
    out["ratio"] = out["sharpness_train"] / out["sharpness_cube"]
    return out


# --------------------------------------------------------------------------------------------------
# Tables and claims


def _log_ci(ratios) -> tuple[float, float]:
    """95% percentile bootstrap interval of the geometric mean of ``ratios`` (2000 resamples of the logs)."""
    _, lo, hi = bootstrap_ci(np.log(ratios), alpha=0.05, reps=2000)
    return float(np.exp(lo)), float(np.exp(hi))


def ratio_ci(a, b, reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``mean(a) / mean(b)`` and its percentile bootstrap interval (95%), ``a`` and ``b`` resampled apart."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    draws = [a[rng.integers(0, len(a), len(a))].mean() / b[rng.integers(0, len(b), len(b))].mean() for _ in range(reps)]
    return float(a.mean() / b.mean()), float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def sensitivity_summary(t1: pd.DataFrame) -> pd.DataFrame:
    """Per training-set size: runs, fitted runs, mean ``as_T1`` and ``as_f``, agreement with f off the set."""
    g = t1[t1["fitted"]].groupby("size")
    out = pd.DataFrame(
        {
            "runs": t1.groupby("size").size(),
            "fitted": g.size(),
            "as_T1": g["as_T1"].mean(),
            "as_T1_sd": g["as_T1"].std(),
            "as_f": g["as_f"].mean(),
            "held_out_agreement": g["held_out_agreement"].mean(),
            "steps_to_fit": g["steps_run"].median(),
        }
    )
    return out.round(3)


def sharpness_summary(refit: pd.DataFrame) -> pd.DataFrame:
    """Per target (and T1's training-set size): fitted models, median steps, mean and sd of cube sharpness."""
    r = refit.assign(
        group=[
            f"fit to T1 ({int(s)})" if t == "T1" else "fit to f"
            for t, s in zip(refit["target"], refit["size"].fillna(0))
        ]
    )
    g = r[r["fitted"]].groupby("group")
    out = pd.DataFrame(
        {
            "models": r.groupby("group").size(),
            "fitted": g.size(),
            "as_target": g["as_target"].mean(),
            "steps_to_fit": g["steps_run"].median(),
            "sharpness_cube": g["sharpness_cube"].mean(),
            "sharpness_sd": g["sharpness_cube"].std(),
        }
    )
    return out.round(4)


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


def ratio_table(tv: pd.DataFrame) -> pd.DataFrame:
    """Per model kind: pairs, geometric-mean train/cube ratio with its bootstrap interval, Spearman ρ."""
    rows = []
    for model, g in tv.groupby("model", sort=False):
        lo, hi = _log_ci(g["ratio"])
        rho = stats.spearmanr(g["sharpness_train"], g["sharpness_cube"])[0] if len(g) > 2 else float("nan")
        rows.append(
            {
                "model": model,
                "pairs": len(g),
                "ratio": float(np.exp(np.log(g["ratio"]).mean())),
                "ratio_lo": lo,
                "ratio_hi": hi,
                "spearman": rho,
            }
        )
    return pd.DataFrame(rows).set_index("model").round(3)


def describe(cfg: GeneralizationConfig, t1: pd.DataFrame, refit: pd.DataFrame) -> str:
    """A few sentences (Markdown) with this run's numbers, for the notebook to display."""
    ok = t1[t1["fitted"].astype(bool)]
    by = ok.groupby("size")
    lines = [
        f"The {cfg.functions} random functions have as(f) between {fmt(t1['as_f'].min())} and "
        f"{fmt(t1['as_f'].max())} (n/2 = {cfg.n / 2:g})."
    ]
    lines.append(
        f"{len(ok)} of {len(t1)} T1 models fitted their training sets. The functions they learned have "
        + ", ".join(f"as(T1) {fmt(v)} at {s} strings" for s, v in by["as_T1"].mean().items())
        + "; off the training set they agree with f on "
        + ", ".join(f"{100 * v:.0f}%" for v in by["held_out_agreement"].mean())
        + " of the strings (chance: 50%)."
    )
    fitted = refit[refit["fitted"].astype(bool)]
    missed = refit[~refit["fitted"].astype(bool)]
    if len(missed):
        lines.append(
            f"{len(missed)} of {len(refit)} refits did not fit the cube within {cfg.refit_max_steps} steps "
            "and are left out: "
            + ", ".join(
                f"the fit to f{r.function}"
                if r.target == "f"
                else f"the fit to T1 of f{r.function} ({int(r.size)} strings)"
                for r in missed.itertuples()
            )
            + "."
        )
    m = fitted.groupby("target")["sharpness_cube"].mean()
    if {"T1", "f"} <= set(m.index):
        lines.append(
            f"Refitted on the whole cube, models fitted to T1 have mean sharpness {fmt(m['T1'])}, models "
            f"fitted to f {fmt(m['f'])} ({fmt(m['f'] / m['T1'])} times as sharp); they needed "
            f"{fitted.groupby('target')['steps_run'].median()['T1']:.0f} and "
            f"{fitted.groupby('target')['steps_run'].median()['f']:.0f} steps (median) to fit."
        )
    if len(fitted) > 2 and fitted["as_target"].nunique() > 1:
        rho, p = stats.spearmanr(fitted["as_target"], fitted["sharpness_cube"])
        lines.append(
            f"Across all {len(fitted)} refits, sharpness and the average sensitivity of the fitted function "
            f"have Spearman rank correlation {fmt(rho)} (p = {fmt(p)})."
        )
    return " ".join(lines)
