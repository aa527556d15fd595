"""Figures of chapter 10: sensitivity along and at the end of training, accuracy under corruptions, sharpness.

Each function takes the tidy frames of :mod:`replication.experiments.vision_sensitivity` and optional axes and returns
them. A model keeps one colour in every figure (:data:`MODEL_COLOURS`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..report.empty import figure_when_run

#: One colour per model label (architecture, or architecture + training method).
MODEL_COLOURS = {
    "ViT": "#1f77b4",
    "CNN": "#d62728",
    "MLP": "#ff7f0e",
    "ViT + reg": "#2ca02c",
    "ViT + aug": "#9467bd",
    "CNN + reg": "#8c564b",
    "ViT, SGD": "#1f77b4",
    "ViT, Adam": "#17becf",
    "CNN + aug": "#e377c2",
    "MLP + reg": "#7f7f7f",
    "MLP + aug": "#bcbd22",
}


def _palette(models) -> dict:
    return {m: MODEL_COLOURS.get(m, "#333333") for m in models}


@figure_when_run
def training_curves(curves: pd.DataFrame, axes=None):
    """Training accuracy and sensitivity (cheap per-epoch estimate) against epoch: mean over seeds, band = range."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    order = list(dict.fromkeys(curves["model"]))
    for ax, col, label in zip(axes, ("train_acc", "sensitivity"), ("training accuracy", "sensitivity (per epoch)")):
        sns.lineplot(
            data=curves,
            x="epoch",
            y=col,
            hue="model",
            hue_order=order,
            palette=_palette(order),
            errorbar=("pi", 100),
            marker="o",
            markersize=4,
            ax=ax,
        )
        ax.set_ylabel(label)
        ax.set_xlabel("epoch")
    axes[0].get_legend().remove()
    axes[1].legend(title=None, fontsize=8)
    return axes


def final_sensitivity(runs: pd.DataFrame, ax=None):
    """End-of-training sensitivity of every run (dots) and the mean per model (bar)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    df = runs
    order = list(dict.fromkeys(df["model"]))
    pal = _palette(order)
    sns.barplot(
        data=df,
        x="model",
        y="sensitivity",
        hue="model",
        order=order,
        palette=pal,
        errorbar=None,
        alpha=0.45,
        ax=ax,
        legend=False,
    )
    sns.stripplot(
        data=df,
        x="model",
        y="sensitivity",
        hue="model",
        order=order,
        palette=pal,
        size=6,
        ax=ax,
        legend=False,
        jitter=0.1,
    )
    ax.set_xlabel("")
    ax.set_ylabel("sensitivity at the end of training")
    return ax


def corruption_accuracy(corr: pd.DataFrame, clean: pd.DataFrame, axes=None):
    """Test accuracy against severity, one panel per corruption; severity 0 is the clean accuracy on the same images.

    ``clean``: the runs table (its ``clean_subset_acc`` column: clean accuracy on the corrupted test images).
    """
    names = list(dict.fromkeys(corr["corruption"]))
    if axes is None:
        _, axes = plt.subplots(1, len(names), figsize=(2.2 * len(names), 2.8), sharey=True)
    base = clean
    order = list(dict.fromkeys(corr["model"]))
    for ax, name in zip(axes, names):
        zero = base[["model", "seed", "clean_subset_acc"]].rename(columns={"clean_subset_acc": "accuracy"})
        zero = zero.assign(severity=0)
        d = pd.concat([zero, corr[corr["corruption"] == name][["model", "seed", "accuracy", "severity"]]])
        sns.lineplot(
            data=d,
            x="severity",
            y="accuracy",
            hue="model",
            hue_order=order,
            palette=_palette(order),
            errorbar=None,
            marker="o",
            markersize=3,
            ax=ax,
            legend=ax is axes[-1],
        )
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set_xlabel("severity")
    axes[0].set_ylabel("test accuracy")
    axes[-1].legend(fontsize=7, title=None, loc="lower left")
    return axes


def sharpness(runs: pd.DataFrame, axes=None):
    """ShOp and ShPred (V25 §7.2) of every run, mean per model as a bar."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    df = runs
    order = list(dict.fromkeys(df["model"]))
    pal = _palette(order)
    for ax, col, label in zip(axes, ("shop", "shpred"), ("ShOp: mean |Δ logit|", "ShPred: changed share")):
        sns.barplot(
            data=df,
            x="model",
            y=col,
            hue="model",
            order=order,
            palette=pal,
            errorbar=None,
            alpha=0.45,
            ax=ax,
            legend=False,
        )
        sns.stripplot(data=df, x="model", y=col, hue="model", order=order, palette=pal, size=5, ax=ax, legend=False)
        ax.set_xlabel("")
        ax.set_ylabel(label)
        ax.tick_params(axis="x", labelrotation=30)
    return axes


