"""Chapter 10: the binary ViT trained with Adam instead of SGD (V25 Fig. 14, App. D).

V25 train every vision model with SGD so that the optimiser's own bias does not enter the comparison, and
show for a ViT-small on CIFAR-10 that Adam (learning rate 0.002, halved every 8 epochs) gives a slightly
higher but similar sensitivity. Here the ViT of the binary MNIST experiment is trained again with that
schedule, same seeds, data and batch order, and compared with its SGD runs paired by seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ....report.empty import table_when_run
from ....report.claims import ALPHA, Claim, claims_for, fmt
from ....runs.store import Store
from ..binary import adam_runs, binary_runs
from ..binary_analysis import binary_curves, binary_table, checkpoint_table
from .patch_norm import common_levels
from ..config import VisionConfig

CLAIM = claims_for(__name__)

#: The notebook section that shows this module's claims (each claims row links to it).
SECTION = "SGD against Adam (V25 Fig. 14)"

#: How the two optimisers are written.
NAMES = {"sgd": "SGD", "adam": "Adam"}
#: "Similar": the Adam run's sensitivity within this factor of the SGD run's, either way (an equivalence bound).
SIMILAR = 1.5


def _adam_runs(cfg: VisionConfig, cache: Store | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """The binary ViT's SGD runs and its Adam runs, for the seeds with an Adam run, with ``arch`` set to
    ``vit_sgd`` / ``vit_adam`` (one "model" per optimiser); empty when there are no Adam runs."""
    extra = adam_runs(cfg)
    if not extra:
        return pd.DataFrame(), []
    seeds = {r.seed for r in extra}
    configs = [r for r in binary_runs(cfg) if r.arch == "vit" and r.seed in seeds] + extra
    runs, results = binary_table(cfg, cache, configs=configs)
    if not len(runs):
        return pd.DataFrame(), []
    return runs.assign(arch=[f"vit_{o}" for o in runs["optimizer"].fillna("sgd")]), results


def adam_checks(cfg: VisionConfig, cache: Store | None = None) -> pd.DataFrame:
    """Every checkpoint of the binary ViT's SGD runs and of its Adam runs, for the seeds with an Adam run; a column
    ``optimizer`` tells them apart. Empty when there are no Adam runs."""
    runs, results = _adam_runs(cfg, cache)
    if not len(runs):
        return pd.DataFrame()
    checks = checkpoint_table(runs, results)
    optimizer = checks["arch"].str.removeprefix("vit_")
    return checks.assign(optimizer=optimizer, model=["ViT, " + NAMES[o] for o in optimizer])


def adam_curves(cfg: VisionConfig, cache: Store | None = None) -> pd.DataFrame:
    """V25 Fig. 14's curves: training accuracy and the per-epoch sensitivity estimate of the binary ViT, every epoch
    of every SGD and Adam run (``model``: "ViT, SGD" or "ViT, Adam")."""
    runs, results = _adam_runs(cfg, cache)
    if not len(runs):
        return pd.DataFrame()
    curves = binary_curves(runs, results)
    return curves.assign(model=["ViT, " + NAMES[a.removeprefix("vit_")] for a in curves["arch"]])


@table_when_run
def adam_table(checks: pd.DataFrame) -> pd.DataFrame:
    """Per optimiser: epoch, training and test accuracy and sensitivity at each common level and at the end (mean
    over seeds)."""
    if checks.empty:
        return pd.DataFrame()
    lv = common_levels(checks)
    keep = checks[checks["level"].isin(lv) | (checks["name"] == "final")].copy()
    keep["checkpoint"] = [
        f"train acc ≥ {x:g}" if n != "final" else "end of budget" for n, x in zip(keep["name"], keep["level"])
    ]
    return keep.groupby(["checkpoint", "model"], sort=False)[["epoch", "train_acc", "test_acc", "sensitivity"]].mean()


def adam_claim(cfg: VisionConfig, checks: pd.DataFrame) -> Claim:
    """V25 Fig. 14: Adam's sensitivity is similar to SGD's. Statistic: per seed, log(Adam / SGD) of the sensitivity
    averaged over the common matched levels; two one-sided t-tests (TOST) that it lies within ±log(SIMILAR)."""
    base = dict(
        section=SECTION,
        scale=cfg.scale,
        claim="Binary MNIST: the ViT trained with Adam is about as sensitive as with SGD",
        paper_ref="V25 Fig. 14, App. D (ViT-small on CIFAR-10 there)",
        paper_value="Adam slightly higher, similar values",
        kind="paper",
    )
    lv = common_levels(checks) if not checks.empty else []
    if checks.empty or not lv or checks["optimizer"].nunique() < 2:
        return CLAIM.untestable(
            **base, why="no stored runs of the ViT trained with Adam (binary_adam), or no common level"
        )
    sel = checks[checks["level"].isin(lv) & (checks["name"] != "final")]
    s = sel.groupby(["seed", "optimizer"])["sensitivity"].mean().unstack().dropna()
    d = np.log(s["adam"] / s["sgd"])
    d = d[np.isfinite(d)]  # a seed with no flips under one optimiser has no ratio
    bound = np.log(SIMILAR)
    if len(d) >= 2 and d.std() > 0:
        p = max(
            stats.ttest_1samp(d, -bound, alternative="greater").pvalue,
            stats.ttest_1samp(d, bound, alternative="less").pvalue,
        )
    else:
        p = float("nan")
    holds = bool(p < ALPHA)
    ratio = float(np.exp(d.mean()))
    note = (
        f"check: per seed, log of Adam's over SGD's sensitivity averaged over the levels "
        f"{', '.join(f'{x:g}' for x in lv)}; equivalence within a factor {SIMILAR:g} either way by two one-sided "
        f"t-tests over {len(d)} seeds, p = {fmt(p)} (holds if < {ALPHA}); Adam higher in {int((d > 0).sum())} of "
        f"{len(d)} seeds"
    )
    if not holds:
        note += "; fails: " + (
            "the ratio lies outside the bound"
            if abs(d.mean()) > bound
            else "the seeds vary too much to bound the ratio" + _seeds_needed(d, bound)
        )
    return CLAIM(
        **base,
        measured=f"SGD {fmt(s['sgd'].mean())}, Adam {fmt(s['adam'].mean())}; Adam / SGD {fmt(ratio)} "
        f"(geometric mean over {len(d)} seeds)",
        holds=holds,
        note=note,
    )


def _seeds_needed(d: pd.Series, bound: float, most: int = 1000) -> str:
    """How many seeds the equivalence test would need, at this spread and mean of ``d``, for its larger one-sided
    p-value to fall below ``ALPHA`` about half the time (the expected t statistic reaching the critical value)."""
    if len(d) < 2 or d.std(ddof=1) == 0 or abs(d.mean()) >= bound:
        return ""
    sd, margin = float(d.std(ddof=1)), bound - abs(float(d.mean()))
    n = next((n for n in range(3, most + 1) if margin * np.sqrt(n) / sd > stats.t.ppf(1 - ALPHA, n - 1)), None)
    return (
        f" (at this spread, sd {sd:.2f} of the log ratio, about {n} seeds would bound it with even odds)"
        if n
        else f" (more than {most} seeds would be needed)"
    )
