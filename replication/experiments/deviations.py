"""Every place the book departs from the papers or their released code, as one table (page 97_deviations).

One :class:`Deviation` per departure: the chapter (its notebook's stem), a short topic, its kind, what
the paper or its released code does, what the book does, why, and the effect on the book's numbers where
the book measured and states it (otherwise :data:`NOT_MEASURED`). Kinds (:data:`KINDS`):

- ``scale``: a setting shrunk below the papers' at this scale (``cpu``: a 2-core laptop; ``ci``: the tests).
  Shown at a scale only where one of its values differs from the ``paper`` preset's.
- ``sample``: how many perturbations or strings a measurement averages over, against the released code.
- ``convention``: a choice between definitions that the paper's text and its code (or the theory and the
  experiments) make differently.
- ``code``: something the released code does that the paper's text does not say, or a quirk of it.
- ``method``: the book's own way of testing a statement for which the paper reports no experiment.

Values that live in a chapter's presets are read from them, never retyped: any text may hold a
placeholder ``{c.FIELD}`` (the preset of the scale shown) or ``{p.FIELD}`` (the ``paper`` preset) of the
row's ``source`` (a key of :data:`SOURCES`). Other braces are plain text.

This module sits in :mod:`replication.experiments`, not in the core, because it reads the chapters'
presets (the core never imports the experiments); they are imported only when a table is built.

**Adding a row** (chapters 06-10): append an entry to ``deviations.yaml`` beside this module (the one
table); if its values live in a new preset dict, add a loader to :data:`SOURCES`.
``tests/chapters/test_deviations.py`` checks every row.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable

import pandas as pd
import yaml

from ..runs import chapters as registry
from ..runs.config import SCALES, resolve_scale

#: What a row says where the book has not measured the effect of a departure.
NOT_MEASURED = "not measured"
#: Kinds of departure (see the module docstring).
KINDS = ("scale", "sample", "convention", "code", "method")
#: Reason shown for ``scale`` rows at the ``ci`` scale, whose settings exist only for the tests.
CI_REASON = "ci scale: seconds-long settings for the tests, at which no claim is expected to hold"
#: Columns of :func:`table`.
COLUMNS = ["chapter", "topic", "kind", "paper", "book", "reason", "effect"]


def _presets(module: str) -> Callable[[], dict]:
    return lambda: importlib.import_module(module).PRESETS


def _train_defaults() -> dict:
    from ..train import TrainConfig

    cfg = TrainConfig("parity", n=4)  # the training defaults every chapter's runs share
    return {s: cfg for s in SCALES}


def _meaning() -> dict:
    from .language_sensitivity.config import PRESETS

    return {s: c.meaning for s, c in PRESETS.items()}


#: Where ``{c.FIELD}`` / ``{p.FIELD}`` are read: source name -> loader of ``{scale: config}``.
SOURCES: dict[str, Callable[[], dict]] = {
    "demo": _presets("replication.experiments.introduction"),
    "anatomy": _presets("replication.experiments.transformer_model"),
    "sensitivity": _presets("replication.experiments.average_sensitivity"),
    "sweep": _presets("replication.runs.encoder.config"),
    "train": _train_defaults,
    "grokking": _presets("replication.experiments.grokking"),
    "generalization": _presets("replication.experiments.generalization.config"),
    "tradeoff": _presets("replication.experiments.tradeoff.config"),
    "synthetic": _presets("replication.experiments.token_sensitivity.config"),
    "vision": _presets("replication.experiments.vision_sensitivity.config"),
    "language": _presets("replication.experiments.language_sensitivity.config"),
    "language_meaning": _meaning,  # chapter 11's runs at V25's sizes on the meaning task
    "scratchpad": _presets("replication.experiments.scratchpad"),
}

_PLACEHOLDER = re.compile(r"\{([cp])\.(\w+)\}")


def show(value: Any) -> str:
    """How a preset value is written in the table: ``10,000``, ``0.0003``, ``4–30``, ``none``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return _ranges(list(value))
        return ", ".join(show(v) for v in value)
    return str(value)


def _ranges(values: list[int]) -> str:
    """``4, 5, ..., 30`` -> ``4–30``; runs of three or more consecutive integers are contracted."""
    out, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out += [f"{values[i]:,}–{values[j]:,}"] if j - i >= 2 else [f"{v:,}" for v in values[i : j + 1]]
        i = j + 1
    return ", ".join(out)


