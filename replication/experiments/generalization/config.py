"""Chapter 07's runs and settings: random truth tables and training sets, the run configs
(:class:`Training`, :class:`FitRun`, :class:`RefitRun`: cache keys), :class:`GeneralizationConfig` with
its :data:`PRESETS`, and the runs of a config (:func:`fit_runs`, :func:`refit_runs`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ...checks import check_float, check_int
from ...models.encoder import EncoderConfig
from ...runs.chapters import kind
from ...runs.config import ChapterConfig
from ...tasks import boolean

KIND_FIT = kind("generalization_fit", __name__)
KIND_REFIT = kind("generalization_refit", __name__)
#: Input lengths the chapter accepts (HR24 use n = 10; the whole cube is enumerated).
MIN_N, MAX_N = 4, 12
TARGETS = ("T1", "f")


# --------------------------------------------------------------------------------------------------
# Truth tables, training sets


def random_table(n: int, function: int) -> torch.Tensor:
    """The truth table of random function number ``function`` on ``n`` bits, ``(2^n,)`` float64 in {0, 1}.

    The table of :func:`replication.tasks.boolean.random_function` with that seed, in
    :func:`~replication.tasks.boolean.all_strings` order.
    """
    return boolean.random_table(n, seed=function)


def table_to_hex(table) -> str:
    """A {0,1} truth table as a hex string (4 strings per digit, first string in the high bit)."""
    bits = np.asarray(table, dtype=np.float64).round().astype(np.uint8)
    if not np.isin(bits, (0, 1)).all() or len(bits) % 4:
        raise ValueError("table: must hold 0/1 values, a multiple of 4 of them")
    return "".join(f"{int(''.join(map(str, q)), 2):x}" for q in bits.reshape(-1, 4))


def hex_to_table(hexstr: str) -> torch.Tensor:
    """The inverse of :func:`table_to_hex`, ``(4 len(hexstr),)`` float64."""
    return torch.tensor([int(b) for c in hexstr for b in f"{int(c, 16):04b}"], dtype=torch.float64)


def train_indices(n: int, size: int, function: int, train_set: int) -> torch.Tensor:
    """Indices (into :func:`~replication.tasks.boolean.all_strings`) of training set ``train_set`` of ``size``
    strings for random function ``function``: a uniform sample without replacement, sorted."""
    g = torch.Generator().manual_seed(1_000_003 * (function + 1) + 7_919 * size + 101 * train_set + n)
    return torch.randperm(2**n, generator=g)[:size].sort().values


# --------------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class Training:
    """The settings every fit of chapter 07 shares (the fields :class:`FitRun` and :class:`RefitRun` add
    say what is fitted)."""

    n: int  # input length
    d: int  # model width
    layers: int  # encoder layers
    heads: int  # attention heads
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay
    batch_size: int  # strings per step; a set no larger than this is trained full batch
    max_steps: int  # step budget: a model that has not fitted by then is marked not fitted
    eval_every: int  # steps between fit checks
    fit_mse: float  # fits: every string on the right side of 1/2 and MSE below this
    rho: float  # sharpness: std of the Gaussian perturbations
    n_perturbations: int  # sharpness: perturbations

    def __post_init__(self):
        check_int("n", self.n, MIN_N, MAX_N)
        EncoderConfig(n=self.n, d=self.d, layers=self.layers, heads=self.heads)  # checks the shape
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_int("batch_size", self.batch_size, 1)
        check_int("max_steps", self.max_steps, 1, 10**6)
        check_int("eval_every", self.eval_every, 1)
        check_float("fit_mse", self.fit_mse, 0.0, 0.25, lo_open=True)
        check_float("rho", self.rho, 0.0, 1.0, lo_open=True)
        check_int("n_perturbations", self.n_perturbations, 1)


@dataclass(frozen=True)
class FitRun(Training):
    """One T1 run: the cache key of :func:`measure_fit` (with the fields of :class:`Training`)."""

    function: int  # random function f: the seed of its truth table
    size: int  # strings in the training set
    train_set: int  # which training set of this size (its sample seed); also the model's init seed

    def __post_init__(self):
        super().__post_init__()
        check_int("function", self.function, 0)
        check_int("train_sizes", self.size, 1, 2**self.n - 1)
        check_int("train_set", self.train_set, 0)


@dataclass(frozen=True)
class RefitRun(Training):
    """One fresh model fitted on the whole cube to ``T1`` or ``f``: the cache key of :func:`measure_refit`
    (with the fields of :class:`Training`; its ``batch_size`` is strings per step out of the cube's 2^n)."""

    target: str  # "T1" (a learned function) or "f" (the random function itself)
    function: int  # the random function f behind the target
    size: int | None  # T1: size of the training set it was learnt from (None for f)
    train_set: int | None  # T1: which training set (None for f)
    table: str  # the target's truth table (hex, :func:`table_to_hex`): what is fitted
    sets: tuple[tuple[int, int], ...]  # (size, train_set) of the training sets to measure sharpness on
    seed: int  # initialisation and batch seed of this model

    def __post_init__(self):
        super().__post_init__()
        if self.target not in TARGETS:
            raise ValueError(f"target: must be one of {list(TARGETS)}, got {self.target!r}")
        if len(self.table) * 4 != 2**self.n:
            raise ValueError(f"table: must have {2**self.n // 4} hex digits for n = {self.n}, got {len(self.table)}")
        for size, train_set in self.sets:
            check_int("train_sizes", size, 1, 2**self.n - 1)
            check_int("train_set", train_set, 0)
        check_int("seed", self.seed, 0)


# --------------------------------------------------------------------------------------------------
# The chapter's config


@dataclass(frozen=True)
class GeneralizationConfig(ChapterConfig):
    """Settings of chapter 07 (HR24 §7.2, Fig. 4 and 15)."""

    scale: str  # ci | cpu | paper
    n: int = 10  # input length: the cube has 2^n strings (HR24: 10)
    train_sizes: tuple[int, ...] = (128, 256, 512)  # training-set sizes (each below 2^n)
    functions: int = 10  # random functions f (seeds 0..functions-1)
    train_sets: int = 10  # training sets per (f, size)
    seeds: int = 5  # fresh models fitted on the cube per target (each T1, and f)
    refit_sets: int = 10  # training sets per (f, size) whose T1 is refitted (the first ones, at most train_sets)
    refit_functions: int = 10  # random functions whose T1 and f are refitted (the first ones, at most functions)
    d: int = 128  # model width (HR24 App. E.1)
    layers: int = 2  # encoder layers
    heads: int = 2  # attention heads
    lr: float = 3e-4  # AdamW learning rate
    weight_decay: float = 0.1  # AdamW weight decay
    batch_size: int = 1024  # strings per step (full batch on the cube at n = 10)
    max_steps: int = 20_000  # step budget of a T1 run (stops earlier when it fits)
    refit_max_steps: int = 20_000  # step budget of a refit
    eval_every: int = 50  # steps between fit checks
    fit_mse: float = 0.01  # fits: every string on the right side of 1/2 and MSE below this
    rho: float = 0.02  # sharpness: std of the Gaussian perturbations (HR24 §7.1)
    n_perturbations: int = 20  # sharpness: perturbations
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        super().__post_init__()
        check_int("n", self.n, MIN_N, MAX_N)
        sizes = self.train_sizes if isinstance(self.train_sizes, tuple) else (self.train_sizes,)
        if not sizes or len(set(sizes)) != len(sizes):
            raise ValueError(f"train_sizes: must be a non-empty list of distinct sizes, got {self.train_sizes!r}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, int) or not 2 <= s < 2**self.n:
                raise ValueError(
                    f"train_sizes: each size must be an integer in [2, {2**self.n - 1}] (the cube "
                    f"has 2^{self.n} = {2**self.n} strings), got {s!r}"
                )
        check_int("functions", self.functions, 1, 1000)
        check_int("train_sets", self.train_sets, 1, 1000)
        check_int("seeds", self.seeds, 1, 100)
        check_int("refit_sets", self.refit_sets, 1, 1000)
        check_int("refit_functions", self.refit_functions, 1, 1000)
        check_int("refit_max_steps", self.refit_max_steps, 1, 10**6)
        check_int("n_jobs", self.n_jobs, 1, 256)
        fit_runs(self)[0]  # builds (and so checks) a run
        RefitRun(
            n=self.n,
            target="f",
            function=0,
            size=None,
            train_set=None,
            table="0" * (2**self.n // 4),
            sets=(),
            seed=0,
            **self._training(self.refit_max_steps),
        )

    def _training(self, max_steps: int) -> dict:
        return {
            "d": self.d,
            "layers": self.layers,
            "heads": self.heads,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "batch_size": self.batch_size,
            "max_steps": max_steps,
            "eval_every": self.eval_every,
            "fit_mse": self.fit_mse,
            "rho": self.rho,
            "n_perturbations": self.n_perturbations,
        }

    @property
    def sets(self) -> tuple[tuple[int, int], ...]:
        """Every (size, train_set) pair of one function."""
        return tuple((size, s) for size in self.train_sizes for s in range(self.train_sets))

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: train_sizes: training-set sizes, each an integer below 2^n (1024 at n = 10).
    #: functions: number of random functions f, >= 1.
    #: train_sets: training sets per (f, size), >= 1.
    #: seeds: fresh models fitted on the whole cube per target, >= 1.
    PARAMS = ("train_sizes", "functions", "train_sets", "seeds")


def fit_runs(cfg: GeneralizationConfig) -> list[FitRun]:
    """Every T1 run: (function, size, training set)."""
    return [
        FitRun(n=cfg.n, function=fn, size=size, train_set=s, **cfg._training(cfg.max_steps))
        for fn in range(cfg.functions)
        for size, s in cfg.sets
    ]


def refit_runs(cfg: GeneralizationConfig, t1: pd.DataFrame) -> list[RefitRun]:
    """Refits for the first ``cfg.refit_functions`` functions: to the fitted T1 of ``t1``
    (:func:`learned_functions`) learnt from the first ``cfg.refit_sets`` training sets of each size, and to f;
    ``cfg.seeds`` models each. A fit to f is measured on every training set of its function.

    Refit seeds start at 1000, away from the T1 models' initialisation seeds (their training-set numbers).
    """
    train = cfg._training(cfg.refit_max_steps)
    runs = []
    for fn in range(min(cfg.functions, cfg.refit_functions)):
        for r in t1[(t1["function"] == fn) & t1["fitted"] & (t1["train_set"] < cfg.refit_sets)].itertuples():
            runs += [
                RefitRun(
                    n=cfg.n,
                    target="T1",
                    function=fn,
                    size=r.size,
                    train_set=r.train_set,
                    table=r.table_T1,
                    sets=((r.size, r.train_set),),
                    seed=1000 + k,
                    **train,
                )
                for k in range(cfg.seeds)
            ]
        f_hex = table_to_hex(random_table(cfg.n, fn))
        runs += [
            RefitRun(
                n=cfg.n,
                target="f",
                function=fn,
                size=None,
                train_set=None,
                table=f_hex,
                sets=cfg.sets,
                seed=1000 + k,
                **train,
            )
            for k in range(cfg.seeds)
        ]
    return runs


PRESETS = {
    # Seconds: n = 5, a tiny model, small budgets. The claims are computed but are not expected to hold.
    "ci": GeneralizationConfig(
        scale="ci",
        n=5,
        train_sizes=(8, 16),
        functions=2,
        train_sets=1,
        seeds=1,
        refit_sets=1,
        d=8,
        lr=1e-2,
        batch_size=64,
        max_steps=100,
        refit_max_steps=100,
        eval_every=20,
        n_perturbations=4,
        n_jobs=1,
    ),
    # A 2-core laptop: the chapter's settings table gives the measurements behind each choice.
    "cpu": GeneralizationConfig(
        scale="cpu",
        functions=4,
        train_sets=2,
        seeds=1,
        refit_sets=1,
        refit_functions=3,
        d=32,
        lr=3e-3,
        max_steps=4000,
        refit_max_steps=6000,
    ),
    # HR24 §7.2 (10 functions × 10 training sets × 3 sizes, 5 refits each) with App. E.1's model.
    "paper": GeneralizationConfig(scale="paper"),
}
