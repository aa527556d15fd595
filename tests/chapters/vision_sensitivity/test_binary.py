"""Chapter 10, V25's binary MNIST experiment: the models' shapes, the task's labels, the parameters, the
matched-accuracy selection, the levelling-off test, float16 weights against float32, and the claims on
planted data."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from replication.experiments import vision_sensitivity as ch
from replication.experiments.vision_sensitivity import binary, binary_analysis
from replication.experiments.vision_sensitivity.binary_mnist.claims import binary_claims
from replication.models.vision import MLP, ViT, build_model, count_parameters
from replication.tasks.images import digit_halves


def test_mnist_models_have_v25_app_d_shapes_and_two_logits():
    vit = build_model("vit", (1, 28, 28), 7, 2, shape="mnist")
    assert isinstance(vit, ViT) and vit.tokens == 16 and len(vit.blocks) == 2
    assert vit.blocks[0].attn.heads == 1 and vit.blocks[0].ff[0].out_features == 128
    mlp = build_model("mlp", (1, 28, 28), 7, 2, shape="mnist")
    assert isinstance(mlp, MLP) and [layer.out_features for layer in mlp.net if isinstance(layer, nn.Linear)] == [
        100,
        2,
    ]
    assert isinstance(mlp.net[1], nn.LeakyReLU)
    assert count_parameters(mlp) == 784 * 100 + 100 + 100 * 2 + 2
    x = torch.rand(5, 1, 28, 28)
    assert vit(x).shape == (5, 2) and mlp(x).shape == (5, 2)
    with pytest.raises(ValueError, match="arch"):
        build_model("cnn", (1, 28, 28), 7, 2, shape="mnist")
    with pytest.raises(ValueError, match="shape"):
        build_model("vit", (1, 28, 28), 7, 2, shape="svhn")


def test_vit_ignores_the_order_of_nothing_but_reads_every_patch():
    """A property: changing one patch changes the ViT's logits (every token reaches the class token)."""
    torch.manual_seed(0)
    vit = build_model("vit", (1, 28, 28), 7, 2, shape="mnist").eval()
    x = torch.randn(1, 1, 28, 28)
    base = vit(x)
    for r, c in ((0, 0), (3, 3), (1, 2)):
        y = x.clone()
        y[..., 7 * r : 7 * r + 7, 7 * c : 7 * c + 7] += 3 * torch.randn(7, 7)
        assert not torch.allclose(vit(y), base)


def test_digit_halves_labels():
    y = torch.arange(10)
    assert digit_halves(y).tolist() == [0] * 5 + [1] * 5
    with pytest.raises(ValueError, match="y"):
        digit_halves(torch.tensor([3, 11]))


def test_presets_and_bad_binary_parameters():
    cfg = ch.VisionConfig.from_params(scale="cpu")
    runs = ch.binary_runs(cfg)
    assert len(runs) == 2 * cfg.binary_seeds >= 10
    assert {r.arch for r in runs} == {"vit", "mlp"} and {r.lr for r in runs} == {0.01}
    assert {r.batch_size for r in runs} == {50} and {r.epochs for r in runs} == {cfg.binary_epochs}
    assert runs[0].n_sens >= 0.3 * runs[0].n_train and runs[0].repeats == 5
    for param, value in (
        ("binary_seeds", -1),
        ("binary_epochs", 0),
        ("binary_levels", "[0.9, 0.8]"),
        ("binary_levels", "[0.5, 1.5]"),
        ("binary_levels", "[]"),
    ):
        with pytest.raises(ValueError, match=param):
            ch.VisionConfig.from_params(scale="ci", **{param: value})
    with pytest.raises(ValueError, match="binary_window"):
        ch.VisionConfig(scale="ci", binary_epochs=3, binary_window=3)
    assert ch.binary_runs(ch.VisionConfig.from_params(scale="ci", binary_seeds=0)) == []


