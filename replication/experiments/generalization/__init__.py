"""Chapter 07: the limits of generalization on random functions (HR24 §7.2, Fig. 4 and 15).

Two stages, each a sweep of runs stored on its own (:func:`replication.runs.sweep.run_sweep`):

1. **T1 runs** (:class:`FitRun`, :func:`measure_fit`): a uniformly random Boolean function ``f`` on
   ``{0,1}^n`` (a truth table fixed by its seed), a training set of ``size`` strings drawn from the
   ``2^n`` inputs, and an :class:`~replication.models.encoder.HR24Encoder` trained on it with MSE until it *fits*
   it (:func:`fit_strings`). The learned function ``T1`` is read off on the whole cube (output > 1/2 → 1)
   and its exact average sensitivity computed from the truth table (:mod:`replication.tasks.boolean`).
2. **Refits** (:class:`RefitRun`, :func:`measure_refit`): fresh models fitted on the whole cube to ``T1``
   and to ``f``. The target's truth table is part of the run's config (as hex), so a refit is keyed by
   exactly what it fits; refits to ``f`` do not depend on a training set and are shared by all the
   training sets of their function.

Every model's Eq. 15 sharpness (×4, Gaussian ρ = 0.02, all parameters but the positional embeddings) is
measured on the whole cube and on training sets, with the same perturbations (same seed): the mean over a
subset of the same per-input squared deviations.

**Fits.** A model fits a set of strings when every one of them is on the right side of 1/2 and the MSE
on them is below ``fit_mse``, checked every ``eval_every`` steps; training stops at the first check that
passes (or at ``max_steps``, and the run is then marked not fitted and left out, counted). The same rule
serves the T1 runs and both kinds of refit.

The chapter's public face, what the notebook and the tests use. Its modules, by role:

- :mod:`.config`: truth tables and training sets, the run configs (:class:`FitRun`, :class:`RefitRun`), the chapter's
  config (:class:`GeneralizationConfig`) with its presets, and the runs a config expands into;
- :mod:`.measure`: fitting and measuring one model, the two sweeps;
- :mod:`.tables`: the tables, the summaries and the notebook's prose;
- :mod:`.claims`: one function per claim.
"""

from __future__ import annotations

from .claims import AGREE, MIN_RANK_CORR, claims
from .measure import fit_strings, learned_functions, measure_fit, measure_refit, read_off, refits
from .config import (
    KIND_FIT,
    KIND_REFIT,
    MAX_N,
    MIN_N,
    PRESETS,
    TARGETS,
    FitRun,
    GeneralizationConfig,
    RefitRun,
    Training,
    fit_runs,
    hex_to_table,
    random_table,
    refit_runs,
    table_to_hex,
    train_indices,
)
from .tables import describe, ratio_ci, ratio_table, sensitivity_summary, sharpness_summary, train_vs_cube

__all__ = [
    "AGREE",
    "KIND_FIT",
    "KIND_REFIT",
    "MAX_N",
    "MIN_N",
    "MIN_RANK_CORR",
    "PRESETS",
    "TARGETS",
    "FitRun",
    "GeneralizationConfig",
    "RefitRun",
    "Training",
    "claims",
    "describe",
    "fit_runs",
    "fit_strings",
    "hex_to_table",
    "learned_functions",
    "measure_fit",
    "measure_refit",
    "random_table",
    "ratio_ci",
    "ratio_table",
    "read_off",
    "refit_runs",
    "refits",
    "sensitivity_summary",
    "sharpness_summary",
    "table_to_hex",
    "train_indices",
    "train_vs_cube",
]
