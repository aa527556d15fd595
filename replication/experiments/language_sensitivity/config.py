"""Chapter 11's settings: :class:`LanguageRun` (one trained model, a cache key), :class:`LanguageConfig` with its
:data:`PRESETS`, and the runs a config expands into (:func:`language_runs`, :func:`depth_runs`,
:func:`before_norm_runs`). The data a run reads is :func:`~.measure.load_data`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


from ...checks import KEY_OMIT_DEFAULT, check_choice, check_choices, check_float, check_int
from ...models.language import LANGUAGE_MODELS
from ...runs.chapters import kind
from ...runs.config import ChapterConfig
from ...tasks import wordnet

KIND = kind("language_run", __name__)
#: The data sets: WordNet's sense pairs (installed with the book), or GLUE's MRPC / QQP files in ``data_dir``.
DATASETS = ("wordnet", "mrpc", "qqp")
#: Share of WordNet's words whose pairs go to validation.
VAL_FRACTION = 0.2
#: WordNet's tasks: an example against one of another sense of the same word ("sense"), against one of another
#: word, with the word written before its definition ("word"), or a definition and its example in either order
#: ("order"); see :mod:`replication.tasks.wordnet`.
PAIRINGS = ("sense", "word", "order")
#: Where the noise goes: on the LayerNorm-ed embedding (V25 §6), or on the embedding before the LayerNorm.
NOISE_AT = ("after_norm", "before_norm")
#: How a model is written in tables and figures.
NAMES = {"lstm": "LSTM", "softmax": "RoBERTa (softmax)", "relu": "RoBERTa (ReLU)"}


@dataclass(frozen=True)
class LanguageRun:
    """One trained model: the cache key of :func:`~.measure.measure_language`."""

    dataset: str  # "wordnet", "mrpc" or "qqp"
    data_dir: str  # folder of GLUE's train.tsv / dev.tsv, or of WordNet's data.* files
    n_train: int  # training pairs (a fixed random subset, the same for every model and seed; 0: all)
    n_val: int  # validation pairs (likewise)
    vocab_size: int  # byte-level BPE vocabulary, trained on the training split's sentences
    max_len: int  # tokens per pair at most, with <s> and the separators
    model: str  # "lstm", "softmax" or "relu" (attention)
    seed: int  # initialisation, batch order and noise
    d: int  # width (embedding, hidden state)
    layers: int  # layers of both models
    heads: int  # attention heads
    ff: int  # feed-forward width
    dropout: float
    lr: float  # AdamW
    weight_decay: float  # AdamW
    batch_size: int
    epochs: int
    checkpoints: tuple[int, ...]  # epochs after which the model is measured (0: at initialisation)
    variances: tuple[float, ...]  # noise variances sigma^2 of the sensitivity
    n_sens: int  # training pairs, and validation pairs, of the sensitivity
    repeats: int  # noise draws per (pair, token)
    # "after_norm" (V25 §6: on the LayerNorm-ed embedding) or "before_norm" (on the embedding, then the LayerNorm)
    noise_at: str = field(default="after_norm", metadata={KEY_OMIT_DEFAULT: True})
    # WordNet's task: "sense" (negatives: another sense of the same word), "word" (another word's example), "order"
    pairing: str = field(default="sense", metadata={KEY_OMIT_DEFAULT: True})


@dataclass(frozen=True)
class LanguageConfig(ChapterConfig):
    """Chapter 11's settings; :data:`PRESETS` holds one per scale, the notebook overrides a few."""

    scale: str  # "ci", "cpu" or "paper"
    dataset: str = "wordnet"  # "wordnet", "mrpc" or "qqp"
    data_dir: str = ""  # GLUE's folder for mrpc / qqp; "" for WordNet at /usr/share/wordnet
    models: tuple[str, ...] = LANGUAGE_MODELS  # models compared
    seeds: int = 3  # seeds per model
    n_train: int | None = None  # training pairs (None: all)
    n_val: int | None = None  # validation pairs (None: all)
    vocab_size: int = 8000
    max_len: int = 128
    d: int = 768  # RoBERTa-base's width
    layers: int = 4  # V25 App. D: 4 layers for both models
    heads: int = 8  # V25 App. D
    ff: int = 3072
    dropout: float = 0.1  # V25 App. D
    lr: float = 1e-4  # V25 App. D: AdamW
    weight_decay: float = 1e-4  # V25 App. D
    batch_size: int = 32  # V25 App. D
    epochs: int = 20
    checkpoints: tuple[int, ...] = (0, 1, 2, 5, 10, 20)  # epochs measured along training (0: initialisation)
    variances: tuple[float, ...] = (15.0, 4.0)  # V25 §6 and App. A.4
    n_sens: int = 1000  # pairs of each split in the sensitivity
    repeats: int = 1  # noise draws per (pair, token)
    n_jobs: int = 1  # worker processes
    pairing: str = "sense"  # WordNet's task: "sense", "word" or "order" (see PAIRINGS)
    before_norm: bool = (
        True  # also the same models with the noise put on before the LayerNorm (measured at 0 and the end)
    )
    depths: tuple[
        int, ...
    ] = ()  # the runs again at these depths (V25 App. A.4: depth changes the level, not the order)

    def __post_init__(self):
        super().__post_init__()
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("pairing", self.pairing, PAIRINGS)
        if not isinstance(self.data_dir, str):
            raise ValueError(f"data_dir: must be a folder path (a string), got {self.data_dir!r}")
        check_choices("models", self.models, LANGUAGE_MODELS)
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"models: each at most once, got {list(self.models)}")
        check_int("seeds", self.seeds, 1, 100)
        for name in ("n_train", "n_val"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 10)
        check_int("vocab_size", self.vocab_size, 300, 100_000)
        check_int("max_len", self.max_len, 8, 1024)
        check_int("d", self.d, 4, 4096)
        check_int("layers", self.layers, 1, 48)
        check_int("heads", self.heads, 1, 64)
        if self.d % self.heads:
            raise ValueError(f"heads: must divide d={self.d}, got {self.heads}")
        check_int("ff", self.ff, 1)
        check_float("dropout", self.dropout, 0.0, 0.9)
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_int("batch_size", self.batch_size, 1)
        check_int("epochs", self.epochs, 1, 10_000)
        if (
            not self.checkpoints
            or list(self.checkpoints) != sorted(set(self.checkpoints))
            or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= self.epochs for c in self.checkpoints)
        ):
            raise ValueError(
                f"checkpoints: must be increasing epochs in [0, epochs={self.epochs}], got {self.checkpoints!r}"
            )
        if not self.variances or any(not isinstance(v, (int, float)) or not 0 < v < 1e4 for v in self.variances):
            raise ValueError(
                f"variances: must be a non-empty list of noise variances in (0, 1e4), got {self.variances!r}"
            )
        check_int("n_sens", self.n_sens, 1)
        check_int("repeats", self.repeats, 1, 100)
        check_int("n_jobs", self.n_jobs, 1, 256)
        if not isinstance(self.depths, (tuple, list)) or any(
            isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 48 or v == self.layers for v in self.depths
        ):
            raise ValueError(
                f"depths: must be a list of layer counts in [1, 48] other than layers={self.layers}, got "
                f"{self.depths!r}"
            )
        object.__setattr__(self, "depths", tuple(self.depths))
        if not isinstance(self.before_norm, bool):
            raise ValueError(f"before_norm: must be True or False, got {self.before_norm!r}")

    #: The notebook's parameters (:meth:`~replication.runs.config.ChapterConfig.from_params`):
    #: dataset ("wordnet", "mrpc", "qqp"), data_dir (GLUE's folder), pairing (WordNet's task), models (from "lstm", "softmax", "relu"),
    #: seeds, epochs, n_train, n_val.
    PARAMS = ("dataset", "data_dir", "pairing", "models", "seeds", "epochs", "n_train", "n_val")

    @classmethod
    def from_params(cls, scale=None, **params):
        """:meth:`ChapterConfig.from_params`; then, before any work, a check that the data files exist, and
        checkpoints beyond a shorter ``epochs`` dropped (the last epoch always measured)."""
        cfg = super().from_params(scale, **params)
        if params.get("epochs") is not None:
            cps = tuple(c for c in cfg.checkpoints if c < cfg.epochs) + (cfg.epochs,)
            cfg = dataclasses.replace(cfg, checkpoints=cps)
        check_data(cfg.dataset, cfg.data_dir)
        return cfg


