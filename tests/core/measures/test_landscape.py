"""Sharpness against closed forms; parameter norm; blowup moments."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from replication.measures import norms
from replication.measures import sharpness as sharpness_mod
from replication.models.encoder import EncoderConfig, HR24Encoder


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
    est = sharpness_mod.sharpness(model, x, rho=rho, n_perturbations=4000, rescale=1.0, exclude=())
    exact = rho**2 * float((x.pow(2).sum(-1) + 1).mean())
    assert est == pytest.approx(exact, rel=0.05)


def test_excluded_parameters_are_not_perturbed():
    model = Linear([1.0, 1.0], 0.0)
    x = torch.ones(3, 2)
    # Perturbing only the bias: E Δb² = ρ².
    est = sharpness_mod.sharpness(model, x, rho=0.1, n_perturbations=4000, rescale=1.0, exclude=("lin.weight",))
    assert est == pytest.approx(0.01, rel=0.07)
    with pytest.raises(ValueError, match="exclude"):
        sharpness_mod.sharpness(model, x, exclude=("lin",))


def encoder(seed=0, n=8, d=16):
    torch.manual_seed(seed)
    return HR24Encoder(EncoderConfig(n=n, d=d))


def copy_and_perturb_sharpness(model, x, rho, n_perturbations, seed):
    """HR24 Eq. 15 ×4 written out independently: perturb a deep copy of the model in place.

    Every parameter but the positional embeddings gets N(0, ρ²) noise; the draws come from a generator
    seeded with ``seed``, one ``randn`` per parameter in ``named_parameters()`` order, so they are the
    draws :func:`sharpness_mod.sharpness` makes for the same seed.
    """
    model = model.eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        base = model(x)
        vals = []
        for _ in range(n_perturbations):
            noisy = copy.deepcopy(model)
            for name, p in noisy.named_parameters():
                if not name.startswith("pos_emb"):
                    p.add_(rho * torch.randn(p.shape, generator=g, dtype=p.dtype))
            vals.append(4 * float(((noisy(x) - base) ** 2).mean()))
    return float(np.mean(vals))


def test_sharpness_matches_copy_and_perturb_on_encoder():
    """Eq. 15 on a trained-size encoder against a deep-copied, perturbed model with the same draws."""
    m = encoder(seed=4)
    assert any(k.startswith("pos_emb") for k, _ in m.named_parameters())
    x = torch.randint(0, 2, (128, 8), generator=torch.Generator().manual_seed(7))
    for rho in (0.02, 0.1):
        want = copy_and_perturb_sharpness(m, x, rho, n_perturbations=6, seed=11)
        got = sharpness_mod.sharpness(m, x, rho=rho, n_perturbations=6, seed=11)
        assert got == pytest.approx(want, rel=1e-5)


def test_sharpness_scales_with_rho_squared_on_encoder():
    m = encoder()
    x = torch.randint(0, 2, (256, 8))
    s1 = sharpness_mod.sharpness(m, x, rho=1e-3, n_perturbations=200, seed=1)
    s2 = sharpness_mod.sharpness(m, x, rho=2e-3, n_perturbations=200, seed=1)
    assert s2 / s1 == pytest.approx(4.0, rel=0.02)  # same directions, 2x radius, small ρ: ratio ≈ 4


def test_sharpness_leaves_model_unchanged_and_is_seeded():
    m = encoder()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    x = torch.randint(0, 2, (32, 8))
    a = sharpness_mod.sharpness(m, x, n_perturbations=5, seed=3)
    b = sharpness_mod.sharpness(m, x, n_perturbations=5, seed=3)
    assert a == b
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


def test_delta_mse_equals_eq15_at_an_exact_fit():
    """With targets equal to the model's own outputs, ΔMSE is exactly Eq. 15 (same perturbations)."""
    m = encoder()
    x = torch.randint(0, 2, (128, 8))
    with torch.no_grad():
        y = m(x)
    a = sharpness_mod.sharpness(m, x, n_perturbations=10, seed=5)
    b = sharpness_mod.delta_mse_sharpness(m, x, y, n_perturbations=10, seed=5)
    assert a == pytest.approx(b, rel=1e-4)


def test_parameter_norm_excludes_positions():
    m = encoder()
    total = torch.sqrt(sum((p.detach().double() ** 2).sum() for p in m.parameters()))
    pos = m.pos_emb.weight.detach().double().pow(2).sum()
    assert norms.parameter_norm(m) == pytest.approx(float(torch.sqrt(total**2 - pos)), rel=1e-9)


def blowup_from_hooks(model, x):
    """Blowup(x) (HR24 §7.1) read off the LayerNorm modules themselves with forward hooks.

    For each call of an ``nn.LayerNorm`` the factor is ``1/sqrt(var_biased + eps)`` of its input at each
    position; Blowup is the product over calls of the largest factor over positions. ``(B,)`` doubles.
    """
    factors = []

    def hook(module, inputs, output):
        y = inputs[0].double()
        n = torch.rsqrt(y.var(-1, unbiased=False) + module.eps)  # (B, T) or (B,)
        factors.append(n.reshape(n.shape[0], -1).max(-1).values)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.LayerNorm)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    assert len(factors) == 2 * model.cfg.layers
    return torch.stack(factors).prod(0)


def test_blowup_moments_against_layernorm_hooks():
    m = encoder(seed=2)
    x = torch.randint(0, 2, (64, 8), generator=torch.Generator().manual_seed(3))
    b = blowup_from_hooks(m, x)
    mom = norms.blowup_moments(m, x)
    assert mom["blowup"] == pytest.approx(float(b.mean()), rel=1e-5)
    assert mom["blowup_sq"] == pytest.approx(float((b**2).mean()), rel=1e-5)
    assert mom["log_blowup"] == pytest.approx(float(b.log().mean()), rel=1e-5, abs=1e-6)
    assert float(b.std()) > 0  # the inputs differ, so the moments are not all the same number


@pytest.mark.parametrize("kwargs,match", [({"rho": 0}, "rho"), ({"n_perturbations": 0}, "n_perturbations")])
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sharpness_mod.sharpness(encoder(), torch.zeros(2, 8, dtype=torch.long), **kwargs)
