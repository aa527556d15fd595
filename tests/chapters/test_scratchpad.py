"""Chapter 08: the scratchpad step's exact sensitivity, the chapter's config, its statistics and one tiny run."""

import numpy as np
import pandas as pd
import pytest
import torch

from replication.tasks import boolean
from replication.measures import sensitivity
from replication.experiments import scratchpad as ch
from replication.models.seq2seq import prefix_parities


# --------------------------------------------------------------------------------------------------
# Theory (HR24 Thm 7)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 10])
def test_scratchpad_step_has_sensitivity_two_whatever_n(n):
    """Exact enumeration: every step after the first reads two bits and flips with each, so as = 2; PARITY: n."""
    for i in range(1, n + 1):
        expected = 1.0 if i == 1 else 2.0  # t_0 = 0 is fixed, so step 1 reads x_1 alone
        assert sensitivity.average_sensitivity(boolean.scratchpad_step(n, i), n + i - 1) == expected
    assert sensitivity.average_sensitivity("parity", n) == n


def test_scratchpad_step_by_hand():
    f = boolean.scratchpad_step(3, 3)  # reads [x1, x2, x3, t1, t2] and returns x3 XOR t2
    x = torch.tensor([[0, 0, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 0, 1, 0], [1, 1, 0, 0, 1]])
    assert f(x).tolist() == [1.0, 0.0, 0.0, 1.0]
    assert boolean.scratchpad_step(3, 1)(torch.tensor([[1, 0, 0], [0, 1, 1]])).tolist() == [1.0, 0.0]


def test_scratchpad_step_agrees_with_prefix_parities_on_true_scratchpads():
    x = boolean.all_strings(6).long()
    t = prefix_parities(x)
    for i in range(1, 7):
        seen = torch.cat([x, t[:, : i - 1]], dim=1)
        assert torch.equal(boolean.scratchpad_step(6, i)(seen).long(), t[:, i - 1])


@pytest.mark.parametrize("n,i,match", [(0, 1, "n"), (4, 0, "i"), (4, 5, "i")])
def test_scratchpad_step_rejects_bad_arguments(n, i, match):
    with pytest.raises(ValueError, match=match):
        boolean.scratchpad_step(n, i)


def test_theory_table():
    t = ch.theory_table(ch.ScratchpadConfig.from_params(scale="ci"))
    assert list(t["n"]) == list(range(2, 7))
    assert (t["step_as"] == 2).all() and (t["min_step_as"] == 1).all() and (t["max_step_as"] == 2).all()
    assert list(t["parity_as"]) == list(range(2, 7))


# --------------------------------------------------------------------------------------------------
# Config


def test_presets_build_and_lengths():
    for scale in ("ci", "cpu", "paper"):
        cfg = ch.ScratchpadConfig.from_params(scale=scale)
        assert cfg.ns[-1] == cfg.max_n and len(ch.runs(cfg)) == len(cfg.ns) * cfg.seeds
    assert ch.ScratchpadConfig.from_params(scale="cpu", n=18).ns == (4, 6, 8, 10, 12, 16, 18)


@pytest.mark.parametrize(
    "params,match",
    [
        (dict(n=1), "n"),
        (dict(n=2000), "n"),
        (dict(n="abc"), "n"),
        (dict(seeds=0), "seeds"),
        (dict(steps=0), "steps"),
        (dict(steps=1.5), "steps"),
    ],
)
def test_bad_parameters_name_themselves(params, match):
    with pytest.raises(ValueError, match=match):
        ch.ScratchpadConfig.from_params(scale="ci", **params)


def test_papermill_strings_are_parsed():
    assert ch.ScratchpadConfig.from_params(scale="ci", n="8", seeds="2").max_n == 8


# --------------------------------------------------------------------------------------------------
# Statistics


def _frames(scratch_sh, parity_sh):
    a = pd.DataFrame(
        [
            {"n": n, "seed": s, "sharpness": v, "kept": True}
            for n, vals in scratch_sh.items()
            for s, v in enumerate(vals)
        ]
    )
    b = pd.DataFrame(
        [
            {"n": n, "seed": s, "sharpness": v, "kept": True, "function": "parity"}
            for n, vals in parity_sh.items()
            for s, v in enumerate(vals)
        ]
    )
    return a, b