def check_data(dataset: str, data_dir: str) -> None:
    """A clear error, before any work, when the data set's files are missing."""
    if dataset == "wordnet":
        wordnet.check_available(data_dir or wordnet.WORDNET_DIR)
    else:
        from pathlib import Path

        missing = [n for n in ("train.tsv", "dev.tsv") if not (Path(data_dir or ".") / n).is_file()]
        if not data_dir or missing:
            raise FileNotFoundError(
                f"data_dir: dataset={dataset!r} needs GLUE's {dataset.upper()} train.tsv and "
                f"dev.tsv in data_dir, got data_dir={data_dir!r}"
            )


PRESETS = {
    # Seconds: 200 pairs, tiny models, one epoch, one seed. The claims are computed but are not expected to hold.
    "ci": LanguageConfig(
        scale="ci",
        seeds=1,
        pairing="order",
        n_train=200,
        n_val=100,
        vocab_size=400,
        max_len=32,
        d=16,
        layers=2,
        heads=2,
        ff=32,
        lr=1e-3,
        epochs=1,
        checkpoints=(0, 1),
        n_sens=20,
        depths=(1,),
    ),
    # One CPU thread, about a quarter of an hour for all nine runs and their remeasurement: the chapter's settings
    # table. The order task: on the sense and word tasks no model got above chance at this budget (the trials).
    "cpu": LanguageConfig(
        scale="cpu",
        pairing="order",
        n_train=10000,
        n_val=2000,
        vocab_size=2000,
        max_len=48,
        d=32,
        layers=4,
        heads=4,
        ff=64,
        lr=1e-3,
        epochs=3,
        checkpoints=(0, 1, 2, 3),
        n_sens=100,
        depths=(2, 6),
    ),
    # V25 App. D on GLUE's MRPC (train.tsv and dev.tsv in data_dir): RoBERTa-base's width, 4 layers, 8 heads.
    "paper": LanguageConfig(scale="paper", dataset="mrpc"),
}


