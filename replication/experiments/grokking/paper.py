"""Chapter 12 at V25's own settings: the `paper` preset's runs, computed once on a CPU and committed under
``results/paper/``, read by the `cpu` book as far as they are stored (:func:`paper_scale`), so its claims are
recorded at scale `paper` beside the `cpu` ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ...report.claims import fmt
from .config import PRESETS, GrokkingConfig, grok_runs
from .runs import stored_curves
from .sparse_parity import rng, span
from ...measures.phases import smooth
from .tables import V25_PHASES, bump_table, phases_table, spike_at


@dataclass(frozen=True)
class PaperScale:
    """What the `cpu` book reads of the `paper` runs: the config, the stored runs' curves, their phase and post-jump
    tables, and how many runs the scale has (``stored`` of ``runs``)."""

    cfg: GrokkingConfig
    curves: pd.DataFrame
    phases: pd.DataFrame
    bump: pd.DataFrame
    runs: int

    @property
    def stored(self) -> int:
        return len(self.phases)

    @property
    def cost(self) -> dict[str, pd.DataFrame]:
        """``{name: phase table}`` for the chapter's compute summary (empty when no run is stored)."""
        return {"modular addition (paper)": self.phases} if self.stored else {}


def paper_scale(cfg: GrokkingConfig, cache=None) -> PaperScale:
    """The `paper` runs as far as they are stored, read by a `cpu` build (computing nothing); at any other scale an
    empty reading (the `ci` tests never read committed results, and a `paper` build has them as its own runs)."""
    paper = PRESETS["paper"]
    curves = stored_curves(grok_runs(paper), cache) if cfg.scale == "cpu" else pd.DataFrame()
    if curves.empty:
        return PaperScale(paper, curves, pd.DataFrame(), pd.DataFrame(), paper.seeds)
    phases = phases_table(curves, paper.window)
    return PaperScale(paper, curves, phases, bump_table(curves, phases, paper.window), paper.seeds)


def paper_text(p: PaperScale) -> str:
    """What is stored of the `paper` runs, what one cost, and where their phases fall against V25's (Markdown)."""
    c = p.cfg
    if not p.stored:
        return (
            f"None of the {p.runs} `paper` runs is stored yet, so this section and the `paper` claims are empty; "
            "`python -m replication.make --chapter 12 --scale paper --part grokking_run --device cpu` computes them "
            "(resumable: each finished run is written at once)."
        )
    per_step = (
        p.curves.groupby("seed")["train_seconds"].first() / p.curves.groupby("seed")["steps_run"].first()
    ).median()
    hours = p.curves.groupby("seed")["train_seconds"].first() / 3600
    ph, g = p.phases, p.phases[p.phases["grokked"].astype(bool)]
    return (
        f"{p.stored} of the {p.runs} `paper` runs {'is' if p.stored == 1 else 'are'} stored "
        f"(seed{'s' * (p.stored > 1)} {', '.join(str(s) for s in ph['seed'])}): "
        f"$p = {c.p}$, {c.train_fraction:.0%} of the pairs, AdamW learning rate {c.lr:g}, weight decay "
        f"{c.weight_decay:g}, {c.steps:,} full-batch steps, one noise draw per evaluation. Each took "
        f"{rng(hours)} hours on one CPU thread, {fmt(per_step)} s per step with its "
        f"evaluations (every {c.eval_every} steps, every {c.dense_every} up to step {c.dense_until}). Training "
        f"accuracy reached 99% at steps {span(ph['t_sat'])} (V25: by about {V25_PHASES['memorisation ends']:,}), "
        f"sensitivity peaked at steps {span(g['t_peak'])} (V25's clean-up starts at about "
        f"{V25_PHASES['sensitivity peak (clean-up starts)']:,}), and {len(g)} of {p.stored} runs reached test "
        f"accuracy ≥ 95%, at steps {span(g['t_grok'])} (V25: {V25_PHASES['test ≥ 95% (grokked)']:,})."
    )


def after_jump_text(p: PaperScale) -> str:
    """What each grokked `paper` run did after the jump (Markdown): sensitivity's low and, where the training loss
    spiked (fell below :data:`QUIET`, then climbed above :data:`SPIKE`), the spike's step and what the weight norm and
    sensitivity did with it."""
    lines = []
    for r in p.phases[p.phases["grokked"].astype(bool)].itertuples():
        h = p.curves[(p.curves["seed"] == r.seed) & (p.curves["step"] >= r.t_grok)].reset_index(drop=True)
        s = smooth(h["sensitivity"], p.cfg.window)
        low = int(s.argmin())
        at = spike_at(h)
        spike = [] if at is None else [at]
        text = (
            f"Seed {r.seed}: after the jump (step {r.t_grok:,}) sensitivity fell to {fmt(s[low])} at step "
            f"{int(h['step'][low]):,}"
        )
        if len(spike):
            i = int(spike[0])
            text += (
                f"; at step {int(h['step'][i]):,} the training loss spiked (to {fmt(h['train_loss'][i])}, training "
                f"accuracy {fmt(h['train_acc'][i:].min())} at its lowest), the weight norm went from "
                f"{fmt(h['weight_norm'][:i].min())} to {fmt(h['weight_norm'][i:].max())} and sensitivity to "
                f"{fmt(s[i:].max())}, still {fmt(s[-1])} at the last step"
            )
        else:
            text += f", and ended at {fmt(s[-1])} with no spike of the training loss"
        lines.append(text + ".")
    return " ".join(lines)


def window_text() -> str:
    """Why the `paper` scale smooths sensitivity over more evaluations than `cpu` (Markdown), from the two presets:
    a smoothed value then averages about as many noisy predictions at both scales."""
    paper, cpu = PRESETS["paper"], PRESETS["cpu"]

    def pairs(c: GrokkingConfig) -> int:
        return int(c.train_fraction * c.p * c.p)  # the training split of replication.tasks.modular

    n_paper = paper.window * pairs(paper) * paper.draws
    n_cpu = cpu.window * pairs(cpu) * cpu.draws
    return (
        f"Its sensitivity is smoothed over {paper.window} evaluations instead of {cpu.window}, so that a smoothed "
        f"value counts about as many noisy predictions as at `cpu`: {paper.window} × {pairs(paper):,} pairs × "
        f"{paper.draws} draw{'s' * (paper.draws != 1)} = {n_paper:,} against {cpu.window} × {pairs(cpu):,} pairs × "
        f"{cpu.draws} draw{'s' * (cpu.draws != 1)} = {n_cpu:,}."
    )
