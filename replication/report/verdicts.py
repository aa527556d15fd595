"""What the book found, said first: each chapter's verdict box and the landing page's "What replicates".

Both are drawn from recorded claims, never typed: a chapter's box from the claims its last cells computed
(:func:`glue_verdict` glues it; the chapter's introduction pastes it with MyST-NB's ``{glue}`` directive), or, for
the first page of a chapter split into sections, from the claims its sections recorded (:func:`glue_sections_verdict`;
the pages are read in order of their names, so the sections ``10_1_...`` run before ``10_vision_...``), the
landing page's section from the scorecard of the same build (:func:`what_replicates_html`, through the book's
extension ``book/_ext/what_replicates.py``). Only *paper claims* appear (:data:`replication.report.claims.KINDS`);
a failing one says why in one line (:func:`reason`), cut from the note its check wrote.
"""

from __future__ import annotations

import re
from html import escape

import pandas as pd

from .anchors import chapter_page, claim_id, section_id
from ..runs.chapters import chapter as _chapter
from .claims import PAPERS, SCALES, chapter_of, scorecard, with_kinds

#: The glue key under which a chapter's verdict box is stored (``{glue} verdict`` pastes it).
GLUE_KEY = "verdict"

#: The HTML classes of the verdict box; ``scripts/check_html.py`` fails a chapter page without one.
BOX_CLASS = "admonition tip verdict"

#: The id of the landing page's section (its heading "What replicates").
WHAT_REPLICATES_ID = "what-replicates"

#: Marks per verdict: holds, fails, cannot be tested at that scale.
MARK = {"holds": "✓", "fails": "✗", "not testable": "–"}


def verdict(holds: bool, testable: bool) -> str:
    """ "holds", "fails" or "not testable"."""
    return "not testable" if not testable else "holds" if holds else "fails"


def reason(note: str, limit: int = 160) -> str:
    """One line of why a claim failed or could not be tested, cut from its note: the text after "fails" or "not
    testable:" where the note has one, else the note's first clause; at most ``limit`` characters, ending "…" when
    cut."""
    note = " ".join(str(note or "").split())
    m = re.search(r"\b(?:fails|not testable)\b[:;,.]?\s*(?:in [^:]+:\s*)?(.*)", note)
    text = (m.group(1) if m and m.group(1).strip() else note).strip()
    text = re.split(r"(?<=[.;])\s", text, maxsplit=1)[0].rstrip(" ;.")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _paper_rows(df: pd.DataFrame) -> pd.DataFrame:
    df = with_kinds(df)
    return df[df["kind"] == "paper"]


def verdict_html(*tables: pd.DataFrame, here: str | None = None) -> str:
    """A chapter's verdict box (HTML): its paper claims, ✓/✗ and one line each, grouped by scale where the page
    recorded several; each claim links to its row in the page's claims table. ``tables``: what
    :func:`replication.report.claims.record` returned on the page (claims tables, one per scale). ``here``: the
    page showing the box, where the claims were recorded on other pages (a chapter's sections): a claim recorded
    on another page links to its row there."""
    rows = [_paper_rows(t) for t in tables if t is not None and len(t)]
    df = pd.concat(rows) if rows else pd.DataFrame()
    items = []
    scales = [s for s in SCALES if len(df) and s in set(df["scale"])]
    for scale in scales:
        d = df[df["scale"] == scale]
        held, tested = int(d.loc[d["testable"], "holds"].sum()), int(d["testable"].sum())
        lines = []
        for r in d.itertuples():
            v = verdict(bool(r.holds), bool(r.testable))
            why = "" if v == "holds" else reason(r.note)
            star = "★ " if r.headline else ""
            page = "" if here is None or r.chapter == here else f"{r.chapter}.html"
            lines.append(
                f'<li class="verdict-{v.replace(" ", "-")}">{MARK[v]} {star}'
                f'<a href="{page}#{claim_id(scale, r.claim)}">{escape(str(r.claim))}</a>'
                f" <small>({escape(str(r.paper_ref))})</small>"
                + (f": {escape(str(r.measured))}" if v == "holds" else f" — {escape(why)}" if why else "")
                + "</li>"
            )
        head = f"At {scale} scale, {held} of {tested} paper claims hold"
        untested = len(d) - tested
        head += f" ({untested} not testable at this scale)" if untested else ""
        items.append(f"<p><strong>{head}.</strong></p><ul>{''.join(lines)}</ul>")
    empty = "its sections have recorded no paper claim yet" if here else "its claims are the book's own checks"
    body = "".join(items) or f"<p>This chapter records no paper claim: {empty}.</p>"
    where = "its section's claims table" if here else "the claims table at the end of the page"
    return (
        f'<div class="{BOX_CLASS}"><p class="admonition-title">What this chapter finds</p>{body}'
        f"<p><small>★ a headline claim. Each line links to its row in {where}, "
        "which gives the check applied and the full note.</small></p></div>"
    )


