"""Chapter 04's claims: blowup grows with n for PARITY, is larger on balanced strings for MAJORITY, and what Cor. 5 and Thm 4 ask of the constant C, with the generated summary."""

from __future__ import annotations


import numpy as np
import pandas as pd
from scipy import stats

from ...report.claims import ALPHA, Claim, claims_for, fmt
from ...report.stats import linear_fit
from ...runs.encoder.sweep import SweepConfig


CLAIM = claims_for(__name__)


def balance_test(df: pd.DataFrame, function: str = "majority") -> dict:
    """Paired one-sided Wilcoxon test over converged runs: blowup on balanced > on unbalanced strings."""
    g = df[(df["function"] == function) & df["kept"].astype(bool)]
    ratio = (g["blowup_balanced"] / g["blowup_unbalanced"]).to_numpy()
    if len(ratio) < 3:
        return {"runs": len(ratio), "median_ratio": float(np.median(ratio)) if len(ratio) else np.nan, "p": np.nan}
    p = stats.wilcoxon(np.log(ratio), alternative="greater").pvalue
    return {
        "runs": len(ratio),
        "median_ratio": float(np.median(ratio)),
        "p": float(p),
        "frac_larger": float((ratio > 1).mean()),
    }


def growth_test(df: pd.DataFrame, function: str = "parity", y: str = "blowup_sq") -> dict:
    """linregress of ``log y`` on n over converged runs of ``function``."""
    g = df[(df["function"] == function) & df["kept"].astype(bool)]
    if len(g) < 3 or g["n"].nunique() < 2:
        return {"runs": len(g), "slope": np.nan, "p": np.nan, "max_n": g["n"].max() if len(g) else np.nan}
    fit = linear_fit(g["n"], np.log(g[y].astype(float)))
    return {
        "runs": len(g),
        "slope": fit["slope"],
        "p": fit["p"],
        "r": fit["r"],
        "max_n": int(g["n"].max()),
        "ratio": float(np.exp(fit["slope"] * (g["n"].max() - g["n"].min()))),
    }


def growth_table(df: pd.DataFrame, y: str = "blowup_sq") -> pd.DataFrame:
    """:func:`growth_test` for every function: slope of ``log y`` on n, its p-value, runs, longest n."""
    rows = [{"function": f, **growth_test(df, f, y)} for f in dict.fromkeys(df["function"])]
    return pd.DataFrame(rows)


def claims(cfg: SweepConfig, df: pd.DataFrame) -> list[Claim]:
    """Chapter 04's claims, computed from the sweep frame (the Cor. 5 constants are a sanity check, apart)."""
    sc = cfg.scale
    out = []
    gt = growth_test(df)
    ok = bool(np.isfinite(gt["slope"]) and gt["slope"] > 0 and gt["p"] < ALPHA)
    if not np.isfinite(gt["slope"]):
        why = f"fails: too few converged PARITY runs ({gt['runs']}) at two or more lengths"
    elif not ok:
        why = (
            f"fails: slope {fmt(gt['slope'])} with p = {fmt(gt['p'])}; PARITY converges only up to "
            f"n = {gt['max_n']} here, so the range of n is short"
        )
    else:
        why = ""
    out.append(
        CLAIM(
            "E[Blowup²] of trained PARITY models grows with n, as Cor. 5 requires of C·E[Blowup²] when the "
            "weights (hence C) stay bounded",
            "HR24 Cor. 5, Eq. 14",
            "C·E[Blowup²] = Ω(√n / log n); C not measured",
            f"log E[Blowup²] slope {fmt(gt['slope'])}/step of n (p = {fmt(gt['p'])}, {gt['runs']} runs, n ≤ {fmt(gt['max_n'])})",
            ok,
            sc,
            "check: linregress of log E[Blowup²] on n over converged PARITY runs, slope > 0 with p < 0.05. "
            "Cor. 5 bounds the product C·E[Blowup²], and C grows with the weights: this tests the blowup half of the "
            "product only (chapter 06 shows the other half, the weight norm)" + ("; " + why if why else ""),
            kind="paper",
            section="$\\mathbb E[\\mathrm{Blowup}^2]$ against length",
        )
    )

    bt = balance_test(df)
    ok = bool(np.isfinite(bt["p"]) and bt["median_ratio"] > 1 and bt["p"] < ALPHA)
    out.append(
        CLAIM(
            "MAJORITY models have larger blowup on balanced strings than on unbalanced ones (Thm 4 localisation)",
            "HR24 §4 after Cor. 5",
            "Blowup = Ω(n^{1/4}) near balanced strings; no blowup needed elsewhere",
            f"median ratio balanced/unbalanced {fmt(bt['median_ratio'])} over {bt['runs']} runs (p = {fmt(bt['p'])})",
            ok,
            sc,
            "check: one-sided Wilcoxon signed-rank on log(ratio) across converged MAJORITY runs, p < 0.05 "
            "and median ratio > 1"
            + (
                ""
                if ok
                else "; fails: "
                + (
                    "too few converged MAJORITY runs"
                    if not np.isfinite(bt["p"])
                    else "the ratio is not significantly above 1"
                )
            ),
            kind="paper",
            section="Where MAJORITY's blowup sits",
        )
    )

    return out


def describe(df: pd.DataFrame, consts: pd.DataFrame | None = None) -> str:
    """A few sentences (Markdown) with this run's main numbers, for the notebook to display."""
    lines = []
    gt = growth_table(df).set_index("function")
    ok = df[df["kept"].astype(bool)]
    for f in gt.index:
        g = ok[ok["function"] == f]
        if g["n"].nunique() < 2:
            lines.append(f"{f.upper()}: fewer than two lengths converged, no trend to report.")
            continue
        lo, hi = g["n"].min(), g["n"].max()
        m = g.groupby("n")["blowup_sq"].mean()
        sig = "significant" if gt.loc[f, "p"] < ALPHA else "not significant"
        lines.append(
            f"{f.upper()}: E[Blowup²] {fmt(m[lo])} at n = {lo}, {fmt(m[hi])} at n = {hi} "
            f"(log-slope {fmt(gt.loc[f, 'slope'])}, p = {fmt(gt.loc[f, 'p'])}, {sig})."
        )
    if consts is not None and len(consts) and consts["c_needed"].notna().any():
        c = consts[consts["c_needed"].notna()]
        worst = c["c_needed"].max()
        lines.append(
            f"The largest C that Cor. 5 needs on any converged run is {fmt(worst)} "
            f"({'below' if worst < 1 else 'above'} one: the blowup the models have would satisfy the bound "
            f"{'with room to spare' if worst < 1 else 'only with a constant above one'}); the Eq. 8 factor alone is "
            f"between 10^{fmt(consts['log10_c_attn'].min())} and 10^{fmt(consts['log10_c_attn'].max())}."
        )
    bt = balance_test(df)
    if bt["runs"]:
        lines.append(
            f"MAJORITY: the blowup on balanced strings is a median {fmt(bt['median_ratio'])} times that on "
            f"unbalanced strings over {bt['runs']} converged runs"
            + (
                f" (larger in {fmt(100 * bt['frac_larger'])}% of them; one-sided Wilcoxon p = {fmt(bt['p'])})."
                if "frac_larger" in bt
                else "."
            )
        )
    return "\n\n".join(f"- {x}" for x in lines)
