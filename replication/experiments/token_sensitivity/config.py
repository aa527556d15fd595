"""Chapter 09's config: one :class:`SynthRun` per training run, the :class:`SyntheticConfig` that expands into
them, and the presets of each scale (V25 App. D). :mod:`.measure` trains and measures the runs.

Every field of :class:`SynthRun` is hashed into a committed key: keep names and defaults.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

from ...checks import KEY_OMIT_DEFAULT, check_choice, check_choices, check_float, check_int
from ...runs.config import ChapterConfig
from ...tasks.synthetic import Setting, as_setting
from . import task as st
from .task import REPLACEMENT, TIES
from .variants import MODELS

#: The initialisation scale that names ``1/sqrt(M)`` (each weight's standard deviation one over the root of the
#: one-hot width) in a config, where the number depends on the setting's vocabulary.
INIT_SQRT = "1/sqrt(M)"
#: Vocabulary for a setting outside V25's Table 3: the one derived for Table 3's first row, or the
#: smallest that holds the setting if that is larger.
DEFAULT_VOCAB = 59


@functools.lru_cache(maxsize=1)
def paper_vocab() -> dict[str, int]:
    """Table 3 setting label -> the derived vocabulary size (:func:`.task.derived_vocab`)."""
    return st.derived_vocab(st.vocabulary_search(), TIES, REPLACEMENT)


def vocab_for(setting: Setting, vocab: int | None, T: int) -> int:
    """The vocabulary size a run of ``setting`` uses: ``vocab`` if given, else derived (see :data:`DEFAULT_VOCAB`)."""
    if vocab is not None:
        return vocab
    return paper_vocab().get(setting.label, max(DEFAULT_VOCAB, st.smallest_vocab(setting, T)))


@dataclass(frozen=True)
class SynthRun:
    """One training run on one setting: the cache key of :func:`measure_synthetic`."""

    n_s: int  # sparse tokens per sequence
    n_f: int  # frequent tokens per sequence
    n_d: int  # majority parameter of the frequent tokens
    m: int  # frequent tokens per label in the vocabulary
    vocab: int  # vocabulary size M (= the one-hot width d)
    T: int  # sequence length
    width: int  # d̃, the columns of W_Q, W_K, W_V and U
    seed: int  # data, initialisation and batch-order seed
    n_train: int  # training sequences
    n_test: int  # test sequences (and as many OOD test sequences)
    batch_size: int  # SGD minibatch
    lr: float  # SGD learning rate
    init: float  # standard deviation of the Gaussian initialisation of every weight
    epochs: int  # passes over the training set
    n_sens: int  # training sequences whose tokens are replaced: one random token per position each epoch,
    #              every token of the vocabulary at the end
    stop_loss: float = field(default=0.0, metadata={KEY_OMIT_DEFAULT: True})  # stop once the training loss is
    #              at or below this (converged); 0: train every epoch
    model: str = field(default="eq3", metadata={KEY_OMIT_DEFAULT: True})  # one of variants.MODELS

    def __post_init__(self):
        s = self.setting
        s.check_length(check_int("T", self.T, 2, 10_000), check_int("vocab", self.vocab, 3, 100_000))
        for name in ("width", "n_train", "n_test", "batch_size", "n_sens"):
            check_int(name, getattr(self, name), 1)
        check_int("seed", self.seed, 0)
        check_int("epochs", self.epochs, 1, 100_000)
        check_float("lr", self.lr, 0.0, 100.0, lo_open=True)
        check_float("init", self.init, 0.0, 10.0, lo_open=True)
        check_float("stop_loss", self.stop_loss, 0.0, 1.0)
        check_choice("model", self.model, MODELS)
        if self.n_train % self.batch_size:
            raise ValueError(f"batch_size: must divide n_train = {self.n_train} (whole epochs), got {self.batch_size}")

    @property
    def setting(self) -> Setting:
        return Setting(self.n_s, self.n_f, self.n_d, self.m)


def init_value(init: float | str, M: int) -> float:
    """The initialisation standard deviation: ``init`` itself, or ``1/sqrt(M)`` for :data:`INIT_SQRT`."""
    return 1.0 / math.sqrt(M) if init == INIT_SQRT else float(init)


def _check_init(name: str, init):
    return init if init == INIT_SQRT else check_float(name, init, 0.0, 10.0, lo_open=True)


@dataclass(frozen=True)
class SyntheticConfig(ChapterConfig):
    """Chapter 09's settings for the synthetic task."""

    scale: str  # ci | cpu | paper
    settings: tuple = tuple(st.PAPER_TABLE)  # (n_s, n_f, n_d, m) of each data setting (V25 Table 3)
    seeds: int = 5  # seeds 0..seeds-1 of every setting
    epochs: int = 100  # SGD epochs of every run
    lr: float = 0.5  # SGD learning rate
    init: float | str = 0.01  # initialisation standard deviation ("a small scale", V25 §4.1), or "1/sqrt(M)"
    width: int | None = None  # d̃; None: the vocabulary size (square W_Q, W_K, W_V)
    vocab: int | None = None  # M for every setting; None: derived from V25's Table 3 (see the chapter)
    T: int = st.T_PAPER  # sequence length (V25 App. D)
    n_train: int = 1000  # training sequences (V25 App. D)
    n_test: int = 500  # test sequences (V25 App. D)
    batch_size: int = 100  # SGD minibatch (V25 App. D)
    n_sens: int = 100  # training sequences for the model's sensitivity
    n_jobs: int = 2  # worker processes
    stop_loss: float = 0.0  # a run stops (converged) once its training loss is at or below this; 0: never
    sweep_inits: tuple = ()  # the protocol sweep: initialisation scales (numbers or "1/sqrt(M)") ...
    sweep_lrs: tuple = ()  # ... times learning rates, every setting; () for none
    sweep_seeds: int = 1  # ... seeds 0..sweep_seeds-1 (the protocol is chosen on seed 0)
    check_epochs: int = 0  # seed 0 of every setting trained this many epochs without the stop rule (0: none),
    #                        to see whether attention moves once the loss is far below the rule's bound
    probe_settings: tuple = ()  # where the sensitivity and the margin accounts are compared: (n_s, n_f, n_d, m, M),
    #                             or (n_s, n_f, n_d, m) with M as for `settings`; () for none
    probe_seeds: int = 5  # seeds 0..probe_seeds-1 of every probe setting and model
    probe_models: tuple = MODELS  # the models trained on the probe settings (variants.MODELS)
    probe_model_seeds: tuple = ()  # (model, seeds) pairs: fewer seeds for a model than probe_seeds; () for none
    search_m: int = 40  # the search for settings where the accounts disagree: m = 1..search_m

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.settings, (tuple, list)) or not self.settings:
            raise ValueError(f"settings: must be a non-empty list of (n_s, n_f, n_d, m), got {self.settings!r}")
        object.__setattr__(self, "settings", tuple(dataclasses.astuple(as_setting(s)) for s in self.settings))
        if len(set(self.settings)) < len(self.settings):
            raise ValueError(f"settings: each setting once, got {list(self.settings)}")
        check_int("seeds", self.seeds, 1, 100)
        check_int("n_jobs", self.n_jobs, 1, 256)
        check_int("sweep_seeds", self.sweep_seeds, 1, 100)
        check_int("check_epochs", self.check_epochs, 0, 100_000)
        if self.width is not None:
            check_int("width", self.width, 1, 10_000)
        if self.vocab is not None:
            check_int("vocab", self.vocab, 3, 100_000)
        _check_init("init", self.init)
        check_float("stop_loss", self.stop_loss, 0.0, 1.0)
        for name in ("sweep_inits", "sweep_lrs"):
            if not isinstance(getattr(self, name), (tuple, list)):
                raise ValueError(f"{name}: must be a list (empty for no sweep), got {getattr(self, name)!r}")
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for v in self.sweep_inits:
            _check_init("sweep_inits", v)
        for v in self.sweep_lrs:
            check_float("sweep_lrs", v, 0.0, 100.0, lo_open=True)
        object.__setattr__(self, "probe_settings", _probe_settings(self.probe_settings, self.vocab, self.T))
        check_int("probe_seeds", self.probe_seeds, 1, 100)
        object.__setattr__(self, "probe_models", check_choices("probe_models", self.probe_models, MODELS))
        if len(set(self.probe_models)) < len(self.probe_models):
            raise ValueError(f"probe_models: each model once, got {list(self.probe_models)}")
        check_int("search_m", self.search_m, 1, 1000)
        if not isinstance(self.probe_model_seeds, (tuple, list)):
            raise ValueError(f"probe_model_seeds: must be a list of (model, seeds), got {self.probe_model_seeds!r}")
        for pair in self.probe_model_seeds:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"probe_model_seeds: each must be (model, seeds), got {pair!r}")
            check_choice("probe_model_seeds", pair[0], MODELS)
            check_int("probe_model_seeds", pair[1], 1, self.probe_seeds)
        object.__setattr__(self, "probe_model_seeds", tuple(tuple(p) for p in self.probe_model_seeds))
        runs(self), protocol_runs(self), probe_runs(self)  # builds (and so checks) every run

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: settings: list of (n_s, n_f, n_d, m), each with 1 ≤ n_d ≤ n_f, n_s ≤ n_f and more frequent
    #: tokens of the label than of the other label.
    #: seeds: seeds per setting, 1..100.
    #: epochs: SGD epochs per run, 1..100000.
    #: lr: SGD learning rate, in (0, 100].
    #: vocab: vocabulary size M for every setting, or None for the sizes derived from V25's Table 3.
    #: init: initialisation standard deviation in (0, 10], or "1/sqrt(M)".
    #: stop_loss: stop a run once its training loss is at or below this, in [0, 1] (0: never).
    #: probe_settings: list of (n_s, n_f, n_d, m, M) or (n_s, n_f, n_d, m), where the two accounts are compared.
    #: probe_models: list drawn from "eq3", "fixed_readout", "counts" (see :mod:`.variants`).
    PARAMS = ("settings", "seeds", "epochs", "lr", "vocab", "init", "stop_loss", "probe_settings", "probe_models")


