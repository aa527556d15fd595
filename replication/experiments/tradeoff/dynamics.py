"""Chapter 06, part 2: the training dynamics of PARITY (HR24 §7.2, Fig. 3, 12, 13, 14).

A :class:`DynamicsRun` trains the HR24 encoder on PARITY with a constant learning rate through
:func:`replication.train.train`, and its one callback hook logs at every evaluation, beside the
evaluation MSE that ``train`` logs itself:

- the Eq. 15 sharpness (×4; Gaussian directions of std ρ on every parameter but the positional
  embeddings) on a fixed set of strings, with the same directions at every evaluation;
- the parameter norm (all parameters but the positional embeddings) and the mean LayerNorm blowup
  (§7.1 convention) with its log, on the same strings.

The events are read off the logged curves afterwards, so changing a detector never retrains anything:

- the **plateau exit** is the first evaluation whose loss is below half of ``Var(f)`` (chance level);
- the **sharpness peak** is the evaluation where the sharpness, smoothed over ``window`` evaluations, is
  largest; the **sharpness rise** ends the largest step-to-step increase of its log (where a sharpness
  that jumps and then stays high jumped);
- the **convergence step** is the first evaluation with MSE below ``converge_mse`` (HR24 §7.1: 1e-3); what
  the norm and the blowup do is measured from there to the end of the run.

The claims on these events, and the sentences the chapter shows, are computed at the end of this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from ...tasks import boolean
from ...report.text import span as _span
from ...checks import KEY_OMIT_DEFAULT, check_float, check_int
from ...measures.norms import blowup_moments, parameter_norm
from ...measures.sharpness import sharpness
from ...measures.phases import smooth
from ...runs.sweep import sweep_curves
from ...runs.store import Store
from ...runs.chapters import kind
from ...train import TrainConfig, target_variance, train


KIND = kind("dynamics_run", __name__)

#: Loss below this share of Var(f) ends the plateau.
PLATEAU_SHARE = 0.5


@dataclass(frozen=True)
class DynamicsRun:
    """One PARITY run logged along training: the cache key of :func:`measure_dynamics`."""

    n: int  # input length
    seed: int  # initialisation and data seed
    weight_decay: float  # AdamW weight decay (all parameters)
    lr: float  # AdamW learning rate, constant (no schedule that could itself cause a drop)
    d: int  # model width (= feed-forward width)
    layers: int  # encoder layers
    heads: int  # attention heads
    batch_size: int  # fresh strings per step
    steps: int  # step budget (no early stop: the norm and blowup are followed after convergence)
    eval_every: int  # steps between evaluations (each logs loss, sharpness, norm and blowup)
    rho: float  # sharpness: std of the Gaussian parameter perturbations
    n_perturbations: int  # sharpness: perturbations per evaluation (the same directions every time)
    n_inputs: int  # sharpness and blowup: fixed evaluation strings
    # Long runs: after step `sparse_from`, sharpness, norm and blowup only every `sparse_every` steps (and at
    # the end); the MSE is still evaluated every `eval_every` steps. 0, 0: at every evaluation (old keys kept).
    sparse_from: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})
    sparse_every: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})

    def __post_init__(self):
        self.train_config()  # validates every training field
        check_float("rho", self.rho, 0.0, 1.0, lo_open=True)
        check_int("n_perturbations", self.n_perturbations, 1)
        check_int("n_inputs", self.n_inputs, 1)
        check_int("sparse_from", self.sparse_from, 0)
        check_int("sparse_every", self.sparse_every, 0)
        if self.sparse_every % self.eval_every:
            raise ValueError(
                f"sparse_every: must be a multiple of eval_every={self.eval_every} (0: off), got {self.sparse_every}"
            )

    def measured_at(self, step: int) -> bool:
        """Whether the callback measures sharpness, norm and blowup at evaluation ``step``."""
        sparse = self.sparse_every and step > self.sparse_from
        return not sparse or step % self.sparse_every == 0 or step == self.steps

    def train_config(self, device: str = "cpu") -> TrainConfig:
        return TrainConfig(
            function="parity",
            n=self.n,
            d=self.d,
            layers=self.layers,
            heads=self.heads,
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            steps=self.steps,
            seed=self.seed,
            eval_every=self.eval_every,
            device=device,
        )


def logger(run: DynamicsRun, device: str = "cpu"):
    """The callback :func:`replication.train.train` calls at every evaluation: sharpness, norm, blowup."""
    x = boolean.eval_strings(run.n, run.n_inputs).to(device)

    def log(step: int, model) -> dict | None:
        if not run.measured_at(step):
            return None
        b = blowup_moments(model, x)
        sharp = sharpness(model, x, rho=run.rho, n_perturbations=run.n_perturbations, seed=run.seed)
        return {
            "sharpness": sharp,
            "param_norm": parameter_norm(model),
            "blowup": b["blowup"],
            "log_blowup": float(np.log(b["blowup"])),
        }

    return log


def measure_dynamics(run: DynamicsRun, device: str = "cpu") -> dict:
    """Train ``run`` with the :func:`logger` callback; returns ``history`` (one dict per evaluation) and a summary."""
    res = train(run.train_config(device), callback=logger(run, device), progress=False)
    summary = res.summary()
    summary["final_mse"] = summary.pop("eval_mse")  # the history has its own eval_mse column
    keep = ("step", "loss", "eval_mse", "sharpness", "param_norm", "blowup", "log_blowup")
    return {
        **summary,
        "history": [{k: (int if k == "step" else float)(r[k]) for k in keep if k in r} for r in res.history],
    }


def dynamics_curves(
    runs: list[DynamicsRun], cache: Store | None = None, n_jobs: int = 2, progress=None
) -> pd.DataFrame:
    """Every evaluation of every run, one row per (run, step), with the run's fields repeated."""
    return sweep_curves(runs, measure_dynamics, KIND, cache, n_jobs, progress)


