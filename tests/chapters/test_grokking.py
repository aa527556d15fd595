"""Chapter 12: the modular-addition split, the grokking model, the two sensitivity measures, the phase detectors."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from replication.tasks import boolean
from replication.experiments import grokking as ch
from replication.experiments.grokking import sparse_parity as sp
from replication.experiments.grokking.sparse_parity import ParityRun, flip_sensitivity, measure_parity
from replication.models.grokking import GrokkingTransformer
from replication.tasks.modular import commutative_baseline, modular_addition_split
from replication.measures.token import embedding_noise_sensitivity
from replication.measures.norms import weight_norm
from replication.measures.phases import fall_step, first_at_least, grokking_phases, largest_rise, parity_phases, smooth


# --------------------------------------------------------------------------------------------------
# The split


@pytest.mark.parametrize("p,frac,seed", [(7, 0.3, 0), (11, 0.5, 3), (13, 0.9, 1)])
def test_split_is_disjoint_and_covers_every_pair(p, frac, seed):
    xtr, ytr, xte, yte = modular_addition_split(p, frac, seed)
    train = {(int(a), int(b)) for a, b, _ in xtr}
    test = {(int(a), int(b)) for a, b, _ in xte}
    assert len(train) == len(xtr) == int(frac * p * p) and len(test) == len(xte)  # no pair twice
    assert not train & test
    assert train | test == {(a, b) for a in range(p) for b in range(p)}
    for x, y in ((xtr, ytr), (xte, yte)):
        assert (x[:, 2] == p).all()  # "=" token
        assert torch.equal(y, (x[:, 0] + x[:, 1]) % p)


def test_split_depends_on_the_seed_only():
    a, b = modular_addition_split(11, 0.3, 0), modular_addition_split(11, 0.3, 0)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a[0], modular_addition_split(11, 0.3, 1)[0])


def test_commutative_baseline_by_hand():
    p = 3
    x_train = torch.tensor([[0, 1, 3], [2, 2, 3], [1, 2, 3]])
    x_test = torch.tensor([[1, 0, 3], [2, 1, 3], [0, 0, 3], [0, 2, 3]])
    # (1,0) has its twin (0,1) in training, (2,1) has (1,2); (0,0) is its own twin (a test pair), (0,2) has none.
    assert commutative_baseline(x_train, x_test, p) == 0.5


# --------------------------------------------------------------------------------------------------
# The model


def _model(p=7, d=16, heads=4, d_ff=32, seed=0):
    torch.manual_seed(seed)
    m = GrokkingTransformer(p, d, heads, d_ff)
    with torch.no_grad():  # a non-zero positional embedding and biases, so the comparison covers them
        m.pos_emb.normal_()
        m.attn.in_proj_bias.normal_()
    return m.eval()


def test_model_shapes():
    m = _model(p=7, d=16)
    x = modular_addition_split(7, 0.5, 0)[0]
    assert m.embed(x).shape == (len(x), 3, 16)
    assert m(x).shape == (len(x), 8)  # p numbers and "="
    assert m(x, all_positions=True).shape == (len(x), 8)
    assert m(x, noise=torch.zeros(len(x), 2, 16)).shape == (len(x), 8)


def test_query_at_equals_only_matches_all_positions():
    m = _model()
    x = modular_addition_split(7, 1 - 1e-9, 0)[0]
    noise = 0.3 * torch.randn(len(x), 2, 16)
    with torch.no_grad():
        assert torch.allclose(m(x), m(x, all_positions=True), atol=1e-5)
        assert torch.allclose(m(x, noise=noise), m(x, noise=noise, all_positions=True), atol=1e-5)


def test_model_matches_the_released_code_layout():
    """Same logits as torch's nn.MultiheadAttention on every position, MLP, read-out at "=" (no residuals)."""
    m = _model()
    ref = nn.MultiheadAttention(16, 4, batch_first=True)
    ref.load_state_dict(
        {
            "in_proj_weight": m.attn.in_proj_weight,
            "in_proj_bias": m.attn.in_proj_bias,
            "out_proj.weight": m.attn.out_proj.weight,
            "out_proj.bias": m.attn.out_proj.bias,
        }
    )
    x = torch.randint(0, 7, (50, 3))
    x[:, 2] = 7
    with torch.no_grad():
        h = m.tok_emb(x) + m.pos_emb
        a = ref(h, h, h, need_weights=False)[0]
        want = m.unembed(m.fc2(torch.relu(m.fc1(a)))[:, -1])
        assert torch.allclose(m(x), want, atol=1e-5)


def test_weight_norm_by_hand():
    m = nn.Linear(2, 1)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[3.0, 0.0]]))
        m.bias.fill_(4.0)
    assert weight_norm(m) == pytest.approx(5.0)


# --------------------------------------------------------------------------------------------------
# Sensitivity measures with known answers


class Margin(nn.Module):
    """Clean logits ``[0, c]``; noise on the first number's first coordinate moves the second logit."""

    def __init__(self, c: float, d: int = 4):
        super().__init__()
        self.c = c
        self.tok_emb = nn.Embedding(5, d)

    def forward(self, x, noise=None):
        shift = torch.zeros(len(x)) if noise is None else noise[:, 0, 0]
        return torch.stack([torch.zeros(len(x)), self.c + shift], dim=1)


@pytest.mark.parametrize("c,sigma", [(0.1, 0.1), (0.05, 0.1), (0.2, 0.1)])
def test_embedding_noise_sensitivity_known_answer(c, sigma):
    # The prediction flips iff the noise pushes the second logit below 0: probability Φ(-c/σ).
    x = torch.zeros(20_000, 3, dtype=torch.long)
    got = embedding_noise_sensitivity(Margin(c), x, sigma, draws=2, generator=torch.Generator().manual_seed(0))
    want = 0.5 * math.erfc(c / sigma / math.sqrt(2))
    assert got == pytest.approx(want, abs=0.01)


