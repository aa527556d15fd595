"""Post-hoc measures on the stored weights of V25's binary MNIST experiment (:mod:`.binary`), no retraining.

One :class:`PosthocRun` is one stored model (a :class:`~.binary.BinaryRun` and one of its checkpoints, by
default the end of the budget). :func:`measure_posthoc` loads its weights from the store and measures, on a
fixed subsample of the training images:

- V25 Fig. 17: the token-wise sensitivity (:func:`~.measure.image_sensitivity`) at every noise level of
  ``sigmas``, one image at a time, so each (image, patch) pair's share of changed predictions is kept;
- the blank-patch split: at every noise level, the prediction changes on *blank* patches (whose raw pixels
  span at most ``blank_tol`` grey levels: all-zero on MNIST's margins) and on informative ones;
- V25 App. A.2, Table 4: the share of changed predictions under Gaussian noise on the whole image, at every
  standard deviation of ``whole_sigmas``; the analysis (:mod:`.posthoc_analysis`) picks the one at which the
  ViT's sensitivity is closest to its token-wise sensitivity at the chapter's noise level, as V25 do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ...checks import check_float, check_increasing, check_int
from ...measures.output_sharpness import predict_in_chunks
from ...measures.token import patchify
from ...runs.chapters import kind
from ...runs.store import Store
from ...runs.sweep import run_key
from ...tasks import images as vision_data
from .binary import KIND as BINARY_KIND, BinaryRun, binary_data, binary_runs, load_checkpoint
from .measure import image_sensitivity
from .config import VisionConfig

KIND = kind("vision_posthoc", __name__)


def check_checkpoint(name: str, checkpoint: str, levels: tuple[float, ...]) -> str:
    """A stored checkpoint of a binary run: "final" (the end of the budget) or "acc<k>", its first epoch at or above
    the k-th of its ``levels``."""
    allowed = ["final"] + [f"acc{k}" for k in range(len(levels))]
    if checkpoint not in allowed:
        raise ValueError(f"{name}: must be one of {allowed} (the run's stored checkpoints), got {checkpoint!r}")
    return checkpoint


def check_positive_grid(name: str, values) -> tuple[float, ...]:
    """A non-empty strictly increasing tuple of positive finite numbers."""
    return check_increasing(name, values, 1e6, "increasing list of positive numbers")


@dataclass(frozen=True)
class PosthocRun:
    """One stored model measured post hoc: the cache key of :func:`measure_posthoc`."""

    binary: BinaryRun  # the stored run whose weights are read
    checkpoint: str  # which stored checkpoint ("final": the end of the budget; "acc<k>": at the k-th level)
    n_images: int  # training images measured (the first of the full measure's fixed shuffle)
    repeats: int  # noise draws per (image, patch) and per image under whole-image noise
    sigmas: tuple[float, ...]  # token noise standard deviations (V25 Fig. 17)
    whole_sigmas: tuple[float, ...]  # whole-image noise standard deviations (V25 Table 4; may be empty)
    blank_tol: float  # a patch is blank if its raw pixels span at most this many grey levels

    def __post_init__(self):
        check_checkpoint("checkpoint", self.checkpoint, self.binary.levels)
        check_int("n_images", self.n_images, 1, self.binary.n_train)
        check_int("repeats", self.repeats, 1, 1000)
        check_positive_grid("sigmas", self.sigmas)
        if self.whole_sigmas:  # none: the token-wise sweep alone
            check_positive_grid("whole_sigmas", self.whole_sigmas)
        check_float("blank_tol", self.blank_tol, 0.0, 255.0)


def posthoc_runs(cfg: VisionConfig, checkpoint: str = "final") -> list[PosthocRun]:
    """One post-hoc measure per stored binary run of ``cfg`` (its ``checkpoint``), in :func:`binary_runs`'s order."""
    sigma = binary_runs(cfg)[0].sigma if cfg.binary_seeds else 0.0
    return [
        PosthocRun(
            binary=b,
            checkpoint=checkpoint,
            n_images=min(cfg.posthoc_images, b.n_train),
            repeats=cfg.posthoc_repeats,
            sigmas=tuple(sigma * f for f in cfg.posthoc_levels),
            whole_sigmas=tuple(sigma * f for f in cfg.posthoc_whole),
            blank_tol=cfg.posthoc_blank_tol,
        )
        for b in binary_runs(cfg)
    ]


def matched_posthoc_runs(cfg: VisionConfig) -> list[PosthocRun]:
    """With ``cfg.posthoc_matched``, the same measures at each binary run's checkpoint at the highest of
    ``cfg.binary_levels`` (its first epoch at or above that training accuracy: the models compared as V25 Fig. 13
    compares them)."""
    if not cfg.posthoc_matched or not cfg.binary_seeds:
        return []
    return posthoc_runs(cfg, f"acc{len(cfg.binary_levels) - 1}")


