"""Chapter 10: config checks, the regulariser's one-patch noise, image sensitivity of hand-built models with
known answers, sharpness, the claims' statistics, and a whole ci-scale run."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from replication.experiments import vision_sensitivity as ch
from replication.experiments.vision_sensitivity.regularisation.claims import method_claims
from replication.experiments.vision_sensitivity.ten_class.claims import architecture_claims
from replication.measures.token import patchify


# --------------------------------------------------------------------------------------------------
# The config


def _claims(cfg, runs):
    """The target-accuracy runs' claims, as the two sections that show them make them: the architectures' (ten-class
    section), then the training methods' (regularisation section)."""
    return architecture_claims(cfg, runs) + method_claims(cfg, runs)


def test_presets_build_and_derive_their_runs():
    cfg = ch.VisionConfig.from_params(scale="cpu")
    runs = ch.vision_runs(cfg)
    assert len(runs) == (3 + 2) * cfg.seeds  # 3 architectures plain; the ViT also with reg and aug
    assert {(r.arch, r.method) for r in runs} == {
        ("vit", "plain"),
        ("cnn", "plain"),
        ("mlp", "plain"),
        ("vit", "reg"),
        ("vit", "aug"),
    }
    r = runs[0]
    assert r.patch == 7 and (28 // r.patch) ** 2 == 16
    assert r.sigma == pytest.approx(math.sqrt(80 / 49)) and r.reg_sigma == r.sigma
    assert r.aug_sigma**2 == pytest.approx(0.1 * r.sigma**2)


@pytest.mark.parametrize(
    "param,value,needle",
    [
        ("dataset", "cifar100", "dataset"),
        ("sigma", -1, "sigma"),
        ("sigma", "-1", "sigma"),
        ("architectures", '["vit", "rnn"]', "architectures"),
        ("seeds", 0, "seeds"),
        ("epochs", "many", "epochs"),
    ],
)
def test_bad_parameters_stop_naming_the_parameter(param, value, needle):
    with pytest.raises(ValueError, match=needle):
        ch.VisionConfig.from_params(scale="ci", **{param: value})


def test_cifar10_without_files_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_dir") as e:
        ch.VisionConfig.from_params(scale="ci", dataset="cifar10", data_dir=str(tmp_path))
    assert "cifar-10-batches-py" in str(e.value) and str(tmp_path) in str(e.value) and "cifar.html" in str(e.value)
    with pytest.raises(FileNotFoundError, match="data_dir") as e:
        ch.VisionConfig.from_params(scale="ci", dataset="cifar10")
    assert "looked for data_batch_1" in str(e.value) and "cifar.html" in str(e.value)


def test_architectures_without_vit_regularise_the_first():
    cfg = ch.VisionConfig.from_params(scale="ci", architectures='["cnn", "mlp"]')
    assert cfg.regularised == "cnn"
    assert {(r.arch, r.method) for r in ch.vision_runs(cfg)} >= {("cnn", "reg"), ("cnn", "aug")}


# --------------------------------------------------------------------------------------------------
# Noise, sensitivity and sharpness on hand-built models


def test_one_patch_noise_touches_exactly_one_patch_per_image():
    x = torch.zeros(50, 1, 28, 28)
    noisy = ch.one_patch_noise(x, 7, 1.0, torch.Generator().manual_seed(0))
    changed = (patchify(noisy - x, 7).abs().sum(-1) > 0).sum(-1)  # (B,) patches changed per image
    assert changed.tolist() == [1] * 50
    assert len({int(i) for i in (patchify(noisy, 7).abs().sum(-1) > 0).float().argmax(-1)}) > 5  # patch varies


class OnePatch(nn.Module):
    """Predicts class 1 when the mean of patch ``k`` (7x7 grid of 28x28) is above 0, else class 0."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        m = patchify(x, 7)[:, self.k].mean(-1)
        return torch.stack([-m, m], dim=-1)


def test_image_sensitivity_of_a_model_reading_one_patch_is_one_over_t():
    # Clean patch mean exactly 0 (prediction 0 by ties); any noise flips it with probability 1/2 ... so use
    # a large positive mean instead and huge noise: the reading patch flips about half the time, others never.
    x = torch.zeros(40, 1, 28, 28)
    x[:, :, :7, :7] = 1e-9
    s = ch.image_sensitivity(OnePatch(0), x, 7, 100.0, 8, torch.Generator().manual_seed(0))
    assert s.per_token[1:].abs().sum() == 0
    assert 0.4 < float(s.per_token[0]) < 0.6  # a sign flip of a N(0, 100²/49) mean: probability 1/2
    assert s.fraction == pytest.approx(float(s.per_token[0]) / 16)
    # Noise cannot flip a patch mean of 1e6: sensitivity 0; a constant model: 0.
    x[:, :, :7, :7] = 1e6
    assert ch.image_sensitivity(OnePatch(0), x, 7, 1.0, 3).fraction == 0.0
    const = nn.Sequential(nn.Flatten(), nn.Linear(784, 3))
    with torch.no_grad():
        const[1].weight.zero_()
        const[1].bias.copy_(torch.tensor([0.0, 1.0, 0.0]))
    assert ch.image_sensitivity(const, torch.randn(10, 1, 28, 28), 7, 5.0, 2).fraction == 0.0


def test_sharpness_of_a_model_without_parameters_is_zero_and_grows_with_sigma():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    x = torch.randn(64, 1, 28, 28)
    small = ch.shop_shpred(m, x, 1e-4, 3, torch.Generator().manual_seed(0))
    big = ch.shop_shpred(m, x, 1e-1, 3, torch.Generator().manual_seed(0))
    assert 0 < small["shop"] < big["shop"] and small["shpred"] <= big["shpred"] and len(big["shop_draws"]) == 3
    # A linear layer's logit change is (ΔW x + Δb): mean |N(0, σ²(|x|² + 1))| = σ sqrt(2/π) sqrt(|x|²+1)
    want = 0.1 * math.sqrt(2 / math.pi) * float(torch.sqrt((x.flatten(1) ** 2).sum(-1) + 1).mean())
    assert big["shop"] == pytest.approx(want, rel=0.05)
    w = m[1].weight.detach().clone()
    ch.shop_shpred(m, x, 0.1, 2, torch.Generator().manual_seed(1))
    assert torch.equal(m[1].weight, w)  # the model itself is untouched


def test_regulariser_loss_is_ce_plus_lambda_mse():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    x, y = torch.randn(8, 1, 28, 28), torch.randint(10, (8,))
    run = ch.vision_runs(ch.VisionConfig.from_params(scale="ci"))[0]
    import dataclasses

    reg = dataclasses.replace(run, method="reg")
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    loss = ch.training_loss(m, x, y, reg, g1)
    noisy = ch.one_patch_noise(x, reg.patch, reg.reg_sigma, g2)
    want = nn.functional.cross_entropy(m(x), y) + reg.reg_lambda * ((m(noisy) - m(x)) ** 2).mean()
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    plain = ch.training_loss(m, x, y, run)
    assert plain.item() == pytest.approx(nn.functional.cross_entropy(m(x), y).item())


# --------------------------------------------------------------------------------------------------
# Statistics and claims


def _fake_runs(vit_sens, cnn_sens):
    rows = []
    for s in range(3):
        for arch, method, sens in (
            ("vit", "plain", vit_sens[s]),
            ("cnn", "plain", cnn_sens[s]),
            ("mlp", "plain", 0.2),
            ("vit", "reg", vit_sens[s] / 2),
            ("vit", "aug", vit_sens[s] * 2),
        ):
            rows.append(
                {
                    "arch": arch,
                    "method": method,
                    "seed": s,
                    "sensitivity": sens + 0.001 * s,
                    "noise_acc": 0.5 + (0.1 if method == "reg" else 0),
                    "shop": 1.0 - (0.5 if method == "reg" else 0),
                    "shpred": 0.1,
                    "train_acc": 0.98,
                    "n_train": 4000,
                }
            )
    return pd.DataFrame(rows)


def test_claims_can_hold_and_fail():
    cfg = ch.VisionConfig.from_params(scale="ci")
    c = {x.claim: x for x in _claims(cfg, _fake_runs([0.01, 0.012, 0.011], [0.05, 0.06, 0.055]))}
    assert len(c) == 8
    assert c["At comparable training accuracy the ViT's token-wise sensitivity is below the CNN's"].holds
    assert c["The sensitivity regulariser lowers the token-wise sensitivity"].holds
    assert c["The sensitivity regulariser raises accuracy under noise corruptions"].holds
    assert not c["Whole-image noise augmentation lowers the token-wise sensitivity"].holds
    assert not c["The regularised model sits in a flatter minimum: lower ShPred"].holds  # equal: no evidence
    flipped = {x.claim: x for x in _claims(cfg, _fake_runs([0.05, 0.06, 0.055], [0.01, 0.012, 0.011]))}
    assert not flipped["At comparable training accuracy the ViT's token-wise sensitivity is below the CNN's"].holds


# --------------------------------------------------------------------------------------------------
# A whole ci-scale run


@pytest.mark.slow
def test_ci_run_end_to_end(tmp_path):
    from replication.runs.cache import Cache

    cfg = ch.VisionConfig.from_params(scale="ci", architectures='["vit", "mlp"]')
    store = Cache(tmp_path)
    runs = ch.run_table(cfg, cache=store, progress=False)
    assert len(runs) == 4 and set(runs["method"]) == {"plain", "reg", "aug"}
    for col in ("sensitivity", "train_acc", "test_acc", "noise_acc", "shpred"):
        assert runs[col].between(0, 1).all(), col
    assert (runs["shop"] > 0).all()
    curves = ch.curves(cfg, runs, cache=store)
    assert set(curves["epoch"]) == {0, 1}
    corr = ch.corruption_table(cfg, runs, cache=store)
    assert len(corr) == 4 * 7 * 2
    assert len(_claims(cfg, runs)) == 8
    assert "Data: mnist" in ch.describe(cfg, runs, curves)
    assert "sensitivity" in ch.describe_methods(cfg, runs)
    again = ch.run_table(cfg, cache=store, progress=False)
    assert (again["source"] == "cache").all() and np.allclose(again["sensitivity"], runs["sensitivity"])
