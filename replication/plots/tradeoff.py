"""Figures of chapter 06: the norm–blowup tradeoff (HR24 Fig. 2, 9, 10) and PARITY's dynamics (Fig. 3, 12-14)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import ORDER, PALETTE, label
from .sharpness import convergence_heatmap  # noqa: F401  (chapter 06 calls it from here)

#: The dynamics panels: column of the history, y-label, log scale.
DYNAMICS_PANELS = [
    ("eval_mse", "evaluation MSE", True),
    ("sharpness", "sharpness (Eq. 15, ×4)", True),
    ("log_blowup", "log E[Blowup]", False),
    ("param_norm", "parameter norm", False),
]


def tradeoff_panels(
    runs: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    x: str = "log_mean_blowup",
    y: str = "param_norm",
    axes=None,
):
    """Parameter norm against log blowup, one panel per function, kept runs coloured by n (HR24 Fig. 2, 9).

    Args:
        runs: one row per tradeoff run with ``function``, ``n``, ``kept``, ``x`` and ``y``.
        reference: chapter 05's kept runs (fixed learning rate and weight decay), drawn as grey crosses.
    Returns the array of Axes.
    """
    ok = runs[runs["kept"].astype(bool)]
    funcs = [f for f in ORDER if f in set(runs["function"])]
    if axes is None:
        fig, axes = plt.subplots(1, len(funcs), figsize=(3.3 * len(funcs), 3.3), squeeze=False, sharey=True)
        axes = axes[0]
    ns = sorted(set(runs["n"]))
    norm = plt.Normalize(min(ns), max(ns))
    cmap = plt.get_cmap("viridis")
    for ax, f in zip(axes, funcs):
        g = ok[ok["function"] == f]
        sc = ax.scatter(g[x], g[y], c=g["n"], cmap=cmap, norm=norm, s=24, edgecolor="black", linewidth=0.4, zorder=3)
        if reference is not None:
            r = reference[reference["function"] == f]
            ax.scatter(
                r[x],
                r[y],
                color="0.55",
                marker="x",
                s=16,
                linewidth=0.9,
                zorder=2,
                label=f"chapter 05 (n = {r['n'].min()}–{r['n'].max()})" if len(r) else None,
            )
        if not len(g):
            ax.text(0.5, 0.5, "no converged run", transform=ax.transAxes, ha="center")
        ax.set_title(label(f), color=PALETTE.get(f))
        ax.set_xlabel("log E[Blowup]")
        ax.set_ylabel("parameter norm" if ax is axes[0] else "")
    fig = axes[0].figure
    fig.colorbar(sc, ax=list(axes), label="input length n", fraction=0.03, pad=0.02)
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper right")
            break
    return np.asarray(axes)


def tradeoff_by_length(runs: pd.DataFrame, x: str = "log_mean_blowup", y: str = "param_norm", axes=None):
    """One panel per length, every function in its colour (HR24 Fig. 10): where PARITY sits among the others."""
    ok = runs[runs["kept"].astype(bool)]
    ns = sorted(set(ok["n"]))
    if axes is None:
        cols = max(len(ns), 1)
        fig, axes = plt.subplots(1, cols, figsize=(2.7 * cols, 2.9), squeeze=False, sharex=True, sharey=True)
        axes = axes[0]
    if not ns:
        axes[0].text(0.5, 0.5, "no converged run", transform=axes[0].transAxes, ha="center")
        return np.asarray(axes)
    order = [f for f in ORDER if f in set(ok["function"])]
    for ax, n in zip(axes, ns):
        g = ok[ok["n"] == n]
        sns.scatterplot(
            data=g, x=x, y=y, hue="function", hue_order=order, palette=PALETTE, s=24, ax=ax, legend=ax is axes[-1]
        )
        ax.set_title(f"n = {n}")
        ax.set_xlabel("log E[Blowup]")
        ax.set_ylabel("parameter norm" if ax is axes[0] else "")
    leg = axes[-1].get_legend()
    if leg is not None:
        for t in leg.get_texts():
            t.set_text(label(t.get_text()))
        leg.set_title(None)
    axes[0].figure.tight_layout()
    return np.asarray(axes)


def dynamics_panels(curves: pd.DataFrame, events: pd.DataFrame, axes=None):
    """The four curves on one shared step axis (HR24 Fig. 3, 12), one line per run coloured by weight decay.

    Each run's plateau exit (``events["exit_step"]``) is marked with a dotted line of its colour on every
    panel. Returns the array of Axes.
    """
    if axes is None:
        fig, axes = plt.subplots(len(DYNAMICS_PANELS), 1, figsize=(7, 8.5), sharex=True)
    wds = sorted(set(curves["weight_decay"]))
    colours = dict(zip(wds, sns.color_palette("rocket_r", len(wds) + 1)[1:]))
    for ax, (col, ylabel, logy) in zip(axes, DYNAMICS_PANELS):
        for (wd, seed), h in curves.groupby(["weight_decay", "seed"], sort=True):
            ax.plot(
                h["step"],
                h[col],
                color=colours[wd],
                lw=1,
                alpha=0.85,
                label=f"weight decay {wd:g}" if seed == min(curves["seed"]) else None,
            )
        for r in events.itertuples():
            if pd.notna(r.exit_step):
                ax.axvline(r.exit_step, color=colours[r.weight_decay], ls=":", lw=0.8)
        ax.set_ylabel(ylabel)
        if logy:
            ax.set_yscale("log")
    axes[0].legend(fontsize=7, ncol=2)
    axes[-1].set_xlabel("training step (dotted: each run's plateau exit)")
    axes[0].figure.tight_layout()
    return np.asarray(axes)


def norm_vs_blowup_along_training(curves: pd.DataFrame, events: pd.DataFrame, ax=None):
    """Each run's path in (log blowup, norm) after it converged (HR24 Fig. 14), coloured by weight decay."""
    ax = ax or plt.subplots(figsize=(5, 3.8))[1]
    wds = sorted(set(curves["weight_decay"]))
    colours = dict(zip(wds, sns.color_palette("rocket_r", len(wds) + 1)[1:]))
    conv = events.set_index(["weight_decay", "seed"])["converged_step"]
    for (wd, seed), h in curves.groupby(["weight_decay", "seed"], sort=True):
        c = conv.get((wd, seed))
        if c is None or pd.isna(c):
            continue
        h = h[h["step"] >= c]
        ax.plot(
            h["log_blowup"],
            h["param_norm"],
            color=colours[wd],
            lw=1,
            label=f"weight decay {wd:g}" if seed == min(curves["seed"]) else None,
        )
        ax.scatter(h["log_blowup"].iloc[-1:], h["param_norm"].iloc[-1:], color=colours[wd], s=12)
    ax.set_xlabel("log E[Blowup]")
    ax.set_ylabel("parameter norm")
    ax.set_title("after convergence (dot: end of training)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no run converged", transform=ax.transAxes, ha="center")
    return ax


