"""Chapter 11's tables and sentences: the runs, the checkpoints along training, sensitivity per position."""

from __future__ import annotations

import re

import pandas as pd

from ...report.stats import COST as STATS_COST
from ...report.stats import mean_sd_table
from ...runs.store import Store
from ...runs.sweep import run_sweep
from .config import LanguageConfig, before_norm_runs
from .run import KIND, NAMES
from .measure import load_pairs, measure_language


#: The result columns of a sensitivity (``sens_train_15``, ``init_code_sens_val_4``), not the config's ``sens_*``.
SENS = re.compile(r"(init_)?(code_)?sens_(train|val)_")


def position_trend(
    pos: pd.DataFrame, min_count: int, split: str = "train", variance: float = 15.0, epoch: int | None = None
) -> pd.DataFrame:
    """Per run: Spearman ρ of sensitivity with lateness (minus the position from the end) over the positions
    with at least ``min_count`` evaluations, at ``epoch`` (None: the last); ρ = 0 where the sensitivity is
    the same at every position (no trend)."""
    from scipy import stats

    epoch = int(pos["epoch"].max()) if epoch is None else epoch
    sel = pos[
        (pos["split"] == split) & (pos["variance"] == variance) & (pos["epoch"] == epoch) & (pos["count"] >= min_count)
    ]
    out = []
    for (model, name, seed), g in sel.groupby(["model", "name", "seed"], sort=False):
        flat = g["sensitivity"].nunique() < 2
        rho = 0.0 if flat else float(stats.spearmanr(-g["from_end"], g["sensitivity"]).statistic)
        out.append(
            {
                "model": model,
                "name": name,
                "seed": seed,
                "rho": rho,
                "positions": len(g),
                "late": g.loc[g["from_end"] < 5, "sensitivity"].mean(),
                "early": g.loc[g["from_end"] >= 5, "sensitivity"].mean(),
            }
        )
    return pd.DataFrame(out)


#: Columns of the summary: what each is.
SUMMARY = {
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
    "init_sens_train_15": "sensitivity at initialisation",
    "sens_train_15": "sensitivity after training",
    "sens_train_4": "σ² = 4",
    "sens_val_15": "validation pairs",
}


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds per model of the accuracies and sensitivities (σ² = 15 and 4,
    training and validation pairs, at initialisation and after training)."""
    cols = [c for c in runs.columns if c.endswith("_acc") or SENS.match(c)]
    return mean_sd_table(runs, "name", cols, seeds=None, fill=None).T


def cost_runs(runs: pd.DataFrame, before: pd.DataFrame | None = None) -> pd.DataFrame:
    """The runs whose cost the chapter shows: ``runs``, and ``before`` (the runs of :func:`before_norm_table`) as
    models of their own ("…, noise before LN"); :data:`COST` sums their seconds per model."""
    if before is not None and len(before):
        runs = pd.concat([runs, before.assign(name=before["name"] + ", noise before LN")], ignore_index=True)
    return runs


#: The compute table's columns (:func:`replication.report.stats.compute_summary`, per model of :func:`cost_runs`):
#: training seconds in total, per run and of the longest run, and the seconds spent measuring at the checkpoints.
COST = STATS_COST | {"measure_seconds": ("measure_seconds", "sum")}


def settings_table(cfg: LanguageConfig, runs: pd.DataFrame) -> pd.DataFrame:
    """This scale's settings beside V25's (§6, App. D), with the training time the runs recorded."""
    secs = runs["train_seconds"].astype(float) + runs["measure_seconds"].astype(float)
    per = runs.assign(s=secs).groupby("model")["s"].mean()
    rows = [
        (
            "data",
            "MRPC (4,076 / 1,725 pairs), QQP (364k / 40k)",
            f"{cfg.dataset}{f' ({cfg.pairing} task)' if cfg.dataset == 'wordnet' else ''}: {int(runs['n_train'].iloc[0]):,} training / {int(runs['n_val'].iloc[0]):,} validation pairs",
        ),
        (
            "tokeniser",
            "RoBERTa's byte-level BPE (50,265 tokens), at most 128 a pair",
            f"byte-level BPE trained on the training sentences, {cfg.vocab_size:,} tokens, at most {cfg.max_len} a pair",
        ),
        (
            "models",
            "RoBERTa: width 256, 4 layers, 8 heads, feed-forward 3,072; LSTM 4 layers of 256 (the released scripts)",
            f"width {cfg.d}, {cfg.layers} layers, {cfg.heads} heads, feed-forward {cfg.ff}; LSTM {cfg.layers} layers of {cfg.d}",
        ),
        (
            "optimiser",
            "AdamW, lr 1e-4, weight decay 1e-4, dropout 0.1, batch 32",
            f"AdamW, lr {cfg.lr:g}, weight decay {cfg.weight_decay:g}, dropout {cfg.dropout:g}, batch {cfg.batch_size}",
        ),
        (
            "training",
            "100 epochs, the learning rate × 0.9 after every epoch (the released scripts)",
            f"{cfg.epochs} epochs, measured after epochs {', '.join(map(str, cfg.checkpoints))}",
        ),
        (
            "sensitivity",
            "σ² = 15 (and 4), 408 training pairs (and validation), 3 draws a token",
            f"σ² = {', '.join(f'{v:g}' for v in cfg.variances)}, the first {cfg.n_sens} training and validation pairs, "
            f"every token, {cfg.repeats} draw(s)",
        ),
        (
            "noise",
            "on the LayerNorm-ed token embedding (§6); the released code: RoBERTa's before its positions and LayerNorm",
            "the same; the same models also with the noise before the LayerNorm, at initialisation and after training"
            if cfg.before_norm
            else "the same",
        ),
        ("seeds", "not stated", f"{cfg.seeds} per model"),
        (
            "time per run",
            "about 24 GPU-hours per experiment",
            "; ".join(f"{NAMES[m]} {per[m]:.0f} s" for m in per.index)
            + f" on one CPU thread, {secs.sum() / 60:.0f} min in all",
        ),
    ]
    return pd.DataFrame(rows, columns=["setting", "paper (V25 §6, App. D)", f"this run ({cfg.scale})"]).set_index(
        "setting"
    )


def before_norm_table(
    cfg: LanguageConfig, runs: pd.DataFrame, cache: Store | None = None, progress=None
) -> pd.DataFrame:
    """The same models measured with the noise on the embedding before the LayerNorm (:func:`before_norm_runs`),
    one row per run, beside the sensitivity of :func:`run_table`'s run (``after_*`` columns); ``same_model``:
    the final training and validation accuracies agree exactly, as they must for the same trained weights."""
    if not cfg.before_norm:
        return pd.DataFrame()
    cache = cache if cache is not None else Store(scale=cfg.scale)
    b = run_sweep(before_norm_runs(cfg), measure_language, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    main = runs.set_index(["model", "seed"])
    cols = [c for c in b.columns if SENS.match(c) and not c.startswith(("code_", "init_code_"))]
    out = b[["model", "seed"] + cols].copy()
    for c in cols:
        out[f"after_{c}"] = [main.loc[(m, s), c] for m, s in zip(b["model"], b["seed"])]
    out["same_model"] = [
        main.loc[(m, s), "train_acc"] == ta and main.loc[(m, s), "val_acc"] == va
        for m, s, ta, va in zip(b["model"], b["seed"], b["train_acc"], b["val_acc"])
    ]
    return out.assign(
        name=out["model"].map(NAMES), train_seconds=b["train_seconds"], measure_seconds=b["measure_seconds"]
    )


def before_norm_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per model: sensitivity with the noise after the LayerNorm (V25) and before it, at
    initialisation and after training, σ² = 15 and 4, training pairs."""
    cols = {
        "after_init_sens_train_15": "init, after LN",
        "init_sens_train_15": "init, before LN",
        "after_sens_train_15": "trained, after LN",
        "sens_train_15": "trained, before LN",
        "after_sens_train_4": "trained, after LN (σ² = 4)",
        "sens_train_4": "trained, before LN (σ² = 4)",
    }
    g = table.groupby("name", sort=False)
    return g[list(cols)].mean().rename(columns=cols).round(4).assign(same_model=g["same_model"].all())