def token_maps(tokens: pd.DataFrame, axes=None):
    """Mean sensitivity of each patch position over seeds, one heat map per model (rows and columns of the patch grid)."""
    models = list(dict.fromkeys(tokens["model"]))
    if axes is None:
        _, axes = plt.subplots(1, len(models), figsize=(2.4 * len(models), 2.6), squeeze=False)
        axes = axes[0]
    grids = {
        m: tokens[tokens["model"] == m].pivot_table(index="row", columns="col", values="sensitivity") for m in models
    }
    top = max(float(g.to_numpy().max()) for g in grids.values()) or 1.0
    for ax, m in zip(axes, models):
        sns.heatmap(
            grids[m],
            ax=ax,
            vmin=0,
            vmax=top,
            cmap="viridis",
            cbar=False,
            square=True,
            xticklabels=False,
            yticklabels=False,
        )
        ax.set_title(m, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
    bar = axes[0].figure.colorbar(axes[0].collections[0], ax=list(axes), fraction=0.02)
    bar.set_label("sensitivity of the patch")
    return axes


@figure_when_run
def matched_sensitivity(checks: pd.DataFrame, levels: list[float], ax=None):
    """V25 Fig. 13 as points: each model's full sensitivity at its first epoch at or above each matched training
    accuracy (dots: seeds; line: mean over seeds), and at the end of the budget (the rightmost group)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    df = checks[checks["level"].isin(levels) | (checks["name"] == "final")].copy()
    df["checkpoint"] = [f"≥ {lv:g}" if n != "final" else "end" for n, lv in zip(df["name"], df["level"])]
    order = [f"≥ {lv:g}" for lv in levels] + ["end"]
    models = list(dict.fromkeys(df["model"]))
    sns.pointplot(
        data=df,
        x="checkpoint",
        y="sensitivity",
        hue="model",
        order=order,
        hue_order=models,
        palette=_palette(models),
        errorbar=None,
        markers="_",
        ax=ax,
        dodge=0.3 if len(models) > 1 else False,
    )
    sns.stripplot(
        data=df,
        x="checkpoint",
        y="sensitivity",
        hue="model",
        order=order,
        hue_order=models,
        palette=_palette(models),
        dodge=len(models) > 1,
        size=5,
        ax=ax,
        legend=False,
    )
    ax.set_xlabel("training accuracy reached (first epoch), or the end of the budget")
    ax.set_ylabel("sensitivity (full measure)")
    ax.legend(title=None, fontsize=8)
    return ax


@figure_when_run
def noise_levels(levels: pd.DataFrame, whole: pd.DataFrame | None = None, axes=None, marks: dict | None = None):
    """V25 Fig. 17: token-wise sensitivity against the noise level (thin lines: seeds), and, where ``levels`` has
    them (the binary MNIST models), its part on blank and on informative patches in a second panel; with
    ``whole``, the share of changes under whole-image noise (dotted) on the same axes (x: the noise standard
    deviation, a multiple of the chapter's sigma); ``marks`` (name -> multiple) as dashed vertical lines."""
    parts = "sens_blank" in levels.columns
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.6)) if parts else plt.subplots(figsize=(6, 3.6))
    axes = list(axes) if parts else [axes]
    models = list(dict.fromkeys(levels["model"]))
    pal = _palette(models)
    for m in models:
        d = levels[levels["model"] == m]
        for _, s in d.groupby("seed"):
            axes[0].plot(s["ratio"], s["sensitivity"], color=pal[m], alpha=0.3, lw=0.8)
        mean = d.groupby("ratio")[
            ["sensitivity", "sens_blank", "sens_informative"] if parts else ["sensitivity"]
        ].mean()
        axes[0].plot(mean.index, mean["sensitivity"], color=pal[m], marker="o", label=f"{m}, token-wise")
        if parts:
            axes[1].plot(mean.index, mean["sens_blank"], color=pal[m], marker="s", ls="--", label=f"{m}, blank patches")
            axes[1].plot(
                mean.index, mean["sens_informative"], color=pal[m], marker="o", label=f"{m}, informative patches"
            )
        if whole is not None and len(whole):
            w = whole[whole["model"] == m].groupby("ratio")["sensitivity"].mean()
            axes[0].plot(w.index, w, color=pal[m], ls=":", marker=".", label=f"{m}, whole-image noise")
    for ax, title in zip(axes, ("all patches", "per patch, blank against informative")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_ylim(0, 1)
        ax.axvline(1.0, color="grey", lw=0.8, ls=":")
        for i, x in enumerate((marks or {}).values()):
            ax.axvline(x, color="black", lw=0.8, ls="--", label="V25's noise on [0, 1] pixels" if i == 0 else None)
        ax.set_xlabel("noise standard deviation / the chapter's sigma")
        ax.set_ylabel("sensitivity")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    return axes if parts else axes[0]


@figure_when_run
def sharpness_levels(sharp: pd.DataFrame, axes=None):
    """V25 Table 2 over parameter-noise levels: ShOp and ShPred against sigma (log-log; thick: mean over seeds,
    thin: seeds), one line per model and measuring mode (dashed: train mode, as V25's released code measures)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, col, name in zip(axes, ("shop", "shpred"), ("ShOp: mean |Δ logit|", "ShPred: changed share")):
        for (m, mode), d in sharp.groupby(["model", "mode"], sort=False):
            colour = MODEL_COLOURS.get(m.split(" (")[0], "#333333")
            style = "--" if mode == "train" else "-"
            dropout = " (dropout)" if "dropout" in m else ""
            for _, s in d.groupby("seed"):
                ax.plot(s["sigma"], s[col].clip(lower=1e-5), color=colour, ls=style, alpha=0.25, lw=0.8)
            mean = d.groupby("sigma")[col].mean().clip(lower=1e-5)
            ax.plot(
                mean.index,
                mean.values,
                color=colour,
                ls=style,
                lw=2,
                marker="o" if dropout else "s",
                markersize=4,
                label=f"{m.split(' (')[0]}{dropout}, {mode} mode",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parameter noise σ")
        ax.set_ylabel(name)
    axes[1].legend(fontsize=7, title=None)
    return axes


@figure_when_run
def readings_map(grid: pd.DataFrame, ax=None):
    """The readings map: one row per reading of V25's noise, one column per comparison, each cell coloured by the
    ratio of the ViT's mean sensitivity to the other model's (log scale; blue: the ViT is less sensitive) and
    marked ``*`` where the one-sided test over seeds that the ViT is below holds. ``grid``: the analysis's
    ``map_grid`` (columns reading, comparison, ratio, holds)."""
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm

    readings = list(dict.fromkeys(grid["reading"]))
    comparisons = list(dict.fromkeys(grid["comparison"]))
    ratio = grid.pivot(index="reading", columns="comparison", values="ratio").reindex(readings, columns=comparisons)
    holds = grid.pivot(index="reading", columns="comparison", values="holds").reindex(readings, columns=comparisons)
    logr = np.log2(ratio.to_numpy(float).clip(1 / 64, 64))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * len(comparisons) + 4.5, 0.38 * len(readings) + 1.8))
    lim = max(1.0, float(np.nanmax(np.abs(logr)))) if np.isfinite(logr).any() else 1.0
    im = ax.imshow(logr, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -lim, lim), aspect="auto")
    for i in range(len(readings)):
        for j in range(len(comparisons)):
            x = ratio.iat[i, j]
            if not np.isnan(x):
                h = holds.iat[i, j]
                mark = " *" if isinstance(h, (bool, np.bool_)) and h else ""
                colour = "white" if abs(logr[i, j]) > 0.6 * lim else "black"
                text = f"{x:.2f}" if np.isfinite(x) else "∞"
                ax.text(j, i, text + mark, ha="center", va="center", fontsize=7, color=colour)
    named = dict(zip(grid["reading"], grid["named"])) if "named" in grid else {}
    labels = [f"{r} ({named[r]})" if named.get(r) else r for r in readings]
    ax.set_xticks(range(len(comparisons)), comparisons, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(readings)), labels, fontsize=8)
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.03)
    bar.set_label("log₂ (ViT / other) sensitivity")
    ax.set_title("ViT-to-other sensitivity ratio under each reading (* ViT lower, one-sided p < 0.05)", fontsize=9)
    return ax