def test_first_epoch_at_or_above_a_level():
    h = [{"train_acc": a} for a in (0.5, 0.79, 0.8, 0.85, 0.83, 0.95)]
    assert binary.first_at_or_above(h, 0.8) == 2
    assert binary.first_at_or_above(h, 0.84) == 3
    assert binary.first_at_or_above(h, 0.96) is None


def test_levelled_off_compares_two_windows():
    flat = [{"x": v} for v in (0.1, 0.5, 0.9, 0.9, 0.91, 0.9, 0.9, 0.91)]
    change, ok = binary.levelled(flat, "x", 3, 0.005)
    assert ok and abs(change) < 1e-9
    rising = [{"x": 0.01 * i} for i in range(10)]
    change, ok = binary.levelled(rising, "x", 3, 0.005)
    assert not ok and change == pytest.approx(0.03)
    assert binary.levelled(rising[:5], "x", 3, 0.005)[1] is False


def _checks(vit, mlp, vit_final, mlp_final, levels=(0.8, 0.9), border=(0.9, 0.3)) -> pd.DataFrame:
    """Planted checkpoint rows: per seed, sensitivity at each level and at the end, for both models."""
    rows = []
    for arch, by_seed, fin, b in (("vit", vit, vit_final, border[0]), ("mlp", mlp, mlp_final, border[1])):
        for seed, vals in enumerate(by_seed):
            for lv, v in zip(levels, vals):
                rows.append(
                    {
                        "model": arch,
                        "arch": arch,
                        "seed": seed,
                        "name": f"acc{lv}",
                        "level": lv,
                        "epoch": 1,
                        "train_acc": lv,
                        "sensitivity": v,
                        "border_share": b,
                    }
                )
            rows.append(
                {
                    "model": arch,
                    "arch": arch,
                    "seed": seed,
                    "name": "final",
                    "level": None,
                    "epoch": 9,
                    "train_acc": 1.0,
                    "sensitivity": fin[seed],
                    "border_share": b,
                }
            )
    return pd.DataFrame(rows)


def test_matched_levels_are_those_every_run_reached():
    c = _checks([[0.01, 0.02]] * 3, [[0.05, 0.06]] * 3, [0.01] * 3, [0.05] * 3)
    assert binary_analysis.matched_levels(c) == [0.8, 0.9]
    c = c[~((c["arch"] == "vit") & (c["seed"] == 2) & (c["level"] == 0.9))]
    assert binary_analysis.matched_levels(c) == [0.8]


def test_claims_hold_on_planted_data_and_fail_with_the_reason():
    cfg = ch.VisionConfig.from_params(scale="ci")
    rng = np.random.default_rng(0)
    low = [[0.01 + 0.002 * rng.random(), 0.012 + 0.002 * rng.random()] for _ in range(5)]
    high = [[0.05 + 0.01 * rng.random(), 0.04 + 0.01 * rng.random()] for _ in range(5)]
    good = _checks(low, high, [0.01, 0.012, 0.011, 0.009, 0.01], [0.03, 0.035, 0.04, 0.032, 0.031])
    matched, final = binary_claims(cfg, good)
    assert matched.holds and final.holds and "p = " in matched.note
    bad = _checks(high, low, [0.03, 0.035, 0.04, 0.032, 0.031], [0.01, 0.012, 0.011, 0.009, 0.01])
    matched, final = binary_claims(cfg, bad)
    assert not matched.holds and not final.holds
    for c in (matched, final):
        assert "fails" in c.note and "90%" in c.note and "excess lies mostly on the blank border patches" in c.note
    curves = pd.DataFrame(
        [
            {"arch": a, "seed": 0, "epoch": e, "sensitivity": v}
            for a, vals in (("vit", (0.0, 0.04, 0.03)), ("mlp", (0.1, 0.02, 0.01)))
            for e, v in enumerate(vals)
        ]
    )
    matched, _ = binary_claims(cfg, bad, curves)
    assert "ViT 0 at initialisation, peak 0.04, 0.03 at the end" in matched.note
    none = binary_claims(cfg, pd.DataFrame())
    assert [c.testable for c in none] == [False, False]
    sweep = pd.DataFrame(
        [
            {"arch": a, "seed": s, "ratio": r, "sensitivity": v}
            for s in range(2)
            for r, (vv, mm) in zip((1.0, 4.0), ((0.03, 0.01), (0.04, 0.09)))
            for a, v in (("vit", vv), ("mlp", mm))
        ]
    )
    matched, final = binary_claims(cfg, bad, curves, sweep)
    assert "below the MLP at 4 × sigma and at or above it at 1 × sigma" in final.note
    assert "noise-level sweep" not in matched.note  # the sweep measured the final models only
    good_claims = binary_claims(cfg, good, None, sweep)
    assert "noise-level sweep" not in good_claims[0].note  # only a failing claim cites it


