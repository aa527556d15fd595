"""The claims of the post-hoc measures on the binary experiment's stored models: the noise level (V25 App. A.3,
Fig. 17), whole-image noise (V25 App. A.2, Table 4) and blank patches."""

from __future__ import annotations


import numpy as np
import pandas as pd

from ....report.claims import ALPHA, Claim, claims_for, fmt
from ....report.stats import paired_p


from ..posthoc_analysis import ENERGY, calibrated
from ..config import VisionConfig

CLAIM = claims_for(__name__)

#: The section of the page that shows this module's claims (each claims row links to it).
SECTION = "Post-hoc measures on the stored models: noise level, whole-image noise, blank patches"


def _paired(df: pd.DataFrame, col: str = "sensitivity") -> pd.Series:
    """Per seed, the ViT's minus the MLP's ``col`` (seeds with both models)."""
    p = df.pivot_table(index="seed", columns="arch", values=col)
    return (p["vit"] - p["mlp"]).dropna() if {"vit", "mlp"} <= set(p.columns) else pd.Series(dtype=float)


def ordering_claim(cfg: VisionConfig, levels: pd.DataFrame) -> Claim:
    """V25 Fig. 17: the ViT is less sensitive than the MLP at every noise level. Per level a paired one-sided t-test
    over seeds (ViT − MLP < 0); holds if every level's p is below the level (an intersection-union test)."""
    base = dict(
        section=SECTION,
        claim="Binary MNIST: the ViT is less sensitive than the MLP at every noise level",
        paper_ref="V25 App. A.3, Fig. 17",
        paper_value="ViTs lower at every variance",
        scale=cfg.scale,
        kind="paper",
    )
    ds = {r: _paired(g) for r, g in levels.groupby("ratio")} if len(levels) else {}
    if not ds or min(len(d) for d in ds.values()) < 2:
        return CLAIM.untestable(**base, why="fewer than 2 seeds with both models measured")
    p = {r: paired_p(d, alternative="less") for r, d in ds.items()}
    above = [r for r, d in ds.items() if paired_p(d, alternative="greater") < ALPHA]
    below = [r for r, v in p.items() if v < ALPHA]
    holds = all(v < ALPHA for v in p.values())
    note = (
        "check: per noise level (a multiple of sigma), a paired one-sided t-test over seeds that ViT − MLP < 0; "
        f"holds if all {len(p)} p-values are below {ALPHA}; p = "
        + ", ".join(f"{fmt(v)} at {r:g} × sigma" for r, v in p.items())
    )
    if not holds:
        note += (
            f"; fails: the ViT is significantly above the MLP at {len(above)} of {len(ds)} levels "
            f"({', '.join(f'{r:g}' for r in above) or 'none'} × sigma) and below it at {len(below)} "
            f"({', '.join(f'{r:g}' for r in below) or 'none'} × sigma): the ordering turns with the noise level. "
            "The ViT's sensitivity on blank patches is the same at every level (its patch LayerNorm, the "
            "diagnosis claims), while the MLP's grows from nothing"
        )
    m = levels.groupby(["ratio", "arch"])["sensitivity"].mean().unstack()
    return CLAIM(
        **base,
        measured="ViT/MLP: "
        + ", ".join(f"{fmt(m.loc[r, 'vit'])}/{fmt(m.loc[r, 'mlp'])}" for r in m.index)
        + f" at {', '.join(f'{r:g}' for r in m.index)} × sigma",
        holds=bool(holds),
        note=note,
    )


