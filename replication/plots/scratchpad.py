"""Figures of chapter 08: the scratchpad step's exact sensitivity, and sharpness with and without a scratchpad."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import NullFormatter, ScalarFormatter

from . import PALETTE

#: Colours: PARITY in one step keeps the book's PARITY colour; the scratchpad gets its own.
COLOURS = {"parity": PALETTE["parity"], "scratchpad": "#17becf"}
NAMES = {"parity": "PARITY in one step (chapter 05)", "scratchpad": "PARITY with a scratchpad"}


def sensitivity_vs_n(theory: pd.DataFrame, ax=None):
    """Exact average sensitivity of the last scratchpad step beside PARITY's ``as_n = n``.

    Args:
        theory: one row per ``n`` with ``step_as`` and ``parity_as`` (:func:`~replication.experiments.scratchpad.theory_table`).
    """
    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    ax.plot(theory["n"], theory["parity_as"], "o-", color=COLOURS["parity"], label="PARITY in one step")
    ax.plot(theory["n"], theory["step_as"], "s-", color=COLOURS["scratchpad"], label="one scratchpad step (step n)")
    ax.set_xlabel("input length n")
    ax.set_ylabel("average sensitivity (exact)")
    ax.set_ylim(0, None)
    ax.legend(fontsize=8)
    return ax


def sharpness_vs_n(curves: pd.DataFrame, ax=None, logy: bool = True):
    """Sharpness of every converged run (dots) and the mean per length (line), with and without a scratchpad.

    Args:
        curves: one row per kept run with ``n``, ``sharpness`` and ``model`` in {"scratchpad", "parity"}
            (:func:`~replication.experiments.scratchpad.curves`).
    """
    ax = ax or plt.subplots(figsize=(6.5, 4))[1]
    order = [m for m in ("parity", "scratchpad") if m in set(curves["model"])]
    if not order:
        ax.text(0.5, 0.5, "no converged run", transform=ax.transAxes, ha="center")
        return ax
    sns.lineplot(
        data=curves,
        x="n",
        y="sharpness",
        hue="model",
        hue_order=order,
        palette=COLOURS,
        marker="o",
        errorbar=None,
        ax=ax,
    )
    sns.scatterplot(
        data=curves,
        x="n",
        y="sharpness",
        hue="model",
        hue_order=order,
        palette=COLOURS,
        alpha=0.4,
        s=18,
        legend=False,
        ax=ax,
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(curves["n"].unique()))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("input length n (log scale)")
    ax.set_ylabel("sharpness (Eq. 15, ×4)")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [NAMES.get(t, t) for t in labels], fontsize=8)
    return ax


def theory_and_sharpness(theory: pd.DataFrame, curves: pd.DataFrame, axes=None):
    """Two panels: the exact sensitivities (:func:`sensitivity_vs_n`) and the measured sharpness (:func:`sharpness_vs_n`)."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 1.4]})
    sensitivity_vs_n(theory, ax=axes[0])
    axes[0].set_title("theory: one step's average sensitivity", fontsize=10)
    sharpness_vs_n(curves, ax=axes[1])
    axes[1].set_title("trained models: sharpness of converged runs", fontsize=10)
    axes[0].figure.tight_layout()
    return axes
