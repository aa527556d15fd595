"""Chapter 06's claims on the training dynamics (HR24 Fig. 3, 12-14): when sharpness rises against when the loss
leaves its plateau, where it peaks, and what the weight norm and the LayerNorm blowup do meanwhile; from
:func:`.dynamics.events_table`."""

from __future__ import annotations


import numpy as np
import pandas as pd

from ...report.claims import ALPHA, Claim, claims_for, fmt
from ...report.stats import spearman
from .dynamics import pct_range, span


CLAIM = claims_for(__name__)


def dynamics_claims(cfg, ev: pd.DataFrame, long: pd.DataFrame | None = None) -> list[Claim]:
    """The dynamics claims (HR24 Fig. 3, 12-14), from :func:`events_table`; ``long``: the long runs' events
    (:func:`.long_dynamics.long_events`), which test why a short run's peak came late (None: not run)."""
    return [sharpness_jump(cfg, ev), sharpness_peak(cfg, ev, long), norm_and_blowup(cfg, ev)]


def sharpness_jump(cfg, ev: pd.DataFrame) -> Claim:
    """Sharpness rises most steeply where the loss leaves its plateau (HR24 Fig. 3, 12)."""
    left = ev[ev["exit_step"].notna()]
    never = len(left) < len(ev)
    rises = (left["rise_gap"] <= cfg.coincide) if len(left) else pd.Series(dtype=bool)
    ok = bool(len(ev) and not never and rises.all())
    return CLAIM(
        scale=cfg.scale,
        claim="Sharpness jumps when the loss leaves its plateau",
        paper_ref="HR24 §7.2, Fig. 3, 12",
        paper_value="sharpness increases dramatically at the time the loss falls",
        measured=f"steepest rise within {cfg.coincide} steps of the exit in {int(rises.sum())}/{len(ev)} runs (gaps "
        f"{span(left['rise_gap'])} steps); exits at steps {span(left['exit_step'])}",
        holds=ok,
        note=f"check: in every run the loss leaves its plateau (first evaluation below half of Var(f)) and the "
        f"largest step-to-step rise of log sharpness ends within {cfg.coincide} steps of it"
        + (
            ""
            if ok
            else "; fails: "
            + ("some run never left its plateau" if never else "some run's sharpness rose most elsewhere")
        ),
        kind="paper",
        headline=True,
        section="Training dynamics of PARITY (HR24 Fig. 3, 12, 13)",
    )


def sharpness_peak(cfg, ev: pd.DataFrame, long: pd.DataFrame | None = None) -> Claim:
    """The (smoothed) sharpness peaks where the loss leaves its plateau (HR24 Fig. 3, 13)."""
    left = ev[ev["exit_step"].notna()]
    never = len(left) < len(ev)
    within = (left["gap"] <= cfg.coincide) if len(left) else pd.Series(dtype=bool)
    ok = bool(len(ev) and not never and within.all())
    late = left[left["gap"] > cfg.coincide]
    rho, p = spearman(left["exit_step"], left["peak_step"]) if len(left) >= 3 else (np.nan, np.nan)
    return CLAIM(
        scale=cfg.scale,
        claim="Sharpness peaks when the loss leaves its plateau",
        paper_ref="HR24 §7.2, Fig. 3, 13",
        paper_value="a spike at the loss drop, lower again later in training",
        measured=f"peak within {cfg.coincide} steps of the exit in {int(within.sum())}/{len(ev)} runs (gaps "
        f"{span(left['gap'])} steps); Spearman(exit, peak) {fmt(rho)} (p = {fmt(p)})",
        holds=ok,
        note=f"check: in every run the sharpness peak ({cfg.window}-evaluation mean) is within {cfg.coincide} steps "
        f"of the plateau exit"
        + (
            ""
            if ok
            else "; fails: " + ("some run never left its plateau" if never else _late_reason(late, long, cfg.coincide))
        ),
        kind="paper",
        section="Training dynamics of PARITY (HR24 Fig. 3, 12, 13)",
    )


def norm_and_blowup(cfg, ev: pd.DataFrame) -> Claim:
    """After convergence weight decay lowers the norm and raises the blowup (HR24 Fig. 12-14)."""
    post = ev[ev["post_steps"] > 0]
    pos, zero = post[post["weight_decay"] > 0], post[post["weight_decay"] == 0]
    rn = spearman(post["weight_decay"], post["norm_change"])
    rb = spearman(post["weight_decay"], post["log_blowup_change"])
    ok = bool(
        len(pos)
        and len(zero)
        and (pos["norm_change"] < 0).all()
        and (pos["log_blowup_change"] > 0).all()
        and (zero["norm_change"] > pos["norm_change"].max()).all()
        and rn[0] < 0
        and rn[1] < ALPHA
        and rb[0] > 0
        and rb[1] < ALPHA
    )
    return CLAIM(
        scale=cfg.scale,
        claim="With weight decay the norm falls after convergence while the blowup rises; without, the norm does "
        "not fall",
        paper_ref="HR24 §7.2, Fig. 12, 13, 14",
        paper_value="norm down and blowup up for weight decay > 0",
        measured=f"weight decay > 0: norm {pct_range(pos['norm_change'])}, log blowup "
        f"{span(pos['log_blowup_change'], digits=3)}; weight decay 0: norm "
        f"{pct_range(zero['norm_change'])}, log blowup {span(zero['log_blowup_change'], digits=3)}; Spearman "
        f"with weight decay: norm {fmt(rn[0])} (p = {fmt(rn[1])}), blowup {fmt(rb[0])} (p = {fmt(rb[1])}); "
        f"{len(post)}/{len(ev)} runs converged before the end",
        holds=ok,
        note=f"check: from the convergence step (3-evaluation mean MSE < 1e-3) to the end, every run with weight "
        f"decay > 0 lost norm and gained log blowup, every run without lost less norm than any of them, and the "
        f"rank correlations of weight decay with both changes have the right sign with p < {ALPHA}"
        + ("" if ok else "; fails at this scale"),
        kind="paper",
        section="Training dynamics of PARITY (HR24 Fig. 3, 12, 13)",
    )


def _late_reason(late: pd.DataFrame, long: pd.DataFrame | None = None, coincide: int = 500) -> str:
    """Why the sharpness peaks of ``late`` runs came long after their plateau exits; with the long runs'
    events, what training 20,000 steps showed of it."""
    wds = sorted(set(late["weight_decay"]))
    text = (
        f"in {len(late)} runs (weight decay {', '.join(f'{w:g}' for w in wds)}) the sharpness kept rising after "
        f"the jump and peaked at steps {span(late['peak_step'])}"
    )
    if min(wds) > 0:
        text += ", as weight decay drove the blowup up (next claim)"
    left = long[long["exit_step"].notna()] if long is not None and len(long) else None
    if left is not None and len(left):
        parts = []
        for wd, g in left.groupby("weight_decay"):
            near = int(((g["peak_step"] - g["exit_step"]) <= coincide).sum())
            parts.append(
                f"weight decay {wd:g}: peak within {coincide} steps of the exit in {near}/{len(g)} runs, "
                f"peaks at steps {span(g['peak_step'])}"
            )
        text += (
            f"; the long runs ({int(left['steps'].max()):,} steps) test whether a longer run brings it down: "
            + "; ".join(parts)
        )
    return text
