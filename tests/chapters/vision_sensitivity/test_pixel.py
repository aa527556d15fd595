"""Chapter 10's pixel-scale reruns: which multiples of sigma V25's variances are on [0, 1] pixels, the runs that
measure there, the check that a rerun gives its first run's numbers, and the diagnosis claim (on ci-sized runs and
planted data)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from replication.experiments import vision_sensitivity as ch
from replication.experiments.vision_sensitivity import fixed, pixel
from replication.experiments.vision_sensitivity.noise_readings import claims as nr
from replication.experiments.vision_sensitivity.runs import fixed_runs
from replication.tasks import images as vision_data


def _planted_levels(vit_over_others: dict, seeds: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        [
            {
                "model": m,
                "seed": s,
                "ratio": r,
                "sensitivity": 0.02 * r * (f if m == "ViT" else 1) * (1 + 0.05 * rng.standard_normal()),
            }
            for r, f in vit_over_others.items()
            for m in ("ViT", "CNN", "MLP")
            for s in range(seeds)
        ]
    )


def test_the_multiples_are_the_pixel_spread_read_back():
    cfg = ch.PRESETS["cpu"]
    std = float(vision_data.load_mnist().x_train.std())
    same, v25 = pixel.pixel_multiples(cfg).values()
    assert same == pytest.approx(1 / std, abs=5e-4) and v25 == pytest.approx(5**0.5 / (std * cfg.noise_sigma), abs=5e-4)
    # a sigma s on [0, 1] pixels is s / std standardised units: the chapter's sigma on [0, 1] is `same` x sigma
    assert (cfg.noise_sigma * same) * std == pytest.approx(cfg.noise_sigma, rel=1e-3)
    text = pixel.noise_units(cfg, _planted_levels({2.0: 2.0, 4.0: 0.5}))
    assert f"{same:g} × the chapter's sigma" in text and f"{v25:g} × the chapter's sigma" in text
    assert "At 4 × sigma, the measured level nearest V25's Fashion-MNIST variance" in text and "order is ViT <" in text


def test_pixel_runs_train_the_fixed_budget_models_and_only_measure_elsewhere():
    cfg = ch.PRESETS["cpu"]
    runs = pixel.pixel_runs(cfg)
    assert len(runs) == 3 * cfg.pixel_seeds and {r.method for r in runs} == {"plain"}
    first = {(r.arch, r.seed): r for r in fixed_runs(cfg) if r.method == "plain" and not r.dropout}
    training = (
        "dataset",
        "n_train",
        "arch",
        "seed",
        "lr",
        "batch_size",
        "epochs",
        "fixed_budget",
        "levels",
        "sigma",
        "repeats",
        "n_sens",
        "curve_sens",
        "n_eval",
        "dropout",
    )  # what the model and its measures depend on
    for r in runs:
        f = first[(r.arch, r.seed)]
        assert all(getattr(r, k) == getattr(f, k) for k in training)
        assert r.noise_levels == tuple(sorted(pixel.pixel_multiples(cfg).values())) and not r.weight_dtype
    assert pixel.pixel_runs(dataclasses.replace(cfg, pixel_seeds=0)) == []
    with pytest.raises(ValueError, match="pixel_seeds"):
        ch.VisionConfig.from_params(scale="ci", pixel_seeds=-1)
    assert len(pixel.pixel_runs(dataclasses.replace(cfg, fixed_seeds=2))) == 3 * 2  # reruns of the fixed seeds only


def test_a_rerun_gives_the_first_runs_numbers(tmp_path):
    from replication.runs.store import Store

    cfg = ch.VisionConfig.from_params(
        scale="ci", architectures='["vit", "mlp"]', fixed_levels="[0.05]", released_seeds=0
    )
    store = Store(cache=tmp_path, mode_="off", scale="ci")
    fruns, fresults = fixed.fixed_table(cfg, cache=store, configs=[r for r in fixed_runs(cfg) if r.method == "plain"])
    pruns, presults = pixel.pixel_table(cfg, cache=store)
    table = pixel.reproduced(fruns, fresults, pruns, presults)
    assert len(table) == 2 and (table["max |Δ| per epoch"] == 0).all() and (table["max |Δ| at checkpoints"] == 0).all()
    assert (table["final sensitivity (first run)"] == table["final sensitivity (rerun)"]).all()
    assert (table[pixel.DIFFS] == 0).all(axis=None) and "exactly" in pixel.describe_reproduced(cfg, table, pruns)
    assert "stored at this scale: 1 of 2" in pixel.describe_reproduced(cfg, table, pruns.iloc[:1])
    assert "CPU-minutes" in pixel.describe_reproduced(cfg, table, pruns)
    levels = pixel.all_levels(fruns, fresults, pruns, presults)
    extra = sorted(pixel.pixel_multiples(cfg).values())
    assert sorted(set(levels["ratio"])) == sorted({*cfg.posthoc_levels, *extra})
    assert len(levels) == 2 * (len(cfg.posthoc_levels) + len(extra))
    moved = [dict(res, history=[{**h, "train_acc": h["train_acc"] + 0.01} for h in res["history"]]) for res in presults]
    worse = pixel.reproduced(fruns, fresults, pruns, moved)
    assert worse["max |Δ| per epoch"].min() == pytest.approx(
        0.01
    ) and "2 of 2 reruns differ" in pixel.describe_reproduced(cfg, worse, pruns)


def test_the_pixel_claim_holds_fails_and_says_when_it_cannot_be_tested():
    cfg = ch.PRESETS["cpu"]
    mult = {"a": 3.245, "b": 5.679}
    good = nr.pixel_claim(cfg, _planted_levels({1.0: 2.0, 3.245: 0.5, 5.679: 0.4}), mult)
    assert (
        good.holds
        and good.testable
        and "explains the ordering that fails" in good.note
        and "3.245 × sigma" in good.note
    )
    # the premise is checked: where the ViT is already the least sensitive at sigma nothing needs explaining
    already = nr.pixel_claim(cfg, _planted_levels({1.0: 0.5, 3.245: 0.5, 5.679: 0.4}), mult)
    assert already.holds and "explains" not in already.note
    bad = nr.pixel_claim(cfg, _planted_levels({1.0: 2.0, 3.245: 1.5, 5.679: 0.4}), mult)
    assert not bad.holds and bad.testable and "explains" not in bad.note
    one = nr.pixel_claim(cfg, _planted_levels({3.245: 0.5, 5.679: 0.4}, seeds=1), mult)
    assert not one.testable
    # the grid alone (no rerun stored) is not a test at the multiples, however many seeds it has
    grid = nr.pixel_claim(cfg, _planted_levels({1.0: 2.0, 4.0: 0.5}), mult)
    assert not grid.testable and "each pixel-scale level" in grid.note
    partial = _planted_levels({1.0: 2.0, 3.245: 0.5, 5.679: 0.4})
    partial = partial[~((partial["ratio"] > 3) & (partial["model"] == "CNN") & (partial["seed"] > 0))]
    assert not nr.pixel_claim(cfg, partial, mult).testable  # one CNN rerun: not enough
    zeros = _planted_levels({3.245: 0.5, 5.679: 0.4}).assign(sensitivity=0.0)
    assert not nr.pixel_claim(cfg, zeros, mult).holds  # no test possible: the claim cannot rest on it


def test_noise_units_name_an_order_only_where_every_model_is_measured():
    cfg = ch.PRESETS["cpu"]
    levels = _planted_levels({2.0: 2.0, 4.0: 0.5})
    vit_only = _planted_levels({3.245: 0.5})
    text = pixel.noise_units(cfg, pd.concat([levels, vit_only[vit_only["model"] == "ViT"]]))
    assert "At 4 × sigma, the measured level nearest the same sigma" in text and "At 3.245" not in text


def test_reproduced_counts_every_kind_of_difference():
    hist = [{"epoch": e, "train_acc": 0.5, "test_acc": 0.5, "train_loss": 1.0, "sensitivity": 0.1} for e in range(3)]
    checks = [{"name": "acc0", "epoch": 1, "sensitivity": 0.2}, {"name": "final", "epoch": 2, "sensitivity": 0.1}]
    first = {"history": hist, "checkpoints": checks, "sensitivity": 0.1}
    runs = pd.DataFrame([{"arch": "vit", "method": "plain", "seed": 0, "dropout": 0.0}])
    same = pixel.reproduced(runs, [first], runs, [first])
    assert (same[pixel.DIFFS] == 0).all(axis=None)
    moved = dict(first, checkpoints=[dict(checks[0], sensitivity=0.25), checks[1]])
    t = pixel.reproduced(runs, [first], runs, [moved])
    assert t[pixel.DIFFS[1]].iloc[0] == pytest.approx(0.05) and t[pixel.DIFFS[0]].iloc[0] == 0
    cfg = ch.PRESETS["cpu"]
    assert "1 of 1 reruns differ" in pixel.describe_reproduced(cfg, t, runs)
    nan = dict(first, history=[dict(hist[0], sensitivity=float("nan"))] + hist[1:])
    assert pixel.reproduced(runs, [first], runs, [nan])[pixel.DIFFS[0]].iloc[0] == np.inf
    shorter = dict(first, history=hist[:2])
    assert pixel.reproduced(runs, [first], runs, [shorter])[pixel.DIFFS[0]].iloc[0] == np.inf
    assert "None of the 15 reruns" in pixel.describe_reproduced(cfg, t.iloc[:0], runs.iloc[:0])
    other = runs.assign(seed=1)  # no first run of that seed: not compared
    assert pixel.reproduced(runs, [first], other, [first]).empty


def test_the_book_build_reads_what_is_committed_and_leaves_the_rest_out(tmp_path):
    from replication.runs.stored import missing, stored_results
    from replication.experiments.vision_sensitivity.measure import measure_vision
    from replication.experiments.vision_sensitivity.runs import KIND
    from replication.runs.store import Store

    cfg = ch.VisionConfig.from_params(
        scale="ci", architectures='["mlp"]', fixed_levels="[0.05]", fixed_seeds=2, pixel_seeds=2
    )
    first, second = pixel.pixel_runs(cfg)
    writer = Store(cache=tmp_path / "w", results=tmp_path / "results", mode_="write", scale="cpu")
    wruns, wresults = pixel.pixel_table(cfg, cache=writer, configs=[first])
    reader = Store(cache=tmp_path / "r", results=tmp_path / "results", mode_="require", scale="cpu")
    runs, results = pixel.pixel_table(cfg, cache=reader)  # the second is not committed: left out, nothing trains
    assert len(runs) == 1 and list(runs["source"]) == ["results"] and results == wresults
    assert runs["sensitivity"].iloc[0] == wruns["sensitivity"].iloc[0]
    kept, res, table = stored_results([second, first], measure_vision, KIND, reader)
    assert kept == [first] and table is None and res == wresults
    assert missing(KIND, [second, first], reader) == [second] and missing(KIND, [first], reader, device="cuda") == [
        first
    ]


def test_the_binary_models_are_read_at_the_pixel_scale_from_their_stored_weights(tmp_path):
    from replication.experiments.vision_sensitivity import posthoc
    from replication.runs.store import Store

    cpu = ch.PRESETS["cpu"]
    runs = pixel.pixel_posthoc_runs(cpu)
    first = posthoc.posthoc_runs(cpu) + posthoc.matched_posthoc_runs(cpu)
    mult = sorted(pixel.pixel_multiples(cpu).values())
    assert [(r.binary, r.checkpoint) for r in runs] == [(r.binary, r.checkpoint) for r in first]
    assert all(r.whole_sigmas == () and np.allclose(np.array(r.sigmas) / r.binary.sigma, mult) for r in runs)
    assert pixel.pixel_posthoc_runs(dataclasses.replace(cpu, pixel_seeds=0)) == []

    cfg = ch.PRESETS["ci"]
    store = Store(cache=tmp_path, mode_="off", scale="ci")
    ch.binary_table(cfg, store)
    pruns, presults = ch.posthoc_table(cfg, store, configs=pixel.pixel_posthoc_runs(cfg))
    levels = ch.level_table(pruns, presults)
    assert set(levels["checkpoint"]) <= {"final", f"acc{len(cfg.binary_levels) - 1}"} and "final" in set(
        levels["checkpoint"]
    )
    ci_mult = sorted(pixel.pixel_multiples(cfg, binary=True).values())  # from the ci binary runs' own images
    assert np.allclose(sorted(set(levels["ratio"].round(6))), ci_mult, atol=1e-6) and all(
        not r["whole"] for r in presults
    )
    # each level draws its noise afresh from one seed: a level measured inside a longer sweep (as the second of
    # three here) gives what it gives alone, so the pixel-scale measures use the full sweeps' draws
    one = pruns[0].sigmas[1]
    swept = dataclasses.replace(pruns[0], sigmas=(0.5 * one, one, 2 * one))
    assert ch.measure_posthoc(swept, store=store)["levels"][1]["sensitivity"] == presults[0]["levels"][1]["sensitivity"]


def test_the_pixel_claims_cover_both_experiments():
    cfg = ch.PRESETS["cpu"]
    mult = pixel.pixel_multiples(cfg)
    ten = _planted_levels({1.0: 2.0, **{v: 0.5 for v in mult.values()}})
    rows = []
    for point in ("final", "acc4"):
        b = _planted_levels({v: 0.5 if point == "final" else 1.5 for v in mult.values()})
        rows.append(b[b["model"] != "CNN"].assign(checkpoint=point))
    grid = _planted_levels({1.0: 2.0})
    grid = grid[grid["model"] != "CNN"]
    claims = nr.pixel_claims(cfg, ten, pd.concat(rows, ignore_index=True), grid, grid)
    assert [c.holds for c in claims] == [True, True, False] and all(c.testable for c in claims)
    assert "than the MLP" in claims[1].claim and "matched training accuracy" in claims[2].claim
    assert "explains" in claims[0].note and "explains" in claims[1].note
    assert len(nr.pixel_claims(dataclasses.replace(cfg, posthoc_matched=False), ten, pd.concat(rows))) == 2
    assert nr.pixel_claims(dataclasses.replace(cfg, pixel_seeds=0), ten, ten) == []


def test_the_multiples_follow_the_data_set_and_the_subset():
    cpu = ch.PRESETS["cpu"]
    small = dataclasses.replace(cpu, n_train=500)
    std = float(vision_data.load_mnist().subset(500, None).std.mean())
    assert pixel.pixel_multiples(small)[next(iter(pixel.pixel_multiples(small)))] == round(1 / std, 3)
    assert pixel.pixel_multiples(cpu, binary=True) == pixel.pixel_multiples(cpu)  # the same images at cpu
