"""The 10-class comparison under one fixed epoch budget (:func:`.runs.fixed_runs`): every model trains the same
number of epochs; the models are compared at the end of the budget and at matched training accuracy (each
model's first epoch at or above common levels, as V25 Fig. 13 compares), with a levelling-off test; the
regularised ViT's ShOp / ShPred over parameter-noise levels (V25 Table 2) on all training images, and in the
released code's variant (dropout 0.1, measured in train mode)."""

from __future__ import annotations

import pandas as pd

import torch

from ...report.empty import table_when_run
from ...measures.output_sharpness import predict_in_chunks
from ...models.vision import build_model
from ...report.text import label
from ...report.stats import mean_sd_table
from ...runs.store import Store
from ...runs.stored import stored_runs, stored_sentence
from .binary_analysis import settle_table
from .measure import load_run_data, measure_vision
from .runs import KIND, fixed_runs
from .config import VisionConfig


def fixed_table(
    cfg: VisionConfig, cache: Store | None = None, configs: list | None = None
) -> tuple[pd.DataFrame, list[dict]]:
    """``(runs, results)`` of the fixed-budget protocol (or of ``configs``), computed or read."""
    store = cache if cache is not None else Store(scale=cfg.scale)
    configs = fixed_runs(cfg) if configs is None else configs
    return stored_runs(configs, measure_vision, KIND, store, ("arch", "method", "seed", "dropout", "epochs"))


def model_label(arch: str, method: str, dropout: float) -> str:
    return label(arch, method) + (f" (dropout {dropout:g})" if dropout else "")


def fixed_status(cfg: VisionConfig, runs: pd.DataFrame) -> str:
    """One sentence: how many of the protocol's runs this page reads."""
    return stored_sentence(len(runs), len(fixed_runs(cfg)), "runs of the fixed-budget protocol")