def random_noise_claim(cfg: VisionConfig, levels: pd.DataFrame, whole: pd.DataFrame) -> Claim:
    """V25 App. A.2, Table 4: under random whole-image noise (variance chosen so the ViT's sensitivity is about its
    token-wise one) the ordering is the same as under token-wise noise but the gap is smaller. Statistic: per seed
    ``log(ViT/MLP)`` under token-wise minus under random noise; paired one-sided t-test that it is below 0 (token-wise
    noise favours the ViT more), and the sign of the random-noise difference against the token-wise one."""
    base = dict(
        section=SECTION,
        claim="Binary MNIST: token-wise noise favours the ViT over the MLP more than whole-image noise does",
        paper_ref="V25 App. A.2, Table 4",
        paper_value="ResNet / ViT: 2.1× under random noise, 16.5× token-wise",
        scale=cfg.scale,
        kind="paper",
    )
    ratio, vit_w, vit_t = calibrated(levels, whole)
    if not np.isfinite(ratio):
        return CLAIM.untestable(**base, why="no whole-image or token-wise measure stored")
    tok = levels[np.isclose(levels["ratio"], 1.0)].pivot_table(index="seed", columns="arch", values="sensitivity")
    rnd = whole[np.isclose(whole["ratio"], ratio)].pivot_table(index="seed", columns="arch", values="sensitivity")
    eps = 1e-4  # below one change in the measure's evaluations: keeps a log ratio finite
    d = (
        np.log(tok["vit"] + eps) - np.log(tok["mlp"] + eps) - np.log(rnd["vit"] + eps) + np.log(rnd["mlp"] + eps)
    ).dropna()
    if len(d) < 2:
        return CLAIM.untestable(**base, why="fewer than 2 seeds with both models measured")
    p = paired_p(d, alternative="less")
    same = bool(
        np.sign(_paired(whole[np.isclose(whole["ratio"], ratio)]).mean())
        == np.sign(_paired(levels[np.isclose(levels["ratio"], 1.0)]).mean())
    )
    holds = bool(p < ALPHA)
    note = (
        f"check: whole-image noise σ = {ratio:g} × sigma, where the ViT's mean sensitivity ({fmt(vit_w)}) is closest to "
        f"its token-wise one ({fmt(vit_t)}); per seed log(ViT/MLP) token-wise minus under random noise, paired "
        f"one-sided t-test < 0 over {len(d)} seeds, p = {fmt(p)} (holds if < {ALPHA}); the ordering is "
        f"{'the same' if same else 'not the same'} under the two noises"
    )
    mlp_w = float(rnd["mlp"].mean())
    if mlp_w == 0:
        note += (
            f"; at that level the MLP changes no prediction, so its ratio rests on the floor {eps:g} put under "
            "both sensitivities"
        )
    if not holds:
        note += "; fails: " + _why_whole(vit_w, vit_t)
    return CLAIM(
        **base,
        measured=f"ViT/MLP {fmt(float(np.exp(np.log(tok['vit'] + eps) - np.log(tok['mlp'] + eps)).mean()))}× "
        f"token-wise, {fmt(float(np.exp(np.log(rnd['vit'] + eps) - np.log(rnd['mlp'] + eps)).mean()))}× random",
        holds=holds,
        note=note,
    )


def _why_whole(vit_w: float, vit_t: float) -> str:
    if vit_w > 2 * vit_t:
        return (
            f"no whole-image level brings the ViT down to its token-wise sensitivity (closest {fmt(vit_w)}): whole-image "
            "noise lands on every blank patch at once, and the ViT's patch LayerNorm rescales noise on a blank patch "
            "to full size however small it is (the blank-patch sensitivity is the same at every noise level above)"
        )
    return "under token-wise noise the ViT is the more sensitive model (the blank-patch split)"


def whole_order_claim(cfg: VisionConfig, levels: pd.DataFrame, whole: pd.DataFrame) -> Claim:
    """V25 App. A.2, Table 4: under random whole-image noise (at the calibrated level) the transformer is still the
    less sensitive model. Paired one-sided t-test over seeds, ViT − MLP < 0."""
    base = dict(
        section=SECTION,
        claim="Binary MNIST: under whole-image noise the ViT is less sensitive than the MLP",
        paper_ref="V25 App. A.2, Table 4",
        paper_value="ViT-small 0.0082 against ResNet-18 0.0172 (CIFAR-10)",
        scale=cfg.scale,
        kind="paper",
    )
    ratio, _, _ = calibrated(levels, whole)
    at = whole[np.isclose(whole["ratio"], ratio)] if np.isfinite(ratio) else whole.iloc[:0]
    d = _paired(at) if len(at) else pd.Series(dtype=float)
    if len(d) < 2:
        return CLAIM.untestable(**base, why="fewer than 2 seeds with both models measured")
    p = paired_p(d, alternative="less")
    holds = bool(p < ALPHA)
    m = at.groupby("arch")["sensitivity"].mean()
    note = (
        f"check: whole-image noise σ = {ratio:g} × sigma (calibrated on the ViT as V25 do); paired one-sided "
        f"t-test over {len(d)} seeds that ViT − MLP < 0, p = {fmt(p)} (holds if < {ALPHA})"
    )
    if not holds:
        e = whole[np.isclose(whole["ratio"], ENERGY)].groupby("arch")["sensitivity"].mean()
        note += (
            "; fails: whole-image noise touches every blank patch at once, and the patch LayerNorm scales noise on a "
            "blank patch up to full size however small it is, so the ViT reaches its token-wise sensitivity at a "
            "noise level far too small to move the MLP (the blank-patch claims)"
        )
        if {"vit", "mlp"} <= set(e.index):
            note += (
                f"; at the energy of one noisy patch ({ENERGY:g} × sigma per pixel) the ViT changes "
                f"{fmt(e['vit'])} and the MLP {fmt(e['mlp'])} of its predictions"
            )
    return CLAIM(
        **base,
        measured=f"ViT {fmt(m.get('vit', float('nan')))}, MLP {fmt(m.get('mlp', float('nan')))} ({len(d)} seeds)",
        holds=holds,
        note=note,
    )


