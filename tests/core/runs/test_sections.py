"""The chapter registry's sections: a section resolves to its chapter, :func:`section` finds it by stem, number, name
or module, :func:`pages` lists every page in reading order, and every page records its claims in a file of its own."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from replication.report.claims import claims_for, record
from replication.runs.chapters import CHAPTERS, Section, chapter, page, pages, section

ROOT = Path(__file__).resolve().parents[3]
VISION = "replication.experiments.vision_sensitivity"


def test_a_section_has_its_stem_and_resolves_to_its_chapter():
    s = section("10_1_binary_mnist")
    assert (s.number, s.name, s.stem, s.chapter_number) == ("10.1", "binary_mnist", "10_1_binary_mnist", "10")
    assert section("10.1") is s and section("binary_mnist") is s and section(f"{VISION}.binary_mnist.claims") is s
    for key in ("10_1_binary_mnist", "10.1", "binary_mnist", f"{VISION}.binary_mnist.claims", "10_4_regularisation"):
        assert chapter(key).stem == "10_vision_sensitivity", key
    assert chapter("10").sections[2] is section("10_3_noise_readings")


def test_section_refuses_what_is_not_a_section():
    for key in ("10_vision_sensitivity", "10.9", "sharpness", f"{VISION}.analysis", "05_sharpness"):
        with pytest.raises(ValueError, match="no section"):
            section(key)
    with pytest.raises(ValueError, match="NN.k"):
        Section("10", "x", "t")
    with pytest.raises(ValueError, match="NN.k"):
        Section("1.1", "x", "t")


def test_page_is_the_section_where_there_is_one_else_the_chapter():
    assert page(f"{VISION}.ten_class.claims") == "10_2_ten_class"
    assert page(f"{VISION}.analysis") == "10_vision_sensitivity"
    assert page("replication.experiments.sharpness") == "05_sharpness"
    assert claims_for(f"{VISION}.noise_readings.claims").chapter == "10_3_noise_readings"
    assert claims_for("replication.experiments.introduction").chapter == "01_introduction"


def test_pages_are_the_chapters_each_followed_by_its_sections():
    order = pages()
    assert order[:2] == ["01_introduction", "02_transformer_model"]
    i = order.index("10_vision_sensitivity")
    assert order[i : i + 6] == [
        "10_vision_sensitivity",
        "10_1_binary_mnist",
        "10_2_ten_class",
        "10_3_noise_readings",
        "10_4_regularisation",
        "11_language_sensitivity",
    ]
    assert len(order) == len(set(order)) == len(CHAPTERS) + sum(len(c.sections) for c in CHAPTERS)
    assert [p for p in order if p in {c.stem for c in CHAPTERS}] == [c.stem for c in CHAPTERS]
    numbers = [s.number for c in CHAPTERS for s in c.sections]
    assert all(n.split(".")[0] == c.number for c in CHAPTERS for n in (s.number for s in c.sections))
    assert numbers == sorted(numbers, key=lambda n: tuple(map(int, n.split("."))))


def _page_module(stem: str) -> str:
    c = chapter(stem)
    return c.module if stem == c.stem else f"{c.module}.{section(stem).name}"


def test_no_two_pages_record_into_the_same_claims_file(tmp_path):
    """Each page's claims (made by its code's ``claims_for``) land in a file of their own: recording every page's
    leaves one file per page, each holding only its own claim."""
    for stem in pages():
        make = claims_for(_page_module(stem))
        assert make.chapter == stem
        record([make(f"planted on {stem}", "V25 §5", "1", "1", True, "ci", kind="check")], root=tmp_path)
    files = sorted((tmp_path / "claims" / "ci").glob("*.json"))
    assert [f.stem for f in files] == sorted(pages())
    for f in files:
        (c,) = json.loads(f.read_text())
        assert (c["chapter"], c["claim"]) == (f.stem, f"planted on {f.stem}")


def test_a_record_of_two_pages_is_refused(tmp_path):
    a = claims_for(f"{VISION}.binary_mnist.claims")("a", "V25", "1", "1", True, "ci", kind="check")
    b = claims_for(f"{VISION}.ten_class.claims")("b", "V25", "1", "1", True, "ci", kind="check")
    with pytest.raises(ValueError, match="one chapter and one scale"):
        record([a, b], root=tmp_path)


def _makes_claims(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "claims_for" for n in ast.walk(tree))


@pytest.mark.parametrize("ch", [c for c in CHAPTERS if c.sections], ids=lambda c: c.stem)
def test_a_sectioned_chapter_makes_its_claims_in_its_sections(ch):
    """In a chapter split into sections, every claim is made in a section's subpackage (so it is recorded under
    that section's page), none by the modules the sections share."""
    package = ROOT / "replication" / "experiments" / ch.name
    shared = [p.name for p in package.glob("*.py") if _makes_claims(p)]
    assert not shared, f"{ch.stem}: modules shared by its sections make claims: {shared}"
    for s in ch.sections:
        assert any(_makes_claims(p) for p in (package / s.name).glob("*.py")), f"{s.stem} makes no claims"
