"""Chapter 10's runs: :class:`VisionRun` (one trained model, a cache key) and :func:`vision_runs` and
:func:`fixed_runs`, every run of a config. The settings are :mod:`.config`, re-exported here."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ...checks import KEY_OMIT_DEFAULT
from ...runs.chapters import kind
from .config import AUG_VARIANCE_RATIO, PATCH, VisionConfig

KIND = kind("vision_run", __name__)


@dataclass(frozen=True)
class VisionRun:
    """One trained model: the cache key of :func:`measure_vision`."""

    dataset: str  # "mnist", "fashion_mnist" or "cifar10"
    data_dir: str  # folder of the data set's files ("" for the bundled MNIST subset)
    n_train: int  # training images (a fixed subset of the data set's training split)
    n_test: int  # test images (a fixed subset of its test split)
    arch: str  # "vit", "cnn" or "mlp"
    method: str  # "plain", "reg" or "aug"
    seed: int  # initialisation and batch order
    lr: float  # SGD learning rate (no momentum, no weight decay)
    batch_size: int  # SGD batch
    epochs: int  # epoch budget
    target_acc: float  # stop at the first epoch whose training accuracy reaches this
    patch: int  # token = a patch x patch patch
    sigma: float  # token noise standard deviation of the sensitivity (on standardised pixels)
    repeats: int  # noise draws per (image, token) in the final sensitivity
    n_sens: int  # training images of the final sensitivity
    curve_sens: int  # training images of the per-epoch sensitivity (one draw each)
    n_eval: int  # training (and test) images of the per-epoch accuracies and the stopping rule
    reg_lambda: float  # weight of the regulariser's MSE term ("reg" runs)
    reg_sigma: float  # noise standard deviation on the regulariser's one patch
    aug_sigma: float  # noise standard deviation on the whole image ("aug" runs)
    sharp_sigma: float  # parameter noise standard deviation of ShOp / ShPred
    sharp_repeats: int  # parameter noise draws
    n_sharp: int  # training images of ShOp / ShPred
    severities: tuple[int, ...]  # corruption severities measured
    n_corrupt: int  # test images under each corruption
    # The fixed-budget protocol (:func:`fixed_runs`); each default leaves the key of a run trained to target_acc as it was.
    fixed_budget: bool = field(default=False, metadata={KEY_OMIT_DEFAULT: True})  # train every epoch of the budget
    #                                                                               (target_acc unused)
    levels: tuple[float, ...] = field(default=(), metadata={KEY_OMIT_DEFAULT: True})  # training accuracies (n_eval
    #                                                    images) whose first epoch is kept and its sensitivity measured
    weight_dtype: str = field(default="", metadata={KEY_OMIT_DEFAULT: True})  # "float16" or "float32": store the
    #                                                         final weights ("": store none)
    dropout: float = field(default=0.0, metadata={KEY_OMIT_DEFAULT: True})  # the ViT's dropout (released code: 0.1)
    sharp_sigmas: tuple[float, ...] = field(default=(), metadata={KEY_OMIT_DEFAULT: True})  # ShOp / ShPred again at
    #                          each (eval mode; with dropout also train mode, as the released code measures them)
    noise_levels: tuple[float, ...] = field(default=(), metadata={KEY_OMIT_DEFAULT: True})  # the final model's
    #                          sensitivity again at each multiple of sigma (V25 Fig. 17; n_sens images, repeats draws)
    map_levels: tuple[tuple[float, str], ...] = field(default=(), metadata={KEY_OMIT_DEFAULT: True})  # the readings
    #  map's (noise, perturbation) pairs measured on the final model and the highest level's checkpoint (.readings)
    map_images: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})  # training images of those measures


def n_images(cfg: VisionConfig) -> tuple[int, int]:
    """Training and test images a run uses: the config's limits, else the data set's split sizes."""
    full = {"mnist": (4000, 1000), "fashion_mnist": (60_000, 10_000), "cifar10": (50_000, 10_000)}[cfg.dataset]
    return (min(cfg.n_train or full[0], full[0]), min(cfg.n_test or full[1], full[1]))


def vision_runs(cfg: VisionConfig) -> list[VisionRun]:
    """Every run of ``cfg``: each architecture trained plainly, the regularised one also with "reg" and "aug"."""
    n_train, n_test = n_images(cfg)
    sigma = cfg.noise_sigma
    lrs = {"vit": cfg.lr_vit, "cnn": cfg.lr_cnn, "mlp": cfg.lr_mlp}
    pairs = [(a, "plain") for a in cfg.architectures]
    pairs += [(cfg.regularised, m) for m in cfg.methods if m != "plain"]
    return [
        VisionRun(
            dataset=cfg.dataset,
            data_dir=cfg.data_dir if cfg.dataset != "mnist" else "",
            n_train=n_train,
            n_test=n_test,
            arch=a,
            method=m,
            seed=s,
            lr=lrs[a],
            batch_size=cfg.batch_size,
            epochs=cfg.epochs,
            target_acc=cfg.target_acc,
            patch=PATCH[cfg.dataset],
            sigma=sigma,
            repeats=cfg.repeats,
            n_sens=max(1, round(cfg.sens_fraction * n_train)),
            curve_sens=min(cfg.curve_sens, n_train),
            n_eval=min(cfg.n_eval, n_train),
            reg_lambda=cfg.reg_lambda,
            reg_sigma=sigma,
            aug_sigma=sigma * math.sqrt(AUG_VARIANCE_RATIO),
            sharp_sigma=cfg.sharp_sigma,
            sharp_repeats=cfg.sharp_repeats,
            n_sharp=min(cfg.n_sharp, n_train),
            severities=tuple(cfg.severities),
            n_corrupt=min(cfg.n_corrupt, n_test),
        )
        for a, m in pairs
        for s in range(cfg.seeds)
    ]


#: V25's released code trains its ViT with dropout 0.1 and measures ShOp / ShPred in train mode at this sigma.
RELEASED_DROPOUT, RELEASED_SHARP_SIGMA = 0.1, 0.05


def fixed_budget(run: VisionRun, cfg: VisionConfig, **changes) -> VisionRun:
    """``run`` under the fixed-budget protocol: ``cfg.fixed_epochs`` epochs, all trained, each of ``cfg.fixed_levels``
    kept and measured; ``changes`` set further fields."""
    return dataclasses.replace(
        run, epochs=cfg.fixed_epochs, fixed_budget=True, levels=tuple(cfg.fixed_levels), **changes
    )


def fixed_runs(cfg: VisionConfig) -> list[VisionRun]:
    """The runs of :func:`vision_runs` for ``cfg.fixed_seeds`` seeds under the fixed-budget protocol: every model
    trains ``fixed_epochs`` epochs, its sensitivity is measured in full at each of ``fixed_levels`` and at the end;
    the final model's sensitivity is measured again at every multiple ``posthoc_levels`` of sigma (V25 Fig. 17);
    the regularised architecture's runs also measure ShOp / ShPred at every ``fixed_sharp_sigmas`` on all training
    images (``fixed_sharp_repeats`` draws). Then, for ``cfg.released_seeds`` seeds, that architecture plain and
    with the regulariser trained with dropout 0.1 (V25's released code), ShOp / ShPred also in train mode."""
    if not max(cfg.fixed_seeds, cfg.released_seeds):
        return []
    out = []
    for r in vision_runs(dataclasses.replace(cfg, seeds=max(cfg.fixed_seeds, cfg.released_seeds))):
        sharp = r.arch == cfg.regularised
        fixed = fixed_budget(
            r,
            cfg,
            noise_levels=tuple(cfg.posthoc_levels),
            weight_dtype="float16" if r.arch in cfg.fixed_weights else "",
            sharp_sigmas=tuple(cfg.fixed_sharp_sigmas) if sharp else (),
            n_sharp=r.n_train if sharp else r.n_sharp,
            sharp_repeats=cfg.fixed_sharp_repeats if sharp else r.sharp_repeats,
        )
        if r.seed < cfg.fixed_seeds:
            out.append(fixed)
        if sharp and r.method in ("plain", "reg") and r.seed < cfg.released_seeds:
            out.append(
                dataclasses.replace(
                    fixed,
                    dropout=RELEASED_DROPOUT,
                    sharp_sigmas=tuple(sorted({*fixed.sharp_sigmas, RELEASED_SHARP_SIGMA})),
                )
            )
    return out
