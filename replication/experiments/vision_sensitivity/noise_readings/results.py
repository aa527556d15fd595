"""V25's noise read every way, read once: :func:`results` gathers the sweeps at V25's variances read on [0, 1]
pixels (the ten-class reruns and the binary experiment's stored models) and the readings map, with every table the
section's page shows and its claims test."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ....report.claims import Claim
from ....runs.store import Store
from ..fixed import PLAIN, fixed_table
from ..map_analysis import map_grid, map_long
from ..pixel import all_levels, pixel_posthoc_runs, pixel_table, reproduced
from ..posthoc import matched_posthoc_runs
from ..posthoc_analysis import level_table, posthoc_table
from ..readings_map import map_rerun_runs
from ..config import VisionConfig
from .claims import map_claims, pixel_claims


@dataclasses.dataclass(frozen=True)
class ReadingsResults:
    """Everything the readings section shows (empty frames where a scale runs none)."""

    fixed_runs: pd.DataFrame  # the ten-class fixed-budget runs (the first runs the reruns are checked against)
    fixed_results: list[dict]
    reruns: pd.DataFrame  # the plain ten-class models trained again and measured at the pixel-scale levels
    rerun_results: list[dict]
    levels: pd.DataFrame  # the ten-class final models over noise levels, with the pixel-scale levels
    reproduced: pd.DataFrame  # each rerun against its first run
    binary_pixel_levels: pd.DataFrame  # the binary models at the pixel-scale levels
    binary_levels: pd.DataFrame  # the binary final models' noise-level sweep
    binary_matched_levels: pd.DataFrame  # the same at matched accuracy
    long: pd.DataFrame  # every stored measure of the map
    grid: pd.DataFrame  # the map: one row per (reading, comparison)
    map_reproduced: pd.DataFrame  # the map's ten-class reruns against their first runs

    @property
    def plain_levels(self) -> pd.DataFrame:
        """The ten-class sweep (with the pixel-scale levels) of the plainly trained models."""
        return self.levels[self.levels["model"].isin(PLAIN)] if len(self.levels) else self.levels


def results(cfg: VisionConfig, cache: Store | None = None) -> ReadingsResults:
    """The section's tables, from the stored runs of ``cfg``."""
    fruns, fresults = fixed_table(cfg, cache)
    reruns, rerun_results = pixel_table(cfg, cache)
    xruns, xresults = posthoc_table(cfg, cache, configs=pixel_posthoc_runs(cfg))
    pruns, presults = posthoc_table(cfg, cache)
    mruns, mresults = posthoc_table(cfg, cache, configs=matched_posthoc_runs(cfg))
    long = map_long(cfg, cache)
    map_runs, map_results = fixed_table(cfg, cache, configs=map_rerun_runs(cfg))
    return ReadingsResults(
        fixed_runs=fruns,
        fixed_results=fresults,
        reruns=reruns,
        rerun_results=rerun_results,
        levels=all_levels(fruns, fresults, reruns, rerun_results),
        reproduced=reproduced(fruns, fresults, reruns, rerun_results),
        binary_pixel_levels=level_table(xruns, xresults),
        binary_levels=level_table(pruns, presults),
        binary_matched_levels=level_table(mruns, mresults),
        long=long,
        grid=map_grid(cfg, long),
        map_reproduced=reproduced(fruns, fresults, map_runs, map_results),
    )


def section_claims(cfg: VisionConfig, r: ReadingsResults) -> list[Claim]:
    """The section's claims: the orders at V25's variances read on [0, 1] pixels, and V25's headline comparisons
    under the paper's and the released code's reading, counted over the map, with the axis that decides."""
    return pixel_claims(cfg, r.levels, r.binary_pixel_levels, r.binary_levels, r.binary_matched_levels) + map_claims(
        cfg, r.grid
    )
