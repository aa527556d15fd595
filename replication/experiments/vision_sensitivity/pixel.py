"""V25's noise levels read on [0, 1] pixels: the plain ViT, CNN and MLP of the fixed-budget protocol
(:func:`.runs.fixed_runs`) trained again, seed for seed, with each final model's sensitivity measured exactly at
the multiples of the chapter's sigma that V25's variances would be if they referred to pixels in [0, 1] rather
than to standardised pixels (V25 App. D states the variances, not the scale). The runs train the same models as
the fixed-budget runs of the same seed, so they also test that a run is reproduced from its seed."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd

from ...report.empty import table_when_run
from ...report.stats import mean_sd_table
from ...runs.stored import stored_sentence
from ...runs.store import Store
from .analysis import NAMES
from .fixed import PLAIN, fixed_noise_levels, fixed_table, model_label
from .posthoc import PosthocRun, matched_posthoc_runs, posthoc_runs
from .binary import binary_runs
from .runs import fixed_budget, n_images, vision_runs
from .config import VisionConfig


#: V25's variance per data set (§5, App. D); MNIST has none and takes Fashion-MNIST's (:data:`.config.SIGMA`).
V25_VARIANCE = {"mnist": ("Fashion-MNIST", 5.0), "fashion_mnist": ("Fashion-MNIST", 5.0), "cifar10": ("CIFAR-10", 1.0)}


@functools.lru_cache(maxsize=8)
def pixel_std(dataset: str, data_dir: str, n_train: int | None, n_test: int | None) -> float:
    """The standard deviation, on [0, 1] pixels, of the training images the models are standardised with (the mean
    over channels): one standardised unit in units of a [0, 1] pixel."""
    from ...tasks import images as vision_data

    return float(vision_data.load(dataset, data_dir or None).subset(n_train, n_test).std.mean())


def pixel_multiples(cfg: VisionConfig, binary: bool = False) -> dict[str, float]:
    """Which multiple of the chapter's sigma each of V25's noise levels is, read on [0, 1] pixels, computed from
    the training images (:func:`pixel_std`): a sigma ``s`` on [0, 1] pixels is ``s / std`` standardised units.
    ``binary``: for the binary experiment's models (MNIST, its own training images). Rounded to 3 decimals (they
    enter cache keys)."""
    if binary:
        b = binary_runs(cfg)[0]
        std, sigma, dataset = pixel_std("mnist", "", b.n_train, b.n_test), b.sigma, "mnist"
    else:
        std, sigma, dataset = pixel_std(cfg.dataset, cfg.data_dir, *n_images(cfg)), cfg.noise_sigma, cfg.dataset
    name, var = V25_VARIANCE[dataset]
    return {
        f"the same sigma ({sigma:.3f}) on [0, 1] pixels": round(1 / std, 3),
        f"V25's {name} variance, {var:g}, on [0, 1] pixels": round(var**0.5 / (std * sigma), 3),
    }


def noise_units(cfg: VisionConfig, levels: pd.DataFrame | None = None) -> str:
    """The chapter's noise in other units, computed from the data: what sigma is in units of raw pixels scaled to
    [0, 1] (torchvision's ``ToTensor`` without normalisation, which V25's variances may refer to), and which multiple
    of the chapter's sigma V25's own variances would be if they did (:func:`pixel_multiples`); with ``levels``, the
    order of the plain models at the measured multiple nearest each (where all three are measured)."""
    std, sigma, mult = pixel_std(cfg.dataset, cfg.data_dir, *n_images(cfg)), cfg.noise_sigma, pixel_multiples(cfg)
    text = (
        f"The models read standardised pixels: one unit is the training set's pixel standard deviation, "
        f"{std:.3f} of the range of a [0, 1] pixel. The chapter's sigma, {sigma:.3f} standardised units, is "
        f"{sigma * std:.3f} on [0, 1] pixels. V25 state their variances without saying which scale they refer "
        "to. If they meant [0, 1] pixels, "
        + "; ".join(f"{k} would be {v:g} × the chapter's sigma here" for k, v in mult.items())
        + "."
    )
    if levels is not None and len(levels):
        m = levels[levels["model"].isin(PLAIN)].groupby(["ratio", "model"])["sensitivity"].mean().unstack()
        m = m.reindex(columns=PLAIN).dropna()  # the levels at which all three are measured
        for k, v in mult.items():
            if len(m):
                r = min(m.index, key=lambda x: abs(np.log(x / v)))
                text += f" At {r:g} × sigma, the measured level nearest {k}, the order is {' < '.join(m.loc[r].sort_values().index)}."
    return text


def pixel_runs(cfg: VisionConfig) -> list:
    """The plain models of :func:`.runs.fixed_runs` for its first ``cfg.pixel_seeds`` seeds (at most ``fixed_seeds``:
    each rerun has a first run to be checked against), trained the same way, their final sensitivity measured at
    :func:`pixel_multiples` (no weights stored, ShOp / ShPred at the run's default)."""
    seeds = min(cfg.pixel_seeds, cfg.fixed_seeds)
    if not seeds:
        return []
    levels = tuple(sorted(set(pixel_multiples(cfg).values())))
    plain = dataclasses.replace(cfg, seeds=seeds, methods=("plain",))
    return [fixed_budget(r, cfg, noise_levels=levels) for r in vision_runs(plain)]


def pixel_table(
    cfg: VisionConfig, cache: Store | None = None, configs: list | None = None
) -> tuple[pd.DataFrame, list[dict]]:
    """``(runs, results)`` of :func:`pixel_runs` (or of ``configs``), computed or read (:func:`.fixed.fixed_table`)."""
    return fixed_table(cfg, cache, pixel_runs(cfg) if configs is None else configs)


#: The columns of :func:`reproduced` whose zero means "the same numbers".
DIFFS = ["max |Δ| per epoch", "max |Δ| at checkpoints", "|Δ| final sensitivity"]


def reproduced(fruns: pd.DataFrame, fresults: list[dict], pruns: pd.DataFrame, presults: list[dict]) -> pd.DataFrame:
    """Per rerun with a fixed-budget run of the same model and seed: the largest absolute difference between the two
    over every epoch's logged numbers, over every level checkpoint's sensitivity and in the final sensitivity
    (infinite where the two logged different epochs or checkpoints, or a number is missing)."""
    first = {
        (r.arch, r.seed): res for r, res in zip(fruns.itertuples(), fresults) if r.method == "plain" and not r.dropout
    }

    def gap(a, b) -> float:
        a, b = np.asarray(a, float), np.asarray(b, float)
        return float(np.nan_to_num(np.abs(a - b), nan=np.inf).max()) if a.shape == b.shape and a.size else np.inf

    rows = []
    for r, res in zip(pruns.itertuples(), presults):
        old = first.get((r.arch, r.seed))
        if old is None:
            continue
        cols = ["epoch", "train_acc", "test_acc", "train_loss", "sensitivity"]
        a, b = pd.DataFrame(old["history"]), pd.DataFrame(res["history"])
        ca, cb = pd.DataFrame(old["checkpoints"]), pd.DataFrame(res["checkpoints"])
        rows.append(
            {
                "model": model_label(r.arch, r.method, r.dropout),
                "seed": r.seed,
                "epochs": len(b) - 1,
                DIFFS[0]: gap(a[cols], b[cols]),
                DIFFS[1]: gap(ca[["epoch", "sensitivity"]], cb[["epoch", "sensitivity"]]),
                DIFFS[2]: gap(old["sensitivity"], res["sensitivity"]),
                "final sensitivity (first run)": old["sensitivity"],
                "final sensitivity (rerun)": res["sensitivity"],
            }
        )
    return pd.DataFrame(rows)


def all_levels(fruns: pd.DataFrame, fresults: list[dict], pruns: pd.DataFrame, presults: list[dict]) -> pd.DataFrame:
    """The final models' noise-level sweep (:func:`.fixed.fixed_noise_levels`) with the reruns' pixel-scale levels
    added, each under its seed: the same models where :func:`reproduced` finds no difference, further runs of the
    same settings otherwise (:func:`describe_reproduced` says which)."""
    return pd.concat([fixed_noise_levels(fruns, fresults), fixed_noise_levels(pruns, presults)], ignore_index=True)


def describe_reproduced(cfg: VisionConfig, table: pd.DataFrame, runs: pd.DataFrame) -> str:
    """How many reruns (``runs``: :func:`pixel_table`'s) are stored, what they cost, and whether they gave the first
    runs' numbers (``table``: :func:`reproduced`)."""
    n, stored = len(pixel_runs(cfg)), len(runs)
    if not stored:
        return f"**None of the {n} reruns at the pixel-scale noise is stored at this scale.**"
    head = stored_sentence(
        stored, n, "reruns at the pixel-scale noise", uses="the figure and the diagnosis claims", seeds=False
    )
    if "train_seconds" in runs:
        head += (
            f" They cost {runs['train_seconds'].sum() / 60:.0f} CPU-minutes of training and per-epoch evaluation, "
            "one thread each."
        )
    head += " "
    if table.empty:
        return head + "None of them has a first run of the same model and seed stored at this scale to compare with."
    worst = table[DIFFS].max(axis=1)
    if (worst == 0).all():
        return head + (
            f"All {len(table)} reruns compared gave the first runs' numbers exactly: every epoch's accuracies, "
            "loss and sensitivity estimate, every checkpoint's sensitivity and the final sensitivity. So the "
            "reruns' models are the first runs' models, and their sweep extends the one above."
        )
    return head + (
        f"{int((worst > 0).sum())} of {len(table)} reruns differ from their first runs (largest difference "
        f"in a logged number: {worst.max():.3g}), so the same seed does not give bit-identical training here; "
        "those reruns are further runs of the same settings."
    )


#: The binary experiment's models (V25 App. A.1): the ViT against the MLP.
BINARY = [NAMES["vit"], NAMES["mlp"]]


def pixel_posthoc_runs(cfg: VisionConfig) -> list[PosthocRun]:
    """With ``cfg.pixel_seeds``, the binary experiment's post-hoc measures (:func:`.posthoc.posthoc_runs`, and at
    matched accuracy with ``posthoc_matched``) at the :func:`pixel_multiples` alone, from the stored weights."""
    if not cfg.pixel_seeds or not cfg.binary_seeds:
        return []
    levels = tuple(sorted(set(pixel_multiples(cfg, binary=True).values())))
    return [
        dataclasses.replace(p, sigmas=tuple(p.binary.sigma * m for m in levels), whole_sigmas=())
        for p in posthoc_runs(cfg) + matched_posthoc_runs(cfg)
    ]


@table_when_run
def pixel_summary(levels: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of the sensitivity per (checkpoint, multiple of sigma, model)."""
    return mean_sd_table(
        levels.assign(ratio=levels["ratio"].round(3)),
        ["checkpoint", "ratio", "model"],
        ["sensitivity"],
        significant=True,
        sd_digits=2,
        sort=True,
    )
