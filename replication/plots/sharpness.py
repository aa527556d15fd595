"""Figures of chapters 04 and 05: sharpness and blowup against input length (HR24 Fig. 1/5/6/7/8)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import ORDER, PALETTE, label


def _functions(df: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(df["function"]))
    return [f for f in ORDER if f in present] + [f for f in present if f not in ORDER]


def metric_vs_n(
    df: pd.DataFrame,
    y: str = "sharpness",
    ax=None,
    logy: bool = False,
    ylabel: str | None = None,
    title: str | None = None,
    hue_order=None,
):
    """Every kept run as a dot and the mean over seeds per (function, n) as a line, one colour per function.

    Args:
        df: one row per run with ``function``, ``n``, ``y`` and ``kept`` (only kept runs are drawn).
    """
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    ok = df[df["kept"].astype(bool)]
    order = hue_order or _functions(df)
    sns.lineplot(
        data=ok,
        x="n",
        y=y,
        hue="function",
        hue_order=order,
        palette=PALETTE,
        errorbar="sd",
        marker="o",
        ax=ax,
        legend=True,
    )
    sns.stripplot(
        data=ok,
        x="n",
        y=y,
        hue="function",
        hue_order=order,
        palette=PALETTE,
        native_scale=True,
        alpha=0.4,
        size=3,
        jitter=0.15,
        ax=ax,
        legend=False,
    )
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("input length n")
    ax.set_ylabel(ylabel or y)
    if title:
        ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [label(t) for t in labels], title=None, fontsize=8)
    return ax


def sharpness_panels(
    df: pd.DataFrame,
    y: str = "sharpness",
    sharey: bool = False,
    axes=None,
    ylabel: str = "sharpness (Eq. 15, ×4)",
    title: str | None = None,
    logx: bool = False,
):
    """One panel per function (HR24 Fig. 5 with separate y-axes, Fig. 6 with ``sharey=True``).

    Lines are means over the kept seeds at each n, the band ±1 standard deviation, dots single runs.
    ``logx``: a base-2 length axis with a tick at every length run (for lengths that double).
    Returns the array of Axes.
    """
    funcs = _functions(df)
    if axes is None:
        fig, axes = plt.subplots(1, len(funcs), figsize=(3.2 * len(funcs), 3), sharey=sharey, squeeze=False)
        axes = axes[0]
    ok = df[df["kept"].astype(bool)]
    for ax, f in zip(axes, funcs):
        g = ok[ok["function"] == f]
        if len(g):
            sns.lineplot(data=g, x="n", y=y, color=PALETTE.get(f), errorbar="sd", marker="o", ax=ax)
            ax.scatter(g["n"], g[y], color=PALETTE.get(f), alpha=0.35, s=10)
        else:
            ax.text(0.5, 0.5, "no converged run", transform=ax.transAxes, ha="center")
        ax.set_title(label(f))
        ax.set_xlabel("n")
        if logx:
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted(df["n"].unique()), [str(n) for n in sorted(df["n"].unique())])
            ax.minorticks_off()
        ax.set_ylabel(ylabel if ax is axes[0] else "")
    fig = axes[0].figure
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return np.asarray(axes)


def convergence_heatmap(counts: pd.DataFrame, ax=None):
    """Kept (converged) runs out of all runs per (function, n), as an annotated heat map.

    A cell is blank where a function was not run at that length.
    """
    ax = ax or plt.subplots(figsize=(7, 2.2))[1]
    order = _functions(counts)
    kept = counts.pivot(index="function", columns="n", values="kept").reindex(order)
    runs = counts.pivot(index="function", columns="n", values="runs").reindex(order)
    annot = pd.DataFrame(
        [
            [f"{int(k)}/{int(r)}" if pd.notna(r) else "" for k, r in zip(kr, rr)]
            for kr, rr in zip(kept.to_numpy(), runs.to_numpy())
        ],
        index=kept.index,
        columns=kept.columns,
    )
    sns.heatmap(
        kept / runs,
        annot=annot,
        fmt="",
        cmap="Greens",
        vmin=0,
        vmax=1,
        cbar=False,
        ax=ax,
        linewidths=0.5,
        linecolor="white",
    )
    ax.set_yticklabels([label(f) for f in order], rotation=0)
    ax.set_xlabel("input length n")
    ax.set_ylabel("")
    ax.set_title("converged runs kept / runs trained")
    return ax


def variant_scatter(df: pd.DataFrame, ax=None):
    """Eq. 15 sharpness against the original code's ΔMSE on the same runs, with the diagonal."""
    ax = ax or plt.subplots(figsize=(4, 4))[1]
    ok = df[df["kept"].astype(bool)]
    for f in _functions(ok):
        g = ok[ok["function"] == f]
        ax.scatter(g["sharpness"], g["delta_mse_sharpness"], s=14, alpha=0.7, color=PALETTE.get(f), label=label(f))
    lo = max(min(ok["sharpness"].min(), ok["delta_mse_sharpness"].clip(lower=1e-6).min()), 1e-6)
    hi = max(ok["sharpness"].max(), ok["delta_mse_sharpness"].max())
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--", label="equal")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Eq. 15: mean (T(θ+Δ) − T(θ))², ×4")
    ax.set_ylabel("code: E MSE(θ+Δ) − MSE(θ), ×4")
    ax.legend(fontsize=8)
    return ax


