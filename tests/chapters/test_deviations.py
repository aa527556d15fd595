"""The deviations table: every row names a chapter that exists, says why, and reads its settings from the presets."""

from pathlib import Path

import pytest

from replication.runs.config import SCALES
from replication.experiments import deviations as dev
from replication.runs.encoder import sweep as encoder_sweep

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHAPTERS = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")}
ROWS = dev.DEVIATIONS


def _id(row):
    return f"{row.chapter}:{row.topic}"


def test_there_are_rows_for_every_chapter_so_far():
    have = {r.chapter for r in ROWS}
    for ch in ("01_introduction", "02_transformer_model", "03_average_sensitivity", "04_blowup_bound", "05_sharpness"):
        assert ch in have, f"no deviation listed for {ch}"


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_row_names_an_existing_chapter_and_says_why(row):
    assert row.chapter in CHAPTERS, f"{_id(row)}: no notebook notebooks/{row.chapter}.py"
    assert row.kind in dev.KINDS
    for field in ("topic", "paper", "book", "reason", "effect"):
        assert getattr(row, field).strip(), f"{_id(row)}: empty {field}"


def test_no_duplicates():
    keys = [(r.chapter, r.topic) for r in ROWS]
    assert len(keys) == len(set(keys)), f"duplicate (chapter, topic): {sorted(k for k in keys if keys.count(k) > 1)}"
    texts = [(r.paper, r.book) for r in ROWS]
    assert len(texts) == len(set(texts)), "two rows say the same thing"


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("row", [r for r in ROWS if r.source], ids=_id)
def test_values_are_read_from_the_presets(row, scale):
    presets = dev.SOURCES[row.source]()
    rendered = row.render(scale)
    text = " ".join(rendered[c] for c in ("paper", "book", "reason", "effect"))
    assert "{c." not in text and "{p." not in text, f"{_id(row)}: a placeholder was left unfilled"
    kept = ("paper", "book") if row.kind == "scale" and scale == "ci" else ("paper", "book", "reason", "effect")
    for which, field in dev._PLACEHOLDER.findall(" ".join(getattr(row, c) for c in kept)):  # ci replaces the rest
        cfg = presets["paper" if which == "p" else scale]
        assert row.values(scale, which)[field] == getattr(cfg, field)
        assert dev.show(getattr(cfg, field)) in text, f"{_id(row)}: {field} of the {scale} preset is not shown"


def test_width_row_reads_the_sweep_presets_and_vanishes_at_paper_scale():
    width = next(r for r in ROWS if r.chapter == "05_sharpness" and r.topic == "width")
    cpu = width.render("cpu")
    assert cpu["book"] == str(encoder_sweep.PRESETS["cpu"].d)
    assert cpu["paper"].startswith(str(encoder_sweep.PRESETS["paper"].d))
    assert width.applies("cpu") and not width.applies("paper")


@pytest.mark.parametrize("scale", SCALES)
def test_a_scale_row_is_listed_exactly_where_its_values_differ_from_the_paper(scale):
    listed = set(zip(*[dev.table(scale)[c] for c in ("chapter", "topic")]))
    for row in ROWS:
        if row.kind != "scale":
            assert (row.chapter, row.topic) in listed
            continue
        presets = dev.SOURCES[row.source]()
        differs = any(getattr(presets[scale], f) != getattr(presets["paper"], f) for f in row.book_fields())
        assert ((row.chapter, row.topic) in listed) == differs, _id(row)


def test_ci_scale_rows_give_the_ci_reason():
    t = dev.table("ci")
    assert (t[t["kind"] == "scale"]["reason"] == dev.CI_REASON).all()


def test_for_chapter_accepts_number_prefix_and_stem():
    full = dev.table("cpu")
    expected = full[full["chapter"] == "05_sharpness"].reset_index(drop=True)
    for ch in (5, "05", "05_sharpness"):
        assert dev.for_chapter(ch, "cpu").equals(expected)
    assert len(dev.for_chapter(2, "cpu")) and not len(dev.for_chapter(42, "cpu"))
    with pytest.raises(ValueError, match="chapter number"):
        dev.for_chapter("sharpness")


def test_table_and_styled_page():
    t = dev.table("cpu")
    assert list(t.columns) == dev.COLUMNS
    assert list(t["chapter"]) == sorted(t["chapter"])
    html = dev.styled("cpu").to_html()
    assert "this book (cpu)" in html and "05 sharpness" in html


def test_bad_rows_are_refused():
    with pytest.raises(ValueError, match="kind"):
        dev.Deviation("05_sharpness", "x", "other", "p", "b", "r")
    with pytest.raises(ValueError, match="reason"):
        dev.Deviation("05_sharpness", "x", "convention", "p", "b", " ")
    with pytest.raises(ValueError, match="source"):
        dev.Deviation("05_sharpness", "x", "scale", "p", "{c.d}", "r")
    with pytest.raises(ValueError, match="scale row"):
        dev.Deviation("05_sharpness", "x", "scale", "p", "b", "r")


def test_show_formats_values():
    assert dev.show(10_000) == "10,000" and dev.show(None) == "none" and dev.show(3e-4) == "0.0003"
    assert dev.show(tuple(range(4, 31))) == "4–30"
    assert dev.show((4, 6, 8, 9, 10, 11, 20)) == "4, 6, 8–11, 20"
    assert dev.show(("parity", "mean")) == "parity, mean"


def test_every_source_of_presets_has_them():
    from replication.experiments.deviations import SOURCES

    for name, presets in SOURCES.items():
        assert {"ci", "cpu", "paper"} <= set(presets()), name
