"""The HR24 encoder sweep that chapters 04, 05, 06 and 08 read: train, measure, store (HR24 §7.1, App. E).

Each run trains an :class:`~replication.models.encoder.HR24Encoder` on one function at one length with one seed
(:func:`replication.train.train`), always for the same step budget, and is then measured on a fixed set
of evaluation strings:

- Eq. 15 sharpness ×4 (Gaussian directions, ρ = 0.02, all parameters but positional embeddings) and the
  original code's ΔMSE variant with the same perturbations and inputs;
- parameter norm, ``E[Blowup]``, ``E[Blowup²]``, ``E[log Blowup]`` (§7.1 convention: product over the four
  LayerNorm applications of the max factor ``1/sqrt(var + eps)``, the factor LayerNorm divides by);
- for Thm 4, the mean blowup on *balanced* strings (where MAJORITY is sensitive) and on *unbalanced* ones
  (``|#ones − n/2| ≥ max(n/4, 2)``), each sampled directly (:func:`replication.tasks.boolean.balance_sets`);
- the model's own average sensitivity ``as_n(T)`` on a sample of strings and all their neighbours.

The trained weights are kept with each run (chapter 04 reads them). Runs go through
:func:`replication.runs.sweep.run_sweep`, so each is stored on its own (committed under ``results/`` for the
book) and a rerun computes nothing twice.

A run is *kept* when its final evaluation MSE is below 1e-3 (HR24 §7.1) and its training stayed finite;
runs that are not kept are counted per (function, n) and left out of the analyses, never dropped
silently and never averaged in.

The sweep's parts sit beside this module, and every name of theirs can be imported from here:
:mod:`.config` (the runs, the config, the presets) and :mod:`.calibration` (the protocols behind the `cpu`
preset). Chapter 05 computes the runs (``make results CHAPTER=05``); its package
:mod:`replication.experiments.sharpness` adds the chapter's settings table and the hook of ``replication.make``.
"""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import torch

from ...measures import sensitivity
from ...measures.norms import blowup_moments, parameter_norm
from ...measures.sharpness import sharpness_both
from ..chapters import kind
from ..store import Store
from ..sweep import as_store, load_results, resolve_device, run_key, run_sweep
from ...tasks import boolean
from ...train import train, train_batched
from .calibration import (
    CALIBRATION_NS,
    CALIBRATION_SEEDS,
    CALIBRATION_TRIALS,
    calibration_configs,
    calibration_table,
    chosen_trial,
    describe_calibration,
    describe_choice,
    describe_protocol,
)
from .config import (
    FUNCTIONS,
    LONG_FUNCTIONS,
    MAX_SWEEP_N,
    MIN_N,
    PRESETS,
    EncoderRun,
    SweepConfig,
    long_run_configs,
    run_configs,
)

__all__ = [
    "CALIBRATION_NS",
    "CALIBRATION_SEEDS",
    "CALIBRATION_TRIALS",
    "FUNCTIONS",
    "KIND",
    "LONG_FUNCTIONS",
    "BATCHING",
    "MAX_SWEEP_N",
    "MIN_N",
    "PRESETS",
    "RUN_COLUMNS",
    "EncoderRun",
    "SweepConfig",
    "calibration_configs",
    "calibration_table",
    "chosen_trial",
    "convergence_counts",
    "describe_calibration",
    "describe_choice",
    "describe_protocol",
    "kept_runs",
    "kept_table",
    "load_models",
    "annotate",
    "batch_key",
    "long_run_configs",
    "measure_run",
    "measure_runs",
    "measure_trained",
    "prune_results",
    "read_runs",
    "run_calibration",
    "run_configs",
    "run_long",
    "run_main",
    "runs_table",
]

#: Cache kind of one run; chapter 05 computes it (``make results CHAPTER=05``), chapters 04, 06 and 08 read it.
KIND = kind("sharpness_run", "sharpness")


def measure_run(run: EncoderRun, device: str = "cpu") -> dict:
    """Train ``run`` and measure it (see the module docstring). The returned dict is stored as is.

    A run whose training went non-finite is returned with its training summary only (``failed``):
    there is no model to measure.
    """
    return measure_trained(run, train(run.train_config(device), progress=False), device)


