"""results-check judges a recomputation by the claims: planted results that change a verdict, or move a quantity
beyond the seed-to-seed spread, fail the check; float-level differences within it pass."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from replication.report import recheck
from replication.runs.cache import Cache
from replication.runs.chapters import chapter

ROOT = Path(__file__).resolve().parents[3]


def _script():
    spec = importlib.util.spec_from_file_location("make_results", ROOT / "scripts" / "make_results.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _plant(folder: Path, shift: float = 0.0, seeds=(0, 1, 2)) -> None:
    """Three seeds of one run config under kind ``init_sensitivity``: value 1.0, 1.1, 1.2 (+ ``shift`` on seed 0)."""
    c = Cache(folder)
    for s in seeds:
        c.save(
            "init_sensitivity",
            {"config": {"n": 8, "seed": s}, "device": "cpu"},
            {"value": 1.0 + 0.1 * s + (shift if s == 0 else 0.0), "steps": 5, "train_seconds": 3.0 * s + shift},
        )


def test_differences_are_judged_against_the_seed_spread(tmp_path):
    _plant(tmp_path / "old")
    _plant(tmp_path / "near", shift=0.05)  # half a seed-to-seed standard deviation (0.1)
    _plant(tmp_path / "far", shift=0.3)
    near = recheck.entry_differences(tmp_path / "old", tmp_path / "near")
    far = recheck.entry_differences(tmp_path / "old", tmp_path / "far")
    assert set(near["quantity"]) == {"<all numbers>", "value", "steps"}  # timings are left out
    whole = far[far["quantity"] == "<all numbers>"]
    assert whole["within"].isna().all() and whole["rel_diff"].max() == pytest.approx(0.3 / 1.3)
    row = far[(far["quantity"] == "value") & (far["committed"] == 1.0)].iloc[0]
    assert row["seed_sd"] == pytest.approx(0.1) and row["tolerance"] == pytest.approx(0.1) and not row["within"]
    assert near["within"].all() and not far["within"].all()
    assert (far.groupby("entry")["identical"].all().sum()) == 2  # seeds 1 and 2 are unchanged
    same = recheck.entry_differences(tmp_path / "old", tmp_path / "old")
    assert same["identical"].all() and (same["rel_diff"] == 0).all()


def test_an_entry_without_seed_peers_is_reported_not_judged(tmp_path):
    _plant(tmp_path / "old", seeds=(0,))
    _plant(tmp_path / "new", shift=0.5, seeds=(0,))
    d = recheck.entry_differences(tmp_path / "old", tmp_path / "new")
    assert d["within"].isna().all() and d["rel_diff"].max() > 0.3
    assert recheck.summarise("x", "cpu", "m", "full", d, recheck.verdict_changes([], []))["passed"]


def test_verdict_changes_and_the_record(tmp_path):
    a = [
        {"claim": "c1", "holds": True, "measured": "1", "testable": True},
        {"claim": "c2", "holds": False, "measured": "2", "testable": False},
    ]
    b = [
        {"claim": "c1", "holds": False, "measured": "0.5", "testable": True},
        {"claim": "c2", "holds": False, "measured": "3", "testable": False},
    ]
    v = recheck.verdict_changes(a, b)
    assert list(v["changed"]) == [True, False] and list(v["committed"]) == ["holds", "not testable"]
    assert not recheck.verdict_changes(a, a)["changed"].any()
    assert recheck.verdict_changes(a, a[:1])["changed"].tolist() == [False, True]  # a claim gone is a change
    row = recheck.summarise("05_x", "cpu", "box", "full", recheck.entry_differences(tmp_path, tmp_path), v)
    assert not row["passed"] and row["verdicts_changed"] == 1
    path = recheck.append_record(row, tmp_path / "checks.csv")
    recheck.append_record({**row, "chapter": "06_y"}, path)
    t = recheck.record_table(path)
    assert list(t.columns) == recheck.RECORD_COLUMNS and len(t) == 2
    assert recheck.record_table(tmp_path / "none.csv").empty


def test_sample_takes_converged_runs_at_the_longest_inputs_first(tmp_path):
    c = Cache(tmp_path)
    for n, seed, conv in [(4, 0, True), (16, 1, True), (16, 0, True), (30, 0, False)]:
        c.save("sharpness_run", {"config": {"n": n, "seed": seed}, "device": "cpu"}, {"converged": conv})
    picked = recheck.sample_keys(tmp_path, ["sharpness_run"], 2)
    cfgs = [json.loads((tmp_path / k).read_text())["config"]["config"] for k in picked]
    assert cfgs == [{"n": 16, "seed": 0}, {"n": 16, "seed": 1}]
    # only among the entries the chapter reads: the n = 16 seed 0 run is not one of them
    among = {
        k for k in (f"sharpness_run/{p.name}" for p in (tmp_path / "sharpness_run").glob("*.json")) if k != picked[0]
    }
    again = recheck.sample_keys(tmp_path, ["sharpness_run"], 2, among=among)
    assert picked[0] not in again and again[0] == picked[1] and len(again) == 2


def test_the_store_logs_every_committed_entry_it_reads(tmp_path, monkeypatch):
    from replication.runs.store import READ_LOG_ENV, Store

    Cache(tmp_path / "results" / "cpu").save("k", {"a": 1}, {"x": 1})
    log = tmp_path / "read.log"
    monkeypatch.setenv(READ_LOG_ENV, str(log))
    store = Store(cache=tmp_path / "cache", results=tmp_path / "results", mode_="auto", scale="cpu")
    assert store.load("k", {"a": 1}) == {"x": 1} and store.load("k", {"a": 2}) is None
    [line] = log.read_text().split()
    assert (tmp_path / "results" / "cpu" / line).exists() and line.startswith("k/")


@pytest.mark.parametrize("flip, passes", [(False, True), (True, False)])
def test_the_check_fails_on_a_planted_changed_verdict(tmp_path, monkeypatch, flip, passes):
    """The script's check, with the notebook's execution replaced by one that writes planted results and claims:
    recomputed entries within the seed spread pass; a flipped verdict fails."""
    mr = _script()
    committed = tmp_path / "results"
    _plant(committed / "cpu")
    ch = chapter("average_sensitivity")
    assert ch.kinds == ("init_sensitivity",)  # the kind planted

    def fake_execute(nb_, scale, env):
        reading = env["REPLICATION_RESULTS"] == "require"
        if not reading:
            _plant(Path(env["REPLICATION_RESULTS_DIR"]) / scale, shift=0.01)
        claims = Path(env["REPLICATION_CACHE"]) / "claims" / scale / f"{nb_.stem}.json"
        claims.parent.mkdir(parents=True, exist_ok=True)
        holds = not (flip and not reading)
        claims.write_text(json.dumps([{"claim": "c", "holds": holds, "measured": "m", "testable": True}]))
        return 0.0

    monkeypatch.setattr(mr, "execute", fake_execute)
    record = tmp_path / "checks.csv"
    monkeypatch.setattr(mr.recheck, "RECORD", record)
    monkeypatch.setattr(mr.recheck.append_record, "__defaults__", (record,))
    assert mr.check(ch, "cpu", committed, tmp_path / "tmp", {"REPLICATION_RESULTS": "write"}, None, True) is passes
    row = recheck.record_table(record).iloc[0]
    assert row["entries"] == 3 and row["identical"] == 2 and bool(row["passed"]) is passes  # seed 0 shifted
    assert row["verdicts_changed"] == (1 if flip else 0) and row["mode"] == "full"


def test_expectation_is_read_from_the_newest_check_of_each_chapter():
    import pandas as pd

    rows = [  # an old failing check of chapter 10 is superseded by a newer one
        ["2026-01-01", "10_vision", "cpu", "m1", "sampled 1 per kind", 2, 0, 0.9, 3, 8, 1, False],
        ["2026-01-02", "03_average", "cpu", "m1", "full", 60, 60, 0.0, 0, 4, 0, True],
        ["2026-01-03", "10_vision", "cpu", "m2", "sampled 1 per kind", 2, 1, 0.25, 1, 8, 0, False],
    ]
    text = recheck.expectation(pd.DataFrame(rows, columns=recheck.RECORD_COLUMNS))
    assert "each of 2 chapters (1 in full, 1 sampled) ran on 2 machines (m1; m2)" in text
    assert "Of their 62 recomputed entries, 61 came out bit-identical" in text
    assert "0.25 (10_vision)" in text and "0.9" not in text  # the old check of chapter 10 is not read
    assert "Of 12 claims judged on the recomputed results, 0 changed verdict." in text
    assert "1 in 10_vision (sampled 1 per kind)" in text and "reproduce every verdict" in text
    rows[2][10] = 2
    text = recheck.expectation(pd.DataFrame(rows, columns=recheck.RECORD_COLUMNS))
    assert "2 changed verdict (10_vision)" in text and "except those named" in text
    assert "No check" in recheck.expectation(pd.DataFrame(columns=recheck.RECORD_COLUMNS))


def _shares(folder: Path, shift: float, count: int | None) -> None:
    """Three seeds whose sensitivities agree closely (seed SD 0.0001), each counted over ``count`` evaluations (None:
    no count recorded); seed 0 shifted by ``shift``."""
    c = Cache(folder)
    for s in range(3):
        counted = {} if count is None else {"sens_evaluations": count}
        c.save(
            "init_sensitivity",
            {"config": {"n": 8, "seed": s}, "device": "cpu"},
            {"sensitivity": 0.1 + 0.0001 * s + (shift if s == 0 else 0.0), **counted},
        )


def _seed0(old: Path, new: Path):
    d = recheck.entry_differences(old, new)
    return d[(d["quantity"] == "sensitivity") & (d["committed"] == 0.1)].iloc[0]


def test_a_share_is_judged_by_its_seed_spread_and_its_counting_error(tmp_path):
    """Counted over 400 evaluations, p = 0.1 has a binomial standard error sqrt(0.1 · 0.9 / 400) = 0.015; the two
    measurements compared differ by sqrt(2) of that: 0.0212 with the seed SD. A recomputation 0.02 off passes, where
    the seed SD alone (0.0001) flags it; one 0.05 off fails."""
    _shares(tmp_path / "old", 0.0, 400)
    _shares(tmp_path / "near", 0.02, 400)
    _shares(tmp_path / "far", 0.05, 400)
    near, far = _seed0(tmp_path / "old", tmp_path / "near"), _seed0(tmp_path / "old", tmp_path / "far")
    se = (0.1 * 0.9 / 400) ** 0.5
    assert near["seed_sd"] == pytest.approx(0.0001) and 0.02 > near["seed_sd"]  # the SD alone flags it
    assert near["tolerance"] == pytest.approx((0.0001**2 + 2 * se**2) ** 0.5) and near["within"]
    assert near["rule"] == "seed SD + counting error (400 evaluations)"
    assert not far["within"] and far["rule"] == near["rule"]
    assert recheck.binomial_se({"sensitivity": 0.1, "n_evaluations": 400}, "sensitivity") == pytest.approx(se)
    assert recheck.binomial_se({"value": 0.5, "evaluations": 9}, "value") is None  # not a share the table names


def test_a_share_without_a_count_falls_back_to_the_seed_spread_and_says_so(tmp_path):
    _shares(tmp_path / "old", 0.0, None)
    _shares(tmp_path / "near", 0.02, None)
    row = _seed0(tmp_path / "old", tmp_path / "near")
    assert row["tolerance"] == pytest.approx(0.0001) and not row["within"]
    assert row["rule"] == "seed SD (no count recorded)"
    assert recheck.binomial_se({"sensitivity": 0.5}, "sensitivity") is None
    assert recheck.tolerance({"value": 1.0}, "value", 0.1) == (pytest.approx(0.1), "seed SD")
    assert recheck.tolerance({"value": 1.0}, "value", None) == (None, "none (no seed spread)")


def test_scorecard_changes_finds_every_kind_of_change(tmp_path):
    import json

    import pandas as pd

    from replication.report.recheck import scorecard_changes

    def write(root, chapter, claims):
        (root / "cpu").mkdir(parents=True, exist_ok=True)
        (root / "cpu" / f"{chapter}.json").write_text(json.dumps(claims))

    c = {"claim": "a", "holds": True, "testable": True, "measured": "1", "note": "n"}
    write(tmp_path / "before", "01_x", [c, {**c, "claim": "b"}, {**c, "claim": "gone"}])
    write(tmp_path / "after", "01_x", [c, {**c, "claim": "b", "measured": "2", "note": "m"}, {**c, "claim": "new"}])
    write(tmp_path / "before", "02_y", [c])
    write(tmp_path / "after", "02_y", [{**c, "holds": False}])
    d = scorecard_changes(tmp_path / "before", tmp_path / "after").set_index(["chapter", "claim"])
    assert not d.loc[("01_x", "a")][["changed", "measured_changed", "note_changed"]].any()
    assert d.loc[("01_x", "b")][["measured_changed", "note_changed"]].all() and not d.loc[("01_x", "b"), "changed"]
    assert pd.isna(d.loc[("01_x", "gone"), "after"]) and pd.isna(d.loc[("01_x", "new"), "before"])
    assert d.loc[("02_y", "a")][["before", "after"]].tolist() == ["holds", "fails"]
