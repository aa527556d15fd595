"""Open every page of the built book in headless Chromium and fail on what a reader would see broken.

Run it with ``make check-html`` (after ``make book``), or directly::

    .venv/bin/python scripts/check_html.py [--html _build/html] [--screenshots _build/screenshots]

Each page is checked for

* browser console errors (SEVERE log entries: JavaScript exceptions, files that fail to load);
* images (figures included) that do not load or have a zero natural size;
* untypeset math: a ``.math`` element with no MathJax output in it, or raw TeX (``\\(``, ``\\[``, ``$$``,
  ``\\begin{``, ``$\\command``) left in the visible text;
* broken internal links: every ``<a href>`` that points inside the book must name an existing file, and its
  ``#fragment`` an ``id`` on that page;
* a page wider than the window (the whole page scrolls sideways);
* a claims table or the scorecard that scrolls sideways: every such table must fit the window whole, its
  ``scale`` and ``holds`` columns in view (``replication.report.claims.display_table`` and
  ``scorecard_table`` draw them so; they are found by their class ``claims-table``, or by a header row
  with ``claim`` and ``holds``).

and a full-page screenshot is written to ``<screenshots>/<page>.png`` at a window 1280 CSS pixels wide.
A redirect page (the book's ``index.html``) has its target link checked and is not opened.
Other code blocks, tables and equations that scroll sideways in their own box at that width are listed as
notes (they do not fail the check). Which overflow fails is decided by ``sideways_problems``, a plain
function of the browser's measurements, so that the tests can run it without a browser.

The link checks read the HTML files only (no browser); they are plain functions (``parse_page``,
``resolve_href``, ``check_links``) so that the tests can run them on a small tree. The browser is the
Debian ``chromium`` package driven through the system ``/usr/bin/chromedriver`` (``make browser``
installs both); nothing is downloaded. Exit status: 0 when every page passes, 1 when a problem was found,
2 when the book or the browser is missing.
"""

from __future__ import annotations

import argparse
import base64
import os.path
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from replication.report.anchors import claim_id

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1280  # CSS pixels: the window width of the screenshots and of the layout checks
HEIGHT = 900
PAGE_TIMEOUT_S = 60  # page load, and waiting for images and MathJax

# Chromium flags: headless as root needs --no-sandbox; the rest keep it off the (closed) network and
# out of the user's profile.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    f"--window-size={WIDTH},{HEIGHT}",
]


# ---------------------------------------------------------------------------------------------------
# Links and fragments (no browser)
# ---------------------------------------------------------------------------------------------------


@dataclass
class Page:
    """What the link check needs from one HTML file: the links it makes and the ids it defines."""

    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    redirect: str | None = None  # the target of a <meta http-equiv="refresh">, also one of the links


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if a.get("id"):
            self.page.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.page.ids.add(a["name"])  # old-style anchors are fragment targets too
        if tag == "a" and "href" in a:
            self.page.links.append(a["href"].strip())
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            # index.html is a redirect: <meta http-equiv="Refresh" content="0; url=book/intro.html">
            url = re.search(r"url\s*=\s*(.+)", a.get("content", ""), re.I)
            if url:
                self.page.redirect = url.group(1).strip().strip("'\"")
                self.page.links.append(self.page.redirect)

    handle_startendtag = handle_starttag


