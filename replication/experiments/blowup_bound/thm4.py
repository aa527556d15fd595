"""Chapter 04's check of HR24 Thm 4 on single strings: the two sides of Eq. 12 on uniform strings, from the stored weights of each converged run (one stored entry per run)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ...tasks import boolean
from ...measures import sensitivity
from ...models.encoder import EncoderConfig, HR24Encoder
from ...runs.store import Store
from ...runs.chapters import kind
from ...runs.sweep import as_store
from ...runs.encoder.sweep import EncoderRun, SweepConfig, load_models, run_configs


THM4_KIND = kind("thm4_inputs", __name__)


@dataclass(frozen=True)
class Thm4Check:
    """Per-string Thm 4 quantities of one trained run (cache key)."""

    run: EncoderRun  # the trained run whose weights are read
    strings: int  # number of uniform strings checked


@torch.no_grad()
def thm4_strings(run: EncoderRun, state_dict: dict, strings: int) -> dict:
    """For uniform strings ``x``: ``s(T, x)`` and ``B(x)² + mean_i B(x^{⊕i})²`` (the two sides of HR24 Eq. 12)."""
    m = HR24Encoder(EncoderConfig(n=run.n, d=run.d, layers=run.layers, heads=run.heads, d_ff=run.d_ff))
    m.load_state_dict(state_dict)
    m.eval()
    g = torch.Generator().manual_seed(40_009 + run.n)
    x = boolean.random_strings(strings, run.n, generator=g)
    n = run.n
    b = m.blowup(x).double()  # (strings,)
    bn = m.blowup(boolean.flip_each_bit(x).reshape(-1, n)).double().reshape(strings, n)  # (strings, n)
    s = sensitivity.model_sensitivity(m, x).double()  # (strings,)
    ones = x.sum(-1)
    return {"s": s.numpy(), "blowup_side": (b**2 + (bn**2).mean(-1)).numpy(), "blowup": b.numpy(), "ones": ones.numpy()}


def thm4_table(
    cfg: SweepConfig, df: pd.DataFrame, strings: int = 256, cache: Store | None = None, functions=("parity", "majority")
) -> pd.DataFrame:
    """One row per (converged run, string): the two sides of Eq. 12 and ``c_thm4`` for that string.

    ``c_x = s(T, x) / (sqrt(n log n) · (B(x)² + mean_i B(x^{⊕i})²))``: Eq. 12 holds on ``x`` for every
    ``C ≥ c_x``. Computed from the cached weights (and cached itself, one entry per run).
    """
    cache = as_store(cache)
    runs = [r for r in run_configs(cfg) if r.function in functions]
    full = load_models(runs, cache=cache)
    frames = []
    for run, res in zip(runs, full):
        if res is None or not res["converged"] or res.get("failed"):
            continue
        key = Thm4Check(run, strings)
        out = cache.get_or_compute(THM4_KIND, key, lambda: thm4_strings(run, res["state_dict"], strings))
        f = pd.DataFrame(out)
        f["function"], f["n"], f["seed"] = run.function, run.n, run.seed
        f["c_x"] = f["s"] / (math.sqrt(run.n * math.log(run.n)) * f["blowup_side"])
        frames.append(f)
    cols = ["s", "blowup_side", "blowup", "ones", "function", "n", "seed", "c_x"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def prune_results(cfg: SweepConfig, store: Store, functions=("parity", "majority")) -> list[str]:
    """Remove stored per-string Thm 4 entries of runs outside ``cfg``'s sweep (after the preset changed)."""
    return store.prune(THM4_KIND, [Thm4Check(r, cfg.thm4_strings) for r in run_configs(cfg) if r.function in functions])


def thm4_summary(t4: pd.DataFrame) -> pd.DataFrame:
    """Per (function, n): mean ``s(T,x)``, mean of the Eq. 12 blowup side, and ``c_x``'s median, 99th percentile, max."""
    if not len(t4):
        return pd.DataFrame(
            columns=["function", "n", "strings", "mean_s", "mean_blowup_side", "c_median", "c_p99", "c_max"]
        )
    g = t4.groupby(["function", "n"], sort=False)
    return g.agg(
        strings=("s", "size"),
        mean_s=("s", "mean"),
        mean_blowup_side=("blowup_side", "mean"),
        c_median=("c_x", "median"),
        c_p99=("c_x", lambda v: float(np.quantile(v, 0.99))),
        c_max=("c_x", "max"),
    ).reset_index()
