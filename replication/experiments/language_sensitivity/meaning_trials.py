"""Chapter 11's meaning trials: what was tried so that V25's models fit WordNet's paraphrase task at V25's sizes.

Each trial is one seed of the transformer (softmax) and of the LSTM (trained in full) at the meaning runs' sizes,
with V25's optimiser or one change to it (a constant rate, a higher rate after a linear warm-up, a curriculum that
trains on WordNet's order task first), trained for
:data:`EPOCHS` epochs with the accuracies after every epoch and the sensitivity at the two ends only. They are stored
runs of the chapter's kind (``python -m replication.make --chapter 11 --part meaning_trials``); the page reads them.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from ...checks import check_int
from ...report.claims import ALPHA, Claim, claims_for, fmt
from ...runs.store import Store
from ...runs.sweep import run_key, run_sweep
from .config import LanguageConfig, language_runs
from .run import KIND, NAMES, LanguageRun
from .meaning import LEARNED_TRAIN, learned
from .measure import load_pairs, measure_language

CLAIM = claims_for(__name__)
#: The notebook's section that shows the trials (each claim of this module links to it).
SECTION = "What was tried so that the models fit"

#: Epochs of each trial (`cpu`; at `ci` the meaning preset's own).
EPOCHS = 15
#: Each trial: (what it changes from V25's optimiser, the fields of the run it sets).
TRIALS = (
    ("V25's optimiser: AdamW, lr 1e-4, × 0.9 after every epoch", dict()),
    ("lr 1e-4 held constant (no decay)", dict(lr_decay=1.0)),
    ("lr 3e-4 after one epoch of linear warm-up, × 0.9 after every epoch", dict(lr=3e-4, warmup=1)),
    ("lr 1e-3 after one epoch of linear warm-up, × 0.9 after every epoch", dict(lr=1e-3, warmup=1)),
    ("a curriculum: 5 epochs of the order task first, then V25's optimiser", dict(curriculum=5)),
)
#: The models of each trial.
MODELS = ("softmax", "lstm")


def trial_runs(cfg: LanguageConfig, trials=TRIALS) -> list[tuple[int, str, LanguageRun]]:
    """``(trial, label, run)`` for every trial and model: the first seed of the meaning runs of ``cfg`` (the LSTM
    trained in full), with the trial's changes, accuracies after every epoch and the sensitivity (σ² = 15 only, on
    100 training pairs) at initialisation and at the end. `cpu` trains :data:`EPOCHS` epochs."""
    m = cfg.meaning
    if m is None:
        return []
    epochs = EPOCHS if cfg.scale != "ci" else m.epochs
    base = [r for r in language_runs(m) if r.seed == 0 and r.model in MODELS and r.trains == "all"]
    fixed = dict(epochs=epochs, checkpoints=tuple(range(epochs + 1)), sens_ends=True, code_path=False)
    fixed |= dict(variances=(15.0,), n_sens=min(100, m.n_sens), sens_splits=("train",))
    out = []
    for i, (label, changes) in enumerate(trials):
        unknown = set(changes) - {f.name for f in dataclasses.fields(LanguageRun)}
        if unknown:
            raise ValueError(f"trials: trial {i} changes fields a run does not have: {sorted(unknown)}")
        check_int("warmup", changes.get("warmup", 0), 0, epochs)
        check_int("curriculum", changes.get("curriculum", 0), 0, 100)
        if changes.get("curriculum") and (m.dataset != "wordnet" or m.pairing == "order"):
            raise ValueError(f"trials: a curriculum starts from WordNet's order task, not from {m.dataset}/{m.pairing}")
        out += [(i, label, dataclasses.replace(r, **fixed, **changes)) for r in base]
    return out


def compute(cfg: LanguageConfig, cache: Store | None = None) -> None:
    """Train the trials that are not stored (at `ci`, seconds; elsewhere ``python -m replication.make``)."""
    cache = cache if cache is not None else Store(scale=cfg.scale)
    runs = [r for _, _, r in trial_runs(cfg)]
    run_sweep(runs, measure_language, KIND, cache=cache, n_jobs=1, progress=False, device="cpu")


def curves(cfg: LanguageConfig, cache: Store | None = None) -> pd.DataFrame:
    """One row per stored trial run and epoch: ``trial``, ``setting``, ``model``, ``epoch``, ``train_acc``,
    ``val_acc``, ``loss``; at `ci` the trials are trained first (seconds). Empty when none is stored."""
    cache = cache if cache is not None else Store(scale=cfg.scale)
    if cfg.scale == "ci":
        compute(cfg, cache)
    rows = []
    for i, label, run in trial_runs(cfg):
        entry, _ = cache.find(KIND, run_key(run, "cpu"))
        if entry is None:
            continue
        for h in entry["result"]["history"]:
            rows.append(
                {"trial": i, "setting": label, "model": NAMES[run.model]}
                | {k: h[k] for k in ("epoch", "train_acc", "val_acc", "loss")}
                | {"train_seconds": entry["result"]["train_seconds"]}
            )
    return pd.DataFrame(
        rows, columns=["trial", "setting", "model", "epoch", "train_acc", "val_acc", "loss", "train_seconds"]
    )


def summary(curves: pd.DataFrame, total: int) -> pd.DataFrame:
    """One row per stored trial and model: the training and validation accuracy after the last epoch, the best
    validation accuracy after an epoch of training and its epoch, the first epoch with training accuracy ≥ 0.9
    ("—" when never), the training minutes. ``total``: the trials' runs in all (stated in the frame's ``attrs``)."""
    if curves.empty:
        out = pd.DataFrame(columns=["train_acc", "val_acc", "best_val", "best_epoch", "train ≥ 0.9 at", "minutes"])
        out.attrs["stored"] = f"0 of {total} trial runs stored"
        return out
    rows = []
    for (i, label, model), g in curves.groupby(["trial", "setting", "model"], sort=True):
        g = g.sort_values("epoch")
        trained = g[g["epoch"] > 0] if (g["epoch"] > 0).any() else g  # the best of a trained model
        last, best = g.iloc[-1], trained.loc[trained["val_acc"].idxmax()]
        fit = g.loc[g["train_acc"] >= 0.9, "epoch"]
        rows.append(
            {"trial": i, "setting": label, "model": model, "epochs": int(last["epoch"])}
            | {"train_acc": last["train_acc"], "val_acc": last["val_acc"]}
            | {"best_val": best["val_acc"], "best_epoch": int(best["epoch"])}
            | {"train ≥ 0.9 at": int(fit.iloc[0]) if len(fit) else None, "minutes": last["train_seconds"] / 60}
        )
    out = pd.DataFrame(rows).set_index(["trial", "setting", "model"])
    out.attrs["stored"] = f"{len(out)} of {total} trial runs stored"
    return out


def describe(table: pd.DataFrame, cfg: LanguageConfig, rate: float) -> str:
    """Generated: which trials fit the training pairs (accuracy ≥ 0.9) and by which epoch, and the best validation
    accuracy against the majority rate ``rate`` (one-sided binomial test over the meaning runs' validation pairs;
    chosen over epochs and trials here, so an upper bound)."""
    m = cfg.meaning
    n_val = m.n_val or len(load_pairs(m.dataset, m.data_dir, m.pairing)[1]) if m is not None else 0
    if not len(table):
        return f"No meaning trial is stored at this scale ({table.attrs.get('stored', 'none')})."
    fit = table[table["train ≥ 0.9 at"].notna()]
    fits = (
        "; ".join(f"trial {i} {m} by epoch {int(r['train ≥ 0.9 at'])}" for (i, _, m), r in fit.iterrows())
        if len(fit)
        else "none"
    )
    (i, _, m), best = next(iter(table.sort_values("best_val", ascending=False).iterrows()))
    _, p = learned(1.0, float(best["best_val"]), n_val, rate)
    return (
        f"{table.attrs.get('stored', '')}. Training accuracy ≥ 0.9 within the trials' epochs: {fits}. The best "
        f"validation accuracy of any trial at any epoch is {best['best_val']:.3f} (trial {i}, {m}, epoch "
        f"{int(best['best_epoch'])}) against a majority rate of {rate:.3f} (one-sided binomial p = {p:.3g} over "
        f"{n_val} pairs, before any correction for choosing the best)."
    )


def claims(cfg: LanguageConfig, table: pd.DataFrame, rate: float) -> list[Claim]:
    """Two diagnoses from the trials: whether V25's optimiser (trial 0) fits the training pairs (accuracy ≥ 0.9)
    within the trials' epochs, for every model; and whether any trial ends above the majority rate on the
    validation pairs (one-sided binomial tests after the last epoch, Bonferroni over every trial and model).
    Untestable until every trial run is stored."""
    total = len(trial_runs(cfg))
    at = "On the meaning task at V25's sizes"
    fit = dict(
        claim=f"{at}, V25's optimiser (AdamW 1e-4, × 0.9 an epoch) fits the training pairs within {EPOCHS} epochs",
        paper_ref="V25 App. D",
        paper_value="100 epochs at this schedule (its rate is 4% of the start after 30)",
        kind="diagnosis",
        section=SECTION,
    )
    gen = dict(
        claim=f"{at}, some tried optimiser setting ends above the majority rate on held-out examples",
        paper_ref="V25 §6, App. D",
        paper_value="models trained from scratch on MRPC and QQP",
        kind="diagnosis",
        section=SECTION,
    )
    if total == 0 or len(table) < total:
        why = f"not run yet at this scale ({len(table)} of {total} trial runs stored)"
        return [CLAIM.untestable(scale=cfg.scale, why=why, **fit), CLAIM.untestable(scale=cfg.scale, why=why, **gen)]
    m = cfg.meaning
    n_val = m.n_val or len(load_pairs(m.dataset, m.data_dir, m.pairing)[1])
    v25 = table.xs(0, level="trial")
    reached = v25["train ≥ 0.9 at"]
    measured = "; ".join(
        f"{model}: training accuracy {fmt(r['train_acc'])} after {int(r['epochs'])} epochs"
        + (f" (≥ {LEARNED_TRAIN} from epoch {int(r['train ≥ 0.9 at'])})" if pd.notna(r["train ≥ 0.9 at"]) else "")
        for (_, model), r in v25.iterrows()
    )
    ok = bool(reached.notna().all())
    out = [
        CLAIM(
            scale=cfg.scale,
            measured=measured,
            holds=ok,
            note=f"check: training accuracy ≥ {LEARNED_TRAIN} at some epoch of trial 0, every model"
            + ("" if ok else "; fails: the rate decays before the models fit; the other trials show what does"),
            **fit,
        )
    ]
    ps = {key: learned(1.0, float(r["val_acc"]), n_val, rate)[1] for key, r in table.iterrows()}
    level = ALPHA / len(ps)
    best = min(ps, key=ps.get)
    above = [k for k, p in ps.items() if p < level]
    out.append(
        CLAIM(
            scale=cfg.scale,
            measured=f"{len(above)} of {len(ps)} trial runs above the majority rate {fmt(rate)}; the lowest p is "
            f"{fmt(ps[best])} (trial {best[0]}, {best[2]}, validation accuracy {fmt(table.loc[best, 'val_acc'])})",
            holds=bool(above),
            note=f"check: validation accuracy after the last epoch against the majority rate, one-sided binomial test "
            f"over {n_val} validation pairs per run, Bonferroni over the {len(ps)} runs (p < {fmt(level)})",
            **gen,
        )
    )
    return out
