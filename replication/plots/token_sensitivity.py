"""Figures of chapter 09's synthetic task: training dynamics per setting (V25 Fig. 3, 12) and Table 3 against ours."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

#: One colour per token kind, in every figure of the chapter.
KIND_COLOURS = {"sparse": "#d62728", "frequent": "#1f77b4", "irrelevant": "#7f7f7f"}
#: One colour per accuracy.
ACC_COLOURS = {"train": "#2ca02c", "test": "#9467bd", "OOD test": "#ff7f0e"}
#: Rows of :func:`dynamics`: (y label, {column: (legend label, colour)}).
ROWS = [
    (
        "accuracy",
        {
            "train_acc": ("train", ACC_COLOURS["train"]),
            "test_acc": ("test", ACC_COLOURS["test"]),
            "ood_acc": ("OOD test", ACC_COLOURS["OOD test"]),
        },
    ),
    (
        "alignment of $UW_V^\\top$",
        {
            f"align_{k}": (f"$v_{{\\rm {n}}}$", KIND_COLOURS[k])
            for k, n in (("sparse", "sp"), ("frequent", "freq"), ("irrelevant", "irrel"))
        },
    ),
    ("attention mass", {f"attn_{k}": (k, c) for k, c in KIND_COLOURS.items()}),
    ("sensitivity", {"sensitivity": ("model (Def. 4.1)", "k")}),
]


def dynamics(curves: pd.DataFrame, axes=None):
    """V25 Fig. 3 / 12: one column per setting, rows accuracy, alignment, attention mass, sensitivity.

    Lines are means over seeds with a band of ± one standard deviation. In the sensitivity row the
    dashed lines are the exact sensitivities of the sparse-only (red) and frequent-only (blue)
    predictors. Returns the ``(4, settings)`` array of Axes.
    """
    settings = list(dict.fromkeys(curves["setting"]))
    if axes is None:
        _, axes = plt.subplots(
            len(ROWS), len(settings), figsize=(2.7 * len(settings) + 0.6, 9), sharex="col", squeeze=False
        )
    for j, s in enumerate(settings):
        h = curves[curves["setting"] == s]
        for i, (ylabel, cols) in enumerate(ROWS):
            ax = axes[i, j]
            for col, (lab, colour) in cols.items():
                stats = h.groupby("epoch")[col].agg(["mean", "std"]).fillna(0.0)
                ax.plot(stats.index, stats["mean"], color=colour, label=lab, lw=1.2)
                ax.fill_between(
                    stats.index,
                    stats["mean"] - stats["std"],
                    stats["mean"] + stats["std"],
                    color=colour,
                    alpha=0.2,
                    lw=0,
                )
            if ylabel == "sensitivity":
                for which in ("sparse", "frequent"):
                    ax.axhline(
                        h[f"{which}_predictor"].iloc[0],
                        color=KIND_COLOURS[which],
                        ls="--",
                        lw=0.9,
                        label=f"{which}-only predictor",
                    )
            ax.set_ylabel(ylabel if j == 0 else "")
            ax.set_xlabel("epoch" if i == len(ROWS) - 1 else "")
            if j == len(settings) - 1:
                ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
        lower = "sparse" if h["sparse_predictor"].iloc[0] < h["frequent_predictor"].iloc[0] else "frequent"
        axes[0, j].set_title(f"{s}\nM = {h['vocab'].iloc[0]}, {lower} lower", fontsize=9)
    plt.tight_layout()
    return axes


def paper_vs_ours(comparison: pd.DataFrame, rounding: float = 5e-5, ax=None):
    """Each Table 3 cell as ours minus V25's, sparse-only and frequent-only; the grey band is ± ``rounding``
    (half a unit of the printed fourth decimal), inside which a cell is reproduced."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.0))
    x = range(len(comparison))
    ax.axhspan(-rounding, rounding, color="0.85", lw=0, label="printed precision")
    ax.axhline(0, color="0.5", lw=0.8)
    for which, dx in (("sparse", -0.1), ("frequent", 0.1)):
        ax.scatter(
            [i + dx for i in x],
            comparison[f"{which}: diff"],
            color=KIND_COLOURS[which],
            s=40,
            label=f"{which}-only predictor",
        )
    ax.set_xticks(list(x), comparison.index, rotation=20)
    ax.set_xlabel("setting $(n_s, n_f, n_d, m)$")
    ax.set_ylabel("ours − V25 (sensitivity)")
    ax.legend(fontsize=8, frameon=False)
    return ax


#: One colour and marker per model of the accounts figure (the chapter's ``variants.MODELS``).
MODEL_STYLES = {
    "eq3": ("#000000", "o", "Eq. 3"),
    "fixed_readout": ("#ff7f0e", "s", "Eq. 3, read-out frozen"),
    "counts": ("#17becf", "^", "logistic regression on counts"),
}


def accounts(table: pd.DataFrame, accounts_: pd.DataFrame, axes=None):
    """Where the two accounts disagree, and what the models do: top, each run's OOD accuracy per setting and model
    (near 0: it relies on the sparse tokens, near 1: on the frequent ones), the settings in the order of
    ``accounts_`` with what each account predicts under its name; bottom, the attention per position on the sparse
    and on the frequent tokens over uniform attention's (mean over seeds) for the attention models.

    ``table``: one row per run (setting, model, seed, ood_acc, enrich_sparse, enrich_frequent); ``accounts_``:
    indexed by setting, with ``sensitivity``, ``margin`` and ``category``."""
    settings = [s for s in accounts_.index if s in set(table["setting"])]
    models = [m for m in MODEL_STYLES if m in set(table["model"])]
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(1.0 * len(settings) + 3, 6.5), sharex=True)
    ax, bx = axes
    width = 0.8 / max(len(models), 1)
    for i, m in enumerate(models):
        colour, marker, label = MODEL_STYLES[m]
        dx = (i - (len(models) - 1) / 2) * width
        t = table[table["model"] == m]
        x = [settings.index(s) + dx for s in t["setting"]]
        ax.scatter(x, t["ood_acc"], color=colour, marker=marker, s=22, alpha=0.7, label=label)
        if m == "counts":
            continue
        g = t.groupby("setting")[["enrich_sparse", "enrich_frequent"]].mean()
        xs = [settings.index(s) + dx for s in g.index]
        bx.scatter(xs, g["enrich_sparse"], color=KIND_COLOURS["sparse"], marker=marker, s=30, label=f"sparse, {label}")
        bx.scatter(
            xs, g["enrich_frequent"], color=KIND_COLOURS["frequent"], marker=marker, s=30, label=f"frequent, {label}"
        )
    for j, s in enumerate(settings):
        r = accounts_.loc[s]
        if r["category"] == "disagree":
            ax.axvspan(j - 0.45, j + 0.45, color="0.92", lw=0, zorder=0)
    ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
    ax.set_ylabel("OOD accuracy per run")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title("grey: the accounts disagree", fontsize=9)
    bx.axhline(1.0, color="0.5", lw=0.8, ls=":")
    bx.set_yscale("log")
    bx.set_ylabel("attention per position\nover uniform's")
    bx.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    labels = [
        f"{s}\nM={accounts_.loc[s, 'M']}\nS: {accounts_.loc[s, 'sensitivity']}\nmargin: {accounts_.loc[s, 'margin']}"
        for s in settings
    ]
    bx.set_xticks(range(len(settings)), labels, fontsize=6.5)
    plt.tight_layout()
    return axes