def _probe_settings(value, vocab: int | None, T: int) -> tuple:
    """``probe_settings`` as 5-tuples ``(n_s, n_f, n_d, m, M)``, each checked; M from the chapter's rule where omitted."""
    if not isinstance(value, (tuple, list)):
        raise ValueError(f"probe_settings: must be a list of (n_s, n_f, n_d, m, M), got {value!r}")
    out = []
    for p in value:
        if not isinstance(p, (tuple, list)) or len(p) not in (4, 5):
            raise ValueError(f"probe_settings: each must be (n_s, n_f, n_d, m, M) or (n_s, n_f, n_d, m), got {p!r}")
        try:
            s = as_setting(tuple(p[:4]))
        except ValueError as e:
            raise ValueError(f"probe_settings: {p!r}: {e}") from None
        M = check_int("probe_settings", p[4], 3, 100_000) if len(p) == 5 else vocab_for(s, vocab, T)
        try:
            s.check_length(T, M)
        except ValueError as e:
            raise ValueError(f"probe_settings: {p!r}: {e}") from None
        out.append((*dataclasses.astuple(s), M))
    if len(set(out)) < len(out):
        raise ValueError(f"probe_settings: each setting once, got {out}")
    return tuple(out)


def _run(
    cfg: SyntheticConfig, key, seed: int, lr: float, init: float | str, vocab: int | None = None, model: str = "eq3"
) -> SynthRun:
    s = as_setting(key)
    M = vocab or vocab_for(s, cfg.vocab, cfg.T)
    return SynthRun(
        n_s=s.n_s,
        n_f=s.n_f,
        n_d=s.n_d,
        m=s.m,
        vocab=M,
        T=cfg.T,
        width=cfg.width or M,
        seed=seed,
        n_train=cfg.n_train,
        n_test=cfg.n_test,
        batch_size=cfg.batch_size,
        lr=lr,
        init=init_value(init, M),
        epochs=cfg.epochs,
        n_sens=cfg.n_sens,
        stop_loss=cfg.stop_loss,
        model=model,
    )


