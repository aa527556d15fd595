"""Where a claim lives on the built book's pages: the id of its row in a chapter's claims table, the id of the
section that shows its evidence, and the page of its chapter.

A claims-table row carries ``id="claim-<scale>-<hash>"`` (:func:`claim_id`), so the scorecard, the landing page
and a chapter's verdict box can link to it; its claim text links to the section of the chapter named in the
claim's ``section`` field (:func:`section_id`: the id docutils gives that heading). ``scripts/check_html.py``
fails a book in which such a link leads nowhere.
"""

from __future__ import annotations

import hashlib

from docutils.nodes import make_id


def claim_id(scale: str, claim: str) -> str:
    """The HTML id of a claim's row in its chapter's claims table: unique per (scale, claim text) on a page."""
    digest = hashlib.sha1(str(claim).encode("utf-8")).hexdigest()[:10]
    return f"claim-{scale}-{digest}"


def section_id(title: str) -> str:
    """The HTML id docutils (and so Jupyter Book) gives a section headed ``title``: "Blowup at matched accuracy"
    -> "blowup-at-matched-accuracy" (lower case, accents dropped, other characters folded into hyphens)."""
    if not str(title or "").strip():
        raise ValueError(f"title: a section's heading must not be empty, got {title!r}")
    return make_id(str(title))


def chapter_page(chapter: str) -> str:
    """A chapter's HTML page relative to the book's root: "05_sharpness" -> "notebooks/05_sharpness.html"."""
    return f"notebooks/{chapter}.html"
