"""Claim records, each chapter's claims table, and the scorecard that gathers them.

A chapter computes its claims from its results frame and calls :func:`record`, which returns the
table shown at the chapter's end and writes it to ``<cache>/claims/<scale>/<chapter>.json``. The
scorecard page reads every such file (and the committed paper-scale ones under ``results/``).
"""

from __future__ import annotations

import dataclasses
import json
import math
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
from .status import write_status
from .text import fmt  # noqa: F401 (the chapters' number format, long imported from here)

# Claims tables are read in full: pandas would cut every text cell at 50 characters in a notebook.
pd.set_option("display.max_colwidth", None)

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

    chapter: str  # e.g. "03_average_sensitivity"
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
    )


@dataclass(frozen=True)
class ChapterClaims:
    """The claim constructor of one chapter (:func:`claims_for`): :class:`Claim` and :func:`untestable` with the
    chapter filled in, so that a chapter names itself once."""

    chapter: str  # the chapter's stem, e.g. "10_vision_sensitivity"

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
        )

    def untestable(
        self, claim: str, paper_ref: str, paper_value: str, scale: str, why: str, *, kind: str, headline: bool = False
    ) -> Claim:
        return untestable(self.chapter, scale, claim, paper_ref, paper_value, why, kind=kind, headline=headline)


def claims_for(module: str) -> ChapterClaims:
    """The claim constructor of the chapter of ``module`` (a chapter module's ``__name__``, or anything
    :func:`replication.runs.chapters.chapter` reads): ``claim = claims_for(__name__)``, then ``claim(...)`` takes
    :class:`Claim`'s fields after ``chapter`` and ``claim.untestable(...)`` those of :func:`untestable`."""
    return ChapterClaims(_chapter(module).stem)


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
            rows.extend(json.loads(f.read_text()))
    df = with_kinds(pd.DataFrame(rows, columns=COLUMNS))  # records written before a field existed lack it
    if scales is not None:
        df = df[df["scale"].isin(list(scales))]
    df = df.drop_duplicates(subset=["chapter", "claim", "scale"], keep="first")
    return df.sort_values(["chapter", "scale"], kind="stable").reset_index(drop=True)


