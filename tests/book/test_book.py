"""Build the whole book at ci scale, with warnings as errors, and check the HTML.

The build goes to a temporary directory (`--path-output`), so its jupyter cache never mixes with the
cpu-scale build in `_build/`.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOC = ROOT / "book" / "_toc.yml"

pytestmark = [pytest.mark.book, pytest.mark.slow]

# A MathJax (or any) script or stylesheet fetched from the network at page load would break offline reading.
MATHJAX_CDN = re.compile(r"https?://[^\"'\s]*mathjax|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com", re.I)
REMOTE_ASSET = re.compile(
    r"<script[^>]*\ssrc=\"(https?:)?//[^\"]+\"|<link[^>]*\shref=\"(https?:)?//[^\"]+\.css[^\"]*\"", re.I
)


def _toc_files() -> list[str]:
    toc = yaml.safe_load(TOC.read_text())
    files = [toc["root"]]
    stack = list(toc.get("chapters", [])) + [c for p in toc.get("parts", []) for c in p["chapters"]]
    while stack:
        entry = stack.pop(0)
        if "file" in entry:
            files.append(entry["file"])
        stack.extend(entry.get("sections", []))
    return files


def _jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else shutil.which("jupyter-book")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    cmd = [
        _jupyter_book(),
        "build",
        str(ROOT),
        "--config",
        str(ROOT / "_config.yml"),
        "--toc",
        str(TOC),
        "--path-output",
        str(out),
        "--warningiserror",
        "--keep-going",
    ]
    env = {**os.environ, "REPLICATION_SCALE": "ci", "REPLICATION_QUIET": "1"}
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"book build failed (exit {result.returncode}):\n{log[-6000:]}"
    html = out / "_build" / "html"
    assert html.is_dir(), f"no HTML in {html}:\n{log[-3000:]}"
    return html


def test_every_toc_page_is_built(built_book):
    missing = [f for f in _toc_files() if not (built_book / f"{f}.html").exists()]
    assert not missing, f"pages in book/_toc.yml with no HTML: {missing}"


def test_only_toc_pages_are_built(built_book):
    pages = {
        str(p.relative_to(built_book).with_suffix(""))
        for p in built_book.rglob("*.html")
        if not p.relative_to(built_book).parts[0].startswith("_")
    }
    extra = pages - set(_toc_files()) - {"index", "genindex", "search"}
    assert not extra, f"pages not in book/_toc.yml leaked into the book: {sorted(extra)}"
    for absent in ["README.html", "tests", "replication", "benchmarks", "_sources/README.md"]:
        assert not (built_book / absent).exists(), f"{absent} should not be in the book"


def test_no_network_assets(built_book):
    bad = {}
    for page in built_book.rglob("*.html"):
        text = page.read_text(errors="replace")
        hits = [m.group(0) for m in MATHJAX_CDN.finditer(text)] + [m.group(0) for m in REMOTE_ASSET.finditer(text)]
        if hits:
            bad[str(page.relative_to(built_book))] = hits[:3]
    assert not bad, f"pages load MathJax or other assets from the network: {bad}"
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").exists(), "offline MathJax was not copied"


def test_math_uses_local_mathjax(built_book):
    intro = (built_book / "book" / "intro.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in intro


def test_every_page_passes_the_browser_check(built_book, tmp_path):
    """`make check-html` on the ci-scale book: console errors, images, typeset math, internal links."""
    if not (Path("/usr/bin/chromedriver").exists() and Path("/usr/bin/chromium").exists()):
        pytest.skip("headless Chromium is not installed (`make browser` installs it)")
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "check_html.py"),
        "--html",
        str(built_book),
        "--screenshots",
        str(tmp_path / "shots"),
        "--quiet-notes",
        "--allow-missing",  # the ci runs leave quantities unmeasured; `make check-html` checks the cpu book for NaN
    ]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"browser check failed:\n{(result.stdout + result.stderr)[-4000:]}"
    assert len(list((tmp_path / "shots").rglob("*.png"))) >= len(_toc_files())


def test_the_landing_page_and_the_scorecard_agree(built_book):
    """Every headline claim of the build's scorecard.csv has, on the landing page, a verdict that links to its row and
    says what the CSV says; and each chapter page with a claims table has its verdict box."""
    import pandas as pd

    from replication.report.anchors import claim_id
    from replication.report.verdicts import MARK

    card = pd.read_csv(built_book / "scorecard.csv", keep_default_na=False)
    heads = card[(card["kind"] == "paper") & card["headline"].astype(str).str.lower().eq("true")]
    assert len(heads), "the ci build recorded no headline claim"
    landing = (built_book / "book" / "intro.html").read_text()
    assert 'id="what-replicates"' in landing
    shown = dict(re.findall(r'href="[^"#]*#(claim-[a-z]+-[0-9a-f]{10})">(?:✓|✗|–) ([a-z ]+)</a>', landing))
    for r in heads.itertuples():
        cid = claim_id(r.scale, r.claim)
        assert shown.get(cid) == r.verdict, (r.claim, r.scale, r.verdict, shown.get(cid))
    assert set(MARK) == set(card["verdict"]) | set(MARK)
    for page in (built_book / "notebooks").glob("[01][0-9]_*.html"):
        text = page.read_text()
        if 'data-table="claims ' in text:
            assert 'class="admonition tip verdict"' in text, f"{page.name} has no verdict box"
