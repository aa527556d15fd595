"""Claim records, each chapter's claims table, and the scorecard that gathers them.

A chapter computes its claims from its results frame and calls :func:`record`, which returns the
table shown at the chapter's end and writes it to ``<cache>/claims/<scale>/<chapter>.json``. The
scorecard page reads every such file (and the committed paper-scale ones under ``results/``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable

import pandas as pd

from ..paths import REPO
from ..runs.cache import default_root
from ..runs.chapters import CHAPTERS
from ..runs.chapters import chapter as _chapter
from ..runs.chapters import page as _page
from ..runs.chapters import pages, records_claims
from ..runs.chapters import section as _section
from .status import write_status
from .text import fmt  # noqa: F401 (the chapters' number format, long imported from here)


#: Significance level of every statistical check in the book.
ALPHA = 0.05

COLUMNS = [
    "chapter",
    "claim",
    "paper_ref",
    "paper_value",
    "measured",
    "holds",
    "scale",
    "note",
    "testable",
    "kind",
    "headline",
    "section",
]

#: What a claim is (:attr:`Claim.kind`): ``paper``, the paper asserts it; ``diagnosis``, an experiment of this book
#: that explains a paper claim's outcome (also a paper claim judged under a reading other than the paper's own, and
#: a count over readings); ``check``, the book's implementation or a closed form agrees with a reference.
KINDS = ("paper", "diagnosis", "check")

#: The kind of a recorded claim written before claims had one.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Claim:
    """One checked claim. ``measured`` is computed in the run; ``holds`` is the outcome of a test."""

    chapter: str  # the page that records it: a chapter's stem ("03_average_sensitivity") or a section's
    claim: str  # the paper's claim in one sentence, in our words
    paper_ref: str  # where the paper makes it, e.g. "HR24 Fig. 1, Table 2"
    paper_value: str  # what the paper reports (text: a number, a sign, a trend)
    measured: str  # what this run measured, formatted
    holds: bool  # the check's verdict
    scale: str  # ci | cpu | paper
    note: str = ""  # the check applied, and the likely reason where it does not hold
    testable: bool = True  # False: the run cannot test the claim (then holds is False; the note says why)
    kind: str = field(kw_only=True)  # one of KINDS: a paper claim, a diagnosis or a check; required
    headline: bool = field(default=False, kw_only=True)  # a paper claim its abstract or a section title states
    section: str = field(default="", kw_only=True)  # the heading of the chapter's section that shows the evidence

    def __post_init__(self):
        if not isinstance(self.holds, bool):
            raise TypeError(f"holds: must be a bool, got {self.holds!r}")
        if not self.testable and self.holds:
            raise ValueError("holds: a claim that is not testable cannot hold")
        if self.scale not in ("ci", "cpu", "paper"):
            raise ValueError(f"scale: must be one of ['ci', 'cpu', 'paper'], got {self.scale!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind: must be one of {list(KINDS)}, got {self.kind!r}")
        if not isinstance(self.headline, bool):
            raise TypeError(f"headline: must be a bool, got {self.headline!r}")
        if self.headline and self.kind != "paper":
            raise ValueError(f"headline: only a paper claim can be a headline claim, got kind {self.kind!r}")
        if not isinstance(self.section, str):
            raise TypeError(f"section: must be the heading of a section (a str), got {self.section!r}")


#: What the measured column of a claim the run cannot test says (the note says why).
UNTESTABLE = "not testable"


def untestable(
    chapter: str,
    scale: str,
    claim: str,
    paper_ref: str,
    paper_value: str,
    why: str,
    *,
    kind: str,
    headline: bool = False,
    section: str = "",
) -> Claim:
    """A claim this run cannot test: measured :data:`UNTESTABLE`, not holding, ``note`` "not testable: ``why``"."""
    return Claim(
        chapter,
        claim,
        paper_ref,
        paper_value,
        UNTESTABLE,
        False,
        scale,
        f"not testable: {why}",
        False,
        kind=kind,
        headline=headline,
        section=section,
    )


@dataclass(frozen=True)
class ChapterClaims:
    """The claim constructor of one chapter (:func:`claims_for`): :class:`Claim` and :func:`untestable` with the
    chapter filled in, so that a chapter names itself once."""

    chapter: str  # the page's stem: a chapter's ("05_sharpness") or a section's ("10_1_binary_mnist")

    def __call__(
        self,
        claim: str,
        paper_ref: str,
        paper_value: str,
        measured: str,
        holds: bool,
        scale: str,
        note: str = "",
        testable: bool = True,
        *,
        kind: str,
        headline: bool = False,
        section: str = "",
    ) -> Claim:
        return Claim(
            self.chapter,
            claim,
            paper_ref,
            paper_value,
            measured,
            holds,
            scale,
            note,
            testable,
            kind=kind,
            headline=headline,
            section=section,
        )

    def untestable(
        self,
        claim: str,
        paper_ref: str,
        paper_value: str,
        scale: str,
        why: str,
        *,
        kind: str,
        headline: bool = False,
        section: str = "",
    ) -> Claim:
        return untestable(
            self.chapter, scale, claim, paper_ref, paper_value, why, kind=kind, headline=headline, section=section
        )


def claims_for(module: str) -> ChapterClaims:
    """The claim constructor of the chapter of ``module`` (a chapter module's ``__name__``, or anything
    :func:`replication.runs.chapters.chapter` reads): ``claim = claims_for(__name__)``, then ``claim(...)`` takes
    :class:`Claim`'s fields after ``chapter`` and ``claim.untestable(...)`` those of :func:`untestable`.

    A module of a section's subpackage (or a section's name or stem) gives the section's stem
    (:func:`replication.runs.chapters.page`): a section records its claims in its own file."""
    return ChapterClaims(_page(module))


def claims_table(claims: Iterable[Claim]) -> pd.DataFrame:
    """Claims as a DataFrame with the columns of :data:`COLUMNS`."""
    return pd.DataFrame([dataclasses.asdict(c) for c in claims], columns=COLUMNS)


def claims_dir(root: str | Path | None = None) -> Path:
    return (Path(root) if root is not None else default_root()) / "claims"


def record(claims: Iterable[Claim], root: str | Path | None = None) -> pd.DataFrame:
    """Write a chapter's claims for the scorecard (atomically) and return them as a table.

    Also records the chapter's run for the status page (:func:`replication.report.status.write_status`): a
    chapter's last cell records its claims, so that is when it has finished.
    """
    claims = list(claims)
    df = claims_table(claims)
    if not claims:
        return df
    chapters = {c.chapter for c in claims}
    scales = {c.scale for c in claims}
    if len(chapters) != 1 or len(scales) != 1:
        raise ValueError(f"claims: one chapter and one scale per record, got {chapters} and {scales}")
    chapter, scale = chapters.pop(), scales.pop()
    path = claims_dir(root) / scale / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump([dataclasses.asdict(c) for c in claims], fh, indent=1)
    os.replace(tmp, path)
    write_status(chapter, scale, root)
    return df


#: Claims committed with the repository (e.g. paper-scale runs made on a GPU): ``<repo>/results/claims/<scale>/``.
COMMITTED = REPO / "results" / "claims"


#: The papers, in the book's reading order.
PAPERS = tuple(dict.fromkeys(c.paper for c in CHAPTERS))

#: The scales, from the quickest run to the papers' settings.
SCALES = ("ci", "cpu", "paper")


def paper_of(chapter: str, paper_ref: str) -> str:
    """The paper a claim belongs to: the prefix of its ``paper_ref`` ("HR24 Fig. 1" -> "HR24"), else the paper of
    its chapter in the registry (:data:`replication.runs.chapters.CHAPTERS`); "" when neither says."""
    head = str(paper_ref or "").split(" ", 1)[0].rstrip(",;:")
    if head in PAPERS:
        return head
    try:
        return _chapter(chapter).paper
    except ValueError:
        return ""


def chapter_of(page: str) -> str:
    """The stem of the chapter a claim's page (its ``chapter`` field) belongs to: a section's page gives its chapter's
    stem ("10_1_binary_mnist" -> "10_vision_sensitivity"); any other page is its own chapter."""
    try:
        return _chapter(_section(page).stem).stem
    except ValueError:
        return str(page)


def _reading_order(page: str) -> tuple[int, str]:
    order = pages()
    return (order.index(page), "") if page in order else (len(order), str(page))


def scorecard(
    roots: Iterable[str | Path] | None = None, scales: Iterable[str] | None = None, committed: str | Path | None = None
) -> pd.DataFrame:
    """Every recorded claim under the given claims roots, one row per (chapter, claim, scale), with the paper it
    belongs to (:func:`paper_of`) in a column ``paper``.

    Default roots: this machine's cache, then the committed results (``committed``, default :data:`COMMITTED`).
    Where both hold the same claim at the same scale, the first root wins (a fresh local run beats a committed
    one). ``scales`` filters. A record written before claims had a kind has kind :data:`UNKNOWN`.
    """
    committed = COMMITTED if committed is None else Path(committed)
    roots = [claims_dir(), committed] if roots is None else [Path(r) for r in roots]
    rows = []
    for root in roots:
        for f in sorted(root.glob("*/*.json")):
            if records_claims(f.stem):
                rows.extend(json.loads(f.read_text()))
    df = with_kinds(pd.DataFrame(rows, columns=COLUMNS))  # records written before a field existed lack it
    if scales is not None:
        df = df[df["scale"].isin(list(scales))]
    df = df.drop_duplicates(subset=["chapter", "claim", "scale"], keep="first")
    order = df["chapter"].map(_reading_order)
    return df.iloc[sorted(range(len(df)), key=lambda i: (order.iloc[i], df["scale"].iloc[i]))].reset_index(drop=True)


def with_kinds(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (claims as :func:`claims_table` or :func:`scorecard` makes them) with the columns that records written
    before a field existed lack: ``testable`` (True), ``kind`` (:data:`UNKNOWN`), ``headline`` (False), ``section``
    (""), and the
    ``paper`` (:func:`paper_of`)."""
    return df.assign(
        testable=df["testable"].fillna(True).astype(bool) if "testable" in df else True,
        kind=df["kind"].fillna(UNKNOWN).astype(str) if "kind" in df else UNKNOWN,
        headline=df["headline"].eq(True) if "headline" in df else False,
        section=df["section"].fillna("").astype(str) if "section" in df else "",
        paper=df["paper"] if "paper" in df else [paper_of(c, r) for c, r in zip(df["chapter"], df["paper_ref"])],
    )