def glue_verdict(*tables: pd.DataFrame) -> str:
    """Glue the chapter's verdict box (:func:`verdict_html`) under :data:`GLUE_KEY` without showing it here; the
    chapter's introduction pastes it. Returns the HTML."""
    from IPython.display import HTML
    from myst_nb import glue

    html = verdict_html(*tables)
    glue(GLUE_KEY, HTML(html), display=False)
    return html


def sections_claims(key: str, scale: str, roots=None) -> pd.DataFrame:
    """The claims the sections of chapter ``key`` (anything :func:`replication.runs.chapters.chapter` reads) recorded
    at ``scale``, from the claims roots ``roots`` (default: :func:`replication.report.claims.scorecard`'s), in
    reading order."""
    stem = _chapter(key).stem
    card = scorecard(roots=roots, scales=[scale])
    return card[(card["chapter"].map(chapter_of) == stem) & (card["chapter"] != stem)].reset_index(drop=True)


def glue_sections_verdict(key: str, scale: str, roots=None) -> str:
    """Glue the verdict box of chapter ``key``'s first page (:func:`verdict_html`) from the paper claims its sections
    recorded at ``scale`` (:func:`sections_claims`), each linked to its row on its section's page. Returns the HTML."""
    from IPython.display import HTML
    from myst_nb import glue

    html = verdict_html(sections_claims(key, scale, roots), here=_chapter(key).stem)
    glue(GLUE_KEY, HTML(html), display=False)
    return html


def what_replicates_html(card: pd.DataFrame, root: str = "../") -> str:
    """The landing page's answer: per paper, each headline claim with its verdict at every scale of ``card`` (the
    scorecard of the build, :func:`replication.report.tally.book_scorecard`), one line of why where it fails, the
    claim linked to the section of its chapter that shows it and each verdict to the claim's row there. ``root``:
    the book's root relative to the page. A paper's table has a column for each scale at which it has headline claims;
    "not run" marks a claim not recorded at one of them."""
    card = _paper_rows(card)
    out = []
    for paper in PAPERS:
        d = card[(card["paper"] == paper) & card["headline"]]
        if d.empty:
            continue
        scales = [s for s in SCALES if s in set(d["scale"])]
        heads = "".join(f"<th>at {s} scale</th>" for s in scales)
        rows = []
        for (chapter, claim), g in d.groupby(["chapter", "claim"], sort=False):
            page = root + chapter_page(chapter)
            first = g.iloc[0]
            target = f"#{section_id(first['section'])}" if first["section"] else f"#{claim_id(first['scale'], claim)}"
            cells = []
            for s in scales:
                r = g[g["scale"] == s]
                if r.empty:
                    cells.append('<td class="verdict-none">not run</td>')
                    continue
                r = r.iloc[0]
                v = verdict(bool(r["holds"]), bool(r["testable"]))
                why = "" if v == "holds" else reason(r["note"])
                cells.append(
                    f'<td class="verdict-{v.replace(" ", "-")}"><a href="{page}#{claim_id(s, claim)}">'
                    f"{MARK[v]} {v}</a>" + (f"<br><small>{escape(why)}</small>" if why else "") + "</td>"
                )
            rows.append(
                f'<tr class="headline-claim" data-chapter="{escape(chapter)}">'
                f'<td><a href="{page}{target}">{escape(str(claim))}</a> '
                f"<small>({escape(str(first['paper_ref']))})</small></td>{''.join(cells)}</tr>"
            )
        held = {s: d[(d["scale"] == s) & d["testable"]]["holds"].sum() for s in scales}
        tested = {s: int(d[(d["scale"] == s)]["testable"].sum()) for s in scales}
        count = "; ".join(f"{int(held[s])} of {tested[s]} at {s} scale" for s in scales if tested[s])
        out.append(
            f"<p><strong>{escape(paper)}</strong>: headline claims holding {count or 'none tested'}.</p>"
            f'<table class="what-replicates" data-paper="{escape(paper)}"><thead><tr><th>headline claim</th>{heads}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return "".join(out) or "<p>No chapter has recorded a headline claim yet: build the book's chapters first.</p>"
