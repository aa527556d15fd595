"""Chapter 11's settings: :class:`LanguageConfig` with its :data:`PRESETS`, and the runs (:class:`~.run.LanguageRun`)
a config expands into (:func:`language_runs`, :func:`depth_runs`,
:func:`before_norm_runs`). The data a run reads is :func:`~.measure.load_data`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


from ...checks import check_choice, check_choices, check_float, check_int
from ...models.language import HEADS, LANGUAGE_MODELS, TRAINS
from ...runs.config import ChapterConfig
from ...tasks import wordnet
from .run import DATASETS, PAIRINGS, LanguageRun


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
    d: int = 256  # V25's released scripts (roberta-base's configuration at width 256)
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
    lr_decay: float = 1.0  # the learning rate times this after every epoch (V25's scripts: 0.9)
    warmup: int = 0  # epochs of linear warm-up of the learning rate (V25's scripts: none)
    lstm_trains: tuple[str, ...] = ("all",)  # the LSTM once per entry: "all" its parameters, "lstm" its nn.LSTM only
    lstm_head: str = "dense"  # the LSTM's head: "dense" (RoBERTa's) or "linear" (V25's released LSTM)
    code_path: bool = False  # also measure at initialisation and the end with the noise on V25's code's path
    sens_splits: tuple[str, ...] = ("train", "val")  # the splits whose pairs the sensitivity perturbs
    sens_ends: bool = False  # sensitivity at the first and last checkpoint only (accuracy at every one)
    meaning: LanguageConfig | None = None  # the runs at V25's sizes on the paraphrase task (:mod:`.meaning`)

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
        check_float("lr_decay", self.lr_decay, 0.0, 1.0, lo_open=True)
        check_int("warmup", self.warmup, 0, self.epochs)
        check_choices("lstm_trains", self.lstm_trains, TRAINS)
        if not self.lstm_trains or len(set(self.lstm_trains)) != len(self.lstm_trains):
            raise ValueError(
                f"lstm_trains: each of {list(TRAINS)} at most once, at least one, got {self.lstm_trains!r}"
            )
        object.__setattr__(self, "lstm_trains", tuple(self.lstm_trains))
        check_choice("lstm_head", self.lstm_head, HEADS)
        if "train" not in check_choices("sens_splits", self.sens_splits, ("train", "val")):
            raise ValueError(f"sens_splits: must include 'train' (the claims read it), got {self.sens_splits!r}")
        object.__setattr__(self, "sens_splits", tuple(dict.fromkeys(self.sens_splits)))
        if not isinstance(self.sens_ends, bool):
            raise ValueError(f"sens_ends: must be True or False, got {self.sens_ends!r}")
        if not isinstance(self.code_path, bool):
            raise ValueError(f"code_path: must be True or False, got {self.code_path!r}")
        if self.meaning is not None and (
            not isinstance(self.meaning, LanguageConfig) or self.meaning.meaning is not None
        ):
            raise ValueError(
                f"meaning: must be None or a LanguageConfig without a meaning of its own, got {self.meaning!r}"
            )

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


#: V25's released language scripts (§6, App. D; the MRPC scripts of ``language/scripts/``): RoBERTa from roberta-base's
#: configuration with 4 layers, 8 heads and width 256 (feed-forward 3,072), an LSTM of 4 layers of 256 on
#: ``Embedding(vocab, 256)`` and ``LayerNorm(256)`` with a linear head, dropout 0.1; AdamW, lr 1e-4, weight decay
#: 1e-4, batch 32, 100 epochs, the learning rate × 0.9 after every epoch, at most 128 tokens; RoBERTa's
#: 50,265-token vocabulary (here a BPE asked for that many: it stops at what its training sentences allow);
#: sensitivity on 408 training pairs with 3 draws per token, σ² = 15 (and 4). The LSTM twice: trained in full (the
#: paper says nothing else) and its ``nn.LSTM`` alone (the script); the code's noise path measured beside the paper's.
V25 = dict(
    vocab_size=50265,
    max_len=128,
    d=256,
    layers=4,
    heads=8,
    ff=3072,
    dropout=0.1,
    lr=1e-4,
    lr_decay=0.9,
    weight_decay=1e-4,
    batch_size=32,
    epochs=100,
    checkpoints=(0, 1, 2, 5, 10, 20, 50, 100),
    variances=(15.0, 4.0),
    n_sens=408,
    repeats=3,
    sens_splits=("train",),
    seeds=3,
    lstm_trains=("all", "lstm"),
    lstm_head="linear",
    code_path=True,
    before_norm=False,
)
#: The meaning runs: V25's settings on WordNet's paraphrase task, per scale. `cpu` keeps V25's depth, heads, width,
#: optimiser and schedule, with a feed-forward width of 1,024, about MRPC's 3,668 training pairs and 30 epochs.
MEANING = {
    "ci": LanguageConfig(
        scale="ci",
        pairing="paraphrase",
        **{
            **V25,
            **dict(vocab_size=400, max_len=32, d=16, layers=2, heads=2, ff=32, lr=1e-3, epochs=2, checkpoints=(0, 2)),
            **dict(n_train=200, n_val=100, n_sens=10, seeds=1),
        },
    ),
    "cpu": LanguageConfig(
        scale="cpu",
        pairing="paraphrase",
        **{
            **V25,
            **dict(ff=1024, epochs=30, checkpoints=(0, 5, 10, 15, 20, 25, 30), n_train=3700, n_val=1000),
            **dict(n_sens=400, sens_ends=True),
        },
    ),
    "paper": LanguageConfig(scale="paper", pairing="paraphrase", **V25),
}

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
        meaning=MEANING["ci"],
    ),
    # One CPU thread, about a quarter of an hour for all nine runs and their remeasurement: the chapter's settings
    # table. The order task at small sizes (the chapter's second task); the meaning runs at V25's sizes beside it.
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
        meaning=MEANING["cpu"],
    ),
    # V25's released scripts on GLUE's MRPC (train.tsv and dev.tsv in data_dir), and on the paraphrase task.
    "paper": LanguageConfig(scale="paper", dataset="mrpc", **V25, meaning=MEANING["paper"]),
}


def language_runs(cfg: LanguageConfig) -> list[LanguageRun]:
    """Every run of ``cfg``: each model (the LSTM once per entry of ``lstm_trains``) with each seed, on the same
    data."""
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
            lr_decay=cfg.lr_decay,
            warmup=cfg.warmup,
            trains=t,
            head=cfg.lstm_head if m == "lstm" else "dense",
            code_path=cfg.code_path,
            sens_splits=cfg.sens_splits,
            sens_ends=cfg.sens_ends,
        )
        for m in cfg.models
        for t in (cfg.lstm_trains if m == "lstm" else ("all",))
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
