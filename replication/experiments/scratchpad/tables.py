"""Chapter 08's tables and generated sentences: convergence, the sharpness slope, the ratio to PARITY's.

The claims that read them are in :mod:`.claims`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...report.claims import fmt
from ...report.stats import linear_fit
from ...report.text import span
from ...runs.encoder import sweep as encoder_sweep
from .config import CONVERGED, ScratchpadConfig


#: Columns of :func:`runs_display`.
RUN_COLUMNS = [
    "n",
    "seed",
    "kept",
    "ar_acc",
    "ar_seq_acc",
    "ar_last_acc",
    "converged_step",
    "steps_run",
    "sharpness",
    "sharpness_last",
    "delta_mse_sharpness",
    "param_norm",
    "train_seconds",
]


def runs_display(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with the columns a reader needs (:data:`RUN_COLUMNS`), rounded."""
    return df[[c for c in RUN_COLUMNS if c in df]].round(5).reset_index(drop=True)


def curves(scratch: pd.DataFrame, parity: pd.DataFrame) -> pd.DataFrame:
    """Tidy frame for the figure: one row per kept run, ``model`` = scratchpad or PARITY in one step."""
    a = encoder_sweep.kept_runs(parity)[["n", "seed", "sharpness"]].assign(model="parity")
    b = scratch[scratch["kept"]][["n", "seed", "sharpness"]].assign(model="scratchpad")
    return pd.concat([b, a], ignore_index=True)


def slope_test(df: pd.DataFrame, y: str = "sharpness") -> dict:
    """Least-squares slope of ``y`` on ``n`` over kept runs: slope, 95% interval, two- and one-sided p-values."""
    fit = linear_fit(df["n"], df[y], alpha=0.05)
    return {k: fit[k] for k in ("slope", "lo", "hi", "p", "p_up", "r")} | {"runs": len(df)}


def ratio_table(scratch: pd.DataFrame, parity: pd.DataFrame, resamples: int, seed: int = 0) -> pd.DataFrame:
    """Mean scratchpad sharpness over mean PARITY sharpness at each length both have kept runs at.

    The interval is a percentile bootstrap over runs: runs are resampled with replacement within each
    (model, n), ``resamples`` times. The last row, ``n = "all"``, is the geometric mean of the per-length
    ratios, bootstrapped the same way.
    """
    a = scratch[scratch["kept"]]
    b = encoder_sweep.kept_runs(parity)
    common = sorted(set(a["n"]) & set(b["n"]))
    rng = np.random.default_rng(seed)
    rows, boots = [], []
    for n in common:
        sa, sb = a.loc[a["n"] == n, "sharpness"].to_numpy(), b.loc[b["n"] == n, "sharpness"].to_numpy()
        bs = rng.choice(sa, (resamples, len(sa))).mean(1) / rng.choice(sb, (resamples, len(sb))).mean(1)
        boots.append(np.log(bs))
        rows.append(
            {
                "n": n,
                "scratchpad_runs": len(sa),
                "parity_runs": len(sb),
                "scratchpad": sa.mean(),
                "parity": sb.mean(),
                "ratio": sa.mean() / sb.mean(),
                "lo": np.quantile(bs, 0.025),
                "hi": np.quantile(bs, 0.975),
            }
        )
    if rows:
        g = np.exp(np.mean(boots, axis=0))
        rows.append(
            {
                "n": "all",
                "scratchpad_runs": len(a[a["n"].isin(common)]),
                "parity_runs": len(b[b["n"].isin(common)]),
                "scratchpad": np.nan,
                "parity": np.nan,
                "ratio": float(np.exp(np.mean([np.log(r["ratio"]) for r in rows]))),
                "lo": np.quantile(g, 0.025),
                "hi": np.quantile(g, 0.975),
            }
        )
    return pd.DataFrame(
        rows, columns=["n", "scratchpad_runs", "parity_runs", "scratchpad", "parity", "ratio", "lo", "hi"]
    )


def convergence_table(df: pd.DataFrame) -> pd.DataFrame:
    """Runs, converged (kept) runs, and the median steps to teacher-forced accuracy > 0.999, per length."""
    g = df.groupby("n")
    return pd.DataFrame(
        {
            "runs": g.size(),
            "kept": g["kept"].sum().astype(int),
            "median_converged_step": g["converged_step"].median(),
            "median_ar_acc": g["ar_acc"].median(),
            "median_train_s": g["train_seconds"].median(),
        }
    ).reset_index()


#: The compute table's columns (:func:`replication.report.stats.compute_summary`, per length): mean training and
#: measuring seconds per run, training seconds per step, and minutes in all.
COST = {
    "train_s_mean": ("train_seconds", "mean"),
    "measure_s_mean": ("measure_seconds", "mean"),
    "seconds_per_step": ("train_seconds", "sum/steps_run"),
    "total_min": ("train_seconds+measure_seconds", "sum", "min"),
}


def describe(cfg: ScratchpadConfig, scratch: pd.DataFrame, parity: pd.DataFrame, ratios: pd.DataFrame) -> str:
    """The outcome sentences of the chapter, formatted from the runs (nothing typed in)."""
    kept = scratch[scratch["kept"]]
    ref = encoder_sweep.kept_runs(parity)
    lines = [
        f"{len(kept)} of {len(scratch)} scratchpad runs converged (autoregressive bit accuracy above "
        f"{CONVERGED} on {int(scratch['n_ar'].iloc[0])} fresh strings), at lengths {span(kept['n'])}; "
        f"teacher-forced accuracy first exceeded {CONVERGED} after {span(scratch['converged_step'])} steps."
    ]
    if len(kept):
        by_n = kept.groupby("n")["sharpness"].mean()
        lines.append(
            f"Their sharpness (mean over seeds at each length) ranges over {span(by_n)} from n = "
            f"{by_n.index.min()} to n = {by_n.index.max()}; at the last step alone (the one that writes "
            f"PARITY) it is {span(kept.groupby('n')['sharpness_last'].mean())}."
        )
    if len(ref):
        by_n = ref.groupby("n")["sharpness"].mean()
        lines.append(
            f"Chapter 05's PARITY encoder, which computes PARITY in one step, converged at lengths "
            f"{span(ref['n'])} ({len(ref)} of {len(parity)} runs) with mean sharpness {span(by_n)}."
        )
    if len(ratios):
        r = ratios.iloc[-1]
        lines.append(
            f"Over the lengths both have (n = {', '.join(str(n) for n in ratios['n'][:-1])}), the scratchpad's "
            f"sharpness is {fmt(r['ratio'])} times PARITY's (95% bootstrap interval {fmt(r['lo'])}–"
            f"{fmt(r['hi'])}), i.e. {fmt(1 / r['ratio'])} times lower."
        )
    done = scratch[scratch["steps_run"] > 0]
    if len(done):
        sec = done.groupby("n").apply(lambda g: g["train_seconds"].sum() / g["steps_run"].sum(), include_groups=False)
        lines.append(
            f"A training step took {fmt(sec.iloc[0])} s at n = {sec.index[0]} and {fmt(sec.iloc[-1])} s at "
            f"n = {sec.index[-1]} (one thread, as recorded when the runs were computed)."
        )
    return " ".join(lines)