def test_float16_checkpoints_give_the_float32_measures():
    """The same run stored in float16 and in float32 (training is deterministic): the measures agree."""
    cfg = ch.VisionConfig.from_params(scale="ci", binary_seeds=1, binary_epochs=3, binary_levels="[0.55]")
    cfg32 = ch.VisionConfig(**{**cfg.__dict__, "binary_weights": "float32"})
    for arch in (0, 1):
        r16, r32 = ch.binary_runs(cfg)[arch], ch.binary_runs(cfg32)[arch]
        res16, res32 = ch.measure_binary(r16), ch.measure_binary(r32)
        assert (
            pd.DataFrame(res16["history"]).equals(pd.DataFrame(res32["history"])) and res16["stored_agreement"] >= 0.99
        )
        assert all(v.dtype == torch.float16 for v in res16["weights"]["final"].values())
        assert all(v.dtype == torch.float32 for v in res32["weights"]["final"].values())
        assert res16["checkpoints"][-1]["name"] == "final" and res16["sensitivity"] == res32["sensitivity"]
        x = binary.binary_data(r16)[0]
        m16, m32 = (
            ch.load_checkpoint(r16, res16["weights"]["final"]),
            ch.load_checkpoint(r32, res32["weights"]["final"]),
        )
        with torch.no_grad():
            assert (m16(x).argmax(-1) == m32(x).argmax(-1)).float().mean() >= 0.99
        s16 = ch.image_sensitivity(m16, x, r16.patch, r16.sigma, 3, torch.Generator().manual_seed(0)).fraction
        s32 = ch.image_sensitivity(m32, x, r32.patch, r32.sigma, 3, torch.Generator().manual_seed(0)).fraction
        assert abs(s16 - s32) <= 0.01


def _pn_checks(nopn_shift: float) -> "pd.DataFrame":
    """A planted checkpoint table: 4 seeds of the ViT, the ViT without patch LayerNorm and the MLP."""
    import pandas as pd

    rows = []
    base = {"vit": 0.03, "mlp": 0.02, "vit_nopn": 0.03 + nopn_shift}
    share = {"vit": 0.6, "mlp": 0.2, "vit_nopn": 0.25}
    for seed in range(4):
        for arch, s in base.items():
            for name, level in (("0.9", 0.9), ("0.95", 0.95), ("final", float("nan"))):
                rows.append(
                    {
                        "model": arch,
                        "arch": arch,
                        "seed": seed,
                        "name": name,
                        "level": level,
                        "epoch": 3,
                        "train_acc": 0.99,
                        "test_acc": 0.95,
                        "sensitivity": s + 0.001 * seed,
                        "border_share": share[arch],
                    }
                )
    return pd.DataFrame(rows)