#: The long-dynamics panels: column of the history, y-label, log scale.
LONG_PANELS = [
    ("sharpness", "sharpness (Eq. 15, ×4)", True),
    ("log_blowup", "log E[Blowup]", False),
    ("param_norm", "parameter norm", False),
]


def long_dynamics_panels(curves: pd.DataFrame, easy: pd.Series | None = None, axes=None):
    """Sharpness, log blowup and norm of the long runs on one step axis (HR24 Fig. 3, 12, 13), one line per
    run coloured by weight decay; the grey band on the sharpness panel spans the easy functions' sharpness
    (``easy``: their converged tradeoff runs at the same length). Returns the array of Axes."""
    if axes is None:
        fig, axes = plt.subplots(len(LONG_PANELS), 1, figsize=(7, 7), sharex=True)
    if not len(curves):
        axes[0].text(0.5, 0.5, "no long runs at this scale", ha="center", va="center", transform=axes[0].transAxes)
        return np.asarray(axes)
    wds = sorted(set(curves["weight_decay"]))
    colours = dict(zip(wds, sns.color_palette("mako_r", len(wds) + 1)[1:]))
    for ax, (col, ylabel, logy) in zip(axes, LONG_PANELS):
        for (wd, seed), h in curves.groupby(["weight_decay", "seed"], sort=True):
            h = h[h[col].notna()]  # long runs measure these on a sparser schedule than the MSE
            ax.plot(
                h["step"],
                h[col],
                color=colours[wd],
                lw=1,
                alpha=0.85,
                label=f"weight decay {wd:g}" if seed == min(curves["seed"]) else None,
            )
        ax.set_ylabel(ylabel)
        if logy:
            ax.set_yscale("log")
    if easy is not None and len(easy):
        axes[0].axhspan(
            float(easy.min()), float(easy.max()), color="0.85", zorder=0, label="easy functions (MAJORITY, FIRST, MEAN)"
        )
    axes[0].legend(fontsize=7, ncol=2)
    axes[-1].set_xlabel("training step")
    axes[0].figure.tight_layout()
    return np.asarray(axes)
