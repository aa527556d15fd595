"""Regularisation, robustness and flat minima read once: :func:`results` gathers the ViT trained plainly, with the
sensitivity regulariser and with noise augmentation (at the target accuracy and under one fixed budget), with
every table the section's page shows and its claims test."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ....report.claims import Claim
from ....runs.store import Store
from ..analysis import corruption_table, run_table
from ..fixed import fixed_checkpoints, fixed_table, logit_scales, sharp_long
from ..config import VisionConfig
from .claims import method_claims, sharp_claims


@dataclasses.dataclass(frozen=True)
class RegularisationResults:
    """Everything the regularisation section shows (empty frames where a scale runs none)."""

    runs: pd.DataFrame  # the target-accuracy runs, every architecture and training method
    method_runs: pd.DataFrame  # those of the regularised architecture (every training method)
    corruptions: pd.DataFrame  # accuracy under every corruption and severity
    fixed_runs: pd.DataFrame  # the fixed-budget runs
    fixed_results: list[dict]
    checks: pd.DataFrame  # fixed budget: matched training accuracy and the end (for the description)
    sharp: pd.DataFrame  # ShOp / ShPred over parameter-noise levels, eval and train mode
    scales: pd.DataFrame  # each ViT's logit size and margin, from its stored final weights


def results(cfg: VisionConfig, cache: Store | None = None) -> RegularisationResults:
    """The section's tables, from the stored runs of ``cfg``."""
    runs = run_table(cfg, cache)
    fruns, fresults = fixed_table(cfg, cache)
    return RegularisationResults(
        runs=runs,
        method_runs=runs[runs["arch"] == cfg.regularised] if len(runs) else runs,
        corruptions=corruption_table(cfg, runs, cache),
        fixed_runs=fruns,
        fixed_results=fresults,
        checks=fixed_checkpoints(fruns, fresults),
        sharp=sharp_long(fruns, fresults),
        scales=logit_scales(cfg, fruns, fresults),
    )


def section_claims(cfg: VisionConfig, r: RegularisationResults) -> list[Claim]:
    """The section's claims: the regulariser's and augmentation's effects (V25 §7.1, §7.2) and the regularised
    ViT's flatter minimum under one fixed budget (V25 Table 2), also in the released code's variant."""
    return method_claims(cfg, r.runs) + sharp_claims(cfg, r.sharp, r.scales)
