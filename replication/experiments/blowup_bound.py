"""Chapter 04: LayerNorm blowup of trained transformers against HR24 Thm 4 and Cor. 5.

Everything here reads the runs of the shared encoder sweep (:mod:`replication.runs.encoder.sweep`)
from the results store: the same preset builds the same run configs, hence the same keys. The only new
computation is the per-string Thm 4 check on the stored weights (a few forward passes per run, stored
per run).

HR24 Cor. 5: ``C · E[Blowup(x)²] ≥ as_n(f)/sqrt(n log n) − H/n``. ``C`` (HR24 Eq. 32) is a product of
``exp(4 d max_h Σ_{i≥2} ‖K_{i,h}ᵀ Q_{i,h}‖)`` (Eq. 8) and a polynomial in the spectral norms of every
weight matrix; it is a worst-case constant with no closed value for a trained model. What can be measured:

- ``c_needed = RHS / E[Blowup²]``: the smallest ``C`` for which the measured blowup satisfies Cor. 5;
- ``log10 C_attn``: the Eq. 8 factor alone, from the trained key and query weights;
- ``c_thm4``: the smallest ``C`` for which Thm 4's per-string inequality (12) holds on every sampled string.

Blowup here is the §7.1 convention (no ``1 +`` per factor); Eq. 11's ``1 + N`` version is at least as
large, so the measured ``c_needed`` is an upper bound on the one Eq. 11 would give.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..tasks import boolean
from ..measures import sensitivity
from ..report.claims import ALPHA, Claim, claims_for, fmt
from ..report.stats import linear_fit
from ..models.encoder import EncoderConfig, HR24Encoder
from ..runs.store import Store
from ..runs.chapters import kind
from ..runs.sweep import as_store
from ..runs.encoder.sweep import EncoderRun, SweepConfig, load_models, run_configs

CLAIM = claims_for(__name__)
THM4_KIND = kind("thm4_inputs", __name__)


def cor5_rhs(as_n: float, n: int, heads: int) -> float:
    """Right-hand side of HR24 Cor. 5 (Eq. 13): ``as_n / sqrt(n log n) − H / n``."""
    return as_n / math.sqrt(n * math.log(n)) - heads / n


def log10_eq8_factor(state_dict: dict, d: int, heads: int) -> float:
    """``log10 exp(4 d max_h Σ_{layers i ≥ 2} ‖K_{i,h}ᵀ Q_{i,h}‖₂)``, HR24 Eq. 8, from trained weights.

    ``K_{i,h}ᵀ Q_{i,h}`` is the bilinear form of head ``h``'s attention logits, including PyTorch's
    ``1/sqrt(d_head)`` scaling; ``‖·‖₂`` is the spectral norm. The first layer is left out, as in Eq. 8.
    """
    dh = d // heads
    layers = sorted({int(k.split(".")[1]) for k in state_dict if k.startswith("layers.")})
    per_head = np.zeros(heads)
    for i in layers[1:]:
        w = state_dict[f"layers.{i}.self_attn.in_proj_weight"].double()
        wq, wk = w[:d], w[d : 2 * d]
        for h in range(heads):
            q, k = wq[h * dh : (h + 1) * dh], wk[h * dh : (h + 1) * dh]
            per_head[h] += float(torch.linalg.matrix_norm(k.T @ q / math.sqrt(dh), ord=2))
    return 4 * d * per_head.max() / math.log(10)


def cor5_sides(df: pd.DataFrame, heads: int = 2) -> pd.DataFrame:
    """Both sides of Cor. 5 per (function, n) over converged runs.

    Columns: ``blowup_sq_mean``/``_std`` (LHS without C), ``as_n`` (exact, of the target), ``model_as``
    (mean estimated average sensitivity of the trained models), ``rhs`` (Eq. 13 with the target's
    ``as_n``), ``c_needed = rhs / blowup_sq_mean`` (NaN where the RHS is ≤ 0: no constraint on C).
    """
    ok = df[df["kept"].astype(bool)]
    g = ok.groupby(["function", "n"], sort=False)
    agg = {"kept": ("seed", "size"), "blowup_sq_mean": ("blowup_sq", "mean"), "blowup_sq_std": ("blowup_sq", "std")}
    if "model_as" in ok:
        agg["model_as"] = ("model_as", "mean")
    out = g.agg(**agg).reset_index()
    out["as_n"] = [sensitivity.closed_form_sensitivity(f, n) for f, n in zip(out["function"], out["n"])]
    out["rhs"] = [cor5_rhs(a, n, heads) for a, n in zip(out["as_n"], out["n"])]
    out["c_needed"] = np.where(out["rhs"] > 0, out["rhs"] / out["blowup_sq_mean"], np.nan)
    return out


def constant_table(cfg: SweepConfig, df: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Per converged run: ``c_needed`` (Cor. 5) beside ``log10`` of the Eq. 8 factor of its weights."""
    runs = run_configs(cfg)
    full = load_models(runs, cache=cache)
    rows = []
    for run, res in zip(runs, full):
        if res is None or not res["converged"] or res.get("failed"):
            continue
        rhs = cor5_rhs(sensitivity.closed_form_sensitivity(run.function, run.n), run.n, run.heads)
        rows.append(
            {
                "function": run.function,
                "n": run.n,
                "seed": run.seed,
                "blowup_sq": res["blowup_sq"],
                "param_norm": res["param_norm"],
                "rhs": rhs,
                "c_needed": rhs / res["blowup_sq"] if rhs > 0 else np.nan,
                "log10_c_attn": log10_eq8_factor(res["state_dict"], run.d, run.heads),
            }
        )
    cols = ["function", "n", "seed", "blowup_sq", "param_norm", "rhs", "c_needed", "log10_c_attn"]
    return pd.DataFrame(rows, columns=cols)


