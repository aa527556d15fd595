"""Chapter 05's settings table: each setting of a scale's preset beside HR24's, with the reason for each
difference, built from the presets, the calibration (:mod:`.calibration`) and step times measured when the
table is built (:func:`replication.train.step_seconds`).
"""

from __future__ import annotations

import pandas as pd

from ...train import TrainConfig, step_seconds
from ...runs.encoder.calibration import chosen_trial
from ...runs.encoder.config import PRESETS, SweepConfig


def step_ms(function: str, n: int, d: int, batch_size: int, d_ff: int | None = None) -> float:
    """Milliseconds per training step of one HR24 encoder on this machine, measured now (one thread)."""
    return 1e3 * step_seconds(TrainConfig(function=function, n=n, d=d, d_ff=d_ff, batch_size=batch_size))


def _cpu_why(cfg: SweepConfig, name: str) -> str:
    """Why the `cpu` preset's value of setting ``name`` differs from the paper's (built from the preset, and
    for the width and the long inputs from step times measured now)."""
    trial = chosen_trial(cfg)
    paper = PRESETS["paper"]
    if name == "width":
        mine = step_ms("parity", 16, cfg.d, cfg.batch_size)
        theirs = step_ms("parity", 16, paper.d, paper.batch_size)
        return (
            f"a training step at n = 16 takes {mine:.0f} ms at width {cfg.d} and batch {cfg.batch_size}, against "
            f"{theirs:.0f} ms at the paper's width and batch ({theirs / mine:.0f}×; measured as this page was "
            "built, one thread)"
        )
    if name in ("batch", "steps", "give-up"):
        if trial is None:
            return "the `cpu` preset's (its calibration trial is not matched: other settings were changed)"
        if trial == "A":
            return "the first `cpu` protocol: trial A of the calibration below, which the later trials set out to improve on"
        text = f"trial {trial} of the calibration below: how far PARITY converges for the strings a run sees"
        if name == "steps":
            text += "; every run is measured after the same number of steps (sharpness keeps falling after convergence)"
        return text
    if name == "learning rate":
        return (
            "a first phase at a higher rate gets PARITY off its plateau sooner but leaves it in flatter minima "
            "(trial C below), which changes the quantity measured"
        )
    if name == "lengths":
        if cfg.dense_max_n is not None:
            return (
                f"every even length up to n = {cfg.dense_max_n}, the longest where PARITY converged in the "
                "calibration, then sparser ones up to the paper's 30 for the functions that converge there"
            )
        return "dense where PARITY can converge at this width and budget, sparser beyond"
    if name == "seeds":
        if cfg.dense_max_n is not None:
            return "seeds go where PARITY converges: there every function gets the same number"
        return "enough to show the spread between seeds, not to estimate it well"
    if name == "sharpness":
        return (
            "a quarter of the paper's evaluation strings, to keep measuring cheap beside training; the same "
            "perturbations and strings serve Eq. 15 and the code's ΔMSE"
        )
    if name == "long inputs":
        ns = [m for m in cfg.long_ns if m >= 32][:3] or list(cfg.long_ns[-1:])
        ms = [step_ms("majority", m, cfg.long_d, cfg.long_batch_size, cfg.long_d_ff) for m in ns]
        took = ", ".join(f"{t:.0f} ms at n = {m}" for m, t in zip(ns, ms))
        return (
            f"attention's cost grows as n²: a width-{cfg.long_d} step takes {took} (measured as this page was "
            f"built, one thread); lr {cfg.long_lr:g} so that most runs converge within the budget"
        )
    raise ValueError(f"name: no reason for setting {name!r}")


def _lengths(ns) -> str:
    from ..deviations import show  # the deviations page's way of writing lengths (4–30)

    return show(sorted(ns))


#: The rows of :func:`settings_table`: the setting and how a config shows it.
SETTINGS = {
    "width": lambda c: f"{c.d} (feed-forward {c.d})",
    "batch": lambda c: f"{c.batch_size}",
    "learning rate": lambda c: f"{c.lr:g}" if c.lr_first is None else f"{c.lr_first:g}, then {c.lr:g}",
    "steps": lambda c: f"{c.steps:,}, every run",
    "give-up": lambda c: "none" if c.give_up_step is None else f"at step {c.give_up_step:,} if still at chance level",
    "lengths": lambda c: _lengths(c.ns),
    "seeds": lambda c: c.seed_plan,
    "sharpness": lambda c: f"ρ = {c.rho}, {c.n_perturbations} perturbations × {c.n_inputs:,} strings",
    "long inputs": lambda c: (
        f"width {c.long_d}, batch {c.long_batch_size}, lr {c.long_lr:g}, {c.long_steps:,} steps, "
        f"{c.long_seeds} seeds, n = {_lengths(c.long_ns)}" + _majority_long(c)
    ),
}


def _majority_long(c: SweepConfig) -> str:
    """The long sweep's MAJORITY plan where it differs from the other functions' ('' where it does not)."""
    seeds = "" if c.majority_long_seeds in (None, c.long_seeds) else f"{c.majority_long_seeds} seeds"
    longer = c.majority_long_from_n is not None and c.majority_long_steps != c.long_steps
    steps = f"{c.majority_long_steps:,} steps from n = {c.majority_long_from_n}" if longer else ""
    return f"; MAJORITY {', '.join(p for p in (seeds, steps) if p)}" if seeds or steps else ""


def settings_table(cfg: SweepConfig) -> pd.DataFrame:
    """The settings of ``cfg`` beside HR24's (the `paper` preset), with the reason for each difference.

    Rows whose value equals the paper's say so; a value that a notebook parameter changed from the scale's
    preset says that; at `ci` every reason is that the settings exist for the tests.
    """
    paper, preset = PRESETS["paper"], PRESETS[cfg.scale]
    out = []
    for name, show in SETTINGS.items():
        mine = show(cfg)
        if mine == show(paper):
            why = "the paper's"
        elif mine != show(preset):
            why = "set by the notebook's parameters"
        elif cfg.scale == "ci":
            why = "ci scale: seconds-long settings for the tests"
        else:
            why = _cpu_why(cfg, name)
        out.append({"setting": name, "`paper` preset (HR24 App. E.1)": show(paper), f"`{cfg.scale}`": mine, "why": why})
    return pd.DataFrame(out)
