"""The encoder sweep shared by chapters 04, 05 and later ones: train, measure, store (HR24 §7.1, App. E).

Each run trains an :class:`~replication.models.encoder.HR24Encoder` on one function at one length with one seed
(:func:`replication.train.train`), always for the same step budget, and is then measured on a fixed set
of evaluation strings:

- Eq. 15 sharpness ×4 (Gaussian directions, ρ = 0.02, all parameters but positional embeddings) and the
  original code's ΔMSE variant with the same perturbations and inputs;
- parameter norm, ``E[Blowup]``, ``E[Blowup²]``, ``E[log Blowup]`` (§7.1 convention: product over the four
  LayerNorm applications of the max factor ``1/sqrt(var + eps)``, the factor LayerNorm divides by);
- for Thm 4, the mean blowup on *balanced* strings (where MAJORITY is sensitive) and on *unbalanced* ones
  (``|#ones − n/2| ≥ max(n/4, 2)``), each sampled directly (:func:`replication.tasks.boolean.balance_sets`);
- the model's own average sensitivity ``as_n(T)`` on a sample of strings and all their neighbours.

The trained weights are kept with each run (chapter 04 reads them). Runs go through
:func:`replication.runs.sweep.run_sweep`, so each is stored on its own (committed under ``results/`` for the
book) and a rerun computes nothing twice.

A run is *kept* when its final evaluation MSE is below 1e-3 (HR24 §7.1) and its training stayed finite;
runs that are not kept are counted per (function, n) and left out of the analyses, never dropped
silently and never averaged in.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import pandas as pd
import torch

from ...tasks import boolean
from ...measures import sensitivity
from ...runs.cache import KEY_OMIT_DEFAULT
from ...checks import check_choices, check_float, check_int
from ...runs.config import from_params
from ...measures.norms import blowup_moments, parameter_norm
from ...measures.sharpness import sharpness_both
from ...runs.store import Store
from ...runs.chapters import kind
from ...runs.sweep import as_store, load_results, resolve_device, run_key, run_sweep
from ...train import TrainConfig, train

#: Cache kind of one run; chapter 05 computes it (``make results CHAPTER=05``), chapter 04 reads it.
KIND = kind("sharpness_run", __name__)
MIN_N = 4
#: Largest input length the main sweep accepts (the notebooks' ``n`` parameter, the config's ``max_n``).
MAX_SWEEP_N = 64
FUNCTIONS = ("parity", "majority", "first", "mean")
#: Functions of the long-input sweep (HR24 Fig. 7/8: PARITY was not feasible there).
LONG_FUNCTIONS = ("majority", "first", "mean")


@dataclass(frozen=True)
class EncoderRun:
    """One training run and its measurements: the cache key of :func:`measure_run`."""

    function: str  # target function
    n: int  # input length
    seed: int  # initialisation and data seed
    d: int  # model width
    d_ff: int | None  # feed-forward width (None: d)
    layers: int  # encoder layers
    heads: int  # attention heads
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay
    batch_size: int  # fresh strings per step
    steps: int  # step budget: every run is measured after exactly this many steps ...
    give_up_step: int | None  # ... unless at this step it is still at chance level (then cut short)
    rho: float  # sharpness: std of the Gaussian parameter perturbations
    n_perturbations: int  # sharpness: perturbations
    n_inputs: int  # sharpness / blowup: evaluation strings (the same set for every run at this n)
    n_thm4: int  # balanced and unbalanced strings each, for the Thm 4 comparison
    n_sens: int  # strings (each with its n neighbours) for the model's own average sensitivity
    # Two-phase protocol (replication.train.train): lr_first until the plateau exit, then `steps` at lr.
    # Added after the first results were stored: at their defaults they stay out of the cache key.
    lr_first: float | None = field(default=None, metadata={KEY_OMIT_DEFAULT: True})  # None: one phase
    first_max_steps: int | None = field(default=None, metadata={KEY_OMIT_DEFAULT: True})  # give up after

    def __post_init__(self):
        self.train_config()  # validates every training field
        check_float("rho", self.rho, 0.0, 1.0, lo_open=True)
        for name in ("n_perturbations", "n_inputs", "n_thm4", "n_sens"):
            check_int(name, getattr(self, name), 1)

    def train_config(self, device: str = "cpu") -> TrainConfig:
        return TrainConfig(
            function=self.function, n=self.n, d=self.d, layers=self.layers, heads=self.heads, d_ff=self.d_ff,
            lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size, steps=self.steps,
            seed=self.seed, give_up_step=self.give_up_step, device=device, lr_first=self.lr_first,
            first_max_steps=self.first_max_steps,
        )  # fmt: skip


@dataclass(frozen=True)
class SweepConfig:
    """Settings of the main sweep (HR24 Fig. 1/5/6, Table 2) and the long one (Fig. 7/8)."""

    scale: str  # ci | cpu | paper
    max_n: int  # largest length of the main sweep (the notebooks' `n`), MIN_N..MAX_SWEEP_N
    grid: tuple[int, ...]  # candidate lengths: the sweep runs those <= max_n, and max_n itself
    functions: tuple[str, ...] = FUNCTIONS  # functions of the main sweep
    seeds: int = 10  # seeds per (function, n): 0..seeds-1
    d: int = 128  # model width (HR24 App. E.1)
    layers: int = 2  # encoder layers
    heads: int = 2  # attention heads
    lr: float = 3e-4  # AdamW learning rate
    weight_decay: float = 0.1  # AdamW weight decay
    batch_size: int = 1024  # fresh strings per step
    steps: int = 10_000  # step budget of every run
    give_up_step: int | None = None  # cut runs still at chance level at this step (None: never)
    lr_first: float | None = None  # two phases: this lr until the plateau exit, then `steps` steps at lr
    first_max_steps: int | None = None  # two phases: a run still on its plateau at this step gives up
    rho: float = 0.02  # sharpness perturbation std (HR24 §7.1)
    n_perturbations: int = 20  # sharpness perturbations
    n_inputs: int = 8192  # sharpness / blowup evaluation strings
    n_thm4: int = 1024  # balanced and unbalanced strings each (Thm 4)
    n_sens: int = 256  # strings for the model's own average sensitivity
    thm4_strings: int = 256  # chapter 04: uniform strings per run for the per-string check of Thm 4
    dense_max_n: int | None = None  # lengths above this get `seeds_beyond` seeds of `functions_beyond` (None: all alike)
    seeds_beyond: int = 3  # seeds per (function, n) above dense_max_n
    functions_beyond: tuple[str, ...] = LONG_FUNCTIONS  # functions run above dense_max_n
    long_functions: tuple[str, ...] = LONG_FUNCTIONS  # long-input sweep (Fig. 7/8): functions
    long_ns: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256, 512)  # its lengths
    long_seeds: int = 10  # its seeds
    long_d: int = 4  # its width (HR24 App. E.1: hidden dimension 4)
    long_d_ff: int = 4  # its feed-forward width
    long_batch_size: int = 128  # its batch (the original code's setting)
    long_lr: float = 3e-4  # its learning rate
    long_steps: int = 10_000  # its step budget
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        check_choices("scale", [self.scale], ("ci", "cpu", "paper"))
        check_int("n", self.max_n, MIN_N, MAX_SWEEP_N)  # the notebooks call it `n`
        for m in self.grid:
            check_int("grid", m, MIN_N, MAX_SWEEP_N)
        check_choices("functions", self.functions, FUNCTIONS)
        check_int("seeds", self.seeds, 1, 1000)
        check_int("steps", self.steps, 1, 10**6)
        check_int("n_jobs", self.n_jobs, 1, 256)
        check_int("thm4_strings", self.thm4_strings, 1, 100_000)
        if self.dense_max_n is not None:
            check_int("dense_max_n", self.dense_max_n, MIN_N, MAX_SWEEP_N)
        check_int("seeds_beyond", self.seeds_beyond, 1, 1000)
        check_choices("functions_beyond", self.functions_beyond, FUNCTIONS)
        if self.give_up_step is not None:
            check_int("give_up_step", self.give_up_step, 1)
        check_choices("long_functions", self.long_functions, LONG_FUNCTIONS)
        for m in self.long_ns:
            check_int("long_ns", m, 2, 1024)
        check_int("long_seeds", self.long_seeds, 1, 1000)
        check_int("long_steps", self.long_steps, 1, 10**6)
        run_configs(self)[:1]  # builds (and so validates) a run of each sweep
        long_run_configs(self)[:1]

    @property
    def seed_plan(self) -> str:
        """Seeds per (function, n) in words: one number, or the dense range's and the number beyond it."""
        if self.dense_max_n is None or self.dense_max_n >= self.max_n:
            return f"{self.seeds} per (function, n)"
        dense = f"{self.seeds} per (function, n) up to n = {self.dense_max_n}"
        beyond = [f.upper() for f in self.functions_beyond if f in self.functions and max(self.ns) > self.dense_max_n]
        if not beyond:
            return dense + ", none beyond"
        return f"{dense}, {min(self.seeds, self.seeds_beyond)} of {', '.join(beyond)} beyond"

    @property
    def ns(self) -> tuple[int, ...]:
        """Lengths of the main sweep: the grid's lengths up to ``max_n``, and ``max_n``."""
        return tuple(sorted({m for m in self.grid if m <= self.max_n} | {self.max_n}))

    @classmethod
    def from_params(cls, scale=None, n=None, functions=None, seeds=None, steps=None, n_jobs=None,
                    thm4_strings=None) -> "SweepConfig":  # fmt: skip
        """The preset of ``scale`` with a notebook's parameters (None: the preset's), checked before any work.

        Args:
            scale: "ci", "cpu", "paper", or None ($REPLICATION_SCALE, else "cpu").
            n: largest input length of the main sweep, an integer in [4, 64].
            functions: subset of ["parity", "majority", "first", "mean"].
            seeds: seeds per (function, n), >= 1.
            steps: training steps of every main-sweep run, >= 1.
            n_jobs: worker processes, >= 1.
            thm4_strings: strings per run for chapter 04's per-string Thm 4 check, >= 1.
        """
        return from_params(cls, PRESETS, scale=scale, aliases={"n": "max_n"}, n=n, functions=functions,
                           seeds=seeds, steps=steps, n_jobs=n_jobs, thm4_strings=thm4_strings)  # fmt: skip


