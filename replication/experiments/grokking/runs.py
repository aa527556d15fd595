"""Chapter 12's runs: :func:`measure_grokking` trains one :class:`~.config.GrokRun`, the curve readers load or
compute a config's runs, and :func:`make_runs` is the notebook-free hook of ``python -m replication.make``.

A run trains :class:`~replication.models.grokking.GrokkingTransformer` on ``a + b mod p`` full batch with AdamW
through :func:`replication.train.fit`, logging at every evaluation the training and test accuracy and loss, the
embedding-noise sensitivity on the training pairs and the weight norm. The phases are read off those curves
afterwards (:mod:`.tables`), so changing a detector never retrains anything. Runs go through
:func:`replication.runs.sweep.run_sweep`, each stored on its own.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import torch
import torch.nn.functional as F

from ...measures.norms import weight_norm
from ...measures.token import embedding_noise_sensitivity
from ...models.grokking import GrokkingTransformer
from ...runs.chapters import kind
from ...runs.parts import Part
from ...runs.store import Store
from ...runs.stored import read_stored
from ...runs.sweep import load_results, sweep_curves
from ...tasks.modular import commutative_baseline, modular_addition_split
from ...train import fit
from . import sparse_parity
from .config import (
    PRESETS,
    GrokkingConfig,
    GrokRun,
    grok_runs,
    grok_trial_runs,
    parity_runs,
    predictor_runs,
    trial_runs,
)

KIND = kind("grokking_run", __name__)
#: Test accuracy that counts as grokked (the jump, not a crossing of 50%: see the commutativity baseline).
GROKKED = 0.95
PARITY = sparse_parity.PARITY_KIND

# --------------------------------------------------------------------------------------------------
# Measuring one run


def measure_grokking(run: GrokRun, device: str = "cpu") -> dict:
    """Train ``run`` full batch and log the curves; returns ``history`` (one dict per evaluation) and a summary."""
    xtr, ytr, xte, yte = (t.to(device) for t in modular_addition_split(run.p, run.train_fraction, run.seed))
    torch.manual_seed(run.seed)
    model = GrokkingTransformer(run.p, run.d, run.heads, run.d_ff).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=run.weight_decay)
    noise = torch.Generator().manual_seed(10_007 + run.seed)
    multi_noise = torch.Generator().manual_seed(20_011 + run.seed)
    grokked_at: list[int] = []

    def loss_fn(m, batch):
        return F.cross_entropy(m(batch[0]), batch[1])

    @torch.no_grad()
    def evaluate(step, m) -> dict:
        out_tr, out_te = m(xtr), m(xte)
        multi = {}
        if run.multi_draws:
            multi["sensitivity_multi"] = (
                embedding_noise_sensitivity(m, xtr, run.sigma, run.multi_draws, multi_noise)
                if run.multi_at(step)
                else None
            )
        return multi | {
            "train_acc": float((out_tr.argmax(-1) == ytr).float().mean()),
            "test_acc": float((out_te.argmax(-1) == yte).float().mean()),
            "train_loss": float(F.cross_entropy(out_tr, ytr)),
            "test_loss": float(F.cross_entropy(out_te, yte)),
            "sensitivity": embedding_noise_sensitivity(m, xtr, run.sigma, run.draws, noise),
            "weight_norm": weight_norm(m),
        }

    def stop(row) -> str | None:
        if row["test_acc"] >= GROKKED and not grokked_at:
            grokked_at.append(row["step"])
        if run.after_grok is not None and grokked_at and row["step"] >= grokked_at[0] + run.after_grok:
            return f"stopped {run.after_grok} steps after grokking"
        return None

    res = fit(
        model,
        lambda: (xtr, ytr),
        loss_fn,
        opt,
        run.steps,
        eval_at=run.evaluated_at,
        evaluate=evaluate,
        stop=stop,
        progress=False,
    )
    keep = ("step", "train_acc", "test_acc", "train_loss", "test_loss", "sensitivity", "weight_norm")
    keep += ("sensitivity_multi",) * bool(run.multi_draws)

    def value(k, v):
        return None if v is None else int(v) if k == "step" else float(v)

    return {
        "history": [{k: value(k, r[k]) for k in keep} for r in res.history],
        "baseline": commutative_baseline(xtr.cpu(), xte.cpu(), run.p),
        "n_train": len(ytr),
        "n_test": len(yte),
        "grok_step": grokked_at[0] if grokked_at else None,
        "final_test_acc": float(res.history[-1]["test_acc"]),
        "steps_run": res.steps_run,
        "failed": res.failed,
        "stopped_reason": res.stopped_reason,
        "train_seconds": res.seconds,
    }


# --------------------------------------------------------------------------------------------------
# Running the chapter's sweeps


def make_runs(scale: str, functions=None, seeds=None, steps=None) -> list[Part]:
    """The chapter's parts at ``scale`` for ``python -m replication.make --chapter 12``, each run trained alone: the
    modular-addition runs, then the sparse-parity runs (not by default at `paper`); ``--part predictor``,
    ``grok_trials`` and ``parity_trials`` name the others. ``seeds`` and ``steps`` (both experiments) narrow them."""
    if functions:
        raise ValueError(f"functions: chapter 12 has no Boolean functions to choose, got {list(functions)}")
    cfg = PRESETS[scale]
    if seeds is not None:
        cfg = dataclasses.replace(cfg, seeds=seeds, parity_seeds=seeds)
    if steps is not None:
        cfg = (
            dataclasses.replace(cfg, steps=steps, parity_steps=steps, dense_until=min(cfg.dense_until, steps))
            if cfg.dense_until
            else dataclasses.replace(cfg, steps=steps, parity_steps=steps)
        )
    return [
        Part(KIND, KIND, grok_runs(cfg), measure_grokking),
        # V25's 200,000 parity steps a seed are not run at `paper` unless asked for
        Part(PARITY, PARITY, parity_runs(cfg), sparse_parity.measure_parity, default=scale != "paper"),
        # the grok-step predictor claim's further seeds of the chapter's setting, and the trials of the settings table
        Part("predictor", KIND, predictor_runs(cfg)[cfg.seeds :], measure_grokking, default=False),
        Part("grok_trials", KIND, grok_trial_runs(cfg), measure_grokking, default=False),
        Part("parity_trials", PARITY, trial_runs(cfg), sparse_parity.measure_parity, default=False),
    ]


def modular_curves(cfg: GrokkingConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every evaluation of every modular-addition run: one row per (seed, step), run fields repeated."""
    return sweep_curves(grok_runs(cfg), measure_grokking, KIND, cache, cfg.n_jobs, progress)


