"""The claims of regularisation, robustness and flat minima (V25 §7.1, §7.2 Table 2): the regularised and the
augmented ViT against the plain one, paired by seed, and ShOp / ShPred over parameter-noise levels."""

from __future__ import annotations


import pandas as pd

from ....report.claims import ALPHA, Claim, claims_for, fmt
from ....report.stats import mean_sd, paired_p


from ..analysis import NAMES, _change, _setting, _values
from ..runs import RELEASED_DROPOUT, RELEASED_SHARP_SIGMA
from ..config import VisionConfig

CLAIM = claims_for(__name__)

#: The section of the page that shows the fixed-budget ViTs' flatness (each claims row links to it).
SECTION = "Flat minima under one fixed budget"


#: The method claims (V25 §7.1, §7.2): (method, column, claim, paper_ref, paper_value), the regularised
#: architecture trained with ``method`` against its plain training.
METHOD_CLAIMS = (
    (
        "reg",
        "sensitivity",
        "The sensitivity regulariser lowers the token-wise sensitivity",
        "V25 §7.1, Fig. 9",
        "lower for ViT-small-reg than ViT-small",
    ),
    (
        "reg",
        "noise_acc",
        "The sensitivity regulariser raises accuracy under noise corruptions",
        "V25 §7.1, Fig. 9 (CIFAR-10-C noise)",
        "higher, most of all on noise and blur",
    ),
    (
        "aug",
        "sensitivity",
        "Whole-image noise augmentation lowers the token-wise sensitivity",
        "V25 §7.1, Fig. 9",
        "lower for ViT-small-aug than ViT-small",
    ),
    (
        "aug",
        "noise_acc",
        "Whole-image noise augmentation raises accuracy under noise corruptions",
        "V25 §7.1, Fig. 9 (CIFAR-10-C noise)",
        "higher, most of all on noise and blur",
    ),
    (
        "reg",
        "shop",
        "The regularised model sits in a flatter minimum: lower ShOp",
        "V25 §7.2, Table 2",
        "39.166 → 9.025 (ViT-small, CIFAR-10)",
    ),
    (
        "reg",
        "shpred",
        "The regularised model sits in a flatter minimum: lower ShPred",
        "V25 §7.2, Table 2",
        "0.5346 → 0.3982 (ViT-small, CIFAR-10)",
    ),
)


#: The method claims that state what a section title of V25 states (§7.1: lower sensitivity, trained in, improves
#: robustness; §7.2: it goes with flatter minima): (method, column).
HEADLINE_METHOD_CLAIMS = (("reg", "noise_acc"), ("reg", "shop"), ("reg", "shpred"))


def method_effect(
    cfg: VisionConfig, runs: pd.DataFrame, method: str, col: str, claim: str, paper_ref: str, paper_value: str
) -> Claim:
    """Training the regularised architecture with ``method`` moves ``col`` the way V25 report (lower, or higher
    for ``noise_acc``) against its plain training: a paired t-test over seeds."""
    arch = cfg.regularised
    base, other = _values(runs, arch, "plain", col), _values(runs, arch, method, col)
    ok = len(base) > 0 and len(other) > 0
    lower = col != "noise_acc"
    p = (paired_p(other, base) if lower else paired_p(base, other)) if ok else float("nan")
    what = {"noise_acc": "mean accuracy over the noise corruptions and severities"}.get(col, col)
    holds = bool(ok and p < ALPHA)
    note = (
        f"check: one-sided paired t-test over seeds (same seed, same initialisation), {col} "
        f"{'lower' if lower else 'higher'} with {method}, p = {fmt(p)} (holds if < {ALPHA})"
    )
    if not holds and ok:
        note += f"; fails: the mean {_change(base.mean(), other.mean())} with {method}. {_setting(cfg, runs)}"
    elif not holds:
        note += f"; fails: the methods parameter left {method} out"
    return CLAIM(
        claim=claim,
        paper_ref=paper_ref,
        paper_value=paper_value,
        measured=f"{NAMES[arch]} plain {mean_sd(base)} → + {method} {mean_sd(other)} ({what})" if ok else "not run",
        holds=holds,
        scale=cfg.scale,
        note=note,
        kind="paper",
        headline=(method, col) in HEADLINE_METHOD_CLAIMS,
        section="Flat minima (V25 §7.2, Table 2)"
        if col in ("shop", "shpred")
        else "Regularisation and robustness (V25 §7.1)",
    )


def method_claims(cfg: VisionConfig, runs: pd.DataFrame) -> list[Claim]:
    """The regulariser's and augmentation's effects on the target-accuracy runs (V25 §7.1, §7.2), each judged by a
    one-sided paired t-test over seeds at level ``ALPHA``."""
    return [method_effect(cfg, runs, *spec) for spec in METHOD_CLAIMS]


#: The plain ViT's mean ShPred that makes a noise level one "where the test has power": at 5% of 4,000 images
#: and 20 draws, 4,000 changes per model, so the counting error is far below the seed-to-seed spread.
POWER_SHPRED = 0.05


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


def sharp_claims(cfg: VisionConfig, sharp: pd.DataFrame, scales: pd.DataFrame | None = None) -> list[Claim]:
    """The fixed-budget ViTs' ShOp / ShPred claims (V25 Table 2; they need ``cfg.fixed_seeds``) and the released
    code's variant's (``cfg.released_seeds``); ``scales`` (:func:`..fixed.logit_scales`) adds the logits' size to
    the notes."""
    out = [sharp_claim(cfg, sharp, "shop", scales), sharp_claim(cfg, sharp, "shpred", scales)]
    return (out if cfg.fixed_seeds else []) + ([released_claim(cfg, sharp, scales)] if cfg.released_seeds else [])
