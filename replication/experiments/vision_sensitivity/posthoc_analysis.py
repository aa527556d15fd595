"""Tables and claims of the post-hoc measures on the binary experiment's stored models (:mod:`.posthoc`): the
noise-level sweep (V25 Fig. 17), whole-image against token-wise noise (V25 App. A.2, Table 4) and the
blank-patch split."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from ...report.empty import table_when_run
from ...runs.stored import stored_results, stored_sentence
from ...report.stats import mean_sd_table
from ...report.claims import fmt
from ...runs.store import Store
from .analysis import NAMES
from .posthoc import KIND, measure_posthoc, posthoc_runs
from .config import VisionConfig


#: Whole-image noise of sigma / 4 per pixel carries the energy of noise sigma on one 7x7 patch (784 / 49 = 16).
ENERGY = 0.25


def posthoc_table(
    cfg: VisionConfig, cache: Store | None = None, configs: list | None = None
) -> tuple[list, list[dict]]:
    """``(runs, results)`` of the post-hoc measures (of the final models, or of ``configs``), computed or read. In
    ``require`` mode (the book build) the measures not committed yet are left out: the chapter counts them
    (:func:`posthoc_status`)."""
    store = cache if cache is not None else Store(scale=cfg.scale)
    configs = posthoc_runs(cfg) if configs is None else configs
    if not configs:
        return [], []
    kept, results, _ = stored_results(configs, partial(measure_posthoc, store=store), KIND, store)
    return kept, results


def posthoc_status(cfg: VisionConfig, runs: list) -> str:
    """One sentence: how many of the stored models were measured post hoc."""
    return stored_sentence(
        len(runs),
        2 * cfg.binary_seeds,
        "final models of the binary experiment",
        detail=f" ({cfg.binary_seeds} seeds per model)",
        read="measured",
        stored="final models measured post hoc",
    )


def posthoc_settings(cfg: VisionConfig, runs: list, results: list[dict]) -> pd.DataFrame:
    """What the post-hoc measures did at this scale, beside V25's, with the measured cost of the stored ones."""
    r = posthoc_runs(cfg)[0] if cfg.binary_seeds else None
    if r is None:
        return pd.DataFrame()
    cost = "none stored"
    if results:
        sec = pd.Series([x["measure_seconds"] for x in results])
        arch = pd.Series([c.binary.arch for c in runs])
        cost = "; ".join(f"{NAMES[a]} {sec[arch == a].mean():.0f} s per model" for a in sorted(set(arch)))
        cost += f" (mean of the stored ones, one thread); {np.mean([x['blank_fraction'] for x in results]):.0%} of the measured patches are blank"
    ratios = ", ".join(f"{s / r.binary.sigma:g}" for s in r.sigmas)
    rows = [
        (
            "images",
            "about 30% of the training images (App. D)",
            f"{r.n_images} training images, {r.repeats} draws per patch (and per image under whole-image noise)",
            cost,
        ),
        (
            "token noise levels",
            "5 variances on CIFAR-10 (Fig. 17)",
            f"{ratios} × sigma",
            "log-spaced around the chapter's sigma",
        ),
        (
            "whole-image noise",
            "variance 0.025 on CIFAR-10 (Table 4)",
            f"{len(r.whole_sigmas)} levels, {r.whole_sigmas[0] / r.binary.sigma:g} to {r.whole_sigmas[-1] / r.binary.sigma:g} × sigma",
            "the level whose ViT sensitivity is closest to its token-wise one is compared",
        ),
        ("blank patch", "not in V25", f"raw pixels (0-255) spanning at most {r.blank_tol:g} grey levels", ""),
        (
            "models",
            "ResNet-18, ViTs, ConvMixer on CIFAR-10",
            "the binary runs' final models",
            "the stored float16 weights",
        ),
    ]
    return pd.DataFrame(rows, columns=["setting", "V25", cfg.scale, "note / measured cost"]).set_index("setting")


def level_table(runs: list, results: list[dict]) -> pd.DataFrame:
    """One row per (model, seed, token noise level): sensitivity, its blank and informative parts (V25 Fig. 17),
    and the checkpoint measured ("final", or "acc<k>" at the k-th matched level)."""
    rows = [
        {
            "model": NAMES[c.binary.arch],
            "arch": c.binary.arch,
            "seed": c.binary.seed,
            "checkpoint": c.checkpoint,
            "ratio": lv["sigma"] / res["chapter_sigma"],
            **{k: v for k, v in lv.items() if k != "per_token"},
        }
        for c, res in zip(runs, results)
        for lv in res["levels"]
    ]
    return pd.DataFrame(rows)


