"""Fitting a set of strings and measuring a model (:func:`measure_fit`, :func:`measure_refit`), and the
chapter's two sweeps (:func:`learned_functions`, :func:`refits`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ...measures import sensitivity
from ...measures.norms import parameter_norm
from ...measures.sharpness import sharpness
from ...models.encoder import EncoderConfig, HR24Encoder
from ...runs.store import Store
from ...runs.sweep import load_results, run_sweep
from ...train import fit
from .config import (
    KIND_FIT,
    KIND_REFIT,
    FitRun,
    GeneralizationConfig,
    RefitRun,
    fit_runs,
    hex_to_table,
    random_table,
    refit_runs,
    table_to_hex,
    train_indices,
)


def read_off(model, n: int) -> torch.Tensor:
    """The Boolean function a trained model computes on every string: ``T(x) > 1/2``, ``(2^n,)`` float64."""
    return (sensitivity.model_table(model, n) > 0.5).to(torch.float64)


def fit_strings(run, x: torch.Tensor, y: torch.Tensor, seed: int, device: str = "cpu") -> tuple[HR24Encoder, dict]:
    """Train a fresh encoder on the strings ``x`` ``(N, n)`` with targets ``y`` ``(N,)`` until it fits them.

    MSE, AdamW with ``run``'s settings; batches of ``run.batch_size`` strings drawn as shuffled epochs
    (the whole set every step when it is no larger). Every ``run.eval_every`` steps the model is checked on
    all of ``x``: it *fits* when every output is on the right side of 1/2 and the MSE is below
    ``run.fit_mse``, and training stops there. Returns the model (eval mode) and a summary.
    """
    x, y = x.to(device), y.to(device=device, dtype=torch.float32)
    torch.manual_seed(seed)
    model = HR24Encoder(EncoderConfig(n=run.n, d=run.d, layers=run.layers, heads=run.heads)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=run.weight_decay)
    g = torch.Generator().manual_seed(2_000_003 * (seed + 1))
    full = run.batch_size >= len(x)
    order: list[torch.Tensor] = []

    def batches():
        if full:
            return x, y
        if not order or len(order[0]) < run.batch_size:
            order[:] = [torch.randperm(len(x), generator=g).to(device)]
        idx, order[0] = order[0][: run.batch_size], order[0][run.batch_size :]
        return x[idx], y[idx]

    @torch.no_grad()
    def evaluate(step, m) -> dict:
        out = m(x)
        return {"mse": float(F.mse_loss(out, y)), "acc": float(((out > 0.5).float() == y).float().mean())}

    def stop(row) -> str | None:
        return "fits" if row["step"] > 0 and row["acc"] == 1.0 and row["mse"] < run.fit_mse else None

    res = fit(
        model,
        batches,
        lambda m, b: F.mse_loss(m(b[0]), b[1]),
        opt,
        run.max_steps,
        eval_every=run.eval_every,
        evaluate=evaluate,
        stop=stop,
        progress=False,
    )
    last = res.history[-1]
    return model.eval(), {
        "fitted": res.stopped_reason == "fits",
        "steps_run": res.steps_run,
        "fit_mse_reached": last["mse"],
        "fit_acc": last["acc"],
        "failed": res.failed,
        "train_seconds": res.seconds,
    }


def _sharpness_on(model, run, cube: torch.Tensor, sets: list[torch.Tensor]) -> dict:
    """Eq. 15 sharpness ×4 on the whole cube and on each index set, the same perturbations for all."""
    kw = {"rho": run.rho, "n_perturbations": run.n_perturbations, "seed": 0}
    cube_val, per = sharpness(model, cube, return_all=True, **kw)
    return {
        "sharpness_cube": cube_val,
        "sharpness_cube_se": float(per.std(ddof=1) / np.sqrt(len(per))) if len(per) > 1 else float("nan"),
        "sharpness_sets": [sharpness(model, cube[idx], **kw) for idx in sets],
    }


def measure_fit(run: FitRun, device: str = "cpu") -> dict:
    """Train on the training set until it fits, read ``T1`` off the cube, measure (see the module docstring)."""
    cube = sensitivity.cube_strings(run.n, 0, 2**run.n, device)
    f = random_table(run.n, run.function)
    idx = train_indices(run.n, run.size, run.function, run.train_set)
    model, summary = fit_strings(run, cube[idx], f[idx], seed=run.train_set, device=device)
    t1 = read_off(model, run.n)
    held = torch.ones(2**run.n, dtype=torch.bool)
    held[idx] = False
    sh = _sharpness_on(model, run, cube, [idx.to(device)])
    return {
        **summary,
        "as_f": sensitivity.average_sensitivity(f),
        "as_T1": sensitivity.average_sensitivity(t1),
        "train_agreement": float((t1[idx] == f[idx]).double().mean()),
        "held_out_agreement": float((t1[held] == f[held]).double().mean()),
        "ones_T1": float(t1.mean()),
        "sharpness_cube": sh["sharpness_cube"],
        "sharpness_cube_se": sh["sharpness_cube_se"],
        "sharpness_train": sh["sharpness_sets"][0],
        "param_norm": parameter_norm(model),
        "table_T1": table_to_hex(t1),
    }


def measure_refit(run: RefitRun, device: str = "cpu") -> dict:
    """Fit a fresh model to ``run.table`` on the whole cube, then measure its sharpness on the cube and sets."""
    cube = sensitivity.cube_strings(run.n, 0, 2**run.n, device)
    target = hex_to_table(run.table)
    model, summary = fit_strings(run, cube, target, seed=run.seed, device=device)
    sets = [train_indices(run.n, size, run.function, s).to(device) for size, s in run.sets]
    return {
        **summary,
        "as_target": sensitivity.average_sensitivity(target),
        "as_model": sensitivity.average_sensitivity(read_off(model, run.n)),
        **_sharpness_on(model, run, cube, sets),
        "param_norm": parameter_norm(model),
    }


# --------------------------------------------------------------------------------------------------
# Running the sweeps


def learned_functions(cfg: GeneralizationConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Stage 1: one row per T1 run (function, size, training set) with ``as_T1``, ``as_f`` and sharpness."""
    return run_sweep(fit_runs(cfg), measure_fit, KIND_FIT, cache=cache, n_jobs=cfg.n_jobs, progress=progress)


def refits(cfg: GeneralizationConfig, t1: pd.DataFrame, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Stage 2: one row per model fitted on the whole cube, to a T1 of ``t1`` or to an f."""
    runs = refit_runs(cfg, t1)
    df = run_sweep(runs, measure_refit, KIND_REFIT, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    full = load_results(KIND_REFIT, runs, cache)
    df["sharpness_sets"] = [r["sharpness_sets"] for r in full]
    return df.drop(columns=["table"])