def run_configs(cfg: SweepConfig) -> list[EncoderRun]:
    """The main sweep: every (function, n, seed) of ``cfg``.

    With ``dense_max_n``, lengths up to it get ``seeds`` seeds of every function, longer ones
    ``min(seeds, seeds_beyond)`` seeds of the functions in ``functions_beyond`` (seeds go where PARITY converges).
    """
    def dense(n: int) -> bool:
        return cfg.dense_max_n is None or n <= cfg.dense_max_n

    return [
        EncoderRun(
            function=f, n=n, seed=s, d=cfg.d, d_ff=None, layers=cfg.layers, heads=cfg.heads, lr=cfg.lr,
            weight_decay=cfg.weight_decay, batch_size=cfg.batch_size, steps=cfg.steps,
            give_up_step=cfg.give_up_step, rho=cfg.rho, n_perturbations=cfg.n_perturbations,
            n_inputs=cfg.n_inputs, n_thm4=cfg.n_thm4, n_sens=cfg.n_sens, lr_first=cfg.lr_first,
            first_max_steps=cfg.first_max_steps,
        )  # fmt: skip
        for f in cfg.functions
        for n in cfg.ns
        if dense(n) or f in cfg.functions_beyond
        for s in range(cfg.seeds if dense(n) else min(cfg.seeds, cfg.seeds_beyond))
    ]


