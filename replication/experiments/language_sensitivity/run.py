"""Chapter 11's run: :class:`LanguageRun`, one trained model and the cache key of its result, with the names of the
choices its fields take and how tables write its models."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...checks import KEY_OMIT_DEFAULT
from ...runs.chapters import kind

KIND = kind("language_run", __name__)
#: The data sets: WordNet's sense pairs (installed with the book), or GLUE's MRPC / QQP files in ``data_dir``.
DATASETS = ("wordnet", "mrpc", "qqp")
#: Share of WordNet's words whose pairs go to validation.
VAL_FRACTION = 0.2
#: WordNet's tasks: an example against one of another sense of the same word ("sense"), against one of another
#: word, with the word written before its definition ("word"), or a definition and its example in either order
#: ("order"), or an example against itself with its word replaced by a synonym or by a word of another sense
#: ("paraphrase", the task that turns on meaning); see :mod:`replication.tasks.wordnet`.
PAIRINGS = ("sense", "word", "order", "paraphrase")
#: Where the noise goes: on the LayerNorm-ed embedding (V25 §6), or on the embedding before the LayerNorm.
NOISE_AT = ("after_norm", "before_norm")
#: How a model is written in tables and figures.
NAMES = {"lstm": "LSTM", "softmax": "RoBERTa (softmax)", "relu": "RoBERTa (ReLU)"}
#: The LSTM trained as V25's released script trains it (its ``nn.LSTM`` module only), as tables write it.
LSTM_CODE = "LSTM (recurrent weights only)"


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
    # the learning rate is multiplied by this after every epoch (V25's scripts: 0.9)
    lr_decay: float = field(default=1.0, metadata={KEY_OMIT_DEFAULT: True})
    # what the optimiser updates: "all", or "lstm" (the LSTM's nn.LSTM module only, as V25's released script)
    trains: str = field(default="all", metadata={KEY_OMIT_DEFAULT: True})
    # the LSTM's head: "dense" (RoBERTa's: dense, tanh, dense) or "linear" (V25's released LSTM)
    head: str = field(default="dense", metadata={KEY_OMIT_DEFAULT: True})
    # also measured at initialisation and at the end with the noise where V25's released code puts it
    # (:data:`READINGS`; for the transformers on the token embedding before positions and the LayerNorm)
    code_path: bool = field(default=False, metadata={KEY_OMIT_DEFAULT: True})
    # the splits whose pairs the sensitivity perturbs ("train", "val"; V25 §6 measure on training pairs)
    sens_splits: tuple[str, ...] = field(default=("train", "val"), metadata={KEY_OMIT_DEFAULT: True})
    # sensitivity at the first and the last checkpoint only (accuracy at every one)
    sens_ends: bool = field(default=False, metadata={KEY_OMIT_DEFAULT: True})
    # epochs over which the learning rate rises linearly from lr / steps to lr, step by step (0: none, as V25)
    warmup: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})
    # epochs on WordNet's order task (as many training pairs) before the run's own task, from a fresh optimiser
    # after them; the tokenizer is trained on both tasks' sentences (0: none, as V25)
    curriculum: int = field(default=0, metadata={KEY_OMIT_DEFAULT: True})
