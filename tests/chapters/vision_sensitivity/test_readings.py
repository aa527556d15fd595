"""Chapter 10's readings of V25's noise (.readings) and the released code's scattered-pixel measure (.scattered)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from replication.experiments.vision_sensitivity import SIGMA
from replication.experiments.vision_sensitivity.measure import image_sensitivity, measure_levels
from replication.experiments.vision_sensitivity.readings import (
    AXES,
    READINGS,
    Reading,
    level_of,
    map_readings,
    measurements,
    noise_sigma,
    reading,
    star,
)
from replication.experiments.vision_sensitivity.scattered import scattered_mask, scattered_sensitivity

PAPER = READINGS["paper"]
CODE = READINGS["released code"]


def test_the_papers_reading_is_the_chapters_sigma_whatever_the_pixel_scale():
    for std in (0.1, 0.3081, 0.9):
        assert noise_sigma(PAPER, std, 7) == pytest.approx(SIGMA["mnist"])  # sqrt(5 · 16 / 49)
    assert noise_sigma(PAPER, 0.3, 4) == pytest.approx(SIGMA["fashion_mnist"])  # no rescale from 4×4 to 4×4


def test_the_released_codes_reading_is_its_number_as_a_std_on_signed_pixels():
    assert noise_sigma(CODE, 0.25, 7) == pytest.approx(5.0 / (2 * 0.25))


@pytest.mark.parametrize(
    ("change", "factor"),
    [
        ({"number": "std"}, math.sqrt(5.0)),  # 5 as a std against sqrt(5)
        ({"value": 1.0}, 1 / math.sqrt(5.0)),
        ({"scale": "unit"}, 1 / 0.2),  # one [0, 1] unit is 1 / pixel_std standardised units
        ({"scale": "signed"}, 1 / 0.4),  # a [−1, 1] pixel spans twice the range
        ({"rescale": False}, 7 / 4),  # the energy of 16 pixels spread over 49: variance × 16 / 49
        ({"perturb": "scattered"}, 1.0),  # what is perturbed does not change the noise
    ],
)
def test_each_axis_changes_the_noise_by_its_closed_form(change, factor):
    base = noise_sigma(PAPER, 0.2, 7)
    assert noise_sigma(dataclasses.replace(PAPER, **change), 0.2, 7) == pytest.approx(base * factor)


def test_bad_readings_are_refused_by_name():
    with pytest.raises(ValueError, match="scale"):
        dataclasses.replace(PAPER, scale="raw")
    with pytest.raises(ValueError, match="number"):
        dataclasses.replace(PAPER, number="energy")
    with pytest.raises(ValueError, match="perturb"):
        dataclasses.replace(PAPER, perturb="image")
    with pytest.raises(ValueError, match="value"):
        dataclasses.replace(PAPER, value=-1.0)
    with pytest.raises(ValueError, match="rescale"):
        dataclasses.replace(PAPER, rescale="yes")
    with pytest.raises(ValueError, match="reading: must be one of"):
        reading("the code")
    assert reading("released code") == CODE
    with pytest.raises(ValueError, match="pixel_std"):
        noise_sigma(PAPER, 0.0, 7)
    with pytest.raises(ValueError, match="patch"):
        noise_sigma(PAPER, 0.3, 0)


def test_a_star_holds_the_reading_and_its_one_axis_neighbours():
    s = star(PAPER)
    assert s[0] == PAPER and len(s) == 1 + sum(len(v) - 1 for v in AXES.values())
    for r in s[1:]:
        assert sum(getattr(r, a) != getattr(PAPER, a) for a in AXES) == 1


def test_readings_sharing_a_level_are_measured_once():
    full = map_readings("full")
    assert len(full) == 3 * 2 * 2 * 2 * 2 == len(set(full))
    # value 1 is the same noise as a variance and as a std: 3 scales × 2 rescales × 2 perturbations fewer
    assert len(measurements(full, 0.3, 7)) == len(full) - 12
    one_var, one_std = Reading("unit", "variance", 1.0, True, "token"), Reading("unit", "std", 1.0, True, "token")
    assert level_of(one_var, 0.3, 7) == level_of(one_std, 0.3, 7)
    star_levels = measurements(map_readings("star"), 0.3, 7)
    assert set(star_levels) == {level_of(r, 0.3, 7) for r in map_readings("star")}
    with pytest.raises(ValueError, match="grid"):
        map_readings("all")


class OnePixel(torch.nn.Module):
    """Class 1 where pixel (r, c) is above ``t``, else class 0."""

    def __init__(self, r: int, c: int, t: float = 0.0):
        super().__init__()
        self.r, self.c, self.t = r, c, t

    def forward(self, x):
        v = x[:, 0, self.r, self.c] - self.t
        return torch.stack([torch.zeros_like(v), v], -1)


def test_scattered_noise_flips_a_one_pixel_model_at_the_closed_form_rate():
    # the pixel is drawn with probability 1 − (1 − 1/16)^k; then the noise crosses the threshold with Φ(−c / σ)
    n, k, c, sigma = 4000, 4, 0.5, 1.0
    x = torch.full((n, 1, 4, 4), c)
    res = scattered_sensitivity(OnePixel(1, 2), x, k, sigma, 5, torch.Generator().manual_seed(0), batch=1)
    p = (1 - (15 / 16) ** k) * 0.5 * math.erfc(c / sigma / math.sqrt(2))
    assert res.n_evaluations == n * 5
    assert abs(res.fraction - p) < 4 * math.sqrt(p * (1 - p) / (n * 5))


def test_a_batch_shares_its_positions():
    # any noise on the pixel flips the model; one batch of all images: each draw flips all of them or none
    x = torch.zeros(200, 1, 4, 4)
    res = scattered_sensitivity(OnePixel(0, 0, 0.0), x, 3, 1.0, 40, torch.Generator().manual_seed(1), batch=200)
    flips = [d for d in res.per_draw]
    assert all(0.3 < d < 0.7 or d == 0.0 for d in flips)  # a drawn pixel: about half the images cross 0
    assert 0 < sum(d > 0 for d in flips) < len(flips)


def test_scattered_positions_repeat_and_collapse():
    g = torch.Generator().manual_seed(2)
    masks = torch.stack([scattered_mask((4, 4), 16, g) for _ in range(4000)])
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    # distinct positions of 16 draws over 16 pixels: 16 (1 − (15/16)^16) on average, fewer than 16
    assert masks.sum((1, 2)).mean().item() == pytest.approx(16 * (1 - (15 / 16) ** 16), rel=0.02)
    with pytest.raises(ValueError, match="k"):
        scattered_sensitivity(OnePixel(0, 0), torch.zeros(2, 1, 4, 4), 0, 1.0, 1)


def test_measure_levels_dispatches_each_perturbation():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()
    x = torch.randn(30, 1, 4, 4)
    rows = measure_levels(model, x, 2, ((0.7, "token"), (0.7, "scattered")), 3)
    token = image_sensitivity(model, x, 2, 0.7, 3, torch.Generator().manual_seed(5))
    scattered = scattered_sensitivity(model, x, 4, 0.7, 3, torch.Generator().manual_seed(5))
    assert rows[0]["sensitivity"] == token.fraction and rows[1]["sensitivity"] == scattered.fraction
    with pytest.raises(ValueError, match="perturbation"):
        measure_levels(model, x, 2, ((0.7, "pixel"),), 1)


def _planted_long(cfg, vit_token=0.01, vit_scattered=0.3, other=0.05, seeds=3):
    """Measures of every map level: the ViT below the others on tokens, above them on scattered pixels."""
    import pandas as pd

    from replication.experiments.vision_sensitivity.map_analysis import COMPARISONS
    from replication.experiments.vision_sensitivity.readings_map import map_levels

    rows = []
    for experiment, point, a, b in COMPARISONS:
        for sigma, perturb in map_levels(cfg):
            for s in range(seeds):
                jitter = 1e-4 * s
                v = vit_token if perturb == "token" else vit_scattered
                for model, x in ((a, v), (b, other)):
                    rows.append({"experiment": experiment, "model": model, "seed": s, "point": point,
                                 "sigma": sigma, "perturb": perturb, "sensitivity": x + jitter})  # fmt: skip
    return pd.DataFrame(rows).drop_duplicates(["experiment", "model", "seed", "point", "sigma", "perturb"])


def test_the_map_names_the_axis_that_flips_the_verdicts():
    from replication.experiments.vision_sensitivity import PRESETS
    from replication.experiments.vision_sensitivity import map_analysis as ma
    from replication.experiments.vision_sensitivity.noise_readings import claims as nr

    cfg = PRESETS["ci"]
    grid = ma.map_grid(cfg, _planted_long(cfg))
    paper = grid[grid["named"] == "paper"]
    code = grid[grid["named"] == "released code"]
    assert paper["holds"].all() and not code["holds"].any()
    assert paper["ratio"].iloc[0] == pytest.approx(0.01 / 0.05, rel=0.05)
    flips = ma.axis_flips(grid)
    assert ma.deciding_axes(flips) == {"paper": ["perturb"], "released code": ["perturb"]}
    for named in READINGS:
        assert flips.loc[(named, "perturb"), "verdicts flipped"] == flips.loc[(named, "perturb"), "changes tested"] == 3
    assert (flips.drop("perturb", level="axis")["verdicts flipped"] == 0).all()
    claims = nr.map_claims(cfg, grid)
    kinds = [c.kind for c in claims]
    assert kinds == ["diagnosis"] * (3 + 3 + 3 + 1)  # the paper claims are the chapter's own rows, counted once
    assert all(c.holds for c in claims if "the paper's reading" in c.claim)
    assert claims[-1].holds and "from the paper's reading: perturb" in claims[-1].claim
    table = ma.map_table(grid)
    assert table.loc[READINGS["paper"].label].str.endswith("*").all()


def test_the_map_without_measures_is_untestable():
    import pandas as pd

    from replication.experiments.vision_sensitivity import PRESETS
    from replication.experiments.vision_sensitivity import map_analysis as ma
    from replication.experiments.vision_sensitivity.noise_readings import claims as nr

    claims = nr.map_claims(PRESETS["ci"], ma.map_grid(PRESETS["ci"], pd.DataFrame()))
    assert claims and not any(c.testable for c in claims)
