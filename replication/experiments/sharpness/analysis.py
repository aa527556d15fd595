"""Chapter 05: sharpness of trained transformers against input length (HR24 §5, §7.2, App. E.2).

The sentences the notebook shows and its compute table's columns. The runs come from the shared encoder sweep
(:mod:`replication.runs.encoder.sweep`); the tables are in :mod:`.tables` and the claims in :mod:`.claims`. Only
*kept* runs (converged, finite) enter any of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...report.claims import ALPHA, fmt
from ...runs.encoder.config import SweepConfig
from .tables import _paper, parity_range, rank_table, table2, variants_table

#: The compute table's columns (:func:`replication.report.stats.compute_summary`, per sweep): runs computed in
#: this session, CPU minutes training and measuring, mean and longest run in seconds (training and measuring), and
#: the machines that computed them (times on different machines add up only roughly).
COST = {
    "computed_now": ("source", "computed"),
    "train_min": ("train_seconds", "sum", "min"),
    "measure_min": ("measure_seconds", "sum", "min"),
    "mean_run_s": ("train_seconds+measure_seconds", "mean"),
    "longest_run_s": ("train_seconds+measure_seconds", "max"),
    "computed_on": ("machine", "machines"),
}


def describe(df: pd.DataFrame, long_df: pd.DataFrame | None = None) -> str:
    """A few sentences (Markdown) stating this run's main numbers, for the notebook to display."""
    t2 = table2(df).set_index("function")
    ok = df[df["kept"].astype(bool)]
    lines = []
    if "parity" in t2.index:
        par = ok[ok["function"] == "parity"]
        failed = int((df["function"] == "parity").sum() - len(par))
        if len(par):
            top = int(par["n"].max())
            at_top = ok[ok["n"] == top].groupby("function")["sharpness"].mean()
            others = ", ".join(f"{f.upper()} {fmt(v)}" for f, v in at_top.items() if f != "parity")
            lines.append(
                f"PARITY converged up to n = {top} ({failed} of {int((df['function'] == 'parity').sum())} PARITY "
                f"runs did not converge and are left out). At n = {top} its mean sharpness is "
                f"{fmt(at_top.get('parity', np.nan))}" + (f", against {others}." if others else ".")
            )
        else:
            lines.append("No PARITY run converged at this scale, so PARITY has no sharpness to report.")
        rest = t2.drop(index="parity")["slope"].abs()
        if np.isfinite(t2.loc["parity", "slope"]) and len(rest) and rest.max() > 0:
            lines.append(
                f"PARITY's fitted slope is {fmt(t2.loc['parity', 'slope'])} per unit of n (p = {fmt(t2.loc['parity', 'p'])}), "
                f"{fmt(t2.loc['parity', 'slope'] / rest.max())} times the largest |slope| among the other functions "
                f"(HR24: {fmt(_paper('parity')['paper_slope'] / _paper('majority')['paper_slope'])} times)."
            )
    v = variants_table(df)
    if len(v):
        lines.append(
            f"Eq. 15 and the code's ΔMSE differ by at most {fmt(v['max_abs_diff'].max())} on any converged run "
            f"(median ratios {fmt(v['median_ratio'].min())}–{fmt(v['median_ratio'].max())})."
        )
    return " ".join(lines)


def describe_floor(df: pd.DataFrame) -> str:
    """The sharpness of the three easy functions and PARITY's distance from them, in words, from ``df``."""
    ok = df[df["kept"].astype(bool)]
    easy = ok[ok["function"] != "parity"]
    if not len(easy):
        return "No run of MAJORITY, FIRST or MEAN converged, so there is no floor to describe."
    means = easy.groupby(["function", "n"])["sharpness"].mean()
    lo, hi = means.min(), means.max()
    text = (
        f"MAJORITY, FIRST and MEAN sit on a floor: their mean sharpness per length stays between {fmt(lo)} and "
        f"{fmt(hi)} from n = {int(easy['n'].min())} to n = {int(easy['n'].max())}."
    )
    top = parity_range(df)
    if np.isfinite(top):
        par = ok[(ok["function"] == "parity") & (ok["n"] == top)]["sharpness"].mean()
        rest = easy[easy["n"] == top].groupby("function")["sharpness"].mean()
        if len(rest):
            text += (
                f" At n = {int(top)}, the longest length where PARITY converged, PARITY's minima are "
                f"{fmt(par / rest.max())}–{fmt(par / rest.min())} times sharper than theirs."
            )
    return text


def describe_long(cfg: SweepConfig, long_df: pd.DataFrame) -> str:
    """What the long-input sweep ran and what its rank statistics can resolve, from ``long_df``."""
    kept = long_df[long_df["kept"].astype(bool)]
    spread = kept.groupby(["function", "n"])["sharpness"].agg(lambda v: v.max() / v.min() if v.min() > 0 else np.nan)
    rk = rank_table(long_df).set_index("function")
    plan = long_df.groupby("function", sort=False).agg(
        seeds=("seed", "nunique"), lo=("steps", "min"), hi=("steps", "max")
    )
    said = []
    for f, r in plan.iterrows():
        steps = (
            f"{r['lo']:,} steps"
            if r["lo"] == r["hi"]
            else f"{r['lo']:,} steps below n = {cfg.majority_long_from_n} and {r['hi']:,} from there on"
        )
        said.append(f"{f.upper()} {r['seeds']} seeds, {steps}")
    parts = [
        f"This run trained, at width {cfg.long_d} on n ≤ {max(cfg.long_ns)}: {'; '.join(said)} "
        f"({len(kept)} of {len(long_df)} runs converged). Between seeds at the same length the sharpness varies "
        f"by a factor of up to {fmt(spread.max())}."
    ]
    if "majority" in rk.index and np.isfinite(rk.loc["majority", "rho_within"]):
        sig = "significant" if rk.loc["majority", "p_within"] < ALPHA else "not significant"
        parts.append(
            f"MAJORITY's Spearman correlation of sharpness with n, within step budgets, is "
            f"{fmt(rk.loc['majority', 'rho_within'])} (p = {fmt(rk.loc['majority', 'p_within'])}, {sig}); "
            f"pooled over budgets it would be {fmt(rk.loc['majority', 'rho'])}."
        )
    return " ".join(parts)
