"""The ten-class comparison read once: :func:`results` gathers the target-accuracy runs and the fixed-budget runs
with every table the section's page shows and its claims test."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ....report.claims import Claim
from ....runs.store import Store
from ..analysis import curves, run_table, token_table
from ..fixed import PLAIN, fixed_checkpoints, fixed_curves, fixed_noise_levels, fixed_settle, fixed_table, sharp_long
from ..posthoc import matched_posthoc_runs
from ..posthoc_analysis import level_table, posthoc_table
from ..config import VisionConfig
from .claims import architecture_claims, fixed_claims


@dataclasses.dataclass(frozen=True)
class TenClassResults:
    """Everything the ten-class section shows (empty frames where a scale runs none)."""

    runs: pd.DataFrame  # the target-accuracy runs, every architecture and training method
    curves: pd.DataFrame  # their per-epoch curves
    tokens: pd.DataFrame  # sensitivity per patch position
    fixed_runs: pd.DataFrame  # the fixed-budget runs
    fixed_results: list[dict]
    fixed_curves: pd.DataFrame
    checks: pd.DataFrame  # fixed budget: matched training accuracy and the end
    settle: pd.DataFrame  # fixed budget: the levelling-off test
    levels: pd.DataFrame  # the final models over noise levels (V25 Fig. 17)
    sharp: pd.DataFrame  # ShOp / ShPred over parameter-noise levels (for the description; claims: section 4)
    binary_matched_levels: pd.DataFrame  # the binary models' sweep at matched accuracy (a failing claim's note)

    @property
    def plain_checks(self) -> pd.DataFrame:
        """The fixed-budget checkpoints of the plainly trained models."""
        return _plain(self.checks)

    @property
    def plain_levels(self) -> pd.DataFrame:
        """The noise-level sweep of the plainly trained fixed-budget models."""
        return _plain(self.levels)

    @property
    def plain_curves(self) -> pd.DataFrame:
        """The per-epoch curves of the plainly trained target-accuracy runs."""
        return self.curves[self.curves["method"] == "plain"] if len(self.curves) else self.curves


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` (with a ``model`` column) of the three architectures trained plainly; ``df`` if empty."""
    return df[df["model"].isin(PLAIN)] if len(df) else df


def results(cfg: VisionConfig, cache: Store | None = None) -> TenClassResults:
    """The section's tables, from the stored runs of ``cfg``."""
    runs = run_table(cfg, cache)
    fruns, fresults = fixed_table(cfg, cache)
    mruns, mresults = posthoc_table(cfg, cache, configs=matched_posthoc_runs(cfg))
    return TenClassResults(
        runs=runs,
        curves=curves(cfg, runs, cache),
        tokens=token_table(cfg, runs, cache),
        fixed_runs=fruns,
        fixed_results=fresults,
        fixed_curves=fixed_curves(fruns, fresults),
        checks=fixed_checkpoints(fruns, fresults),
        settle=fixed_settle(cfg, fruns, fresults),
        levels=fixed_noise_levels(fruns, fresults),
        sharp=sharp_long(fruns, fresults),
        binary_matched_levels=level_table(mruns, mresults),
    )


def section_claims(cfg: VisionConfig, r: TenClassResults) -> list[Claim]:
    """The section's claims: the ViT below the CNN and the MLP at the target accuracy, and under one fixed budget
    at matched accuracy, at the end and over noise levels."""
    return architecture_claims(cfg, r.runs) + fixed_claims(cfg, r.checks, r.runs, r.levels, r.binary_matched_levels)