def long_run_configs(cfg: SweepConfig) -> list[EncoderRun]:
    """The long-input sweep (HR24 Fig. 7/8): width ``long_d``, MAJORITY / FIRST / MEAN."""
    return [
        EncoderRun(
            function=f, n=n, seed=s, d=cfg.long_d, d_ff=cfg.long_d_ff, layers=cfg.layers, heads=cfg.heads,
            lr=cfg.long_lr, weight_decay=cfg.weight_decay, batch_size=cfg.long_batch_size,
            steps=cfg.long_steps, give_up_step=None, rho=cfg.rho, n_perturbations=cfg.n_perturbations,
            n_inputs=cfg.n_inputs, n_thm4=cfg.n_thm4, n_sens=cfg.n_sens,
        )  # fmt: skip
        for f in cfg.long_functions
        for n in cfg.long_ns
        for s in range(cfg.long_seeds)
    ]


PRESETS = {
    # Seconds: a tiny model, two lengths, one seed. The claims are computed but are not expected to hold.
    "ci": SweepConfig(
        scale="ci", max_n=6, grid=(4,), seeds=1, d=8, lr=3e-3, batch_size=64, steps=60, n_perturbations=4,
        n_inputs=256, n_thm4=64, n_sens=32, long_ns=(8, 16), long_seeds=1, long_lr=3e-3,
        long_batch_size=32, long_steps=40,
    ),
    # A 2-core laptop, computed once and committed (chapter 05's settings table gives the measurements behind
    # each choice): calibration trial E (batch 256, 12,000 steps at 3e-4), 5 seeds of every function where
    # PARITY converged in the calibration (n <= 16), 3 seeds of MAJORITY/FIRST/MEAN beyond, up to n = 30.
    "cpu": SweepConfig(
        scale="cpu", max_n=30, grid=(4, 6, 8, 10, 12, 14, 16, 20, 25, 30, 40, 50, 64), seeds=5, d=32, lr=3e-4,
        batch_size=256, steps=12_000, give_up_step=None, dense_max_n=16, seeds_beyond=3, n_perturbations=20,
        n_inputs=2048, n_thm4=512, n_sens=128, long_ns=(8, 16, 32, 64, 128), long_seeds=5, long_lr=1e-3,
        long_steps=4000,
    ),
    # HR24 App. E.1 and the original code.
    "paper": SweepConfig(scale="paper", max_n=30, grid=tuple(range(4, MAX_SWEEP_N + 1))),
}  # fmt: skip


