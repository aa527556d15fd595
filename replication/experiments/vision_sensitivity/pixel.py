"""V25's noise levels read on [0, 1] pixels: the plain ViT, CNN and MLP of the fixed-budget protocol
(:func:`.runs.fixed_runs`) trained again, seed for seed, with each final model's sensitivity measured exactly at
the multiples of the chapter's sigma that V25's variances would be if they referred to pixels in [0, 1] rather
than to standardised pixels (V25 App. D states the variances, not the scale). The runs train the same models as
the fixed-budget runs of the same seed, so they also test that a run is reproduced from its seed."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ...report.claims import ALPHA, Claim, fmt
from ...runs.store import Store
from .analysis import NAMES, welch_less
from .fixed_claims import _or_one
from .binary_analysis import stored_runs
from .fixed import PLAIN, _model, fixed_noise_levels
from .measure import measure_vision
from .posthoc import PosthocRun, matched_posthoc_runs, posthoc_runs
from .posthoc_analysis import level_table
from .runs import CHAPTER, KIND, VisionConfig, vision_runs


def pixel_multiples(cfg: VisionConfig) -> dict[str, float]:
    """Which multiple of the chapter's sigma each of V25's noise levels is, read on [0, 1] pixels, computed from
    the training images: one standardised unit is the pixels' standard deviation ``std`` on [0, 1], so a sigma
    ``s`` on [0, 1] pixels is ``s / std`` standardised units. Rounded to 3 decimals (they enter cache keys)."""
    from ...tasks import images as vision_data

    std = float(vision_data.load(cfg.dataset, cfg.data_dir or None).x_train.std())  # pixels in [0, 1]
    sigma = cfg.noise_sigma
    return {f"the same sigma ({sigma:.3f}) on [0, 1] pixels": round(1 / std, 3),
            "V25's Fashion-MNIST variance, 5, on [0, 1] pixels": round(5**0.5 / (std * sigma), 3)}


def noise_units(cfg: VisionConfig, levels: pd.DataFrame | None = None) -> str:
    """The chapter's noise in other units, computed from the data: what sigma is in units of raw pixels scaled to
    [0, 1] (torchvision's ``ToTensor`` without normalisation, which V25's variances may refer to), and which multiple
    of the chapter's sigma V25's own variances (:data:`.runs.SIGMA`) would be if they did (:func:`pixel_multiples`);
    with ``levels``, the order of the models at the measured multiple nearest each."""
    from ...tasks import images as vision_data

    std = float(vision_data.load(cfg.dataset, cfg.data_dir or None).x_train.std())  # pixels in [0, 1]
    sigma, mult = cfg.noise_sigma, pixel_multiples(cfg)
    text = (f"The models read standardised pixels: one unit is the training set's pixel standard deviation, "
            f"{std:.3f} of the range of a [0, 1] pixel. The chapter's sigma, {sigma:.3f} standardised units, is "
            f"{sigma * std:.3f} on [0, 1] pixels. V25 state their variances without saying which scale they refer "
            "to. If they meant [0, 1] pixels, " + "; ".join(f"{k} would be {v:.2f} × the chapter's sigma here" for k, v in
                                                           mult.items()) + ".")  # fmt: skip
    if levels is not None and len(levels) and set(PLAIN) <= set(levels["model"]):
        m = levels[levels["model"].isin(PLAIN)].groupby(["ratio", "model"])["sensitivity"].mean().unstack()
        for k, v in mult.items():
            r = min(m.index, key=lambda x: abs(np.log(x / v)))
            order = " < ".join(m.loc[r].sort_values().index)
            text += f" At {r:g} × sigma, the measured level nearest {k}, the order is {order}."
    return text


def pixel_runs(cfg: VisionConfig) -> list:
    """The plain models of :func:`.runs.fixed_runs` for ``cfg.pixel_seeds`` seeds, trained the same way, their final
    sensitivity measured at :func:`pixel_multiples` (no weights stored, ShOp / ShPred at the run's default)."""
    if not cfg.pixel_seeds:
        return []
    levels = tuple(sorted(set(pixel_multiples(cfg).values())))
    plain = dataclasses.replace(cfg, seeds=cfg.pixel_seeds, methods=("plain",))
    return [dataclasses.replace(r, epochs=cfg.fixed_epochs, fixed_budget=True, levels=tuple(cfg.fixed_levels),
                                noise_levels=levels) for r in vision_runs(plain)]  # fmt: skip


def pixel_table(cfg: VisionConfig, cache: Store | None = None, configs: list | None = None
                ) -> tuple[pd.DataFrame, list[dict]]:  # fmt: skip
    """``(runs, results)`` of :func:`pixel_runs` (or of ``configs``), computed or read."""
    store = cache if cache is not None else Store(scale=cfg.scale)
    configs = pixel_runs(cfg) if configs is None else configs
    return stored_runs(configs, measure_vision, KIND, store, ("arch", "method", "seed", "dropout", "epochs"))


def reproduced(fruns: pd.DataFrame, fresults: list[dict], pruns: pd.DataFrame, presults: list[dict]) -> pd.DataFrame:
    """Per rerun with a fixed-budget run of the same model and seed: the largest absolute difference between the two
    over every epoch's logged numbers and every level checkpoint's, and both final sensitivities."""
    first = {(r.arch, r.seed): res for r, res in zip(fruns.itertuples(), fresults) if r.method == "plain" and not r.dropout}
    rows = []
    for r, res in zip(pruns.itertuples(), presults):
        old = first.get((r.arch, r.seed))
        if old is None:
            continue
        cols = ["train_acc", "test_acc", "train_loss", "sensitivity"]
        a, b = pd.DataFrame(old["history"]), pd.DataFrame(res["history"])
        same_len = len(a) == len(b)
        diff = float(np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max()) if same_len else np.inf
        ca, cb = pd.DataFrame(old["checkpoints"]), pd.DataFrame(res["checkpoints"])
        same_checks = list(ca["epoch"]) == list(cb["epoch"])
        cdiff = float(np.abs(ca["sensitivity"] - cb["sensitivity"]).max()) if same_checks else np.inf
        rows.append({"model": _model(r.arch, r.method, r.dropout), "seed": r.seed, "epochs": len(b) - 1,
                     "max |Δ| per epoch": diff, "max |Δ| at checkpoints": cdiff,
                     "final sensitivity (first run)": old["sensitivity"], "final sensitivity (rerun)": res["sensitivity"]})
    return pd.DataFrame(rows)


def all_levels(fruns: pd.DataFrame, fresults: list[dict], pruns: pd.DataFrame, presults: list[dict]) -> pd.DataFrame:
    """The final models' noise-level sweep (:func:`.fixed.fixed_noise_levels`) with the reruns' pixel-scale levels
    added: one model per (architecture, seed) when the reruns reproduce their first runs (:func:`reproduced`)."""
    return pd.concat([fixed_noise_levels(fruns, fresults), fixed_noise_levels(pruns, presults)], ignore_index=True)


def describe_reproduced(cfg: VisionConfig, table: pd.DataFrame, stored: int) -> str:
    """How many reruns are stored, and whether they gave the first runs' numbers."""
    n = len(pixel_runs(cfg))
    if stored < n:
        head = (f"**Reruns at the pixel-scale noise stored at this scale: {stored} of {n}**; the figure and the "
                "diagnosis claim use those. ")
    else:
        head = f"All {n} reruns are stored. "
    if table.empty:
        return head + "None has a first run of the same model and seed stored at this scale."
    worst = float(table[["max |Δ| per epoch", "max |Δ| at checkpoints"]].to_numpy().max())
    if worst == 0:
        return head + (f"All {len(table)} reruns compared gave the first runs' numbers exactly: every epoch's accuracies, loss and "
                "sensitivity estimate, and every checkpoint's sensitivity. So the reruns' models are the first runs' "
                "models, and their sweep extends the one above.")
    return head + (f"The reruns differ from the first runs by at most {worst:.3g} in a logged number "
            f"({int((table['max |Δ| per epoch'] > 0).sum())} of {len(table)} differ), so the same seed does not give "
            "bit-identical training here; the reruns are further runs of the same settings.")


#: The binary experiment's models (V25 App. A.1): the ViT against the MLP.
BINARY = [NAMES["vit"], NAMES["mlp"]]


def pixel_posthoc_runs(cfg: VisionConfig) -> list[PosthocRun]:
    """With ``cfg.pixel_seeds``, the binary experiment's post-hoc measures (:func:`.posthoc.posthoc_runs`, and at
    matched accuracy with ``posthoc_matched``) at the :func:`pixel_multiples` alone, from the stored weights."""
    if not cfg.pixel_seeds or not cfg.binary_seeds:
        return []
    levels = tuple(sorted(set(pixel_multiples(cfg).values())))
    return [dataclasses.replace(p, sigmas=tuple(p.binary.sigma * m for m in levels), whole_sigmas=())
            for p in posthoc_runs(cfg) + matched_posthoc_runs(cfg)]  # fmt: skip


def posthoc_levels(runs: list, results: list[dict]) -> pd.DataFrame:
    """:func:`.posthoc_analysis.level_table` of post-hoc measures, with each measure's checkpoint."""
    return pd.concat([level_table([c], [res]).assign(checkpoint=c.checkpoint) for c, res in zip(runs, results)],
                     ignore_index=True) if runs else pd.DataFrame()  # fmt: skip


def pixel_summary(levels: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of the sensitivity per (checkpoint, multiple of sigma, model)."""
    g = levels.assign(ratio=levels["ratio"].round(3)).groupby(["checkpoint", "ratio", "model"])["sensitivity"]
    out = g.mean().map(lambda v: f"{v:.4g}") + " ± " + g.std(ddof=1).fillna(0).map(lambda v: f"{v:.2g}")
    return pd.DataFrame({"seeds": g.size(), "sensitivity": out})


def pixel_claim(cfg: VisionConfig, levels: pd.DataFrame, multiples: dict[str, float], models: list[str] = PLAIN,
                where: str = "10-class MNIST, fixed budget") -> Claim:  # fmt: skip
    """A diagnosis of the failing orderings: at the multiples of sigma where V25's variances land if they refer to
    [0, 1] pixels, the ViT (``models[0]``) is below each other model (Welch one-sided t-tests over seeds at each
    multiple; holds if every p-value is below ``ALPHA``)."""
    others = " and the ".join(models[1:])
    base = dict(chapter=CHAPTER, claim=f"Diagnosis ({where}): at the noise V25's variances give on [0, 1] pixels, "
                f"the ViT is less sensitive than the {others}",
                paper_ref="V25 §5, App. A.1, App. D (variances given; their pixel scale is not stated)",
                paper_value="ViT least sensitive", scale=cfg.scale)  # fmt: skip
    d = levels[levels["model"].isin(models)] if len(levels) else levels
    if d.empty or d.groupby("model")["seed"].nunique().reindex(models).fillna(0).min() < 2:
        return Claim(**base, measured="not testable", holds=False, testable=False,
                     note="not testable: fewer than 2 stored models of each kind measured at the pixel-scale levels")
    ps, means = {}, []
    for ratio in multiples.values():
        g = d[np.isclose(d["ratio"], ratio)]
        v = {m: g.loc[g["model"] == m, "sensitivity"].to_numpy() for m in models}
        ps[ratio] = max(_or_one(welch_less(v[models[0]], v[m])) for m in models[1:])  # no test (nan) fails
        means.append(f"{ratio:g}×: " + "/".join(fmt(v[m].mean()) for m in models))
    holds = all(p < ALPHA for p in ps.values())
    n = int(d.groupby("model")["seed"].nunique().min())
    note = (f"check: {n} seeds per model; at each multiple one-sided Welch t-tests that the ViT is below the "
            f"{others}, the larger p: {', '.join(f'{fmt(p)} at {r:g} × sigma' for r, p in ps.items())} (holds if "
            f"all < {ALPHA}). The multiples are {'; '.join(f'{k}: {v:g} × sigma' for k, v in multiples.items())}, "
            "computed from the training images.")  # fmt: skip
    if holds:
        note += (" So the orderings that fail at the chapter's sigma hold at V25's noise if their variances refer to "
                 "[0, 1] pixels: the noise scale explains them.")
    return Claim(**base, measured="/".join(models) + " at " + "; ".join(means), holds=holds, note=note)


def pixel_claims(cfg: VisionConfig, flevels: pd.DataFrame, blevels: pd.DataFrame) -> list[Claim]:
    """The pixel-scale diagnosis for the 10-class models (``flevels``: :func:`all_levels`) and for the binary
    experiment's at the end of its budget and at matched accuracy (``blevels``: :func:`posthoc_levels`)."""
    if not cfg.pixel_seeds:
        return []
    mult = pixel_multiples(cfg)
    out = [pixel_claim(cfg, flevels, mult)]
    if cfg.binary_seeds:
        for point, where in (("final", "end of the budget"), ("acc", "matched training accuracy")):
            b = blevels[blevels["checkpoint"].str.startswith(point)] if len(blevels) else blevels
            out.append(pixel_claim(cfg, b, mult, BINARY, f"binary MNIST, {where}"))
    return out
