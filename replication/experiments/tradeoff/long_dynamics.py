"""Chapter 06, part 3: PARITY's dynamics over many steps (HR24 §7.2, Fig. 3, 12, 13).

The short dynamics runs (:mod:`.dynamics`) stop a few thousand steps after convergence. HR24 follow
training for 10,000 (Fig. 3, 12) to 100,000 steps (Fig. 13) and report three things after the spike:
the sharpness comes down again and levels off at a value well above that of the easy functions; the
blowup that keeps rising as weight decay drives the norm down "does not have a significant effect on
sharpness"; and without weight decay the sharpness ends lower than with it.

A long run is a :class:`~.dynamics.DynamicsRun` (same model, learning rate and measures) with a longer
step budget and a sparser schedule once the spike is over (``sparse_from``, ``sparse_every``):
:func:`.config.long_runs`. Each run is summarised by :func:`long_events`:

- ``peak``: the largest ``window``-evaluation mean of the sharpness;
- ``level``: the median sharpness over the last :data:`LAST` of training; ``fall = log(level / peak)``;
- ``drift``: the change of log sharpness over that last stretch, read off a least-squares line through
  its evaluations (a sharpness that has levelled off drifts by about 0);
- ``elasticity``: the least-squares slope of log sharpness on log blowup over the second half of training
  (:data:`LATE`), where weight decay still moves the norm and the blowup; ``blowup_change``: the change of
  the log blowup over the same half.

The claims (:func:`.long_claims.long_claims`) test these with statistics over runs; :data:`DRIFT_BOUND` and
:data:`ELASTICITY_BOUND` are the equivalence bounds, stated and justified beside them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from ...measures.phases import smooth
from ...runs.store import Store
from ...train import target_variance
from . import dynamics
from .config import long_runs
from .dynamics import first_below, plateau_exit, span


if TYPE_CHECKING:
    from .config import TradeoffConfig


#: The share of training at its end over which the sharpness ``level`` and its ``drift`` are read.
LAST = 0.25
#: The share of training at its end over which the sharpness is regressed on the blowup.
LATE = 0.5
#: "Levels off": the mean drift of log sharpness over the last quarter lies within ±log(1.25), that is the
#: sharpness changes by less than a quarter over 5,000 of 20,000 steps; the fall from the spike it follows
#: is several times larger.
DRIFT_BOUND = float(np.log(1.25))
#: "Does not follow the blowup": a sharpness proportional to the blowup has elasticity 1; the 90 % interval
#: of the mean elasticity must lie within ±0.5, half of that.
ELASTICITY_BOUND = 0.5
#: The easy functions whose converged tradeoff runs at the dynamics length give the sharpness floor.
EASY = ("majority", "first", "mean")


def long_curves(cfg: TradeoffConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every evaluation of every long run (empty, with the history's columns, when ``cfg.long_seeds`` is 0)."""
    runs = long_runs(cfg)
    if not runs:
        return pd.DataFrame(
            columns=[
                "step",
                "loss",
                "eval_mse",
                "sharpness",
                "param_norm",
                "blowup",
                "log_blowup",
                "weight_decay",
                "seed",
                "n",
                "steps",
            ]
        )
    return dynamics.dynamics_curves(runs, cache, cfg.n_jobs, progress)


def floor(runs: pd.DataFrame, n: int) -> pd.Series:
    """The easy functions' sharpness: converged (``kept``) tradeoff runs of :data:`EASY` at length ``n``."""
    easy = runs[runs["function"].isin(EASY) & (runs["n"] == n) & runs["kept"].astype(bool)]
    return easy["sharpness"].astype(float).reset_index(drop=True)


def _slope(x, y) -> float:
    """Least-squares slope of ``y`` on ``x`` (NaN with fewer than 3 points or no spread in ``x``)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.polyfit(x, y, 1)[0]) if len(x) >= 3 and np.ptp(x) > 0 else np.nan


def run_summary(h: pd.DataFrame, variance: float, window: int = 3, converge_mse: float = 1e-3) -> dict:
    """One long run's summary (module docstring) from its history ``h`` (all evaluations, sorted by step)."""
    steps = h["step"].to_numpy()
    end = int(steps[-1])
    m = h[h["sharpness"].notna()]  # the evaluations that measured sharpness, norm and blowup
    s, log_s = m["sharpness"].to_numpy(float), np.log(m["sharpness"].to_numpy(float))
    sm = smooth(s, window) if window > 1 else s
    last, late = m["step"] >= (1 - LAST) * end, m["step"] >= (1 - LATE) * end
    peak = float(np.nanmax(sm))
    level = float(np.median(s[last.to_numpy()]))
    drift = _slope(m.loc[last, "step"], log_s[last.to_numpy()]) * LAST * end
    lb = m.loc[late, "log_blowup"].to_numpy(float)
    return {
        "exit_step": plateau_exit(steps, h["eval_mse"], variance),
        "converged_step": first_below(steps, smooth(h["eval_mse"], window), converge_mse),
        "peak_step": int(m["step"].iloc[int(np.nanargmax(sm))]),
        "peak": peak,
        "level": level,
        "fall": float(np.log(level / peak)),
        "drift": drift,
        "elasticity": _slope(lb, log_s[late.to_numpy()]),
        "blowup_change": float(lb[-1] - lb[0]),
        "norm_change": float(m.loc[late, "param_norm"].iloc[-1] / m.loc[late, "param_norm"].iloc[0] - 1),
        "final_mse": float(h["eval_mse"].iloc[-1]),
    }


