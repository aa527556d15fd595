"""Chapter 11: the runs again at other depths (V25 App. A.4: depth changes the sensitivity's level, not the
order of the models). The table puts each depth's mean sensitivity per model beside the chapter's depth; the
claim asks whether the models' order is the same at every depth."""

from __future__ import annotations

import pandas as pd

from ...report.claims import Claim, claims_for, fmt
from ...runs.store import Store
from ...runs.sweep import run_sweep
from .config import LanguageConfig, depth_runs
from .run import KIND, NAMES
from .measure import measure_language

CLAIM = claims_for(__name__)

#: The column compared across depths: trained models, training pairs, V25's σ² = 15.
COLUMN = "sens_train_15"


def depth_table(cfg: LanguageConfig, runs: pd.DataFrame, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """Mean over seeds of the final sensitivity (training pairs, σ² = 15) and the validation accuracy, one row per
    (depth, model), the chapter's own depth (``runs``) included; empty when ``cfg.depths`` is."""
    if not cfg.depths:
        return pd.DataFrame()
    cache = cache if cache is not None else Store(scale=cfg.scale)
    extra = run_sweep(depth_runs(cfg), measure_language, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    both = pd.concat([runs.assign(layers=cfg.layers), extra], ignore_index=True)
    g = both.groupby(["layers", "model"], sort=True)
    out = g.agg(
        seeds=("seed", "nunique"), sensitivity=(COLUMN, "mean"), sd=(COLUMN, "std"), val_acc=("val_acc", "mean")
    )
    return out.reset_index().assign(name=lambda d: d["model"].map(NAMES)).set_index(["layers", "name"])


def orders(table: pd.DataFrame) -> dict[int, tuple[str, ...]]:
    """Depth -> the models from least to most sensitive."""
    return {
        int(d): tuple(g.sort_values("sensitivity").index.get_level_values("name"))
        for d, g in table.groupby(level="layers")
    }


def depth_claim(cfg: LanguageConfig, table: pd.DataFrame) -> Claim:
    """V25 App. A.4: at every depth the models rank in the same order of sensitivity as at the chapter's depth."""
    base = dict(
        scale=cfg.scale,
        paper_ref="V25 App. A.4",
        claim="Depth changes the level of sensitivity but not the order of the models",
        paper_value="same order at other depths",
        kind="paper",
        section="Other depths (V25 App. A.4)",
    )
    if table.empty or table.index.get_level_values("layers").nunique() < 2:
        return CLAIM.untestable(**base, why="no runs at a depth other than the chapter's stored")
    o = orders(table)
    main = o[cfg.layers]
    same = all(v == main for v in o.values())
    level = table["sensitivity"].groupby(level="layers").mean()
    measured = "; ".join(f"{d} layers: " + " < ".join(v) for d, v in o.items())
    note = (
        f"check: per depth, the models ordered by mean final sensitivity on training pairs (σ² = 15) over "
        f"{int(table['seeds'].min())} seeds, against the order at the chapter's {cfg.layers} layers; mean over the "
        f"models by depth: " + ", ".join(f"{d}: {fmt(v)}" for d, v in level.items())
    )
    if not same:
        note += "; fails: the order changes with depth"
    return CLAIM(**base, measured=measured, holds=same, note=note)