def with_kinds(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (claims as :func:`claims_table` or :func:`scorecard` makes them) with the columns that records written
    before a field existed lack: ``testable`` (True), ``kind`` (:data:`UNKNOWN`), ``headline`` (False), and the
    ``paper`` (:func:`paper_of`)."""
    return df.assign(
        testable=df["testable"].fillna(True).astype(bool) if "testable" in df else True,
        kind=df["kind"].fillna(UNKNOWN).astype(str) if "kind" in df else UNKNOWN,
        headline=df["headline"].eq(True) if "headline" in df else False,
        paper=df["paper"] if "paper" in df else [paper_of(c, r) for c, r in zip(df["chapter"], df["paper_ref"])],
    )


def scorecard_table(card: pd.DataFrame, kinds: Iterable[str] | None = None) -> ClaimsView:
    """The scorecard for display: one row per claim, indexed by chapter, ✓/✗ in the holds column, a headline
    claim's text marked "★". ``kinds`` keeps the claims of those kinds (:data:`KINDS`, :data:`UNKNOWN`).

    In a notebook it shows as :class:`ClaimsView` does, with one heading row per chapter.
    """
    card = with_kinds(card)
    if kinds is not None:
        kinds = list(kinds)
        wrong = [k for k in kinds if k not in (*KINDS, UNKNOWN)]
        if wrong:
            raise ValueError(f"kinds: {wrong} are not kinds of claim; kinds are {[*KINDS, UNKNOWN]}")
        card = card[card["kind"].isin(kinds)]
    out = display_table(card.drop(columns=["kind", "headline", "paper"]))
    out["claim"] = [("★ " if h else "") + str(c) for c, h in zip(card["claim"], card["headline"])]
    out.index = pd.Index(card["chapter"], name="chapter")
    out.attrs["table"] = "scorecard"
    return out


def display_table(df: pd.DataFrame) -> ClaimsView:
    """A claims table for display: ✓/✗ in the holds column, no chapter/scale repetition.

    The result is a DataFrame (``display_table(df)["holds"]`` is a column as usual) that a notebook shows
    as a table fitting the page (:class:`ClaimsView`).
    """
    out = df.copy()
    out["holds"] = out["holds"].map({True: "✓ yes", False: "✗ no"})
    if "testable" in out:
        out.loc[~out["testable"].fillna(True).astype(bool), "holds"] = "– not testable"
    chapters = sorted(set(out["chapter"].dropna())) if "chapter" in out else []
    out = ClaimsView(out.drop(columns=[c for c in ("chapter", "testable") if c in out]))
    out.attrs["table"] = "claims " + ", ".join(chapters) if chapters else "claims"
    return out


#: The columns a claims table shows, in order: (column, heading, share of the table's width in %). The
#: ``note`` is shown beneath its row, across the whole table, so that the table fits the book's text
#: column (about 780 px at a 1280-px window) without scrolling sideways.
SHOWN = [
    ("claim", "claim", 31),
    ("paper_ref", "ref", 12),
    ("paper_value", "paper", 17),
    ("measured", "measured", 22),
    ("holds", "holds", 11),
    ("scale", "scale", 7),
]

#: Styles of :class:`ClaimsView` tables, scoped to their class (the book's CSS is not needed). Fixed
#: layout: the column widths above hold whatever the cells contain; long words wrap.
CLAIMS_CSS = """
table.claims-table { table-layout: fixed; width: 100%; max-width: 100%; border-collapse: collapse;
  margin: 0; font-size: 0.875em; }
table.claims-table th, table.claims-table td { text-align: left; vertical-align: top; white-space: normal;
  overflow-wrap: anywhere; word-break: normal; padding: 0.25em 0.4em; border: none; }
table.claims-table thead th { border-bottom: 1px solid rgba(128, 128, 128, 0.6); }
table.claims-table tr.claims-row td { padding-top: 0.45em; }
table.claims-table tr.claims-last td { border-bottom: 1px solid rgba(128, 128, 128, 0.3); }
table.claims-table tr.claims-note td { font-size: 0.9em; opacity: 0.8; padding-top: 0; padding-left: 1.2em; }
table.claims-table tr.claims-group th { padding-top: 0.8em; border-bottom: 1px solid rgba(128, 128, 128, 0.6); }
table.claims-table td.holds-yes { color: #1a7f37; }
table.claims-table td.holds-no { color: #cf222e; }
"""


class ClaimsView(pd.DataFrame):
    """A claims table (or the scorecard) that a notebook shows narrow enough for the book's page.

    A plain DataFrame in every other way. Its HTML has the short headings of :data:`SHOWN` in fixed-width
    columns that wrap, the ``note`` of each claim in a row of its own beneath it, and, when indexed by
    chapter (the scorecard), one heading row per chapter. The table carries the class ``claims-table``
    and a ``data-table`` name, by which ``scripts/check_html.py`` fails a book whose claims tables scroll
    sideways. A frame without the claims columns shows as pandas shows it.
    """

    def _repr_html_(self) -> str | None:
        shown = [(c, h, w) for c, h, w in SHOWN if c in self.columns]
        if [c for c, _, _ in shown] != [c for c, _, _ in SHOWN]:
            return super()._repr_html_()
        from html import escape

        grouped = self.index.name == "chapter"
        width = len(shown)
        name = str(self.attrs.get("table", "claims"))
        head = "".join(f'<col style="width: {w}%">' for _, _, w in shown)
        rows = []
        last = None
        for key, row in zip(self.index, self.to_dict("records")):
            if grouped and key != last:
                rows.append(f'<tr class="claims-group"><th colspan="{width}">{escape(str(key))}</th></tr>')
                last = key
            note = "" if pd.isna(row.get("note")) else str(row.get("note", "") or "")
            cells = []
            for c, _, _ in shown:
                v = row[c]
                text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                cls = ""
                if c == "holds":
                    cls = (
                        ' class="holds-yes"'
                        if text.startswith("✓")
                        else ' class="holds-no"'
                        if text.startswith("✗")
                        else ""
                    )
                cells.append(f"<td{cls}>{escape(text)}</td>")
            rows.append(f'<tr class="claims-row{"" if note else " claims-last"}">{"".join(cells)}</tr>')
            if note:
                rows.append(f'<tr class="claims-note claims-last"><td colspan="{width}">{escape(note)}</td></tr>')
        heads = "".join(f'<th title="{escape(c)}">{escape(h)}</th>' for c, h, _ in shown)
        return (
            f"<style>{CLAIMS_CSS}</style>"
            f'<table class="claims-table" data-table="{escape(name)}"><colgroup>{head}</colgroup>'
            f"<thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
