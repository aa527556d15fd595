"""Chapter 06's config: the tradeoff runs (HR24 §7.2, App. E; Fig. 2, 9, 10) and the PARITY dynamics (Fig. 3, 12-14).

Each tradeoff run is a chapter-05 run (:class:`~replication.runs.encoder.config.EncoderRun`) whose
learning rate and weight decay are drawn uniformly (:func:`draw`), seeded by (function, n, draw), and stored
in its config.
The dynamics runs are :class:`~.dynamics.DynamicsRun`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...checks import check_choices, check_float, check_int
from ...runs.config import ChapterConfig
from ...runs.encoder.sweep import FUNCTIONS, MAX_SWEEP_N, MIN_N, EncoderRun
from .dynamics import DynamicsRun

#: Base of the seeds of the (learning rate, weight decay) draws.
DRAW_SEED = 6_006


@dataclass(frozen=True)
class TradeoffConfig(ChapterConfig):
    """Chapter 06's settings: the tradeoff runs (Fig. 2, 9, 10) and the PARITY dynamics (Fig. 3, 12-14)."""

    scale: str  # ci | cpu | paper
    max_n: int  # largest tradeoff length (the notebook's `n`)
    lengths: tuple[int, ...]  # lengths of MAJORITY, FIRST, MEAN: those <= max_n are run, and max_n itself
    parity_lengths: tuple[int, ...]  # PARITY's lengths (those <= max_n): where it converges at this scale
    functions: tuple[str, ...] = FUNCTIONS  # functions of the tradeoff runs
    draws: int = 10  # (learning rate, weight decay) draws per (function, n); draw i also seeds the model
    other_draws: int | None = None  # draws per (function, n) of MAJORITY, FIRST and MEAN (None: `draws`)
    lr_range: tuple[float, float] = (1e-4, 5e-4)  # learning rate ~ U(lo, hi) (HR24 App. E)
    wd_range: tuple[float, float] = (0.0, 0.4)  # weight decay ~ U(lo, hi) (HR24 App. E)
    d: int = 128  # model width (= feed-forward width)
    layers: int = 2  # encoder layers
    heads: int = 2  # attention heads
    batch_size: int = 1024  # fresh strings per step
    tradeoff_steps: int = 10_000  # step budget of every tradeoff run
    n_inputs: int = 8192  # strings for the blowup, the norm's companion
    n_perturbations: int = 20  # sharpness perturbations measured on each tradeoff run (chapter 05's measure)
    weight_decays: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)  # dynamics: weight decays (HR24 Fig. 12)
    seeds: int = 10  # dynamics: seeds per weight decay
    steps: int = 10_000  # dynamics: step budget of every run (constant learning rate)
    dynamics_lr: float = 3e-4  # dynamics: learning rate
    eval_every: int = 100  # dynamics: steps between evaluations (HR24: sharpness every 100 steps)
    dynamics_perturbations: int = 500  # dynamics: sharpness perturbations per evaluation (HR24: 500)
    dynamics_inputs: int = 1024  # dynamics: strings for sharpness and blowup at each evaluation
    rho: float = 0.02  # sharpness perturbation std (HR24 §7.1)
    window: int = 3  # dynamics: evaluations in the centred mean before the sharpness peak is read
    coincide: int = 500  # dynamics: the plateau exit and the sharpness peak coincide if within this many steps
    long_seeds: int = 0  # long dynamics: seeds per weight decay (0: none at this scale)
    long_weight_decays: tuple[float, ...] = (0.0, 0.1)  # long dynamics: weight decays (HR24 Fig. 13)
    long_steps: int = 20_000  # long dynamics: step budget of every run
    long_dense_until: int = 5_000  # long dynamics: sharpness at every evaluation up to this step ...
    long_every: int = 500  # ... and every this many steps after it
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        super().__post_init__()
        check_int("n", self.max_n, MIN_N, MAX_SWEEP_N)  # the notebook calls it `n`
        for m in self.lengths:
            check_int("lengths", m, MIN_N, MAX_SWEEP_N)
        for m in self.parity_lengths:
            check_int("parity_lengths", m, MIN_N, MAX_SWEEP_N)
        check_choices("functions", self.functions, FUNCTIONS)
        check_int("draws", self.draws, 1, 1000)
        if self.other_draws is not None:
            check_int("other_draws", self.other_draws, 1, 1000)
        for name in ("lr_range", "wd_range"):
            lo, hi = _pair(name, getattr(self, name))
            check_float(name, lo, 0.0, 10.0)
            check_float(name, hi, lo, 10.0)
        if not isinstance(self.weight_decays, tuple) or not self.weight_decays:
            raise ValueError(
                f"weight_decays: must be a non-empty list of numbers in [0, 10], got {self.weight_decays!r}"
            )
        for wd in self.weight_decays:
            check_float("weight_decays", wd, 0.0, 10.0)
        check_int("seeds", self.seeds, 1, 1000)
        check_int("steps", self.steps, 1, 10**6)
        check_int("tradeoff_steps", self.tradeoff_steps, 1, 10**6)
        check_int("window", self.window, 1, 100)
        check_int("coincide", self.coincide, 0)
        check_int("n_jobs", self.n_jobs, 1, 256)
        check_int("long_seeds", self.long_seeds, 0, 1000)
        check_int("long_steps", self.long_steps, 1, 10**6)
        check_int("long_dense_until", self.long_dense_until, 0, self.long_steps)
        check_int("long_every", self.long_every, self.eval_every)
        if not isinstance(self.long_weight_decays, tuple) or not self.long_weight_decays:
            raise ValueError(
                f"long_weight_decays: must be a non-empty list of numbers in [0, 10], got {self.long_weight_decays!r}"
            )
        for wd in self.long_weight_decays:
            check_float("long_weight_decays", wd, 0.0, 10.0)
        if not self.parity_ns:
            raise ValueError(
                f"n: must be at least PARITY's shortest length {min(self.parity_lengths)}, got {self.max_n}"
            )
        tradeoff_runs(self)[:1], dynamics_runs(self)[:1], long_runs(self)[:1]  # builds (so checks) one of each kind

    @property
    def ns(self) -> tuple[int, ...]:
        """Lengths of MAJORITY, FIRST and MEAN: the candidate lengths up to ``max_n``, and ``max_n``."""
        return tuple(sorted({m for m in self.lengths if m <= self.max_n} | {self.max_n}))

    @property
    def parity_ns(self) -> tuple[int, ...]:
        """PARITY's tradeoff lengths: those of ``parity_lengths`` up to ``max_n``."""
        return tuple(sorted(m for m in set(self.parity_lengths) if m <= self.max_n))

    @property
    def dynamics_n(self) -> int:
        """The dynamics length: PARITY's longest tradeoff length (it converges there at this scale)."""
        return max(self.parity_ns)

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: functions: tradeoff functions, a subset of ["parity", "majority", "first", "mean"].
    #: n: largest tradeoff length, an integer in [4, 64]; the dynamics run at PARITY's longest.
    #: draws: (learning rate, weight decay) draws per (function, n) for every function, >= 1.
    #: seeds: dynamics seeds per weight decay, >= 1.
    #: steps: dynamics step budget, >= 1.
    #: weight_decays: dynamics weight decays, a list of numbers in [0, 10].
    #: long_seeds: long-dynamics seeds per weight decay, >= 0 (0: no long runs).
    #: long_steps: long-dynamics step budget, >= 1.
    PARAMS = ("functions", "n", "draws", "seeds", "steps", "weight_decays", "long_seeds", "long_steps")
    ALIASES = {"n": "max_n"}


