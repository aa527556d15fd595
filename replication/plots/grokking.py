"""Figures of chapter 12: training curves of grokking runs with their phases, and sparse-parity curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

#: Shading of the phases (V25 App. A.5's names).
PHASE_COLOURS = {"memorisation": "#d9d9d9", "circuit formation": "#fdd0a2", "clean-up": "#c6dbef", "grokked": "#c7e9c0"}
#: Rows of :func:`grokking_curves`: (y label, [(column, label, colour, style)], log scale).
ROWS = [
    ("accuracy", [("train_acc", "train", "#1f77b4", "-"), ("test_acc", "test", "#d62728", "-")], False),
    ("loss", [("train_loss", "train", "#1f77b4", "-"), ("test_loss", "test", "#d62728", "-")], True),
    ("sensitivity", [("sensitivity", "sensitivity (train pairs)", "#2ca02c", "-")], False),
    ("weight norm", [("weight_norm", "weight norm", "#9467bd", "-")], False),
]


def _spans(ph: pd.Series, end: float) -> list[tuple[str, float, float]]:
    """(phase, start, stop) of one run, as far as its detectors found them."""
    t = [0.0] + [ph[k] for k in ("t_sat", "t_peak", "t_grok")] + [end]
    names, out, start = list(PHASE_COLOURS), [], 0.0
    for i, name in enumerate(names):
        stop = t[i + 1]
        if stop is None or not np.isfinite(stop):
            out.append((name, start, end))
            break
        out.append((name, start, stop))
        start = stop
    return [(n, a, b) for n, a, b in out if b > a]


def grokking_curves(curves: pd.DataFrame, phases: pd.DataFrame, axes=None):
    """Accuracy, loss, sensitivity and weight norm against step, one column per seed, phases shaded.

    Each column shares its step axis across the four rows. Shading: memorisation up to training
    accuracy ≥ 99%, circuit formation up to the sensitivity peak, clean-up up to test accuracy ≥ 95%,
    then grokked; a run that never grokks is shaded as clean-up to its end and says so in its title.
    The dashed line in the accuracy row is the commutativity baseline; the dotted line in every row
    marks the sensitivity peak. Where the runs also measured a several-draw sensitivity (``sensitivity_multi``,
    the `paper` runs), it is drawn over the one-draw curve. Returns the ``(4, seeds)`` array of Axes.
    """
    seeds = sorted(curves["seed"].unique())
    if axes is None:
        width = min(3.3, 20 / len(seeds)) * len(seeds) + 0.8
        fig, axes = plt.subplots(len(ROWS), len(seeds), figsize=(width, 8), sharex="col", squeeze=False)
    for j, seed in enumerate(seeds):
        h = curves[curves["seed"] == seed].sort_values("step")
        ph = phases.set_index("seed").loc[seed]
        end = float(h["step"].max())
        for i, (ylabel, lines, logy) in enumerate(ROWS):
            ax = axes[i, j]
            for name, a, b in _spans(ph, end):
                ax.axvspan(a, b, color=PHASE_COLOURS[name], alpha=0.6, lw=0)
            for col, lab, colour, style in lines:
                ax.plot(h["step"], h[col], color=colour, ls=style, lw=1.2, label=lab)
            if ylabel == "sensitivity" and h.get("sensitivity_multi", pd.Series(dtype=float)).notna().any():
                m = h.dropna(subset=["sensitivity_multi"])
                lab = f"{int(m['multi_draws'].iloc[0])} draws, every {int(m['multi_every'].iloc[0])} steps"
                ax.plot(m["step"], m["sensitivity_multi"], color="#145a32", lw=1.0, label=lab)
            if ph["t_peak"] is not None and np.isfinite(ph["t_peak"]):
                ax.axvline(ph["t_peak"], color="k", ls=":", lw=0.8)
            if i == 0:
                ax.axhline(ph["baseline"], color="k", ls="--", lw=0.8, label="commutativity baseline")
                ax.set_ylim(-0.02, 1.02)
                grok = f"grokked at {int(ph['t_grok'])}" if ph["grokked"] else "never grokked"
                ax.set_title(f"seed {seed}: {grok}", fontsize=9)
            if logy:
                ax.set_yscale("log")
            if j == 0:
                ax.set_ylabel(ylabel)
            if i == len(ROWS) - 1:
                ax.set_xlabel("step (full batch = epoch)")
    fig = axes[0, 0].figure
    handles = [Patch(color=c, alpha=0.6, label=n) for n, c in PHASE_COLOURS.items()]
    handles += axes[0, 0].get_legend_handles_labels()[0]
    handles += axes[2, 0].get_legend_handles_labels()[0][1:]  # the several-draw sensitivity, where there is one
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return axes


def early_curves(curves: pd.DataFrame, phases: pd.DataFrame, until: int, axes=None):
    """The first ``until`` steps of every run: sensitivity (top) and training accuracy (bottom), one colour per
    seed; the early peak (triangle) and the memorisation trough (circle) of each run are marked. Returns the Axes."""
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
    colours = plt.get_cmap("tab10")
    ph = phases.set_index("seed")
    for c, (seed, h) in enumerate(curves[curves["step"] <= until].groupby("seed", sort=True)):
        axes[0].plot(h["step"], h["sensitivity"], color=colours(c % 10), lw=1.0, label=f"seed {seed}")
        for t, v, m in (("t_early", "sens_early", "^"), ("t_trough", "sens_trough", "o")):
            if ph.loc[seed, t] is not None and ph.loc[seed, t] <= until:
                axes[0].plot(ph.loc[seed, t], ph.loc[seed, v], m, color=colours(c % 10), ms=6, mec="k", mew=0.6)
        axes[1].plot(h["step"], h["train_acc"], color=colours(c % 10), lw=1.0)
    axes[0].set_ylabel("sensitivity (train pairs)")
    axes[0].set_title("▲ early peak (smoothed), ● memorisation trough (smoothed)", fontsize=9)
    axes[0].legend(fontsize=7, ncol=4)
    axes[1].set_ylabel("training accuracy")
    axes[1].set_xlabel("step")
    axes[0].figure.tight_layout()
    return axes


def grok_predictors(phases: pd.DataFrame, axes=None):
    """The grokking step of each run against the step at which sensitivity (left) and the weight norm (right)
    had covered half their typical clean-up fall; one point per grokked run, labelled by seed. Returns the Axes."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), sharey=True)
    g = phases[phases["grokked"].astype(bool)]
    for ax, col, share, label in (
        (axes[0], "t_sens_half", "sens_share", "sensitivity"),
        (axes[1], "t_norm_half", "norm_share", "weight norm"),
    ):
        ok = g[g[col].notna()]
        ax.scatter(ok[col], ok["t_grok"], color="#2ca02c" if label == "sensitivity" else "#9467bd", zorder=3)
        for r in ok.itertuples():
            ax.annotate(str(r.seed), (getattr(r, col), r.t_grok), fontsize=7, xytext=(3, 3), textcoords="offset points")
        share_txt = f"{100 * g[share].iloc[0]:.1f}%" if len(g) else ""
        ax.set_xlabel(f"step at which {label} had lost {share_txt}")
    axes[0].set_ylabel("step test accuracy ≥ 95%")
    axes[0].figure.tight_layout()
    return axes


