"""The book's answers first: the verdict box of a chapter, the landing page's What replicates, the anchors they link
to, and "—" for what was not measured."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from replication.report.anchors import chapter_page, claim_id, section_id
from replication.report.claims import Claim, claims_table, record, scorecard
from replication.report.text import DASH, dashed
from replication.report.verdicts import reason, verdict_html, what_replicates_html
from replication.report.view import display_table, scorecard_table


def _plant(root):
    """Headline and other paper claims, a diagnosis and a check, over two papers and two scales."""

    def c(chapter, text, ref, holds, scale, kind, headline=False):
        return Claim(chapter, text, ref, "p", "m", holds, scale, "", True, kind=kind, headline=headline)

    record(
        [
            c("05_sharpness", "head holds", "HR24 Fig. 1", True, "cpu", "paper", headline=True),
            c("05_sharpness", "head fails", "HR24 Fig. 2", False, "cpu", "paper", headline=True),
            c("05_sharpness", "paper holds", "HR24 Table 2", True, "cpu", "paper"),
            c("05_sharpness", "diag fails", "this chapter's test", False, "cpu", "diagnosis"),
            c("05_sharpness", "check holds", "HR24 §3", True, "cpu", "check"),
        ],
        root=root,
    )
    record([c("05_sharpness", "head holds", "HR24 Fig. 1", False, "paper", "paper", headline=True)], root=root)
    record([c("10_2_ten_class", "v head", "V25 §5", True, "cpu", "paper", headline=True)], root=root)


def _c(text, holds, scale="cpu", kind="paper", headline=False, testable=True, note="", section=""):
    return Claim(
        "05_sharpness",
        text,
        "HR24 Fig. 1",
        "p",
        "m=1",
        holds,
        scale,
        note,
        testable,
        kind=kind,
        headline=headline,
        section=section,
    )


def test_anchor_ids_are_docutils_ids_and_unique_per_scale_and_claim():
    assert section_id("Blowup at matched accuracy") == "blowup-at-matched-accuracy"
    assert section_id("Both sides of Cor. 5") == "both-sides-of-cor-5"
    assert section_id("$\\mathbb E[\\mathrm{Blowup}^2]$ against length") == section_id(
        "\\mathbb E[\\mathrm{Blowup}^2] against length"
    )
    assert claim_id("cpu", "a") != claim_id("paper", "a") != claim_id("cpu", "b")
    assert re.fullmatch(r"claim-cpu-[0-9a-f]{10}", claim_id("cpu", "a"))
    assert chapter_page("05_sharpness") == "notebooks/05_sharpness.html"
    with pytest.raises(ValueError, match="title"):
        section_id(" ")
    with pytest.raises(TypeError, match="section"):
        _c("x", True, section=3)


def test_reason_is_the_failing_part_of_the_note_in_one_line():
    assert reason("check: slope > 0 with p < 0.05; fails: the slope is negative. More text.") == "The slope is negative"
    assert reason("not testable: each run stops 500 steps after it groks") == "Each run stops 500 steps after it groks"
    assert reason("check: p = 0.2; fails in (1,32,7,36): the models follow the sparse token") == (
        "The models follow the sparse token"
    )
    assert reason("the seeds vary too much") == "The seeds vary too much"
    assert reason("") == ""
    long = reason("fails: " + "x" * 400, limit=50)
    assert len(long) == 50 and long.endswith("…")


def test_the_verdict_box_lists_paper_claims_only_with_marks_and_links():
    claims = claims_table(
        [
            _c("head holds", True, headline=True),
            _c("paper fails", False, note="check: t-test; fails: the ViT is above the MLP."),
            _c("paper untestable", False, testable=False, note="not testable: too few runs"),
            _c("diag", False, kind="diagnosis"),
            _c("chk", True, kind="check"),
        ]
    )
    paper = claims_table([_c("head holds", False, scale="paper", headline=True)])
    html = verdict_html(claims, paper, None)
    assert 'class="admonition tip verdict"' in html
    assert "At cpu scale, 1 of 2 paper claims hold (1 not testable at this scale)." in html
    assert "At paper scale, 0 of 1 paper claims hold." in html
    assert html.index("At cpu scale") < html.index("At paper scale")
    assert "diag" not in html and "chk" not in html
    assert f'href="#{claim_id("cpu", "head holds")}"' in html and f'href="#{claim_id("paper", "head holds")}"' in html
    assert "✓ ★" in html and "The ViT is above the MLP" in html and "Too few runs" in html
    assert "no paper claim" in verdict_html(claims_table([_c("chk", True, kind="check")]))


def test_what_replicates_gives_every_headline_claim_a_verdict_per_scale(tmp_path):
    _plant(tmp_path)
    card = scorecard([tmp_path / "claims"])
    html = what_replicates_html(card, root="../")
    rows = re.findall(r'<tr class="headline-claim".*?</tr>', html)
    assert len(rows) == 3  # head holds, head fails (HR24); v head (V25); no other kind, no non-headline claim
    assert "paper holds" not in html and "diag" not in html and "check holds" not in html
    assert "HR24</strong>: headline claims holding 1 of 2 at cpu scale; 0 of 1 at paper scale." in html
    assert "V25</strong>: headline claims holding 1 of 1 at cpu scale." in html
    # the V25 table has no paper column (no V25 claim at paper scale); HR24's "head fails" was not run at paper
    hr24 = html[: html.index("V25</strong>")]
    assert hr24.count("<th>at paper scale</th>") == 1 and "not run" in hr24
    assert "at paper scale" not in html[html.index("V25</strong>") :]
    link = f'href="../notebooks/05_sharpness.html#{claim_id("paper", "head holds")}">✗ fails'
    assert link in html
    assert "No chapter has recorded" in what_replicates_html(card.iloc[0:0])


def test_claims_rows_have_ids_and_link_to_their_section_or_chapter_row():
    df = claims_table([_c("with section", True, section="Both sides of Cor. 5"), _c("without", False)])
    html = display_table(df)._repr_html_()
    assert f'<tr class="claims-row claims-last" id="{claim_id("cpu", "with section")}">' in html
    assert '<a class="claim-link" href="#both-sides-of-cor-5">with section</a>' in html
    assert "<td>without</td>" in html  # no section: no link (the book's HTML check fails such a row)
    card = scorecard_table(df.assign(paper="HR24"))
    html = card._repr_html_()
    assert f'href="05_sharpness.html#{claim_id("cpu", "with section")}"' in html
    assert f'href="05_sharpness.html#{claim_id("cpu", "without")}"' in html


def test_dashed_shows_missing_values_as_a_dash_and_keeps_the_rest():
    df = pd.DataFrame(
        {"n": [12.0, np.nan, 16.0], "who": ["a", None, "c"], "x": [0.123456, 0.5, np.nan], "full": [1.5, 2.25, 3.0]}
    )
    out = dashed(df, digits=3)
    assert out["n"].tolist() == [12, DASH, 16]
    assert out["who"].tolist() == ["a", DASH, "c"]
    assert out["x"].tolist() == [0.123, 0.5, DASH]
    assert out["full"].tolist() == [1.5, 2.25, 3.0] and out["full"].dtype == float
    assert "NaN" not in out.to_html() and "None" not in out.to_html()
    assert dashed(df)["x"].tolist()[0] == 0.123456  # digits None: numbers as they are


def test_a_chapters_first_page_gathers_the_paper_claims_of_its_sections(tmp_path):
    """The first page of a chapter split into sections shows its sections' paper claims at its scale, each linked to
    its row on its own section's page; claims of the chapter's own page, of other chapters, of other scales and of
    other kinds stay out."""
    from replication.report.verdicts import sections_claims

    def c(page, text, holds, scale="cpu", kind="paper"):
        return Claim(page, text, "V25 §5", "p", "m", holds, scale, "fails: too noisy", True, kind=kind)

    record([c("10_1_binary_mnist", "binary", False), c("10_1_binary_mnist", "why", True, kind="diagnosis")],
           root=tmp_path)  # fmt: skip
    record([c("10_4_regularisation", "flat", True)], root=tmp_path)
    record([c("10_4_regularisation", "flat at ci", True, scale="ci")], root=tmp_path)
    record([c("09_token_sensitivity", "tokens", True)], root=tmp_path)
    roots = [tmp_path / "claims"]
    got = sections_claims("10", "cpu", roots=roots)
    assert list(got["claim"]) == ["binary", "why", "flat"]
    html = verdict_html(got, here="10_vision_sensitivity")
    assert f'href="10_1_binary_mnist.html#{claim_id("cpu", "binary")}"' in html
    assert f'href="10_4_regularisation.html#{claim_id("cpu", "flat")}"' in html
    assert "why" not in html and "tokens" not in html and "1 of 2 paper claims hold" in html
    assert "its section's claims table" in html
    own = verdict_html(got[got["chapter"] == "10_1_binary_mnist"])  # on the section's own page: links on the page
    assert f'href="#{claim_id("cpu", "binary")}"' in own and ".html#" not in own
    assert "recorded no paper claim yet" in verdict_html(sections_claims("10", "paper", roots=roots), here="x")
