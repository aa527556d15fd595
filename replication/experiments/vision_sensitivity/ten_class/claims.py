"""The ten-class comparison's claims: the ViT below the CNN and the MLP at a target training accuracy (V25 §5) and
under one fixed budget, at matched accuracy, at the end and over noise levels (V25 Fig. 17)."""

from __future__ import annotations


import numpy as np
import pandas as pd

from ....report.claims import ALPHA, Claim, claims_for, fmt
from ....report.stats import mean_sd, welch_p


from ..analysis import NAMES, _setting, _values
from ..binary_mnist.claims import crossing
from ..fixed import PLAIN, reached_levels
from ..config import VisionConfig

CLAIM = claims_for(__name__)

#: The section of the page that shows the fixed-budget comparison (each claims row links to it).
SECTION = "The ten-class comparison again, under one fixed budget"


#: The architecture claims (V25 §5): the ViT against each other architecture, (other, paper_ref, paper_value).
ARCHITECTURE_CLAIMS = (
    ("cnn", "V25 §5, App. A.3 Fig. 18 (Fashion-MNIST)", "CNN 0.0453 vs ViT 0.0098"),
    (
        "mlp",
        "V25 §5, Fig. 18 (Fashion-MNIST); App. A.1 Fig. 13 (MNIST)",
        "MLP 0.0559 / 0.0505 vs ViT 0.0098; on MNIST the ViT below the MLP",
    ),
)


def vit_less_sensitive(cfg: VisionConfig, runs: pd.DataFrame, other: str, paper_ref: str, paper_value: str) -> Claim:
    """At comparable training accuracy the plain ViT's sensitivity is below ``other``'s (Welch t-test over seeds)."""
    acc = runs["train_acc"].astype(float)
    comparable = f"final training accuracies {fmt(acc.min())}–{fmt(acc.max())}"
    v, o = _values(runs, "vit", "plain", "sensitivity"), _values(runs, other, "plain", "sensitivity")
    ok = len(v) > 0 and len(o) > 0
    p = welch_p(v, o) if ok else float("nan")
    holds = bool(ok and p < ALPHA)
    note = f"check: one-sided Welch t-test over seeds, p = {fmt(p)} (holds if < {ALPHA})"
    if not holds and ok and o.mean() > 0:
        note += (
            f"; fails: the ViT's mean sensitivity is {v.mean() / o.mean():.2f}× the {NAMES[other]}'s. "
            f"{_setting(cfg, runs)}"
        )
    elif not holds:
        note += "; fails" + ("" if ok else ": the architectures parameter left one of the two out")
    return CLAIM(
        claim=f"At comparable training accuracy the ViT's token-wise sensitivity is below the {NAMES[other]}'s",
        paper_ref=paper_ref,
        paper_value=paper_value,
        measured=f"ViT {mean_sd(v)}, {NAMES[other]} {mean_sd(o)} ({len(v)} seeds each); {comparable}"
        if ok
        else "not run",
        holds=holds,
        scale=cfg.scale,
        note=note,
        kind="paper",
        headline=True,
        section="Sensitivity at the end of training",
    )


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


def fixed_claims(
    cfg: VisionConfig,
    checks: pd.DataFrame,
    target_runs: pd.DataFrame | None = None,
    levels: pd.DataFrame | None = None,
    binary_matched: pd.DataFrame | None = None,
) -> list[Claim]:
    """The fixed-budget protocol's orderings (they need ``cfg.fixed_seeds``); ``levels``
    (:func:`..fixed.fixed_noise_levels`) adds V25 Fig. 17's claim and, to a failing end-of-budget ordering, where the
    order turns; ``binary_matched`` (the binary models' noise-level sweep at matched accuracy) to a failing
    matched-accuracy ordering."""
    levels = levels if levels is not None else pd.DataFrame()
    out = [
        order_claim(cfg, checks, "matched", target_runs, binary_matched),
        order_claim(cfg, checks, "final", target_runs, levels),
        levels_claim(cfg, levels),
    ]
    return out if cfg.fixed_seeds else []


def architecture_claims(cfg: VisionConfig, runs: pd.DataFrame) -> list[Claim]:
    """The ViT below the CNN and the MLP at the target training accuracy (V25 §5), Welch t-tests over seeds."""
    return [vit_less_sensitive(cfg, runs, *spec) for spec in ARCHITECTURE_CLAIMS]
