"""Chapter 11's trials: single-seed runs at the ``cpu`` scale with one setting or a few changed, each a stored run of
the chapter's kind, that look for a setting where the models generalise (validation accuracy above chance)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from ...runs.store import Store
from ...runs.sweep import run_sweep
from ...tasks import wordnet
from .config import LanguageConfig, language_runs
from .run import KIND, NAMES
from .measure import load_pairs, measure_language

#: The chapter's first cpu setting, from which the trials change one thing or a few: the sense task on 2,000
#: training pairs for 20 epochs.
BASE = LanguageConfig(
    scale="cpu",
    n_train=2000,
    n_val=500,
    vocab_size=2000,
    max_len=48,
    d=32,
    layers=4,
    heads=4,
    ff=64,
    lr=1e-3,
    epochs=20,
    checkpoints=(0, 1, 2, 5, 10, 15, 20),
    n_sens=100,
)
#: Each trial: (what changed from :data:`BASE`, the changes). One seed (0), all three models unless stated;
#: trial 0 is :data:`BASE` itself (its seed-0 runs).
TRIALS = (
    ("the first cpu setting: sense task, 2,000 training pairs, 500 validation, 20 epochs", dict()),
    (
        "sense task, all 34,150 training pairs, 2,000 validation, 3 epochs",
        dict(models=("lstm", "softmax"), n_train=None, n_val=2000, epochs=3, checkpoints=(0, 1, 2, 3)),
    ),
    (
        "word task (negatives: another word's example), 20,000 training pairs, 2,000 validation, 3 epochs",
        dict(pairing="word", n_train=20000, n_val=2000, epochs=3, checkpoints=(0, 1, 2, 3)),
    ),
    (
        "word task, 20,000 training pairs, 3 epochs, lr 3e-3",
        dict(models=("lstm",), pairing="word", n_train=20000, n_val=2000, epochs=3, checkpoints=(0, 1, 2, 3), lr=3e-3),
    ),
    (
        "word task, 20,000 training pairs, 10 epochs, lr 3e-3, no dropout",
        dict(
            models=("lstm",),
            pairing="word",
            n_train=20000,
            n_val=2000,
            epochs=10,
            checkpoints=(0, 1, 5, 10),
            lr=3e-3,
            dropout=0.0,
        ),
    ),
    (
        "order task (a definition and its example, in either order), 10,000 training pairs, 2,000 validation, 3 epochs",
        dict(pairing="order", n_train=10000, n_val=2000, epochs=3, checkpoints=(0, 1, 2, 3)),
    ),
    (
        "word task, 20,000 training pairs, 15 epochs, the softmax transformer only",
        dict(models=("softmax",), pairing="word", n_train=20000, n_val=2000, epochs=15, checkpoints=(0, 5, 10, 15)),
    ),
)


def trial_configs(trials=TRIALS) -> list[tuple[str, LanguageConfig]]:
    """The trials' configs: :data:`BASE`, one seed, with each trial's changes."""
    base = BASE
    return [
        (label, dataclasses.replace(base, seeds=1, before_norm=False, **{"models": base.models, **changes}))
        for label, changes in trials
    ]


def trial_table(cfg: LanguageConfig, trials=TRIALS, cache: Store | None = None, progress=None) -> pd.DataFrame:
    """One row per trial and model: training and validation accuracy after training, sensitivity (σ² = 15,
    training pairs) at initialisation and after training, training seconds. Only the cpu scale has trials (an
    empty frame otherwise); they are stored runs of the chapter's kind, read from the results (or computed)."""
    if cfg.scale != "cpu":
        return pd.DataFrame()
    cache = cache if cache is not None else Store(scale="cpu")
    rows = []
    for i, (label, cfg) in enumerate(trial_configs(trials)):
        runs = run_sweep(language_runs(cfg), measure_language, KIND, cache=cache, n_jobs=1, progress=progress)
        for _, r in runs.iterrows():
            rows.append(
                {
                    "trial": i,
                    "setting": label,
                    "model": NAMES[r["model"]],
                    "train_acc": r["train_acc"],
                    "val_acc": r["val_acc"],
                    "init_sens": r["init_sens_train_15"],
                    "sens": r["sens_train_15"],
                    "train_s": round(float(r["train_seconds"])),
                }
            )
    return pd.DataFrame(rows).set_index(["trial", "setting", "model"])


def describe_trials(table: pd.DataFrame, data_dir: str = "", trials=TRIALS) -> str:
    """Generated: each trial's final validation accuracy per model, and what matching tokens alone would score on
    the word task (:func:`replication.tasks.wordnet.lexical_rule` on its training and validation pairs)."""
    if not len(table):
        return "The trials were run at the cpu scale only."
    parts = []
    for (i, label), g in table.groupby(level=["trial", "setting"], sort=True):
        accs = ", ".join(f"{m} {r['val_acc']:.3f}" for (_, _, m), r in g.iterrows())
        parts.append(f"trial {i} ({label}): {accs}")
    train, val = load_pairs("wordnet", data_dir, "word")
    word = table[[trials[i][1].get("pairing") == "word" for i in table.index.get_level_values("trial")]]
    best = word["val_acc"].idxmax() if len(word) else None
    found = (
        f"the best validation accuracy of a model on it is {word.loc[best, 'val_acc']:.3f} ({best[2]}, trial {best[0]})"
        if best is not None
        else "no trial ran it"
    )
    rule = (
        f" On the word task a rule that only looks for the word's first five letters in the example is right on "
        f"{wordnet.lexical_rule(train):.1%} of the training pairs and {wordnet.lexical_rule(val):.1%} of the "
        f"validation pairs, so matching tokens alone would solve most of it; {found}."
    )
    return "Validation accuracy after the last epoch (chance: 0.5), " + "; ".join(parts) + "." + rule