def _pair(name: str, value) -> tuple[float, float]:
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValueError(f"{name}: must be a pair (lo, hi), got {value!r}")
    return value


def draw(cfg: TradeoffConfig, function: str, n: int, i: int) -> tuple[float, float]:
    """Draw ``i``'s (learning rate, weight decay) for (``function``, ``n``): uniform, seeded, 4 significant digits."""
    rng = np.random.default_rng([DRAW_SEED, FUNCTIONS.index(function), n, i])
    lr, wd = rng.uniform(*cfg.lr_range), rng.uniform(*cfg.wd_range)
    return float(f"{lr:.4g}"), float(f"{wd:.4g}")


def tradeoff_runs(cfg: TradeoffConfig) -> list[EncoderRun]:
    """Every tradeoff run: (function, n, draw); PARITY at its own lengths."""
    runs = []
    for f in cfg.functions:
        parity = f == "parity"
        for n in cfg.parity_ns if parity else cfg.ns:
            for i in range(cfg.draws if parity or cfg.other_draws is None else cfg.other_draws):
                lr, wd = draw(cfg, f, n, i)
                runs.append(
                    EncoderRun(
                        function=f,
                        n=n,
                        seed=i,
                        d=cfg.d,
                        d_ff=None,
                        layers=cfg.layers,
                        heads=cfg.heads,
                        lr=lr,
                        weight_decay=wd,
                        batch_size=cfg.batch_size,
                        steps=cfg.tradeoff_steps,
                        give_up_step=None,
                        rho=cfg.rho,
                        n_perturbations=cfg.n_perturbations,
                        n_inputs=cfg.n_inputs,
                        n_thm4=64,
                        n_sens=32,
                    )
                )
    return runs


