"""The link and fragment checks of scripts/check_html.py on a small HTML tree (no browser), and one run of
the whole checker in headless Chromium when the system chromedriver is there."""

import importlib.util
import shutil
import struct
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_html", ROOT / "scripts" / "check_html.py")
check_html = importlib.util.module_from_spec(_spec)
sys.modules["check_html"] = check_html  # dataclasses look their module up there
_spec.loader.exec_module(check_html)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _html(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


@pytest.fixture
def book(tmp_path) -> Path:
    """index.html redirects to book/intro.html, which links to a chapter and elsewhere."""
    return _write(
        tmp_path / "html",
        {
            "index.html": _html("", head='<meta http-equiv="Refresh" content="0; url=book/intro.html" />'),
            "book/intro.html": _html(
                '<h1 id="intro">Intro</h1><a name="old-anchor"></a><section id="what-replicates"></section>'
                '<a href="../notebooks/ch1.html">ch1</a>'
                '<a href="../notebooks/ch1.html#the-result">result</a>'
                '<a href="#intro">top of page</a>'
                '<a href="#old-anchor">old</a>'
                '<a href="#">nothing</a>'
                '<a href="">self</a>'
                '<a href="../notebooks/">folder</a>'
                '<a href="../notebooks/ch1.html?x=1#a%20b">encoded fragment</a>'
                '<a href="../_sources/ch1.ipynb">download</a>'
                '<a href="https://example.org/missing.html#nowhere">external</a>'
                '<a href="mailto:someone@example.org">mail</a>'
                '<a href="javascript:void(0)">js</a>'
                '<a href="//cdn.example.org/x.js">protocol-relative</a>'
            ),
            "notebooks/index.html": _html("<p>folder index</p>"),
            "notebooks/ch1.html": _html(
                '<section id="the-result"><h2 id="a b">x</h2></section><a href="../book/intro.html#intro">back</a>'
            ),
            "_sources/ch1.ipynb": "{}",
            "_static/theme.html": _html('<a href="missing.html">not a page of the book</a>'),
        },
    )


def test_parse_page_finds_links_ids_and_a_meta_refresh():
    page = check_html.parse_page(
        _html(
            '<div id="a"><a href="x.html#b" id="c">x</a><a name="d"></a><img id="e" src="f.png"/></div>',
            head='<meta http-equiv="refresh" content="0; URL=\'y.html\'">',
        )
    )
    assert page.links == ["y.html", "x.html#b"]
    assert page.ids == {"a", "c", "d", "e"}
    assert page.redirect == "y.html"
    assert check_html.parse_page(_html('<a href="z.html">z</a>')).redirect is None


def test_resolve_href(tmp_path):
    page = tmp_path / "book" / "intro.html"
    assert check_html.resolve_href(page, "https://example.org/a.html") is None
    assert check_html.resolve_href(page, "mailto:x@example.org") is None
    assert check_html.resolve_href(page, "//host/a.html") is None
    assert check_html.resolve_href(page, "#sec") == (page, "sec")
    assert check_html.resolve_href(page, "") == (page, "")
    assert check_html.resolve_href(page, "../a.html?q=1#x%20y") == (tmp_path / "book" / ".." / "a.html", "x y")
    assert check_html.resolve_href(page, "sub/") == (tmp_path / "book" / "sub" / "index.html", "")


def test_a_sound_book_has_no_link_problems(book):
    assert check_html.book_pages(book) == sorted(
        [book / "index.html", book / "book/intro.html", book / "notebooks/index.html", book / "notebooks/ch1.html"]
    )
    assert check_html.check_links(book) == []


def test_broken_links_are_named_with_their_page(book):
    _write(
        book,
        {
            "notebooks/ch2.html": _html(
                '<a href="ch1.html#no-such-id">a</a>'
                '<a href="ch3.html">b</a>'
                '<a href="#missing-here">c</a>'
                '<a href="../../outside.html">d</a>'
                '<a href="/book/intro.html">e</a>'
                '<a href="#top">the top of the page is always there</a>'
                '<a href="ch1.html#the-result">fine</a>'
            )
        },
    )
    problems = check_html.check_links(book)
    assert len(problems) == 5, problems
    assert all(p.startswith("notebooks/ch2.html: ") for p in problems)
    text = "\n".join(problems)
    assert "no id 'no-such-id' on notebooks/ch1.html" in text
    assert "missing file (notebooks/ch3.html)" in text
    assert "no id 'missing-here' on notebooks/ch2.html" in text
    assert "'../../outside.html' points outside the book" in text
    assert "'/book/intro.html' is an absolute path" in text


def test_a_redirect_to_a_missing_page_is_a_problem(book):
    (book / "book" / "intro.html").unlink()
    problems = check_html.check_links(book, [book / "index.html"])
    assert problems == ["index.html: link 'book/intro.html' points to a missing file (book/intro.html)"]


def test_a_sound_book_has_no_reading_problems(book):
    assert check_html.check_reading(book) == []


def _chapter(body: str) -> str:
    return _html(f'<table class="claims-table" data-table="claims 05_sharpness"><tbody>{body}</tbody></table>')


def test_reading_problems_nan_cells_verdict_box_unlinked_rows_and_the_landing_page(book):
    from replication.report.anchors import claim_id

    linked = '<tr class="claims-row" id="c1"><td><a href="#s">claim one</a></td><td>✓ yes</td></tr>'
    bare = '<tr class="claims-row"><td>claim two</td><td>✗ no</td></tr>'
    box = '<div class="admonition tip verdict"><p>What this chapter finds</p></div>'
    _write(
        book,
        {
            "notebooks/good.html": _html(box) + _chapter(linked),
            "notebooks/nobox.html": _chapter(linked),
            "notebooks/bare.html": _html(box) + _chapter(bare),
            "notebooks/nan.html": _html(
                '<table data-table="t"><tr><th>x</th></tr><tr><td>NaN</td><td>—</td></tr></table>'
            ),
            "notebooks/pm.html": _html(
                '<table data-table="u"><tr><td>nan ± 0</td><td>Nancy ± nan-free</td><td>0.2 ± 0.1</td></tr></table>'
            ),
            "scorecard.csv": "paper,chapter,scale,kind,headline,claim\n"
            "HR24,05_sharpness,cpu,paper,True,claim one\nHR24,05_sharpness,cpu,paper,False,claim two\n",
        },
    )
    problems = check_html.check_reading(book)
    assert not [p for p in problems if p.startswith("notebooks/good.html")]
    assert [p for p in problems if p.startswith("notebooks/nobox.html")] == [
        "notebooks/nobox.html: a chapter page without its verdict box (replication.report.verdicts.glue_verdict)"
    ]
    assert [p for p in problems if p.startswith("notebooks/bare.html")] == [
        "notebooks/bare.html: a claims row without a link to its evidence: 'claim two✗ no'"
    ]
    assert [p for p in problems if p.startswith("notebooks/nan.html")] == [
        "notebooks/nan.html: a table shows a missing value as 'NaN' (t); show it as '—'"
    ]
    assert [p for p in problems if p.startswith("notebooks/pm.html")] == [
        "notebooks/pm.html: a table shows a missing value as 'nan ± 0' (u); show it as '—'"
    ]
    # the landing page must give each headline claim of the CSV a verdict (a link to its row); not the others
    cid = claim_id("cpu", "claim one")
    assert [p for p in problems if p.startswith("book/intro.html")] == [
        f"book/intro.html: no verdict for the headline claim 'claim one' (a link to #{cid})"
    ]
    intro = book / "book" / "intro.html"
    intro.write_text(
        intro.read_text().replace("</section>", f'<a href="../notebooks/good.html#{cid}">✓ holds</a></section>')
    )
    assert not [p for p in check_html.check_reading(book) if p.startswith("book/intro.html")]
    intro.write_text(intro.read_text().replace('id="what-replicates"', 'id="elsewhere"'))
    assert check_html.check_reading(book, [intro]) == [
        "book/intro.html: the landing page has no 'What replicates' section (id what-replicates)"
    ]


def test_main_without_a_book_says_to_build_it(tmp_path, capsys):
    assert check_html.main(["--html", str(tmp_path / "nothing"), "--links-only"]) == 2
    assert "make book" in capsys.readouterr().err


def test_main_links_only(book, capsys):
    assert check_html.main(["--html", str(book), "--links-only"]) == 0
    _write(book, {"book/intro.html": _html('<a href="gone.html">gone</a>')})
    assert check_html.main(["--html", str(book), "--links-only"]) == 1
    assert "book/intro.html: link 'gone.html' points to a missing file" in capsys.readouterr().out


def test_a_claims_table_that_scrolls_sideways_fails_and_other_wide_outputs_are_notes():
    """The rule on fake measurements (no browser): a claims table or the scorecard must fit."""
    overflow = [
        {"what": "div.output", "needed": 1400, "width": 780, "table": "claims 05_sharpness", "text": "claim ref"},
        {"what": "pre", "needed": 900, "width": 780, "table": None, "text": "SweepConfig(scale='cpu', ...)"},
    ]
    tables = [
        {"table": "claims 05_sharpness", "needed": 1400, "width": 780, "right": 1700},  # reported once
        {"table": "scorecard", "needed": 780, "width": 780, "right": 1020},  # fits
    ]
    problems, notes = check_html.sideways_problems("notebooks/05_sharpness.html", overflow, tables)
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        "notebooks/05_sharpness.html: the claims table 'claims 05_sharpness' scrolls sideways (1400 px in 780 px"
    )
    assert "must fit a 1280-px window" in problems[0]
    assert notes == [
        "notebooks/05_sharpness.html: scrolls sideways: pre (900 px in 780 px): SweepConfig(scale='cpu', ...)"
    ]

    # A scorecard wider than its box, or one that runs past the window, fails too; tables that fit pass.
    wide = [{"table": "scorecard", "needed": 990, "width": 780, "right": 1100}]
    problems, notes = check_html.sideways_problems("notebooks/99_scorecard.html", [], wide)
    assert (
        problems
        and problems[0].startswith("notebooks/99_scorecard.html: the scorecard scrolls sideways (990 px in 780 px")
        and notes == []
    )
    past = [{"table": "scorecard", "needed": 780, "width": 780, "right": 1400}]
    problems, _ = check_html.sideways_problems("p.html", [], past, window_width=1280)
    assert problems and "right edge past the window" in problems[0]
    assert check_html.sideways_problems("p.html", [], tables[1:]) == ([], [])