def test_embedding_noise_sensitivity_zero_when_numbers_are_ignored():
    m = _model()
    with torch.no_grad():
        m.attn.in_proj_weight[32:].zero_()  # value projection: the output no longer depends on any embedding
    x = modular_addition_split(7, 0.5, 0)[0]
    assert embedding_noise_sensitivity(m, x, sigma=1.0, draws=3) == 0.0


def test_flip_sensitivity_of_an_exact_sparse_parity_is_k_over_n():
    fn = boolean.sparse_parity((1, 4, 6))
    exact = lambda x: fn(x).float() * 2 - 1  # noqa: E731  logit > 0 iff parity is 1
    x = boolean.random_strings(300, 10, generator=torch.Generator().manual_seed(0))
    assert flip_sensitivity(exact, x) == pytest.approx(3 / 10)
    assert flip_sensitivity(lambda x: torch.ones(len(x)), x) == 0.0


# --------------------------------------------------------------------------------------------------
# Phase detectors on synthetic curves


def _synthetic(norm_turns=False, groks=True):
    steps = np.arange(0, 1001, 10)
    train = np.clip(steps / 100, 0, 1)  # 99% first at step 100
    test = (
        np.where(steps < 600, 0.3, np.clip(0.3 + (steps - 600) / 100 * 0.7, 0, 1))
        if groks
        else np.full(len(steps), 0.3)
    )
    sens = np.interp(steps, [0, 100, 300, 550, 1000], [0.05, 0.005, 0.03, 0.01, 0.01])
    norm = 50 - steps / 50 + (np.where(steps > 400, (steps - 400) / 20, 0) if norm_turns else 0)
    return steps, train, test, sens, norm


def test_grokking_phases_known_answer():
    steps, train, test, sens, norm = _synthetic()
    ph = grokking_phases(steps, train, test, sens, norm, baseline=0.3)
    assert ph["t_sat"] == 100  # first 99%
    assert ph["t_rise"] == 620  # first ≥ 0.3 + 0.1 after t_sat: 0.3 + 0.7 * 20/100 = 0.44 (610 gives 0.37)
    assert ph["t_low_end"] == 610
    assert ph["t_grok"] == 700  # first ≥ 95%: 0.3 + 0.7 * 0.93 < 0.95 at 690
    assert ph["t_peak"] == 300
    assert ph["lead"] == 320 and ph["lead_grok"] == 400
    assert ph["sens_peak"] == pytest.approx(smooth(sens)[30])
    assert ph["sens_fall"] == pytest.approx(1 - 0.01 / ph["sens_peak"])
    assert ph["sens_start"] == pytest.approx(0.05) and ph["sens_sat"] == pytest.approx(smooth(sens)[10])
    assert ph["t_early"] == 0 and ph["sens_early"] == pytest.approx(smooth(sens)[0])  # no early rise: step 0
    assert ph["t_trough"] == 110 and ph["sens_trough"] == pytest.approx(smooth(sens)[11])  # smoothed, before the climb
    assert ph["early_fall"] == pytest.approx(1 - smooth(sens)[11] / smooth(sens)[0])
    assert ph["norm_rise"] == 0.0
    assert ph["train_dip"] == 1.0 and ph["t_dip"] == 110  # never dips after saturating (first minimum after t_sat)
    assert ph["norm_fall_cleanup"] == pytest.approx(1 - (50 - 610 / 50) / (50 - 300 / 50))


def test_the_early_peak_is_found_and_its_falling_tail_is_no_peak():
    steps = np.arange(0, 1001, 5)
    train = np.clip(steps / 50, 0, 1)  # 99% first at step 50, in the early peak's falling tail
    test = np.where(steps < 600, 0.3, np.clip(0.3 + (steps - 600) / 100 * 0.7, 0, 1))
    sens = np.interp(steps, [0, 30, 100, 300, 550, 1000], [0.04, 0.18, 0.03, 0.11, 0.01, 0.01])
    ph = grokking_phases(steps, train, test, sens, 50 - steps / 50, baseline=0.3)
    assert ph["t_sat"] == 50 and 30 <= ph["t_early"] <= 35 and 100 <= ph["t_trough"] <= 105  # (smoothed)
    assert ph["t_peak"] == 300  # the tail at step 50 (0.13) is higher, but it is falling, not climbing
    assert ph["sens_early"] == pytest.approx(0.18, rel=0.1) and ph["sens_trough"] == pytest.approx(0.03, rel=0.1)
    assert ph["early_fall"] == pytest.approx(1 - ph["sens_trough"] / ph["sens_early"])
    assert ph["sens_start"] == pytest.approx(0.04)
    assert fall_step(steps, sens, 300, 0.5) == 440  # 0.11 → 0.055 at step 437.5 (falling 0.1 over 250 steps)
    assert fall_step(steps, sens, 300, 0.95) is None and fall_step(steps, sens, None, 0.5) is None


def test_grokking_phases_see_a_turning_norm_and_a_run_that_never_groks():
    ph = grokking_phases(*_synthetic(norm_turns=True), baseline=0.3)
    assert ph["norm_rise"] > 0.01
    steps, train, test, sens, norm = _synthetic()
    train = np.where(steps == 800, 0.8, train)  # a loss spike after saturation
    spike = grokking_phases(steps, train, test, sens, norm, baseline=0.3)
    assert spike["train_dip"] == 0.8 and spike["t_dip"] == 800 and spike["t_sat"] == 100
    never = grokking_phases(*_synthetic(groks=False), baseline=0.3)
    assert never["t_grok"] is None and never["t_rise"] is None and never["lead"] is None
    assert math.isnan(never["sens_fall"])


