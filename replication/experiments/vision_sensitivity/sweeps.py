"""The chapter's runs for ``python -m replication.make``, part by part, in the order they are computed.

The parts: ``main`` (:func:`.runs.vision_runs`), ``fixed`` (the ten-class comparison under one fixed epoch budget,
seed by seed so that a partial sweep is balanced, the released code's dropout variant last), ``pixel`` (the plain
models again at V25's noise on [0, 1] pixels), ``binary`` (V25's binary MNIST experiment), ``no_patch_norm`` and
``adam`` (its ViT again without its patch LayerNorm, and with Adam), ``posthoc`` (the post-hoc measures of the stored
binary models, at the end and at matched training accuracy), ``posthoc_pixel`` (those at V25's pixel noise), and the
readings map (:mod:`.readings_map`): ``map_binary`` (the binary ViT and MLP), ``map_ten`` (the stored ten-class ViTs),
``map_reruns`` (the ten-class MLP and CNN trained again) and ``map_variants`` (the binary ViT without patch LayerNorm
and with Adam). The post-hoc and map parts read stored weights, so they come after the parts that train them.
"""

from __future__ import annotations

from ...runs.chapters import chapter
from ...runs.parts import Part, first_seeds, refuse
from .binary import KIND as BINARY_KIND, adam_runs, binary_runs, measure_binary, no_patch_norm_runs
from .measure import measure_vision
from .pixel import pixel_posthoc_runs, pixel_runs
from .posthoc import KIND as POSTHOC_KIND, matched_posthoc_runs, measure_posthoc, posthoc_runs
from .readings_map import KIND as MAP_KIND, map_rerun_runs, map_runs, measure_map
from .runs import KIND, fixed_runs, vision_runs
from .config import VisionConfig


def make_runs(scale: str, functions=None, seeds=None, steps=None) -> list[Part]:
    """Every part of the chapter at ``scale`` (see the module); ``seeds`` keeps the first seeds of each."""
    refuse(chapter(__name__).number, functions, steps)
    cfg = VisionConfig.from_params(scale=scale)
    fixed = sorted(fixed_runs(cfg), key=lambda r: (r.dropout > 0, r.seed))
    parts = [
        Part("main", KIND, vision_runs(cfg), measure_vision),
        Part("fixed", KIND, fixed, measure_vision),
        Part("pixel", KIND, pixel_runs(cfg), measure_vision),
        Part("binary", BINARY_KIND, binary_runs(cfg), measure_binary),
        Part("no_patch_norm", BINARY_KIND, no_patch_norm_runs(cfg), measure_binary),
        Part("adam", BINARY_KIND, adam_runs(cfg), measure_binary),
        Part("posthoc", POSTHOC_KIND, posthoc_runs(cfg) + matched_posthoc_runs(cfg), measure_posthoc, needs_store=True),
        Part("posthoc_pixel", POSTHOC_KIND, pixel_posthoc_runs(cfg), measure_posthoc, needs_store=True),
        Part("map_binary", MAP_KIND, map_runs(cfg, "binary"), measure_map, needs_store=True),
        Part("map_ten", MAP_KIND, map_runs(cfg, "ten"), measure_map, needs_store=True),
        Part("map_reruns", KIND, map_rerun_runs(cfg), measure_vision),
        Part("map_variants", MAP_KIND, map_runs(cfg, "variants"), measure_map, needs_store=True),
    ]
    for p in parts:
        p.runs = first_seeds(p.runs, seeds)
    return parts