def whole_table(runs: list, results: list[dict]) -> pd.DataFrame:
    """One row per (model, seed, whole-image noise level): the share of changed predictions."""
    rows = [
        {
            "model": NAMES[c.binary.arch],
            "arch": c.binary.arch,
            "seed": c.binary.seed,
            "ratio": w["sigma"] / res["chapter_sigma"],
            "sigma": w["sigma"],
            "sensitivity": w["sensitivity"],
        }
        for c, res in zip(runs, results)
        for w in res["whole"]
    ]
    return pd.DataFrame(rows)


@table_when_run
def sweep_summary(levels: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of the sensitivity and its blank / informative parts at each noise level, per model."""
    return mean_sd_table(
        levels,
        ["ratio", "model"],
        ["sigma", "sensitivity", "sens_blank", "sens_informative", "blank_share"],
        significant=True,
        sd_digits=2,
        sort=True,
    )


def calibrated(levels: pd.DataFrame, whole: pd.DataFrame) -> tuple[float, float, float]:
    """V25 App. A.2's choice: ``(ratio, vit_whole, vit_token)``, the whole-image noise level (a multiple of the
    chapter's sigma) at which the ViT's mean sensitivity is closest (in log) to its mean token-wise sensitivity at
    the chapter's sigma, with both means."""
    tok = float(levels[(levels["arch"] == "vit") & np.isclose(levels["ratio"], 1.0)]["sensitivity"].mean())
    w = whole[whole["arch"] == "vit"].groupby("ratio")["sensitivity"].mean()
    if w.empty or not np.isfinite(tok):
        return float("nan"), float("nan"), tok
    gap = (np.log(w.clip(lower=1e-6)) - np.log(max(tok, 1e-6))).abs()
    best = float(gap.idxmin())
    return best, float(w[best]), tok


@table_when_run
def table4(levels: pd.DataFrame, whole: pd.DataFrame) -> pd.DataFrame:
    """V25 Table 4 for the binary MNIST models: mean ± sd over seeds under whole-image noise (at the calibrated
    level) and under token-wise noise (at the chapter's sigma)."""
    ratio, _, _ = calibrated(levels, whole)
    tok = levels[np.isclose(levels["ratio"], 1.0)]
    rnd = whole[np.isclose(whole["ratio"], ratio)]
    f = lambda d: mean_sd_table(d, "model", ["sensitivity"], significant=True, sd_digits=2, sort=True, seeds=None)[  # noqa: E731
        "sensitivity"
    ]
    out = {f"random noise, calibrated (σ = {ratio:g} × sigma per pixel)": f(rnd)}
    energy = whole[np.isclose(whole["ratio"], ENERGY)]
    if len(energy):  # the same total noise energy as one noisy patch: 49 sigma² = 784 s²
        out[f"random noise, one patch's energy (σ = {ENERGY:g} × sigma)"] = f(energy)
    out["token-wise noise (sigma)"] = f(tok)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------------
# Claims


def describe_posthoc(levels: pd.DataFrame, whole: pd.DataFrame) -> str:
    """What the post-hoc measures show, in words (means over seeds), for the notebook."""
    if levels.empty:
        return "No post-hoc measure is stored at this scale."
    m = levels.groupby(["ratio", "arch"])["sensitivity"].mean().unstack()
    above = [r for r in m.index if m.loc[r, "vit"] > m.loc[r, "mlp"]]
    at = (
        levels[np.isclose(levels["ratio"], 1.0)]
        .groupby("arch")[["sens_blank", "sens_informative", "blank_share"]]
        .mean()
    )
    parts = [
        f"The ViT is the more sensitive model at {', '.join(f'{r:g}' for r in above) or 'no'} × sigma and the "
        f"less sensitive one at {', '.join(f'{r:g}' for r in m.index if r not in above) or 'no'} × sigma."
    ]
    if {"vit", "mlp"} <= set(at.index):
        v, p = at.loc["vit"], at.loc["mlp"]
        parts.append(
            f"At the chapter's sigma a blank patch changes the ViT's prediction in {fmt(v.sens_blank)} of the "
            f"draws and the MLP's in {fmt(p.sens_blank)}; an informative patch in {fmt(v.sens_informative)} and "
            f"{fmt(p.sens_informative)}; blank patches carry {v.blank_share:.0%} of the ViT's changes and "
            f"{p.blank_share:.0%} of the MLP's."
        )
    ratio, vit_w, vit_t = calibrated(levels, whole)
    if np.isfinite(ratio):
        parts.append(
            f"Whole-image noise reaches the ViT's token-wise sensitivity ({fmt(vit_t)}) only at {ratio:g} × "
            f"sigma per pixel ({fmt(vit_w)} there)."
        )
    return " ".join(parts)
