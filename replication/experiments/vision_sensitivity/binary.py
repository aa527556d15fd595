"""V25's MNIST experiment as written (App. A.1, App. D, Fig. 13): digits 0-4 against 5-9, a ViT against an MLP.

One :class:`BinaryRun` is one trained model: V25's MNIST ViT (depth 2, one head, feed-forward width 128,
7x7 patches, T = 16 tokens) or MLP (one hidden layer of 100 LeakyReLU units), trained with SGD (learning
rate 0.01, batch 50) for a fixed epoch budget on the bundled MNIST digits with the labels of
:func:`replication.tasks.images.digit_halves`. :func:`measure_binary` logs every epoch the training
accuracy on all training images and a cheap sensitivity estimate (one noise draw per patch on a few
images); it keeps the weights at the first epoch whose training accuracy reaches each of ``levels``
(the matched-accuracy checkpoints of Fig. 13) and at the end of the budget, and measures each of these
checkpoints in full (V25 App. D: ``repeats`` noise draws per patch on ``n_sens`` training images). The
weights are stored with the result (float16 by default; the result records how far float16 predictions
agree with float32 ones), so later measures need no retraining: :func:`load_checkpoint`.
"""

from __future__ import annotations

import dataclasses

import copy
import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ...checks import KEY_OMIT_DEFAULT, check_choice, check_int
from ...measures.output_sharpness import predict_in_chunks
from ...models.vision import build_model
from ...runs.chapters import kind
from ...tasks import images as vision_data
from ...train import fit
from .measure import WEIGHT_DTYPES, epoch_batches, image_sensitivity
from .config import PATCH, SIGMA, VisionConfig, check_levels

KIND = kind("vision_binary_run", __name__)
#: The architectures of V25's MNIST experiment, and the same ViT without its patch LayerNorm (``vit_nopn``).
BINARY_ARCHITECTURES = ("vit", "mlp", "vit_nopn")
#: The optimisers a binary run may train with (no momentum, no weight decay for SGD; torch's defaults for Adam).
OPTIMIZERS = ("sgd", "adam")
#: V25 App. D's Adam schedule: initial learning rate, and the epochs after which it is halved.
ADAM_LR, ADAM_HALVE_EVERY = 0.002, 8


