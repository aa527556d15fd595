"""The chapters of the book, named once: number, notebook, code and the result kinds each computes.

A chapter ``NN_name`` is the notebook ``notebooks/NN_name.ipynb``, its computation is
``replication.experiments.name`` (a module, or a package where it needs several), and its figures are
``replication.plots.name``. The number lives here and in the notebook's file name only: the experiments
ask :func:`chapter` for their stem, ``make results CHAPTER=NN`` recomputes the kinds listed here, the
status page and the deviations page read the stems from here.

Result kinds keep the strings they were first stored under (``demo``, ``sharpness_run``, ...): a kind is
hashed into every committed key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A page of a chapter after its first: its own notebook ``notebooks/<stem>.ipynb`` (own parameters, own
    claims file), its code the subpackage ``replication.experiments.<chapter name>.<name>``."""

    number: str  # the chapter's number and the section's, "10.1"
    name: str  # the notebook's stem without its number, and the subpackage's name ("binary_mnist")
    title: str  # the page's title after its number ("# 10.1 <title>"), and its link text on the chapter's first page

    def __post_init__(self):
        head, _, tail = self.number.partition(".")
        if not (len(head) == 2 and head.isdigit() and tail.isdigit()):
            raise ValueError(f"Section: number must be 'NN.k' (e.g. '10.1'), got {self.number!r}")

    @property
    def chapter_number(self) -> str:
        """``"10"`` for section ``"10.1"``."""
        return self.number.split(".")[0]

    @property
    def stem(self) -> str:
        """``"10_1_binary_mnist"``: the notebook's file name without suffix, and the id its claims are recorded
        under."""
        return f"{self.number.replace('.', '_')}_{self.name}"


@dataclass(frozen=True)
class Chapter:
    number: str  # two digits, the reading order ("05")
    name: str  # the notebook's stem without its number, and the experiments module's name
    paper: str  # "HR24" or "V25"
    kinds: tuple[str, ...] = ()  # the result kinds this chapter computes (``make results CHAPTER=NN``)
    reads: tuple[str, ...] = ()  # result kinds of other chapters it reads (they are computed first)
    sections: tuple[Section, ...] = ()  # its pages after the first, in reading order (each its own notebook)

    @property
    def stem(self) -> str:
        """``"05_sharpness"``: the notebook's file name without suffix."""
        return f"{self.number}_{self.name}"

    @property
    def module(self) -> str:
        return f"replication.experiments.{self.name}"


#: Every chapter, in reading order (11 is kept for V25 §6, language).
CHAPTERS: tuple[Chapter, ...] = (
    Chapter("01", "introduction", "HR24", ("demo",)),
    Chapter("02", "transformer_model", "HR24", ("anatomy_model",)),
    Chapter("03", "average_sensitivity", "HR24", ("init_sensitivity",)),
    Chapter("04", "blowup_bound", "HR24", ("thm4_inputs",), reads=("sharpness_run",)),
    Chapter("05", "sharpness", "HR24", ("sharpness_run",)),
    Chapter("06", "tradeoff", "HR24", ("tradeoff_run", "dynamics_run"), reads=("sharpness_run",)),
    Chapter("07", "generalization", "HR24", ("generalization_fit", "generalization_refit")),
    Chapter("08", "scratchpad", "HR24", ("scratchpad_run",), reads=("sharpness_run",)),
    Chapter("09", "token_sensitivity", "V25", ("synthetic_task_run",)),
    Chapter(
        "10",
        "vision_sensitivity",
        "V25",
        ("vision_run", "vision_binary_run", "vision_posthoc", "vision_map"),
        sections=(
            Section("10.1", "binary_mnist", "V25's binary MNIST experiment"),
            Section("10.2", "ten_class", "The ten-class comparison"),
            Section("10.3", "noise_readings", "V25's noise, read every way"),
            Section("10.4", "regularisation", "Regularisation, robustness and flat minima"),
        ),
    ),
    Chapter("11", "language_sensitivity", "V25", ("language_run",)),
    Chapter("12", "grokking", "V25", ("grokking_run", "sparse_parity_run")),
)