@dataclass(frozen=True)
class Deviation:
    """One departure from a paper or its released code (see the module docstring for the fields' use)."""

    chapter: str  # the chapter's name in the table ("sharpness"), its stem once built ("05_sharpness")
    topic: str  # a few words
    kind: str  # one of KINDS
    paper: str  # what the paper (section, equation) or its released code does
    book: str  # what the book does
    reason: str  # why
    effect: str = NOT_MEASURED  # effect on the book's numbers, only as the book measured and states it
    source: str | None = None  # key of SOURCES for {c.FIELD} / {p.FIELD}

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind: must be one of {list(KINDS)}, got {self.kind!r}")
        # The table names a chapter by its name ("sharpness"); the registry gives its number.
        object.__setattr__(self, "chapter", registry.chapter(self.chapter).stem)
        for name in ("topic", "paper", "book", "reason", "effect"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name}: must not be empty ({self.chapter}, {self.topic!r})")
        if self.placeholders() and self.source not in SOURCES:
            raise ValueError(
                f"source: must be one of {sorted(SOURCES)} for a row with placeholders, got {self.source!r}"
            )
        if self.kind == "scale" and not self.book_fields():
            raise ValueError(f"book: a scale row must read its value from a preset ({{c.FIELD}}), got {self.book!r}")

    def placeholders(self) -> list[tuple[str, str]]:
        """``(which, field)`` of every placeholder in the row's texts, ``which`` being ``c`` or ``p``."""
        text = " ".join((self.paper, self.book, self.reason, self.effect))
        return _PLACEHOLDER.findall(text)

    def values(self, scale: str, which: str = "c") -> dict[str, Any]:
        """The preset values the row reads: ``{field: value}`` from the preset of ``scale`` (``which="c"``)
        or of ``paper`` (``which="p"``)."""
        if self.source is None:
            return {}
        cfg = SOURCES[self.source]()["paper" if which == "p" else scale]
        return {f: getattr(cfg, f) for w, f in self.placeholders() if w == which}

    def applies(self, scale: str) -> bool:
        """Whether the row is a departure at ``scale``: always, except a ``scale`` row whose values in the
        ``book`` text all equal the paper preset's."""
        if self.kind != "scale":
            return True
        presets = SOURCES[self.source]()
        return any(getattr(presets[scale], f) != getattr(presets["paper"], f) for f in self.book_fields())

    def book_fields(self) -> list[str]:
        """Fields of the ``{c.FIELD}`` placeholders in the ``book`` text (what a ``scale`` row compares)."""
        return [f for w, f in _PLACEHOLDER.findall(self.book) if w == "c"]

    def render(self, scale: str) -> dict[str, str]:
        """The row at ``scale`` with its placeholders filled (``scale`` rows at ``ci`` get :data:`CI_REASON`)."""
        presets = SOURCES[self.source]() if self.source else {}

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: show(getattr(presets["paper" if m[1] == "p" else scale], m[2])), text)

        row = {
            c: fill(getattr(self, c)) if c in ("paper", "book", "reason", "effect") else getattr(self, c)
            for c in COLUMNS
        }
        if self.kind == "scale" and scale == "ci":
            row["reason"], row["effect"] = CI_REASON, NOT_MEASURED
        return row


#: The table's file: one YAML entry per departure, in chapter order (see the module docstring).
TABLE_FILE = Path(__file__).with_name("deviations.yaml")


def load(path: Path = TABLE_FILE) -> tuple[Deviation, ...]:
    """Every :class:`Deviation` of the table file, each checked as it is built."""
    entries = yaml.safe_load(path.read_text())
    if not isinstance(entries, list):
        raise ValueError(f"{path}: must hold a list of entries, got {type(entries).__name__}")
    return tuple(Deviation(**entry) for entry in entries)


#: The table (read once, on import).
DEVIATIONS: tuple[Deviation, ...] = load()


def chapter_stem(ch: int | str) -> str:
    """``5``, ``"05"`` or ``"05_sharpness"`` -> the chapter's two-digit prefix ``"05"``."""
    text = str(ch)
    prefix = text.split("_", 1)[0]
    if not prefix.isdigit():
        raise ValueError(f"ch: must be a chapter number such as 5, '05' or '05_sharpness', got {ch!r}")
    return f"{int(prefix):02d}"


def table(scale: str | None = None) -> pd.DataFrame:
    """Every departure at ``scale`` (None: ``$REPLICATION_SCALE``, else ``cpu``), one row each, in chapter
    order, with the columns of :data:`COLUMNS` and placeholders filled from the presets."""
    scale = resolve_scale(scale)
    rows = [d.render(scale) for d in DEVIATIONS if d.applies(scale)]
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.sort_values("chapter", kind="stable").reset_index(drop=True)


def for_chapter(ch: int | str, scale: str | None = None) -> pd.DataFrame:
    """The rows of one chapter (``5``, ``"05"`` or ``"05_sharpness"``) at ``scale``."""
    df = table(scale)
    return df[df["chapter"].str.startswith(chapter_stem(ch) + "_")].reset_index(drop=True)


#: Column headings of :func:`styled` (``book`` gets the scale).
HEADINGS = {"kind": "kind", "paper": "paper / released code", "reason": "why", "effect": "effect"}


def styled(scale: str | None = None):
    """:func:`table` for reading: grouped by chapter (then topic), text wrapped and left-aligned."""
    scale = resolve_scale(scale)
    df = table(scale).rename(columns={**HEADINGS, "book": f"this book ({scale})"})
    df["chapter"] = df["chapter"].str.replace("_", " ")  # lets the chapter column wrap
    df = df.set_index(["chapter", "topic"])
    cell = {"text-align": "left", "vertical-align": "top", "white-space": "normal", "font-size": "0.85em"}
    return df.style.set_properties(**cell).set_table_styles(
        [
            {"selector": "th", "props": "text-align: left; vertical-align: top; font-size: 0.85em;"},
            {"selector": "th.row_heading.level0", "props": "max-width: 7em;"},
            {"selector": "th.row_heading.level1", "props": "max-width: 9em; font-weight: normal;"},
            {"selector": "td", "props": "min-width: 7em; max-width: 17em;"},
        ]
    )
