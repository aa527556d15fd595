"""Token-wise sensitivity (V25 Def. 4.1) of hand-built classifiers whose answer is known in advance."""

import math

import pytest
import torch

from replication.measures.token import patchify, token_sensitivity, unpatchify

B, T, D = 6, 7, 3


def reads_token(j, threshold=1e3):
    """Class 1 when token ``j`` is far from the origin: inputs near 0 and noise of sd 1e6 flip it surely."""
    return lambda x: (x[:, j].abs().sum(-1) > threshold).long()


@pytest.mark.parametrize("j", [0, 4, T - 1])
def test_single_token_reader_changes_on_exactly_one_token_in_T(j):
    x = torch.rand(B, T, D)  # |x| < 1: clean class 0 everywhere
    g = torch.Generator().manual_seed(0)
    res = token_sensitivity(reads_token(j), x, sigma=1e6, repeats=4, generator=g)
    assert res.fraction == pytest.approx(1 / T, abs=0)
    expected = torch.zeros(T, dtype=torch.float64)
    expected[j] = 1.0
    assert torch.equal(res.per_token, expected)
    assert torch.allclose(res.per_input, torch.full((B,), 1 / T, dtype=torch.float64))
    assert res.n_evaluations == B * T * 4


def test_constant_model_is_never_sensitive():
    x = torch.randn(B, T, D)
    res = token_sensitivity(lambda z: torch.full((len(z),), 3), x, sigma=10.0, repeats=3)
    assert res.fraction == 0
    assert res.per_token.sum() == 0 and res.per_input.sum() == 0


def test_per_input_counts_only_the_inputs_that_can_change():
    """Class 1 when token 0 is far out *and* token 1 carries a flag: only flagged inputs can change."""
    x = torch.zeros(B, T, D)
    flagged = torch.tensor([True, False, True, False, False, True])
    x[flagged, 1, 1] = 5.0
    predict = lambda z: ((z[:, 0, 0].abs() > 1e3) & (z[:, 1, 1] == 5.0)).long()
    res = token_sensitivity(predict, x, sigma=1e6, repeats=2, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(res.per_input, flagged.double() / T)
    assert res.per_token[0] == pytest.approx(flagged.double().mean().item())
    assert res.per_token[1:].sum() == 0


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_change_rate_is_the_gaussian_tail(sigma):
    """sign(x_j0) with x_j0 = 1 changes iff the noise is below -1: probability Phi(-1/sigma)."""
    j, b, r = 2, 400, 25
    x = torch.zeros(b, T, D)
    x[:, j, 0] = 1.0
    res = token_sensitivity(
        lambda z: (z[:, j, 0] > 0).long(), x, sigma, repeats=r, generator=torch.Generator().manual_seed(2)
    )
    p = 0.5 * math.erfc(1 / sigma / math.sqrt(2))
    se = math.sqrt(p * (1 - p) / (b * r))
    assert abs(res.per_token[j].item() - p) < 5 * se
    assert res.fraction == pytest.approx(res.per_token[j].item() / T)


def test_chunks_bound_the_calls_and_leave_the_answer():
    calls = []

    def predict(z):
        calls.append(len(z))
        return reads_token(3)(z)

    x = torch.rand(B, T, D)
    res = token_sensitivity(predict, x, sigma=1e6, repeats=5, chunk=17)
    total = B * T * 5
    assert len(calls) == 1 + math.ceil(total / 17)
    assert max(calls[1:]) == 17 and sum(calls[1:]) == total
    assert res.fraction == pytest.approx(1 / T, abs=0)


@pytest.mark.parametrize(
    "kwargs,name",
    [({"sigma": 0.0}, "sigma"), ({"sigma": -1.0}, "sigma"), ({"repeats": 0}, "repeats"), ({"chunk": 0}, "chunk")],
)
def test_bad_arguments_name_themselves(kwargs, name):
    args = {"sigma": 1.0} | kwargs
    with pytest.raises(ValueError, match=name):
        token_sensitivity(reads_token(0), torch.rand(2, 3, 4), **args)
    with pytest.raises(ValueError, match="x:"):
        token_sensitivity(reads_token(0), torch.rand(2, 3), sigma=1.0)


def test_patchify_is_the_grid_of_patches_and_unpatchify_inverts_it():
    images = torch.randn(3, 2, 12, 8)
    p = 4
    tokens = patchify(images, p)
    assert tokens.shape == (3, (12 // p) * (8 // p), 2 * p * p)
    for i in range(12 // p):
        for j in range(8 // p):
            block = images[:, :, i * p : (i + 1) * p, j * p : (j + 1) * p].reshape(3, -1)
            assert torch.equal(tokens[:, i * (8 // p) + j], block)
    assert torch.equal(unpatchify(tokens, p, (2, 12, 8)), images)


def test_patchify_rejects_a_patch_that_does_not_divide_the_image():
    with pytest.raises(ValueError, match="patch"):
        patchify(torch.zeros(1, 1, 28, 28), 5)
    with pytest.raises(ValueError, match="tokens"):
        unpatchify(torch.zeros(1, 16, 48), 7, (1, 28, 28))


def test_noise_on_one_patch_touches_only_that_patch_of_the_image():
    """A model on images, wrapped to read tokens: class 1 when the top-left 7x7 patch is far from 0."""
    images = torch.rand(4, 1, 28, 28)
    model = lambda im: (im[:, :, :7, :7].abs().sum((1, 2, 3)) > 1e3).long()
    predict = lambda t: model(unpatchify(t, 7, (1, 28, 28)))
    res = token_sensitivity(predict, patchify(images, 7), sigma=1e6, repeats=2)
    assert res.fraction == pytest.approx(1 / 16, abs=0)
    assert res.per_token[0] == 1 and res.per_token[1:].sum() == 0