def long_events(curves: pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """One row per long run: weight decay, seed and :func:`run_summary`."""
    rows = []
    for (wd, seed), h in curves.groupby(["weight_decay", "seed"], sort=True):
        h = h.sort_values("step")
        n = int(h["n"].iloc[0])
        rows.append(
            {
                "weight_decay": wd,
                "seed": seed,
                "n": n,
                "steps": int(h["step"].max()),
                **run_summary(h, target_variance("parity", n), window),
                "train_seconds": float(h["train_seconds"].iloc[0]),
            }
        )
    cols = [
        "weight_decay",
        "seed",
        "n",
        "steps",
        "exit_step",
        "converged_step",
        "peak_step",
        "peak",
        "level",
        "fall",
        "drift",
        "elasticity",
        "blowup_change",
        "norm_change",
        "final_mse",
        "train_seconds",
    ]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("exit_step", "converged_step"):
        out[c] = pd.to_numeric(out[c]).astype("Int64")
    return out


def mean_interval(values, level: float = 0.90) -> tuple[float, float, float]:
    """(mean, lo, hi): the ``level`` t interval of the mean of ``values`` (NaN with fewer than 2)."""
    v = pd.Series(values, dtype=float).dropna().to_numpy()
    if len(v) < 2:
        return (float(v.mean()) if len(v) else np.nan), np.nan, np.nan
    half = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def tests(ev: pd.DataFrame, easy: pd.Series) -> pd.DataFrame:
    """The statistics of the long-run claims, one row each: the statistic, its interval or p-value, the bound."""
    left = ev[ev["exit_step"].notna()]
    decayed = left[left["weight_decay"] > 0]
    rows = []
    fall_p = stats.wilcoxon(left["fall"], alternative="less").pvalue if len(left) >= 2 else np.nan
    rows.append(
        {
            "test": "fall from the peak",
            "statistic": "median log(level / peak)",
            "value": left["fall"].median(),
            "lo": np.nan,
            "hi": np.nan,
            "bound": 0.0,
            "p": float(fall_p),
            "runs": len(left),
        }
    )
    mean, lo, hi = mean_interval(left["drift"])
    rows.append(
        {
            "test": "levels off",
            "statistic": "mean drift of log sharpness, last quarter (90 % CI)",
            "value": mean,
            "lo": lo,
            "hi": hi,
            "bound": DRIFT_BOUND,
            "p": np.nan,
            "runs": len(left),
        }
    )
    above_p = (
        stats.mannwhitneyu(left["level"], easy, alternative="greater").pvalue if len(left) and len(easy) else np.nan
    )
    rows.append(
        {
            "test": "above the easy functions",
            "statistic": "median level / median easy sharpness",
            "value": left["level"].median() / easy.median() if len(easy) else np.nan,
            "lo": np.nan,
            "hi": np.nan,
            "bound": 1.0,
            "p": float(above_p),
            "runs": len(left),
        }
    )
    mean, lo, hi = mean_interval(decayed["elasticity"])
    rows.append(
        {
            "test": "sharpness against blowup",
            "statistic": "mean elasticity, second half, weight decay > 0 (90 % CI)",
            "value": mean,
            "lo": lo,
            "hi": hi,
            "bound": ELASTICITY_BOUND,
            "p": np.nan,
            "runs": len(decayed),
        }
    )
    zero, top = left[left["weight_decay"] == 0], left[left["weight_decay"] == left["weight_decay"].max()]
    lower_p = (
        stats.mannwhitneyu(zero["level"], top["level"], alternative="less").pvalue
        if len(zero) and len(top) and top["weight_decay"].max() > 0
        else np.nan
    )
    rows.append(
        {
            "test": "weight decay 0 lower",
            "statistic": "median level, weight decay 0 / largest",
            "value": zero["level"].median() / top["level"].median() if len(zero) and len(top) else np.nan,
            "lo": np.nan,
            "hi": np.nan,
            "bound": 1.0,
            "p": float(lower_p),
            "runs": len(zero) + len(top),
        }
    )
    return pd.DataFrame(rows).set_index("test")


def describe_long(cfg: TradeoffConfig, ev: pd.DataFrame, easy: pd.Series) -> str:
    """A few sentences (Markdown) with the long runs' numbers."""
    if not len(ev):
        return (
            f"The `{cfg.scale}` scale has no long runs (`long_seeds` = 0), so the claims below that need them "
            f"are not tested here."
        )
    left = ev[ev["exit_step"].notna()]
    lines = [
        f"{len(left)} of {len(ev)} long runs left the plateau (steps {span(left['exit_step'])}); their sharpness "
        f"peaked at steps {span(left['peak_step'])} at {span(np.exp(-left['fall']), digits=1)} times the level it "
        f"held over the last quarter of {cfg.long_steps:,} steps."
    ]
    if len(easy):
        lines.append(
            f"The easy functions' converged tradeoff runs at n = {cfg.dynamics_n} have sharpness "
            f"{easy.min():.2g}–{easy.max():.2g} ({len(easy)} runs); the long runs end at "
            f"{left['level'].min():.2g}–{left['level'].max():.2g}."
        )
    for wd, g in left.groupby("weight_decay"):
        lines.append(
            f"Weight decay {wd:g}: over the second half the norm changed by "
            f"{100 * g['norm_change'].min():+.0f}% to {100 * g['norm_change'].max():+.0f}%, the log blowup "
            f"by {span(g['blowup_change'], digits=2)}, the log sharpness per unit of log blowup by "
            f"{span(g['elasticity'], digits=2)}."
        )
    return " ".join(lines)
