"""The 10-class comparison under one fixed epoch budget (:func:`.runs.fixed_runs`): every model trains the same
number of epochs; the models are compared at the end of the budget and at matched training accuracy (each
model's first epoch at or above common levels, as V25 Fig. 13 compares), with a levelling-off test; the
regularised ViT's ShOp / ShPred over parameter-noise levels (V25 Table 2) on all training images, and in the
released code's variant (dropout 0.1, measured in train mode)."""
from __future__ import annotations

import pandas as pd

from ...runs.store import Store
from .binary_analysis import stored_runs
from .measure import measure_vision
from .runs import KIND, VisionConfig, fixed_runs


def fixed_table(cfg: VisionConfig, cache: Store | None = None, configs: list | None = None
                ) -> tuple[pd.DataFrame, list[dict]]:  # fmt: skip
    """``(runs, results)`` of the fixed-budget protocol (or of ``configs``), computed or read."""
    store = cache if cache is not None else Store(scale=cfg.scale)
    configs = fixed_runs(cfg) if configs is None else configs
    return stored_runs(configs, measure_vision, KIND, store, ("arch", "method", "seed", "dropout", "epochs"))
