"""The synthetic task of V25 §4.1: the generator, the exact predictor sensitivities, the model of Eq. 3."""

import itertools

import pytest
import torch

from replication.experiments import token_sensitivity as sr
from replication.experiments.token_sensitivity import task as st
from replication.models.attention_classifier import AttentionClassifier
from replication.tasks.synthetic import Setting, generate

SMALL = [(1, 3, 1, 2), (2, 3, 1, 2), (1, 2, 2, 2), (2, 4, 2, 3)]  # (n_s, n_f, n_d, m), T = 8


def class_counts(ids, y, m):
    """Per sequence, tokens of each class relative to the label, counted one by one (plain Python)."""
    out = []
    for row, label in zip(ids.tolist(), y.tolist()):
        c = dict.fromkeys(st.CLASSES, 0)
        for tok in row:
            if tok < 2:
                own = (tok == 0) == (label > 0)
                c["sparse_y" if own else "sparse_other"] += 1
            elif tok < 2 * m + 2:
                own = (tok % 2 == 0) == (label > 0)
                c["frequent_y" if own else "frequent_other"] += 1
            else:
                c["irrelevant"] += 1
        out.append(c)
    return out


@pytest.mark.parametrize("setting", list(st.PAPER_TABLE) + SMALL)
@pytest.mark.parametrize("ood", [False, True])
def test_generator_token_counts_and_labels(setting, ood):
    s = Setting(*setting)
    T = 50 if setting in st.PAPER_TABLE else 8
    M = st.smallest_vocab(s, T) + 3
    ids, y = generate(s, 300, T, M, torch.Generator().manual_seed(0), ood=ood)
    assert ids.shape == (300, T) and set(y.tolist()) == {-1.0, 1.0}
    assert 0.35 < (y > 0).float().mean() < 0.65
    assert ids.min() >= 0 and ids.max() < M
    a = (s.n_f + s.n_d) // 2
    want = {
        "sparse_y": 0 if ood else s.n_s,
        "sparse_other": s.n_s if ood else 0,
        "frequent_y": a,
        "frequent_other": s.n_f - a,
        "irrelevant": T - s.n_f - s.n_s,
    }
    assert all(c == want for c in class_counts(ids, y, s.m))
    # the sparse tokens sit at random positions, not in a fixed slot
    assert len(set((ids < 2).float().argmax(1).tolist())) > T // 3


def brute_sensitivity(setting, which, M, T, ties, replacement, n=6):
    """Def. 4.1 by counting: every position of a few generated sequences replaced by every allowed token."""
    s = Setting(*setting)
    ids, y = generate(s, n, T, M, torch.Generator().manual_seed(1))
    w_f = 1.0 / (2 * s.n_f + 4)

    def score(row, label):
        c = class_counts(torch.tensor([row]), torch.tensor([label]), s.m)[0]
        sp, fr = c["sparse_y"] - c["sparse_other"], c["frequent_y"] - c["frequent_other"]
        return {"sparse": sp, "frequent": fr, "sparse_first": sp + w_f * fr}[which]

    total = count = 0.0
    for row, label in zip(ids.tolist(), y.tolist()):
        base = score(row, label)
        assert base > 0  # both predictors are right on the data
        for pos in range(T):
            options = [tok for tok in range(M) if replacement == "with_self" or tok != row[pos]]
            for tok in options:
                new = score(row[:pos] + [tok] + row[pos + 1 :], label)
                change = (
                    1.0
                    if new < -1e-12
                    else ({"change": 1.0, "keep": 0.0, "half": 0.5}[ties] if abs(new) < 1e-12 else 0.0)
                )
                total += change / len(options)
            count += 1
    return total / count


@pytest.mark.parametrize("setting", SMALL)
@pytest.mark.parametrize("which", st.PREDICTORS)
@pytest.mark.parametrize("ties,replacement", list(itertools.product(st.TIE_RULES, st.REPLACEMENTS)))
def test_exact_predictor_sensitivity_matches_a_brute_force_count(setting, which, ties, replacement):
    T, M = 8, st.smallest_vocab(Setting(*setting), 8) + 2
    exact = st.predictor_sensitivity(setting, which, M, T, ties, replacement)
    assert exact == pytest.approx(brute_sensitivity(setting, which, M, T, ties, replacement), abs=1e-12)


