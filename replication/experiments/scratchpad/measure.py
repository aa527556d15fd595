"""Chapter 08's computations: the exact theory table, and training and measuring one scratchpad run.

The sweep over runs (:func:`run_sweep_table`) and chapter 05's PARITY runs (:func:`parity_reference`)
are read or computed here too.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ...tasks import boolean
from ...measures import sensitivity
from ...measures.sharpness import HR24_EXCLUDE, sharpness, sharpness_both
from ...measures.norms import parameter_norm
from ...models.last_step import LastStep
from ...models.seq2seq import ScratchpadTransformer, prefix_parities
from ...runs.store import Store
from ...runs.chapters import kind
from ...runs.sweep import run_sweep
from ...train import fit
from ...runs.encoder import sweep as encoder_sweep
from .config import CONVERGED, ScratchpadConfig, ScratchpadRun, runs

KIND = kind("scratchpad_run", __name__)


# --------------------------------------------------------------------------------------------------
# Theory (HR24 §6 Thm 7)


def theory_table(cfg: ScratchpadConfig) -> pd.DataFrame:
    """Exact average sensitivity of the last scratchpad step and of PARITY, n = 2..``theory_max_n``.

    One row per n: ``step_as`` is ``as`` of step ``n`` (``t_n = x_n XOR t_{n-1}``) as a function of the
    ``2n - 1`` bits it sees, enumerated exactly; ``steps_as`` lists every step 1..n; ``parity_as`` is
    PARITY's exact ``as_n`` (= n), what the encoder computing it in one step faces.
    """
    rows = []
    for n in range(2, cfg.theory_max_n + 1):
        per_step = [sensitivity.average_sensitivity(boolean.scratchpad_step(n, i), n + i - 1) for i in range(1, n + 1)]
        rows.append(
            {
                "n": n,
                "step_as": per_step[-1],
                "min_step_as": min(per_step),
                "max_step_as": max(per_step),
                "mean_step_as": float(np.mean(per_step)),
                "parity_as": sensitivity.average_sensitivity("parity", n),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Measuring one run


@torch.no_grad()
def teacher_forced(model: ScratchpadTransformer, x: torch.Tensor) -> dict:
    """MSE and accuracies of the teacher-forced outputs on strings ``x``: per bit, per string, last bit."""
    t = prefix_parities(x)
    out = model(x)
    right = (out > 0.5).long() == t
    return {
        "mse": float(F.mse_loss(out, t.float())),
        "tf_acc": float(right.float().mean()),
        "tf_seq_acc": float(right.all(1).float().mean()),
        "tf_last_acc": float(right[:, -1].float().mean()),
    }


@torch.no_grad()
def autoregressive(model: ScratchpadTransformer, x: torch.Tensor) -> dict:
    """Accuracies of greedy autoregressive decoding on ``x``: per scratchpad bit, per string, and of t_n = PARITY."""
    right = model.eval().generate(x) == prefix_parities(x).long()
    return {
        "ar_acc": float(right.float().mean()),
        "ar_seq_acc": float(right.all(1).float().mean()),
        "ar_last_acc": float(right[:, -1].float().mean()),
    }


def measure_scratchpad(run: ScratchpadRun, device: str = "cpu") -> dict:
    """Train ``run`` with teacher forcing, decode autoregressively, measure sharpness (module docstring)."""
    torch.manual_seed(run.seed)
    model = ScratchpadTransformer(run.model_config()).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=run.weight_decay)
    data = torch.Generator().manual_seed(1_000_003 * (run.seed + 1))
    x_eval = boolean.random_strings(run.n_eval, run.n, torch.Generator().manual_seed(7_919 * (run.seed + 1) + run.n))
    x_eval = x_eval.to(device)
    converged_at: list[int] = []

    def batch():
        return boolean.random_strings(run.batch_size, run.n, generator=data).to(device)

    def loss_fn(m, x):
        return F.mse_loss(m(x), prefix_parities(x).float())  # teacher forcing, MSE over all positions

    def evaluate(step, m) -> dict:
        return teacher_forced(m, x_eval)

    def stop(row) -> str | None:
        if row["tf_acc"] > CONVERGED and not converged_at:
            converged_at.append(row["step"])
        if run.after_converged is not None and converged_at and row["step"] >= converged_at[0] + run.after_converged:
            return f"stopped {run.after_converged} steps after teacher-forced accuracy exceeded {CONVERGED}"
        return None

    res = fit(
        model, batch, loss_fn, opt, run.steps, eval_every=run.eval_every, evaluate=evaluate, stop=stop, progress=False
    )
    summary = {
        "failed": res.failed,
        "steps_run": res.steps_run,
        "stopped_reason": res.stopped_reason,
        "converged_step": converged_at[0] if converged_at else None,
        "train_seconds": res.seconds,
    }
    if res.failed:
        return {**summary, "converged": False, "history": res.history}
    model.eval()
    t0 = time.perf_counter()
    x_ar = boolean.random_strings(run.n_ar, run.n, torch.Generator().manual_seed(104_729 + run.seed)).to(device)
    ar = autoregressive(model, x_ar)
    x = boolean.eval_strings(run.n, run.n_inputs).to(device)
    noise = dict(rho=run.rho, n_perturbations=run.n_perturbations, seed=run.seed)
    with warnings.catch_warnings():  # vmap over perturbations (short inputs) has no rule for fused attention
        warnings.filterwarnings("ignore", message=".*batching rule", category=UserWarning)
        sh = sharpness_both(model, x, prefix_parities(x).float(), **noise)
        last = sharpness(LastStep(model), x, exclude=tuple(f"model.{e}" for e in HR24_EXCLUDE), **noise)
    return {
        **summary,
        **ar,
        **{f"final_{k}": v for k, v in teacher_forced(model, x).items()},
        "converged": ar["ar_acc"] > CONVERGED,
        "sharpness": sh["sharpness"],
        "sharpness_se": sh["sharpness_se"],
        "delta_mse_sharpness": sh["delta_mse"],
        "sharpness_last": last,
        "param_norm": parameter_norm(model),
        "measure_seconds": time.perf_counter() - t0,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "history": res.history,
    }


# --------------------------------------------------------------------------------------------------
# The sweep and chapter 05's PARITY runs


def run_sweep_table(cfg: ScratchpadConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every run of ``cfg`` (each stored on its own), one row per run, with ``kept`` (converged, finite)."""
    df = run_sweep(runs(cfg), measure_scratchpad, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    df["failed"] = df["failed"].fillna(False).astype(bool)
    df["kept"] = df["converged"].fillna(False).astype(bool) & ~df["failed"]
    return df


def parity_reference(cfg: ScratchpadConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Chapter 05's PARITY runs at the same scale, read from its committed results, never retrained here.

    One row per run of chapter 05's main sweep restricted to PARITY
    (:func:`~replication.runs.encoder.sweep.run_main`), with its ``kept`` flag. Outside the ``ci`` scale the runs are read in ``require`` mode: if chapter 05's
    results are missing (or stale), this stops with the ``make results CHAPTER=05`` command instead of
    training them; at ``ci`` scale chapter 05's seconds-long runs are computed where missing.
    """
    ref = encoder_sweep.SweepConfig.from_params(scale=cfg.scale, functions=["parity"])
    if cache is None and cfg.scale != "ci":
        cache = Store(mode_="require", scale=cfg.scale)
    return encoder_sweep.run_main(ref, cache=cache, progress=progress)
