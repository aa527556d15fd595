"""Chapter 10's fixed-budget protocol: the runs it derives, what one run measures and stores, the released
code's dropout variant, and the tables and claims built from them (on ci-sized runs and planted data)."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from replication.experiments import vision_sensitivity as ch
from replication.experiments.vision_sensitivity.regularisation import claims as reg
from replication.experiments.vision_sensitivity.runs import RELEASED_DROPOUT, fixed_runs
from replication.experiments.vision_sensitivity.ten_class import claims as ten
from replication.measures.output_sharpness import shop_shpred


def _fixed_claims(cfg, checks, sharp, target_runs=None, levels=None, scales=None, binary_matched=None):
    """The fixed-budget protocol's claims in one list, as its two sections make them: the orderings (ten-class
    section), then ShOp / ShPred and the released variant (regularisation section)."""
    return ten.fixed_claims(cfg, checks, target_runs, levels, binary_matched) + reg.sharp_claims(cfg, sharp, scales)


#: The claim builders under the names the tests use.
fc = SimpleNamespace(fixed_claims=_fixed_claims, levels_claim=ten.levels_claim, sharp_claim=reg.sharp_claim)


def test_fixed_runs_keep_the_old_keys_apart_and_cover_the_protocol():
    cfg = ch.VisionConfig.from_params(scale="cpu")
    runs = fixed_runs(cfg)
    plain = [r for r in runs if r.dropout == 0]
    assert len(plain) == 5 * cfg.fixed_seeds and len(runs) - len(plain) == 2 * cfg.released_seeds
    assert all(r.fixed_budget and r.epochs == cfg.fixed_epochs and r.levels == cfg.fixed_levels for r in runs)
    vit = [r for r in runs if r.arch == "vit"]
    assert all(r.sharp_sigmas and r.n_sharp == r.n_train and r.weight_dtype == "float16" for r in vit)
    assert all(not r.sharp_sigmas and r.weight_dtype == "" for r in runs if r.arch != "vit")
    dropped = [r for r in runs if r.dropout]
    assert {(r.method, r.dropout) for r in dropped} == {("plain", RELEASED_DROPOUT), ("reg", RELEASED_DROPOUT)}
    # the runs trained to target_acc keep their keys: tests/core/runs/test_keys.py pins both
    assert fixed_runs(dataclasses.replace(cfg, fixed_seeds=0, released_seeds=0)) == []


@pytest.mark.parametrize(
    "param,value",
    [
        ("fixed_seeds", -1),
        ("fixed_epochs", 0),
        ("fixed_levels", "[0.9, 0.8]"),
        ("fixed_weights", '["rnn"]'),
        ("fixed_sharp_sigmas", "[0.05, 0.01]"),
        ("fixed_sharp_repeats", 1),
        ("released_seeds", "two"),
    ],
)
def test_bad_fixed_budget_settings_stop_naming_the_parameter(param, value):
    if param in ch.VisionConfig.PARAMS:
        with pytest.raises(ValueError, match=param):
            ch.VisionConfig.from_params(scale="ci", **{param: value})
    from replication.checks import _parse  # how from_params reads a string

    with pytest.raises(ValueError, match=param):
        dataclasses.replace(ch.PRESETS["ci"], **{param: _parse(value) if isinstance(value, str) else value})


def test_shop_shpred_in_train_mode_counts_dropout_changes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    x = torch.randn(400, 5)
    tiny = 1e-9  # parameter noise too small to change anything
    assert shop_shpred(model, x, tiny, 2, torch.Generator().manual_seed(1))["shpred"] == 0
    torch.manual_seed(2)
    r = shop_shpred(model, x, tiny, 2, torch.Generator().manual_seed(1), train_mode=True)
    assert r["shpred"] > 0.05 and r["shop"] > 0.01 and not model.training


@pytest.mark.slow
def test_a_fixed_budget_run_trains_every_epoch_and_stores_its_checkpoints():
    cfg = ch.VisionConfig.from_params(scale="ci", fixed_levels="[0.05, 0.1]")
    runs = fixed_runs(cfg)
    vit = next(r for r in runs if r.arch == "vit" and r.method == "plain" and not r.dropout)
    vit = dataclasses.replace(vit, target_acc=0.01)  # would stop at once under the target protocol
    out = ch.measure_vision(vit)
    assert out["epochs_run"] == 2 and [r["name"] for r in out["checkpoints"]] == ["acc0", "acc1", "final"]
    assert out["checkpoints"][0]["epoch"] == 0  # 10 classes at initialisation: about 0.1 >= 0.05
    assert set(out["weights"]) == {"final"}
    assert all(v.dtype == torch.float16 for v in out["weights"]["final"].values())
    assert [(s["sigma"], s["mode"]) for s in out["sharp_sweep"]] == [(0.01, "eval"), (0.05, "eval")]
    assert out["sharp_sweep"][0]["shop"] < out["sharp_sweep"][1]["shop"]
    dropped = next(r for r in runs if r.dropout)
    out = ch.measure_vision(dropped)
    assert {s["mode"] for s in out["sharp_sweep"]} == {"eval", "train"}
    modes = {(s["sigma"], s["mode"]): s["shpred"] for s in out["sharp_sweep"]}
    assert np.isfinite(list(modes.values())).all()
    mlp = next(r for r in runs if r.arch == "mlp")
    out = ch.measure_vision(mlp)
    assert "weights" not in out and out["sharp_sweep"] == [] and len(out["checkpoints"]) >= 1


def _planted_checks(vit: float, other: float, seeds: int = 4) -> "pd.DataFrame":
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = []
    for model, level in (("ViT", vit), ("CNN", other), ("MLP", other)):
        for s in range(seeds):
            for name, lv in (("acc0", 0.9), ("acc1", 0.95), ("final", None)):
                rows.append(
                    {
                        "model": model,
                        "seed": s,
                        "name": name,
                        "level": lv,
                        "epoch": 3,
                        "train_acc": 0.97,
                        "sensitivity": level * (1 + 0.05 * rng.standard_normal()),
                    }
                )
    return pd.DataFrame(rows)


def _planted_sharp(plain: float, reg: float, seeds: int = 4) -> "pd.DataFrame":
    import pandas as pd

    rng = np.random.default_rng(1)
    rows = []
    for dropout, modes in ((0.0, ("eval",)), (RELEASED_DROPOUT, ("eval", "train"))):
        for method, v in (("plain", plain), ("reg", reg)):
            for s in range(seeds):
                for sigma in (0.005, 0.01, 0.05):
                    for mode in modes:
                        x = v * sigma / 0.01 * (1 + 0.05 * rng.standard_normal())
                        rows.append(
                            {
                                "model": method,
                                "arch": "vit",
                                "method": method,
                                "dropout": dropout,
                                "seed": s,
                                "sigma": sigma,
                                "mode": mode,
                                "shop": 10 * x,
                                "shpred": x,
                            }
                        )
    return pd.DataFrame(rows)


def _planted_levels(vit_over_others: dict, seeds: int = 4) -> "pd.DataFrame":
    import pandas as pd

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


def test_fixed_claims_hold_and_fail_on_planted_data():
    from replication.experiments.vision_sensitivity import fixed

    cfg = ch.PRESETS["cpu"]
    good = fc.fixed_claims(
        cfg,
        _planted_checks(0.01, 0.03),
        _planted_sharp(0.06, 0.03),
        None,
        _planted_levels({0.5: 0.3, 1.0: 0.3, 4.0: 0.5}),
    )
    assert [c.holds for c in good] == [True] * 6
    assert "sigma = 0.01" in good[3].note  # the smallest level with plain ShPred >= 0.05 (0.06 at 0.01)
    turn = _planted_levels({0.5: 3.0, 1.0: 2.0, 4.0: 0.5})
    bad = fc.fixed_claims(cfg, _planted_checks(0.03, 0.01), _planted_sharp(0.03, 0.06), None, turn)
    assert [c.holds for c in bad] == [False] * 6 and all(c.testable for c in bad)
    assert "fails" in bad[0].note and "× the CNN's" in bad[0].note
    assert "below both at 4 × sigma and not at 0.5, 1 × sigma" in bad[1].note and "sweep" not in bad[0].note
    assert "fails at 2 of 3 levels" in bad[2].note
    assert fixed.reached_levels(_planted_checks(0.01, 0.03), fixed.PLAIN) == [0.9, 0.95]
    empty = fc.fixed_claims(cfg, _planted_checks(0.01, 0.03).iloc[:0], _planted_sharp(0.06, 0.03).iloc[:0])
    assert not any(c.testable for c in empty)


@pytest.mark.slow
def test_fixed_tables_on_a_ci_run(tmp_path):
    from replication.experiments.vision_sensitivity import fixed
    from replication.runs.store import Store

    cfg = ch.VisionConfig.from_params(scale="ci", architectures='["vit", "mlp"]', fixed_levels="[0.05]")
    store = Store(cache=tmp_path, mode_="off", scale="ci")
    runs, results = fixed.fixed_table(cfg, cache=store)
    assert len(runs) == len(fixed_runs(cfg)) == 4 + 2  # vit plain, mlp, vit reg, vit aug; the dropout pair
    checks = fixed.fixed_checkpoints(runs, results)
    assert set(checks["name"]) == {"acc0", "final"}
    assert len(fixed.fixed_matched_table(checks)) > 0 and len(fixed.fixed_settle(cfg, runs, results)) == 6
    sharp = fixed.sharp_long(runs, results)
    assert set(sharp["mode"]) == {"eval", "train"} and len(fixed.sharp_table(sharp)) > 0
    assert "6 of" in fixed.fixed_status(dataclasses.replace(cfg, fixed_seeds=2), runs)
    levels = fixed.fixed_noise_levels(runs, results)
    assert len(levels) == 4 * len(cfg.posthoc_levels) and levels["sensitivity"].between(0, 1).all()
    one = levels[levels["ratio"] == 1.0].set_index("model")["sensitivity"]
    final = checks[checks["name"] == "final"]
    assert one["ViT"] == final[final["model"] == "ViT"]["sensitivity"].iloc[0]  # sigma itself: the full measure
    scales = fixed.logit_scales(cfg, runs, results)
    assert (
        len(scales) == 5 and (scales["mean_abs_logit"] > 0).all()
    )  # the ViTs: plain, reg, aug; with dropout plain, reg
    claims = fc.fixed_claims(cfg, checks, sharp, None, levels, scales)
    assert len(claims) == 6 and not any(c.holds for c in claims)  # one seed: nothing is testable


def test_the_fixed_budget_figures_draw_what_they_are_given():
    import matplotlib

    matplotlib.use("Agg")
    from replication.plots import vision_sensitivity as plots

    sharp = _planted_sharp(0.06, 0.03)
    sharp["model"] = [
        ("ViT" if m == "plain" else "ViT + reg") + (" (dropout 0.1)" if d else "")
        for m, d in zip(sharp["method"], sharp["dropout"])
    ]
    axes = plots.sharpness_levels(sharp)
    assert len(axes[1].get_legend().get_texts()) == 2 + 2 * 2  # no dropout: eval; dropout: eval and train
    assert axes[0].get_xscale() == "log"
    ax = plots.noise_levels(_planted_levels({0.5: 2.0, 4.0: 0.5}))  # no blank / informative parts: one panel
    assert len(ax.get_lines()) == 3 * (4 + 1) + 1  # per model 4 seeds and the mean, and sigma's vertical line
    marked = plots.noise_levels(_planted_levels({0.5: 2.0, 4.0: 0.5}), marks={"a": 3.2, "b": 5.7})
    assert len(marked.get_lines()) == 3 * 5 + 1 + 2 and "V25's noise on [0, 1] pixels" in [
        t.get_text() for t in marked.get_legend().get_texts()
    ]  # one legend entry for both marks


def test_a_level_without_a_test_fails_and_an_unreached_power_level_is_said():
    cfg = ch.PRESETS["cpu"]
    levels = _planted_levels({0.5: 0.3, 1.0: 0.3})
    flat = (levels["ratio"] == 0.5) & levels["model"].isin(["ViT", "MLP"])
    levels.loc[flat, "sensitivity"] = 0.0  # ViT and MLP both all zero: no test possible at that level
    claim = fc.levels_claim(cfg, levels)
    assert not claim.holds and "fails at 1 of 2 levels" in claim.note
    weak = _planted_sharp(0.001, 0.0005)  # ShPred far below 0.05 at every sigma
    c = fc.sharp_claim(cfg, weak, "shpred")
    assert "the largest of 0.005, 0.01, 0.05: at none does" in c.note and "sigma = 0.05" in c.note
    assert "the smallest of" in fc.sharp_claim(cfg, _planted_sharp(0.06, 0.03), "shpred").note


def test_a_run_that_misses_a_level_takes_the_level_out_of_the_comparison():
    from replication.experiments.vision_sensitivity import fixed

    checks = _planted_checks(0.01, 0.03)
    missed = (checks["model"] == "CNN") & (checks["seed"] == 1) & (checks["name"] == "acc1")
    assert fixed.reached_levels(checks[~missed], fixed.PLAIN) == [0.9]
    table = fixed.fixed_matched_table(checks[~missed])
    assert {c for c, _ in table.index} == {"train acc ≥ 0.9", "end of budget"}


def test_only_the_released_claim_without_the_fixed_seeds():
    cfg = dataclasses.replace(ch.PRESETS["cpu"], fixed_seeds=0)
    claims = fc.fixed_claims(cfg, _planted_checks(0.01, 0.03), _planted_sharp(0.06, 0.03))
    assert len(claims) == 1 and claims[0].holds and "train mode exceeds eval mode" in claims[0].note


def test_the_shop_note_reads_shop_against_the_logits_size():
    import pandas as pd

    cfg = ch.PRESETS["cpu"]
    sharp = _planted_sharp(0.06, 0.03)  # ShOp halves with the regulariser
    scales = pd.DataFrame(
        [
            {"method": m, "dropout": 0.0, "seed": s, "mean_abs_logit": v}
            for s in range(4)
            for m, v in (("plain", 4.0), ("reg", 1.0))
        ]
    )  # logits 4x smaller
    note = fc.sharp_claim(cfg, sharp, "shop", scales).note
    assert "(0.25×)" in note and "comes from the logits' smaller scale" in note
    scales.loc[scales["method"] == "reg", "mean_abs_logit"] = 3.9  # logits about as large: ShOp's fall is real
    assert "falls by more than the logits' scale does" in fc.sharp_claim(cfg, sharp, "shop", scales).note


def test_a_failing_matched_ordering_cites_the_binary_sweep_at_matched_accuracy():
    import pandas as pd

    sweep = pd.DataFrame(
        [
            {"arch": a, "seed": s, "ratio": r, "sensitivity": v}
            for s in range(2)
            for r, (vv, mm) in zip((1.0, 4.0), ((0.03, 0.01), (0.04, 0.09)))
            for a, v in (("vit", vv), ("mlp", mm))
        ]
    )
    bad = fc.fixed_claims(
        ch.PRESETS["cpu"], _planted_checks(0.03, 0.01), _planted_sharp(0.06, 0.03), None, None, None, sweep
    )
    assert "binary models at their matched-accuracy checkpoints" in bad[0].note and "the MLP's." in bad[0].note
    assert "binary models" not in bad[1].note