def parity_curves(curves: pd.DataFrame, target: float, axes=None):
    """Sparse parity: test (solid) and train (dashed) accuracy, and sensitivity, one colour per seed.

    The two rows share the step axis; the sensitivity row has a line at ``target`` (``k/n``).
    Returns the two Axes.
    """
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(6.5, 5), sharex=True)
    colours = plt.get_cmap("tab10")
    for c, (seed, h) in enumerate(curves.groupby("seed", sort=True)):
        axes[0].plot(h["step"], h["test_acc"], color=colours(c), lw=1.2, label=f"seed {seed}")
        axes[0].plot(h["step"], h["train_acc"], color=colours(c), lw=0.8, ls="--")
        axes[1].plot(h["step"], h["sensitivity"], color=colours(c), lw=1.2)
    axes[0].axhline(0.5, color="k", lw=0.6, ls=":")
    axes[0].set_ylabel("accuracy")
    axes[0].set_title("test accuracy (solid) and training accuracy (dashed)", fontsize=9)
    axes[0].legend(fontsize=8)
    axes[1].axhline(target, color="k", ls="--", lw=0.8, label=f"k/n = {target:g}")
    axes[1].set_ylabel("sensitivity (bit flips)")
    axes[1].set_xlabel("step")
    axes[1].legend(fontsize=8)
    axes[0].figure.tight_layout()
    return axes