def test_closed_forms_worked_out_by_hand():
    """n_s = 1, ties count as changes: the sparse position changes unless the replacement is its own
    token, any other position changes when it becomes the other sparse token: (M + T - 2) / (T M).
    Frequent margin 1: a own-label frequent position changes unless the replacement is of its own set
    (M - m of M), an irrelevant or sparse position when it becomes an other-label frequent token (m of M)."""
    T, M = 50, 75
    assert st.predictor_sensitivity((1, 32, 7, 36), "sparse", M, T) == pytest.approx((M + T - 2) / (T * M))
    assert st.predictor_sensitivity((1, 32, 7, 36), "frequent", M, T) == 0
    for (n_f, m), a in zip([(3, 6), (5, 16), (7, 28)], [2, 3, 4]):
        M = 59
        assert st.predictor_sensitivity((3, n_f, 1, m), "frequent", M, T) == pytest.approx(
            (a * (M - m) + (T - n_f) * m) / (M * T)
        )
        assert st.predictor_sensitivity((3, n_f, 1, m), "sparse", M, T) == 0
    assert st.predictor_sensitivity((1, 17, 7, 20), "sparse_first", 69, T) == pytest.approx(1 / (T * 69))


def test_the_search_finds_one_rule_and_the_vocabularies():
    best = st.best_candidates(st.vocabulary_search())
    hits = best[best["reproduced"]]
    assert set(zip(hits["ties"], hits["replacement"])) == {("change", "with_self")}
    vocab = dict(zip(hits["setting"], hits["M"]))
    assert vocab == {"(3,3,1,6)": 59, "(3,5,1,16)": 59, "(3,7,1,28)": 59, "(1,7,7,10)": 69, "(1,17,7,20)": 69}
    assert "(1,32,7,36)" not in vocab  # M = 69 cannot hold 2 + 72 sparse and frequent tokens and irrelevant ones


def test_model_equals_equation_3_written_with_one_hot_matrices():
    torch.manual_seed(0)
    M, T, width = 11, 7, 5
    model = AttentionClassifier(M, T, width, init=0.5)
    ids = torch.randint(0, M, (4, T))
    X = torch.nn.functional.one_hot(ids, M).float()  # (B, T, M)
    A = torch.softmax(X @ model.W_Q @ model.W_K.T @ X.transpose(1, 2), dim=-1)
    phi = (model.U * (A @ X @ model.W_V)).sum((1, 2))
    assert torch.allclose(model(ids), phi, atol=1e-5)
    assert torch.allclose(model.attention(ids), A, atol=1e-6)


def test_exhaustive_replacement_sensitivity_of_a_count_predictor_is_the_exact_value():
    s, T, M = Setting(1, 17, 7, 20), 50, 69
    ids, y = generate(s, 5, T, M, torch.Generator().manual_seed(2))
    predict = lambda x: ((x == 0).sum(1) - (x == 1).sum(1)).float()  # sparse(+1) - sparse(-1)
    # the label of every generated sequence here is read off its own sparse token; sign(0) is a change
    got = st.replacement_sensitivity(predict, ids, M, None, torch.Generator())
    assert got == pytest.approx(st.predictor_sensitivity(s, "sparse", M, T))


def test_alignment_and_attention_mass_of_a_hand_set_model():
    m, M, T = 2, 9, 6
    model = AttentionClassifier(M, T, M, init=0.0 + 1e-9)
    with torch.no_grad():
        model.W_V.copy_(torch.eye(M))
        model.U.copy_(st.directions(m, M)["sparse"].expand(T, M))
    al = st.alignment(model, m, M)
    assert al["align_sparse"] == pytest.approx(1.0) and abs(al["align_frequent"]) < 1e-6
    ids = torch.tensor([[0, 2, 3, 6, 7, 8]])  # one sparse, two frequent, three irrelevant; uniform attention
    mass = st.attention_mass(model, ids, m, M)
    assert (mass["attn_sparse"], mass["attn_frequent"], mass["attn_irrelevant"]) == pytest.approx((1 / 6, 2 / 6, 3 / 6))