def test_the_book_draws_claims_tables_that_the_check_recognises():
    """display_table and scorecard_table give HTML with the class and name the check looks for, no
    column wider than the table, and the note beneath its row."""
    from replication.report.claims import Claim, claims_table
    from replication.report.view import display_table, scorecard_table

    claims = [
        Claim("05_x", "a claim < b", "HR24 Fig. 1", "1", "2", True, "cpu", "check: " + "long note " * 40, kind="paper"),
        Claim("05_x", "c", "HR24", "1", "n ≤ 8", False, "cpu", "too short", testable=False, kind="check"),
    ]
    html = display_table(claims_table(claims))._repr_html_()
    assert 'class="claims-table" data-table="claims 05_x"' in html and "table-layout: fixed" in html
    assert "a claim &lt; b" in html and 'class="claims-note' in html and "– not testable" in html
    assert [h in html for h in ('<th title="scale">scale</th>', '<th title="holds">holds</th>')] == [True, True]
    card = claims_table(claims)
    html = scorecard_table(card)._repr_html_()
    assert 'data-table="scorecard"' in html and '<tr class="claims-group"><th colspan="6">05_x</th></tr>' in html


#: A landing page's "What replicates" section with one headline claim and its verdict.
LANDING = (
    '<section id="what-replicates"><table class="what-replicates"><tr class="headline-claim"><td>a claim</td>'
    '<td class="verdict-holds"><a href="#t">✓ holds</a></td></tr></table></section>'
)