def blank_patches(raw: torch.Tensor, patch: int, tol: float) -> torch.Tensor:
    """(N, T) bool: patch t of image n is blank, its raw pixels spanning at most ``tol`` grey levels."""
    tokens = patchify(raw.float(), patch)  # (N, T, D)
    return (tokens.amax(-1) - tokens.amin(-1)) <= tol


def whole_image_sensitivity(model, x: torch.Tensor, sigma: float, repeats: int, generator=None) -> float:
    """Share of ``len(x) * repeats`` evaluations whose predicted class changes when N(0, sigma²) is added to every
    pixel of the image (V25 App. A.2's random noise)."""
    with torch.no_grad():
        clean = predict_in_chunks(model, x).argmax(-1)
        noisy = x.repeat_interleave(repeats, 0)
        noisy = noisy + sigma * torch.randn(noisy.shape, generator=generator, dtype=x.dtype)
        out = predict_in_chunks(model, noisy).argmax(-1)
    return float((out != clean.repeat_interleave(repeats)).float().mean())


def patch_flips(model, x: torch.Tensor, patch: int, sigma: float, repeats: int, generator=None) -> np.ndarray:
    """(N, T): per image and patch, the share of ``repeats`` noise draws that change the prediction, from the
    chapter's measure (:func:`~.measure.image_sensitivity`) called one image at a time."""
    return np.stack(
        [
            image_sensitivity(model, x[i : i + 1], patch, sigma, repeats, generator).per_token.numpy()
            for i in range(len(x))
        ]
    )


def split(flips: np.ndarray, blank: np.ndarray) -> dict:
    """The blank-patch split of one ``(N, T)`` flip matrix: sensitivity over blank and over informative
    (image, patch) pairs, the counts of each, and the shares of all flips on blank patches."""
    nb, ni = int(blank.sum()), int((~blank).sum())
    total = float(flips.sum())
    return {
        "sens_blank": float(flips[blank].mean()) if nb else float("nan"),
        "sens_informative": float(flips[~blank].mean()) if ni else float("nan"),
        "n_blank": nb,
        "n_informative": ni,
        "contrib_blank": float(flips[blank].sum() / flips.size),
        "contrib_informative": float(flips[~blank].sum() / flips.size),
        "blank_share": float(flips[blank].sum() / total) if total > 0 else float("nan"),
    }


def measure_posthoc(run: PosthocRun, device: str = "cpu", store: Store | None = None) -> dict:
    """Load ``run``'s stored weights and measure the noise-level sweep, the blank split and whole-image noise."""
    b = run.binary
    store = store if store is not None else Store()
    entry, _ = store.find(BINARY_KIND, run_key(b, "cpu"))
    if entry is None:
        raise ValueError(f"binary: no stored {BINARY_KIND} result for {b} (compute the binary runs first)")
    if run.checkpoint not in entry["result"]["weights"]:  # the run never reached that level within its budget
        return {
            "levels": [],
            "whole": [],
            "reached": False,
            "blank_fraction": float("nan"),
            "measure_seconds": 0.0,
            "chapter_sigma": b.sigma,
            "evaluations": 0,
        }
    model = load_checkpoint(b, entry["result"]["weights"][run.checkpoint])
    xtr, _, _, _, _ = binary_data(b)
    raw = vision_data.load_mnist().subset(b.n_train, b.n_test).x_train
    idx = torch.randperm(b.n_train, generator=torch.Generator().manual_seed(2))[: run.n_images]  # as the full measure
    x, blank = xtr[idx], blank_patches(raw[idx], b.patch, run.blank_tol).numpy()
    t0 = time.perf_counter()
    levels = []
    for s in run.sigmas:
        flips = patch_flips(model, x, b.patch, s, run.repeats, torch.Generator().manual_seed(5))
        levels.append(
            {"sigma": s, "sensitivity": float(flips.mean()), "per_token": flips.mean(0).tolist(), **split(flips, blank)}
        )
    whole = [
        {"sigma": s, "sensitivity": whole_image_sensitivity(model, x, s, run.repeats, torch.Generator().manual_seed(6))}
        for s in run.whole_sigmas
    ]
    return {
        "levels": levels,
        "whole": whole,
        "reached": True,
        "blank_fraction": float(blank.mean()),
        "measure_seconds": time.perf_counter() - t0,
        "chapter_sigma": b.sigma,
        "evaluations": int(blank.size * run.repeats * len(run.sigmas) + len(x) * run.repeats * len(run.whole_sigmas)),
    }