@pytest.mark.parametrize(
    "settings,match",
    [
        ("[(3, 2, 1, 6)]", "n_s"),
        ("[(1, 4, 1, 6)]", "settings"),
        ("[(1, 3, 7, 6)]", "n_d"),
        ("[(1, 2)]", "settings"),
        ("[(1, 50, 7, 60)]", "settings: .*T = 50"),
        ("[]", "settings"),
    ],
)
def test_bad_settings_stop_with_a_message_naming_the_parameter(settings, match):
    with pytest.raises(ValueError, match=match):
        sr.SyntheticConfig.from_params(scale="ci", settings=settings)


def test_bad_values_of_the_other_parameters_name_them():
    for kw, name in [({"seeds": 0}, "seeds"), ({"epochs": 0}, "epochs"), ({"lr": -1}, "lr"), ({"vocab": 40}, "vocab")]:
        with pytest.raises(ValueError, match=name):
            sr.SyntheticConfig.from_params(scale="ci", **kw)


def test_cpu_preset_uses_the_derived_vocabularies():
    cfg = sr.SyntheticConfig.from_params(scale="cpu")
    vocab = {r.setting.label: r.vocab for r in sr.runs(cfg)}
    assert vocab == {
        "(3,3,1,6)": 59,
        "(3,5,1,16)": 59,
        "(3,7,1,28)": 59,
        "(1,7,7,10)": 69,
        "(1,17,7,20)": 69,
        "(1,32,7,36)": 75,
    }


def _final(ood_top, ood_bottom, seeds=4):
    """A hand-made final table: one sparse-lower and one frequent-lower setting, given OOD accuracies."""
    rows = []
    for setting, n_s, n_f, sp, fr, ood in (
        ("(3,5,1,16)", 3, 5, 0.0, 0.2878, ood_top),
        ("(1,17,7,20)", 1, 17, 0.0339, 0.0, ood_bottom),
    ):
        for seed in range(seeds):
            lower_sparse = sp < fr
            rows.append(
                {
                    "setting": setting,
                    "seed": seed,
                    "n_s": n_s,
                    "n_f": n_f,
                    "T": 50,
                    "vocab": 59,
                    "sparse_predictor": sp,
                    "frequent_predictor": fr,
                    "sparse_first_predictor": 0.0,
                    "final_sensitivity": 0.0,
                    "test_acc": 1.0,
                    "ood_acc": ood + 0.01 * seed,
                    "align_sparse": 0.9 if lower_sparse else 0.1,
                    "align_frequent": 0.1 if lower_sparse else 0.9,
                    "attn_sparse": 0.2 if lower_sparse else 0.02,
                    "attn_frequent": 0.1,
                    "lower": "sparse" if lower_sparse else "frequent",
                }
            )
    import pandas as pd

    return pd.DataFrame(rows)


def test_claims_hold_on_models_that_follow_the_lower_set_and_fail_otherwise():
    cfg = sr.SyntheticConfig.from_params(scale="ci")
    comparison = sr.paper_comparison()
    assert len(comparison) == 6 and comparison["reproduced"].sum() == 5
    good = {c.claim: c.holds for c in sr.claims(cfg, comparison, sr.summary_table(_final(0.0, 0.97)))}
    bad = {c.claim: c.holds for c in sr.claims(cfg, comparison, sr.summary_table(_final(0.9, 0.02)))}
    relies = [k for k in good if k.startswith("Where the")]
    assert len(relies) == 2 and all(good[k] for k in relies) and not any(bad[k] for k in relies)
    table = [k for k in good if "Table 1/3" in k]
    assert table and not good[table[0]]  # (1,32,7,36) is not reproduced


# --------------------------------------------------------------------------------------------------
# Training to convergence: the stop rule, the protocol sweep and the attention entropy


