"""Sharpness against closed forms; parameter norm; blowup moments."""
import numpy as np
import pytest
import torch
from torch import nn

from replication import landscape
from replication.models import EncoderConfig, HR24Encoder


class Linear(nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self.lin = nn.Linear(len(w), 1)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([w]))
            self.lin.bias.fill_(b)

    def forward(self, x):
        return self.lin(x.float()).squeeze(-1)


def test_sharpness_closed_form_on_linear_model():
    """For f(x) = w·x + b, E_Δ (Δw·x + Δb)^2 = ρ² (‖x‖² + 1), whatever w and b are."""
    torch.manual_seed(0)
    x = torch.randn(64, 5)
    model = Linear([0.5, -1.0, 2.0, 0.0, 3.0], 0.7)
    rho = 0.1
    est = landscape.sharpness(model, x, rho=rho, n_perturbations=4000, rescale=1.0, exclude=())
    exact = rho**2 * float((x.pow(2).sum(-1) + 1).mean())
    assert est == pytest.approx(exact, rel=0.05)
    # the ×4 rescale is applied exactly
    est4 = landscape.sharpness(model, x, rho=rho, n_perturbations=4000, rescale=4.0, exclude=())
    assert est4 == pytest.approx(4 * est, rel=1e-9)


def test_excluded_parameters_are_not_perturbed():
    model = Linear([1.0, 1.0], 0.0)
    x = torch.ones(3, 2)
    # Perturbing only the bias: E Δb² = ρ².
    est = landscape.sharpness(model, x, rho=0.1, n_perturbations=4000, rescale=1.0, exclude=("lin.weight",))
    assert est == pytest.approx(0.01, rel=0.07)
    with pytest.raises(ValueError, match="exclude"):
        landscape.sharpness(model, x, exclude=("lin",))


def encoder(seed=0, n=8, d=16):
    torch.manual_seed(seed)
    return HR24Encoder(EncoderConfig(n=n, d=d))


def test_sharpness_scales_with_rho_squared_on_encoder():
    m = encoder()
    x = torch.randint(0, 2, (256, 8))
    s1 = landscape.sharpness(m, x, rho=1e-3, n_perturbations=200, seed=1)
    s2 = landscape.sharpness(m, x, rho=2e-3, n_perturbations=200, seed=1)
    assert s2 / s1 == pytest.approx(4.0, rel=0.02)  # same directions, 2x radius, small ρ: ratio ≈ 4


def test_sharpness_leaves_model_unchanged_and_is_seeded():
    m = encoder()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    x = torch.randint(0, 2, (32, 8))
    a = landscape.sharpness(m, x, n_perturbations=5, seed=3)
    b = landscape.sharpness(m, x, n_perturbations=5, seed=3)
    assert a == b
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


def test_delta_mse_equals_eq15_at_an_exact_fit():
    """With targets equal to the model's own outputs, ΔMSE is exactly Eq. 15 (same perturbations)."""
    m = encoder()
    x = torch.randint(0, 2, (128, 8))
    with torch.no_grad():
        y = m(x)
    a = landscape.sharpness(m, x, n_perturbations=10, seed=5)
    b = landscape.delta_mse_sharpness(m, x, y, n_perturbations=10, seed=5)
    assert a == pytest.approx(b, rel=1e-4)


def test_parameter_norm_excludes_positions():
    m = encoder()
    total = torch.sqrt(sum((p.detach().double() ** 2).sum() for p in m.parameters()))
    pos = m.pos_emb.weight.detach().double().pow(2).sum()
    assert landscape.parameter_norm(m) == pytest.approx(float(torch.sqrt(total**2 - pos)), rel=1e-9)


def test_blowup_moments():
    m = encoder()
    x = torch.randint(0, 2, (64, 8))
    mom = landscape.blowup_moments(m, x)
    with torch.no_grad():
        b = m.blowup(x).double()
    assert mom["blowup_sq"] == pytest.approx(float((b**2).mean()))
    assert mom["blowup_sq"] >= mom["blowup"] ** 2 - 1e-9  # Jensen


@pytest.mark.parametrize("kwargs,match", [({"rho": 0}, "rho"), ({"n_perturbations": 0}, "n_perturbations")])
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        landscape.sharpness(encoder(), torch.zeros(2, 8, dtype=torch.long), **kwargs)