def _png(width: int, height: int) -> bytes:
    """A white RGB PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff" * 3 * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/usr/bin/chromedriver").exists() or not shutil.which("chromium"),
    reason="no system chromium/chromedriver (make browser)",
)
def test_browser_finds_broken_image_console_error_and_raw_tex(tmp_path, capsys):
    good = _html(
        '<h1 id="t">Fine</h1><figure><img src="fig.png" alt="a figure"></figure><a href="bad.html#t">link</a>' + LANDING
    )
    bad = _html(
        '<h1 id="t">Broken</h1><img src="missing.png" alt="gone">'
        "<p>The formula \\(x^2\\) was never typeset.</p>"
        "<script>undefinedFunction();</script>"
    )
    html = _write(tmp_path / "html", {"index.html": good, "bad.html": bad})
    (html / "fig.png").write_bytes(_png(40, 30))
    shots = tmp_path / "shots"

    assert check_html.main(["--html", str(html), "--screenshots", str(shots), "index.html"]) == 0
    assert (shots / "index.png").stat().st_size > 0

    assert check_html.main(["--html", str(html), "--screenshots", str(shots)]) == 1
    out = capsys.readouterr().out
    assert "bad.html: image does not load or has zero size: missing.png" in out
    assert "bad.html: raw TeX in the text" in out
    assert "bad.html: console error" in out and "undefinedFunction" in out
    assert "index.html: " not in out.split("FAILED")[1]
    assert (shots / "bad.png").exists() and (shots / "index.png").exists()

    # An ignored console error is not reported; the other problems of the page still are.
    args = ["--html", str(html), "--screenshots", str(shots), "--ignore-console", "undefinedFunction|missing.png"]
    assert check_html.main(args + ["bad.html"]) == 1
    out = capsys.readouterr().out
    assert "console error: " not in out.split("FAILED")[1] and "image does not load" in out

    # The landing page without its "What replicates": the HTML check and the browser both say so.
    (html / "index.html").write_text(good.replace(LANDING, ""))
    assert check_html.main(["--html", str(html), "--screenshots", str(shots), "index.html"]) == 1
    out = capsys.readouterr().out.split("FAILED")[1]
    assert "index.html: the landing page has no 'What replicates' section" in out
    assert "index.html: the browser finds no 'What replicates' section" in out


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/usr/bin/chromedriver").exists() or not shutil.which("chromium"),
    reason="no system chromium/chromedriver (make browser)",
)
def test_browser_fails_a_claims_table_that_scrolls_sideways(tmp_path, capsys):
    cells = "".join(f"<td>{'x' * 60}</td>" for _ in range(8))
    wide = _html(
        '<div class="admonition tip verdict"><p>What this chapter finds</p></div>'
        '<div class="cell_output"><div class="output text_html" style="overflow-x: auto">'
        '<table class="claims-table" data-table="claims 05_x"><thead><tr><th>claim</th><th>holds</th>'
        f"</tr></thead><tbody><tr>{cells}</tr></tbody></table></div></div>"
        f'<div class="cell_output"><div class="output" style="overflow-x: auto"><pre>{"y" * 400}</pre>'
        "</div></div>"
    )
    html = _write(tmp_path / "html", {"index.html": _html("<p>fine</p>" + LANDING), "wide.html": wide})
    assert check_html.main(["--html", str(html), "--screenshots", str(tmp_path / "shots")]) == 1
    out = capsys.readouterr().out
    failed = out.split("FAILED")[1]
    assert "wide.html: the claims table 'claims 05_x' scrolls sideways" in failed
    assert failed.count("wide.html: ") == 1  # the long <pre> is a note, not a failure
    assert "wide.html: scrolls sideways: " in out.split("FAILED")[0]