def test_curve_helpers():
    assert first_at_least([0, 10, 20, 30], [0.1, 0.5, 0.2, 0.9], 0.5) == 10
    assert first_at_least([0, 10, 20, 30], [0.1, 0.5, 0.2, 0.9], 0.5, after=10) == 30
    assert first_at_least([0, 10], [0.1, 0.2], 0.5) is None
    assert largest_rise([0, 1, 2, 3], [4.0, 3.0, 2.0, 1.0], 0, 3) == 0.0
    assert largest_rise([0, 1, 2, 3], [4.0, 2.0, 3.0, 1.0], 0, 3) == pytest.approx(0.25)
    assert ch.fall_p_value(0.03, 0.01, 10_000) < 1e-6
    assert ch.fall_p_value(0.02, 0.02, 10_000) == pytest.approx(0.5)


def test_parity_phases_known_answer():
    steps = np.arange(0, 1001, 50)
    test = np.where(steps < 500, 0.5, np.where(steps < 600, 0.7, 1.0))
    sens = np.where(steps < 500, 0.01 + steps / 500 * 0.3, 0.1)
    ph = parity_phases(steps, test, sens, target=0.1)
    assert ph["t_leave"] == 500 and ph["t_learn"] == 600
    assert ph["sens_start"] == pytest.approx(0.01)
    assert ph["sens_plateau_max"] == pytest.approx(0.25)  # smoothed: (0.22 + 0.25 + 0.28) / 3 at step 400
    assert ph["sens_final"] == pytest.approx(0.1)


# --------------------------------------------------------------------------------------------------
# Config, runs and claims


@pytest.mark.parametrize(
    "name,value",
    [
        ("p", 1),
        ("p", "abc"),
        ("train_fraction", 1.5),
        ("train_fraction", 1.0),
        ("train_fraction", 0),
        ("steps", 0),
        ("seeds", 0),
        ("weight_decay", -1),
    ],
)
def test_bad_parameters_name_themselves(name, value):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        ch.GrokkingConfig.from_params(scale="ci", **{name: value})


