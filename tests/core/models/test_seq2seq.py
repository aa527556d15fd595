"""The scratchpad encoder–decoder equals torch.nn.Transformer; teacher forcing and autoregressive decoding agree."""

import pytest
import torch
from torch import nn

from replication.models.seq2seq import (
    START,
    ScratchpadTransformer,
    Seq2SeqConfig,
    decoder_input,
    prefix_parities,
    to_torch_transformer,
)


def make(n=7, d=16, enc_layers=2, dec_layers=2, heads=2, seed=0):
    torch.manual_seed(seed)
    m = ScratchpadTransformer(Seq2SeqConfig(n=n, d=d, enc_layers=enc_layers, dec_layers=dec_layers, heads=heads))
    # Non-trivial LayerNorms and biases, so the comparison covers them.
    with torch.no_grad():
        for k, p in m.named_parameters():
            if "norm" in k or "bias" in k:
                p.add_(0.3 * torch.randn_like(p))
    return m.eval()


def reference_forward(m: ScratchpadTransformer, x, y_in):
    """nn.Transformer with copied weights on the same embeddings, causal mask on the decoder, same head."""
    ref = to_torch_transformer(m)
    mask = nn.Transformer.generate_square_subsequent_mask(y_in.shape[1])
    h = ref(m.embed_source(x), m.embed_target(y_in), tgt_mask=mask, tgt_is_causal=True)
    return m.head(h).squeeze(-1)


@pytest.mark.parametrize("enc_layers,dec_layers,heads", [(1, 1, 1), (2, 2, 2), (3, 1, 4)])
def test_matches_torch_transformer(enc_layers, dec_layers, heads):
    m = make(enc_layers=enc_layers, dec_layers=dec_layers, heads=heads)
    x = torch.randint(0, 2, (64, 7))
    with torch.no_grad():
        assert torch.allclose(m(x), reference_forward(m, x, decoder_input(prefix_parities(x))), atol=1e-5)


def test_matches_torch_transformer_on_a_partial_scratchpad():
    m = make()
    x = torch.randint(0, 2, (32, 7))
    y_in = torch.cat([torch.full((32, 1), START), torch.randint(0, 2, (32, 3))], dim=1)  # any tokens, m = 4 < n
    with torch.no_grad():
        out = m(x, y_in)
        assert out.shape == (32, 4)
        assert torch.allclose(out, reference_forward(m, x, y_in), atol=1e-5)


def test_decoder_is_causal():
    """Output i must not change when scratchpad tokens after position i change."""
    m = make()
    x = torch.randint(0, 2, (16, 7))
    y_in = decoder_input(prefix_parities(x))
    y_alt = y_in.clone()
    y_alt[:, 4:] = 1 - y_alt[:, 4:]
    with torch.no_grad():
        assert torch.allclose(m(x, y_in)[:, :4], m(x, y_alt)[:, :4], atol=1e-6)
        assert not torch.allclose(m(x, y_in)[:, 4:], m(x, y_alt)[:, 4:])


def test_prefix_parities_and_decoder_input_by_hand():
    x = torch.tensor([[1, 0, 1, 1, 0], [0, 0, 0, 0, 1]])
    t = prefix_parities(x)
    assert t.tolist() == [[1, 1, 0, 1, 1], [0, 0, 0, 0, 1]]
    assert t[:, -1].tolist() == (x.sum(1) % 2).tolist()  # t_n is PARITY
    assert decoder_input(t).tolist() == [[START, 1, 1, 0, 1], [START, 0, 0, 0, 0]]


def test_generate_feeds_back_its_own_outputs():
    """For any model, decoding autoregressively equals teacher forcing on the model's own scratchpad."""
    m = make(seed=3)
    x = torch.randint(0, 2, (128, 7))
    with torch.no_grad():
        g = m.generate(x)
        assert g.shape == (128, 7) and set(g.unique().tolist()) <= {0, 1}
        assert torch.equal((m(x, decoder_input(g)) > 0.5).long(), g)


class Oracle(ScratchpadTransformer):
    """A model that is right by construction: its decoder outputs x_i XOR (its input token at position i)."""

    def decode(self, memory, y_in):
        prev = torch.where(y_in == START, torch.zeros_like(y_in), y_in)
        bits = self._x[:, : y_in.shape[1]]
        return ((bits + prev) % 2).float()

    def encode(self, x):
        self._x = x
        return super().encode(x)


def test_autoregressive_equals_teacher_forced_when_right():
    m = Oracle(Seq2SeqConfig(n=9, d=8)).eval()
    x = torch.randint(0, 2, (256, 9))
    t = prefix_parities(x)
    with torch.no_grad():
        tf = (m(x) > 0.5).long()
        assert torch.equal(tf, t)  # right under teacher forcing ...
        assert torch.equal(m.generate(x), tf)  # ... hence autoregressively too


@pytest.mark.slow
def test_trained_model_decodes_autoregressively_as_teacher_forced():
    """A small model trained to be right on every string of length 5 gives the same scratchpad both ways."""
    from replication.experiments.scratchpad import ScratchpadRun, measure_scratchpad

    run = ScratchpadRun(
        n=5,
        seed=0,
        d=16,
        enc_layers=2,
        dec_layers=2,
        heads=2,
        lr=3e-3,
        weight_decay=0.0,
        batch_size=64,
        steps=1500,
        eval_every=100,
        after_converged=200,
        n_eval=128,
        n_ar=256,
        rho=0.02,
        n_perturbations=2,
        n_inputs=32,
    )
    res = measure_scratchpad(run)
    assert res["converged"], res["ar_acc"]
    m = ScratchpadTransformer(run.model_config())
    m.load_state_dict(res["state_dict"])
    m.eval()
    x = torch.cartesian_prod(*[torch.tensor([0, 1])] * 5)  # all 32 strings
    with torch.no_grad():
        tf = (m(x) > 0.5).long()
        assert torch.equal(tf, prefix_parities(x))
        assert torch.equal(m.generate(x), tf)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(n=0), "n"),
        (dict(n=4, d=7), "d"),
        (dict(n=4, d=8, heads=3), "heads"),
        (dict(n=4, d_ff=0), "d_ff"),
        (dict(n=4, dec_layers=0), "dec_layers"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Seq2SeqConfig(**kwargs)


def test_input_lengths_are_checked():
    m = make(n=5)
    with pytest.raises(ValueError, match="x"):
        m(torch.zeros(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="y_in"):
        m(torch.zeros(2, 5, dtype=torch.long), torch.full((2, 6), START))
