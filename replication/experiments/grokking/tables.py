"""Chapter 12's tables and prose numbers for the modular-addition runs: the phases read off each run's curves
(:func:`~replication.measures.phases.grokking_phases`), the fall steps, the generated sentences and the compute
spent. The runs are :mod:`.runs`; the claims are in :mod:`.claims`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy import nan
import pandas as pd

from ...report.claims import ALPHA, fmt
from ...report.stats import critical_rho, rank_correlation, runs_for_dependent_correlations
from ...measures.phases import fall_step, grokking_phases, smooth
from .config import parity_runs
from .sparse_parity import rng, span

if TYPE_CHECKING:
    from .config import GrokkingConfig


def phases_table(curves: pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """One row per modular-addition run: :func:`~replication.measures.phases.grokking_phases` and the run's summary,
    sensitivity smoothed over ``window`` evaluations (the config's ``window``)."""
    rows = []
    for seed, h in curves.groupby("seed", sort=True):
        r = h.iloc[0]
        ph = grokking_phases(
            h["step"], h["train_acc"], h["test_acc"], h["sensitivity"], h["weight_norm"], r["baseline"], window=window
        )
        rows.append(
            {
                "seed": seed,
                "grokked": ph["t_grok"] is not None,
                **ph,
                "baseline": r["baseline"],
                "sens_count": int(r["n_train"] * r["draws"] * window),
                "steps_run": r["steps_run"],
                "final_test_acc": r["final_test_acc"],
                "train_seconds": r["train_seconds"],
            }
        )
    return fall_steps(curves, pd.DataFrame(rows), window)


def fall_steps(curves: pd.DataFrame, phases: pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """``phases`` with, per run, the first step after the sensitivity peak at which sensitivity (smoothed) has
    lost ``sens_share`` of its peak, ``t_sens_half``, and the weight norm ``norm_share`` of its value there,
    ``t_norm_half``; each share is half the median relative fall over clean-up of the runs that grokked."""
    g = phases[phases["grokked"].astype(bool)]
    shares = {"sens_share": g["sens_fall"].median() / 2, "norm_share": g["norm_fall_cleanup"].median() / 2}
    out = phases.assign(**shares)
    for col, curve, share, w in (
        ("t_sens_half", "sensitivity", "sens_share", window),
        ("t_norm_half", "weight_norm", "norm_share", 1),
    ):
        out[col] = [
            fall_step(h["step"], h[curve], t, shares[share], w)
            for (_, h), t in zip(curves.groupby("seed", sort=True), out["t_peak"])
        ]
    return out


def describe(cfg: GrokkingConfig, phases: pd.DataFrame) -> str:
    """A few sentences (Markdown) with this run's numbers, for the notebook to display."""
    g = phases[phases["grokked"].astype(bool)]
    lines = [
        f"With p = {cfg.p} and {cfg.train_fraction:.0%} of the pairs for training, the commutativity "
        f"baseline is {fmt(phases['baseline'].mean())}: that is where test accuracy sits after memorisation."
    ]
    lines.append(
        f"Training accuracy reached 99% at steps {span(phases['t_sat'])}; {len(g)} of {len(phases)} runs "
        f"grokked (test ≥ 95%), at steps {span(g['t_grok'])}."
    )
    rose = phases[phases["t_early"] > 0]
    lines.append(
        f"While the training set was being fitted, sensitivity went from {rng(phases['sens_start'])} at step 0 "
        f"to an early peak of {rng(phases['sens_early'])} at steps {span(phases['t_early'])} (above its "
        f"step-0 value in {len(rose)} of {len(phases)} runs), then fell to {rng(phases['sens_trough'])} at "
        f"steps {span(phases['t_trough'])}, {rng(100 * phases['early_fall'])}% below the early peak."
    )
    if len(g) < len(phases):
        lines.append(
            f"Seeds {', '.join(str(s) for s in phases.loc[~phases['grokked'], 'seed'])} never grokked "
            f"within {cfg.steps} steps; they stay in every table and figure."
        )
    dips = phases[phases["train_dip"] < 0.99]
    for r in dips.itertuples():
        lines.append(
            f"In seed {r.seed} training accuracy fell back to {fmt(r.train_dip)} at step {r.t_dip} after "
            f"saturating (a loss spike), and sensitivity jumped with it."
        )
    if len(g):
        lines.append(
            f"Sensitivity peaked at steps {span(g['t_peak'])} (at {rng(g['sens_peak'])}) and had lost "
            f"{rng(100 * g['sens_fall'])}% "
            f"of its peak before test accuracy left its plateau, {span(g['lead'])} steps later "
            f"(mean {g['lead'].mean():.0f}); test accuracy reached 95% {span(g['lead_grok'])} steps after "
            f"the peak. Over the same stretch the weight norm fell by {rng(100 * g['norm_fall_cleanup'])}% of "
            f"its value."
        )
    return " ".join(lines)


def describe_cleanup(phases: pd.DataFrame) -> str:
    """The clean-up comparison of sensitivity and weight norm (Markdown): relative falls and rank correlations."""
    g = phases[phases["grokked"].astype(bool)]
    if len(g) < 3:
        return f"Only {len(g)} run(s) grokked: too few for a rank correlation over runs."
    rs, ps, ns = rank_correlation(g["t_sens_half"], g["t_grok"])
    rn, pn, nn = rank_correlation(g["t_norm_half"], g["t_grok"])
    ratio = g["norm_fall_cleanup"] / g["sens_fall"]
    return (
        f"Over clean-up the weight norm lost {rng(100 * g['norm_fall_cleanup'])}% of its value and sensitivity "
        f"{rng(100 * g['sens_fall'])}% of its peak: the norm moved {rng(ratio)} times as much as sensitivity, in "
        f"relative terms. Over the {len(g)} grokked runs, the step at which sensitivity had lost "
        f"{fmt(100 * g['sens_share'].iloc[0])}% of its peak has Spearman ρ = {fmt(rs)} with the grokking step "
        f"(one-sided exact p = {fmt(ps)}, {ns} runs); the step at which the norm had lost "
        f"{fmt(100 * g['norm_share'].iloc[0])}% of its value has ρ = {fmt(rn)} (p = {fmt(pn)}, {nn} runs). With "
        f"{len(g)} runs, p < {ALPHA} needs ρ ≥ {fmt(critical_rho(len(g)))}."
    )


#: Columns of :func:`phases_display`.
PHASE_COLUMNS = [
    "seed",
    "grokked",
    "baseline",
    "t_early",
    "t_sat",
    "t_trough",
    "t_peak",
    "t_rise",
    "t_grok",
    "lead",
    "lead_grok",
    "sens_start",
    "sens_early",
    "sens_trough",
    "early_fall",
    "sens_peak",
    "sens_fall",
    "norm_fall_cleanup",
    "t_sens_half",
    "t_norm_half",
    "steps_run",
    "train_seconds",
]


def phases_display(phases: pd.DataFrame) -> pd.DataFrame:
    """The phase table with the columns a reader needs (:data:`PHASE_COLUMNS`), rounded, indexed by seed."""
    return phases[PHASE_COLUMNS].set_index("seed").round(4)


def grok_trial_table(curves: pd.DataFrame, trials) -> pd.DataFrame:
    """One row per modular-addition trial: seeds that grokked (test accuracy ≥ 95%), at which steps, the test
    accuracy of the others at the end, seconds per step."""
    rows = []
    for t in trials:
        c = (
            curves[
                (curves["p"] == t.p)
                & (curves["train_fraction"] == t.train_fraction)
                & (curves["lr"] == t.lr)
                & (curves["weight_decay"] == t.weight_decay)
                & (curves["seed"] < t.seeds)
            ]
            if len(curves)
            else curves
        )
        runs = c.groupby("seed") if len(c) else []
        first = {s: h.loc[h["test_acc"] >= 0.95, "step"].min() for s, h in runs}
        grokked = {s: v for s, v in first.items() if pd.notna(v)}
        rest = [float(h["test_acc"].iloc[-1]) for s, h in runs if s not in grokked]
        per_step = [float(h["train_seconds"].iloc[0] / h["steps_run"].iloc[0]) for _, h in runs] if len(c) else []
        rows.append(
            {
                "trial": t.label,
                "grokked": f"{len(grokked)}/{len(first)}",
                "grokked at step": span(grokked.values(), fmt=int) if grokked else "never",
                "final test acc of the others": rng(rest) if rest else "",
                "seconds per step": pd.Series(per_step).median() if per_step else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def parity_setting_text(cfg: GrokkingConfig) -> str:
    """The chapter's sparse-parity setting in a sentence (Markdown), naming the trial it is, if it is one."""
    r = parity_runs(cfg)[0]
    trial = next((t for t in cfg.parity_trials if set(parity_runs(cfg)) <= set(t.runs(r))), None)
    stop = f", each run stopping {r.after_learn:,} steps after it learns the parity" if r.after_learn else ""
    return (
        f"The chapter's sparse-parity runs: $n = {r.n}$, $k = {r.k}$ ($k/n = {r.k / r.n:g}$), a fixed set of "
        f"{r.n_train:,} strings, batch {r.batch_size}, at most {r.steps:,} steps{stop}; {cfg.parity_seeds} seed{'s' * (cfg.parity_seeds != 1)}"
        + (f" (the trial {trial.label})." if trial else ".")
    )


#: V25's phase boundaries (§7.3, App. A.5): memorisation ends, clean-up starts (sensitivity falls), test jumps.
V25_PHASES = {"memorisation ends": 500, "sensitivity peak (clean-up starts)": 3000, "test ≥ 95% (grokked)": 9800}


def v25_phase_table(phases: pd.DataFrame) -> pd.DataFrame:
    """Each run's phase boundaries beside V25's: training accuracy ≥ 99%, the sensitivity peak, test ≥ 95%."""
    rows = [{"run": "V25 (one run, read off their figure)", **V25_PHASES}]
    for r in phases.itertuples():
        rows.append(
            {
                "run": f"seed {r.seed}",
                "memorisation ends": r.t_sat,
                "sensitivity peak (clean-up starts)": r.t_peak,
                "test ≥ 95% (grokked)": r.t_grok,
            }
        )
    return pd.DataFrame(rows).set_index("run").astype("Int64")


#: Power the predictor claim's run count is computed for.
POWER = 0.8
#: After the jump, the training loss "spikes" when, having fallen below QUIET, it climbs back above SPIKE.
QUIET, SPIKE = 1e-4, 1e-3


def spike_at(h: pd.DataFrame) -> int | None:
    """Position in ``h`` (one run's evaluations from the jump on) of the first training-loss spike, None if none."""
    quiet = (h["train_loss"].to_numpy() < QUIET).cumsum() > 0
    hit = np.flatnonzero(quiet & (h["train_loss"].to_numpy() > SPIKE))
    return int(hit[0]) if len(hit) else None


def bump_table(curves: pd.DataFrame, phases: pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """After the jump (V25 App. A.5's noise-reduction phase: "an upward and then downward trend"), one row per grokked
    run, read off the sensitivity up to the last evaluation with a quiet training loss before its first spike
    (:func:`spike_at`; a spike makes sensitivity jump for another reason), smoothed within that stretch: the largest rise of the curve above its running minimum, from ``sens_low``
    at ``t_low`` to ``sens_bump`` at ``t_bump``, its value at the end of the stretch (``sens_end``, at ``t_end``), the
    step of the spike (``t_spike``, None without one) and ``sens_count``, what one smoothed value counts (training
    pairs × draws × window), for the claims' proportion tests."""
    rows = []
    for r in phases[phases["grokked"].astype(bool)].itertuples():
        h = curves[(curves["seed"] == r.seed) & (curves["step"] >= r.t_grok)].sort_values("step")
        h = h.reset_index(drop=True)
        cut = spike_at(h)
        if cut is not None:  # up to the last quiet evaluation before the spike, smoothed within that stretch alone
            cut = int(np.flatnonzero(h["train_loss"].to_numpy()[:cut] < QUIET)[-1]) + 1
        stretch = h if cut is None else h.iloc[:cut]
        steps, s = stretch["step"].to_numpy(), smooth(stretch["sensitivity"], window)
        top = int((s - np.minimum.accumulate(s)).argmax())  # the largest rise above the running minimum
        low = int(s[: top + 1].argmin())
        rows.append(
            {
                "seed": r.seed,
                "t_grok": r.t_grok,
                "t_low": int(steps[low]),
                "sens_low": float(s[low]),
                "t_bump": int(steps[top]),
                "sens_bump": float(s[top]),
                "t_end": int(steps[-1]),
                "sens_end": float(s[-1]),
                "t_spike": None if cut is None else int(h["step"][cut]),
                "sens_count": r.sens_count,
            }
        )
    cols = ["seed", "t_grok", "t_low", "sens_low", "t_bump", "sens_bump", "t_end", "sens_end", "t_spike", "sens_count"]
    return pd.DataFrame(rows, columns=cols)


def few_runs_text(n: int) -> str:
    """What ``n`` runs can show of the predictor claim (Markdown): the rank correlation each needs, and the
    degrees of freedom of the comparison."""
    return (
        f"With {n} runs (the `paper` scale's seeds), an exact one-sided rank correlation reaches p < {ALPHA} only at "
        f"ρ ≥ {fmt(critical_rho(n))}, and Williams's comparison of the two correlations has {n - 3} degree"
        f"{'s' * (n - 3 != 1)} of freedom: {n} seeds can show the phases run by run, and whether sensitivity times the "
        f"jump at all, but hardly whether it times it better than the weight norm."
    )


def predictor_plan_text(cfg: GrokkingConfig, phases: pd.DataFrame, predictor: pd.DataFrame) -> str:
    """How many runs the predictor claim was planned on, from the chapter's own runs (``phases``), and how many of
    them are stored (``predictor``), in a few sentences (Markdown)."""
    planned = max(cfg.predictor_seeds, cfg.seeds)
    g = phases[phases["grokked"].astype(bool)]
    g = g[np.isfinite(g[["t_sens_half", "t_norm_half", "t_grok"]].astype(float)).all(axis=1)]
    rs, _, n = rank_correlation(g["t_sens_half"], g["t_grok"])
    rn, _, _ = rank_correlation(g["t_norm_half"], g["t_grok"])
    r_sn = float(g[["t_sens_half", "t_norm_half"]].astype(float).corr(method="spearman").iloc[0, 1]) if n >= 3 else nan
    need = runs_for_dependent_correlations(rs, rn, r_sn, power=POWER)
    plan = f"about {need} runs for {POWER:.0%} power" if need else "more runs than these correlations allow"
    return (
        f"At the correlations of the chapter's {n} grokked runs, Williams's test needs {plan}; {planned} runs were "
        f"fixed in advance (`predictor_seeds`), and {len(predictor)} are stored. The claim is judged once all "
        f"{planned} are, and shows its interim numbers until then: judging as runs arrive, and stopping at the first "
        f"p < {ALPHA}, would inflate the error rate."
    )
