"""Figures of chapters 01, 02 and 03: the demo, sensitivity curves, degree profiles, LayerNorm factors.

Each figure a notebook shows is one call here; titles and layout are set inside.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import ORDER, PALETTE, label


def _ax(ax):
    return ax if ax is not None else plt.subplots(figsize=(6, 4))[1]


def sensitivity_curves(df: pd.DataFrame, ax=None, normalised: bool = False):
    """Exact as_n (markers) and closed forms (lines) against n, one colour per function."""
    ax = _ax(ax)
    y = "as_n_over_n" if normalised else "as_n"
    for f in [f for f in ORDER if f in set(df.function)]:
        d = df[df.function == f]
        closed = d["closed_form"] / d["n"] if normalised else d["closed_form"]
        ax.plot(d["n"], closed, color=PALETTE[f], lw=1.5, alpha=0.6)
        ax.scatter(d["n"], d[y], color=PALETTE[f], s=18, label=label(f), zorder=3)
    ax.set_yscale("log")
    ax.set_xlabel("input length n")
    ax.set_ylabel("$as_n(f)/n$" if normalised else "average sensitivity $as_n(f)$")
    ax.legend(title="exact (dots), closed form (lines)", fontsize=8, title_fontsize=8)
    return ax


def demo_sharpness(df: pd.DataFrame, ax=None):
    """Chapter 01: sharpness of each trained model, one bar per function (log scale)."""
    ax = ax if ax is not None else plt.subplots(figsize=(5, 3.2))[1]
    ax.bar(
        [label(f) for f in df["function"]], df["sharpness"], color=[PALETTE.get(f, "#333333") for f in df["function"]]
    )
    ax.set_yscale("log")
    ax.set_ylabel("sharpness (Eq. 15, ×4)")
    ax.set_title(f"trained transformers, n = {', '.join(str(n) for n in dict.fromkeys(df['n']))}")
    return ax


def sensitivity_curves_pair(df: pd.DataFrame):
    """Exact as_n against n (left) and as_n / n (right), one figure; returns the two Axes."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    sensitivity_curves(df, ax=axes[0])
    sensitivity_curves(df, ax=axes[1], normalised=True)
    axes[0].set_title("average sensitivity")
    axes[1].set_title("divided by n")
    fig.tight_layout()
    return axes


def degree_profiles(df: pd.DataFrame, ax=None):
    """Fourier weight d_i per degree i, one group of bars per function, at the frame's n."""
    ax = _ax(ax)
    hue_order = [f for f in ORDER if f in set(df.function)]
    sns.barplot(
        df,
        x="degree",
        y="weight",
        hue="function",
        hue_order=hue_order,
        palette={f: PALETTE[f] for f in hue_order},
        ax=ax,
    )
    ax.set_xlabel("degree |P|")
    ax.set_ylabel(r"$d_i = \sum_{|P|=i} \lambda_P^2$")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [label(x) for x in labels], fontsize=8)
    ax.set_title(f"degree profiles at n = {', '.join(str(n) for n in dict.fromkeys(df['n']))}")
    return ax


def init_sensitivity(runs: pd.DataFrame, ax=None):
    """as_n of random transformers and random functions against n (mean ± sd over seeds)."""
    ax = _ax(ax)
    tidy = pd.concat(
        [
            runs.assign(kind="random transformer (thresholded)", as_n=runs["transformer_as"]),
            runs.assign(kind="random function", as_n=runs["random_as"]),
        ]
    )
    sns.lineplot(
        tidy,
        x="n",
        y="as_n",
        hue="kind",
        marker="o",
        errorbar="sd",
        ax=ax,
        palette={"random transformer (thresholded)": PALETTE["transformer"], "random function": PALETTE["random"]},
    )
    ns = np.array(sorted(runs["n"].unique()))
    ax.plot(ns, ns / 2, ls=":", color="k", lw=1, label="n/2")
    ax.set_xlabel("input length n")
    ax.set_ylabel("average sensitivity $as_n$")
    ax.legend(fontsize=8)
    return ax


def init_profiles(prof: pd.DataFrame, n: int | None = None, ax=None):
    """Mean degree profile at initialisation vs a random function's binomial profile, at one n (default: the largest)."""
    ax = _ax(ax)
    n = int(prof["n"].max()) if n is None else n
    d = prof[prof.n == n]
    sns.barplot(
        d, x="degree", y="weight", hue="source", ax=ax, palette=[PALETTE["transformer"], "#ffbb78", PALETTE["random"]]
    )
    ax.set_title(f"n = {n}")
    ax.set_xlabel("degree |P|")
    ax.set_ylabel("share of Fourier weight")
    ax.legend(fontsize=7)
    return ax


def ln_factor_heatmap(factors: pd.DataFrame, model: str, ax=None, value: str = "N_eq5"):
    """Mean N_i^(k) per LayerNorm application (rows) and position (columns)."""
    ax = _ax(ax)
    d = factors[factors.model == model].pivot(index="application", columns="position", values=value)
    sns.heatmap(d, ax=ax, cmap="viridis", annot=d.shape[1] <= 12, fmt=".2g", cbar_kws={"label": value})
    ax.set_title(model)
    return ax


def ln_factor_heatmaps(factors: pd.DataFrame, value: str = "N_eq5"):
    """Chapter 02: one :func:`ln_factor_heatmap` per model side by side, one figure; returns the Axes."""
    models = list(dict.fromkeys(factors["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 3.2), squeeze=False)
    for ax, name in zip(axes[0], models):
        ln_factor_heatmap(factors, name, ax=ax, value=value)
    fig.tight_layout()
    return axes[0]


def blowup_by_ones(blowups: pd.DataFrame, ax=None):
    """Blowup(x) against the number of ones in x, per model."""
    ax = _ax(ax)
    sns.boxplot(blowups, x="ones", y="blowup", hue="model", ax=ax, fliersize=1)
    ax.set_yscale("log")
    ax.set_xlabel("number of ones in x")
    ax.set_ylabel("Blowup(x)")
    ax.set_title("Blowup per input, by number of ones")
    return ax