def runs(cfg: SyntheticConfig) -> list[SynthRun]:
    """One run per (setting, seed), settings in the order given."""
    return [_run(cfg, key, seed, cfg.lr, cfg.init) for key in cfg.settings for seed in range(cfg.seeds)]


def check_runs(cfg: SyntheticConfig) -> list[SynthRun]:
    """Seed 0 of every setting at the chapter's protocol, trained ``check_epochs`` epochs with no stop rule."""
    if not cfg.check_epochs:
        return []
    return [dataclasses.replace(r, stop_loss=0.0, epochs=cfg.check_epochs) for r in runs(cfg) if r.seed == 0]


def protocol_runs(cfg: SyntheticConfig) -> list[SynthRun]:
    """The protocol sweep: every setting at every (initialisation scale, learning rate) of the config, seed 0 of
    every pair first (what the protocol is chosen on), then the other seeds."""
    return [
        _run(cfg, key, seed, lr, init)
        for seed in range(cfg.sweep_seeds)
        for init in cfg.sweep_inits
        for lr in cfg.sweep_lrs
        for key in cfg.settings
    ]


def probe_runs(cfg: SyntheticConfig, models: tuple | None = None) -> list[SynthRun]:
    """The runs where the two accounts are compared: every probe setting, model (of ``models``, default the config's)
    and seed at the chapter's protocol, seed 0 of every setting and model first."""
    seeds = dict(cfg.probe_model_seeds)
    return [
        _run(cfg, p[:4], seed, cfg.lr, cfg.init, vocab=p[4], model=model)
        for seed in range(cfg.probe_seeds)
        for model in (cfg.probe_models if models is None else [m for m in cfg.probe_models if m in models])
        if seed < seeds.get(model, cfg.probe_seeds)
        for p in cfg.probe_settings
    ]


