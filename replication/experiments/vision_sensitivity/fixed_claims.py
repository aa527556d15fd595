"""Claims of the fixed-budget protocol (:mod:`.fixed`): the 10-class ordering at matched training accuracy and
at the end of one budget (V25 §5), and the regulariser's flatter minimum (V25 §7.2, Table 2) at the parameter
noise level where the test has power, and in the released code's variant (dropout 0.1, train mode)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...report.stats import mean_sd, paired_p, welch_p
from ...report.claims import ALPHA, Claim, claims_for, fmt
from .binary_analysis import crossing
from .fixed import PLAIN, reached_levels
from .runs import RELEASED_DROPOUT, RELEASED_SHARP_SIGMA, VisionConfig

CLAIM = claims_for(__name__)

#: The notebook section that shows this module's claims (each claims row links to it).
SECTION = "The ten-class comparison again, under one fixed budget"

#: The plain ViT's mean ShPred that makes a noise level one "where the test has power": at 5% of 4,000 images
#: and 20 draws, 4,000 changes per model, so the counting error is far below the seed-to-seed spread.
POWER_SHPRED = 0.05


def below_others(g: pd.DataFrame, models: list[str] = PLAIN) -> tuple[float, list[float]]:
    """At one noise level (rows ``model``, ``sensitivity``): the larger p-value of the one-sided Welch t-tests over
    seeds that ``models[0]`` is below each other model (no test possible: 1), and each model's mean."""
    v = {m: g.loc[g["model"] == m, "sensitivity"].to_numpy(dtype=float) for m in models}
    p = max(float(np.nan_to_num(welch_p(v[models[0]], v[m]), nan=1.0)) for m in models[1:])
    return p, [float(v[m].mean()) if len(v[m]) else float("nan") for m in models]


def _per_run(checks: pd.DataFrame, at: str) -> tuple[pd.DataFrame, list[float]]:
    """Per (model, seed) the sensitivity at ``at``: "final", or the mean over the levels every plain run reached."""
    df = checks[checks["model"].isin(PLAIN)] if len(checks) else checks
    if at == "final":
        keep, levels = df[df["name"] == "final"], []
    else:
        levels = reached_levels(df, PLAIN)
        keep = df[df["level"].isin(levels) & (df["name"] != "final")]
    if keep.empty:
        return pd.DataFrame(columns=["model", "seed", "sensitivity"]), levels
    return keep.groupby(["model", "seed"], as_index=False)["sensitivity"].mean(), levels


def turning(levels: pd.DataFrame | None) -> str:
    """From the final models' noise-level sweep: the multiples of sigma at which the plain ViT's mean sensitivity is
    below both the CNN's and the MLP's, and those at which it is not; "" without a sweep."""
    if levels is None or levels.empty:
        return ""
    m = levels[levels["model"].isin(PLAIN)].groupby(["ratio", "model"])["sensitivity"].mean().unstack()
    if set(m.columns) != set(PLAIN):
        return ""
    below = [r for r, row in m.iterrows() if row[PLAIN[0]] < min(row[PLAIN[1]], row[PLAIN[2]])]
    rest = [r for r in m.index if r not in below]
    say = lambda rs: ", ".join(f"{r:g}" for r in rs) or "no level"  # noqa: E731
    return (
        f" The final models' noise-level sweep puts the ViT below both at {say(below)} × sigma and not at "
        f"{say(rest)} × sigma."
    )


def levels_claim(cfg: VisionConfig, levels: pd.DataFrame) -> Claim:
    """V25 Fig. 17: the ViT is less sensitive than the CNN and the MLP at every noise level (Welch one-sided t-tests
    over seeds per level and model; holds if every p-value is below ``ALPHA``)."""
    base = dict(
        section=SECTION,
        claim=f"10-class MNIST after {cfg.fixed_epochs} epochs: the ViT is less sensitive "
        "than the CNN and the MLP at every noise level",
        paper_ref="V25 App. A.3, Fig. 17 (CIFAR-10 there)",
        paper_value="ViTs lower at any variance, the gap growing with it",
        scale=cfg.scale,
        kind="diagnosis",
    )
    d = levels[levels["model"].isin(PLAIN)] if len(levels) else levels
    if d.empty or d.groupby("model")["seed"].nunique().reindex(PLAIN).fillna(0).min() < 2:
        return CLAIM.untestable(**base, why="fewer than 2 stored runs of a model with the noise-level sweep")
    ps, means = {}, []
    for r, g in d.groupby("ratio"):
        ps[r], mean = below_others(g)  # no test (nan) fails the level
        means.append(f"{r:g}×: " + "/".join(fmt(x) for x in mean))
    holds = all(p < ALPHA for p in ps.values())
    note = (
        f"check: per noise level, one-sided Welch t-tests over seeds that the ViT is below the CNN and below the "
        f"MLP; the larger p per level: {', '.join(f'{fmt(p)} at {r:g} × sigma' for r, p in ps.items())} (holds if "
        f"all < {ALPHA})"
    )
    if not holds:
        note += f"; fails at {sum(p >= ALPHA for p in ps.values())} of {len(ps)} levels." + turning(levels)
    return CLAIM(**base, measured="ViT/CNN/MLP at " + "; ".join(means), holds=holds, note=note)


