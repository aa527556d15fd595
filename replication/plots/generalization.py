"""Figures of chapter 07 (HR24 Fig. 4 and 15): sensitivity of learned functions, sharpness of refits."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from . import PALETTE

#: Colours: the random target f is the book's "random" grey; what a transformer learned is "transformer".
COLOURS = {
    "f": PALETTE["random"],
    "T1": PALETTE["transformer"],
    "fit to f": PALETTE["random"],
    "fit to T1": PALETTE["transformer"],
    "T1 model": "#8c564b",
}


def _plain_log(axis) -> None:
    """Plain numbers (0.2, 0.3, 0.5, 1, 2) on a log axis, and no labels on its minor ticks."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _ax(ax, size=(5, 3.6)):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def sensitivity_by_size(t1: pd.DataFrame, ax=None):
    """as(T1) of every fitted T1 run against its training-set size, with the mean as(f) as a line (Fig. 4).

    Args:
        t1: one row per T1 run with ``size``, ``as_T1``, ``as_f`` and ``fitted``.
    """
    ax = _ax(ax)
    ok = t1[t1["fitted"].astype(bool)]
    sizes = sorted(ok["size"].unique())
    sns.stripplot(data=ok, x="size", y="as_T1", order=sizes, color=COLOURS["T1"], alpha=0.6, jitter=0.15, ax=ax)
    sns.pointplot(
        data=ok,
        x="size",
        y="as_T1",
        order=sizes,
        color=COLOURS["T1"],
        errorbar=("ci", 95),
        markers="D",
        linestyles="-",
        ax=ax,
        label="as(T1): learned function (mean, 95% CI)",
    )
    ax.axhline(t1["as_f"].mean(), color=COLOURS["f"], ls="--", lw=1.5, label="as(f): the random function (mean)")
    ax.set_xlabel("training-set size (strings of the 1,024)" if ok["size"].max() > 64 else "training-set size")
    ax.set_ylabel("average sensitivity")
    ax.set_ylim(0, max(t1["as_f"].max(), ok["as_T1"].max() if len(ok) else 0) * 1.15)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def refit_sharpness(refit: pd.DataFrame, ax=None):
    """Cube sharpness of the models fitted to T1 (by T1's training-set size) and to f (Fig. 4), log scale."""
    ax = _ax(ax)
    ok = refit[refit["fitted"].astype(bool)].copy()
    ok["group"] = [f"T1 ({int(s)})" if t == "T1" else "f" for t, s in zip(ok["target"], ok["size"].fillna(0))]
    order = [f"T1 ({int(s)})" for s in sorted(ok.loc[ok["target"] == "T1", "size"].unique())] + ["f"]
    palette = {g: COLOURS["f"] if g == "f" else COLOURS["T1"] for g in order}
    sns.boxplot(
        data=ok,
        x="group",
        y="sharpness_cube",
        hue="group",
        order=order,
        palette=palette,
        ax=ax,
        showfliers=False,
        boxprops={"alpha": 0.35},
        legend=False,
    )
    sns.stripplot(
        data=ok,
        x="group",
        y="sharpness_cube",
        hue="group",
        order=order,
        palette=palette,
        ax=ax,
        jitter=0.15,
        legend=False,
    )
    ax.set_yscale("log")
    _plain_log(ax.yaxis)
    ax.set_xlabel("fitted on the whole cube to (T1: its training-set size)")
    ax.set_ylabel("sharpness (Eq. 15, ×4)")
    return ax


def train_vs_cube(tv: pd.DataFrame, ax=None):
    """Sharpness on a training set against sharpness on the whole cube, one point per (model, set) (Fig. 15)."""
    ax = _ax(ax, (4.6, 4.2))
    for model, g in tv.groupby("model", sort=False):
        ax.scatter(
            g["sharpness_cube"], g["sharpness_train"], s=18, alpha=0.7, color=COLOURS.get(model, "k"), label=model
        )
    vals = tv[["sharpness_cube", "sharpness_train"]].to_numpy().ravel()
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if len(vals):
        lo, hi = vals.min() / 1.3, vals.max() * 1.3
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls=":", label="equal")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log(ax.xaxis)
    _plain_log(ax.yaxis)
    ax.set_xlabel("sharpness on the whole cube")
    ax.set_ylabel("sharpness on the training set")
    ax.legend(fontsize=8)
    return ax