def batch_key(run: EncoderRun) -> EncoderRun | None:
    """Runs with equal keys train as one batch (:func:`measure_runs`): the run with its seed set to 0, or None
    for a run with a stopping rule (a give-up step or two phases), which trains alone."""
    if run.give_up_step is not None or run.lr_first is not None:
        return None
    return dataclasses.replace(run, seed=0)


def measure_runs(runs: list[EncoderRun], device: str = "cpu") -> list[dict]:
    """:func:`measure_run` of each of ``runs`` (one :func:`batch_key`), trained as one batched model
    (:func:`replication.train.train_batched`) and then measured one by one."""
    trained = train_batched([r.train_config(device) for r in runs], progress=False)
    return [measure_trained(r, res, device) for r, res in zip(runs, trained)]


#: How the sweeps batch their runs: on CUDA, runs of one shape train as one model (``run_sweep``'s default).
BATCHING = dict(measure_batch=measure_runs, batch_key=batch_key)


def measure_trained(run: EncoderRun, res, device: str = "cpu") -> dict:
    """The stored result of ``run`` from its training result ``res`` (a TrainResult): the measurements."""
    summary = {"failed": False, **res.summary()}
    if summary["failed"]:
        return {**summary, "history": res.history}
    model = res.model.eval()
    t0 = time.perf_counter()
    fn = boolean.resolve(run.function)
    x = boolean.eval_strings(run.n, run.n_inputs).to(device)
    sh = sharpness_both(model, x, fn(x), rho=run.rho, n_perturbations=run.n_perturbations, seed=run.seed)
    bal, unbal = (s.to(device) for s in boolean.balance_sets(run.n, run.n_thm4))
    with torch.no_grad():
        b_bal, b_unbal = model.blowup(bal).double(), model.blowup(unbal).double()
        sens = sensitivity.model_sensitivity(model, x[: run.n_sens])
        mse_bal = float(((model(bal) - fn(bal)) ** 2).mean())
    return {
        **summary,
        "sharpness": sh["sharpness"],
        "sharpness_se": sh["sharpness_se"],
        "delta_mse_sharpness": sh["delta_mse"],
        "param_norm": parameter_norm(model),
        **blowup_moments(model, x),
        "blowup_balanced": float(b_bal.mean()),
        "blowup_unbalanced": float(b_unbal.mean()),
        "blowup_sq_balanced": float((b_bal**2).mean()),
        "blowup_sq_unbalanced": float((b_unbal**2).mean()),
        "mse_balanced": mse_bal,
        "model_as": float(sens.mean()),
        "measure_seconds": time.perf_counter() - t0,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "history": res.history,
    }


