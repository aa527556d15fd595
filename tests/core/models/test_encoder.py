"""The HR24 encoder equals torch.nn.TransformerEncoder; LayerNorm factors match a hand computation."""

import pytest
import torch

from replication.models.encoder import EncoderConfig, HR24Encoder, ln_factor, to_torch_encoder


def make(n=6, d=16, layers=2, heads=2, seed=0):
    torch.manual_seed(seed)
    m = HR24Encoder(EncoderConfig(n=n, d=d, layers=layers, heads=heads))
    # Give LayerNorms and biases non-trivial values so the comparison covers them.
    with torch.no_grad():
        for k, p in m.named_parameters():
            if "norm" in k or "bias" in k:
                p.add_(0.3 * torch.randn_like(p))
    return m.eval()


def reference_forward(m: HR24Encoder, x):
    ref = to_torch_encoder(m)
    h = ref(m.embed(x))
    return m.head(h[:, -1]).squeeze(-1)


@pytest.mark.parametrize("layers,heads", [(1, 1), (2, 2), (3, 4)])
def test_matches_torch_transformer_encoder(layers, heads):
    m = make(layers=layers, heads=heads)
    x = torch.randint(0, 2, (64, 6))
    with torch.no_grad():
        assert torch.allclose(m(x), reference_forward(m, x), atol=1e-5)


def test_embedding_is_concatenation():
    m = make()
    x = torch.randint(0, 2, (3, 6))
    e = m.embed(x)
    assert torch.equal(e[..., :8], m.tok_emb.weight[x])
    assert torch.equal(e[1, :, 8:], m.pos_emb.weight)


def test_ln_factors_hand_computation():
    """Recompute every LayerNorm input by hand from the reference layers and compare N_i^(k)."""
    m = make(layers=2)
    x = torch.randint(0, 2, (16, 6))
    ref = to_torch_encoder(m)
    with torch.no_grad():
        factors = m.ln_factors(x)
        h = m.embed(x)
        expected = []
        for k, layer in enumerate(ref.layers):
            a = layer.self_attn(h, h, h, need_weights=False)[0]
            y = h + a
            if k == len(ref.layers) - 1:
                y = y[:, -1:]
            expected.append(1 / torch.sqrt(((y - y.mean(-1, keepdim=True)) ** 2).mean(-1) + layer.norm1.eps))
            y = layer.norm1(y)
            z = y + layer.linear2(torch.relu(layer.linear1(y)))
            expected.append(1 / torch.sqrt(((z - z.mean(-1, keepdim=True)) ** 2).mean(-1) + layer.norm2.eps))
            h = layer.norm2(z)
    assert [f.shape for f in factors] == [(16, 6), (16, 6), (16, 1), (16, 1)]
    for f, e in zip(factors, expected):
        assert torch.allclose(f, e, rtol=1e-5)
    blow = m.blowup(x)
    hand = torch.stack([e.amax(-1) for e in expected]).prod(0)
    assert torch.allclose(blow, hand, rtol=1e-5)
    hand1 = torch.stack([(1 + e).amax(-1) for e in expected]).prod(0)
    assert torch.allclose(m.blowup(x, plus_one=True), hand1, rtol=1e-5)


def test_code_convention_is_unbiased_std():
    y = torch.tensor([[1.0, 2.0, 4.0, 7.0]])
    assert ln_factor(y, 1e-5, "code").item() == pytest.approx(1 / y.std().item())
    assert ln_factor(y, 0.0, "eq5").item() == pytest.approx(1 / y.var(unbiased=False).sqrt().item())
    with pytest.raises(ValueError, match="convention"):
        ln_factor(y, 0.0, "other")


@pytest.mark.parametrize(
    "kwargs,match",
    [({"d": 7}, "d: must be even"), ({"heads": 3, "d": 16}, "heads: must divide"), ({"n": 0}, "n: must be")],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EncoderConfig(**{"n": 4, **kwargs})


def test_wrong_length_is_rejected():
    with pytest.raises(ValueError, match="built for n=6"):
        make()(torch.zeros(2, 5, dtype=torch.long))