#: The settings where the accounts are compared at ``cpu`` (the chapter's search finds them; M after each):
#: the sensitivity account says frequent and the margin account sparse (V25's bottom row with m = 64, and a
#: smaller setting); the reverse, found only at m = 3 and M ≤ 26; controls where both agree (two of V25's own,
#: one beside each disagreeing group); V25's (1,32,7,36), where the margins tie.
PROBE_CPU = (
    (1, 3, 3, 16, 59),
    (1, 7, 7, 64, 131),
    (1, 17, 7, 64, 131),
    (1, 32, 7, 64, 131),
    (1, 44, 2, 3, 9),
    (1, 48, 2, 3, 9),
    (3, 5, 1, 16, 59),
    (1, 17, 7, 20, 69),
    (1, 3, 1, 16, 59),
    (1, 48, 4, 3, 9),
    (1, 32, 7, 36, 75),
)

PRESETS = {
    # Seconds: two settings, short sequences, a few epochs. Claims are computed but not expected to hold.
    "ci": SyntheticConfig(
        scale="ci",
        settings=((3, 5, 1, 16), (1, 17, 7, 20)),
        seeds=2,
        epochs=2,
        n_train=200,
        n_test=100,
        n_sens=4,
        n_jobs=1,
        stop_loss=0.01,
        sweep_inits=(0.01, INIT_SQRT),
        sweep_lrs=(0.5,),
        check_epochs=3,
        probe_settings=((1, 3, 3, 16, 59), (1, 48, 2, 3, 9)),
        probe_seeds=1,
        search_m=8,
    ),
    # A 2-core laptop: every Table 3 setting at V25's data sizes; the chapter's settings table says why.
    "cpu": SyntheticConfig(
        scale="cpu",
        epochs=200,
        seeds=5,
        n_sens=20,
        stop_loss=0.01,
        lr=0.5,
        init=INIT_SQRT,
        sweep_inits=(0.01, 0.1, INIT_SQRT),
        sweep_lrs=(0.1, 0.25, 0.5),
        sweep_seeds=5,
        check_epochs=400,
        probe_settings=PROBE_CPU,
        search_m=64,
    ),
    # V25 App. D where stated (batch, T, data sizes); epochs, lr and initialisation are not stated.
    "paper": SyntheticConfig(scale="paper"),
}
