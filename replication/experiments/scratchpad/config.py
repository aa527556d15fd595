"""Chapter 08's config: one scratchpad run (:class:`ScratchpadRun`, a cache key), the chapter's settings, presets."""

from __future__ import annotations

from dataclasses import dataclass

from ...checks import check_float, check_int
from ...models.seq2seq import Seq2SeqConfig
from ...runs.config import ChapterConfig

MIN_N = 2
#: Longest input the chapter accepts (HR24 Fig. 11 reaches about 300).
MAX_N = 512
#: A run is converged when its autoregressive bit accuracy on fresh strings exceeds this (HR24 §7.2).
CONVERGED = 0.999
#: Largest n of the exact theory table: the last step reads 2n - 1 bits, enumerated exactly (<= 22).
MAX_THEORY_N = 11


@dataclass(frozen=True)
class ScratchpadRun:
    """One training run and its measurements: the cache key of :func:`.measure.measure_scratchpad`."""

    n: int  # input length (and scratchpad length)
    seed: int  # initialisation and data seed
    d: int  # model width
    enc_layers: int  # encoder layers
    dec_layers: int  # decoder layers
    heads: int  # attention heads
    lr: float  # AdamW learning rate
    weight_decay: float  # AdamW weight decay (all parameters)
    batch_size: int  # fresh strings per step
    steps: int  # step budget
    eval_every: int  # steps between teacher-forced evaluations
    after_converged: int | None  # stop this many steps after teacher-forced accuracy first exceeds CONVERGED
    n_eval: int  # strings of the teacher-forced evaluations during training
    n_ar: int  # fresh strings decoded autoregressively at the end
    rho: float  # sharpness: std of the Gaussian parameter perturbations
    n_perturbations: int  # sharpness: perturbations
    n_inputs: int  # sharpness: evaluation strings (the same set for every run at this n)

    def __post_init__(self):
        check_int("n", self.n, MIN_N, MAX_N)
        check_int("seed", self.seed, 0)
        for name in ("batch_size", "eval_every", "n_eval", "n_ar", "n_perturbations", "n_inputs"):
            check_int(name, getattr(self, name), 1)
        check_int("steps", self.steps, 1, 10**6)
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_float("rho", self.rho, 0.0, 1.0, lo_open=True)
        if self.after_converged is not None:
            check_int("after_converged", self.after_converged, 0)
        self.model_config()  # checks d, layers, heads

    def model_config(self) -> Seq2SeqConfig:
        return Seq2SeqConfig(
            n=self.n, d=self.d, enc_layers=self.enc_layers, dec_layers=self.dec_layers, heads=self.heads
        )


@dataclass(frozen=True)
class ScratchpadConfig(ChapterConfig):
    """Chapter 08's settings: the exact theory table and the encoder–decoder sweep over lengths."""

    scale: str  # ci | cpu | paper
    max_n: int  # largest length of the sweep (the notebook's `n`), MIN_N..MAX_N
    grid: tuple[int, ...]  # candidate lengths: the sweep runs those <= max_n, and max_n itself
    seeds: int = 10  # seeds per length: 0..seeds-1
    d: int = 32  # model width (HR24 App. E.1, scratchpad)
    enc_layers: int = 2  # encoder layers
    dec_layers: int = 2  # decoder layers
    heads: int = 2  # attention heads
    lr: float = 3e-4  # AdamW learning rate (HR24 App. E.1)
    weight_decay: float = 0.1  # AdamW weight decay
    batch_size: int = 128  # fresh strings per step
    steps: int = 10_000  # step budget of every run
    eval_every: int = 250  # steps between teacher-forced evaluations
    after_converged: int | None = None  # stop a run this many steps after it converges (None: full budget)
    n_eval: int = 512  # strings of the teacher-forced evaluations
    n_ar: int = 1024  # strings decoded autoregressively at the end
    rho: float = 0.02  # sharpness perturbation std (HR24 §7.1)
    n_perturbations: int = 20  # sharpness perturbations
    n_inputs: int = 2048  # sharpness evaluation strings
    theory_max_n: int = 9  # theory table: n = 2..theory_max_n (its cost doubles with each n)
    bootstrap: int = 2000  # bootstrap resamples of the sharpness ratio
    n_jobs: int = 2  # worker processes

    def __post_init__(self):
        super().__post_init__()
        check_int("n", self.max_n, MIN_N, MAX_N)  # the notebook calls it `n`
        for m in self.grid:
            check_int("grid", m, MIN_N, MAX_N)
        check_int("seeds", self.seeds, 1, 1000)
        check_int("theory_max_n", self.theory_max_n, 2, MAX_THEORY_N)
        check_int("bootstrap", self.bootstrap, 100, 10**6)
        check_int("n_jobs", self.n_jobs, 1, 256)
        runs(self)[:1]  # builds (and so checks) a run: steps, lr, d, heads, ...

    @property
    def ns(self) -> tuple[int, ...]:
        """Lengths of the sweep: the grid's lengths up to ``max_n``, and ``max_n``."""
        return tuple(sorted({m for m in self.grid if m <= self.max_n} | {self.max_n}))

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: n: largest input length of the sweep, an integer in [2, 512].
    #: seeds: seeds per length, >= 1.
    #: steps: training steps of every run (the budget), in [1, 10^6].
    PARAMS = ("n", "seeds", "steps")
    ALIASES = {"n": "max_n"}


def runs(cfg: ScratchpadConfig) -> list[ScratchpadRun]:
    """Every (n, seed) of ``cfg``."""
    return [
        ScratchpadRun(
            n=n,
            seed=s,
            d=cfg.d,
            enc_layers=cfg.enc_layers,
            dec_layers=cfg.dec_layers,
            heads=cfg.heads,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            batch_size=cfg.batch_size,
            steps=cfg.steps,
            eval_every=cfg.eval_every,
            after_converged=cfg.after_converged,
            n_eval=cfg.n_eval,
            n_ar=cfg.n_ar,
            rho=cfg.rho,
            n_perturbations=cfg.n_perturbations,
            n_inputs=cfg.n_inputs,
        )
        for n in cfg.ns
        for s in range(cfg.seeds)
    ]


PRESETS = {
    # Seconds: a tiny model, two short lengths, one seed. The claims are computed but are not expected to hold.
    "ci": ScratchpadConfig(
        scale="ci",
        max_n=6,
        grid=(4,),
        seeds=1,
        d=8,
        lr=3e-3,
        batch_size=32,
        steps=40,
        eval_every=20,
        n_eval=64,
        n_ar=64,
        n_perturbations=4,
        n_inputs=128,
        theory_max_n=6,
        bootstrap=200,
    ),
    # A 2-core laptop: the chapter's settings table gives the measurements behind each choice.
    "cpu": ScratchpadConfig(
        scale="cpu",
        max_n=32,
        grid=(4, 6, 8, 10, 12, 16, 20, 32, 64, 128),
        seeds=3,
        lr=1e-3,
        steps=3000,
        eval_every=100,
        after_converged=500,
        n_eval=256,
        n_ar=512,
        n_inputs=512,
    ),
    # HR24 App. E.1 and §7.2 (Fig. 11 reaches about 300).
    "paper": ScratchpadConfig(
        scale="paper", max_n=300, grid=(4, 8, 16, 32, 64, 100, 128, 200, 256, 300), theory_max_n=MAX_THEORY_N
    ),
}