def order_claim(
    cfg: VisionConfig,
    checks: pd.DataFrame,
    at: str,
    target_runs: pd.DataFrame | None = None,
    noise: pd.DataFrame | None = None,
) -> Claim:
    """The plain ViT is less sensitive than the CNN and than the MLP (Welch one-sided t-tests over seeds, both
    below ``ALPHA``), at matched training accuracy (``at="matched"``) or at the end of the budget (``"final"``)."""
    per, levels = _per_run(checks, at)
    where = "at matched training accuracy" if at == "matched" else f"at the end of one {cfg.fixed_epochs}-epoch budget"
    v = {m: per.loc[per["model"] == m, "sensitivity"].to_numpy() for m in PLAIN}
    base = dict(
        section=SECTION,
        claim=f"10-class MNIST, every model trained {cfg.fixed_epochs} epochs: {where} the "
        "ViT's token-wise sensitivity is below the CNN's and the MLP's",
        paper_ref="V25 §5, Fig. 4 (Fashion-MNIST); Fig. 13 compares at matched training accuracy",
        paper_value="ViT 0.0098, CNN 0.0453, MLP 0.0559 (Fashion-MNIST)",
        scale=cfg.scale,
        kind="diagnosis",
    )
    if min(len(x) for x in v.values()) < 2 or (at == "matched" and not levels):
        why = "fewer than 2 stored runs of a model" if levels or at == "final" else "no level that every run reached"
        return CLAIM.untestable(**base, why=why)
    ps = {m: welch_p(v[PLAIN[0]], v[m]) for m in PLAIN[1:]}
    holds = all(p < ALPHA for p in ps.values())
    over = "; ".join(f"{m} {mean_sd(v[m])}" for m in PLAIN)
    lv = f" (mean over training accuracy ≥ {', '.join(f'{x:g}' for x in levels)})" if levels else ""
    note = (
        f"check: one-sided Welch t-tests over seeds, ViT below CNN p = {fmt(ps[PLAIN[1]])}, below MLP "
        f"p = {fmt(ps[PLAIN[2]])} (holds if both < {ALPHA})"
    )
    if not holds:
        ratios = ", ".join(f"{v[PLAIN[0]].mean() / v[m].mean():.2f}× the {m}'s" for m in PLAIN[1:] if v[m].mean() > 0)
        note += f"; fails: the ViT's mean is {ratios}."
        if target_runs is not None and len(target_runs):
            t = target_runs[target_runs["method"] == "plain"].groupby("arch")["sensitivity"].mean()
            if {"vit", "cnn", "mlp"} <= set(t.index):
                same = t["vit"] > min(t["cnn"], t["mlp"])
                note += (
                    f" The runs stopped at {cfg.target_acc:.0%} training accuracy order the ViT "
                    f"{'above' if same else 'below'} the lower of the other two as well, so the stopping rule "
                    f"{'is not' if same else 'may be'} the cause."
                )
        if at == "final":
            note += turning(noise)
        elif noise is not None and len(noise):  # at matched accuracy: the binary models' sweep at matched accuracy
            note += crossing(noise, "of the binary models at their matched-accuracy checkpoints")
    return CLAIM(**base, measured=f"{over}{lv}", holds=holds, note=note)


