"""Why PARITY at the shortest length already sits above the others (HR24 Fig. 10 puts n = 5 with them).

HR24 train width 128 with learning rates drawn from (1e-4, 5e-4); the `cpu` runs use width 32 and
(3e-4, 1e-3). Each variant here changes one of these and reruns PARITY and MAJORITY at PARITY's shortest
length with the chapter's draws: :func:`offset_runs`. :func:`offset_table` fits, per variant, one line
``log E[Blowup] ~ a + b·norm + δ·[PARITY]`` over the two functions' kept runs, so ``δ`` is PARITY's offset
above MAJORITY at matched norm, with its t-test; the base row uses the chapter's own runs at that length.
A change that moves PARITY onto MAJORITY's frontier shows as a ``δ`` near zero that is not significant.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import stats as st

from ...runs.store import Store
from ...runs.sweep import run_sweep
from .runs import KIND, _annotate, measure_tradeoff
from .config import TradeoffConfig, tradeoff_runs
from .stats import ols

#: One change each from the `cpu` settings towards HR24's (App. E).
OFFSET_VARIANTS = {
    "width 64": dict(d=64),
    "width 128 (HR24)": dict(d=128),
    "lr in (1e-4, 5e-4) (HR24)": dict(lr_range=(1e-4, 5e-4)),
}
OFFSET_FUNCTIONS = ("parity", "majority")


def offset_runs(cfg: TradeoffConfig) -> list[tuple[str, object]]:
    """``(variant, run)`` for PARITY and MAJORITY at PARITY's shortest length, every variant, the chapter's draws."""
    n = min(cfg.parity_ns)
    out = []
    for name, change in OFFSET_VARIANTS.items():
        v = dataclasses.replace(cfg, functions=OFFSET_FUNCTIONS, **change)
        out += [(name, r) for r in tradeoff_runs(v) if r.n == n]
    return out


def run_offset(cfg: TradeoffConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Every variant's runs (computed or read, as the tradeoff runs), one row each, with ``variant`` and ``kept``."""
    pairs = offset_runs(cfg)
    df = _annotate(
        run_sweep([r for _, r in pairs], measure_tradeoff, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    )
    df.insert(0, "variant", [v for v, _ in pairs])
    return df


def _delta(g: pd.DataFrame) -> dict:
    """PARITY's offset above MAJORITY at matched norm over the kept runs of ``g``."""
    g = g[g["kept"].astype(bool)]
    par = (g["function"] == "parity").astype(float)
    row = {"parity_runs": int(par.sum()), "majority_runs": int(len(g) - par.sum())}
    if row["parity_runs"] < 2 or row["majority_runs"] < 2:
        return {**row, "offset": np.nan, "se": np.nan, "p": np.nan}
    b, se, dof = ols(g["log_mean_blowup"], np.column_stack([np.ones(len(g)), g["param_norm"], par]))
    t = b[2] / se[2] if se[2] > 0 else np.nan
    return {
        **row,
        "offset": float(b[2]),
        "se": float(se[2]),
        "p": float(2 * st.t.sf(abs(t), dof)) if dof > 0 else np.nan,
    }


def offset_table(cfg: TradeoffConfig, runs: pd.DataFrame, variants: pd.DataFrame) -> pd.DataFrame:
    """Per setting (the chapter's own and each variant): PARITY's offset above MAJORITY at PARITY's shortest
    length, its standard error and two-sided p, and the kept runs of each function."""
    n = min(cfg.parity_ns)
    base = runs[(runs["n"] == n) & runs["function"].isin(OFFSET_FUNCTIONS)]
    rows = [{"setting": f"this chapter (width {cfg.d}, lr in {cfg.lr_range})", **_delta(base)}]
    for name, g in variants.groupby("variant", sort=False):
        rows.append({"setting": name, **_delta(g)})
    return pd.DataFrame(rows)
