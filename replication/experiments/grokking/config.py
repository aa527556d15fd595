"""Chapter 12's settings: one modular-addition run (:class:`GrokRun`), the trials behind the `cpu` preset
(:class:`GrokTrial`), the chapter's config (:class:`GrokkingConfig`) and its presets, and the runs each config
expands into. The sparse-parity run is :class:`~.sparse_parity.ParityRun`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ...checks import check_int
from ...runs.config import ChapterConfig
from . import sparse_parity
from .run import GrokRun, GrokTrial
from .sparse_parity import ParityRun


@dataclass(frozen=True)
class GrokkingConfig(ChapterConfig):
    """Chapter 12's settings: the modular-addition runs and the sparse-parity runs."""

    scale: str  # ci | cpu | paper
    p: int = 113  # modulus (V25 §7.3)
    train_fraction: float = 0.3  # share of pairs used for training
    steps: int = 20_000  # full-batch steps of every run
    seeds: int = 3  # modular-addition seeds first_seed..first_seed+seeds-1
    first_seed: int = 0  # ... (V25's script: 42)
    weight_decay: float = 1.0  # AdamW weight decay
    lr: float = 1e-3  # AdamW learning rate
    d: int = 128  # width
    heads: int = 4  # attention heads
    d_ff: int = 512  # MLP width
    eval_every: int = 100  # steps between evaluations
    dense_until: int = 0  # ... but every dense_every steps up to this step (0: off)
    dense_every: int = 0  # ... steps between the dense early evaluations (0: off)
    sigma: float = 0.1  # sensitivity noise std (V25 §7.3)
    draws: int = 1  # noise draws per training pair
    multi_draws: int = 0  # a second sensitivity with this many draws (0: none) ...
    multi_every: int = 0  # ... every this many steps (a multiple of eval_every)
    after_grok: int | None = None  # stop a run this many steps after it groks (None: run every step)
    window: int = 3  # evaluations in the centred mean that smooths sensitivity before the phases are read (odd)
    predictor_seeds: int = 0  # seeds read, as far as stored, for the grok-step predictor claim (0: `seeds`)
    parity_n: int = 40  # sparse parity: bits (V25 App. A.6: d = 40)
    parity_k: int = 4  # ... and support size (k = 4)
    parity_seeds: int = 3  # ... seeds
    parity_n_train: int = 50_000  # ... training strings
    parity_batch_size: int = 250  # ... minibatch
    parity_d: int = 32  # ... encoder width
    parity_layers: int = 2  # ... layers
    parity_heads: int = 4  # ... heads
    parity_lr: float = 1e-3  # ... learning rate
    parity_weight_decay: float = 0.0  # ... weight decay
    parity_steps: int = 200_000  # ... steps (1000 epochs of 50k at batch 250)
    parity_eval_every: int = 1000  # ... steps between evaluations
    parity_n_test: int = 4096  # ... fresh test strings
    parity_n_sens: int = 1024  # ... strings for the sensitivity
    parity_after_learn: int = 0  # ... stop a run this many steps after it learns the parity (0: never)
    grok_trials: tuple = ()  # modular-addition trial settings (p, train_fraction, lr, weight_decay, seeds), each
    #                          run with the preset's other fields; the preset's own setting may be one of them
    parity_trials: tuple = ()  # trial settings (n, k, n_train, batch_size, steps, seeds[, after_learn]) for the
    #                            settings table; the chapter's own parity setting may be one of them
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        super().__post_init__()
        check_int("seeds", self.seeds, 1, 100)
        check_int("first_seed", self.first_seed, 0, 10**6)
        if check_int("window", self.window, 1, 99) % 2 == 0:
            raise ValueError(f"window: must be odd (a centred mean), got {self.window}")
        check_int("predictor_seeds", self.predictor_seeds, 0, 1000)
        check_int("parity_seeds", self.parity_seeds, 1, 100)
        check_int("n_jobs", self.n_jobs, 1, 256)
        if not isinstance(self.parity_trials, (tuple, list)):
            raise ValueError(f"parity_trials: must be a list of trials (empty for none), got {self.parity_trials!r}")
        object.__setattr__(self, "parity_trials", tuple(sparse_parity.as_trial(t) for t in self.parity_trials))
        if not isinstance(self.grok_trials, (tuple, list)) or not all(
            isinstance(t, GrokTrial) or (isinstance(t, (tuple, list)) and len(t) == 5) for t in self.grok_trials
        ):
            raise ValueError(
                f"grok_trials: must be a list of (p, train_fraction, lr, weight_decay, seeds), got {self.grok_trials!r}"
            )
        object.__setattr__(
            self, "grok_trials", tuple(t if isinstance(t, GrokTrial) else GrokTrial(*t) for t in self.grok_trials)
        )
        grok_trial_runs(self)
        grok_runs(self)[0], parity_runs(self)[0], trial_runs(self)  # builds (and so checks) the runs

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: p: the modulus, an integer in [3, 1000].
    #: train_fraction: share of the p² pairs used for training, in (0, 1), leaving a test pair.
    #: steps: full-batch training steps of every modular-addition run, >= 1.
    #: seeds: modular-addition seeds, >= 1.
    #: weight_decay: AdamW weight decay, in [0, 10].
    #: dense_until, dense_every: evaluate every dense_every steps (in [1, eval_every]) up to step dense_until
    #: (in [1, steps]); both 0: every eval_every steps from the start.
    PARAMS = ("p", "train_fraction", "steps", "seeds", "weight_decay", "dense_until", "dense_every")


