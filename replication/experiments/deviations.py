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

**Adding a row** (chapters 06-10): append a :class:`Deviation` to :data:`DEVIATIONS`; if its values live in
a new preset dict, add a loader to :data:`SOURCES`. ``tests/test_deviations.py`` checks every row.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from ..config import SCALES, resolve_scale

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


#: Where ``{c.FIELD}`` / ``{p.FIELD}`` are read: source name -> loader of ``{scale: config}``.
SOURCES: dict[str, Callable[[], dict]] = {
    "demo": _presets("replication.experiments.demo"),
    "anatomy": _presets("replication.experiments.model_anatomy"),
    "sensitivity": _presets("replication.experiments.average_sensitivity"),
    "sweep": _presets("replication.experiments.encoder_sweep"),
    "train": _train_defaults,
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

    chapter: str  # notebook stem, e.g. "05_sharpness"
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
        if not re.fullmatch(r"\d\d_\w+", self.chapter):
            raise ValueError(f"chapter: must be a notebook stem such as '05_sharpness', got {self.chapter!r}")
        for name in ("topic", "paper", "book", "reason", "effect"):
            if not getattr(self, name).strip():
                raise ValueError(f"{name}: must not be empty ({self.chapter}, {self.topic!r})")
        if self.placeholders() and self.source not in SOURCES:
            raise ValueError(f"source: must be one of {sorted(SOURCES)} for a row with placeholders, "
                             f"got {self.source!r}")
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

        row = {c: fill(getattr(self, c)) if c in ("paper", "book", "reason", "effect") else getattr(self, c)
               for c in COLUMNS}  # fmt: skip
        if self.kind == "scale" and scale == "ci":
            row["reason"], row["effect"] = CI_REASON, NOT_MEASURED
        return row


_E1 = "HR24 App. E.1, Table 1"
_CODE = "the released code"

#: The table: one row per departure, in chapter order. Append rows here (see the module docstring).
DEVIATIONS: tuple[Deviation, ...] = (
    # ---------------------------------------------------------------- 01 introduction
    Deviation(
        "01_introduction", "demo models", "scale",
        paper=f"no demo in the papers; HR24 trains with width {{p.d}}, batch {{p.batch_size}}, lr {{p.lr}}, "
              f"{{p.steps}} steps ({_E1})",
        book="width {c.d}, batch {c.batch_size}, lr {c.lr}, {c.steps} steps; one model per function "
             "({c.functions}) at n = {c.n}",
        reason="a live demonstration sized for a laptop CPU (the page lists each model's training time); "
               "chapter 05 makes the comparison across lengths and seeds",
        source="demo",
    ),
    Deviation(
        "01_introduction", "demo sharpness sample", "sample",
        paper=f"{_CODE}: 10 perturbations, the same 10 on each of 1,000 batches of fresh strings",
        book="{c.perturbations} perturbations × {c.inputs} fixed strings",
        reason="one measurement per model; see chapter 05's rows on the code's sampling",
        source="demo",
    ),
    # ---------------------------------------------------------------- 02 the transformer
    Deviation(
        "02_transformer_model", "embeddings", "convention",
        paper=f"HR24 §2 adds token and positional embeddings; {_CODE} (src/model.py) concatenates two "
              "halves of width d/2",
        book="concatenated, as in the released code",
        reason="the released code produced the paper's figures",
    ),
    Deviation(
        "02_transformer_model", "LayerNorm factor", "convention",
        paper=f"HR24 Eq. 5: 1/√(σ² + ε); {_CODE} (src/measurements.py): 1/std with the unbiased estimator "
              "and no ε",
        book="Eq. 5 as LayerNorm computes it (biased variance, PyTorch's default ε); the code's factor is "
             "computed beside it",
        reason="it is the factor LayerNorm divides by, and the theory's",
        effect="where ε is negligible the code's factor is Eq. 5's times √((d−1)/d), here d = {c.d}; chapter "
               "02's claims table checks the median ratio on its live model and its blowup summary lists both",
        source="anatomy",
    ),
    Deviation(
        "02_transformer_model", "blowup without 1 +", "convention",
        paper="HR24 Eq. 11 multiplies (1 + N) over LayerNorm applications; §7.1 (footnote 4) and the code "
              "multiply N",
        book="the product of N, as §7.1; Eq. 11's version is computed in chapter 02",
        reason="it is what the paper's experiments report; the 1 serves the proof",
        effect="Eq. 11's version is larger: chapter 02 lists both per model, and chapter 04's needed "
               "constant C is therefore an upper bound on the one Eq. 11 would need",
    ),
    Deviation(
        "02_transformer_model", "last layer at the read-out only", "code",
        paper="HR24 §7.1 takes the largest factor over the whole layer; the code's nn.TransformerEncoder "
              "computes every position, but its blowup reads the last layer's factors at the last position only",
        book="the last layer computes the last position only (its queries; keys and values from every "
             "position), so that layer's factors are that position's, as in the code's blowup",
        reason="nothing else reaches the linear head, and most of the last layer's work is saved",
        effect="outputs equal nn.TransformerEncoder's with copied weights (chapter 02's claims table); the "
               "blowup is the code's",
    ),
    Deviation(
        "02_transformer_model", "live model", "scale",
        paper=f"width {{p.d}}, batch {{p.batch_size}}, lr {{p.lr}}, {{p.steps}} steps ({_E1})",
        book="width {c.d}, batch {c.batch_size}, lr {c.lr}, {c.steps} steps ({c.function}, n = {c.n})",
        reason="one illustrative model, trained quickly on a laptop CPU; the chapter reads its factors and "
               "measures no trend. A larger rate gets PARITY off its chance-level plateau sooner (chapter 05)",
        effect="not measured here; chapter 05 found that lr 1e-3 leads PARITY to flatter minima than the "
               "paper's rate (sharpness 0.12–0.26 at n = 4–10)",
        source="anatomy",
    ),
    # ---------------------------------------------------------------- 03 average sensitivity
    Deviation(
        "03_average_sensitivity", "output scale", "convention",
        paper="HR24 §3 and the theory: functions into {−1, +1} (MEAN into [−1, 1]); the code trains on "
              "{0, 1} targets (MEAN: the fraction of ones)",
        book="{0, 1} targets, as the code; sensitivities reported on the ±1 scale, "
             "s(x, f) = Σᵢ (f(x) − f(x⊕i))², which is Eq. 6 for 2f − 1",
        reason="the models are trained as in the paper's experiments and the numbers read as in the theory "
               "(PARITY: as_n = n)",
        effect="none on the reported values: exact enumeration matches the closed forms (chapter 03's claims)",
    ),
    Deviation(
        "03_average_sensitivity", "PARITY's sign", "convention",
        paper="HR24 §3: PARITY is the product of the ±1 bits",
        book="the XOR of the {0, 1} bits, as the code",
        reason="the code's definition; with bit 1 read as +1 the two differ by a sign and a relabelling",
        effect="none: every sensitivity and every |λ_P| is unchanged (exact)",
    ),
    Deviation(
        "03_average_sensitivity", "random initialisation", "method",
        paper="HR24 §6 cites the low sensitivity of random transformers (Bhattamishra et al., 2023) without "
              "an experiment of its own",
        book="{c.init_seeds} random encoders of width {c.d} per length n ∈ {c.init_ns}; the real output "
             "thresholded at its median, against uniformly random functions",
        reason="a real output must be made Boolean to compare with a random function's n/2; the median makes "
               "it balanced, so it is never constant",
        effect="not measured (no other threshold tried)",
        source="sensitivity",
    ),
    Deviation(
        "03_average_sensitivity", "V25 spectral bias", "method",
        paper="V25 §3 (Prop. 3.1): eigenvalues of the conjugate and neural tangent kernels of linear-attention "
              "transformers on the cube, at infinite width",
        book="no kernel computed; the Fourier degree profile of finite softmax encoders at initialisation, "
             "beside a random function's",
        reason="the proposition is analytic; the profile is its measurable counterpart on the architecture the "
               "book studies",
        effect="not measured (the kernel's eigenvalues are not computed, so the two are not compared)",
    ),
    # ---------------------------------------------------------------- 04 blowup bound
    Deviation(
        "04_blowup_bound", "Cor. 5 on trained models", "method",
        paper="HR24 tests Cor. 5 through its consequences (§7.2: sharpness, the norm–blowup trade-off); it "
              "plots no E[Blowup²] against n and gives no value of C",
        book="E[Blowup²] against n; Cor. 5's right side with the target's exact as_n; the smallest C that "
             "satisfies it; the Eq. 8 factor of C from trained weights (PyTorch's 1/√d_head included)",
        reason="the bound is the chapter's subject, and C is a worst-case constant with no measurable value",
    ),
    Deviation(
        "04_blowup_bound", "Thm 4 on single strings", "method",
        paper="HR24 §4 (after Cor. 5): MAJORITY needs blowup Ω(n^¼) near balanced strings; no experiment",
        book="Eq. 12 on {c.thm4_strings} uniform strings per run; mean blowup on {c.n_thm4} balanced strings "
             "(⌊n/2⌋ or ⌊n/2⌋ + 1 ones) against as many with |#ones − n/2| ≥ max(n/4, 2), "
             "one-sided Wilcoxon",
        reason="the book's reading of 'near balanced' (the counts where one flip can change MAJORITY) and of "
               "'far from it'",
        effect="not measured (no other cut-off tried)",
        source="sweep",
    ),
    # ---------------------------------------------------------------- 05 sharpness (the sweep chapter 04 reads)
    Deviation(
        "05_sharpness", "width", "scale", paper=f"{{p.d}} ({_E1})", book="{c.d}",
        reason="a training step at n = 16 takes about 8 ms instead of about 370 ms (batch 128, one thread)",
        effect="PARITY still converges up to n = 8 in the step budget; at n = 10 one seed ends just above "
               "10⁻³ (chapter 05)",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "batch", "scale", paper=f"{{p.batch_size}} ({_E1})", book="{c.batch_size}",
        reason="half the step time of batch 256",
        effect="PARITY's chance-level plateau lasts about as many steps (chapter 05)",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "steps", "scale", paper=f"{{p.steps}} ({_E1})", book="{c.steps}, every run",
        reason="the time budget; every run is measured after the same number of steps, never when it "
               "converges, since sharpness keeps falling after convergence",
        effect="not measured (how much lower sharpness would be after {p.steps} steps)",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "giving up", "scale", paper="{p.give_up_step}: every run trains to the end",
        book="at step {c.give_up_step}, a run whose evaluation MSE is still above half of Var(f) stops",
        reason="cuts only PARITY runs past their learnable length, still at chance; they count as not converged",
        effect="not measured (whether such a run could have converged by step {c.steps})",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "lengths", "scale", paper="n = {p.ns} (HR24 §7.2)", book="n = {c.ns}",
        reason="dense where PARITY can converge at this width and budget, sparse where only the other three do",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "seeds", "scale", paper="{p.seeds} per function and length (HR24 §7.2)",
        book="{c.seeds} per function and length",
        reason="enough to show the spread, not to estimate it well",
        effect="not measured; chapter 05 notes that one sharp seed can move the p-value of a small slope",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "long inputs", "scale",
        paper="width {p.long_d}, batch {p.long_batch_size}, {p.long_seeds} seeds, {p.long_steps} steps, n up "
              "to 512 (App. E.1, Fig. 7/8)",
        book="width {c.long_d}, batch {c.long_batch_size}, {c.long_seeds} seeds, {c.long_steps} steps, "
             "n = {c.long_ns}",
        reason="attention's cost grows as n²: a step takes 19 ms at n = 64 and 80 ms at n = 128 (chapter 05)",
        effect="too few runs to resolve a trend of the size HR24 report; chapter 05's claims table says so",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "long inputs: learning rate", "scale",
        paper="{p.long_lr} (App. E.1; the code's long-input sweep changes only width and batch)",
        book="{c.long_lr}",
        reason="not stated in chapter 05, which gives no measurement behind it; presumably to converge within "
               "the {c.long_steps}-step budget",
        effect="not measured; chapter 05 found a larger rate biases the main sweep towards flatter minima",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "long-input lengths", "code",
        paper=f"{_CODE} (sweeps/length_scaling_2.yaml): 20 evenly spaced lengths 4, 31, 57, …, 512",
        book="n = {p.long_ns} in the book's paper preset",
        reason="the paper's text gives only the range (App. E.2, Fig. 7/8); the book's paper preset doubles n "
               "over the same range",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "perturbations", "sample",
        paper=f"§7.1 leaves their number open; {_CODE}: 10, drawn in every call by a new generator at its "
              "default seed, so the same 10 on every batch (the configured random_state is never used)",
        book="{c.n_perturbations} perturbations from a generator seeded with the run's seed",
        reason="independent, reproducible draws; the same perturbations serve Eq. 15 and ΔMSE",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "measurement strings", "sample",
        paper=f"{_CODE}: sharpness and blowup averaged over 1,000 fresh batches of the training batch size "
              "(1,024,000 strings at batch 1,024)",
        book="one fixed set of {c.n_inputs} uniform strings per length, the same for every run, both sharpness "
             "measures and chapter 04's blowups",
        reason="cost; a shared set makes runs at the same length directly comparable",
        source="sweep",
    ),
    Deviation(
        "05_sharpness", "convergence filter", "sample",
        paper=f"HR24 §7.1: evaluation MSE < 10⁻³; {_CODE} evaluates on 1,000 fresh batches",
        book="evaluation MSE < {c.converge_mse} on {c.eval_size} fresh strings per run",
        reason="cost; the threshold is the paper's",
        source="train",
    ),
    Deviation(
        "05_sharpness", "Eq. 15 and ΔMSE", "convention",
        paper=f"HR24 Eq. 15: mean squared change of the output; {_CODE}: the rise of the loss, "
              "E_Δ[MSE(θ+Δ)] − MSE(θ) against the targets",
        book="Eq. 15 everywhere; the code's ΔMSE computed beside it with the same perturbations and strings",
        reason="Eq. 15 is what Thm 6 bounds; the two agree when a run fits its targets",
        effect="compared on every kept run in chapter 05 (largest difference and median ratio per function, "
               "computed when the page is built)",
    ),
    Deviation(
        "05_sharpness", "sharpness ×4", "convention",
        paper="HR24 §7.1 rescales the sharpness of {0, 1}-valued models to the theory's ±1 scale; the code's "
              "plotting script multiplies by 4 as an option",
        book="Eq. 15 and ΔMSE multiplied by 4 on every page (chapters 01 and 05)",
        reason="puts the numbers on Thm 6's scale (PARITY's asymptotic bound is 1)",
        effect="none beyond the factor: the raw {0, 1}-scale values are a quarter of those shown",
    ),
    Deviation(
        "05_sharpness", "Gaussian perturbations", "convention",
        paper="Eq. 15 averages over the sphere ‖Δ‖ = ρ; §7.1 and the code draw Δ ~ N(0, ρ²I) instead",
        book="Gaussian, ρ = {c.rho}, on every parameter but the positional embeddings",
        reason="follows the paper's experiments",
        source="sweep",
    ),
)  # fmt: skip


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
    return df.style.set_properties(**cell).set_table_styles([
        {"selector": "th", "props": "text-align: left; vertical-align: top; font-size: 0.85em;"},
        {"selector": "th.row_heading.level0", "props": "max-width: 7em;"},
        {"selector": "th.row_heading.level1", "props": "max-width: 9em; font-weight: normal;"},
        {"selector": "td", "props": "min-width: 7em; max-width: 17em;"},
    ])  # fmt: skip