def power_sigma(sharp: pd.DataFrame) -> tuple[float | None, bool]:
    """``(sigma, reached)``: the smallest noise level at which the plain ViT's (no dropout, eval mode) mean ShPred
    reaches :data:`POWER_SHPRED` (``reached``), else the largest level measured; ``(None, False)`` if none was.
    The rule reads the plain model's level of change, not the difference the claim tests."""
    d = (
        sharp[(sharp["method"] == "plain") & (sharp["dropout"] == 0) & (sharp["mode"] == "eval")]
        if len(sharp)
        else sharp
    )
    if d.empty:
        return None, False
    m = d.groupby("sigma")["shpred"].mean().sort_index()
    ok = m[m >= POWER_SHPRED]
    return (float(ok.index[0]), True) if len(ok) else (float(m.index[-1]), False)


def _pair(sharp: pd.DataFrame, sigma: float, mode: str, dropout: float, col: str) -> tuple[pd.Series, pd.Series]:
    """``col`` of the plain and of the regularised ViT at ``(sigma, mode, dropout)``, by seed, on the seeds both have."""
    if sharp.empty:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    d = sharp[(sharp["sigma"] == sigma) & (sharp["mode"] == mode) & (sharp["dropout"] == dropout)]
    plain, reg = (d[d["method"] == m].set_index("seed")[col].astype(float).sort_index() for m in ("plain", "reg"))
    both = plain.index.intersection(reg.index)
    return plain[both], reg[both]


def _scale_note(
    scales: pd.DataFrame | None, sharp: pd.DataFrame, sigma: float, dropout: float = 0.0, mode: str = "eval"
) -> str:
    """The logits' own size beside ShOp (:func:`.fixed.logit_scales`): their mean |logit|, and ShOp over it."""
    if scales is None or scales.empty:
        return ""
    sc = scales[scales["dropout"] == dropout].groupby("method")["mean_abs_logit"].mean()
    if not {"plain", "reg"} <= set(sc.index):
        return ""
    shop = (
        sharp[(sharp["sigma"] == sigma) & (sharp["mode"] == mode) & (sharp["dropout"] == dropout)]
        .groupby("method")["shop"]
        .mean()
    )
    rel = {m: shop[m] / sc[m] for m in ("plain", "reg") if m in shop.index}
    text = (
        f". The regularised ViT's logits are smaller: mean |logit| {sc['plain']:.3g} plain, {sc['reg']:.3g} with "
        f"the regulariser ({sc['reg'] / sc['plain']:.2f}×)"
    )
    if len(rel) == 2:
        text += (
            f"; ShOp as a share of the mean |logit| is {rel['plain']:.3g} plain and {rel['reg']:.3g} with the "
            "regulariser, so "
            + (
                "ShOp falls by more than the logits' scale does"
                if rel["reg"] < rel["plain"]
                else "the fall of ShOp comes from the logits' smaller scale: for their size, the "
                "regularised ViT's logits move as much or more"
            )
        )
    return text


def sharp_claim(cfg: VisionConfig, sharp: pd.DataFrame, col: str, scales: pd.DataFrame | None = None) -> Claim:
    """The regularised ViT's ``col`` (ShOp or ShPred) is below the plain one's at :func:`power_sigma` (paired by seed);
    ``scales`` (:func:`.fixed.logit_scales`) adds the logits' own size to the note."""
    name = {"shop": "ShOp", "shpred": "ShPred"}[col]
    sigma, reached = power_sigma(sharp)
    base = dict(
        section=SECTION,
        claim=f"The regularised ViT sits in a flatter minimum: lower {name} at a parameter "
        "noise level where the test has power",
        paper_ref="V25 §7.2, Table 2 (ViT-small, CIFAR-10)",
        paper_value={"shop": "39.166 → 9.025", "shpred": "0.5346 → 0.3982"}[col],
        scale=cfg.scale,
        kind="diagnosis",
    )
    if sigma is None:
        return CLAIM.untestable(**base, why="no ShOp/ShPred sweep stored")
    plain, reg = _pair(sharp, sigma, "eval", 0.0, col)
    if len(plain) < 2:
        return CLAIM.untestable(**base, why="fewer than 2 seeds with both the plain and the regularised ViT")
    p = paired_p(reg, plain)
    holds = bool(p < ALPHA)
    levels = ", ".join(f"{x:g}" for x in sorted(set(sharp["sigma"])))
    chosen = (
        f"the smallest of {levels} at which the plain ViT's mean ShPred reaches {POWER_SHPRED:g}"
        if reached
        else f"the largest of {levels}: at none does the plain ViT's mean ShPred reach {POWER_SHPRED:g}"
    )
    note = (
        f"check: sigma = {sigma:g}, {chosen} (a rule on the plain runs' level of change, not on the difference "
        f"tested); all training images, {cfg.fixed_sharp_repeats} draws; one-sided paired t-test over "
        f"{len(plain)} seeds, p = {fmt(p)} (holds if < {ALPHA})"
    )
    if not holds:
        note += f"; fails: the mean moves {plain.mean():.4g} → {reg.mean():.4g} with the regulariser"
    note += _scale_note(scales, sharp, sigma)
    return CLAIM(
        **base,
        measured=f"σ = {sigma:g}: ViT {mean_sd(plain)} → + reg {mean_sd(reg)} ({len(plain)} seeds)",
        holds=holds,
        note=note,
    )