#: The protocols tried on this machine before the `cpu` preset was chosen (chapter 05's calibration table):
#: each overrides the width-32 run settings below; all end at HR24's learning rate 3e-4 and weight decay 0.1.
CALIBRATION_TRIALS = {
    "A": dict(batch_size=128, steps=3000, give_up_step=2000),  # the earlier cpu preset
    "B": dict(batch_size=256, steps=8000),  # one phase at 3e-4, a longer budget
    "C": dict(batch_size=256, lr_first=1e-3, first_max_steps=6000, steps=4000),  # 1e-3 to the exit, 4000 at 3e-4
    "D": dict(batch_size=512, steps=8000),  # B with twice the batch (less gradient noise near the threshold)
    "E": dict(batch_size=256, steps=12000),  # B with half as many steps again
}
#: PARITY lengths and seeds of the calibration (where the earlier preset stopped converging).
CALIBRATION_NS = (12, 14, 16)
CALIBRATION_SEEDS = (0,)


def calibration_configs(trials: dict = CALIBRATION_TRIALS, ns=CALIBRATION_NS, seeds=CALIBRATION_SEEDS,
                        function: str = "parity") -> list[EncoderRun]:  # fmt: skip
    """PARITY runs of every calibration trial at width 32 (the `cpu` measurement settings)."""
    base = dict(d=32, d_ff=None, layers=2, heads=2, lr=3e-4, weight_decay=0.1, give_up_step=None, rho=0.02,
                n_perturbations=20, n_inputs=2048, n_thm4=512, n_sens=128)  # fmt: skip
    return [EncoderRun(function=function, n=n, seed=s, **{**base, **t}) for t in trials.values() for n in ns
            for s in seeds]  # fmt: skip


def describe_protocol(run: EncoderRun) -> str:
    """A run's training protocol in words (batch, learning rates, steps)."""
    if run.lr_first is None:
        cut = f", cut at {run.give_up_step} if at chance" if run.give_up_step else ""
        return f"batch {run.batch_size}, lr {run.lr:g} for {run.steps} steps{cut}"
    return (f"batch {run.batch_size}, lr {run.lr_first:g} until the plateau exit (at most {run.first_max_steps}), "
            f"then {run.steps} steps at {run.lr:g}")  # fmt: skip