def blank_claim(cfg: VisionConfig, levels: pd.DataFrame) -> Claim:
    """Diagnosis: at the chapter's sigma, the ViT's excess sensitivity over the MLP lives in blank patches. Statistic:
    per seed, (ViT − MLP) of the changes on blank patches minus (ViT − MLP) on informative ones, both as shares of
    all evaluations; paired one-sided t-test > 0."""
    base = dict(
        section=SECTION,
        claim="Diagnosis: the ViT's excess sensitivity over the MLP lives in blank patches",
        paper_ref="V25 App. A.1 (this chapter's test)",
        paper_value="not in V25",
        scale=cfg.scale,
        kind="diagnosis",
    )
    at = levels[np.isclose(levels["ratio"], 1.0)] if len(levels) else levels
    d = (
        (_paired(at, "contrib_blank") - _paired(at, "contrib_informative")).dropna()
        if len(at)
        else pd.Series(dtype=float)
    )
    if len(d) < 2:
        return CLAIM.untestable(**base, why="fewer than 2 seeds with both models measured")
    p = paired_p(d, alternative="greater")
    holds = bool(p < ALPHA)
    m = at.groupby("arch")[["blank_share", "sens_blank", "sens_informative"]].mean()
    flat = levels[levels["arch"] == "vit"].groupby("ratio")["sens_blank"].mean()
    note = (
        f"check: per seed (ViT − MLP) on blank minus on informative patches (changes per evaluation), paired "
        f"one-sided t-test > 0 over {len(d)} seeds, p = {fmt(p)} (holds if < {ALPHA}). The ViT's blank-patch "
        f"sensitivity from {flat.index.min():g} to {flat.index.max():g} × sigma: {fmt(flat.min())} to {fmt(flat.max())}"
    )
    if not holds:
        eb = float(_paired(at, "contrib_blank").mean())
        ei = float(_paired(at, "contrib_informative").mean())
        note += (
            f"; fails: of the ViT's excess over the MLP ({fmt(eb + ei)} changes per evaluation) {fmt(ei)} is on "
            f"informative patches and {fmt(eb)} on blank ones, although a blank patch changes the ViT's prediction "
            f"{fmt(m.loc['vit', 'sens_blank'] / max(m.loc['mlp', 'sens_blank'], 1e-9))} times as often as the MLP's"
        )
    return CLAIM(
        **base,
        measured=f"excess {fmt(d.mean())} ± {fmt(d.std())}; share of changes on blank patches ViT "
        f"{m.loc['vit', 'blank_share']:.0%}, MLP {m.loc['mlp', 'blank_share']:.0%}; per blank patch ViT "
        f"{fmt(m.loc['vit', 'sens_blank'])}, MLP {fmt(m.loc['mlp', 'sens_blank'])}",
        holds=holds,
        note=note,
    )


def flat_blank_claim(cfg: VisionConfig, levels: pd.DataFrame, bound: float = 1.25) -> Claim:
    """Diagnosis: the ViT's sensitivity on blank patches does not depend on the noise level (the patch LayerNorm
    rescales noise on a constant patch to unit size). Statistic: per seed, log of its blank-patch sensitivity at the
    highest over the lowest noise level; equivalence (two one-sided t-tests) within ±log(``bound``)."""
    base = dict(
        section=SECTION,
        claim="Diagnosis: the ViT's sensitivity on blank patches is the same at every noise level",
        paper_ref="this chapter's test (V25 App. D's patch LayerNorm)",
        paper_value="not in V25",
        scale=cfg.scale,
        kind="diagnosis",
    )
    v = levels[levels["arch"] == "vit"] if len(levels) else levels
    if len(v) == 0 or v["seed"].nunique() < 2:
        return CLAIM.untestable(**base, why="fewer than 2 seeds of the ViT measured")
    lo, hi = v["ratio"].min(), v["ratio"].max()
    p_ = v.pivot_table(index="seed", columns="ratio", values="sens_blank")
    d = np.log(p_[hi].clip(lower=1e-6)) - np.log(p_[lo].clip(lower=1e-6))
    b = np.log(bound)
    p = max(paired_p(d - b, alternative="less"), paired_p(d + b, alternative="greater"))
    holds = bool(p < ALPHA)
    m = levels[levels["arch"] == "mlp"].groupby("ratio")["sens_blank"].mean()
    note = (
        f"check: per seed log(blank-patch sensitivity at {hi:g} over {lo:g} × sigma), equivalence within "
        f"±log({bound:g}) by two one-sided t-tests over {len(d)} seeds, p = {fmt(p)} (holds if < {ALPHA}); the "
        f"MLP's on blank patches goes from {fmt(m.get(lo, float('nan')))} to {fmt(m.get(hi, float('nan')))}"
    )
    if not holds:
        note += "; fails: the ViT's blank-patch sensitivity moves with the noise level"
    return CLAIM(
        **base,
        measured=f"ViT {fmt(p_[lo].mean())} at {lo:g} × sigma, {fmt(p_[hi].mean())} at {hi:g} × sigma "
        f"(ratio {fmt(float(np.exp(d.mean())))})",
        holds=holds,
        note=note,
    )


def posthoc_claims(cfg: VisionConfig, levels: pd.DataFrame, whole: pd.DataFrame) -> list[Claim]:
    """The post-hoc measures' claims (none when the binary experiment is not run)."""
    if not cfg.binary_seeds:
        return []
    return [
        ordering_claim(cfg, levels),
        whole_order_claim(cfg, levels, whole),
        random_noise_claim(cfg, levels, whole),
        blank_claim(cfg, levels),
        flat_blank_claim(cfg, levels),
    ]