def dynamics_runs(cfg: TradeoffConfig) -> list[DynamicsRun]:
    """The dynamics runs: PARITY at :attr:`TradeoffConfig.dynamics_n`, every weight decay × seed."""
    return [
        DynamicsRun(
            n=cfg.dynamics_n,
            seed=s,
            weight_decay=wd,
            lr=cfg.dynamics_lr,
            d=cfg.d,
            layers=cfg.layers,
            heads=cfg.heads,
            batch_size=cfg.batch_size,
            steps=cfg.steps,
            eval_every=cfg.eval_every,
            rho=cfg.rho,
            n_perturbations=cfg.dynamics_perturbations,
            n_inputs=cfg.dynamics_inputs,
        )
        for wd in cfg.weight_decays
        for s in range(cfg.seeds)
    ]


def long_runs(cfg: TradeoffConfig) -> list[DynamicsRun]:
    """The long dynamics runs (HR24 Fig. 3, 12, 13 over many steps): the dynamics runs' model and learning
    rate, :attr:`TradeoffConfig.long_steps` steps, sharpness every ``eval_every`` steps up to
    ``long_dense_until`` and every ``long_every`` after; every long weight decay × ``long_seeds`` seeds."""
    return [
        DynamicsRun(
            n=cfg.dynamics_n,
            seed=s,
            weight_decay=wd,
            lr=cfg.dynamics_lr,
            d=cfg.d,
            layers=cfg.layers,
            heads=cfg.heads,
            batch_size=cfg.batch_size,
            steps=cfg.long_steps,
            eval_every=cfg.eval_every,
            rho=cfg.rho,
            n_perturbations=cfg.dynamics_perturbations,
            n_inputs=cfg.dynamics_inputs,
            sparse_from=cfg.long_dense_until,
            sparse_every=cfg.long_every,
        )
        for wd in cfg.long_weight_decays
        for s in range(cfg.long_seeds)
    ]


PRESETS = {
    # Seconds: a tiny model, two lengths, one draw. The claims are computed but are not expected to hold.
    "ci": TradeoffConfig(
        scale="ci",
        max_n=5,
        lengths=(4,),
        parity_lengths=(4, 5),
        draws=1,
        lr_range=(2e-3, 5e-3),
        d=8,
        batch_size=64,
        tradeoff_steps=60,
        n_inputs=256,
        n_perturbations=2,
        weight_decays=(0.0, 0.3),
        seeds=1,
        steps=60,
        dynamics_lr=3e-3,
        eval_every=10,
        dynamics_perturbations=2,
        dynamics_inputs=64,
        coincide=20,
        n_jobs=1,
        long_seeds=1,
        long_steps=80,
        long_dense_until=40,
        long_every=20,
    ),
    # A 2-core laptop: the chapter's settings table gives the measurements behind each choice.
    "cpu": TradeoffConfig(
        scale="cpu",
        max_n=12,
        lengths=(5, 8, 12),
        parity_lengths=(5, 6, 7, 8),
        draws=3,
        lr_range=(3e-4, 1e-3),
        d=32,
        batch_size=128,
        tradeoff_steps=3000,
        n_inputs=2048,
        n_perturbations=4,
        seeds=2,
        steps=3000,
        dynamics_lr=1e-3,
        eval_every=100,
        dynamics_perturbations=16,
        dynamics_inputs=512,
        long_seeds=4,
    ),
    # HR24 App. E: lengths 4..25 (Fig. 9; Fig. 10 picks 5, 10, 15, 20), PARITY dynamics at n = 25.
    "paper": TradeoffConfig(
        scale="paper",
        max_n=25,
        lengths=tuple(range(4, 26)),
        parity_lengths=tuple(range(4, 26)),
        seeds=39,
        long_seeds=4,
        long_steps=100_000,
    ),
}