def chosen_trial(cfg: SweepConfig) -> str | None:
    """The calibration trial whose protocol ``cfg``'s main sweep uses (None if none does, e.g. at `paper`)."""
    fields = ("d", "lr", "batch_size", "steps", "give_up_step", "lr_first", "first_max_steps")
    for name in CALIBRATION_TRIALS:
        run = _trial_run(name)
        if all(getattr(cfg, k) == getattr(run, k) for k in fields):
            return name
    return None


def _trial_run(name: str) -> EncoderRun:
    """The first run of calibration trial ``name``: its protocol."""
    return calibration_configs({name: CALIBRATION_TRIALS[name]})[0]


def _strings_per_run(df: pd.DataFrame) -> pd.Series:
    """Training strings a run saw (batch × steps actually run), mean per calibration trial."""
    return (df["batch_size"] * df["steps_run"]).groupby(df["trial"]).mean()


def describe_choice(cfg: SweepConfig, df: pd.DataFrame) -> str:
    """Which trial the preset follows and how it compares with the others that went as far, from ``df``."""
    name = chosen_trial(cfg)
    if cfg.scale != "cpu":
        return f"The calibration exists only at the `cpu` scale; this page runs at `{cfg.scale}`."
    if name is None or not len(df) or name not in set(df["trial"]):
        return "This page's main sweep follows none of the stored calibration trials (its parameters were changed)."
    ok = df[df["kept"].astype(bool)]
    reach = ok.groupby("trial")["n"].max()
    cost = _strings_per_run(df)
    text = (f"The `{cfg.scale}` preset follows trial {name} ({describe_protocol(_trial_run(name))}): "
            f"{cost[name] / 1e6:.2f} million training strings per run")  # fmt: skip
    if name in reach.index:
        text += f", and PARITY converged up to n = {int(reach[name])} in the calibration"
        same = [t for t in reach.index if t != name and reach[t] >= reach[name]]
        if same:
            text += "; " + ", ".join(f"trial {t} got as far with {cost[t] / 1e6:.2f} million" for t in same)
    else:
        text += ", and PARITY converged at none of the calibration's lengths with it"
    return text + "."


#: At n = 16, one thread, both cores busy: a training step at width 32 and batch 256 against the paper's
#: width 128 and batch 1024 (ms).
STEP_MS_CPU, STEP_MS_PAPER = 41, 615


def _cpu_why(cfg: SweepConfig, name: str) -> str:
    """Why the `cpu` preset's value of setting ``name`` differs from the paper's (built from the preset)."""
    trial = chosen_trial(cfg)
    if name == "width":
        return (f"a training step at n = 16 with width 32 and batch 256 took {STEP_MS_CPU} ms, against {STEP_MS_PAPER} "
                "ms at the paper's width and batch (one thread, both cores busy)")  # fmt: skip
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
        return ("a first phase at a higher rate gets PARITY off its plateau sooner but leaves it in flatter minima "
                "(trial C below), which changes the quantity measured")  # fmt: skip
    if name == "lengths":
        if cfg.dense_max_n is not None:
            return (f"every even length up to n = {cfg.dense_max_n}, the longest where PARITY converged in the "
                    "calibration, then sparser ones up to the paper's 30 for the functions that converge there")  # fmt: skip
        return "dense where PARITY can converge at this width and budget, sparser beyond"
    if name == "seeds":
        if cfg.dense_max_n is not None:
            return "seeds go where PARITY converges: there every function gets the same number"
        return "enough to show the spread between seeds, not to estimate it well"
    if name == "sharpness":
        return ("a quarter of the paper's evaluation strings, to keep measuring cheap beside training; the same "
                "perturbations and strings serve Eq. 15 and the code's ΔMSE")  # fmt: skip
    if name == "long inputs":
        return ("attention's cost grows as n²: a width-4 step took about 11 ms at n = 32, 21 ms at n = 64 and 76 ms at "
                f"n = 128 (one thread); lr {cfg.long_lr:g} so that most runs converge within the budget")  # fmt: skip
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
    "long inputs": lambda c: (f"width {c.long_d}, batch {c.long_batch_size}, lr {c.long_lr:g}, {c.long_steps:,} steps, "
                              f"{c.long_seeds} seeds, n = {_lengths(c.long_ns)}"),  # fmt: skip
}


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


