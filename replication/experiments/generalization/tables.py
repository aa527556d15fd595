"""Chapter 07's tables and prose: training-set against cube sharpness, bootstrap intervals, the summaries and the
notebook's description of a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...report.claims import fmt
from ...report.stats import bootstrap_ci
from .config import GeneralizationConfig


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