#: kind -> number of the chapter that computes it.
KIND_CHAPTER: dict[str, str] = {k: c.number for c in CHAPTERS for k in c.kinds}


def compute_order(chapters: tuple[Chapter, ...] | list[Chapter] = CHAPTERS) -> list[Chapter]:
    """``chapters`` in the order their results are computed: reading order, except that a chapter comes after the
    chapters (among ``chapters``) that compute the kinds it reads."""
    todo, out = list(chapters), []
    while todo:
        waits = lambda c: any(k in d.kinds for k in c.reads for d in todo if d is not c)  # noqa: E731
        ready = next((c for c in todo if not waits(c)), None)
        if ready is None:
            raise ValueError(f"compute_order: the chapters {[c.stem for c in todo]} read each other's results")
        todo.remove(ready)
        out.append(ready)
    return out


def chapter(key: str | int) -> Chapter:
    """The chapter of a number (``5``, ``"05"``), a stem (``"05_sharpness"``), a name (``"sharpness"``) or a
    module name under ``replication.experiments`` (``__name__`` of a chapter's module); a section's stem, number
    (``"10.1"``) or module resolves to its chapter."""
    text = str(key)
    if text.startswith("replication.experiments."):
        text = text.split(".")[2]
    head = text.split("_", 1)[0].split(".", 1)[0]
    for c in CHAPTERS:
        if text in (c.name, c.stem) or (head.isdigit() and f"{int(head):02d}" == c.number):
            return c
    for c in CHAPTERS:
        if any(text == s.name for s in c.sections):
            return c
    raise ValueError(f"chapter: no chapter {key!r}; chapters: {[c.stem for c in CHAPTERS]}")


def section(key: str) -> Section:
    """The section of a stem (``"10_1_binary_mnist"``), a number (``"10.1"``), a name (``"binary_mnist"``) or a module
    name inside a section's subpackage (``replication.experiments.vision_sensitivity.binary_mnist...``)."""
    text = str(key)
    parts = text.split(".")
    if text.startswith("replication.experiments.") and len(parts) > 3:
        c = chapter(text)
        found = [s for s in c.sections if s.name == parts[3]]
    else:
        found = [s for c in CHAPTERS for s in c.sections if text in (s.stem, s.number, s.name)]
    if len(found) != 1:
        every = [s.stem for c in CHAPTERS for s in c.sections]
        raise ValueError(f"section: no section {key!r}; sections: {every}")
    return found[0]


def page(key: str | int) -> str:
    """The stem of the page ``key`` names: a section's stem where ``key`` names a section (or a module of its
    subpackage), else its chapter's stem. Claims are recorded under it (one claims file per page and scale)."""
    try:
        return section(str(key)).stem
    except ValueError:
        return chapter(key).stem


def pages(chapters: tuple[Chapter, ...] | list[Chapter] = CHAPTERS) -> list[str]:
    """Every page's stem in reading order: each chapter's first page, then its sections."""
    return [stem for c in chapters for stem in (c.stem, *(s.stem for s in c.sections))]


def kind(name: str, module: str) -> str:
    """``name`` after checking that the chapter of ``module`` (a ``__name__``) lists it; returns ``name``."""
    c = chapter(module)
    if name not in c.kinds:
        raise ValueError(f"kind: {name!r} is not a result kind of chapter {c.stem}; it lists {list(c.kinds)}")
    return name


def records_claims(stem: str) -> bool:
    """Whether the page ``stem`` records claims and a status of its own: every page but the first page of a chapter
    whose claims are its sections' (a file under that name is left from before the chapter had sections). A stem
    outside the registry counts as a page."""
    return stem not in {c.stem for c in CHAPTERS if c.sections}