def label_share(cfg: LanguageConfig) -> float:
    """The share of label 1 among the training pairs the runs use."""
    train = load_pairs(cfg.dataset, cfg.data_dir, cfg.pairing)[0][: cfg.n_train or None]
    return sum(p.label for p in train) / len(train)


def describe_before(table: pd.DataFrame) -> str:
    """One generated sentence: how many times the LSTM's sensitivity each transformer has, with the noise after
    the LayerNorm (V25) and before it, after training, σ² = 15, training pairs (means over seeds)."""
    if not len(table):
        return ""
    after, before = (table.groupby("model")[c].mean() for c in ("after_sens_train_15", "sens_train_15"))

    def ratio(s, m):
        return f"{s[m] / s['lstm']:.2g}" if s.get("lstm", 0) > 0 else "undefined (the LSTM's is 0)"

    parts = [
        f"{NAMES[m]} {ratio(after, m)} times with the noise after the LayerNorm and {ratio(before, m)} times "
        f"with it before"
        for m in ("softmax", "relu")
        if m in after
    ]
    same = "in every run" if table["same_model"].all() else "NOT in every run"
    return (
        f"After training (σ² = 15, training pairs) each transformer's sensitivity is, as a multiple of the "
        f"LSTM's: {'; '.join(parts)}. The final accuracies agree with the runs above {same}."
    )


def describe(runs: pd.DataFrame) -> str:
    """Generated: the order of the three models at initialisation and after training (σ² = 15, training pairs)."""

    def order(col):
        m = runs.groupby("model")[col].mean().sort_values()
        return " < ".join(f"{NAMES[k]} {v:.3g}" for k, v in m.items())

    return (
        f"Sensitivity (σ² = 15, training pairs, means over seeds), from the least sensitive: at initialisation "
        f"{order('init_sens_train_15')}; after training {order('sens_train_15')}. V25's order after training is "
        f"RoBERTa (ReLU) < RoBERTa (softmax) < LSTM on both MRPC and QQP."
    )
