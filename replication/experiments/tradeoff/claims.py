"""Chapter 06's claims: one function per claim, each computed from the tables with the check in its note.

The tradeoff claims read :func:`.stats.pooled_interaction`, :func:`.stats.n_effect` (with
:func:`.stats.equivalence`) and :func:`.stats.parity_offset` of the tradeoff runs;
the dynamics claims are :func:`.dynamics_claims.dynamics_claims`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...report.claims import ALPHA, Claim, claims_for, fmt
from .dynamics_claims import dynamics_claims
from .long_claims import long_claims
from .long_dynamics import floor
from .stats import EQUIVALENCE_SHARE, equivalence, n_effect, parity_bound, parity_offset, pooled_interaction

CLAIM = claims_for(__name__)

if TYPE_CHECKING:
    from .config import TradeoffConfig


def claims(
    cfg: TradeoffConfig,
    runs: pd.DataFrame,
    events: pd.DataFrame,
    offsets: pd.DataFrame | None = None,
    long: pd.DataFrame | None = None,
) -> list[Claim]:
    """Chapter 06's claims, each computed from the tables above with the check stated in its note;
    ``offsets``: :func:`.offset.offset_table`, the experiment that tests the short-PARITY claim's likely causes;
    ``long``: :func:`.long_dynamics.long_events` (None or empty: no long-run claims)."""
    eff = n_effect(runs).set_index("function")
    extra = long_claims(cfg, long, floor(runs, cfg.dynamics_n)) if long is not None else []
    return (
        [parity_frontier(cfg, eff, pooled_interaction(runs)), others_flat(cfg, eff), short_parity(cfg, runs, offsets)]
        + dynamics_claims(cfg, events, long)
        + extra
    )


def _parity(eff: pd.DataFrame) -> pd.Series | None:
    """PARITY's row of :func:`.stats.n_effect` (indexed by function), or None without kept PARITY runs."""
    return eff.loc["parity"] if "parity" in eff.index else None


def parity_frontier(cfg: TradeoffConfig, eff: pd.DataFrame, pooled: dict) -> Claim:
    """For PARITY, at matched norm, log blowup rises with n faster than for the other functions (HR24 Fig. 2, 9):
    the pooled interaction of :func:`.stats.pooled_interaction`."""
    par = _parity(eff)
    ok = bool(np.isfinite(pooled["extra"]) and pooled["extra"] > 0 and pooled["p"] < ALPHA)
    own = "" if par is None else f"; PARITY alone {fmt(par['coef_n'])} ± {fmt(par['se_n'])} (p = {fmt(par['p_n'])})"
    return CLAIM(
        scale=cfg.scale,
        claim="For PARITY the norm–blowup frontier moves outward with n: at matched norm, log blowup rises with n "
        "faster than for the other functions",
        paper_ref="HR24 §7.2, Fig. 2, 9",
        paper_value="runs at larger n sit above the others",
        measured="no kept PARITY runs at two lengths"
        if not np.isfinite(pooled["extra"])
        else f"PARITY's extra n-slope {fmt(pooled['extra'])} ± {fmt(pooled['se'])} per unit of n (p = "
        f"{fmt(pooled['p'])}, {pooled['runs']} runs); the others' shared slope {fmt(pooled['others_slope'])}" + own,
        holds=ok,
        note=f"check: one least-squares fit over every kept run of the one protocol, log E[Blowup] ~ an intercept "
        f"and a norm slope per function + n + n·[PARITY]; the interaction's coefficient > 0 with two-sided "
        f"t-test p < {ALPHA} (a pooled test: it uses every function's runs to fix the slope PARITY must "
        "exceed)"
        + (
            ""
            if ok
            else "; fails: too few kept runs or lengths, or no significant excess at this scale's short lengths"
        ),
        kind="paper",
        headline=True,
        section="Does $n$ move the frontier?",
    )


