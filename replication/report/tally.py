"""The scorecard's counts: per chapter, and per paper, scale and kind of claim; and the scorecard as CSV.

A paper's count is over its *paper claims* alone (:data:`replication.report.claims.KINDS`): the book's diagnoses
and checks are counted in their own columns, so that neither a failing diagnosis nor a passing implementation check
moves what the book says of a paper. A claim that cannot be tested at a scale is named apart and is in no
denominator.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..runs.config import resolve_scale
from .claims import KINDS, PAPERS, SCALES, chapter_of, scorecard, with_kinds

#: The scales the scorecard page shows beside the book's own: committed results computed at the papers' settings.
EXTRA_SCALES = ("paper",)

#: The scorecard's CSV, written at the root of the built HTML (``_build/html/scorecard.csv``) by the book's
#: extension ``book/_ext/scorecard_csv.py`` and linked from the scorecard page.
CSV_NAME = "scorecard.csv"


def book_scorecard(
    scale: str | None = None, extra_scales: tuple[str, ...] | list[str] = EXTRA_SCALES, roots=None
) -> pd.DataFrame:
    """The scorecard of the book's build: the claims at the book's scale (``scale``; None: ``$REPLICATION_SCALE``,
    else cpu) and at ``extra_scales``, from ``roots`` (default: :func:`replication.report.claims.scorecard`'s)."""
    return scorecard(roots=roots, scales=[resolve_scale(scale), *extra_scales])


def _count(df: pd.DataFrame) -> str:
    """A count of claims: "held / tested", with "(+k not testable)" where some could not be tested; "—" for no claims."""
    if df.empty:
        return "—"
    tested = df["testable"].astype(bool)
    cell = f"{int(df.loc[tested, 'holds'].sum())} / {int(tested.sum())}"
    return cell + (f" (+{int((~tested).sum())} not testable)" if (~tested).any() else "")


#: The per-kind columns of :func:`summary`: (heading, which claims it counts).
SUMMARY_COLUMNS = (
    ("paper claims", lambda d: d[d["kind"] == "paper"]),
    ("headline", lambda d: d[(d["kind"] == "paper") & d["headline"]]),
    ("diagnoses", lambda d: d[d["kind"] == "diagnosis"]),
    ("checks", lambda d: d[d["kind"] == "check"]),
    ("kind unknown", lambda d: d[~d["kind"].isin(KINDS)]),
)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Claims held / claims tested per chapter (rows), and per scale and kind (columns: paper claims, the headline
    ones among them, diagnoses, checks; "kind unknown" only where a record lacks the field). A claim that cannot be
    tested is counted apart, "(+k not testable)", and left out of the denominator. A section's claims (recorded
    under the section's page) are counted in its chapter's row (:func:`replication.report.claims.chapter_of`)."""
    if df.empty:
        return pd.DataFrame()
    df = with_kinds(df)
    scales = [s for s in SCALES if s in set(df["scale"])]
    columns = [(s, h) for s in scales for h, pick in SUMMARY_COLUMNS if h != "kind unknown" or len(pick(df))]
    table = {}
    for chapter, d in df.groupby(df["chapter"].map(chapter_of), sort=True):
        picks = dict(SUMMARY_COLUMNS)
        table[chapter] = [_count(picks[h](d[d["scale"] == s])) for s, h in columns]
    out = pd.DataFrame.from_dict(table, orient="index", columns=pd.MultiIndex.from_tuples(columns))
    out.index.name = "chapter"
    return out


def paper_counts(card: pd.DataFrame) -> pd.DataFrame:
    """The paper claims of each paper and scale: ``held``, ``tested``, ``untestable``, and the same of its headline
    claims (``headline_held``, ...), one row per (paper, scale) that has paper claims."""
    card = with_kinds(card)
    rows = []
    for paper in PAPERS:
        for scale in SCALES:
            d = card[(card["paper"] == paper) & (card["scale"] == scale) & (card["kind"] == "paper")]
            if d.empty:
                continue
            row = {"paper": paper, "scale": scale}
            for prefix, part in (("", d), ("headline_", d[d["headline"]])):
                tested = part["testable"].astype(bool)
                row[prefix + "held"] = int(part.loc[tested, "holds"].sum())
                row[prefix + "tested"] = int(tested.sum())
                row[prefix + "untestable"] = int((~tested).sum())
            rows.append(row)
    names = ["held", "tested", "untestable"]
    return pd.DataFrame(rows, columns=["paper", "scale", *names, *(f"headline_{n}" for n in names)])


def headlines(card: pd.DataFrame) -> list[str]:
    """One sentence per paper and scale: "HR24 at cpu scale: 9 of 14 paper claims hold (3 of 5 headline claims)",
    with the claims that could not be tested at that scale named apart (they are in no denominator)."""
    out = []
    for r in paper_counts(card).itertuples():
        text = (
            f"{r.paper} at {r.scale} scale: {r.held} of {r.tested} paper claims hold "
            f"({r.headline_held} of {r.headline_tested} headline claims)"
        )
        if r.untestable:
            text += f"; {r.untestable} more not testable at this scale"
            text += f" ({r.headline_untestable} of them headline)" if r.headline_untestable else ""
        out.append(text)
    return out


#: The columns of the scorecard's CSV (:func:`write_csv`), one row per claim and scale.
CSV_COLUMNS = [
    "paper",
    "chapter",
    "scale",
    "kind",
    "headline",
    "claim",
    "paper_ref",
    "paper_value",
    "measured",
    "verdict",
    "holds",
    "testable",
    "note",
]


def write_csv(card: pd.DataFrame, path: str | Path) -> Path:
    """Write the scorecard ``card`` (:func:`scorecard`) as CSV with the columns :data:`CSV_COLUMNS`: one row per
    claim and scale, its kind, and a ``verdict`` of "holds", "fails" or "not testable". Returns the path."""
    card = with_kinds(card)
    verdict = ["not testable" if not t else "holds" if h else "fails" for h, t in zip(card["holds"], card["testable"])]
    out = card.assign(verdict=verdict)[CSV_COLUMNS]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path
