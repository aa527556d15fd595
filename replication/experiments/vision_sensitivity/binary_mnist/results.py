"""V25's binary MNIST experiment read once: :func:`results` gathers every table the section's page shows and its
claims test, so the page passes one named result from cell to cell."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ....report.claims import Claim
from ....runs.store import Store
from ..binary_analysis import binary_curves, binary_table, checkpoint_table, settle_table
from ..posthoc import matched_posthoc_runs
from ..posthoc_analysis import level_table, posthoc_table, whole_table
from ..config import VisionConfig
from .adam import adam_checks, adam_claim, adam_curves
from .claims import binary_claims
from .patch_norm import patch_norm_checks, patch_norm_claim, patch_norm_table
from .posthoc_claims import posthoc_claims


@dataclasses.dataclass(frozen=True)
class BinaryResults:
    """Everything the binary MNIST section shows, read from the stored runs (empty frames where a scale runs none)."""

    runs: pd.DataFrame  # one row per run (ViT and MLP, seeds)
    results: list[dict]  # the stored results of those runs
    curves: pd.DataFrame  # per-epoch training accuracy and sensitivity estimate
    settle: pd.DataFrame  # the levelling-off test of every run
    checks: pd.DataFrame  # the checkpoints: matched training accuracy and the end of the budget
    posthoc_runs: list  # the post-hoc measures on the final models
    posthoc_results: list[dict]
    levels: pd.DataFrame  # the final models' noise-level sweep (V25 Fig. 17)
    whole: pd.DataFrame  # whole-image noise (V25 Table 4)
    matched_levels: pd.DataFrame  # the sweep at the matched-accuracy checkpoints
    patch_norm_checks: pd.DataFrame  # the ViT without its patch LayerNorm, beside the two models
    patch_norm: pd.DataFrame  # its table
    adam_checks: pd.DataFrame  # the ViT trained with Adam, beside its SGD runs
    adam_curves: pd.DataFrame


def results(cfg: VisionConfig, cache: Store | None = None) -> BinaryResults:
    """The section's tables, from the stored runs of ``cfg`` (computed where missing, as every chapter's)."""
    runs, res = binary_table(cfg, cache)
    pruns, presults = posthoc_table(cfg, cache)
    mruns, mresults = posthoc_table(cfg, cache, configs=matched_posthoc_runs(cfg))
    pn = patch_norm_checks(cfg, cache)
    return BinaryResults(
        runs=runs,
        results=res,
        curves=binary_curves(runs, res),
        settle=settle_table(cfg, runs, res),
        checks=checkpoint_table(runs, res),
        posthoc_runs=pruns,
        posthoc_results=presults,
        levels=level_table(pruns, presults),
        whole=whole_table(pruns, presults),
        matched_levels=level_table(mruns, mresults),
        patch_norm_checks=pn,
        patch_norm=patch_norm_table(pn),
        adam_checks=adam_checks(cfg, cache),
        adam_curves=adam_curves(cfg, cache),
    )


def section_claims(cfg: VisionConfig, r: BinaryResults) -> list[Claim]:
    """The section's claims: V25 Fig. 13's two comparisons, the post-hoc measures', the ViT without its patch
    LayerNorm's and Adam's (each where ``cfg`` runs it)."""
    return (
        binary_claims(cfg, r.checks, r.curves, r.levels, r.matched_levels)
        + (posthoc_claims(cfg, r.levels, r.whole) if len(r.levels) else [])
        + ([patch_norm_claim(cfg, r.patch_norm_checks)] if cfg.binary_no_patch_norm and cfg.binary_seeds else [])
        + ([adam_claim(cfg, r.adam_checks)] if cfg.binary_adam and cfg.binary_seeds else [])
    )