@pytest.mark.parametrize(
    "params,name",
    [
        ({"dense_until": -1}, "dense_until"),
        ({"dense_until": 41}, "dense_until"),
        ({"dense_every": 11}, "dense_every"),
        ({"dense_every": "x"}, "dense_every"),
        ({"dense_until": 0}, "dense_until, dense_every"),
        ({"dense_until": 10, "dense_every": 0}, "dense_until, dense_every"),
    ],
)
def test_bad_schedules_name_themselves_before_training(params, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        ch.GrokkingConfig.from_params(scale="ci", **params)


def test_dense_schedule_evaluates_every_few_steps_early_then_as_before():
    cfg = ch.GrokkingConfig.from_params(scale="ci", p=5, steps=35, seeds=1, dense_until=7, dense_every=3)
    res = ch.measure_grokking(ch.grok_runs(cfg)[0])
    assert [r["step"] for r in res["history"]] == [0, 3, 6, 10, 20, 30, 35]
    cpu = ch.grok_runs(ch.PRESETS["cpu"])[0]
    steps = [s for s in range(cpu.steps + 1) if cpu.evaluated_at(s)]
    assert steps[:61] == list(range(0, 301, 5)) and steps[61:63] == [350, 400] and steps[-1] == 6000
    off = ch.grok_runs(ch.GrokkingConfig.from_params(scale="ci", dense_until=0, dense_every=0))[0]
    assert [s for s in range(41) if off.evaluated_at(s)] == [0, 10, 20, 30, 40]


def test_a_several_draw_sensitivity_is_logged_beside_the_one_draw_one_at_its_own_interval():
    cfg = dataclasses.replace(
        ch.GrokkingConfig.from_params(scale="ci", p=5, steps=25, seeds=1, dense_until=0, dense_every=0), eval_every=5
    )
    one = ch.measure_grokking(ch.grok_runs(cfg)[0])
    both = ch.measure_grokking(ch.grok_runs(dataclasses.replace(cfg, multi_draws=3, multi_every=10))[0])
    at = {r["step"]: r["sensitivity_multi"] for r in both["history"]}
    assert sorted(s for s, v in at.items() if v is not None) == [0, 10, 20, 25]  # multiples and the last step
    assert all(0 <= v <= 1 for v in at.values() if v is not None)
    # the second measure has its own noise stream: the one-draw curve and training are unchanged
    assert [r["sensitivity"] for r in one["history"]] == [r["sensitivity"] for r in both["history"]]
    assert [r["train_loss"] for r in one["history"]] == [r["train_loss"] for r in both["history"]]


@pytest.mark.parametrize(
    "changes,name",
    [
        ({"multi_draws": 2}, "multi_draws, multi_every"),
        ({"multi_draws": 2, "multi_every": 15}, "multi_every"),
        ({"first_seed": -1}, "first_seed"),
    ],
)
def test_bad_second_measure_and_seeds_name_themselves(changes, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        dataclasses.replace(ch.PRESETS["ci"], **changes)


def test_the_paper_preset_is_v25s_script():
    runs = ch.grok_runs(ch.PRESETS["paper"])
    assert [r.seed for r in runs] == [42, 43, 44, 45, 46]
    r = runs[0]
    assert (r.p, r.train_fraction, r.lr, r.weight_decay, r.steps, r.draws, r.sigma, r.after_grok) == (
        113,
        0.3,
        1e-3,
        1.0,
        20_000,
        1,
        0.1,
        None,
    )
    steps = [s for s in range(r.steps + 1) if r.evaluated_at(s)]
    assert steps[:151] == list(range(0, 301, 2)) and steps[151] == 310 and steps[-1] == 20_000
    assert [s for s in steps if r.multi_at(s)][:3] == [0, 50, 100]


def test_papermill_strings_are_parsed():
    cfg = ch.GrokkingConfig.from_params(scale="ci", p="13", train_fraction="0.4", seeds="1")
    assert (cfg.p, cfg.train_fraction, cfg.seeds) == (13, 0.4, 1)
    assert [r.seed for r in ch.grok_runs(cfg)] == [0]


def test_measure_logs_every_evaluation_through_fit():
    run = ch.grok_runs(ch.GrokkingConfig.from_params(scale="ci", p=5, steps=6, seeds=1, dense_until=0, dense_every=0))[
        0
    ]
    res = ch.measure_grokking(run)
    assert [r["step"] for r in res["history"]] == [0, 6]  # eval_every 10 > steps: step 0 and the last step
    assert set(res["history"][0]) == {
        "step",
        "train_acc",
        "test_acc",
        "train_loss",
        "test_loss",
        "sensitivity",
        "weight_norm",
    }
    assert res["n_train"] + res["n_test"] == 25 and res["steps_run"] == 6 and not res["failed"]
    assert 0 <= res["baseline"] <= 1


def test_parity_run_logs_sensitivity():
    run = ParityRun(
        n=6,
        k=2,
        seed=0,
        n_train=64,
        batch_size=16,
        d=8,
        layers=1,
        heads=2,
        lr=1e-3,
        weight_decay=0.0,
        steps=4,
        eval_every=2,
        n_test=32,
        n_sens=8,
    )
    res = measure_parity(run)
    assert [r["step"] for r in res["history"]] == [0, 2, 4] and len(res["support"]) == 2
    assert all(0 <= r["sensitivity"] <= 1 for r in res["history"])


def _phases(t_groks, norm_fall=0.05, early_fall=None, t_sens=None, t_norm=None):
    """A planted phase table: one row per run, grokking at ``t_groks`` (None: never)."""
    n = len(t_groks)
    early = [0.18 + 0.001 * i for i in range(n)]
    efall = early_fall if early_fall is not None else [1 - 0.03 / e for e in early]
    t_sens = t_sens if t_sens is not None else [None if t is None else t - 300 for t in t_groks]
    t_norm = t_norm if t_norm is not None else [500, 420, 480, 450, 410, 470, 430, 460][:n]
    return pd.DataFrame(
        [
            {
                "seed": i,
                "grokked": t is not None,
                "t_sat": 100,
                "t_grok": t,
                "t_peak": 300,
                "lead": 300,
                "lead_grok": None if t is None else t - 300,
                "sens_start": 0.05,
                "sens_sat": 0.01,
                "t_early": 30,
                "sens_early": early[i],
                "t_trough": 100,
                "sens_trough": early[i] * (1 - efall[i]),
                "early_fall": efall[i],
                "sens_peak": 0.11,
                "sens_low_end": 0.01,
                "sens_fall": 10 / 11,
                "norm_rise": 0.0,
                "norm_fall_cleanup": norm_fall[i] if isinstance(norm_fall, list) else norm_fall,
                "sens_count": 30_000,
                "baseline": 0.3,
                "train_dip": 1.0,
                "t_dip": 110,
                "t_sens_half": t_sens[i],
                "t_norm_half": t_norm[i],
                "sens_share": 5 / 11,
                "norm_share": float(np.median(norm_fall)) / 2,
            }
            for i, t in enumerate(t_groks)
        ]
    )


EIGHT = [800, 900, 1000, 1100, 1200, 1300, 1400, 1500]


def _parity(final=0.1, learned=True):
    return pd.DataFrame(
        [
            {
                "seed": 0,
                "learned": learned,
                "t_learn": 600 if learned else None,
                "sens_start": 0.01,
                "sens_plateau_max": 0.2,
                "sens_plateau_end": 0.15,
                "sens_final": final if learned else float("nan"),
                "steps_run": 1000,
                "final_train_acc": 1.0 if learned else 0.6,
                "final_test_acc": 1.0 if learned else 0.5,
            }
        ]
    )


def _bump(n=8, grok=0.02, peak=0.04, end=0.015, count=30_000):
    """A planted post-jump table (:func:`~replication.experiments.grokking.tables.bump_table`)."""
    return pd.DataFrame(
        {
            "seed": range(n),
            "t_grok": 1000,
            "t_low": 1200,
            "sens_low": grok,
            "t_bump": 1500,
            "sens_bump": peak,
            "t_end": 6000,
            "sens_end": end,
            "t_spike": None,
            "sens_count": count,
        }
    )


#: Where each claim is in the list :func:`claims` returns.
GROK, MEMO, LEADS, RATIO, FLAT, PREDICTOR, BUMPED, RISE, NEAR = range(9)


def test_claims_hold_on_curves_that_show_the_papers_pattern():
    cfg = ch.GrokkingConfig.from_params(scale="ci")
    claims = ch.claims(cfg, _phases(EIGHT), _parity(final=cfg.parity_k / cfg.parity_n), _bump())
    assert len(claims) == 9 and [c.holds for c in claims] == [True] * 9, [c.note for c in claims if not c.holds]
    assert "Wilcoxon p = 0.0039" in claims[MEMO].measured  # 8 positive differences: 1 / 2^8
    assert "sensitivity 1 (p = 2.48e-05), weight norm -0.262 (p = 0.75)" in claims[PREDICTOR].measured
    assert "rose in 8 and fell in 8 of 8 grokked runs" in claims[BUMPED].measured
    assert claims[MEMO].section == "Memorisation, sampled where it happens"  # the section the claim links to
    assert claims[BUMPED].section == "At V25's own settings"  # tested on V25's own runs only


def test_claims_fail_and_say_why():
    cfg = ch.GrokkingConfig.from_params(scale="ci")
    claims = ch.claims(cfg, _phases([800, None], norm_fall=0.05), _parity(learned=False))
    assert not claims[GROK].holds and "1 of 2 runs never grokked" in claims[GROK].note
    assert not claims[RATIO].holds and "1 of 2 runs never grokked" in claims[RATIO].note
    assert not claims[FLAT].holds and "1 of 2 runs never grokked" in claims[FLAT].note
    assert not claims[MEMO].holds and "its smallest possible p is 1/2^2 = 0.25" in claims[MEMO].note
    assert not claims[NEAR].holds and "1 of 1 runs did not learn it within 1000 steps" in claims[NEAR].note
    assert "memorisation" in claims[RISE].note
    assert not claims[BUMPED].testable  # no post-jump table


def test_a_partial_set_of_runs_says_so_and_a_scale_without_parity_lists_its_claims_as_not_run():
    cfg = ch.GrokkingConfig.from_params(scale="ci")
    claims = ch.claims(cfg, _phases(EIGHT[:2]), None, _bump(2), runs=5)
    assert all(c.measured.endswith("; 2 of 5 runs stored so far") for c in claims[:7])
    assert not any(c.testable or c.holds for c in claims[:7])  # interim until every run is stored
    assert all(c.note.startswith("not judged yet: 2 of 5 runs stored") for c in claims[:7])
    assert [c.testable for c in claims[7:]] == [False, False] and claims[RISE].claim.startswith("Sparse parity")
    assert "not run at this scale" in claims[NEAR].note and not claims[NEAR].holds
    assert claims[NEAR].section == "Sparse parity (V25 App. A.6)"  # below `paper`, the section of the parity runs
    stopped = dataclasses.replace(cfg, after_grok=500)
    c = ch.claims(stopped, _phases(EIGHT), _parity(), _bump())[BUMPED]
    assert not c.testable and "each run stops 500 steps after it groks" in c.note


def test_the_norm_is_flat_only_within_its_stated_bound():
    cfg = ch.GrokkingConfig.from_params(scale="ci")
    inside = ch.claims(cfg, _phases(EIGHT, norm_fall=[0.08, 0.1, 0.12, 0.09, 0.11, 0.1, 0.1, 0.1]), _parity())[FLAT]
    assert inside.holds and "within ± 20%" in inside.claim
    near = ch.claims(cfg, _phases(EIGHT, norm_fall=[0.1, 0.3, 0.15, 0.25, 0.2, 0.22, 0.18, 0.2]), _parity())[FLAT]
    assert not near.holds and "the larger one-sided p is" in near.note  # mean 0.2: on the bound
    assert not ch.claims(cfg, _phases(EIGHT, norm_fall=0.3), _parity())[FLAT].holds  # no spread, outside


def test_the_bump_needs_a_rise_and_a_fall_in_every_run():
    cfg = ch.GrokkingConfig.from_params(scale="ci")
    flat = ch.claims(cfg, _phases(EIGHT), _parity(), _bump(peak=0.022))[BUMPED]
    assert not flat.holds and "rose in 0" in flat.note
    stays = ch.claims(cfg, _phases(EIGHT), _parity(), _bump(end=0.035))[BUMPED]
    assert not stays.holds and "fell in 0 of 8" in stays.note


def test_memorisation_claim_fails_on_a_run_without_an_early_fall():
    cfg = ch.GrokkingConfig.from_params(scale="ci")
    c = ch.claims(cfg, _phases(EIGHT, early_fall=[0.8] * 7 + [0.1]), _parity())[MEMO]
    assert not c.holds and "1 of 8 runs fell less than 25% from their early peak" in c.note


def test_norm_claim_fails_when_the_norm_falls_as_much_as_sensitivity():
    cfg = ch.GrokkingConfig.from_params(scale="ci")
    c = ch.claims(cfg, _phases(EIGHT, norm_fall=0.6), _parity())[RATIO]
    assert not c.holds and "in 8 of 8 runs the norm fell by at least 50% of sensitivity's relative fall" in c.note


def test_predictor_claim_fails_without_correlation_or_when_the_norm_predicts_better():
    cfg = ch.GrokkingConfig.from_params(scale="ci")
    shuffled = [500, 420, 480, 450, 410, 470, 430, 460]
    c = ch.claims(cfg, _phases(EIGHT, t_sens=shuffled, t_norm=[t - 300 for t in EIGHT]), _parity())[PREDICTOR]
    assert not c.holds and "with 8 runs a one-sided p < 0.05 needs ρ ≥ 0.6" in c.note
    # the norm almost as good as sensitivity, the two predictors close: Williams's test says how many runs would do
    t_sens, t_norm = [t - 300 for t in EIGHT], [t - 300 for t in EIGHT]
    t_sens[6], t_sens[7] = t_sens[7], t_sens[6]  # ρ = 1 - 6·2/504
    t_norm[0], t_norm[1], t_norm[3], t_norm[4] = t_norm[1], t_norm[0], t_norm[4], t_norm[3]  # ρ = 1 - 6·4/504
    both = ch.claims(cfg, _phases(EIGHT, t_sens=t_sens, t_norm=t_norm), _parity())[PREDICTOR]
    assert not both.holds and "the weight norm's fall predicts the grokking step too (ρ = 0.952)" in both.note
    assert "sensitivity's larger ρ is not shown to be larger (Williams p = " in both.note
    assert "the test needs about" in both.measured and "runs for 80% power" in both.measured
    assert ch.claims.__module__.endswith("claims") and ch.FLAT_SHARE == 0.5


def test_cleanup_description_reads_the_planted_numbers():
    text = ch.describe_cleanup(_phases(EIGHT))
    assert "Spearman ρ = 1 with the grokking step (one-sided exact p = 2.48e-05, 8 runs)" in text
    assert "p < 0.05 needs ρ ≥ 0.643" in text and "too few" in ch.describe_cleanup(_phases([800, 900]))


def test_rank_correlation_is_exact_for_few_runs():
    from replication.report.stats import critical_rho, rank_correlation

    assert rank_correlation([1, 2, 3, 4], [5, 6, 7, 9]) == (1.0, pytest.approx(1 / 24), 4)  # one permutation of 24
    rho, p, n = rank_correlation([1, 2, 3, 4, 5, 6, None], [2, 1, 4, 3, 6, 5, 7])  # the None pair is dropped
    assert n == 6 and rho == pytest.approx(29 / 35) and p == pytest.approx(21 / 720)
    assert critical_rho(8) == pytest.approx(0.643, abs=1e-3) and critical_rho(6) == pytest.approx(0.829, abs=1e-3)


def test_fall_steps_use_half_the_median_fall_of_the_grokked_runs():
    steps = np.arange(0, 1001, 10)
    frames = []
    for seed, rate in ((0, 1.0), (1, 2.0)):
        sens = np.interp(steps, [0, 100, 300, 1000], [0.05, 0.01, 0.1, 0.1 - 0.09 * rate / 2])
        frames.append(pd.DataFrame({"seed": seed, "step": steps, "sensitivity": sens, "weight_norm": 50 - steps / 100}))
    phases = pd.DataFrame(
        {
            "seed": [0, 1],
            "grokked": [True, True],
            "t_peak": [300, 300],
            "sens_fall": [0.4, 0.8],
            "norm_fall_cleanup": [0.1, 0.1],
        }
    )
    out = ch.fall_steps(pd.concat(frames), phases)
    assert out["sens_share"].iloc[0] == pytest.approx(0.3) and out["norm_share"].iloc[0] == pytest.approx(0.05)
    assert out["t_norm_half"].tolist() == [540, 540]  # 47 → 44.65 at step 535: the same in both runs
    assert out["t_sens_half"].iloc[1] < out["t_sens_half"].iloc[0]  # the faster fall gets there sooner


# --------------------------------------------------------------------------------------------------
# Sparse parity: stopping after learning, the trials, and the claims judged on the learnt seeds


def test_a_parity_run_stops_after_learning_when_asked():
    base = ParityRun(
        n=4,
        k=1,
        seed=0,
        n_train=256,
        batch_size=64,
        d=16,
        layers=1,
        heads=2,
        lr=1e-2,
        weight_decay=0.0,
        steps=400,
        eval_every=10,
        n_test=64,
        n_sens=8,
    )
    full = measure_parity(base)
    learnt = next(r["step"] for r in full["history"] if r["test_acc"] >= 0.99)  # a 1-sparse parity of 4 bits
    assert learnt < 350
    short = measure_parity(dataclasses.replace(base, after_learn=30))
    assert short["steps_run"] == learnt + 30 and short["history"] == full["history"][: len(short["history"])]
    with pytest.raises(ValueError, match="^parity_after_learn:"):
        dataclasses.replace(base, after_learn=-1)


def test_trials_share_runs_with_the_chapter_and_bad_trials_name_themselves():
    cpu = ch.PRESETS["cpu"]
    assert set(ch.parity_runs(cpu)) <= set(ch.trial_runs(cpu))
    assert ch.PRESETS["paper"].seeds == 5 and ch.PRESETS["paper"].parity_seeds == 5
    for bad in [((20, 4, 100),), ((20, 4, 100, 10, 50, 0),), 3]:
        with pytest.raises(ValueError, match="^parity_trials"):
            ch.GrokkingConfig(scale="ci", parity_n=8, parity_k=2, parity_trials=bad)


def test_trial_table_counts_the_seeds_that_learnt():
    t = sp.ParityTrial(8, 2, 256, 64, 400, 3, 20)
    rows = []
    for seed, learn in ((0, 100), (1, None), (2, 300)):
        for step in range(0, 401, 100):
            acc = 1.0 if learn is not None and step >= learn else 0.5
            rows.append(
                {
                    "seed": seed,
                    "step": step,
                    "n": 8,
                    "k": 2,
                    "n_train": 256,
                    "batch_size": 64,
                    "steps": 400,
                    "after_learn": 20,
                    "test_acc": acc,
                    "train_acc": acc,
                    "sensitivity": 0.25,
                    "steps_run": 400,
                    "train_seconds": 4.0,
                }
            )
    table = sp.trial_table(pd.DataFrame(rows), [t, sp.ParityTrial(8, 2, 256, 64, 800, 3)])
    assert table["learnt"].tolist() == ["2/3", "0/0"] and table["learnt at step"].iloc[0] == "100–300"
    assert table["seconds per step"].iloc[0] == pytest.approx(0.01)


def test_parity_claims_are_judged_on_the_learnt_seeds():
    two = pd.concat([_parity(final=0.1), _parity(learned=False).assign(seed=1)], ignore_index=True)
    rise, near = ch.sparse_parity.parity_claims(two, 40, 4, "ci")
    assert rise.holds and near.holds and "1 of 2 runs that learnt" in near.note and "1 of 2 runs did not" in near.note
    none = ch.sparse_parity.parity_claims(_parity(learned=False), 40, 4, "ci")
    assert not any(c.holds for c in none) and "no run learnt the parity" in none[1].note


def test_grok_trials_share_the_presets_runs_and_bad_trials_name_themselves():
    cpu = ch.PRESETS["cpu"]
    assert set(ch.grok_runs(cpu)) <= set(ch.grok_trial_runs(cpu))
    for bad in [((97, 0.3, 3e-3),), 5, ((97, 0.3, 3e-3, 2.0, 0),)]:
        with pytest.raises(ValueError, match="^grok_trials"):
            ch.GrokkingConfig(scale="ci", p=11, parity_n=8, parity_k=2, grok_trials=bad)


def test_grok_trial_table_reads_the_grok_step_of_each_seed():
    from replication.experiments.grokking import tables

    t = ch.GrokTrial(11, 0.5, 3e-3, 1.0, 2)
    rows = [
        {
            "p": 11,
            "train_fraction": 0.5,
            "lr": 3e-3,
            "weight_decay": 1.0,
            "seed": s,
            "step": step,
            "test_acc": acc,
            "train_seconds": 2.0,
            "steps_run": 200,
        }
        for s, accs in ((0, (0.1, 0.5, 0.96)), (1, (0.1, 0.2, 0.3)))
        for step, acc in zip((0, 100, 200), accs)
    ]
    table = tables.grok_trial_table(pd.DataFrame(rows), [t])
    assert table.iloc[0]["grokked"] == "1/2" and table.iloc[0]["grokked at step"] == "200"
    assert table.iloc[0]["final test acc of the others"] == "0.3" and table.iloc[0]["seconds per step"] == 0.01


def _curve_frame(seed, sens, step=None):
    steps = np.arange(len(sens)) * 10 if step is None else step
    return pd.DataFrame({"seed": seed, "step": steps, "sensitivity": sens})


def test_the_bump_table_reads_the_smoothed_curve_after_the_jump():
    sens = [0.1, 0.05, 0.03, 0.02, 0.03, 0.05, 0.05, 0.05, 0.03, 0.01, 0.01]
    curves = pd.concat([_curve_frame(0, sens), _curve_frame(1, sens)]).assign(train_loss=1e-5)
    phases = pd.DataFrame({"seed": [0, 1], "grokked": [True, False], "t_grok": [20, None], "sens_count": [900, 900]})
    b = ch.bump_table(curves, phases, window=1).iloc[0]  # seed 1 never grokked: no row
    assert b[["t_grok", "t_low", "t_bump", "t_end"]].tolist() == [20, 30, 50, 100] and pd.isna(b["t_spike"])
    assert b[["sens_low", "sens_bump", "sens_end"]].tolist() == pytest.approx([0.02, 0.05, 0.01])
    assert len(ch.bump_table(curves, phases, window=1)) == 1
    spiked = curves.assign(train_loss=np.where(curves["step"] == 80, 0.5, 1e-5))
    s = ch.bump_table(spiked, phases, window=1).iloc[0]  # read up to the spike at step 80
    assert s[["t_end", "t_spike"]].tolist() == [70, 80] and s["sens_end"] == pytest.approx(0.05)


def test_the_phase_table_beside_v25_lists_every_run():
    t = ch.v25_phase_table(_phases([800, None]))
    assert t.iloc[0].tolist() == [500, 3000, 9800] and t.loc["seed 0"].tolist() == [100, 300, 800]
    assert pd.isna(t.loc["seed 1", "test ≥ 95% (grokked)"])


def test_stored_curves_read_a_partial_set_and_compute_nothing(tmp_path):
    from replication.runs.store import Store

    cfg = ch.GrokkingConfig.from_params(scale="ci", p=5, steps=6, seeds=2, dense_until=0, dense_every=0)
    runs = ch.grok_runs(cfg)
    store = Store(cache=tmp_path / "cache", results=tmp_path / "results", mode_="auto", scale="ci")
    assert ch.stored_curves(runs, store).empty
    ch.modular_curves(dataclasses.replace(cfg, seeds=1, n_jobs=1), cache=store)
    got = ch.stored_curves(runs, store)
    assert sorted(got["seed"].unique()) == [0] and got["step"].tolist() == [0, 6]
    more = ch.predictor_curves(dataclasses.replace(cfg, predictor_seeds=3), store)
    assert sorted(more["seed"].unique()) == [0]  # seeds 1 and 2 are not stored: left out, not trained
    assert [r.seed for r in ch.predictor_runs(dataclasses.replace(cfg, predictor_seeds=3))] == [0, 1, 2]


@pytest.mark.parametrize("changes,name", [({"window": 4}, "window"), ({"predictor_seeds": -1}, "predictor_seeds")])
def test_bad_analysis_settings_name_themselves(changes, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        dataclasses.replace(ch.PRESETS["ci"], **changes)


def _planted_history(steps=20_000, every=100):
    """A run's history with V25's shape: memorised by step 200, sensitivity peak at 3,000, jump at 9,800, a bump."""
    s = np.arange(0, steps + 1, every)
    sens = np.interp(s, [0, 100, 300, 3000, 9700, 12_000, 20_000], [0.05, 0.02, 0.02, 0.12, 0.03, 0.06, 0.02])
    return [
        {
            "step": int(t),
            "train_acc": float(min(1.0, t / 200)),
            "test_acc": float(0.3 if t < 9800 else 1.0),
            "train_loss": 0.1,
            "test_loss": 1.0,
            "sensitivity": float(v),
            "weight_norm": float(60 - t / 1000),
            "sensitivity_multi": None if t % 500 else float(v),
        }
        for t, v in zip(s, sens)
    ]


def test_the_cpu_book_reads_the_paper_runs_that_are_stored(tmp_path):
    from replication.runs.store import Store
    from replication.runs.sweep import run_key

    store = Store(cache=tmp_path / "cache", results=tmp_path / "results", mode_="write", scale="paper")
    run = ch.grok_runs(ch.PRESETS["paper"])[1]
    result = {"history": _planted_history(), "baseline": 0.3, "n_train": 3830, "n_test": 8939, "grok_step": 9800}
    result |= {"final_test_acc": 1.0, "steps_run": 20_000, "failed": False, "stopped_reason": None}
    store.save("grokking_run", run_key(run, "cpu"), result | {"train_seconds": 3600.0}, 3600.0)
    reader = Store(cache=tmp_path / "cache", results=tmp_path / "results", mode_="require", scale="cpu")
    assert not ch.paper_scale(ch.PRESETS["ci"], reader).stored  # only a cpu build reads them
    p = ch.paper_scale(ch.PRESETS["cpu"], reader)
    assert (p.stored, p.runs) == (1, 5) and p.phases["seed"].tolist() == [43]
    assert p.phases.iloc[0][["t_sat", "t_grok"]].tolist() == [200, 9800]
    assert abs(p.phases.iloc[0]["t_peak"] - 3000) <= 300  # smoothed over 9 evaluations: the slower fall pulls it on
    text = ch.paper_text(p)
    assert text.startswith("1 of the 5 `paper` runs is stored (seed 43)") and "0.18 s per step" in text
    claims = ch.claims(p.cfg, p.phases, None, p.bump, runs=p.runs)
    assert {c.scale for c in claims} == {"paper"} and claims[GROK].measured.endswith("1 of 5 runs stored so far")
    sections = [c.section for c in claims]  # they link to the sections of the page that show V25's own runs
    assert sections == ["At V25's own settings"] * (len(claims) - 2) + ["The same claims at V25's own settings"] * 2
    assert "rose in 1 and fell in 1 of 1 grokked runs" in claims[BUMPED].measured, claims[BUMPED].measured
    assert not claims[BUMPED].testable and "; fails" not in claims[BUMPED].note
    assert ch.claims(p.cfg, p.phases, None, p.bump)[BUMPED].holds  # judged as a complete set


def test_the_phase_figure_draws_the_several_draw_sensitivity_where_the_runs_have_it():
    import matplotlib

    matplotlib.use("Agg")
    from replication.plots import grokking as plots

    h = pd.DataFrame(_planted_history(every=500)).assign(seed=0, multi_draws=4, multi_every=500)
    phases = pd.DataFrame([{"seed": 0, "t_sat": 200, "t_peak": 3000, "t_grok": 9800, "grokked": True, "baseline": 0.3}])
    axes = plots.grokking_curves(h, phases)
    labels = [line.get_label() for line in axes[2, 0].get_lines()]
    assert labels[:2] == ["sensitivity (train pairs)", "4 draws, every 500 steps"]
    plain = plots.grokking_curves(h.drop(columns=["sensitivity_multi"]), phases)
    assert "4 draws, every 500 steps" not in [line.get_label() for line in plain[2, 0].get_lines()]
    matplotlib.pyplot.close("all")


def test_the_predictor_claim_waits_for_the_runs_fixed_in_advance():
    cfg = dataclasses.replace(ch.GrokkingConfig.from_params(scale="ci"), seeds=2, predictor_seeds=12)
    c = ch.claims(cfg, _phases(EIGHT), _parity(), _bump(), _phases(EIGHT))[PREDICTOR]
    assert not c.testable and not c.holds and "not judged yet: 8 of the 12 runs fixed in advance" in c.note
    assert "over 8 runs sensitivity's ρ reaches p < 0.05 only at ρ ≥ 0.643" in c.note  # what the runs can show
    few = ch.claims(cfg, _phases(EIGHT[:2]), _parity(), _bump(), _phases(EIGHT[:2]))[PREDICTOR]
    assert "over 2 runs no rank correlation can reach p < 0.05" in few.note
    assert "Williams's t" in c.measured  # the interim numbers are shown
    full = ch.claims(dataclasses.replace(cfg, predictor_seeds=8), _phases(EIGHT), _parity(), _bump())[PREDICTOR]
    assert full.testable and full.holds


def test_the_predictor_plan_says_how_many_runs_the_test_needs():
    cfg = dataclasses.replace(ch.GrokkingConfig.from_params(scale="ci"), seeds=8, predictor_seeds=40)
    t_sens, t_norm = [t - 300 for t in EIGHT], [t - 300 for t in EIGHT]
    t_sens[6], t_sens[7] = t_sens[7], t_sens[6]
    t_norm[0], t_norm[1], t_norm[3], t_norm[4] = t_norm[1], t_norm[0], t_norm[4], t_norm[3]
    phases = _phases(EIGHT, t_sens=t_sens, t_norm=t_norm)
    text = ch.predictor_plan_text(cfg, phases, phases.iloc[:5])
    from replication.report.stats import runs_for_dependent_correlations
    from scipy import stats as st

    r_sn = st.spearmanr(t_sens, t_norm)[0]
    need = runs_for_dependent_correlations(1 - 12 / 504, 1 - 24 / 504, r_sn)
    assert f"needs about {need} runs for 80% power; 40 runs were fixed in advance" in text and "5 are stored" in text


def test_after_the_jump_a_late_loss_spike_is_named():
    hist = pd.DataFrame(_planted_history()).assign(train_loss=1e-5)
    late = hist["step"] >= 18_000
    hist.loc[late, "train_loss"] = np.where(hist.loc[late, "step"] == 18_000, 0.5, 0.002)
    hist.loc[hist["step"] == 18_000, "train_acc"] = 0.8
    hist.loc[late, "weight_norm"] = 45.0
    curves = hist.assign(seed=43, baseline=0.3, n_train=3830, draws=1, steps_run=20_000, final_test_acc=1.0)
    curves = curves.assign(train_seconds=3600.0)
    phases = ch.phases_table(curves, 9)
    p = ch.PaperScale(ch.PRESETS["paper"], curves, phases, ch.bump_table(curves, phases, 9), 5)
    text = ch.after_jump_text(p)
    assert text.startswith("Seed 43: after the jump (step 9,800) sensitivity fell to")
    assert "at step 18,000 the training loss spiked (to 0.5, training accuracy 0.8 at its lowest)" in text
    calm = ch.PaperScale(p.cfg, curves.assign(train_loss=1e-5), phases, p.bump, 5)
    assert "no spike of the training loss" in ch.after_jump_text(calm)


def test_the_paper_window_text_computes_its_counts_from_the_presets():
    from replication.experiments.grokking import PRESETS, window_text

    paper, cpu = PRESETS["paper"], PRESETS["cpu"]
    text = window_text()
    n_paper = int(paper.train_fraction * paper.p**2)
    assert f"{paper.window} × {n_paper:,} pairs" in text and f"= {paper.window * n_paper * paper.draws:,}" in text
    assert f"{cpu.window} × {int(cpu.train_fraction * cpu.p**2):,} pairs × {cpu.draws} draws" in text