def run_calibration(cfg: SweepConfig, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """The calibration runs behind the `cpu` preset, one row per run, with its trial's name and protocol.

    Only the `cpu` scale has a calibration (an empty frame otherwise). Runs are stored like any sweep run.
    When the store may not compute (``require``, the book build), the trials not computed yet are left out
    and :func:`calibration_table` lists them as not run, instead of stopping the chapter.
    """
    cols = ["trial", "protocol", "n", "seed", "kept", "eval_mse", "sharpness", "switch_step", "steps_run",
            "train_seconds", "measure_seconds"]  # fmt: skip
    if cfg.scale != "cpu":
        return pd.DataFrame(columns=cols)
    runs = calibration_configs()
    per = len(CALIBRATION_NS) * len(CALIBRATION_SEEDS)
    names = [name for name in CALIBRATION_TRIALS for _ in range(per)]
    store = as_store(cache)
    if store.mode == "require":
        found = load_results(KIND, runs, cache=store)
        rows = [{**dataclasses.asdict(r), **{k: v for k, v in res.items() if not isinstance(v, (dict, list))},
                 "trial": t} for r, res, t in zip(runs, found, names) if res is not None]  # fmt: skip
        if not rows:
            return pd.DataFrame(columns=cols)
        df = _annotate(pd.DataFrame(rows))
        kept = [(r, t) for r, res, t in zip(runs, found, names) if res is not None]
    else:
        df = _annotate(run_sweep(runs, measure_run, KIND, cache=store, n_jobs=cfg.n_jobs, progress=progress))
        df["trial"] = names
        kept = list(zip(runs, names))
    df["protocol"] = [describe_protocol(r) for r, _ in kept]
    return df


def calibration_table(df: pd.DataFrame, scale: str = "cpu") -> pd.DataFrame:
    """One row per trial: its protocol, PARITY's converged lengths, eval MSE and sharpness per length, cost.

    Trials of :data:`CALIBRATION_TRIALS` with no stored run yet are listed as not run (at a ``scale`` other
    than `cpu`, which has no calibration, every trial is).
    """
    rows = []
    base = calibration_configs()
    per = len(CALIBRATION_NS) * len(CALIBRATION_SEEDS)
    missing = "not run yet" if scale == "cpu" else "`cpu` scale only"
    for i, trial in enumerate(CALIBRATION_TRIALS):
        if not len(df) or trial not in set(df["trial"]):
            rows.append({"trial": trial, "protocol": describe_protocol(base[i * per]), "converged at n": missing})
    for trial, g in df.groupby("trial", sort=True):
        row = {"trial": trial, "protocol": g["protocol"].iloc[0]}
        row["converged at n"] = ", ".join(str(n) for n in sorted(g.loc[g["kept"], "n"].unique())) or "none"
        for n in CALIBRATION_NS:
            if n not in set(g["n"]):
                row[f"MSE n={n}"] = "not run yet"
        for _, r in g.sort_values("n").iterrows():
            row[f"MSE n={r['n']}"] = f"{r['eval_mse']:.1e}"
            row[f"sharpness n={r['n']}"] = round(r["sharpness"], 2) if r["kept"] else None
        row["million strings per run"] = round(_strings_per_run(g)[trial] / 1e6, 2)
        row["minutes per run"] = round((g["train_seconds"] + g["measure_seconds"].fillna(0)).mean() / 60, 1)
        rows.append(row)
    return pd.DataFrame(rows).sort_values("trial", kind="stable").reset_index(drop=True)


def describe_calibration(df: pd.DataFrame) -> str:
    """The calibration in words, from ``df``: how far each trial got, and what a first phase did to sharpness."""
    if not len(df):
        return "No calibration run is stored at this scale."
    lines = []
    for trial, g in df.groupby("trial", sort=True):
        ok = g[g["kept"].astype(bool)].sort_values("n")
        got = ", ".join(f"n = {n} (sharpness {sh:.2f})" for n, sh in zip(ok["n"], ok["sharpness"]))
        missing = sorted(set(CALIBRATION_NS) - set(g["n"]))
        todo = f" (n = {', '.join(map(str, missing))} not run yet)" if missing else ""
        lines.append((f"Trial {trial} converged at {got}" if got else f"Trial {trial} converged at no length tried") + todo + ".")
    ok = df[df["kept"].astype(bool)]
    switch = ok[ok["protocol"].str.contains("plateau exit")]
    const = ok[~ok["protocol"].str.contains("plateau exit")]
    both = sorted(set(switch["n"]) & set(const["n"]))
    if both:
        ratio = [const[const["n"] == n]["sharpness"].mean() / switch[switch["n"] == n]["sharpness"].mean() for n in both]
        lines.append(
            f"Where a trial with a first phase at a higher learning rate and a constant-rate trial both converged "
            f"(n = {', '.join(map(str, both))}), the first phase left PARITY in minima {min(ratio):.1f}–{max(ratio):.1f} "
            "times flatter: it changes the very quantity the chapter measures."
        )  # fmt: skip
    return " ".join(lines)


def measure_run(run: EncoderRun, device: str = "cpu") -> dict:
    """Train ``run`` and measure it (see the module docstring). The returned dict is stored as is.

    A run whose training went non-finite is returned with its training summary only (``failed``):
    there is no model to measure.
    """
    res = train(run.train_config(device), progress=False)
    summary = {"failed": False, **res.summary()}
    if summary["failed"]:
        return {**summary, "history": res.history}
    model = res.model.eval()
    t0 = time.perf_counter()
    fn = boolean.resolve(run.function)
    x = boolean.eval_strings(run.n, run.n_inputs).to(device)
    sh = sharpness_both(model, x, fn(x), rho=run.rho, n_perturbations=run.n_perturbations, seed=run.seed)
    bal, unbal = (s.to(device) for s in boolean.balance_sets(run.n, run.n_thm4))
    with torch.no_grad():
        b_bal, b_unbal = model.blowup(bal).double(), model.blowup(unbal).double()
        sens = sensitivity.model_sensitivity(model, x[: run.n_sens])
        mse_bal = float(((model(bal) - fn(bal)) ** 2).mean())
    return {
        **summary,
        "sharpness": sh["sharpness"],
        "sharpness_se": sh["sharpness_se"],
        "delta_mse_sharpness": sh["delta_mse"],
        "param_norm": parameter_norm(model),
        **blowup_moments(model, x),
        "blowup_balanced": float(b_bal.mean()),
        "blowup_unbalanced": float(b_unbal.mean()),
        "blowup_sq_balanced": float((b_bal**2).mean()),
        "blowup_sq_unbalanced": float((b_unbal**2).mean()),
        "mse_balanced": mse_bal,
        "model_as": float(sens.mean()),
        "measure_seconds": time.perf_counter() - t0,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "history": res.history,
    }


def run_main(cfg: SweepConfig, cache: Store | None = None, scheduler=None, progress=None) -> pd.DataFrame:
    """The main sweep (every run stored on its own), one row per run, with ``as_n`` of the target."""
    return _annotate(run_sweep(run_configs(cfg), measure_run, KIND, cache=cache, n_jobs=cfg.n_jobs,
                               scheduler=scheduler, progress=progress))  # fmt: skip


def run_long(cfg: SweepConfig, cache: Store | None = None, scheduler=None, progress=None) -> pd.DataFrame:
    """The long-input sweep of HR24 Fig. 7/8 (width ``long_d``), one row per run."""
    return _annotate(run_sweep(long_run_configs(cfg), measure_run, KIND, cache=cache, n_jobs=cfg.n_jobs,
                               scheduler=scheduler, progress=progress))  # fmt: skip


def read_runs(cfg: SweepConfig) -> list[EncoderRun]:
    """Every run the chapters read at ``cfg``'s scale: the main and long sweeps, and the calibration (`cpu`).

    Chapters 04, 06 and 08 read subsets of the main sweep, so this is what ``results/`` must hold of this kind.
    """
    runs = run_configs(cfg) + long_run_configs(cfg) + (calibration_configs() if cfg.scale == "cpu" else [])
    return list(dict.fromkeys(runs))  # a calibration trial may share runs with the preset


def prune_results(cfg: SweepConfig, store: Store, device: str | None = None) -> list[str]:
    """Remove the stored runs no chapter reads at ``cfg``'s settings (after the preset changed); their keys.

    Only entries of ``device`` (None: the one :func:`~replication.runs.sweep.run_sweep` would use here) are kept, so
    pass the device whose results ``results/`` should hold: entries of the other device are removed too.
    """
    device = resolve_device(device)
    return store.prune(KIND, [run_key(r, device) for r in read_runs(cfg)])


def _annotate(df: pd.DataFrame) -> pd.DataFrame:
    """Add the target's exact ``as_n`` and ``kept`` (converged, and training stayed finite)."""
    df = df.copy()
    df["as_n"] = [sensitivity.closed_form_sensitivity(f, n) for f, n in zip(df["function"], df["n"])]
    df["failed"] = df["failed"].fillna(False).astype(bool) if "failed" in df else False
    df["kept"] = df["converged"].astype(bool) & ~df["failed"]
    return df


def load_models(runs: list[EncoderRun], cache: Store | None = None) -> list[dict | None]:
    """Stored results of ``runs`` with their ``state_dict`` (None where a run is not stored)."""
    return load_results(KIND, runs, cache=cache)


def convergence_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Runs, kept runs, runs cut short at chance level and runs that went non-finite, per (function, n)."""
    g = df.groupby(["function", "n"], sort=False)
    out = g.agg(runs=("seed", "size"), kept=("kept", "sum"), gave_up=("gave_up", "sum"), failed=("failed", "sum"),
                median_eval_mse=("eval_mse", "median")).reset_index()  # fmt: skip
    for c in ("kept", "gave_up", "failed"):
        out[c] = out[c].astype(int)
    out["dropped"] = out["runs"] - out["kept"]
    return out


def kept_table(df: pd.DataFrame) -> pd.DataFrame:
    """Kept runs per function (rows) and length (columns)."""
    return convergence_counts(df).pivot(index="function", columns="n", values="kept")


#: The columns of :func:`runs_table`: what a reader wants to see of each run.
RUN_COLUMNS = ["function", "n", "seed", "eval_mse", "kept", "gave_up", "failed", "steps_run", "sharpness",
               "delta_mse_sharpness", "param_norm", "blowup", "source"]  # fmt: skip


def runs_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with the columns of :data:`RUN_COLUMNS`, rounded for display."""
    return df[[c for c in RUN_COLUMNS if c in df]].round(5)


def compute_summary(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Runs, where they came from, CPU time (training, measuring) and the machines that computed them, per sweep,
    as recorded per run (times on different machines add up only roughly)."""
    rows = []
    for name, df in frames.items():
        total = df["train_seconds"] + df["measure_seconds"].fillna(0)
        rows.append({
            "sweep": name, "runs": len(df), "computed_now": int((df["source"] == "computed").sum()),
            "train_min": df["train_seconds"].sum() / 60, "measure_min": df["measure_seconds"].sum() / 60,
            "mean_run_s": total.mean(), "longest_run_s": total.max(),
            "computed_on": "; ".join(f"{k} run{'s' * (k != 1)} on {m}" for m, k in df["machine"].fillna("unknown").value_counts().items())
            if "machine" in df else "unknown",
        })  # fmt: skip
    return pd.DataFrame(rows).round(2)


def kept_runs(df: pd.DataFrame) -> pd.DataFrame:
    """The runs that enter the analyses (converged, finite)."""
    return df[df["kept"].astype(bool)]

