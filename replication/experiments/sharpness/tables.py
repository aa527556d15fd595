"""Chapter 05's tables: HR24 Table 2 (the slope of sharpness on n per function) over two ranges of n, the
slope ratios with bootstrap intervals, Eq. 15 against the original code's ΔMSE, and the rank statistics of the
long-input sweep. Only *kept* runs (converged, finite) enter any of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...report.stats import stratified_spearman


#: HR24 Table 2 (App. E.2): slope, Pearson r, p-value of sharpness vs n over n = 4..30.
PAPER_TABLE2 = pd.DataFrame(
    {
        "function": ["parity", "majority", "first", "mean"],
        "paper_slope": [5.0e-2, 1.8e-3, 6.4e-5, -1.9e-5],
        "paper_r": [0.88, 0.67, 0.16, -0.07],
        "paper_p": [6e-72, 2e-36, 0.0075, 0.22],
    }
)


def regression_table(df: pd.DataFrame, y: str = "sharpness", x: str = "n", converged_only: bool = True) -> pd.DataFrame:
    """Least-squares slope of ``y`` on ``x`` per function (``scipy.stats.linregress``) over runs.

    One point per run, as in HR24 Table 2. Columns: slope, its standard error, Pearson r, the two-sided
    p-value for slope = 0, the number of runs and distinct lengths used, and the longest length used.
    A function with fewer than 3 runs or a single length gets NaN statistics.
    """
    rows = []
    for f, g in df.groupby("function", sort=False):
        if converged_only:
            g = g[g["kept"].astype(bool)]
        row = {"function": f, "runs": len(g), "lengths": g[x].nunique(), "max_n": g[x].max() if len(g) else np.nan}
        if len(g) >= 3 and g[x].nunique() >= 2:
            r = stats.linregress(g[x].astype(float), g[y].astype(float))
            row.update(slope=r.slope, slope_se=r.stderr, r=r.rvalue, p=r.pvalue, intercept=r.intercept)
        else:
            row.update(slope=np.nan, slope_se=np.nan, r=np.nan, p=np.nan, intercept=np.nan)
        rows.append(row)
    cols = ["function", "slope", "slope_se", "r", "p", "intercept", "runs", "lengths", "max_n"]
    return pd.DataFrame(rows, columns=cols)


def table2(df: pd.DataFrame) -> pd.DataFrame:
    """HR24 Table 2 (sharpness vs n over converged runs) beside the paper's values."""
    return regression_table(df).merge(PAPER_TABLE2, on="function", how="left")


def parity_range(df: pd.DataFrame) -> float:
    """The longest length at which a PARITY run was kept (NaN if none): the end of the like-with-like range."""
    kept = df[df["kept"].astype(bool) & (df["function"] == "parity")]
    return float(kept["n"].max()) if len(kept) else np.nan


def table2_ranges(df: pd.DataFrame) -> pd.DataFrame:
    """HR24 Table 2 over two ranges of n: where PARITY converged (like with like) and every length run.

    Over PARITY's range every function is fitted on the same lengths, so slopes can be compared; over the
    full range the other functions reach lengths where PARITY did not converge or was not run.
    """
    top = parity_range(df)
    parts = []
    if np.isfinite(top):
        parts.append(regression_table(df[df["n"] <= top]).assign(range=f"n ≤ {int(top)} (PARITY converged)"))
    parts.append(regression_table(df).assign(range="all lengths run"))
    out = pd.concat(parts, ignore_index=True).merge(PAPER_TABLE2, on="function", how="left")
    return out[["range"] + [c for c in out.columns if c != "range"]]


def _boot_slopes(g: pd.DataFrame, rng: np.random.Generator, n_boot: int, y: str = "sharpness") -> np.ndarray:
    """Slopes of ``y`` on n over ``n_boot`` resamples of runs, drawn with replacement within each length."""
    groups = [grp[y].to_numpy(float) for _, grp in g.groupby("n")]
    xs = np.concatenate([np.full(len(v), n, float) for (n, _), v in zip(g.groupby("n"), groups)])
    out = np.empty(n_boot)
    for b in range(n_boot):
        ys = np.concatenate([v[rng.integers(0, len(v), len(v))] for v in groups])
        out[b] = np.polyfit(xs, ys, 1)[0]
    return out