def test_patch_norm_claim_pairs_seeds_and_compares_with_the_mlp():
    from replication.experiments.vision_sensitivity.binary_mnist import patch_norm as pn

    cfg = ch.PRESETS["ci"]
    lower = pn.patch_norm_claim(cfg, _pn_checks(-0.015))
    assert lower.holds and "below the MLP, as V25 found" in lower.note and "vit_nopn 25%" in lower.measured
    same = pn.patch_norm_claim(cfg, _pn_checks(0.0))
    assert not same.holds and "does not lower" in same.note
    table = pn.patch_norm_table(_pn_checks(-0.015))
    assert list(table.index) == ["vit", "vit_nopn", "mlp"]
    assert table.loc["vit_nopn", "matched sensitivity"] == pytest.approx(0.015 + 0.0015)
    assert not pn.patch_norm_claim(cfg, _pn_checks(0.0).iloc[0:0]).testable


def test_adam_runs_keep_the_sgd_keys_and_the_claim_is_an_equivalence_test():
    from replication.experiments.vision_sensitivity.binary_mnist import adam
    from replication.runs.cache import config_key
    from replication.runs.sweep import run_key

    cpu = ch.PRESETS["cpu"]
    runs = binary.adam_runs(cpu)
    assert len(runs) == 5 and {(r.optimizer, r.lr, r.halve_every) for r in runs} == {("adam", 0.002, 8)}
    sgd = [r for r in ch.binary_runs(cpu) if r.arch == "vit"]
    assert config_key("k", run_key(sgd[0], "cpu")) != config_key("k", run_key(runs[0], "cpu"))
    with pytest.raises(ValueError, match="^optimizer:"):
        binary.BinaryRun(**{**sgd[0].__dict__, "optimizer": "lbfgs"})

    def planted(factor):
        rows = []
        for seed in range(5):
            for opt, s in (
                ("sgd", 0.03 + 0.002 * seed),
                ("adam", (0.03 + 0.002 * seed) * factor * (1 + 0.02 * (-1) ** seed)),
            ):
                for name, level in (("acc0", 0.9), ("final", float("nan"))):
                    rows.append(
                        {
                            "model": opt,
                            "arch": "vit_" + opt,
                            "optimizer": opt,
                            "seed": seed,
                            "name": name,
                            "level": level,
                            "epoch": 3,
                            "train_acc": 0.99,
                            "test_acc": 0.95,
                            "sensitivity": s,
                        }
                    )
        return pd.DataFrame(rows)

    assert adam.adam_claim(cpu, planted(1.1)).holds  # within a factor 1.5
    far = adam.adam_claim(cpu, planted(3.0))
    assert not far.holds and "outside the bound" in far.note and "Adam / SGD 3" in far.measured
    noisy = planted(1.2)
    spread = noisy["optimizer"] == "adam"
    shift = noisy.loc[spread, "seed"].map({0: 1.0, 1: -1.0, 2: 0.6, 3: -0.4, 4: -0.2})  # log ratios of mean ~0.2
    noisy.loc[spread, "sensitivity"] *= np.exp(0.5 * shift)
    wide = adam.adam_claim(cpu, noisy)
    assert not wide.holds and "vary too much" in wide.note and "seeds would bound it" in wide.note


def test_seeds_needed_grows_with_the_spread():
    from replication.experiments.vision_sensitivity.binary_mnist.adam import _seeds_needed

    n = [
        int(
            _seeds_needed(pd.Series(np.array([0.1, -0.1, 0.3, -0.2, 0.05]) * k), np.log(1.5))
            .split("about ")[1]
            .split()[0]
        )
        for k in (1, 2, 3)
    ]
    assert n[0] < n[1] < n[2]


def test_patch_norm_description_reads_the_table():
    from replication.experiments.vision_sensitivity.binary_mnist import patch_norm as pn

    text = pn.describe_patch_norm(pn.patch_norm_table(_pn_checks(-0.015)))
    assert "lowers the ViT's sensitivity" in text and "border patches is 25%" in text
    assert "does not lower" in pn.describe_patch_norm(pn.patch_norm_table(_pn_checks(0.01)))