# --------------------------------------------------------------------------------------------------
# Detectors (1-D curves logged at ``steps``)


def plateau_exit(steps, loss, variance: float, share: float = PLATEAU_SHARE) -> int | None:
    """The first step whose loss is below ``share * variance`` (half of chance level); None if it never is."""
    steps, loss = np.asarray(steps), np.asarray(loss, dtype=float)
    below = loss < share * variance
    return int(steps[below.argmax()]) if below.any() else None


def peak_step(steps, values, window: int = 1) -> int:
    """The step of the largest value after a centred rolling mean over ``window`` evaluations (1: raw)."""
    s = smooth(values, window) if window > 1 else np.asarray(values, dtype=float)
    return int(np.asarray(steps)[int(np.nanargmax(s))])


def steepest_rise(steps, values) -> int:
    """The step that ends the largest rise of ``log(values)`` between consecutive evaluations (values > 0)."""
    v = np.log(np.clip(np.asarray(values, dtype=float), 1e-300, None))
    return int(np.asarray(steps)[1 + int(np.nanargmax(np.diff(v)))])


def first_below(steps, values, threshold: float) -> int | None:
    """The first step whose value is below ``threshold``; None if none is."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    ok = values < threshold
    return int(steps[ok.argmax()]) if ok.any() else None


def run_events(h: pd.DataFrame, variance: float, converge_mse: float = 1e-3, window: int = 3) -> dict:
    """Events of one run's history ``h`` (columns ``step``, ``eval_mse``, ``sharpness``, ``param_norm``,
    ``log_blowup``): plateau exit, sharpness peak, their gap, and what the norm and the blowup did from
    convergence to the end of the run (relative change of the norm; change of the log blowup).

    Convergence is read on the curve smoothed over ``window`` evaluations (a single evaluation of 1,024
    strings can dip below the threshold by chance).
    """
    steps = h["step"].to_numpy()
    exit_ = plateau_exit(steps, h["eval_mse"], variance)
    top = peak_step(steps, h["sharpness"], window)
    conv = first_below(steps, smooth(h["eval_mse"], window), converge_mse)
    rise = steepest_rise(steps, h["sharpness"])
    out = {
        "exit_step": exit_,
        "peak_step": top,
        "gap": abs(top - exit_) if exit_ is not None else None,
        "rise_step": rise,
        "rise_gap": abs(rise - exit_) if exit_ is not None else None,
        "converged_step": conv,
        "sharpness_peak": float(smooth(h["sharpness"], window).max()),
        "sharpness_end": float(h["sharpness"].iloc[-1]),
        "norm_change": np.nan,
        "log_blowup_change": np.nan,
        "post_steps": 0,
    }
    if conv is not None and conv < steps[-1]:
        at, end = h[h["step"] == conv].iloc[0], h.iloc[-1]
        out.update(
            norm_change=float(end["param_norm"] / at["param_norm"] - 1),
            log_blowup_change=float(end["log_blowup"] - at["log_blowup"]),
            post_steps=int(steps[-1] - conv),
        )
    return out


def events_table(curves: pd.DataFrame, converge_mse: float = 1e-3, window: int = 3) -> pd.DataFrame:
    """One row per run of :func:`dynamics_curves`: its weight decay, seed, final MSE and :func:`run_events`."""
    rows = []
    for (wd, seed), h in curves.groupby(["weight_decay", "seed"], sort=True):
        h = h.sort_values("step")
        r = h.iloc[0]
        ev = run_events(h, target_variance("parity", int(r["n"])), converge_mse, window)
        rows.append(
            {
                "weight_decay": wd,
                "seed": seed,
                "n": int(r["n"]),
                "final_mse": r["final_mse"],
                "converged": bool(r["converged"]),
                **ev,
                "train_seconds": r["train_seconds"],
            }
        )
    out = pd.DataFrame(rows)
    for c in ("exit_step", "gap", "rise_gap", "converged_step"):  # steps, missing where the event never happened
        out[c] = pd.to_numeric(out[c]).astype("Int64")
    return out


# --------------------------------------------------------------------------------------------------
# Claims and prose numbers (``cfg``: the chapter's config, see :class:`.config.TradeoffConfig`)


#: The columns of :func:`events_display`.
EVENT_COLUMNS = [
    "weight_decay",
    "seed",
    "final_mse",
    "exit_step",
    "peak_step",
    "gap",
    "rise_step",
    "converged_step",
    "sharpness_peak",
    "sharpness_end",
    "norm_change",
    "log_blowup_change",
    "train_seconds",
]


def events_display(events: pd.DataFrame) -> pd.DataFrame:
    """The dynamics events, one row per run, rounded and indexed by (weight decay, seed)."""
    return events[EVENT_COLUMNS].set_index(["weight_decay", "seed"]).round(4)


def describe_dynamics(cfg, ev: pd.DataFrame) -> str:
    """A few sentences (Markdown) with this run's dynamics numbers."""
    left = ev[ev["exit_step"].notna()]
    lines = [
        f"{len(left)} of {len(ev)} runs (PARITY, n = {cfg.dynamics_n}) left the plateau within {cfg.steps:,} "
        f"steps, at steps {span(left['exit_step'])}; their sharpness peaked at steps {span(left['peak_step'])}, "
        f"{span(left['gap'])} steps from the exit (median {left['gap'].median():.0f}), and rose most steeply "
        f"{span(left['rise_gap'])} steps from it."
        if len(left)
        else f"No run left the plateau within {cfg.steps:,} steps."
    ]
    if len(left):
        ratio = left["sharpness_peak"] / left["sharpness_end"]
        lines.append(
            f"At its peak the sharpness was {ratio.min():.1f}–{ratio.max():.1f} times its value at the end of training."
        )
    for wd, g in ev[ev["post_steps"] > 0].groupby("weight_decay"):
        lines.append(
            f"Weight decay {wd:g}: from convergence to the end the norm changed by "
            f"{pct_range(g['norm_change'])} and the log blowup by "
            f"{span(g['log_blowup_change'], digits=2)}."
        )
    return " ".join(lines)


#: ``"lo to hi"`` of a column (one value if they agree; "none" if empty), ``digits`` decimals (0: "1,200").
span = partial(_span, digits=0, sep=" to ")


def pct_range(s) -> str:
    """``"+a% to +b%"`` of a column of relative changes."""
    s = pd.Series(s).dropna()
    return "none" if not len(s) else f"{100 * s.min():+.1f}% to {100 * s.max():+.1f}%"