def balanced_vs_unbalanced(df: pd.DataFrame, ax=None, function: str = "majority"):
    """Mean blowup on balanced vs unbalanced strings per run (HR24 Thm 4), against n."""
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    g = df[(df["function"] == function) & df["kept"].astype(bool)]
    if not len(g):
        ax.text(0.5, 0.5, "no converged run", transform=ax.transAxes, ha="center")
        return ax
    long = pd.concat(
        [
            pd.DataFrame({"n": g["n"], "blowup": g["blowup_balanced"], "strings": "balanced |#1 − n/2| ≤ 1"}),
            pd.DataFrame({"n": g["n"], "blowup": g["blowup_unbalanced"], "strings": "unbalanced |#1 − n/2| ≥ n/4"}),
        ]
    )
    sns.lineplot(
        data=long, x="n", y="blowup", style="strings", color=PALETTE.get(function), marker="o", errorbar="sd", ax=ax
    )
    ax.set_xlabel("input length n")
    ax.set_ylabel("mean Blowup(x)")
    ax.set_title(f"{label(function)}: blowup by string balance")
    ax.legend(fontsize=8, title=None)
    return ax


def cor5_sides(sides: pd.DataFrame, ax=None):
    """Both sides of HR24 Cor. 5 per function vs n: measured E[Blowup²] (solid) and the RHS (dashed)."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for f in _functions(sides):
        g = sides[sides["function"] == f].sort_values("n")
        c = PALETTE.get(f)
        ax.plot(g["n"], g["blowup_sq_mean"], "o-", color=c, label=f"{label(f)}: E[Blowup²]")
        ax.plot(g["n"], g["rhs"], "--", color=c, alpha=0.8, label=f"{label(f)}: as_n/√(n log n) − H/n")
    ax.set_xlabel("input length n")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_ylabel("value")
    ax.legend(fontsize=7, ncol=2)
    return ax


def constants(consts: pd.DataFrame, ax=None):
    """Per converged run: log10 of the C Cor. 5 needs (dots) and of the Eq. 8 factor of C (crosses), vs n."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for f in _functions(consts):
        g = consts[consts["function"] == f]
        c = PALETTE.get(f)
        ok = g["c_needed"].notna()
        ax.scatter(g.loc[ok, "n"], np.log10(g.loc[ok, "c_needed"]), color=c, s=16, label=f"{label(f)}: C needed")
        ax.scatter(g["n"], g["log10_c_attn"], color=c, marker="x", s=16, label=f"{label(f)}: Eq. 8 factor")
    ax.set_xlabel("input length n")
    ax.set_ylabel("log10 C")
    ax.legend(fontsize=7, ncol=2)
    return ax


def thm4_scatter(t4: pd.DataFrame, ax=None, function: str | None = None):
    """Per string: the blowup side of HR24 Eq. 12 against ``s(T,x)/sqrt(n log n)`` (the other side without C)."""
    ax = ax or plt.subplots(figsize=(5, 4))[1]
    d = t4 if function is None else t4[t4["function"] == function]
    for f in _functions(d):
        g = d[d["function"] == f]
        lhs = g["s"] / np.sqrt(g["n"] * np.log(g["n"]))
        ax.scatter(g["blowup_side"], lhs, s=6, alpha=0.35, color=PALETTE.get(f), label=label(f))
    ax.set_xscale("log")
    ax.set_xlabel("Blowup(x)² + mean_i Blowup(x^⊕i)²")
    ax.set_ylabel("s(T, x) / √(n log n)")
    ax.legend(fontsize=8)
    return ax


def blowup_by_balance(t4: pd.DataFrame, function: str = "majority", ax=None):
    """Mean Blowup(x) against the imbalance ``#ones − n/2`` of x, one line per length (Thm 4 localisation)."""
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    g = t4[t4["function"] == function].assign(imbalance=lambda d: d["ones"] - d["n"] / 2)
    if not len(g):
        ax.text(0.5, 0.5, "no converged run", transform=ax.transAxes, ha="center")
        return ax
    sns.lineplot(
        data=g, x="imbalance", y="blowup", hue="n", palette="viridis", errorbar=None, marker="o", markersize=3, ax=ax
    )
    ax.axvline(0, color="black", lw=0.6, ls=":")
    ax.set_xlabel("#ones − n/2")
    ax.set_ylabel("mean Blowup(x)")
    ax.set_title(f"{label(function)}: where the blowup is")
    return ax


def balance_panels(df: pd.DataFrame, t4: pd.DataFrame, function: str = "majority"):
    """Where MAJORITY's blowup sits: balanced vs unbalanced per run (left), per string by #ones (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    balanced_vs_unbalanced(df, ax=axes[0], function=function)
    blowup_by_balance(t4, function=function, ax=axes[1])
    fig.tight_layout()
    return axes
