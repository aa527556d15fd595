"""Chapter 10: token-wise sensitivity of vision models, sensitivity regularisation, robustness and flat minima.

V25 §5 (and App. A.1, D): a ViT, a CNN and an MLP trained with SGD to comparable training accuracy; the
ViT's token-wise sensitivity (V25 Def. 4.1, :func:`replication.measures.token.token_sensitivity` on
the image's patch tokens) is the lowest. V25 §7.1: training with a sensitivity regulariser
(cross-entropy + λ · MSE between the logits on the clean image and on the image with one random patch
noised) or with whole-image noise augmentation lowers sensitivity and raises accuracy under
corruptions. V25 §7.2, Table 2: the regularised model sits in a flatter minimum (ShOp, ShPred under
Gaussian parameter noise).

One :class:`VisionRun` is one trained model: :func:`measure_vision` trains it through
:func:`replication.train.fit` until its training accuracy reaches ``target_acc`` (so all models end at
comparable training accuracy) or the epoch budget runs out, logging accuracy and a cheap sensitivity
estimate every epoch; at the end it measures the sensitivity in full, the accuracy under every
corruption (:mod:`replication.tasks.corruptions`) and the sharpness. Runs go through
:func:`replication.runs.sweep.run_sweep`, each stored on its own.

V25's own MNIST experiment (App. A.1, Fig. 13: digits 0-4 against 5-9, a ViT against an MLP, a fixed epoch
budget, compared at matched training accuracy) is :mod:`.binary` (runs, training, stored checkpoints) and
:mod:`.binary_analysis` (tables); its claims are in :mod:`.binary_mnist`.

The ten-class comparison again under one fixed epoch budget, compared at matched training accuracy and at the
end, with each final model measured over noise levels and the regularised ViT's ShOp / ShPred over parameter-noise
levels (and in the released code's dropout variant), is :mod:`.fixed` (tables); its claims are in
:mod:`.ten_class` and :mod:`.regularisation`. The binary ViT without its patch LayerNorm and with Adam are
:mod:`.binary_mnist.patch_norm` and :mod:`.binary_mnist.adam`.

The chapter's pages after its first are sections, each a subpackage with its claims and one named result
(``results(cfg)``) for its page: :mod:`.binary_mnist` (V25's binary MNIST experiment), :mod:`.ten_class` (the
ten-class comparison), :mod:`.noise_readings` (V25's noise read every way) and :mod:`.regularisation`
(regularisation, robustness and flat minima); they share this package's config, runs and tables.

The code, by stage: :mod:`.config` (settings, presets), :mod:`.runs` (the runs of a config), :mod:`.measure`
(training and measuring one run), :mod:`.analysis` (the sweep and its tables, the pages' prose). This package
re-exports the names the pages and tests use.
"""

from __future__ import annotations

from .analysis import (
    NAMES,
    PAPER,
    corruption_table,
    curves,
    describe,
    describe_methods,
    paper_beside_ours,
    run_table,
    summary,
    token_table,
)
from .binary import BinaryRun, binary_runs, first_at_or_above, levelled, load_checkpoint, measure_binary
from .binary_analysis import (
    binary_curves,
    binary_settings,
    binary_status,
    binary_table,
    checkpoint_table,
    describe_binary,
    matched_levels,
    matched_table,
    settle_table,
)
from ...measures.output_sharpness import predict_in_chunks, shop_shpred
from .posthoc import PosthocRun, blank_patches, measure_posthoc, patch_flips, posthoc_runs, whole_image_sensitivity
from .posthoc_analysis import (
    calibrated,
    describe_posthoc,
    level_table,
    posthoc_settings,
    posthoc_status,
    posthoc_table,
    sweep_summary,
    table4,
    whole_table,
)
from .measure import image_sensitivity, load_run_data, measure_vision, one_patch_noise, training_loss
from .runs import KIND, VisionRun, fixed_runs, n_images, vision_runs
from .config import AUG_VARIANCE_RATIO, METHODS, NOISE, PATCH, PRESETS, SIGMA, VisionConfig

__all__ = [
    "BinaryRun",
    "binary_curves",
    "binary_runs",
    "binary_settings",
    "binary_status",
    "binary_table",
    "checkpoint_table",
    "describe_binary",
    "first_at_or_above",
    "levelled",
    "load_checkpoint",
    "matched_levels",
    "matched_table",
    "measure_binary",
    "settle_table",
    "PosthocRun",
    "blank_patches",
    "calibrated",
    "describe_posthoc",
    "level_table",
    "measure_posthoc",
    "patch_flips",
    "posthoc_runs",
    "posthoc_settings",
    "posthoc_status",
    "posthoc_table",
    "sweep_summary",
    "table4",
    "whole_image_sensitivity",
    "whole_table",
    "AUG_VARIANCE_RATIO",
    "KIND",
    "METHODS",
    "NAMES",
    "NOISE",
    "PAPER",
    "PATCH",
    "PRESETS",
    "SIGMA",
    "VisionConfig",
    "VisionRun",
    "corruption_table",
    "curves",
    "describe",
    "describe_methods",
    "fixed_runs",
    "image_sensitivity",
    "load_run_data",
    "measure_vision",
    "n_images",
    "one_patch_noise",
    "paper_beside_ours",
    "predict_in_chunks",
    "run_table",
    "shop_shpred",
    "summary",
    "token_table",
    "training_loss",
    "vision_runs",
]