def run_calibration(cfg: SweepConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """The calibration runs behind the `cpu` preset, one row per run, with its trial's name and protocol.

    Only the `cpu` scale has a calibration (an empty frame otherwise). Runs are stored like any sweep run.
    When the store may not compute (``require``, the book build), the trials not computed yet are left out
    and :func:`calibration_table` lists them as not run, instead of stopping the chapter.
    """
    cols = [
        "trial",
        "protocol",
        "n",
        "seed",
        "kept",
        "eval_mse",
        "sharpness",
        "switch_step",
        "steps_run",
        "train_seconds",
        "measure_seconds",
    ]
    if cfg.scale != "cpu":
        return pd.DataFrame(columns=cols)
    runs = calibration_configs()
    per = len(CALIBRATION_NS) * len(CALIBRATION_SEEDS)
    names = [name for name in CALIBRATION_TRIALS for _ in range(per)]
    store = as_store(cache)
    if store.mode == "require":
        found = load_results(KIND, runs, cache=store)
        rows = [
            {**dataclasses.asdict(r), **{k: v for k, v in res.items() if not isinstance(v, (dict, list))}, "trial": t}
            for r, res, t in zip(runs, found, names)
            if res is not None
        ]
        if not rows:
            return pd.DataFrame(columns=cols)
        df = annotate(pd.DataFrame(rows))
        kept = [(r, t) for r, res, t in zip(runs, found, names) if res is not None]
    else:
        df = annotate(run_sweep(runs, measure_run, KIND, cache=store, n_jobs=cfg.n_jobs, progress=progress))
        df["trial"] = names
        kept = list(zip(runs, names))
    df["protocol"] = [describe_protocol(r) for r, _ in kept]
    return df


def run_main(cfg: SweepConfig, cache: Store | None = None, scheduler=None, progress=None) -> pd.DataFrame:
    """The main sweep (every run stored on its own), one row per run, with ``as_n`` of the target."""
    return annotate(
        run_sweep(
            run_configs(cfg),
            measure_run,
            KIND,
            cache=cache,
            n_jobs=cfg.n_jobs,
            scheduler=scheduler,
            progress=progress,
            **BATCHING,
        )
    )


def run_long(cfg: SweepConfig, cache: Store | None = None, scheduler=None, progress=None) -> pd.DataFrame:
    """The long-input sweep of HR24 Fig. 7/8 (width ``long_d``), one row per run."""
    return annotate(
        run_sweep(
            long_run_configs(cfg),
            measure_run,
            KIND,
            cache=cache,
            n_jobs=cfg.n_jobs,
            scheduler=scheduler,
            progress=progress,
            **BATCHING,
        )
    )


def read_runs(cfg: SweepConfig) -> list[EncoderRun]:
    """Every run the chapters read at ``cfg``'s scale: the main and long sweeps, and the calibration (`cpu`).

    Chapters 04, 06 and 08 read subsets of the main sweep, so this is what ``results/`` must hold of this kind.
    """
    runs = run_configs(cfg) + long_run_configs(cfg) + (calibration_configs() if cfg.scale == "cpu" else [])
    return list(dict.fromkeys(runs))  # a calibration trial may share runs with the preset


def prune_results(cfg: SweepConfig, store: Store, device: str | None = None) -> list[str]:
    """Remove the stored runs no chapter reads at ``cfg``'s settings (after the preset changed); their keys.

    Only entries of ``device`` (None: the one :func:`~replication.runs.sweep.run_sweep` would use here) are kept, so
    pass the device whose results ``results/`` should hold: entries of the other device are removed too.
    """
    device = resolve_device(device)
    return store.prune(KIND, [run_key(r, device) for r in read_runs(cfg)])


def annotate(df: pd.DataFrame) -> pd.DataFrame:
    """Add the target's exact ``as_n`` and ``kept`` (converged, and training stayed finite)."""
    df = df.copy()
    df["as_n"] = [sensitivity.closed_form_sensitivity(f, n) for f, n in zip(df["function"], df["n"])]
    df["failed"] = df["failed"].fillna(False).astype(bool) if "failed" in df else False
    df["kept"] = df["converged"].astype(bool) & ~df["failed"]
    return df


def load_models(runs: list[EncoderRun], cache: Store | None = None) -> list[dict | None]:
    """Stored results of ``runs`` with their ``state_dict`` (None where a run is not stored)."""
    return load_results(KIND, runs, cache=cache)


def convergence_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Runs, kept runs, runs cut short at chance level and runs that went non-finite, per (function, n)."""
    g = df.groupby(["function", "n"], sort=False)
    out = g.agg(
        runs=("seed", "size"),
        kept=("kept", "sum"),
        gave_up=("gave_up", "sum"),
        failed=("failed", "sum"),
        median_eval_mse=("eval_mse", "median"),
    ).reset_index()
    for c in ("kept", "gave_up", "failed"):
        out[c] = out[c].astype(int)
    out["dropped"] = out["runs"] - out["kept"]
    return out


def kept_table(df: pd.DataFrame) -> pd.DataFrame:
    """Kept runs per function (rows) and length (columns)."""
    return convergence_counts(df).pivot(index="function", columns="n", values="kept")


#: The columns of :func:`runs_table`: what a reader wants to see of each run.
RUN_COLUMNS = [
    "function",
    "n",
    "seed",
    "eval_mse",
    "kept",
    "gave_up",
    "failed",
    "steps_run",
    "sharpness",
    "delta_mse_sharpness",
    "param_norm",
    "blowup",
    "source",
]


def runs_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with the columns of :data:`RUN_COLUMNS`, rounded for display."""
    return df[[c for c in RUN_COLUMNS if c in df]].round(5)


def kept_runs(df: pd.DataFrame) -> pd.DataFrame:
    """The runs that enter the analyses (converged, finite)."""
    return df[df["kept"].astype(bool)]
