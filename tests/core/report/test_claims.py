"""What a claim is (paper claim, diagnosis, check; headline), and where the scorecard counts each kind."""

from __future__ import annotations

import ast
import csv
import importlib
import importlib.util
import json
import pkgutil
from pathlib import Path

import pytest

from replication.paths import REPO
from replication.report.claims import KINDS, UNKNOWN, Claim, paper_of, record, scorecard, untestable
from replication.report.view import scorecard_table
from replication.report.tally import CSV_COLUMNS, headlines, paper_counts, summary, write_csv
from replication.runs.chapters import CHAPTERS


def test_a_claim_needs_a_kind_named_from_the_list():
    with pytest.raises(TypeError, match="kind"):
        Claim("05_x", "a", "HR24", "1", "1", True, "cpu")  # no kind: refused
    with pytest.raises(ValueError, match=r"kind: must be one of \['paper', 'diagnosis', 'check'\], got 'claim'"):
        Claim("05_x", "a", "HR24", "1", "1", True, "cpu", kind="claim")
    with pytest.raises(ValueError, match="headline: only a paper claim"):
        Claim("05_x", "a", "HR24", "1", "1", True, "cpu", kind="check", headline=True)
    with pytest.raises(TypeError, match="headline: must be a bool"):
        Claim("05_x", "a", "HR24", "1", "1", True, "cpu", kind="paper", headline=1)
    with pytest.raises(TypeError, match="kind"):
        untestable("05_x", "cpu", "a", "HR24", "1", "why")
    c = untestable("05_x", "cpu", "a", "HR24", "1", "why", kind="paper", headline=True)
    assert (c.kind, c.headline, c.testable) == ("paper", True, False)
    assert KINDS == ("paper", "diagnosis", "check")


def _chapter_sources() -> list[Path]:
    """The source file of every module of every chapter (imported through the registry, so a chapter module that
    fails to import fails here too)."""
    files = []
    for ch in CHAPTERS:
        mod = importlib.import_module(ch.module)
        files.append(Path(mod.__file__))
        if hasattr(mod, "__path__"):
            for info in pkgutil.walk_packages(mod.__path__, prefix=ch.module + "."):
                files.append(Path(importlib.import_module(info.name).__file__))
    return sorted(set(files))


#: The calls that make a claim: a chapter's factory (``CLAIM = claims_for(__name__)``) and the core's constructors.
MAKERS = {"CLAIM", "CLAIM.untestable", "Claim", "untestable"}


def _unkinded(path: Path) -> list[str]:
    """Claim constructions in ``path`` that name no kind: a call of :data:`MAKERS` with neither ``kind=`` nor
    ``**d`` where ``d`` is a ``dict(...)`` with ``kind=`` in the same function; a call forwarding ``kind=kind``
    passes the duty to the calls of the function around it, which must name one."""
    tree = ast.parse(path.read_text())
    name = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
    out, forwarders = [], set()
    for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Module))]:
        dicts = {
            t.id: any(k.arg == "kind" for k in n.value.keywords)
            for n in ast.walk(fn)
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and ast.unparse(n.value.func) == "dict"
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for call in [n for n in ast.walk(fn) if isinstance(n, ast.Call) and ast.unparse(n.func) in MAKERS]:
            kws = {k.arg: k.value for k in call.keywords}
            if "kind" in kws:
                if isinstance(kws["kind"], ast.Name) and isinstance(fn, ast.FunctionDef):
                    forwarders.add(fn.name)
                continue
            if any(k.arg is None and isinstance(k.value, ast.Name) and dicts.get(k.value.id) for k in call.keywords):
                continue
            out.append(f"{name}:{call.lineno}")
    for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) in forwarders]:
        if not any(k.arg == "kind" for k in call.keywords):
            out.append(f"{name}:{call.lineno} ({ast.unparse(call.func)})")
    return sorted(set(out))


def test_every_claim_of_every_chapter_names_its_kind():
    sources = _chapter_sources()
    assert len(sources) > len(CHAPTERS)  # the packages' modules are in
    missing = [where for f in sources for where in _unkinded(f)]
    assert not missing, f"claims without a kind (kind= one of {list(KINDS)}): {missing}"


def test_the_kind_check_finds_a_claim_without_one(tmp_path):
    f = tmp_path / "planted.py"
    f.write_text(
        "def claims(cfg):\n"
        "    base = dict(claim='c', paper_ref='HR24', paper_value='1')\n"
        "    ok = dict(claim='c', paper_ref='HR24', paper_value='1', kind='check')\n"
        "    def add(claim, *, kind):\n"
        "        return CLAIM(claim, 'HR24', '1', '1', True, cfg.scale, kind=kind)\n"
        "    return [CLAIM(**base, measured='1'), CLAIM(**ok, measured='1'), add('a'), add('b', kind='paper'),\n"
        "            CLAIM.untestable('c', 'HR24', '1', 'ci', 'why')]\n"
    )
    found = _unkinded(f)
    assert [w.split(":", 1)[1] for w in found] == ["6", "6 (add)", "7"]