def released_claim(cfg: VisionConfig, sharp: pd.DataFrame, scales: pd.DataFrame | None = None) -> Claim:
    """In V25's released code's setting (ViT with dropout 0.1, ShPred in train mode at sigma 0.05) the regulariser
    lowers ShPred (paired by seed)."""
    base = dict(
        section=SECTION,
        claim="With the released code's dropout and measurement (train mode, σ = 0.05) the "
        "regularised ViT's ShPred is lower too",
        paper_ref="V25 §7.2, Table 2; released code",
        paper_value="0.5346 → 0.3982",
        scale=cfg.scale,
        kind="diagnosis",
    )
    plain, reg = _pair(sharp, RELEASED_SHARP_SIGMA, "train", RELEASED_DROPOUT, "shpred")
    if len(plain) < 2:
        return CLAIM.untestable(**base, why="fewer than 2 seeds with both dropout runs stored")
    p = paired_p(reg, plain)
    holds = bool(p < ALPHA)
    ev_plain, ev_reg = (
        x[x.index.isin(plain.index)] for x in _pair(sharp, RELEASED_SHARP_SIGMA, "eval", RELEASED_DROPOUT, "shpred")
    )
    note = (
        f"check: one-sided paired t-test over {len(plain)} seeds, p = {fmt(p)} (holds if < {ALPHA}); the same models "
        f"in eval mode: {ev_plain.mean():.4g} → {ev_reg.mean():.4g}, so train mode exceeds eval mode by "
        f"{plain.mean() - ev_plain.mean():.3g} for the plain ViT (dropout's masks change predictions too)"
    )
    if not holds:
        note += f"; fails: the mean moves {plain.mean():.4g} → {reg.mean():.4g}"
    note += _scale_note(scales, sharp, RELEASED_SHARP_SIGMA, RELEASED_DROPOUT, "train")
    return CLAIM(
        **base,
        measured=f"ViT (dropout {RELEASED_DROPOUT:g}) {mean_sd(plain)} → + reg {mean_sd(reg)} ({len(plain)} seeds)",
        holds=holds,
        note=note,
    )


def fixed_claims(
    cfg: VisionConfig,
    checks: pd.DataFrame,
    sharp: pd.DataFrame,
    target_runs: pd.DataFrame | None = None,
    levels: pd.DataFrame | None = None,
    scales: pd.DataFrame | None = None,
    binary_matched: pd.DataFrame | None = None,
) -> list[Claim]:
    """The protocol's claims (the first five need ``cfg.fixed_seeds``, the released variant's ``cfg.released_seeds``);
    ``levels`` (:func:`.fixed.fixed_noise_levels`) adds V25 Fig. 17's claim and, to a failing end-of-budget
    ordering, where the order turns; ``scales`` (:func:`.fixed.logit_scales`) the logits' size to the ShOp / ShPred
    notes; ``binary_matched`` (the binary models' noise-level sweep at matched accuracy) to a failing
    matched-accuracy ordering."""
    levels = levels if levels is not None else pd.DataFrame()
    out = [
        order_claim(cfg, checks, "matched", target_runs, binary_matched),
        order_claim(cfg, checks, "final", target_runs, levels),
        levels_claim(cfg, levels),
        sharp_claim(cfg, sharp, "shop", scales),
        sharp_claim(cfg, sharp, "shpred", scales),
    ]
    return (out if cfg.fixed_seeds else []) + ([released_claim(cfg, sharp, scales)] if cfg.released_seeds else [])
