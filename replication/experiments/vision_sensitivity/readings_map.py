"""The readings map's runs: every model whose weights are stored, and the ten-class CNN and MLP trained again,
measured under every reading of V25's noise (:mod:`.readings`), each distinct (noise, perturbation) once.

One :class:`MapRun` is one stored model (a :class:`~.binary.BinaryRun` and one of its checkpoints, or a ten-class
:class:`~.runs.VisionRun`'s final model) measured post hoc at the map's levels (:func:`map_levels`) on the first
``n_images`` training images of the chapter's fixed shuffle. The ten-class CNN and MLP have no stored weights: they
are trained again from their fixed-budget runs' settings and seeds (:func:`map_rerun_runs`), which measure the same
levels on their final model and at their highest matched-accuracy checkpoint, and store those numbers, not weights.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from ...checks import check_int
from ...models.vision import build_model
from ...runs.chapters import kind
from ...runs.store import Store
from ...runs.sweep import run_key
from .binary import (
    KIND as BINARY_KIND,
    BinaryRun,
    adam_runs,
    binary_data,
    binary_runs,
    load_checkpoint,
    no_patch_norm_runs,
)
from .measure import load_run_data, measure_levels
from .pixel import pixel_std
from .posthoc import check_checkpoint
from .readings import map_readings, measurements
from .runs import KIND as VISION_KIND, VisionRun, fixed_budget, fixed_runs, n_images, vision_runs
from .config import PATCH, VisionConfig

KIND = kind("vision_map", __name__)


def map_pixel_std(cfg: VisionConfig) -> float:
    """The pixel standard deviation (on [0, 1]) of the MNIST training images the map's models read (the binary and
    the ten-class ones read the same images)."""
    return pixel_std("mnist", "", *n_images(dataclasses.replace(cfg, dataset="mnist", data_dir="")))


def map_levels(cfg: VisionConfig) -> tuple[tuple[float, str], ...]:
    """The (noise standard deviation on standardised pixels, perturbation) pairs the map's readings need."""
    return measurements(map_readings(cfg.map_grid), map_pixel_std(cfg), PATCH["mnist"])


@dataclass(frozen=True)
class MapRun:
    """One stored model measured at the map's levels: the cache key of :func:`measure_map`."""

    run: BinaryRun | VisionRun  # the stored run whose weights are read
    checkpoint: str  # "final" (the end of the budget) or "acc<k>" (a binary run's k-th level; binary runs only)
    n_images: int  # training images measured (the first of the chapter's fixed shuffle)
    repeats: int  # noise draws per (image, patch), or per image for scattered pixels
    levels: tuple[tuple[float, str], ...]  # (noise standard deviation, perturbation) pairs

    def __post_init__(self):
        if isinstance(self.run, BinaryRun):
            check_checkpoint("checkpoint", self.checkpoint, self.run.levels)
        elif self.checkpoint != "final":
            raise ValueError(f"checkpoint: a ten-class run stores its final weights alone, got {self.checkpoint!r}")
        check_int("n_images", self.n_images, 1, self.run.n_train)
        check_int("repeats", self.repeats, 1, 1000)
        if not self.levels or any(p not in ("token", "scattered") or not s > 0 for s, p in self.levels):
            raise ValueError(f"levels: must be (positive sigma, 'token' or 'scattered') pairs, got {self.levels!r}")


def map_sources(cfg: VisionConfig) -> dict[str, list]:
    """The stored runs of the map by group, for the first ``cfg.map_seeds`` seeds: ``binary`` (the ViT and the MLP
    of V25's binary experiment), ``variants`` (its ViT without patch LayerNorm and with Adam, ``map_variants`` seeds), ``ten`` (the plain
    ten-class ViT, whose final weights the fixed-budget protocol stores)."""
    seeds = cfg.map_seeds
    ten = [r for r in fixed_runs(cfg) if r.arch == "vit" and r.method == "plain" and not r.dropout and r.weight_dtype]
    return {
        "binary": [b for b in binary_runs(cfg) if b.seed < seeds],
        "variants": [b for b in no_patch_norm_runs(cfg) + adam_runs(cfg) if b.seed < min(seeds, cfg.map_variants)],
        "ten": [r for r in ten if r.seed < seeds],
    }


def map_runs(cfg: VisionConfig, group: str) -> list[MapRun]:
    """The map's measures of ``group`` (:func:`map_sources`): binary runs at the end of the budget and at the highest
    of ``binary_levels`` (the matched-accuracy comparison), ten-class runs at the end."""
    if not cfg.map_seeds:
        return []
    levels, top = map_levels(cfg), f"acc{len(cfg.binary_levels) - 1}"
    out = []
    for r in map_sources(cfg)[group]:
        n = max(1, round((cfg.map_fraction if isinstance(r, BinaryRun) else cfg.map_ten_fraction) * r.n_train))
        for ck in ("final", top) if isinstance(r, BinaryRun) else ("final",):
            out.append(MapRun(run=r, checkpoint=ck, n_images=n, repeats=cfg.repeats, levels=levels))
    return out


def map_rerun_runs(cfg: VisionConfig) -> list[VisionRun]:
    """The plain ten-class MLP and CNN of the fixed-budget protocol for the first ``map_seeds`` seeds (at most
    ``fixed_seeds``: each has a first run to be checked against), trained the same way and measured at the map's
    levels at the end and at the highest level's checkpoint (no noise-level sweep, no weights)."""
    seeds = min(cfg.map_seeds, cfg.fixed_seeds)
    if not seeds:
        return []
    plain = dataclasses.replace(cfg, seeds=seeds, methods=("plain",))
    runs = [r for r in vision_runs(plain) if r.arch in ("mlp", "cnn")]
    runs.sort(key=lambda r: (r.arch != "mlp", r.seed))  # the cheap MLP first
    return [
        fixed_budget(r, cfg, map_levels=map_levels(cfg), map_images=max(1, round(cfg.map_ten_fraction * r.n_train)))
        for r in runs
    ]


def measure_map(run: MapRun, device: str = "cpu", store: Store | None = None) -> dict:
    """Load ``run``'s stored weights and measure the sensitivity at each of its levels."""
    r, store = run.run, store if store is not None else Store()
    binary = isinstance(r, BinaryRun)
    entry, _ = store.find(BINARY_KIND if binary else VISION_KIND, run_key(r, "cpu"))
    if entry is None:
        raise ValueError(f"run: no stored result for {r} (compute its part first)")
    weights = entry["result"].get("weights", {}).get(run.checkpoint)
    if weights is None:  # a binary run that never reached that level within its budget
        return {"measures": [], "reached": False, "measure_seconds": 0.0}
    if binary:
        model, x = load_checkpoint(r, weights), binary_data(r)[0]
    else:
        data = load_run_data(r)
        model = build_model(r.arch, data.shape, r.patch, data.classes, dropout=r.dropout)
        model.load_state_dict({k: v.float() for k, v in weights.items()})
        model.eval()
        x = data.standardise(data.x_train)
    idx = torch.randperm(r.n_train, generator=torch.Generator().manual_seed(2))[: run.n_images]  # the chapter's shuffle
    t0 = time.perf_counter()
    rows = measure_levels(model, x[idx], r.patch, run.levels, run.repeats)
    epoch = next((c["epoch"] for c in entry["result"].get("checkpoints", []) if c["name"] == run.checkpoint), None)
    return {"measures": rows, "reached": True, "epoch": epoch, "measure_seconds": time.perf_counter() - t0}