def _plant(root: Path) -> None:
    """One recorded claim of each kind and outcome, over two papers and two scales, and an old record without kind."""

    def c(chapter, text, ref, holds, scale, kind, headline=False, testable=True):
        return Claim(chapter, text, ref, "p", "m", holds, scale, "", testable, kind=kind, headline=headline)

    record(
        [
            c("05_sharpness", "head holds", "HR24 Fig. 1", True, "cpu", "paper", headline=True),
            c("05_sharpness", "head fails", "HR24 Fig. 2", False, "cpu", "paper", headline=True),
            c("05_sharpness", "paper holds", "HR24 Table 2", True, "cpu", "paper"),
            c("05_sharpness", "paper untestable", "HR24 Thm 6", False, "cpu", "paper", testable=False),
            c("05_sharpness", "diag fails", "this chapter's test", False, "cpu", "diagnosis"),
            c("05_sharpness", "check holds", "HR24 §3", True, "cpu", "check"),
        ],
        root=root,
    )
    record([c("05_sharpness", "head holds", "HR24 Fig. 1", False, "paper", "paper", headline=True)], root=root)
    record(
        [
            c("10_2_ten_class", "v head", "V25 §5", True, "cpu", "paper", headline=True),
            c("10_2_ten_class", "v reading", "V25 §5 (other reading)", True, "cpu", "diagnosis"),
            c("10_2_ten_class", "v chapter ref", "this chapter's test", False, "cpu", "paper"),
        ],
        root=root,
    )
    old = root / "claims" / "cpu" / "03_average_sensitivity.json"
    old.write_text(json.dumps([{"chapter": "03_average_sensitivity", "claim": "old", "paper_ref": "HR24 §3",
                                "paper_value": "1", "measured": "1", "holds": True, "scale": "cpu", "note": ""}]))  # fmt: skip


def test_planted_claims_are_counted_by_paper_scale_and_kind(tmp_path):
    _plant(tmp_path)
    card = scorecard([tmp_path / "claims"])
    assert list(card.loc[card["claim"] == "old", "kind"]) == [UNKNOWN]  # recorded before claims had a kind
    assert list(card.loc[card["claim"] == "v chapter ref", "paper"]) == ["V25"]  # from the chapter's registry entry
    counts = paper_counts(card).set_index(["paper", "scale"])
    # HR24 at cpu: 3 tested paper claims (2 held), the untestable one apart; the diagnosis and check not counted
    assert counts.loc[("HR24", "cpu")].to_dict() == {
        "held": 2,
        "tested": 3,
        "untestable": 1,
        "headline_held": 1,
        "headline_tested": 2,
        "headline_untestable": 0,
    }
    assert counts.loc[("HR24", "paper"), ["held", "tested", "headline_held", "headline_tested"]].tolist() == [
        0,
        1,
        0,
        1,
    ]
    assert counts.loc[("V25", "cpu"), ["held", "tested", "headline_held", "headline_tested"]].tolist() == [1, 2, 1, 1]
    assert headlines(card) == [
        "HR24 at cpu scale: 2 of 3 paper claims hold (1 of 2 headline claims); 1 more not testable at this scale",
        "HR24 at paper scale: 0 of 1 paper claims hold (0 of 1 headline claims)",
        "V25 at cpu scale: 1 of 2 paper claims hold (1 of 1 headline claims)",
    ]
    s = summary(card)
    assert s.loc["05_sharpness", ("cpu", "paper claims")] == "2 / 3 (+1 not testable)"
    assert s.loc["05_sharpness", ("cpu", "headline")] == "1 / 2"
    assert s.loc["05_sharpness", ("cpu", "diagnoses")] == "0 / 1"
    assert s.loc["05_sharpness", ("cpu", "checks")] == "1 / 1"
    assert s.loc["05_sharpness", ("paper", "paper claims")] == "0 / 1"
    assert s.loc["10_vision_sensitivity", ("cpu", "diagnoses")] == "1 / 1"
    assert s.loc["03_average_sensitivity", ("cpu", "kind unknown")] == "1 / 1"
    assert s.loc["03_average_sensitivity", ("cpu", "paper claims")] == "—"
    assert s.loc["10_vision_sensitivity", ("paper", "paper claims")] == "—"
    paper_rows = scorecard_table(card, kinds=["paper"])
    assert sorted(set(paper_rows.index)) == ["05_sharpness", "10_2_ten_class"] and len(paper_rows) == 7
    assert "★ head holds" in list(paper_rows["claim"]) and "paper holds" in list(paper_rows["claim"])
    assert list(scorecard_table(card, kinds=["check"])["claim"]) == ["check holds"]
    assert list(scorecard_table(card, kinds=[UNKNOWN])["claim"]) == ["old"]
    with pytest.raises(ValueError, match=r"kinds: \['claims'\] are not kinds of claim"):
        scorecard_table(card, kinds=["claims"])


def test_no_claims_no_counts():
    card = scorecard([])
    assert card.empty and summary(card).empty and paper_counts(card).empty and headlines(card) == []