@dataclass(frozen=True)
class BinaryRun:
    """One model of V25's binary MNIST experiment: the cache key of :func:`measure_binary`."""

    arch: str  # "vit" or "mlp" (V25 App. D's MNIST shapes), or "vit_nopn" (the ViT without its patch LayerNorm)
    seed: int  # initialisation and batch order
    n_train: int  # training images of the bundled MNIST split
    n_test: int  # test images
    lr: float  # SGD learning rate (no momentum, no weight decay)
    batch_size: int  # SGD batch
    epochs: int  # the fixed epoch budget
    patch: int  # token = a patch x patch patch
    sigma: float  # token noise standard deviation (standardised pixels)
    repeats: int  # noise draws per (image, token) in the full sensitivity
    n_sens: int  # training images of the full sensitivity
    curve_sens: int  # training images of the per-epoch estimate (one draw each)
    levels: tuple[float, ...]  # training accuracies whose first epoch is kept and measured
    weight_dtype: str  # "float16" or "float32": how stored weights are kept
    optimizer: str = field(default="sgd", metadata={KEY_OMIT_DEFAULT: True})  # "sgd" (V25's MNIST runs) or "adam"
    halve_every: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})  # halve the lr every this many epochs
    #                                                                         (0: constant; V25 App. D's Adam: 8)

    def __post_init__(self):
        check_choice("arch", self.arch, BINARY_ARCHITECTURES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_int("halve_every", self.halve_every, 0, 10_000)
        check_int("seed", self.seed, 0)
        check_int("epochs", self.epochs, 1, 10_000)
        check_levels("levels", self.levels)
        check_choice("weight_dtype", self.weight_dtype, WEIGHT_DTYPES)


def first_at_or_above(history: list[dict], level: float, col: str = "train_acc") -> int | None:
    """Index of the first row of ``history`` whose ``col`` is at or above ``level``; None if none is."""
    for i, row in enumerate(history):
        if row[col] >= level:
            return i
    return None


def levelled(history: list[dict], col: str, window: int, bound: float) -> tuple[float, bool]:
    """``(change, ok)``: the change of ``col`` between the mean of the last ``window`` rows and the mean of the
    ``window`` rows before, and whether its size is at most ``bound``; ``(nan, False)`` if too short."""
    if len(history) < 2 * window:
        return float("nan"), False
    v = [float(r[col]) for r in history]
    change = sum(v[-window:]) / window - sum(v[-2 * window : -window]) / window
    return change, abs(change) <= bound


def binary_data(run: BinaryRun):
    """Standardised training and test images of ``run`` with the binary labels: (xtr, ytr, xte, yte, shape)."""
    data = vision_data.load_mnist().subset(run.n_train, run.n_test)
    return (
        data.standardise(data.x_train),
        vision_data.digit_halves(data.y_train),
        data.standardise(data.x_test),
        vision_data.digit_halves(data.y_test),
        data.shape,
    )


def new_model(run: BinaryRun, shape=(1, 28, 28)) -> torch.nn.Module:
    torch.manual_seed(run.seed)
    return build_model(run.arch, shape, run.patch, 2, shape="mnist")


def load_checkpoint(run: BinaryRun, state: dict) -> torch.nn.Module:
    """A float32 model of ``run`` holding the stored weights ``state`` (one checkpoint of the result), in eval mode."""
    model = new_model(run)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


@torch.no_grad()
def _accuracy(model, x, y) -> float:
    return float((predict_in_chunks(model, x).argmax(-1) == y).float().mean())


def measure_binary(run: BinaryRun, device: str = "cpu") -> dict:
    """Train ``run`` for its epoch budget, keep its matched-accuracy checkpoints and final weights, measure each."""
    xtr, ytr, xte, yte, shape = binary_data(run)
    model = new_model(run, shape)
    opt = (torch.optim.SGD if run.optimizer == "sgd" else torch.optim.Adam)(model.parameters(), lr=run.lr)
    order = torch.Generator().manual_seed(run.seed)
    curve_noise = torch.Generator().manual_seed(10_007 + run.seed)
    per_epoch = math.ceil(len(ytr) / run.batch_size)
    curve_idx = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(1))[: run.curve_sens]
    kept: dict[float, tuple[int, dict]] = {}

    @torch.no_grad()
    def evaluate(step, m) -> dict:
        if run.halve_every and step and (step // per_epoch) % run.halve_every == 0:  # after every halve_every epochs
            for group in opt.param_groups:
                group["lr"] = run.lr * 0.5 ** ((step // per_epoch) // run.halve_every)
        out = predict_in_chunks(m, xtr)
        acc = float((out.argmax(-1) == ytr).float().mean())
        for level in run.levels:
            if acc >= level and level not in kept:
                kept[level] = (step // per_epoch, copy.deepcopy(m.state_dict()))
        return {
            "epoch": step // per_epoch,
            "train_acc": acc,
            "test_acc": _accuracy(m, xte, yte),
            "train_loss": float(F.cross_entropy(out, ytr)),
            "sensitivity": image_sensitivity(m, xtr[curve_idx], run.patch, run.sigma, 1, curve_noise).fraction,
        }

    res = fit(
        model,
        epoch_batches(xtr, ytr, run.batch_size, order),
        lambda m, b: F.cross_entropy(m(b[0]), b[1]),
        opt,
        run.epochs * per_epoch,
        eval_every=per_epoch,
        evaluate=evaluate,
        progress=False,
    )
    t0 = time.perf_counter()
    sens_idx = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(2))[: run.n_sens]
    checkpoints = [(f"acc{i}", lv, *kept[lv]) for i, lv in enumerate(run.levels) if lv in kept]
    checkpoints.append(("final", None, int(res.history[-1]["epoch"]), copy.deepcopy(model.state_dict())))
    dtype, rows, weights = WEIGHT_DTYPES[run.weight_dtype], [], {}
    for name, level, epoch, state in checkpoints:
        m = load_checkpoint(run, state)  # float32, exactly the trained weights
        sens = image_sensitivity(m, xtr[sens_idx], run.patch, run.sigma, run.repeats, torch.Generator().manual_seed(3))
        weights[name] = {k: v.to(dtype).contiguous() for k, v in state.items()}
        stored = load_checkpoint(run, weights[name])
        with torch.no_grad():
            agree = float(
                (predict_in_chunks(stored, xtr).argmax(-1) == predict_in_chunks(m, xtr).argmax(-1)).float().mean()
            )
        rows.append(
            {
                "name": name,
                "level": level,
                "epoch": epoch,
                "train_acc": _accuracy(m, xtr, ytr),
                "test_acc": _accuracy(m, xte, yte),
                "sensitivity": sens.fraction,
                "per_token": sens.per_token.tolist(),
                "evaluations": sens.n_evaluations,
                "stored_agreement": agree,
            }
        )
    final = rows[-1]
    return {
        "history": [{k: (int(v) if k in ("step", "epoch") else float(v)) for k, v in r.items()} for r in res.history],
        "checkpoints": rows,
        "weights": weights,
        "train_acc": final["train_acc"],
        "test_acc": final["test_acc"],
        "sensitivity": final["sensitivity"],
        "epochs_run": final["epoch"],
        "failed": res.failed,
        "stored_agreement": min(r["stored_agreement"] for r in rows),
        "train_seconds": res.seconds,
        "measure_seconds": time.perf_counter() - t0,
    }


def binary_runs(cfg: VisionConfig) -> list[BinaryRun]:
    """Every run of V25's binary MNIST experiment under ``cfg``: per seed the MLP, then the ViT (the bundled MNIST
    digits whatever ``cfg.dataset`` is: V25 ran it on MNIST)."""
    full_train, full_test = 4000, 1000
    n_train, n_test = min(cfg.n_train or full_train, full_train), min(cfg.n_test or full_test, full_test)
    sigma = float(cfg.sigma) if cfg.sigma is not None else SIGMA["mnist"]
    return [
        BinaryRun(
            arch=a,
            seed=s,
            n_train=n_train,
            n_test=n_test,
            lr=cfg.binary_lr,
            batch_size=cfg.batch_size,
            epochs=cfg.binary_epochs,
            patch=PATCH["mnist"],
            sigma=sigma,
            repeats=cfg.repeats,
            n_sens=max(1, round(cfg.binary_sens_fraction * n_train)),
            curve_sens=min(cfg.binary_curve_sens, n_train),
            levels=tuple(cfg.binary_levels),
            weight_dtype=cfg.binary_weights,
        )
        for s in range(cfg.binary_seeds)
        for a in ("mlp", "vit")
    ]


def adam_runs(cfg: VisionConfig) -> list[BinaryRun]:
    """The ViT runs of :func:`binary_runs` again with Adam, V25 App. D's schedule (lr 0.002, halved every 8 epochs),
    for ``cfg.binary_adam`` seeds (V25 Fig. 14)."""
    vit = [r for r in binary_runs(cfg) if r.arch == "vit" and r.seed < cfg.binary_adam]
    return [dataclasses.replace(r, optimizer="adam", lr=ADAM_LR, halve_every=ADAM_HALVE_EVERY) for r in vit]


def no_patch_norm_runs(cfg: VisionConfig) -> list[BinaryRun]:
    """The ViT runs of :func:`binary_runs` again without the patch LayerNorm (``cfg.binary_no_patch_norm`` seeds)."""
    vit = [r for r in binary_runs(cfg) if r.arch == "vit" and r.seed < cfg.binary_no_patch_norm]
    return [dataclasses.replace(r, arch="vit_nopn") for r in vit]