def parse_page(html: str) -> Page:
    """The links (``<a href>`` and a meta refresh) and the ids (``id=``, ``<a name=>``) of an HTML text."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser.page


def resolve_href(page: Path, href: str) -> tuple[Path, str] | None:
    """Where a link on ``page`` leads: ``(file, fragment)``, or ``None`` when it leaves the book.

    Links with a scheme or a host (``https:``, ``mailto:``, ``javascript:``, ``//host``) leave the book.
    A link to the page itself (``#x`` or an empty href) gives ``page``; a link ending in ``/`` gives that
    folder's ``index.html``. The fragment is percent-decoded; the query string is dropped.
    """
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    fragment = unquote(parts.fragment)
    if not parts.path:
        return page, fragment
    target = page.parent / unquote(parts.path)
    if parts.path.endswith("/"):
        target = target / "index.html"
    return target, fragment


def check_links(root: Path, pages: list[Path] | None = None) -> list[str]:
    """Problems with the internal links of ``pages`` (default: every page of the book under ``root``).

    Each problem is one line naming the page (relative to ``root``), the link and what is wrong: the
    target is outside the book, the file does not exist, or the fragment is not an id of the target page.
    """
    root = root.resolve()
    pages = [p.resolve() for p in (pages if pages is not None else book_pages(root))]
    parsed: dict[Path, Page] = {}

    def load(path: Path) -> Page:
        if path not in parsed:
            parsed[path] = parse_page(path.read_text(encoding="utf-8", errors="replace"))
        return parsed[path]

    problems = []
    for page in pages:
        name = page.relative_to(root).as_posix()
        for href in load(page).links:
            resolved = resolve_href(page, href)
            if resolved is None:
                continue
            target, fragment = resolved
            if urlsplit(href).path.startswith("/"):
                problems.append(
                    f"{name}: link {href!r} is an absolute path, which breaks when the book is opened from its files"
                )
                continue
            target = Path(os.path.normpath(target))  # fold "..", without following symbolic links
            if not target.is_relative_to(root):
                problems.append(f"{name}: link {href!r} points outside the book")
            elif not target.is_file():
                problems.append(
                    f"{name}: link {href!r} points to a missing file ({target.relative_to(root).as_posix()})"
                )
            elif (
                fragment and fragment.lower() != "top" and target.suffix == ".html" and fragment not in load(target).ids
            ):
                problems.append(f"{name}: link {href!r}: no id {fragment!r} on {target.relative_to(root).as_posix()}")
    return problems


def book_pages(root: Path) -> list[Path]:
    """The HTML pages of a built book: every ``.html`` file outside the ``_static``-like folders."""
    return sorted(p for p in root.rglob("*.html") if not p.relative_to(root).parts[0].startswith("_"))


# ---------------------------------------------------------------------------------------------------
# What a reader is told first (no browser)
# ---------------------------------------------------------------------------------------------------

#: Cell texts that mean "not measured" and must show as "—" in a reader's table.
MISSING_CELLS = {"NaN", "nan", "<NA>", "NaT", "None"}
#: A missing value inside a cell's text ("nan ± 0", "0.3 ± nan"): a "mean ± sd" of nothing.
MISSING_IN_CELL = re.compile(r"(?:^|\s)(?:nan|NaN)(?:\s|$)")


@dataclass
class Reading:
    """What the reader checks need from one page: table cells that show a missing value, claims rows without a
    link, whether it has a chapter's claims table and a verdict box, and its What-replicates section."""

    missing: list[str] = field(default_factory=list)  # "<table>: <cell>" for each NaN-like cell
    unlinked: list[str] = field(default_factory=list)  # the claim text of each claims row without a link
    claims_tables: int = 0  # chapter claims tables (not the scorecard)
    verdict_box: bool = False
    what_replicates: bool = False
    fragments: set[str] = field(default_factory=set)  # the #fragments its links name (for the landing page)


class _ReadingParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.reading = Reading()
        self.cell: list[str] | None = None
        self.row: dict | None = None
        self.table: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "table":
            name = a.get("data-table", "")
            self.table.append(name or "table")
            if "claims-table" in classes and name.startswith("claims"):
                self.reading.claims_tables += 1
        elif tag == "tr" and "claims-row" in classes:
            self.row = {"linked": False, "text": []}
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "a" and a.get("href"):
            if self.row is not None:
                self.row["linked"] = True
            frag = urlsplit(a["href"]).fragment
            if frag:
                self.reading.fragments.add(unquote(frag))
        if "verdict" in classes and "admonition" in classes:
            self.reading.verdict_box = True
        if a.get("id") == "what-replicates":
            self.reading.what_replicates = True

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        if self.row is not None:
            self.row["text"].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            text = "".join(self.cell).strip()
            if text in MISSING_CELLS or MISSING_IN_CELL.search(text):
                self.reading.missing.append(f"{self.table[-1] if self.table else 'table'}: {text!r}")
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if not self.row["linked"]:
                self.reading.unlinked.append(" ".join("".join(self.row["text"]).split())[:60])
            self.row = None
        elif tag == "table" and self.table:
            self.table.pop()


def read_page(html: str) -> Reading:
    """The reader-facing facts of an HTML text (:class:`Reading`)."""
    parser = _ReadingParser()
    parser.feed(html)
    parser.close()
    return parser.reading


def headline_targets(csv: Path) -> list[tuple[str, str]]:
    """(claim id, claim) of every headline paper claim at every scale in the build's ``scorecard.csv``: the rows the
    landing page must give a verdict for (its links name these ids)."""
    import csv as _csv

    with open(csv, newline="", encoding="utf-8") as fh:
        rows = list(_csv.DictReader(fh))
    return [
        (claim_id(r["scale"], r["claim"]), r["claim"])
        for r in rows
        if r.get("kind") == "paper" and str(r.get("headline")).lower() == "true"
    ]


def check_reading(root: Path, pages: list[Path] | None = None, missing: bool = True) -> list[str]:
    """Problems a reader meets first: a table cell that shows NaN (a value not measured shows as "—"); a chapter page
    (one with a claims table) without its verdict box; a claims row without a link to its evidence; the landing page
    (the target of ``index.html``) without its "What replicates" section, or without a verdict for a headline claim
    of the build's ``scorecard.csv``."""
    root = root.resolve()
    pages = [p.resolve() for p in (pages if pages is not None else book_pages(root))]
    problems = []
    for page in pages:
        name = page.relative_to(root).as_posix()
        r = read_page(page.read_text(encoding="utf-8", errors="replace"))
        problems += [
            f"{name}: a table shows a missing value as {m.split(': ', 1)[1]} ({m.split(': ', 1)[0]}); show it as '—'"
            for m in (r.missing if missing else [])
        ]
        if r.claims_tables and not r.verdict_box:
            problems.append(
                f"{name}: a chapter page without its verdict box (replication.report.verdicts.glue_verdict)"
            )
        problems += [f"{name}: a claims row without a link to its evidence: {t!r}" for t in r.unlinked]
    landing = landing_page(root)
    if landing is not None and landing.resolve() in pages:
        r = read_page(landing.read_text(encoding="utf-8", errors="replace"))
        name = landing.relative_to(root).as_posix()
        if not r.what_replicates:
            problems.append(f"{name}: the landing page has no 'What replicates' section (id what-replicates)")
        csv = root / "scorecard.csv"
        if csv.is_file():
            problems += [
                f"{name}: no verdict for the headline claim {claim!r} (a link to #{cid})"
                for cid, claim in headline_targets(csv)
                if cid not in r.fragments
            ]
    return problems


def landing_page(root: Path) -> Path | None:
    """The book's first page: the target of ``index.html``'s redirect (or ``index.html`` itself)."""
    index = root / "index.html"
    if not index.is_file():
        return None
    redirect = parse_page(index.read_text(encoding="utf-8", errors="replace")).redirect
    if not redirect:
        return index
    target = resolve_href(index, redirect)
    return Path(os.path.normpath(target[0])) if target and Path(os.path.normpath(target[0])).is_file() else None


# ---------------------------------------------------------------------------------------------------
# The browser
# ---------------------------------------------------------------------------------------------------

# Waits (in the page) for the images to finish loading and for MathJax's first typesetting, then
# reports what a reader would see broken. Runs through execute_async_script: the last argument is the
# callback, the first the time limit in milliseconds.
PAGE_PROBE_JS = r"""
const [limitMs, done] = [arguments[0], arguments[arguments.length - 1]];
const sleep = ms => new Promise(r => setTimeout(r, ms));
async function mathjaxReady() {
  for (let t = 0; window.MathJax && !(MathJax.startup && MathJax.startup.promise) && t < 50; t++) await sleep(100);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  return !!(window.MathJax && MathJax.startup);
}
function imagesLoaded() {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  return Promise.all(imgs.map(img => img.complete ? null :
    new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); })));
}
const SKIP = 'script, style, noscript, template, pre, code, kbd, samp, textarea, mjx-container, .highlight';
const RAW_TEX = /\\\(|\\\[|\$\$|\\begin\{|\$\\[A-Za-z]+/;
function report(mathjax, timedOut) {
  const out = {timedOut, mathjax, images: [], math: [], rawTex: [], overflow: []};
  for (const img of document.images)
    if (!img.complete || img.naturalWidth === 0 || img.naturalHeight === 0)
      out.images.push(img.getAttribute('src') || '(no src)');
  for (const el of document.querySelectorAll('.math'))
    if (!el.querySelector('mjx-container')) out.math.push(el.textContent.trim().slice(0, 80));
  const main = document.querySelector('main') || document.body || document.documentElement;
  const walk = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {acceptNode: n =>
    n.parentElement && !n.parentElement.closest(SKIP) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT});
  for (let n; (n = walk.nextNode());) {
    const m = n.data.match(RAW_TEX);
    if (m) out.rawTex.push(n.data.slice(Math.max(0, m.index - 30), m.index + 50).trim());
  }
  // Claims tables and the scorecard: by their class, or by a header row naming claim and holds.
  const isClaims = t => t.classList.contains('claims-table') || (() => {
    const heads = Array.from(t.querySelectorAll('thead th, tr:first-child th')).map(h => h.innerText.trim());
    return heads.includes('claim') && heads.includes('holds');
  })();
  const claimsTables = Array.from(main.querySelectorAll('table')).filter(isClaims);
  const tableName = t => t.dataset.table || 'claims table ' + (claimsTables.indexOf(t) + 1);
  const claimsIn = el => { const t = el.closest('table');
    return t && claimsTables.includes(t) ? t : claimsTables.find(c => el.contains(c)) || null; };
  // Elements of the article wider than their box: the reader must scroll sideways. (For math, the
  // typeset formula is measured: MathJax's hidden MathML for screen readers is wider than it.)
  const WIDE = 'pre, .cell_output .output, .pst-scrollable-table-container, div.math mjx-container';
  for (const el of main.querySelectorAll(WIDE)) {
    const formula = el.tagName === 'MJX-CONTAINER' ? el.querySelector('mjx-math') : null;
    const needed = formula ? formula.getBoundingClientRect().width : el.scrollWidth;
    if (needed > el.clientWidth + 2 && el.clientWidth > 0) {
      const t = claimsIn(el);
      out.overflow.push({what: `${el.tagName.toLowerCase()}${el.classList.length ? '.' + el.classList[0] : ''}`,
        needed: Math.round(needed), width: el.clientWidth, table: t ? tableName(t) : null,
        text: el.innerText.replace(/\s+/g, ' ').trim().slice(0, 60)});
    }
  }
  // Each claims table measured on its own too: wider than its box, or running past the window.
  const boxOf = t => { let b = t.parentElement; while (b && b.clientWidth === 0) b = b.parentElement; return b; };
  out.tables = claimsTables.map(t => ({table: tableName(t), needed: Math.round(t.scrollWidth),
    width: boxOf(t) ? boxOf(t).clientWidth : window.innerWidth,
    right: Math.round(t.getBoundingClientRect().right + window.scrollX)}));
  out.pageWidth = document.documentElement.scrollWidth;   // wider than the window: the whole page scrolls
  out.windowWidth = window.innerWidth;
  return out;
}
(async () => {
  let mathjax = false, timedOut = false;
  const work = Promise.all([mathjaxReady().then(m => { mathjax = m; }), imagesLoaded()]);
  await Promise.race([work, sleep(limitMs).then(() => { timedOut = true; })]);
  done(report(mathjax, timedOut));
})().catch(e => done({error: String(e && e.stack || e)}));
"""


def _table_label(name: str) -> str:
    return "the scorecard" if name == "scorecard" else f"the claims table {name!r}"


def sideways_problems(
    page: str, overflow: list[dict], tables: list[dict], window_width: int = WIDTH
) -> tuple[list[str], list[str]]:
    """Which sideways scrolling on ``page`` fails the check, and which is only a note.

    ``overflow``: the elements wider than their box, each ``{"what", "needed", "width", "table", "text"}``
    (``needed`` and ``width`` in CSS pixels; ``table`` the name of the claims table the element is or holds,
    None for any other output). ``tables``: every claims table of the page, ``{"table", "needed", "width",
    "right"}`` (its own width, its box's, and its right edge on the page). A claims table or the scorecard
    that scrolls in its box, is wider than its box, or runs past the window is a problem (one per table);
    any other overflow is a note. Returns ``(problems, notes)``.
    """
    problems: dict[str, str] = {}

    def fail(name: str, needed: float, width: float, why: str) -> None:
        problems.setdefault(
            name,
            f"{page}: {_table_label(name)} scrolls sideways ({round(needed)} px in "
            f"{round(width)} px{why}): claims tables and the scorecard must fit a "
            f"{window_width}-px window, scale and holds columns in view",
        )

    notes = []
    for o in overflow:
        if o.get("table"):
            fail(o["table"], o["needed"], o["width"], f", {o.get('what', 'its box')}")
        else:
            notes.append(
                f"{page}: scrolls sideways: {o.get('what', '?')} ({o['needed']} px in {o['width']} px): "
                f"{o.get('text', '')}"
            )
    for t in tables:
        if t["needed"] > t["width"] + 2:
            fail(t["table"], t["needed"], t["width"], "")
        elif t.get("right", 0) > window_width + 1:
            fail(t["table"], t["right"], window_width, ", its right edge past the window")
    return list(problems.values()), notes


def make_driver(chromedriver: str, chromium: str, profile: str):
    """A headless Chromium with a fresh profile, logging the browser console, 1280 CSS pixels wide."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    driver.set_script_timeout(PAGE_TIMEOUT_S + 10)
    # The layout width, whatever the window manager (there is none) makes of --window-size.
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )
    return driver


def full_page_screenshot(driver, path: Path) -> None:
    """A PNG of the whole page (not only the window) at the current width.

    The window is made as tall as the page for the shot (so sticky sidebars and the page's own scrolling
    render as they do on screen), then set back.
    """
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    metrics = {"width": WIDTH, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": max(HEIGHT, height)})
    try:
        driver.execute_async_script("requestAnimationFrame(() => requestAnimationFrame(arguments[0]))")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": HEIGHT})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def check_page(driver, root: Path, page: Path, screenshots: Path | None) -> tuple[list[str], list[str]]:
    """Load one page; return its problems and its notes (other sideways scrolling), and save its screenshot."""
    name = page.relative_to(root).as_posix()
    driver.get_log("browser")  # drop what earlier pages left behind
    driver.get(page.as_uri())
    probe = driver.execute_async_script(PAGE_PROBE_JS, PAGE_TIMEOUT_S * 1000)
    if screenshots is not None:
        full_page_screenshot(driver, screenshots / Path(name).with_suffix(".png"))
    # Scripts that run late (observers, timers) log their errors after the load: give them a moment.
    driver.execute_async_script("setTimeout(arguments[0], 300)")
    problems = [
        f"{name}: console error: {entry.get('message', '').strip()}"
        for entry in driver.get_log("browser")
        if entry.get("level") == "SEVERE"
    ]
    if "error" in probe:
        return problems + [f"{name}: the page check failed in the browser: {probe['error']}"], []
    if probe["timedOut"]:
        problems.append(f"{name}: images or MathJax still loading after {PAGE_TIMEOUT_S} s")
    problems += [f"{name}: image does not load or has zero size: {src}" for src in probe["images"]]
    problems += [f"{name}: math not typeset by MathJax: {tex!r}" for tex in probe["math"]]
    problems += [f"{name}: raw TeX in the text: {text!r}" for text in probe["rawTex"]]
    if probe["pageWidth"] > probe["windowWidth"] + 1:
        problems.append(
            f"{name}: the page is wider than the window ({probe['pageWidth']} px in "
            f"{probe['windowWidth']} px): the whole page scrolls sideways"
        )
    wide, notes = sideways_problems(name, probe["overflow"], probe.get("tables", []), probe["windowWidth"])
    return problems + wide, notes


#: In the landing page: whether the "What replicates" section shows, and how many headline claims it gives a verdict.
LANDING_JS = """
const s = document.getElementById('what-replicates');
if (!s) return {found: false};
const box = s.getBoundingClientRect();
return {found: true, visible: box.height > 0 && box.width > 0,
        rows: s.querySelectorAll('table.what-replicates tr.headline-claim').length,
        verdicts: s.querySelectorAll('tr.headline-claim td[class^="verdict-"] a').length};
"""


def check_landing_in_browser(driver, name: str) -> list[str]:
    """The landing page as a reader sees it (the page is loaded): its "What replicates" section is there and shows
    a table with at least one headline claim and a verdict."""
    seen = driver.execute_script(LANDING_JS)
    if not seen.get("found"):
        return [f"{name}: the browser finds no 'What replicates' section (id what-replicates)"]
    if not seen.get("visible") or not seen.get("rows") or not seen.get("verdicts"):
        return [f"{name}: the 'What replicates' section shows no headline claim with a verdict ({seen})"]
    return []


def check_in_browser(
    root: Path, pages: list[Path], screenshots: Path | None, chromedriver: str, chromium: str
) -> tuple[list[str], list[str]]:
    """Run ``check_page`` on every page in one browser session."""
    landing = landing_page(root)
    problems, notes = [], []
    with tempfile.TemporaryDirectory(prefix="check-html-profile-") as profile:
        driver = make_driver(chromedriver, chromium, profile)
        try:
            for page in pages:
                start = time.monotonic()
                redirect = parse_page(page.read_text(encoding="utf-8", errors="replace")).redirect
                if redirect:  # the browser would leave it at once; its target is a page of its own
                    print(f"  {page.relative_to(root).as_posix():<45} redirects to {redirect}")
                    continue
                try:
                    p, n = check_page(driver, root, page, screenshots)
                    if landing is not None and page.resolve() == landing.resolve():
                        p += check_landing_in_browser(driver, page.relative_to(root).as_posix())
                except Exception as exc:  # a page that hangs or crashes the tab is a problem of that page
                    p, n = (
                        [
                            f"{page.relative_to(root).as_posix()}: could not be checked: "
                            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                        ],
                        [],
                    )
                problems += p
                notes += n
                status = "ok" if not p else f"{len(p)} problem(s)"
                print(
                    f"  {page.relative_to(root).as_posix():<45} {status:<14} {time.monotonic() - start:5.1f} s",
                    flush=True,
                )
        finally:
            driver.quit()
    return problems, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="the built book")
    parser.add_argument(
        "--screenshots", type=Path, default=ROOT / "_build" / "screenshots", help="where the full-page PNGs go"
    )
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--links-only", action="store_true", help="check the links only (no browser)")
    parser.add_argument("--quiet-notes", action="store_true", help="do not list the other outputs that scroll sideways")
    parser.add_argument(
        "--ignore-console",
        metavar="REGEX",
        action="append",
        default=[],
        help="do not fail on console errors matching REGEX (a known upstream bug); repeatable",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="do not fail on table cells that show NaN (for the ci-scale book, whose seconds-long runs leave many "
        "quantities unmeasured; the cpu book a reader sees is checked without it)",
    )
    parser.add_argument("pages", nargs="*", help="pages to check, relative to --html (default: all)")
    args = parser.parse_args(argv)

    root = args.html.resolve()
    if not (root / "index.html").is_file():
        print(f"check-html: no built book at {root}: run `make book` first.", file=sys.stderr)
        return 2
    pages = [root / p for p in args.pages] if args.pages else book_pages(root)
    missing = [str(p) for p in pages if not p.is_file()]
    if missing:
        print(f"check-html: no such page(s): {', '.join(missing)}", file=sys.stderr)
        return 2
    start = time.monotonic()
    print(f"check-html: {len(pages)} pages in {root}")

    problems = check_links(root, pages) + check_reading(root, pages, missing=not args.allow_missing)
    notes: list[str] = []
    if not args.links_only:
        for exe in (args.chromedriver, args.chromium):
            if not shutil.which(exe):
                print(
                    f"check-html: {exe} not found: run `make browser` (apt-get install chromium chromium-driver).",
                    file=sys.stderr,
                )
                return 2
        if args.screenshots.exists() and not args.pages:
            shutil.rmtree(args.screenshots)  # no screenshots left from pages that are gone
        p, notes = check_in_browser(root, pages, args.screenshots, args.chromedriver, args.chromium)
        ignored = [q for q in p if " console error: " in q and any(re.search(r, q) for r in args.ignore_console)]
        problems += [q for q in p if q not in ignored]
        if ignored:
            print(f"check-html: {len(ignored)} console error(s) ignored (--ignore-console)")

    if notes and not args.quiet_notes:
        print(f"\nNotes ({len(notes)}, not failures):")
        print("\n".join(f"  {n}" for n in notes))
    elapsed = time.monotonic() - start
    if problems:
        print(f"\ncheck-html FAILED: {len(problems)} problem(s) on {len(pages)} pages ({elapsed:.0f} s):")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    where = "" if args.links_only else f"; screenshots in {args.screenshots}"
    print(f"\ncheck-html passed: {len(pages)} pages in {elapsed:.0f} s{where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