def language_runs(cfg: LanguageConfig) -> list[LanguageRun]:
    """Every run of ``cfg``: each model with each seed, on the same data."""
    return [
        LanguageRun(
            dataset=cfg.dataset,
            data_dir=cfg.data_dir,
            n_train=cfg.n_train or 0,
            n_val=cfg.n_val or 0,
            vocab_size=cfg.vocab_size,
            max_len=cfg.max_len,
            model=m,
            seed=s,
            d=cfg.d,
            layers=cfg.layers,
            heads=cfg.heads,
            ff=cfg.ff,
            dropout=cfg.dropout,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            batch_size=cfg.batch_size,
            epochs=cfg.epochs,
            checkpoints=tuple(cfg.checkpoints),
            variances=tuple(float(v) for v in cfg.variances),
            n_sens=cfg.n_sens,
            repeats=cfg.repeats,
            pairing=cfg.pairing,
        )
        for m in cfg.models
        for s in range(cfg.seeds)
    ]


def depth_runs(cfg: LanguageConfig) -> list[LanguageRun]:
    """The runs of :func:`language_runs` again at each depth of ``cfg.depths`` (both models' layer count)."""
    return [dataclasses.replace(r, layers=d) for d in cfg.depths for r in language_runs(cfg)]


def before_norm_runs(cfg: LanguageConfig) -> list[LanguageRun]:
    """The runs of :func:`language_runs` again, measured with the noise before the LayerNorm, at initialisation
    and after the last epoch only. Training does not depend on the measurements (they draw from their own
    generators), so these are the same trained models."""
    return [dataclasses.replace(r, noise_at="before_norm", checkpoints=(0, r.epochs)) for r in language_runs(cfg)]
