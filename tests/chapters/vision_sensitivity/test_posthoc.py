"""Chapter 10, post-hoc measures on the binary experiment's stored models: the noise-level sweep (V25 Fig. 17),
whole-image noise (V25 Table 4), the blank-patch split, the parameters, and the claims on planted data."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from replication.experiments import vision_sensitivity as ch
from replication.experiments.vision_sensitivity import posthoc, posthoc_analysis as pa
from replication.experiments.vision_sensitivity.binary_mnist.posthoc_claims import posthoc_claims
from replication.models.vision import build_model
from replication.runs.store import Store


class Linear(nn.Module):
    """sign(w · x): a two-class linear model on (N, 1, 28, 28) images."""

    def __init__(self, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = torch.randn(784, generator=g)

    def forward(self, x):
        s = x.reshape(len(x), -1) @ self.w
        return torch.stack([s, -s], -1)


def test_sweep_of_a_linear_model_is_monotone_in_the_noise_level():
    """A property of the sweep: the same draws scaled up can only add changes for a linear classifier (a draw that
    crosses the decision boundary at one level crosses it at every larger one)."""
    x = torch.randn(8, 1, 28, 28)
    model = Linear()
    flips = [ch.patch_flips(model, x, 7, s, 4, torch.Generator().manual_seed(5)) for s in (0.5, 1.0, 2.0, 4.0, 8.0)]
    for a, b in zip(flips[:-1], flips[1:]):
        assert np.all(b >= a)
    assert flips[-1].sum() > flips[0].sum()


def test_blank_patch_sensitivity_of_the_vit_does_not_depend_on_the_noise_level():
    """The patch LayerNorm rescales noise on a constant patch to unit size: the same draws at any level give the
    same prediction changes on a blank patch, and different ones on an inked patch."""
    torch.manual_seed(0)
    vit = build_model("vit", (1, 28, 28), 7, 2, shape="mnist").eval()
    x = torch.full((6, 1, 28, 28), -0.4)
    x[:, :, 7:21, 7:21] = torch.randn(6, 1, 14, 14)  # ink on the 4 central patches only
    blank = ch.blank_patches((x > -0.4).float() * 255, 7, 0.0).numpy()
    assert blank.sum() == 6 * 12 and not blank[:, [5, 6, 9, 10]].any()
    f = [ch.patch_flips(vit, x, 7, s, 20, torch.Generator().manual_seed(1)) for s in (0.5, 2.0, 8.0)]
    assert np.array_equal(f[0][blank], f[1][blank]) and np.array_equal(f[1][blank], f[2][blank])
    mlp = build_model("mlp", (1, 28, 28), 7, 2, shape="mnist").eval()
    g = [ch.patch_flips(mlp, x, 7, s, 20, torch.Generator().manual_seed(1)) for s in (0.5, 8.0)]
    assert g[1][blank].sum() > g[0][blank].sum()


def test_blank_split_on_a_planted_image():
    raw = torch.zeros(2, 1, 28, 28)
    raw[0, 0, 0:7, 0:7] = 255  # patch 0 constant but not zero: blank (range 0)
    raw[0, 0, 10, 10] = 30  # one faint pixel in patch 5: informative at tol 0, blank at tol 30
    raw[1, 0, 14:28, 14:28] = torch.arange(196.0).reshape(14, 14)  # patches 10, 11, 14, 15 inked
    b0 = ch.blank_patches(raw, 7, 0.0)
    assert b0[0].sum() == 15 and not b0[0, 5] and b0[1].sum() == 12 and not b0[1, [10, 11, 14, 15]].any()
    assert ch.blank_patches(raw, 7, 30.0)[0].all()
    flips = np.zeros((2, 16))
    flips[0, 5], flips[1, 0], flips[1, 10] = 1.0, 0.5, 0.5
    s = posthoc.split(flips, b0.numpy())
    assert s["n_blank"] == 27 and s["n_informative"] == 5
    assert s["sens_blank"] == pytest.approx(0.5 / 27) and s["sens_informative"] == pytest.approx(1.5 / 5)
    assert s["blank_share"] == pytest.approx(0.25) and s["contrib_blank"] + s["contrib_informative"] == pytest.approx(
        2 / 32
    )


def test_whole_image_sensitivity_counts_changes():
    x = torch.randn(50, 1, 28, 28)
    assert ch.whole_image_sensitivity(Linear(), x, 1e-6, 2) == 0.0
    assert 0.3 < ch.whole_image_sensitivity(Linear(), x, 100.0, 4, torch.Generator().manual_seed(0)) < 0.7


def test_bad_posthoc_parameters_are_named():
    for param, value in (
        ("posthoc_images", 0),
        ("posthoc_repeats", 0),
        ("posthoc_levels", (1.0, 0.5)),
        ("posthoc_levels", (0.0, 1.0)),
        ("posthoc_whole", ()),
        ("posthoc_blank_tol", -1.0),
    ):
        with pytest.raises(ValueError, match=param):
            dataclasses.replace(ch.PRESETS["ci"], **{param: value})
    r = ch.posthoc_runs(ch.PRESETS["cpu"])[0]
    with pytest.raises(ValueError, match="checkpoint"):
        dataclasses.replace(r, checkpoint="acc9")
    with pytest.raises(ValueError, match="n_images"):
        dataclasses.replace(r, n_images=r.binary.n_train + 1)
    cfg = ch.PRESETS["cpu"]
    runs = ch.posthoc_runs(cfg)
    assert len(runs) == 2 * cfg.binary_seeds and len(runs[0].sigmas) >= 5
    assert min(runs[0].sigmas) < runs[0].binary.sigma < max(runs[0].sigmas)
    from replication.experiments.vision_sensitivity.posthoc import matched_posthoc_runs

    matched = matched_posthoc_runs(cfg)
    k = len(cfg.binary_levels) - 1  # the highest level
    assert [r.checkpoint for r in matched] == [f"acc{k}"] * len(runs) and [r.binary for r in matched] == [
        r.binary for r in runs
    ]
    assert matched_posthoc_runs(dataclasses.replace(cfg, posthoc_matched=False)) == []
    with pytest.raises(ValueError, match="posthoc_matched"):
        dataclasses.replace(cfg, posthoc_matched="yes")


def _planted(vit_extra_blank: float, seeds=5, vit_scale=1.0):
    """Level and whole-image tables: the MLP's sensitivity grows with the level; the ViT's is ``vit_scale`` times
    it plus a constant ``vit_extra_blank`` on blank patches."""
    rng = np.random.default_rng(0)
    lv, wh = [], []
    for seed in range(seeds):
        for r in (0.25, 0.5, 1.0, 2.0, 4.0):
            base = 0.01 * r * (1 + 0.05 * rng.standard_normal())
            for arch, inf, bl in (
                ("mlp", base, base / 2),
                ("vit", vit_scale * base, vit_scale * base / 2 + vit_extra_blank),
            ):
                tot = 0.75 * bl + 0.25 * inf
                lv.append(
                    {
                        "model": ch.NAMES[arch],
                        "arch": arch,
                        "seed": seed,
                        "ratio": r,
                        "sigma": r,
                        "sensitivity": tot,
                        "sens_blank": bl,
                        "sens_informative": inf,
                        "contrib_blank": 0.75 * bl,
                        "contrib_informative": 0.25 * inf,
                        "blank_share": 0.75 * bl / tot,
                    }
                )
        for r in (1 / 16, 1 / 8, 1 / 4):
            v = 0.05 * r * (1 + 0.05 * rng.standard_normal())
            wh += [
                {"model": ch.NAMES["mlp"], "arch": "mlp", "seed": seed, "ratio": r, "sigma": r, "sensitivity": 2 * v},
                {"model": ch.NAMES["vit"], "arch": "vit", "seed": seed, "ratio": r, "sigma": r, "sensitivity": v},
            ]
    return pd.DataFrame(lv), pd.DataFrame(wh)


def test_claims_hold_and_fail_on_planted_data():
    cfg = ch.PRESETS["cpu"]
    lv, wh = _planted(0.0, vit_scale=0.1)  # the ViT a tenth of the MLP everywhere; random noise: a half
    order, worder, rnd, blank, flat = posthoc_claims(cfg, lv, wh)
    assert order.holds and worder.holds and rnd.holds and not blank.holds and not flat.holds
    assert pa.calibrated(lv, wh)[0] == pytest.approx(1 / 16)
    lv, wh = _planted(0.02)  # the same as the MLP plus an excess on blank patches
    order, worder, rnd, blank, flat = posthoc_claims(cfg, lv, wh)
    assert not order.holds and "significantly above the MLP at 5 of 5" in order.note
    assert blank.holds and not rnd.holds and not flat.holds
    lv, wh = _planted(0.02, vit_scale=0.0)  # the ViT: only a fixed sensitivity on blank patches
    wh.loc[wh["arch"] == "vit", "sensitivity"] *= 4  # the ViT above the MLP under whole-image noise
    order, worder, rnd, blank, flat = posthoc_claims(cfg, lv, wh)
    assert not worder.holds and "LayerNorm" in worder.note
    assert flat.holds and "above the MLP at 4 of 5 levels" in order.note and "below it at 1 (4 × sigma)" in order.note
    one = lv[lv["seed"] == 0]
    assert all(not c.testable for c in posthoc_claims(cfg, one, wh[wh["seed"] == 0]))


def test_ci_scale_runs_on_the_binary_runs_of_its_own_cache(tmp_path):
    cfg = ch.PRESETS["ci"]
    store = Store(cache=tmp_path, mode_="off", scale="ci")
    ch.binary_table(cfg, store)
    runs, results = ch.posthoc_table(cfg, store)
    assert len(results) == 2 * cfg.binary_seeds
    lv, wh = ch.level_table(runs, results), ch.whole_table(runs, results)
    assert len(lv) == len(results) * len(cfg.posthoc_levels) and len(wh) == len(results) * len(cfg.posthoc_whole)
    assert ((lv["n_blank"] + lv["n_informative"]) == cfg.posthoc_images * 16).all()
    assert len(posthoc_claims(cfg, lv, wh)) == 5 and ch.describe_posthoc(lv, wh) and len(ch.table4(lv, wh)) == 2
    again = ch.posthoc_table(cfg, Store(cache=tmp_path, mode_="off", scale="ci"))[1]
    assert again[0]["levels"] == results[0]["levels"]  # read back from the cache
    from replication.experiments.vision_sensitivity.posthoc import matched_posthoc_runs

    mruns, mres = ch.posthoc_table(cfg, store, configs=matched_posthoc_runs(cfg))
    assert len(mres) == len(results)
    for c, r in zip(mruns, mres):  # a run that never reached the level is kept, with nothing measured
        stored = store.find(
            "vision_binary_run", __import__("replication.runs.sweep", fromlist=["run_key"]).run_key(c.binary, "cpu")
        )[0]
        assert r["reached"] == (c.checkpoint in stored["result"]["weights"])
        assert (len(r["levels"]) == len(cfg.posthoc_levels)) == r["reached"]