def test_ratio_table_by_hand():
    a, b = _frames({4: [0.1, 0.1], 8: [0.2, 0.2], 16: [0.3]}, {4: [1.0, 1.0], 8: [0.5, 0.5], 30: [3.0]})
    r = ch.ratio_table(a, b, resamples=500)
    assert list(r["n"]) == [4, 8, "all"]
    assert r["ratio"].iloc[0] == pytest.approx(0.1) and r["ratio"].iloc[1] == pytest.approx(0.4)
    assert r["ratio"].iloc[2] == pytest.approx(np.sqrt(0.1 * 0.4))
    # no spread within (model, n): every bootstrap ratio equals the point estimate
    assert r["lo"].iloc[2] == pytest.approx(r["hi"].iloc[2]) == pytest.approx(np.sqrt(0.04))


def test_ratio_interval_covers_the_estimate_and_is_empty_without_common_lengths():
    rng = np.random.default_rng(0)
    a, b = _frames(
        {n: list(0.1 + 0.02 * rng.random(3)) for n in (4, 8)}, {n: list(0.5 + 0.2 * rng.random(3)) for n in (4, 8)}
    )
    r = ch.ratio_table(a, b, resamples=1000).iloc[-1]
    assert r["lo"] < r["ratio"] < r["hi"] < 1
    a, b = _frames({64: [0.1]}, {4: [1.0]})
    assert ch.ratio_table(a, b, resamples=100).empty


def test_slope_test_detects_a_rise_and_a_flat_line():
    ns = np.repeat([4, 8, 16, 32], 3)
    rng = np.random.default_rng(1)
    rising = pd.DataFrame({"n": ns, "sharpness": 0.05 * ns + 0.01 * rng.standard_normal(len(ns))})
    flat = pd.DataFrame({"n": ns, "sharpness": 0.1 + 0.01 * rng.standard_normal(len(ns))})
    up, level = ch.slope_test(rising), ch.slope_test(flat)
    assert up["p_up"] < 0.01 and up["lo"] < 0.05 < up["hi"]
    assert level["p_up"] > 0.05 or abs(level["slope"]) < 1e-3
    assert np.isnan(ch.slope_test(flat[flat["n"] == 4])["slope"])


def test_claims_can_fail():
    cfg = ch.ScratchpadConfig.from_params(scale="ci")
    theory = ch.theory_table(cfg)
    ns = np.repeat([4, 8, 16, 32], 3)
    scratch = pd.DataFrame({"n": ns, "seed": np.tile([0, 1, 2], 4), "kept": True, "sharpness": 0.2 * ns})
    parity = pd.DataFrame(
        {
            "n": ns,
            "seed": np.tile([0, 1, 2], 4),
            "kept": True,
            "function": "parity",
            "sharpness": 0.01 * ns + 0.001 * np.tile([0, 1, 2], 4),
        }
    )
    out = {c.claim: c for c in ch.claims(cfg, theory, scratch, parity, ch.ratio_table(scratch, parity, 200))}
    assert [c.holds for c in out.values()] == [True, True, False, False]
    flat = scratch.assign(sharpness=0.01 + 0.001 * np.tile([0, 1, 2], 4))
    steep = parity.assign(sharpness=0.1 * ns + 0.01 * np.tile([0, 1, 2], 4))
    out = ch.claims(cfg, theory, flat, steep, ch.ratio_table(flat, steep, 200))
    assert all(c.holds for c in out)


# --------------------------------------------------------------------------------------------------
# One tiny run


def test_measure_scratchpad_tiny_run():
    run = ch.runs(ch.ScratchpadConfig.from_params(scale="ci"))[0]
    res = ch.measure_scratchpad(run)
    for k in ("ar_acc", "ar_seq_acc", "ar_last_acc", "sharpness", "sharpness_last", "delta_mse_sharpness"):
        assert np.isfinite(res[k])
    assert res["sharpness"] > 0 and res["steps_run"] == run.steps
    assert res["history"][0]["step"] == 0 and "tf_acc" in res["history"][-1]
    assert res["converged"] == (res["ar_acc"] > ch.CONVERGED)


def test_last_step_is_the_last_teacher_forced_output():
    from replication.models.last_step import LastStep
    from replication.models.seq2seq import ScratchpadTransformer, Seq2SeqConfig

    torch.manual_seed(0)
    model = ScratchpadTransformer(Seq2SeqConfig(n=5, d=8, enc_layers=1, dec_layers=1, heads=2)).eval()
    x = torch.randint(0, 2, (7, 5))
    with torch.no_grad():
        assert torch.equal(LastStep(model)(x), model(x)[:, -1])
