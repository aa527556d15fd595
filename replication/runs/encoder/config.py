"""What the HR24 encoder sweep runs: one :class:`EncoderRun` per training run, the :class:`SweepConfig`
that expands into them, and the presets of each scale (HR24 §7.1, App. E.1).

:mod:`.sweep` trains and measures these runs (chapter 05 computes them); chapters 04, 05, 06 and 08 read
them. Every field of :class:`EncoderRun` is hashed into a committed key: keep names and defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ...checks import check_choices, check_float, check_int
from ...runs.cache import KEY_OMIT_DEFAULT
from ...runs.config import ChapterConfig
from ...train import TrainConfig

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
    # "high": TF32 products while training on CUDA (TrainConfig.matmul_precision); measuring is float32.
    matmul_precision: str = field(default="highest", metadata={KEY_OMIT_DEFAULT: True})

    def __post_init__(self):
        self.train_config()  # validates every training field
        check_float("rho", self.rho, 0.0, 1.0, lo_open=True)
        for name in ("n_perturbations", "n_inputs", "n_thm4", "n_sens"):
            check_int(name, getattr(self, name), 1)

    def train_config(self, device: str = "cpu") -> TrainConfig:
        return TrainConfig(
            function=self.function,
            n=self.n,
            d=self.d,
            layers=self.layers,
            heads=self.heads,
            d_ff=self.d_ff,
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            steps=self.steps,
            seed=self.seed,
            give_up_step=self.give_up_step,
            device=device,
            lr_first=self.lr_first,
            first_max_steps=self.first_max_steps,
            matmul_precision=self.matmul_precision,
        )


@dataclass(frozen=True)
class SweepConfig(ChapterConfig):
    """Settings of the main sweep (HR24 Fig. 1/5/6, Table 2) and the long one (Fig. 7/8).

    A notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`; None: the preset's):
    ``scale`` ("ci", "cpu", "paper", or None: $REPLICATION_SCALE, else "cpu"); ``n``, the largest input
    length of the main sweep (the field ``max_n``), in [4, 64]; ``functions``, a subset of
    ["parity", "majority", "first", "mean"]; ``seeds`` per (function, n), >= 1; ``steps`` of every
    main-sweep run, >= 1; ``n_jobs`` worker processes, >= 1; ``thm4_strings``, strings per run for
    chapter 04's per-string Thm 4 check, >= 1.
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("n", "functions", "seeds", "steps", "n_jobs", "thm4_strings")
    ALIASES: ClassVar[dict[str, str]] = {"n": "max_n"}

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
    dense_max_n: int | None = (
        None  # lengths above this get `seeds_beyond` seeds of `functions_beyond` (None: all alike)
    )
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
    majority_long_seeds: int | None = None  # MAJORITY's seeds in the long sweep (None: long_seeds; HR24's code: 10)
    majority_long_from_n: int | None = None  # from this length on MAJORITY's long runs train majority_long_steps
    majority_long_steps: int = 10_000  # ... steps (so that most of them converge; None above: long_steps)
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        super().__post_init__()
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
        if self.majority_long_seeds is not None:
            check_int("majority_long_seeds", self.majority_long_seeds, 1, 1000)
        if self.majority_long_from_n is not None:
            check_int("majority_long_from_n", self.majority_long_from_n, 2, 1024)
        check_int("majority_long_steps", self.majority_long_steps, 1, 10**6)
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


def run_configs(cfg: SweepConfig) -> list[EncoderRun]:
    """The main sweep: every (function, n, seed) of ``cfg``.

    With ``dense_max_n``, lengths up to it get ``seeds`` seeds of every function, longer ones
    ``min(seeds, seeds_beyond)`` seeds of the functions in ``functions_beyond`` (seeds go where PARITY converges).
    """

    def dense(n: int) -> bool:
        return cfg.dense_max_n is None or n <= cfg.dense_max_n

    return [
        EncoderRun(
            function=f,
            n=n,
            seed=s,
            d=cfg.d,
            d_ff=None,
            layers=cfg.layers,
            heads=cfg.heads,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            batch_size=cfg.batch_size,
            steps=cfg.steps,
            give_up_step=cfg.give_up_step,
            rho=cfg.rho,
            n_perturbations=cfg.n_perturbations,
            n_inputs=cfg.n_inputs,
            n_thm4=cfg.n_thm4,
            n_sens=cfg.n_sens,
            lr_first=cfg.lr_first,
            first_max_steps=cfg.first_max_steps,
        )
        for f in cfg.functions
        for n in cfg.ns
        if dense(n) or f in cfg.functions_beyond
        for s in range(cfg.seeds if dense(n) else min(cfg.seeds, cfg.seeds_beyond))
    ]


def long_run_configs(cfg: SweepConfig) -> list[EncoderRun]:
    """The long-input sweep (HR24 Fig. 7/8): width ``long_d``, MAJORITY / FIRST / MEAN; MAJORITY with
    ``majority_long_seeds`` seeds and, from ``majority_long_from_n`` on, ``majority_long_steps`` steps."""

    def seeds(f: str) -> int:
        return cfg.majority_long_seeds if f == "majority" and cfg.majority_long_seeds is not None else cfg.long_seeds

    def steps(f: str, n: int) -> int:
        longer = f == "majority" and cfg.majority_long_from_n is not None and n >= cfg.majority_long_from_n
        return cfg.majority_long_steps if longer else cfg.long_steps

    return [
        EncoderRun(
            function=f,
            n=n,
            seed=s,
            d=cfg.long_d,
            d_ff=cfg.long_d_ff,
            layers=cfg.layers,
            heads=cfg.heads,
            lr=cfg.long_lr,
            weight_decay=cfg.weight_decay,
            batch_size=cfg.long_batch_size,
            steps=steps(f, n),
            give_up_step=None,
            rho=cfg.rho,
            n_perturbations=cfg.n_perturbations,
            n_inputs=cfg.n_inputs,
            n_thm4=cfg.n_thm4,
            n_sens=cfg.n_sens,
        )
        for f in cfg.long_functions
        for n in cfg.long_ns
        for s in range(seeds(f))
    ]


PRESETS = {
    # Seconds: a tiny model, two lengths, one seed. The claims are computed but are not expected to hold.
    "ci": SweepConfig(
        scale="ci",
        max_n=6,
        grid=(4,),
        seeds=1,
        d=8,
        lr=3e-3,
        batch_size=64,
        steps=60,
        n_perturbations=4,
        n_inputs=256,
        n_thm4=64,
        n_sens=32,
        long_ns=(8, 16),
        long_seeds=1,
        long_lr=3e-3,
        long_batch_size=32,
        long_steps=40,
    ),
    # A 2-core laptop, computed once and committed (chapter 05's settings table gives the measurements behind
    # each choice): calibration trial E (batch 256, 12,000 steps at 3e-4), 5 seeds of every function where
    # PARITY converged in the calibration (n <= 16), 3 seeds of MAJORITY/FIRST/MEAN beyond, up to n = 30.
    # Long inputs: 5 seeds of FIRST/MEAN, HR24's 10 of MAJORITY, which trains 10,000 steps from n = 64.
    "cpu": SweepConfig(
        scale="cpu",
        max_n=30,
        grid=(4, 6, 8, 10, 12, 14, 16, 20, 25, 30, 40, 50, 64),
        seeds=5,
        d=32,
        lr=3e-4,
        batch_size=256,
        steps=12_000,
        give_up_step=None,
        dense_max_n=16,
        seeds_beyond=3,
        n_perturbations=20,
        n_inputs=2048,
        n_thm4=512,
        n_sens=128,
        long_ns=(8, 16, 32, 64, 128),
        long_seeds=5,
        long_lr=1e-3,
        long_steps=4000,
        majority_long_seeds=10,
        majority_long_from_n=64,
    ),
    # HR24 App. E.1 and the original code.
    "paper": SweepConfig(scale="paper", max_n=30, grid=tuple(range(4, MAX_SWEEP_N + 1))),
}