@pytest.mark.parametrize(
    "kw,name",
    [
        ({"init": 0}, "init"),
        ({"init": "1/M"}, "init"),
        ({"stop_loss": 2}, "stop_loss"),
        ({"stop_loss": "x"}, "stop_loss"),
    ],
)
def test_bad_init_and_stop_rule_name_themselves(kw, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        sr.SyntheticConfig.from_params(scale="ci", **kw)


def test_bad_sweep_values_name_themselves():
    for kw, name in [
        ({"sweep_inits": (0.0,), "sweep_lrs": (0.1,)}, "sweep_inits"),
        ({"sweep_inits": (0.1,), "sweep_lrs": (-1,)}, "sweep_lrs"),
        ({"sweep_lrs": 0.1}, "sweep_lrs"),
    ]:
        with pytest.raises(ValueError, match=rf"^{name}:"):
            sr.SyntheticConfig(scale="ci", **kw)


def test_init_sqrt_m_is_one_over_the_root_of_each_settings_vocabulary():
    cfg = sr.SyntheticConfig.from_params(scale="cpu", init="1/sqrt(M)")
    assert {r.vocab: r.init for r in sr.runs(cfg)} == {
        59: pytest.approx(59**-0.5),
        69: pytest.approx(69**-0.5),
        75: pytest.approx(75**-0.5),
    }
    sweep = sr.protocol_runs(sr.PRESETS["cpu"])
    assert len(sweep) == 3 * 3 * 6 * 5 and {r.seed for r in sweep[:54]} == {0}  # seed 0 of every pair first
    assert set(sr.runs(sr.PRESETS["cpu"])) <= set(sweep)  # the chapter's protocol is one of the sweep's


@pytest.mark.slow
def test_the_stop_rule_ends_a_run_once_the_training_loss_reaches_it():
    run = sr.runs(sr.SyntheticConfig.from_params(scale="ci", epochs=30, lr=0.5, stop_loss=0.3))[0]
    res = sr.measure_synthetic(run)
    losses = [r["train_loss"] for r in res["history"]]
    assert res["converged"] and losses[-1] <= 0.3 < min(losses[:-1])
    assert res["steps_run"] < 30 * run.n_train // run.batch_size
    never = sr.measure_synthetic(sr.runs(sr.SyntheticConfig.from_params(scale="ci", epochs=2))[0])
    assert not never["converged"] and len(never["history"]) == 3


def test_attention_entropy_is_one_when_uniform_and_zero_when_every_query_sees_one_key():
    M, T = 8, 5
    model = AttentionClassifier(M, T, M, 1e-6)
    ids = torch.randint(0, M, (4, T))
    assert st.attention_entropy(model, ids) == pytest.approx(1.0, abs=1e-6)
    with torch.no_grad():  # token 0 scores 50 against every token, everything else 0
        model.W_Q.zero_(), model.W_K.zero_()
        model.W_Q[:, 0] = 1.0
        model.W_K[0, 0] = 50.0
    ids = torch.tensor([[0, 1, 2, 3, 4]])
    assert st.attention_entropy(model, ids) < 1e-6


def test_protocol_table_counts_convergence_and_the_rule_picks_the_fastest_that_always_converges():
    import pandas as pd

    rows = []
    for init, lr, epochs in ((0.01, 0.1, (80, 120, None)), (0.01, 0.5, (20, 30, 40)), (59**-0.5, 0.5, (10, 15, 90))):
        for s, e in zip(("(3,3,1,6)", "(1,7,7,10)", "(1,32,7,36)"), epochs):
            rows.append(
                {
                    "setting": s,
                    "init": init,
                    "lr": lr,
                    "vocab": 59,
                    "epoch": e or 200,
                    "converged": e is not None,
                    "train_loss": 0.009 if e else 0.2,
                    "train_seconds": 1.0,
                }
            )
    table = sr.protocol_table(pd.DataFrame(rows))
    assert list(table["init"]) == ["0.01", "0.01", "1/sqrt(M)"] and list(table["converged"]) == ["2/3", "3/3", "3/3"]
    assert table["not_converged"].iloc[0] == "(1,32,7,36)" and table["worst_train_loss"].iloc[0] == 0.2
    assert sr.choose_protocol(table) == ("0.01", 0.5)  # 40 epochs at worst against 90
    assert sr.choose_protocol(table.iloc[:1]) is None


def test_table_claim_states_the_fitted_evidence():
    claim = sr.claims(sr.PRESETS["ci"], sr.paper_comparison(), sr.summary_table(_final(0.0, 0.97)))[0]
    assert claim.measured.startswith("5/6 non-trivial cells") and "6 of the 12 are 0 under every rule" in claim.measured
    assert "4 distinct printed values" in claim.measured and "M = 59 for" in claim.measured
    assert "not matched: (1,32,7,36) sparse" in claim.measured and not claim.holds


def test_only_converged_runs_are_judged_and_untrained_attention_is_named():
    final = _final(0.0, 0.97).assign(converged=True, attn_entropy=0.999, initial_attn_entropy=1.0)
    final = final.assign(attn_sparse=final["n_s"] / 50, attn_frequent=final["n_f"] / 50)  # uniform attention
    final.loc[0, ["converged", "ood_acc"]] = (False, 0.99)  # a run that did not converge, and follows nothing
    summary = sr.summary_table(final)
    assert summary.loc["(3,5,1,16)", ["seeds", "runs", "converged"]].tolist() == [3, 4, 3]
    assert summary.loc["(3,5,1,16)", "ood_acc"] == pytest.approx(0.02)  # seeds 1-3 only
    claims = {c.claim: c for c in sr.claims(sr.PRESETS["ci"], sr.paper_comparison(), summary)}
    attn = next(c for k, c in claims.items() if k.startswith("Attention prefers"))
    assert not attn.holds and "never trained" in attn.note and "entropy −0.001" in attn.measured
    sparse = next(c for k, c in claims.items() if k.startswith("Where the sparse"))
    assert sparse.holds and "(3,5,1,16) 3/4" in sparse.note


def test_check_table_puts_the_stop_rule_first_and_the_text_reads_both():
    import pandas as pd

    def final(epoch, attn_sparse, ood):
        return pd.DataFrame(
            [
                {
                    "setting": "(1,17,7,20)",
                    "seed": 0,
                    "epoch": epoch,
                    "train_loss": 0.01,
                    "attn_entropy": 0.99,
                    "attn_sparse": attn_sparse,
                    "attn_frequent": 17 / 50,
                    "n_s": 1,
                    "n_f": 17,
                    "T": 50,
                    "ood_acc": ood,
                }
            ]
        )

    table = sr.check_table(final(19, 0.02, 1.0), final(400, 0.03, 1.0))
    assert list(table.index.get_level_values("run")) == ["stop rule", "no stop"]
    assert table["enrich_sparse"].tolist() == pytest.approx([1.0, 1.5])
    summary = pd.DataFrame([{"lower": "frequent"}], index=["(1,17,7,20)"])
    text = sr.check_text(table, summary)
    assert "after 400 epochs" in text and "frequent 1 → 1, sparse 1 → 1.5 (OOD 1 → 1)" in text


def test_the_failing_attention_claim_cites_the_longer_runs():
    import pandas as pd

    final = _final(0.0, 0.97).assign(converged=True, attn_entropy=0.999, initial_attn_entropy=1.0)
    final = final.assign(attn_sparse=final["n_s"] / 50, attn_frequent=final["n_f"] / 50)
    summary = sr.summary_table(final)
    idx = pd.MultiIndex.from_tuples(
        [(s, r) for s in summary.index for r in ("stop rule", "no stop")], names=["setting", "run"]
    )
    check = pd.DataFrame(
        {"epochs": [10, 400] * 2, "enrich_sparse": [1.0, 1.3] * 2, "enrich_frequent": [1.0, 1.1] * 2}, index=idx
    )
    note = sr.claims(sr.PRESETS["ci"], sr.paper_comparison(), summary, check)[-1].note
    assert "trained 400 epochs without the stop rule" in note and "(1,17,7,20) 1.1 vs 1.3" in note