def fixed_checkpoints(runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """Every measured checkpoint of every run: the first epoch at or above each level, and ``final``."""
    rows = []
    for r, res in zip(runs.itertuples(), results):
        key = {
            "model": model_label(r.arch, r.method, r.dropout),
            "arch": r.arch,
            "method": r.method,
            "dropout": r.dropout,
            "seed": r.seed,
        }
        rows += [{**key, **c} for c in res["checkpoints"]]
    return pd.DataFrame(rows)


def reached_levels(checks: pd.DataFrame, models: list[str]) -> list[float]:
    """The levels that every stored run of every one of ``models`` reached within the budget (none for no runs)."""
    if checks.empty:
        return []
    df = checks[checks["model"].isin(models)]
    if df.empty or set(df["model"]) != set(models):
        return []
    runs = set(zip(df["model"], df["seed"]))
    lv = df[df["name"] != "final"]
    return sorted(float(level) for level, g in lv.groupby("level") if set(zip(g["model"], g["seed"])) >= runs)


#: The models of the ordering: the three architectures trained plainly, without dropout.
PLAIN = [label(a, "plain") for a in ("vit", "cnn", "mlp")]


@table_when_run
def fixed_matched_table(checks: pd.DataFrame, models: list[str] | None = None) -> pd.DataFrame:
    """Mean ± sd over seeds of epoch, training accuracy and sensitivity per (checkpoint, model) for ``models``
    (default: every model without dropout) at each level every run of the three plain models reached (the levels
    the claims compare at; a model that missed one within the budget has fewer seeds there), and at the end."""
    models = models or [m for m in dict.fromkeys(checks["model"]) if "dropout" not in m] if len(checks) else []
    levels = reached_levels(checks, PLAIN) or reached_levels(checks, models)
    keep = checks[checks["model"].isin(models) & (checks["level"].isin(levels) | (checks["name"] == "final"))].copy()
    if keep.empty:
        return pd.DataFrame()
    keep["checkpoint"] = [
        f"train acc ≥ {lv:g}" if n != "final" else "end of budget" for n, lv in zip(keep["name"], keep["level"])
    ]
    return mean_sd_table(keep, ["checkpoint", "model"], ["epoch", "train_acc", "sensitivity"])


def fixed_settle(cfg: VisionConfig, runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """The levelling-off test of every run (:func:`.binary_analysis.settle_table`, the binary experiment's: the
    change between the mean of the last ``binary_window`` epochs and of the window before, of the training accuracy
    on ``n_eval`` images and of the per-epoch sensitivity estimate, against ``binary_acc_bound`` and
    ``binary_sens_bound``), each model labelled with its method and dropout."""
    return settle_table(cfg, runs, results, lambda r: model_label(r.arch, r.method, r.dropout))


def fixed_noise_levels(runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """The final models' sensitivity at each noise level (V25 Fig. 17): one row per (run without dropout, level)."""
    rows = []
    for r, res in zip(runs.itertuples(), results):
        if not r.dropout:
            rows += [
                {
                    "model": model_label(r.arch, r.method, r.dropout),
                    "arch": r.arch,
                    "method": r.method,
                    "seed": r.seed,
                    **lv,
                }
                for lv in res.get("level_sweep", [])
            ]
    return pd.DataFrame(rows)


def sharp_long(runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """ShOp and ShPred of every run that measured them: one row per (run, sigma, mode)."""
    rows = []
    for r, res in zip(runs.itertuples(), results):
        rows += [
            {
                "model": model_label(r.arch, r.method, r.dropout),
                "arch": r.arch,
                "method": r.method,
                "dropout": r.dropout,
                "seed": r.seed,
                **s,
            }
            for s in res.get("sharp_sweep", [])
        ]
    return pd.DataFrame(rows)


@table_when_run
def sharp_table(sharp: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of ShOp and ShPred per (mode, sigma, model): V25 Table 2 over noise levels."""
    if sharp.empty:
        return pd.DataFrame()
    return mean_sd_table(sharp, ["mode", "sigma", "model"], ["shop", "shpred"], significant=True, sd_digits=2)


def fixed_curves(runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """Every epoch of every run without dropout: model, seed, epoch, train_acc, test_acc, sensitivity (estimate)."""
    frames = [
        pd.DataFrame(res["history"]).assign(model=model_label(r.arch, r.method, r.dropout), seed=r.seed)
        for r, res in zip(runs.itertuples(), results)
        if not r.dropout
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fixed_settings(cfg: VisionConfig, runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """The protocol's choices beside V25's, with what each cost in the stored runs (one thread per run)."""
    r = fixed_runs(cfg)[0] if fixed_runs(cfg) else None
    cost, size = "", ""
    if len(runs):
        g = runs.assign(
            model=[model_label(a, m, d) for a, m, d in zip(runs["arch"], runs["method"], runs["dropout"])]
        ).groupby("model", sort=False)["train_seconds"]
        cost = "; ".join(f"{m} {s:.0f} s" for m, s in g.mean().items())
        n = sum(
            v.numel() * v.element_size()
            for res in results
            for ck in res.get("weights", {}).values()
            for v in ck.values()
        )
        size = f"{n / 1e6:.1f} MB in all (float16)"
    rows = [
        (
            "budget",
            "100 epochs (Fashion-MNIST), compared at the same training accuracy (Fig. 13)",
            f"{cfg.fixed_epochs} epochs for every model; sensitivity in full at the first epoch with training accuracy "
            f"(on {r.n_eval if r else '–'} images) ≥ {', '.join(f'{x:g}' for x in cfg.fixed_levels)}, and at the end",
            f"training and per-epoch evaluation per run, mean: {cost}" if cost else "no run stored",
        ),
        (
            "levelling-off test",
            "not stated",
            f"the change between the last two windows of {cfg.binary_window} epochs, "
            f"at most {cfg.binary_acc_bound:g} (accuracy) and {cfg.binary_sens_bound:g} (sensitivity estimate)",
            "",
        ),
        (
            "ShOp / ShPred",
            "σ = 0.005, training images (Table 2: CIFAR-10)",
            f"σ ∈ {{{', '.join(f'{s:g}' for s in cfg.fixed_sharp_sigmas)}}}, all {r.n_train if r else '–'} training "
            f"images, {cfg.fixed_sharp_repeats} draws, eval mode; the regularised architecture's runs",
            "",
        ),
        (
            "released code's variant",
            "dropout 0.1 in the ViT, train mode, σ = 0.05",
            f"the same, {cfg.released_seeds} seeds of the ViT plain and regularised",
            "",
        ),
        (
            "stored weights",
            "–",
            f"the final models of the {', '.join(cfg.fixed_weights) or 'no'} runs (the level "
            "checkpoints are measured during the run and not kept)",
            size,
        ),
    ]
    return pd.DataFrame(rows, columns=["setting", "V25", "this book", "measured cost"]).set_index("setting")


def describe_fixed(checks: pd.DataFrame, sharp: pd.DataFrame) -> str:
    """What the protocol's numbers show, in words: the order at matched accuracy and at the end, how far each
    model's sensitivity moved after its last matched checkpoint, and where ShPred has power."""
    models = [m for m in PLAIN if m in set(checks.get("model", []))]
    if len(models) < 2:
        return "Too few runs of the fixed-budget protocol are stored to describe."
    levels = reached_levels(checks, models)
    at = checks[checks["model"].isin(models)]
    final = at[at["name"] == "final"].groupby("model")["sensitivity"].mean()
    parts = [f"At the end of the budget the mean sensitivity is {', '.join(f'{m} {final[m]:.4f}' for m in models)}."]
    if levels:
        top = at[at["level"] == levels[-1]].groupby("model")[["sensitivity", "epoch"]].mean()
        epochs = ", ".join(f"{m} {top.loc[m, 'epoch']:.1f}" for m in models)
        sens = ", ".join(f"{m} {top.loc[m, 'sensitivity']:.4f}" for m in models)
        moved = ", ".join(
            f"{m} {final[m] / top.loc[m, 'sensitivity']:.2f}" for m in models if top.loc[m, "sensitivity"] > 0
        )
        parts.append(
            f"At the first epoch with training accuracy ≥ {levels[-1]:g} (mean epoch {epochs}) it is {sens}; "
            f"from there to the end of the budget it changes by a factor {moved}."
        )
    order = " < ".join(final.sort_values().index)
    parts.append(f"Order at the end: {order}.")
    if len(sharp):
        d = sharp[(sharp["mode"] == "eval") & (sharp["dropout"] == 0)].groupby(["sigma", "method"])["shpred"].mean()
        parts.append(
            "Plain ViT's ShPred by σ: " + ", ".join(f"{s:g}: {v:.4f}" for (s, m), v in d.items() if m == "plain") + "."
        )
    return " ".join(parts)


@torch.no_grad()
def logit_scales(cfg: VisionConfig, runs: pd.DataFrame, results: list[dict]) -> pd.DataFrame:
    """From the stored final weights (no retraining): each ViT's mean absolute logit and median top-two margin on
    the images ShOp / ShPred perturb, so that ShOp, a change of logits, can be read against the logits' own size."""
    by_key = {(r.arch, r.method, r.seed, r.dropout): r for r in fixed_runs(cfg)}
    rows, loaded = [], {}
    for r, res in zip(runs.itertuples(), results):
        if "weights" not in res or "final" not in res["weights"]:
            continue
        run = by_key[(r.arch, r.method, r.seed, r.dropout)]
        data = loaded.setdefault((run.dataset, run.data_dir, run.n_train, run.n_test), load_run_data(run))
        model = build_model(run.arch, data.shape, run.patch, data.classes, dropout=run.dropout)
        model.load_state_dict({k: v.float() for k, v in res["weights"]["final"].items()})
        logits = predict_in_chunks(model.eval(), data.standardise(data.x_train)[: run.n_sharp])
        top = logits.topk(2, dim=-1).values
        rows.append(
            {
                "model": model_label(r.arch, r.method, r.dropout),
                "method": r.method,
                "dropout": r.dropout,
                "seed": r.seed,
                "mean_abs_logit": float(logits.abs().mean()),
                "median_margin": float((top[:, 0] - top[:, 1]).median()),
            }
        )
    return pd.DataFrame(rows)


@table_when_run
def settle_counts(settle: pd.DataFrame) -> pd.DataFrame:
    """The levelling-off test (:func:`fixed_settle`) counted per model: runs that levelled off, and runs."""
    counts = settle.groupby("model", sort=False)["levelled off"].agg(["sum", "size"])
    return counts.rename(columns={"sum": "levelled off", "size": "runs"})


@table_when_run
def scale_summary(scales: pd.DataFrame) -> pd.DataFrame:
    """Each ViT's mean absolute logit and median margin (:func:`logit_scales`): mean and sd over seeds."""
    return scales.groupby("model", sort=False)[["mean_abs_logit", "median_margin"]].agg(["mean", "std"]).round(3)