def parity_curves(cfg: GrokkingConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every evaluation of every sparse-parity run of ``cfg``: one row per (seed, step)."""
    return sparse_parity.parity_curves(parity_runs(cfg), cache, cfg.n_jobs, progress)


def grok_trial_curves(cfg: GrokkingConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """:func:`modular_curves` for the modular-addition trials (:func:`grok_trial_runs`); empty when there are none."""
    todo = grok_trial_runs(cfg)
    return sweep_curves(todo, measure_grokking, KIND, cache, cfg.n_jobs, progress) if todo else pd.DataFrame()


def trial_curves(cfg: GrokkingConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """:func:`parity_curves` for the sparse-parity trials (:func:`trial_runs`); empty when there are none."""
    todo = trial_runs(cfg)
    return sparse_parity.parity_curves(todo, cache, cfg.n_jobs, progress) if todo else pd.DataFrame()


def stored_curves(runs: list[GrokRun], cache: Store | None = None, device: str = "cpu") -> pd.DataFrame:
    """Every evaluation of those of ``runs`` that are stored, computing nothing: the rows of :func:`modular_curves`
    for a partial set (empty when none is stored). The `paper` runs and the predictor claim's extra seeds are read
    this way, so a book built while they are still being computed shows what there is."""
    frame = read_stored(KIND, runs, cache, device=device)
    if frame.empty:
        return pd.DataFrame()
    results = [r for r in load_results(KIND, runs, cache, device=device) if r is not None]
    frames = []
    for (_, row), res in zip(frame.iterrows(), results):
        h = pd.DataFrame(res["history"])
        frames.append(h.assign(**{k: [v] * len(h) for k, v in row.items() if k not in h}))
    return pd.concat(frames, ignore_index=True)


def predictor_curves(cfg: GrokkingConfig, cache: Store | None = None) -> pd.DataFrame:
    """The curves of :func:`~.config.predictor_runs` that are stored (the chapter's own runs always are, once
    :func:`modular_curves` has run)."""
    return stored_curves(predictor_runs(cfg), cache)