def others_flat(cfg: TradeoffConfig, eff: pd.DataFrame) -> Claim:
    """For MAJORITY, FIRST and MEAN, the effect of n at matched norm is within an equivalence bound (HR24 Fig. 9)."""
    rest = eff.drop(index="parity", errors="ignore")
    bound = parity_bound(eff)
    tost = equivalence(rest, bound)
    flat = bool(len(tost) and tost["equivalent"].all())
    out = [f for f, e in zip(tost["function"], tost["equivalent"]) if not e]
    return CLAIM(
        scale=cfg.scale,
        claim="For MAJORITY, FIRST and MEAN, n adds nothing at matched norm: each n-slope is within half of PARITY's",
        paper_ref="HR24 §7.2, Fig. 9",
        paper_value="no visible dependence on n",
        measured="; ".join(f"{r.function}: 90% CI [{fmt(r.lo)}, {fmt(r.hi)}]" for r in tost.itertuples())
        + (f" within ±{fmt(bound)}" if np.isfinite(bound) else "")
        or "no other function",
        holds=flat,
        note=f"check: equivalence (two one-sided tests at {ALPHA}): the 90% interval of each function's "
        f"coefficient of n (log E[Blowup] ~ norm + n over its kept runs) lies within ±{EQUIVALENCE_SHARE:g} "
        "× PARITY's coefficient from the same fit, a bound under which n cannot move a frontier as it moves "
        "PARITY's"
        + (
            ""
            if flat
            else "; fails: "
            + (
                "no PARITY coefficient to set the bound"
                if not np.isfinite(bound)
                else f"the interval of {', '.join(out)} reaches past the bound (too few runs to exclude an effect of "
                "that size)"
            )
        ),
        kind="paper",
        section="Does $n$ move the frontier?",
    )


def short_parity(cfg: TradeoffConfig, runs: pd.DataFrame, offsets: pd.DataFrame | None = None) -> Claim:
    """Short PARITY sits with the other functions, longer PARITY above them (HR24 Fig. 10)."""
    off = parity_offset(runs)
    if len(off) >= 2:
        short, long_ = off.iloc[0], off.iloc[-1]
        ok = bool(short["p"] >= ALPHA and long_["p"] < ALPHA and long_["offset"] > short["offset"])
        measured = (
            f"offset above the others' line at n = {int(short['n'])}: {fmt(short['offset'])} (p = "
            f"{fmt(short['p'])}); at n = {int(long_['n'])}: {fmt(long_['offset'])} (p = {fmt(long_['p'])})"
        )
    else:
        ok, measured = False, "fewer than two PARITY lengths with kept runs"
    return CLAIM(
        scale=cfg.scale,
        claim="Short PARITY sits with the other functions; longer PARITY sits above them",
        paper_ref="HR24 App. E, Fig. 10",
        paper_value="n = 5: like the others; n = 10, 15, 20: above",
        measured=measured,
        holds=ok,
        note=f"check: residuals of PARITY runs from a line log E[Blowup] ~ norm fitted to the other functions; at "
        f"PARITY's shortest length not different from theirs (Mann-Whitney p ≥ {ALPHA}), at its longest "
        f"different (p < {ALPHA}) and higher" + ("" if ok else "; fails: " + _offset_reason(off, offsets)),
        kind="paper",
        section="Does $n$ move the frontier?",
    )


def _offset_reason(off: pd.DataFrame, offsets: pd.DataFrame | None = None) -> str:
    """Why the short-PARITY claim failed, from :func:`parity_offset` and the offset experiment's table."""
    if len(off) < 2:
        return "fewer than two PARITY lengths with kept runs"
    short, long_ = off.iloc[0], off.iloc[-1]
    if short["p"] >= ALPHA:
        return f"at n = {int(long_['n'])} PARITY is not significantly above the others (p = {fmt(long_['p'])})"
    text = f"already at n = {int(short['n'])} PARITY sits {fmt(short['offset'])} above the others' line in log blowup"
    if offsets is None or len(offsets) < 2 or not np.isfinite(offsets["offset"]).any():
        return (
            text
            + " (the offset experiment, which reruns n = "
            + f"{int(short['n'])} at HR24's width and learning rates, is not stored)"
        )
    base, rest = offsets.iloc[0], offsets.iloc[1:]
    parts = [f"{r.setting}: {fmt(r.offset)} (p = {fmt(r.p)})" for r in rest.itertuples()]
    moved = [
        r.setting for r in rest.itertuples() if np.isfinite(r.p) and r.p >= ALPHA and r.offset < base["offset"] / 2
    ]
    verdict = (
        f"{' and '.join(moved)} moves PARITY onto MAJORITY's frontier"
        if moved
        else "none of these changes moves PARITY onto MAJORITY's frontier"
    )
    return (
        f"{text}; the offset experiment (PARITY above MAJORITY at n = {int(short['n'])}, matched norm) gives "
        f"{fmt(base['offset'])} (p = {fmt(base['p'])}) at this chapter's settings, " + "; ".join(parts) + f": {verdict}"
    )