def grok_runs(cfg: GrokkingConfig) -> list[GrokRun]:
    return [
        GrokRun(
            p=cfg.p,
            train_fraction=cfg.train_fraction,
            seed=s,
            d=cfg.d,
            heads=cfg.heads,
            d_ff=cfg.d_ff,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            steps=cfg.steps,
            eval_every=cfg.eval_every,
            sigma=cfg.sigma,
            draws=cfg.draws,
            after_grok=cfg.after_grok,
            dense_until=cfg.dense_until,
            dense_every=cfg.dense_every,
            multi_draws=cfg.multi_draws,
            multi_every=cfg.multi_every,
        )
        for s in range(cfg.first_seed, cfg.first_seed + cfg.seeds)
    ]


def predictor_runs(cfg: GrokkingConfig) -> list[GrokRun]:
    """The runs of the grok-step predictor claim: the chapter's runs and, with ``predictor_seeds``, more seeds of
    the same setting (read as far as they are stored)."""
    more = cfg.predictor_seeds - cfg.seeds
    return grok_runs(dataclasses.replace(cfg, seeds=cfg.predictor_seeds)) if more > 0 else grok_runs(cfg)


def parity_runs(cfg: GrokkingConfig) -> list[ParityRun]:
    return [
        ParityRun(
            n=cfg.parity_n,
            k=cfg.parity_k,
            seed=s,
            n_train=cfg.parity_n_train,
            batch_size=cfg.parity_batch_size,
            d=cfg.parity_d,
            layers=cfg.parity_layers,
            heads=cfg.parity_heads,
            lr=cfg.parity_lr,
            weight_decay=cfg.parity_weight_decay,
            steps=cfg.parity_steps,
            eval_every=cfg.parity_eval_every,
            n_test=cfg.parity_n_test,
            n_sens=cfg.parity_n_sens,
            after_learn=cfg.parity_after_learn,
        )
        for s in range(cfg.parity_seeds)
    ]


def grok_trial_runs(cfg: GrokkingConfig) -> list[GrokRun]:
    """Every run of the modular-addition trials (:class:`GrokTrial`), the preset's other fields otherwise."""
    base = grok_runs(cfg)[0]
    return [r for t in cfg.grok_trials for r in t.runs(base)]


def trial_runs(cfg: GrokkingConfig) -> list[ParityRun]:
    """Every run of the sparse-parity trials (:class:`~.sparse_parity.ParityTrial`), the chapter's run otherwise."""
    base = parity_runs(cfg)[0]
    return [r for t in cfg.parity_trials for r in t.runs(base)]


PRESETS = {
    # Seconds: a tiny modulus and model, a few steps. The claims are computed but are not expected to hold.
    "ci": GrokkingConfig(
        scale="ci",
        p=11,
        train_fraction=0.5,
        steps=40,
        seeds=2,
        lr=3e-3,
        d=16,
        d_ff=64,
        eval_every=10,
        dense_until=20,
        dense_every=2,
        parity_n=8,
        parity_k=2,
        parity_seeds=1,
        parity_n_train=256,
        parity_batch_size=64,
        parity_d=8,
        parity_steps=30,
        parity_eval_every=10,
        parity_n_test=128,
        parity_n_sens=32,
        grok_trials=((11, 0.5, 3e-3, 1.0, 2),),
        parity_trials=((8, 2, 256, 64, 30, 1),),
    ),  # the trials are the runs themselves
    # A 2-core laptop: the chapter's settings table gives the measurements behind each choice.
    "cpu": GrokkingConfig(
        scale="cpu",
        p=97,
        train_fraction=0.3,
        steps=6000,
        seeds=8,
        weight_decay=2.0,
        lr=3e-3,
        eval_every=50,
        dense_until=300,
        dense_every=5,
        draws=4,
        after_grok=500,
        predictor_seeds=40,  # the grok-step predictor claim: as many of seeds 0-39 as are stored
        parity_n=40,
        parity_k=4,
        parity_seeds=5,
        parity_n_train=50_000,
        parity_batch_size=250,
        parity_d=32,
        parity_lr=1e-3,
        parity_steps=20_000,
        parity_after_learn=2000,
        parity_eval_every=250,
        parity_n_test=2048,
        parity_n_sens=256,
        grok_trials=(
            (59, 0.5, 1e-3, 1.0, 1),
            (59, 0.5, 3e-3, 1.0, 3),
            (97, 0.3, 3e-3, 1.0, 2),
            (97, 0.3, 3e-3, 2.0, 8),
        ),
        parity_trials=(
            (40, 4, 20_000, 128, 10_000, 3),
            (40, 4, 50_000, 250, 20_000, 5, 2000),
            (20, 4, 50_000, 128, 10_000, 5, 2000),
            (20, 3, 50_000, 128, 10_000, 5, 2000),
        ),
    ),
    # V25 §7.3 / App. A.5 and the released code (seeds 42-46, one noise draw per evaluation), evaluated every 10
    # steps and every 2 up to step 300, with the 4-draw sensitivity of the cpu preset every 50 steps beside it;
    # App. A.6 (sea-green setting) for sparse parity.
    "paper": GrokkingConfig(
        scale="paper",
        seeds=5,
        first_seed=42,
        eval_every=10,
        dense_until=300,
        dense_every=2,
        multi_draws=4,
        multi_every=50,
        # a smoothed value counts as many noisy predictions as at cpu: 9 x 3,830 pairs x 1 draw, 3 x 2,822 x 4
        window=9,
        parity_seeds=5,
    ),
}
