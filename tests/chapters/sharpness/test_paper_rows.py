"""Paper rows in the book: a planted, partial ``results/paper/`` in a temporary folder is read without training,
counted against the paper's grid, tested (Thm 6 included) and shown in the scorecard beside `cpu` rows."""

from __future__ import annotations

import pytest

from replication.experiments.sharpness import paper
from replication.runs.encoder import sweep
from replication.report.claims import Claim, record, scorecard
from replication.report.view import scorecard_table
from replication.runs.cache import Cache
from replication.runs.store import Store


def _fake_result(run) -> dict:
    """What measure_run stores, with planted values: PARITY's sharpness 0.04·n (≈ 1.2 at n = 30), the others flat."""
    slope = {"parity": 0.04, "majority": 0.002, "first": 0.0, "mean": 0.0}[run.function]
    wiggle = 1e-3 * ((run.seed * 7 + run.n) % 5)
    return {
        "eval_mse": 1e-5,
        "converged": True,
        "steps_run": run.steps,
        "gave_up": False,
        "failed": False,
        "train_seconds": 1.0,
        "switch_step": None,
        "sharpness": slope * run.n + 0.05 + wiggle,
        "sharpness_se": 0.01,
        "delta_mse_sharpness": slope * run.n + 0.05,
        "param_norm": 10.0,
        "measure_seconds": 0.5,
    }


@pytest.fixture
def planted(tmp_path):
    """results/paper/ holding PARITY at every length with 3 seeds and MAJORITY at 3 lengths: a partial sweep."""
    runs = sweep.run_configs(sweep.PRESETS["paper"])
    chosen = [
        r
        for r in runs
        if (r.function == "parity" and r.seed < 3) or (r.function == "majority" and r.n in (4, 16, 30) and r.seed < 3)
    ]
    target = Cache(tmp_path / "results" / "paper")
    for r in chosen:
        target.save(
            "sharpness_run", {"config": r, "device": "cuda"}, _fake_result(r), {"scale": "paper", "machine": "gpu-box"}
        )
    # a run computed on the CPU at paper settings does not stand in for a GPU one
    target.save("sharpness_run", {"config": runs[-1], "device": "cpu"}, _fake_result(runs[-1]), {})
    store = Store(cache=tmp_path / "cache", results=tmp_path / "results", mode_="require", scale="cpu")
    return store, len(chosen), len(runs)


def test_a_partial_paper_sweep_is_read_without_training_and_counted(planted):
    store, stored, total = planted
    df, grid = paper.read_paper(cache=store)
    assert grid == total == 4 * 27 * 10 and len(df) == stored == 27 * 3 + 3 * 3
    assert set(df["source"]) == {"results"} and set(df["device"]) == {"cuda"} and df["kept"].all()
    counts = paper.paper_counts(df)
    assert counts.loc["parity", "stored"] == 81 and counts.loc["majority", "stored"] == 9
    assert counts.loc["first", "stored"] == 0 and counts.loc["parity", "grid"] == 270
    assert "90 of the paper grid's 1080 runs" in paper.describe_paper(df, grid)


def test_the_paper_claims_test_thm6_and_say_the_sweep_is_partial(planted, tmp_path):
    store, _, _ = planted
    df, grid = paper.read_paper(cache=store)
    claims = paper.paper_claims(df, grid)
    assert claims and {c.scale for c in claims} == {"paper"}
    thm6 = next(c for c in claims if "Thm 6" in c.paper_ref)
    assert thm6.testable and thm6.holds and "at n = 30" in thm6.measured
    grows = next(c for c in claims if c.claim.startswith("PARITY's sharpness grows"))
    assert grows.holds  # PARITY's planted slope is 20× MAJORITY's, on PARITY's lengths
    assert all("(PARITY 81/270, MAJORITY 9/270, FIRST 0/270, MEAN 0/270)" in c.note for c in claims)
    assert all("partial paper sweep: 90 of 1080 runs stored" in c.note for c in claims)
    assert {c.section for c in claims} == {"At the paper's settings"}  # they link to the section showing these runs

    root = tmp_path / "claims_root"
    record(claims, root=root)
    record([Claim("05_sharpness", "a cpu claim", "HR24", "1", "1", True, "cpu", kind="paper")], root=root)
    card = scorecard(roots=[root / "claims"])
    assert set(card["scale"]) == {"cpu", "paper"} and (card["scale"] == "paper").sum() == len(claims)
    html = scorecard_table(card)._repr_html_()
    assert html.count("<td>paper</td>") == len(claims) and "<td>cpu</td>" in html


def test_no_paper_runs_means_no_paper_claims(tmp_path):
    store = Store(cache=tmp_path / "cache", results=tmp_path / "results", mode_="require", scale="cpu")
    df, grid = paper.read_paper(cache=store)
    assert df.empty and paper.paper_claims(df, grid) == []
    assert "No `paper`-scale run" in paper.describe_paper(df, grid)
    assert (paper.paper_counts(df)["stored"] == 0).all()
