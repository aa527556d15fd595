"""Figures of chapter 11: accuracy and sensitivity along training, and sensitivity per position from the end.

Each function takes the tidy frames of :mod:`replication.experiments.language_sensitivity` and optional axes
and returns them. A model keeps one colour in every figure (:data:`COLOURS`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..report.empty import figure_when_run

COLOURS = {"LSTM": "#d62728", "RoBERTa (softmax)": "#1f77b4", "RoBERTa (ReLU)": "#2ca02c"}


def along_training(curves: pd.DataFrame, axes=None):
    """Accuracy (training, validation) and sensitivity (σ² = 15 and 4, training and validation pairs) at
    every checkpoint: mean over seeds, band = range. Sensitivity on a log scale (zero is drawn at the floor)."""
    sens = [c for c in curves.columns if c.startswith("sens_")]
    cols = ["train_acc", "val_acc"] + sens
    if axes is None:
        _, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    axes = axes.ravel()
    order = [n for n in COLOURS if n in set(curves["name"])]
    for ax, col in zip(axes, cols):
        sns.lineplot(
            data=curves,
            x="epoch",
            y=col,
            hue="name",
            hue_order=order,
            palette=COLOURS,
            errorbar=("pi", 100),
            marker="o",
            markersize=4,
            ax=ax,
            legend=col == cols[-1],
        )
        if col.startswith("sens_"):
            _, split, var = col.split("_")
            ax.set_title(
                f"sensitivity, σ² = {var}, {'training' if split == 'train' else 'validation'} pairs", fontsize=9
            )
            ax.set_yscale("symlog", linthresh=1e-3)
            ax.set_ylim(bottom=0)
        else:
            ax.set_title(f"{'training' if col == 'train_acc' else 'validation'} accuracy", fontsize=9)
        ax.set_ylabel("")
    for ax in axes[len(cols) :]:
        ax.set_visible(False)
    plt.tight_layout()
    return axes


def by_position(
    pos: pd.DataFrame,
    epochs: tuple[int, int],
    split: str = "train",
    variance: float = 15.0,
    max_back: int = 40,
    axes=None,
):
    """Sensitivity against the position from the end (0: the last token), mean over seeds, band = range; one
    panel per epoch in ``epochs`` (e.g. initialisation and the end of training)."""
    sel = pos[
        (pos["split"] == split) & (pos["variance"] == variance) & (pos["from_end"] <= max_back) & (pos["count"] > 0)
    ]
    if axes is None:
        _, axes = plt.subplots(1, len(epochs), figsize=(6 * len(epochs), 3.6), sharey=True)
    order = [n for n in COLOURS if n in set(sel["name"])]
    for ax, epoch in zip(axes, epochs):
        sns.lineplot(
            data=sel[sel["epoch"] == epoch],
            x="from_end",
            y="sensitivity",
            hue="name",
            hue_order=order,
            palette=COLOURS,
            errorbar=("pi", 100),
            ax=ax,
            legend=epoch == epochs[-1],
        )
        ax.invert_xaxis()
        ax.set_xlabel("position from the end (0: </s>; later tokens to the right)")
        ax.set_title("at initialisation" if epoch == 0 else f"after epoch {epoch}", fontsize=9)
        ax.set_ylabel(f"sensitivity (σ² = {variance:g}, {split})")
    plt.tight_layout()
    return axes


@figure_when_run
def meaning_trials(curves: pd.DataFrame, majority: float, axes=None):
    """The meaning trials' training and validation accuracy after every epoch, one panel per trial (columns) and
    accuracy (rows), one line per model; the validation pairs' majority rate and the 0.9 the training accuracy
    must reach are dashed. Says so when no trial is stored (:func:`~replication.report.empty.figure_when_run`)."""
    trials = sorted(curves["trial"].unique())
    if axes is None:
        _, axes = plt.subplots(2, len(trials), figsize=(3.3 * len(trials), 5.5), squeeze=False)
    for j, t in enumerate(trials):
        g = curves[curves["trial"] == t]
        for i, (col, line) in enumerate((("train_acc", 0.9), ("val_acc", majority))):
            ax = axes[i, j]
            for name, m in g.groupby("model"):
                ax.plot(m["epoch"], m[col], marker="o", markersize=3, color=COLOURS.get(name), label=name)
            ax.axhline(line, ls="--", color="grey", lw=0.8)
            ax.set_ylim(0.4, 1.02)
            ax.set_title(f"trial {t}: {'training' if i == 0 else 'validation'}", fontsize=9)
            ax.set_xlabel("epoch" if i == 1 else "")
    axes[0, -1].legend(fontsize=8)
    plt.tight_layout()
    return axes