def constant_summary(consts: pd.DataFrame) -> pd.DataFrame:
    """Median over kept runs, per function, of the needed C, log10 of the Eq. 8 factor and the parameter norm."""
    return consts.groupby("function", sort=False)[["c_needed", "log10_c_attn", "param_norm"]].median()


# --------------------------------------------------------------------------------------------------
# Thm 4 on single strings


@dataclass(frozen=True)
class Thm4Check:
    """Per-string Thm 4 quantities of one trained run (cache key)."""

    run: EncoderRun  # the trained run whose weights are read
    strings: int  # number of uniform strings checked


@torch.no_grad()
def thm4_strings(run: EncoderRun, state_dict: dict, strings: int) -> dict:
    """For uniform strings ``x``: ``s(T, x)`` and ``B(x)² + mean_i B(x^{⊕i})²`` (the two sides of HR24 Eq. 12)."""
    m = HR24Encoder(EncoderConfig(n=run.n, d=run.d, layers=run.layers, heads=run.heads, d_ff=run.d_ff))
    m.load_state_dict(state_dict)
    m.eval()
    g = torch.Generator().manual_seed(40_009 + run.n)
    x = boolean.random_strings(strings, run.n, generator=g)
    n = run.n
    b = m.blowup(x).double()  # (strings,)
    bn = m.blowup(boolean.flip_each_bit(x).reshape(-1, n)).double().reshape(strings, n)  # (strings, n)
    s = sensitivity.model_sensitivity(m, x).double()  # (strings,)
    ones = x.sum(-1)
    return {"s": s.numpy(), "blowup_side": (b**2 + (bn**2).mean(-1)).numpy(), "blowup": b.numpy(), "ones": ones.numpy()}


def thm4_table(
    cfg: SweepConfig, df: pd.DataFrame, strings: int = 256, cache: Store | None = None, functions=("parity", "majority")
) -> pd.DataFrame:
    """One row per (converged run, string): the two sides of Eq. 12 and ``c_thm4`` for that string.

    ``c_x = s(T, x) / (sqrt(n log n) · (B(x)² + mean_i B(x^{⊕i})²))``: Eq. 12 holds on ``x`` for every
    ``C ≥ c_x``. Computed from the cached weights (and cached itself, one entry per run).
    """
    cache = as_store(cache)
    runs = [r for r in run_configs(cfg) if r.function in functions]
    full = load_models(runs, cache=cache)
    frames = []
    for run, res in zip(runs, full):
        if res is None or not res["converged"] or res.get("failed"):
            continue
        key = Thm4Check(run, strings)
        out = cache.get_or_compute(THM4_KIND, key, lambda: thm4_strings(run, res["state_dict"], strings))
        f = pd.DataFrame(out)
        f["function"], f["n"], f["seed"] = run.function, run.n, run.seed
        f["c_x"] = f["s"] / (math.sqrt(run.n * math.log(run.n)) * f["blowup_side"])
        frames.append(f)
    cols = ["s", "blowup_side", "blowup", "ones", "function", "n", "seed", "c_x"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def prune_results(cfg: SweepConfig, store: Store, functions=("parity", "majority")) -> list[str]:
    """Remove stored per-string Thm 4 entries of runs outside ``cfg``'s sweep (after the preset changed)."""
    return store.prune(THM4_KIND, [Thm4Check(r, cfg.thm4_strings) for r in run_configs(cfg) if r.function in functions])


# --------------------------------------------------------------------------------------------------
# Claims


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


def thm4_summary(t4: pd.DataFrame) -> pd.DataFrame:
    """Per (function, n): mean ``s(T,x)``, mean of the Eq. 12 blowup side, and ``c_x``'s median, 99th percentile, max."""
    if not len(t4):
        return pd.DataFrame(
            columns=["function", "n", "strings", "mean_s", "mean_blowup_side", "c_median", "c_p99", "c_max"]
        )
    g = t4.groupby(["function", "n"], sort=False)
    return g.agg(
        strings=("s", "size"),
        mean_s=("s", "mean"),
        mean_blowup_side=("blowup_side", "mean"),
        c_median=("c_x", "median"),
        c_p99=("c_x", lambda v: float(np.quantile(v, 0.99))),
        c_max=("c_x", "max"),
    ).reset_index()


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


def sanity_checks(consts: pd.DataFrame) -> pd.DataFrame:
    """Checks that the measurements are consistent with Cor. 5, shown apart from the claims.

    The C that Cor. 5 needs (RHS / E[Blowup²]) against the Eq. 8 factor of C alone: with a margin of many
    orders of magnitude this cannot fail for any plausible model, so it tests the pipeline (signs, units,
    the right-hand side), not the paper.
    """
    c = consts[consts["c_needed"].notna()] if len(consts) else consts
    worst = float(np.log10(c["c_needed"]).max()) if len(c) else np.nan
    margin = float((c["log10_c_attn"] - np.log10(c["c_needed"])).min()) if len(c) else np.nan
    return pd.DataFrame(
        [
            {
                "check": "Cor. 5 needs a C below the Eq. 8 factor of C on every converged run with RHS > 0",
                "runs": len(c),
                "largest log10 C needed": worst,
                "smallest margin (orders of magnitude)": margin,
                "consistent": bool(len(c) and margin > 0),
            }
        ]
    )


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
