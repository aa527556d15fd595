"""Chapter 09's two accounts of which token set a model uses (V25's sensitivity account, the max-margin account on
token counts), the models beside Eq. 3, and the diagnosis of which account the trained models follow."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch

from replication.experiments import token_sensitivity as sr
from replication.experiments.token_sensitivity import accounts as ac
from replication.experiments.token_sensitivity import variants as va
from replication.tasks.synthetic import Setting, generate

# --------------------------------------------------------------------------------------------------
# The accounts, on settings whose answer is known by construction


@pytest.mark.parametrize(
    "setting,M,sens,margin",
    [
        ((3, 5, 1, 16), 59, "sparse", "sparse"),  # three sparse tokens, frequent majority 1: both read the sparse
        ((1, 17, 7, 20), 69, "frequent", "frequent"),  # one sparse token, frequent majority 7 over 20 tokens a label
        ((1, 3, 3, 16), 59, "frequent", "sparse"),  # majority 3: one replacement cannot turn it; 3 < √16·1 on margin
        ((1, 48, 2, 3), 9, "sparse", "frequent"),  # majority 2 ties under a replacement; 2 > √3·1 on margin
        ((1, 32, 7, 36), 75, "frequent", "tie"),  # d_f = 6 = √36 · 1: the margins tie
    ],
)
def test_accounts_of_settings_known_by_construction(setting, M, sens, margin):
    assert ac.sensitivity_account(setting, M) == sens
    assert ac.margin_account(setting) == margin


def test_normalised_margins_in_closed_form():
    s = Setting(1, 17, 7, 20)  # a = 12, d_f = 7
    got = ac.normalised_margins(s)
    assert got == pytest.approx({"sparse": 1 / math.sqrt(2), "frequent": 7 / math.sqrt(40)})
    w = ac.max_margin_weights(s)
    assert 2 * w["sparse"] ** 2 + 2 * 20 * w["frequent"] ** 2 == pytest.approx(1.0)
    # the maximum margin is the root of the sum of the squared single-set margins (Cauchy-Schwarz)
    assert w["sparse"] * 1 + w["frequent"] * 7 == pytest.approx(math.hypot(*got.values()))


def _support(setting: Setting, T: int, M: int):
    """Every distinct token-count vector a sequence of ``setting`` can have, with its label (both labels)."""
    s, m = setting, setting.m
    irr = list(range(2 * m + 2, M))
    rows, labels = [], []
    for y in (1, -1):
        own, other = (0, 1) if y == 1 else (1, 0)
        for fo in itertools.combinations_with_replacement(range(m), s.a):
            for fx in itertools.combinations_with_replacement(range(m), s.n_f - s.a):
                for ir in itertools.combinations_with_replacement(irr, T - s.n_f - s.n_s):
                    c = np.zeros(M)
                    c[own] += s.n_s
                    for i in fo:
                        c[2 + 2 * i + own] += 1
                    for i in fx:
                        c[2 + 2 * i + other] += 1
                    for i in ir:
                        c[i] += 1
                    rows.append(c)
                    labels.append(y)
    return np.array(rows), np.array(labels)


def _svm_margin(X, y):
    """Hard-margin linear SVM (no intercept) by scikit-learn: its weights and its normalised margin."""
    from sklearn.svm import LinearSVC

    clf = LinearSVC(C=1e5, fit_intercept=False, loss="hinge", max_iter=200_000, tol=1e-10).fit(X, y)
    w = clf.coef_[0]
    return w, float((y * (X @ w)).min() / np.linalg.norm(w))


@pytest.mark.parametrize("setting", [(1, 3, 3, 2), (2, 3, 1, 3), (1, 4, 2, 3)])
def test_closed_form_margins_match_a_linear_svm_on_every_sequence(setting):
    s, T = Setting(*setting), 6
    M = 2 * s.m + 4
    X, y = _support(s, T, M)
    sparse, frequent = [0, 1], list(range(2, 2 * s.m + 2))
    want = ac.normalised_margins(s)
    for cols, kind in ((sparse, "sparse"), (frequent, "frequent")):
        _, got = _svm_margin(X[:, cols], y)
        assert got == pytest.approx(want[kind], rel=1e-3)
    w, got = _svm_margin(X, y)  # every token: the maximum-margin direction of the module
    mm = ac.max_margin_weights(s)
    assert got == pytest.approx(math.hypot(*want.values()), rel=1e-3)
    w = w / np.linalg.norm(w)
    assert w[0] == pytest.approx(mm["sparse"], abs=1e-3) and w[2] == pytest.approx(mm["frequent"], abs=1e-3)


def test_the_search_finds_the_reverse_disagreement_only_at_m_3_and_a_small_vocabulary():
    found = ac.search(T=50, m_max=4, n_s_max=1)
    rev = found[(found["sensitivity"] == "sparse") & (found["margin"] == "frequent")]
    assert len(rev) and set(rev["m"]) == {3} and set(rev["vocab"]) == {"smallest"} and rev["M"].max() == 9
    assert sorted(set(rev["n_f"])) == [38, 40, 42, 44, 46, 48] and not rev["def_4_2"].any()
    # every row is what setting_row says of it; each distinct distribution once (n_d of the parity of n_f)
    r = found.sample(20, random_state=0)
    for _, row in r.iterrows():
        again = ac.setting_row((row.n_s, row.n_f, row.n_d, row.m), row.M)
        assert again["sensitivity"] == row.sensitivity and again["margin"] == row.margin
    assert ((found["n_f"] - found["n_d"]) % 2 == 0).all()
    summary = ac.search_summary(found)
    assert summary["settings"].sum() == len(found)


def test_the_cpu_probe_settings_are_what_the_chapter_says():
    acc = ac.probe_accounts(sr.PRESETS["cpu"].probe_settings)
    assert (acc["category"] == "disagree").sum() == 6 and (acc["category"] == "agree").sum() == 4
    assert list(acc.index[acc["category"] == "tie"]) == ["(1,32,7,36)"]
    d = acc[acc["category"] == "disagree"]["direction"].value_counts()
    assert d["sensitivity frequent, margin sparse"] == 4 and d["sensitivity sparse, margin frequent"] == 2


# --------------------------------------------------------------------------------------------------
# The models beside Eq. 3


def test_the_frozen_read_out_reads_the_label_of_every_token_and_only_attention_trains():
    m, M, T = 3, 11, 7
    torch.manual_seed(0)
    net = va.build_model("fixed_readout", M, T, M, 1e-6, m)
    pol = torch.tensor([1, -1, 1, -1, 1, -1, 1, -1, 0, 0, 0], dtype=torch.float32)
    assert torch.allclose(net.head_directions(), va.FIXED_READOUT_SCALE * pol.expand(T, M))
    assert {n for n, p in net.named_parameters() if p.requires_grad} == {"W_Q", "W_K"}
    s = Setting(1, 4, 2, m)  # uniform attention: each query reads (n_s + d_f) / T of the label
    ids, y = generate(s, 8, T, M, torch.Generator().manual_seed(1))
    assert torch.allclose(net(ids), va.FIXED_READOUT_SCALE * (1 + 2) * y, atol=1e-4)
    with pytest.raises(ValueError, match="^model:"):
        va.build_model("counts", M, T, M, 0.1, m)


def test_the_logistic_regression_on_counts_follows_the_margin_account_out_of_distribution():
    for setting, M, want in (((1, 3, 3, 16), 59, 0.0), ((1, 48, 2, 3), 9, 1.0)):
        s = Setting(*setting)
        g = torch.Generator().manual_seed(0)
        x, y = generate(s, 400, 50, M, g)
        xo, yo = generate(s, 200, 50, M, g, ood=True)
        _, predict, w = va.fit_counts(x, y, M)
        assert float((torch.sign(predict(xo)) == yo).float().mean()) == want
        assert torch.allclose(predict(x[:3]), torch.tensor(va.counts(x[:3], M), dtype=torch.float32) @ w, atol=1e-4)


def test_a_counts_run_is_measured_like_an_attention_run():
    cfg = sr.SyntheticConfig.from_params(scale="ci", probe_models=["counts"])
    run = sr.probe_runs(cfg)[0]
    res = sr.measure_synthetic(run)
    assert res["final_ood_acc"] == 0.0 and res["final_test_acc"] == 1.0 and len(res["history"]) == 1
    assert math.isnan(res["final_attn_sparse"]) and res["final_align_sparse"] > res["final_align_frequent"]


# --------------------------------------------------------------------------------------------------
# The config: new parameters checked by name; the keys of the runs stored before them unchanged


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"probe_settings": "[(1, 3, 3)]"}, "^probe_settings: each must be"),
        ({"probe_settings": "[(1, 3, 4, 16, 59)]"}, r"^probe_settings: \(1, 3, 4, 16, 59\): n_d"),
        ({"probe_settings": "[(1, 3, 3, 16, 20)]"}, "^probe_settings: .*M ≥ 35"),
        ({"probe_settings": "[(1, 3, 3, 16, 59), (1, 3, 3, 16)]"}, "^probe_settings: each setting once"),
        ({"probe_settings": "5"}, "^probe_settings: must be a list"),
        ({"probe_models": "['eq3', 'mlp']"}, r"^probe_models: unknown value\(s\) \['mlp'\]"),
        ({"probe_models": "['eq3', 'eq3']"}, "^probe_models: each model once"),
    ],
)
def test_bad_probe_parameters_name_themselves(kw, match):
    with pytest.raises(ValueError, match=match):
        sr.SyntheticConfig.from_params(scale="ci", **kw)


def test_a_run_names_a_model_it_knows_and_the_old_runs_keep_their_keys():
    run = sr.runs(sr.PRESETS["cpu"])[0]
    with pytest.raises(ValueError, match="^model: must be one of"):
        sr.SynthRun(**{**run.__dict__, "model": "mlp"})
    from replication.runs.cache import _jsonable

    assert "model" not in _jsonable(run) and _jsonable(sr.probe_runs(sr.PRESETS["ci"])[-1])["model"] == "counts"
    cpu = sr.probe_runs(sr.PRESETS["cpu"])
    shared = {r for r in cpu if r.model == "eq3"} & set(sr.runs(sr.PRESETS["cpu"]))
    assert {r.setting.label for r in shared} == {"(3,5,1,16)", "(1,17,7,20)", "(1,32,7,36)"}  # stored already
    assert len(cpu) == 11 * 3 * 5


# --------------------------------------------------------------------------------------------------
# The diagnosis


def _table(relies_eq3: dict, seeds: int = 5) -> pd.DataFrame:
    """A hand-made probe table: one setting per direction and a control; ``relies_eq3`` setting -> OOD accuracy."""
    rows = []
    spec = {
        "(1,3,3,16)": ("frequent", "sparse", "disagree"),
        "(1,48,2,3)": ("sparse", "frequent", "disagree"),
        "(3,5,1,16)": ("sparse", "sparse", "agree"),
    }
    for setting, (sens, margin, cat) in spec.items():
        for model in ("eq3", "counts"):
            for seed in range(seeds):
                ood = relies_eq3[setting] if model == "eq3" else (0.0 if margin == "sparse" else 1.0)
                rows.append(
                    {
                        "setting": setting,
                        "model": model,
                        "seed": seed,
                        "ood_acc": ood,
                        "relies": sr.diagnosis.relies(ood),
                        "sensitivity_account": sens,
                        "margin_account": margin,
                        "category": cat,
                        "direction": ac.direction(sens, margin),
                        "converged": True,
                    }
                )
    return pd.DataFrame(rows)


def test_follow_test_counts_runs_and_gives_the_exact_interval():
    t = _table({"(1,3,3,16)": 0.0, "(1,48,2,3)": 0.02, "(3,5,1,16)": 0.0})  # eq3: sparse everywhere
    test = sr.follow_test(t, "eq3")
    both = test.loc["both directions"]
    assert (both.runs, both.margin_k, both.sensitivity_k, both.sparse_k) == (10, 5, 5, 10)
    a = test.loc["sensitivity frequent, margin sparse"]
    assert a.margin_k == 5 and a.margin_lo == pytest.approx(0.025 ** (1 / 5))  # Clopper-Pearson at k = n
    assert a.margin_hi == 1.0


def test_diagnosis_claims_hold_only_where_every_direction_follows_the_margin_account():
    cfg = sr.SyntheticConfig.from_params(scale="ci", probe_models=["eq3", "counts"])
    t = _table({"(1,3,3,16)": 0.0, "(1,48,2,3)": 0.02, "(3,5,1,16)": 0.0}, seeds=6)
    eq3, counts = sr.diagnosis_claims(cfg, t)
    assert not eq3.holds and eq3.kind == "diagnosis" and "fails in sensitivity sparse, margin frequent" in eq3.note
    assert "all 12 runs rely on the sparse tokens" in eq3.note
    assert counts.holds and "margin account predicts 12/12" in counts.measured
    t2 = _table({"(1,3,3,16)": 0.0, "(1,48,2,3)": 0.97, "(3,5,1,16)": 0.0}, seeds=6)
    assert sr.follows_margin(cfg, t2, "eq3").holds
    five = _table({"(1,3,3,16)": 0.0, "(1,48,2,3)": 0.97, "(3,5,1,16)": 0.0}, seeds=5)
    assert not sr.follows_margin(cfg, five, "eq3").holds  # 5/5 has the exact interval [0.478, 1]: too few runs


def test_failing_paper_claims_gain_the_pointer_and_keep_their_measurement():
    from tests.chapters.test_token_sensitivity import _final

    summary = sr.summary_table(_final(0.9, 0.02))
    cfg = sr.PRESETS["ci"]
    plain = sr.claims(cfg, sr.paper_comparison(), summary)
    pointer = sr.pointer(_table({"(1,3,3,16)": 0.0, "(1,48,2,3)": 0.02, "(3,5,1,16)": 0.0}))
    assert pointer.startswith("; where V25's sensitivity account") and "in 5/10" in pointer and "10/10 rely" in pointer
    told = sr.claims(cfg, sr.paper_comparison(), summary, accounts=pointer)
    for a, b in zip(plain, told):
        assert (a.holds, a.measured) == (b.holds, b.measured)
        assert b.note == (a.note + pointer if a.kind == "paper" and not a.holds else a.note)
    assert any(b.note.endswith(pointer) for b in told)


def test_the_accounts_figure_shows_every_run_and_the_attention_of_the_attention_models():
    import matplotlib

    matplotlib.use("Agg")
    from replication.plots import token_sensitivity as plots

    t = _table({"(1,3,3,16)": 0.0, "(1,48,2,3)": 0.02, "(3,5,1,16)": 0.0}, seeds=3)
    t = t.assign(enrich_sparse=2.0, enrich_frequent=1.0)
    acc = ac.probe_accounts([(1, 3, 3, 16, 59), (1, 48, 2, 3, 9), (3, 5, 1, 16, 59)])
    top, bottom = plots.accounts(t, acc)
    assert sum(len(c.get_offsets()) for c in top.collections if hasattr(c, "get_offsets")) >= 18  # 3 × 2 × 3 runs
    assert len([c for c in bottom.collections if len(c.get_offsets()) == 3]) == 2  # eq3: sparse and frequent
    assert [t.get_text().split("\n")[0] for t in bottom.get_xticklabels()] == list(acc.index)


def test_the_generated_sentences_name_each_model_and_its_counts():
    t = _table({"(1,3,3,16)": 0.0, "(1,48,2,3)": 0.02, "(3,5,1,16)": 0.0}, seeds=2)
    text = sr.describe_accounts(t)
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].startswith("- **Eq. 3 (all weights trained)**")
    assert "the margin account predicts 2/4" in lines[0] and "4 rely on the sparse tokens" in lines[0]
    assert "the margin account predicts 4/4" in lines[1]


def test_a_config_without_probe_settings_has_no_probe_runs_and_an_empty_accounts_table():
    cfg = sr.PRESETS["paper"]
    assert cfg.probe_settings == () and sr.probe_runs(cfg) == [] and sr.probe_curves(cfg).empty
    empty = ac.probe_accounts(cfg.probe_settings)
    assert empty.empty and {"sensitivity", "margin", "category"} <= set(empty.columns)
    four = sr.SyntheticConfig.from_params(scale="ci", probe_settings="[(1, 3, 3, 16)]")
    assert four.probe_settings == ((1, 3, 3, 16, 59),)  # M by the chapter's rule where omitted


def test_a_model_may_have_fewer_probe_seeds_and_bad_pairs_name_the_parameter():
    cfg = sr.SyntheticConfig(
        scale="ci", probe_settings=((1, 3, 3, 16, 59),), probe_seeds=3, probe_model_seeds=(("fixed_readout", 2),)
    )
    seeds = {(r.model, r.seed) for r in sr.probe_runs(cfg)}
    assert seeds == {
        ("eq3", 0),
        ("eq3", 1),
        ("eq3", 2),
        ("fixed_readout", 0),
        ("fixed_readout", 1),
        ("counts", 0),
        ("counts", 1),
        ("counts", 2),
    }
    for bad, match in (
        ((("mlp", 2),), "^probe_model_seeds: must be one of"),
        ((("eq3", 4),), r"^probe_model_seeds: must be an integer in \[1, 3\]"),
        ((("eq3",),), "^probe_model_seeds: each must be"),
    ):
        with pytest.raises(ValueError, match=match):
            sr.SyntheticConfig(scale="ci", probe_settings=((1, 3, 3, 16, 59),), probe_seeds=3, probe_model_seeds=bad)
