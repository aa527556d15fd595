"""How a notebook shows claims: a chapter's claims table (:func:`display_table`) and the scorecard
(:func:`scorecard_table`), both drawn by :class:`ClaimsView` narrow enough for the book's page, each row with an id
and its claim linked to the evidence (:mod:`replication.report.anchors`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from html import escape

import pandas as pd

from .anchors import claim_id, section_id
from .claims import KINDS, UNKNOWN, chapter_of, with_kinds

# Claims tables are read in full: pandas would cut every text cell at 50 characters in a notebook.
pd.set_option("display.max_colwidth", None)


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
    out["anchor"] = [claim_id(s, c) for s, c in zip(out["scale"], out["claim"])]
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
        grouped = self.index.name == "chapter"
        width = len(shown)
        name = str(self.attrs.get("table", "claims"))
        head = "".join(f'<col style="width: {w}%">' for _, _, w in shown)
        rows = []
        last = None
        for key, row in zip(self.index, self.to_dict("records")):
            if grouped and key != last:
                rows.append(f'<tr class="claims-group"><th colspan="{width}">{escape(_group(str(key)))}</th></tr>')
                last = key
            note = "" if pd.isna(row.get("note")) else str(row.get("note", "") or "")
            cells = [_cell(c, row, key if grouped else None) for c, _, _ in shown]
            anchor = row.get("anchor")
            rid = f' id="{escape(str(anchor))}"' if anchor and not grouped else ""
            rows.append(f'<tr class="claims-row{"" if note else " claims-last"}"{rid}>{"".join(cells)}</tr>')
            if note:
                rows.append(f'<tr class="claims-note claims-last"><td colspan="{width}">{escape(note)}</td></tr>')
        heads = "".join(f'<th title="{escape(c)}">{escape(h)}</th>' for c, h, _ in shown)
        return (
            f"<style>{CLAIMS_CSS}</style>"
            f'<table class="claims-table" data-table="{escape(name)}"><colgroup>{head}</colgroup>'
            f"<thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )


def _group(page: str) -> str:
    """The heading of a page's claims in the scorecard: its stem, after its chapter's where it is a section
    ("10_vision_sensitivity › 10_1_binary_mnist"), so that a chapter's sections read as parts of it."""
    head = chapter_of(page)
    return page if head == page else f"{head} › {page}"


def _cell(column: str, row: dict, chapter: str | None) -> str:
    """One cell of a :class:`ClaimsView` row. The claim's text links to the evidence: in a chapter's table, to the
    section its ``section`` names on the same page; in the scorecard (``chapter`` given), to the claim's row in its
    chapter's table. Empty and NaN values show as "—"."""
    v = row[column]
    text = "—" if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "" else str(v)
    cls = ""
    if column == "holds":
        cls = ' class="holds-yes"' if text.startswith("✓") else ' class="holds-no"' if text.startswith("✗") else ""
    body = escape(text)
    if column == "claim":
        href = None
        if chapter is not None and row.get("anchor"):
            href = f"{chapter}.html#{row['anchor']}"
        elif row.get("section"):
            href = f"#{section_id(row['section'])}"
        if href:
            body = f'<a class="claim-link" href="{escape(href)}">{body}</a>'
    return f"<td{cls}>{body}</td>"