def test_the_paper_of_a_claim():
    assert paper_of("10_vision_sensitivity", "HR24 Fig. 1") == "HR24"  # the reference wins
    assert paper_of("05_sharpness", "V25, §5") == "V25"
    assert paper_of("12_grokking", "this chapter's test") == "V25"  # else the chapter's paper
    assert paper_of("nowhere", "Bhattamishra et al. 2023") == ""
    assert {c.paper for c in CHAPTERS} == {"HR24", "V25"}


def test_the_scorecard_csv_has_a_row_per_claim_and_scale_with_its_kind(tmp_path):
    _plant(tmp_path)
    card = scorecard([tmp_path / "claims"])
    path = write_csv(card, tmp_path / "html" / "scorecard.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == CSV_COLUMNS
    assert CSV_COLUMNS[:5] == ["paper", "chapter", "scale", "kind", "headline"] and "verdict" in CSV_COLUMNS
    assert len(rows) == len(card) == 11
    by = {(r["claim"], r["scale"]): r for r in rows}
    assert by[("head holds", "cpu")]["verdict"] == "holds" and by[("head holds", "paper")]["verdict"] == "fails"
    assert (by[("head holds", "cpu")]["kind"], by[("head holds", "cpu")]["headline"]) == ("paper", "True")
    assert by[("paper untestable", "cpu")]["verdict"] == "not testable"
    assert by[("diag fails", "cpu")]["kind"] == "diagnosis" and by[("old", "cpu")]["kind"] == UNKNOWN
    assert by[("v reading", "cpu")]["paper"] == "V25"


def test_the_book_extension_writes_the_csv_at_the_root_of_the_html(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("scorecard_csv", REPO / "book" / "_ext" / "scorecard_csv.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    monkeypatch.setenv("REPLICATION_CACHE", str(tmp_path))
    monkeypatch.setenv("REPLICATION_SCALE", "cpu")
    monkeypatch.setattr("replication.report.claims.COMMITTED", tmp_path / "no_committed_claims")
    _plant(tmp_path)

    class App:
        outdir = str(tmp_path / "html")
        builder = type("Builder", (), {"format": "html"})()

    ext._finished(App, RuntimeError("the build failed"))
    assert not (tmp_path / "html" / "scorecard.csv").exists()
    ext._finished(App, None)
    with (tmp_path / "html" / "scorecard.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["scale"] for r in rows} == {"cpu", "paper"} and len(rows) == 11  # the book's scale and the paper's
    assert "scorecard_csv: book/_ext" in (REPO / "_config.yml").read_text()


def test_the_claims_of_two_sections_are_counted_under_their_chapter_and_link_to_their_own_pages(tmp_path):
    """Sections record under their own pages; the scorecard counts them in their chapter's row, lists them in reading
    order (the chapter's sections after it, before the next chapter) and links each claim to its own page."""
    from replication.report.anchors import chapter_page
    from replication.report.claims import chapter_of
    from replication.report.verdicts import what_replicates_html

    def c(page, text, holds, kind="paper", headline=False):
        return Claim(page, text, "V25 §5", "p", "m", holds, "cpu", "", kind=kind, headline=headline, section="Runs")

    record([c("11_language_sensitivity", "language", True)], root=tmp_path)
    record([c("10_2_ten_class", "ten held", True, headline=True), c("10_2_ten_class", "ten diag", False, "diagnosis")],
           root=tmp_path)  # fmt: skip
    record([c("10_1_binary_mnist", "binary failed", False, headline=True)], root=tmp_path)
    record([c("09_token_sensitivity", "tokens", True)], root=tmp_path)
    record([c("10_vision_sensitivity", "left from before the sections", True)], root=tmp_path)  # a stale file
    card = scorecard([tmp_path / "claims"])
    assert "left from before the sections" not in set(card["claim"])
    assert list(dict.fromkeys(card["chapter"])) == [
        "09_token_sensitivity",
        "10_1_binary_mnist",
        "10_2_ten_class",
        "11_language_sensitivity",
    ]
    assert chapter_of("10_1_binary_mnist") == chapter_of("10_vision_sensitivity") == "10_vision_sensitivity"
    assert chapter_of("not_a_page") == "not_a_page"
    counts = summary(card)
    assert list(counts.index) == ["09_token_sensitivity", "10_vision_sensitivity", "11_language_sensitivity"]
    row = counts.loc["10_vision_sensitivity"]
    assert row[("cpu", "paper claims")] == "1 / 2" and row[("cpu", "headline")] == "1 / 2"
    assert row[("cpu", "diagnoses")] == "0 / 1"
    html = what_replicates_html(card)
    for page, claim in (("10_1_binary_mnist", "binary failed"), ("10_2_ten_class", "ten held")):
        assert chapter_page(page) == f"notebooks/{page}.html"
        assert f'<a href="../notebooks/{page}.html#runs">{claim}</a>' in html, page
    assert "10_vision_sensitivity.html" not in html
    table = scorecard_table(card)._repr_html_()
    assert "10_vision_sensitivity › 10_1_binary_mnist</th>" in table and ">09_token_sensitivity</th>" in table
    assert 'href="10_2_ten_class.html#claim-cpu-' in table  # the scorecard links a claim to its row on its page