def slope_ratios(df: pd.DataFrame, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """PARITY's slope over each other function's, over PARITY's range, with a bootstrap interval over runs.

    Runs are resampled with replacement within each (function, n), so every resample keeps the design's
    lengths; the interval is the percentile interval of the resampled ratios. Absolute slopes are not
    comparable with HR24's at another width (the sharpness floor grows with width), ratios and signs are.
    """
    top = parity_range(df)
    kept = df[df["kept"].astype(bool) & (df["n"] <= top)] if np.isfinite(top) else df.iloc[:0]
    par = kept[kept["function"] == "parity"]
    paper = PAPER_TABLE2.set_index("function")["paper_slope"]
    rows = []
    rng = np.random.default_rng(seed)
    for f in [f for f in dict.fromkeys(df["function"]) if f != "parity"]:
        g = kept[kept["function"] == f]
        row = {
            "function": f,
            "range": f"n ≤ {int(top)}" if np.isfinite(top) else "none",
            "runs_parity": len(par),
            "runs_other": len(g),
            "paper_ratio": paper["parity"] / paper[f] if f in paper else np.nan,
        }
        if par["n"].nunique() >= 2 and g["n"].nunique() >= 2:
            ratio = np.polyfit(par["n"], par["sharpness"], 1)[0] / np.polyfit(g["n"], g["sharpness"], 1)[0]
            boot = _boot_slopes(par, rng, n_boot) / _boot_slopes(g, rng, n_boot)
            lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
            row.update(
                ratio=ratio,
                ci_low=lo,
                ci_high=hi,
                other_slope_sign_flips=float((np.sign(boot) != np.sign(ratio)).mean()),
            )
        else:
            row.update(ratio=np.nan, ci_low=np.nan, ci_high=np.nan, other_slope_sign_flips=np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def variants_table(df: pd.DataFrame) -> pd.DataFrame:
    """Eq. 15 against the original code's ΔMSE on the same runs: means, ratio and correlation per function."""
    rows = []
    for f, g in df[df["kept"].astype(bool)].groupby("function", sort=False):
        rows.append(
            {
                "function": f,
                "runs": len(g),
                "eq15_mean": g["sharpness"].mean(),
                "delta_mse_mean": g["delta_mse_sharpness"].mean(),
                "median_ratio": float((g["delta_mse_sharpness"] / g["sharpness"]).median()),
                "pearson_r": g[["sharpness", "delta_mse_sharpness"]].corr().iloc[0, 1] if len(g) > 2 else np.nan,
                "max_abs_diff": float((g["delta_mse_sharpness"] - g["sharpness"]).abs().max()),
            }
        )
    return pd.DataFrame(rows)


def _reg(table: pd.DataFrame, f: str) -> dict:
    """The row of ``f`` in a regression or rank table, as a dict (NaN statistics and 0 runs if absent)."""
    row = table[table["function"] == f]
    return (
        row.iloc[0].to_dict()
        if len(row)
        else {"slope": np.nan, "p": np.nan, "r": np.nan, "rho": np.nan, "runs": 0, "max_n": np.nan}
    )


def _paper(function: str) -> pd.Series:
    """HR24 Table 2's row for ``function``."""
    return PAPER_TABLE2.set_index("function").loc[function]


def rank_table(df: pd.DataFrame, y: str = "sharpness") -> pd.DataFrame:
    """Spearman rank correlation of ``y`` with n per function over converged runs (two-sided p): pooled over all
    runs (``rho``, ``p``) and within step budgets (``rho_within``, ``p_within``, over ``budgets`` budgets;
    :func:`~replication.report.stats.stratified_spearman`), which is the test to use when a function's longer
    lengths trained for more steps."""
    rows = []
    kept = df[df["kept"].astype(bool)]
    kept = kept if "steps" in kept else kept.assign(steps=0)  # frames without a budget: one budget
    for f, g in kept.groupby("function", sort=False):
        within = stratified_spearman(g, "n", y, "steps")
        row = {
            "function": f,
            "runs": len(g),
            "max_n": int(g["n"].max()) if len(g) else np.nan,
            "rho_within": within["rho"],
            "p_within": within["p"],
            "budgets": g["steps"].nunique(),
        }
        if len(g) >= 3 and g["n"].nunique() >= 2:
            r = stats.spearmanr(g["n"], g[y])
            row |= {"rho": float(r.statistic), "p": float(r.pvalue)}
        rows.append(row)
    return pd.DataFrame(rows, columns=["function", "rho", "p", "rho_within", "p_within", "budgets", "runs", "max_n"])
