"""Chapter 10's models: the ViT's attention against torch.nn.MultiheadAttention, a whole block against a
pre-LN nn.TransformerEncoderLayer, and the shapes of the three models (V25 App. D, Fashion-MNIST)."""

import pytest
import torch
from torch import nn

from replication.models.vision import CNN, MLP, ViT, Attention, Block, build_model, count_parameters


def test_attention_matches_multihead_attention_with_copied_weights():
    torch.manual_seed(0)
    att = Attention(dim=64, heads=8, dim_head=8)
    ref = nn.MultiheadAttention(64, 8, bias=False, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(att.to_qkv.weight)  # rows: q, then k, then v, each split into heads
        ref.out_proj.weight.copy_(att.to_out.weight)
    x = torch.randn(5, 17, 64)
    want, _ = ref(x, x, x, need_weights=False)
    assert torch.allclose(att(x), want, atol=1e-5)


def test_block_matches_pre_ln_transformer_encoder_layer():
    torch.manual_seed(1)
    blk = Block(dim=32, heads=4, dim_head=8, mlp_dim=64)
    ref = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(blk.attn.to_qkv.weight)
        ref.self_attn.in_proj_bias.zero_()
        ref.self_attn.out_proj.weight.copy_(blk.attn.to_out.weight)
        ref.self_attn.out_proj.bias.zero_()
        for mine, theirs in (
            (blk.norm1, ref.norm1),
            (blk.norm2, ref.norm2),
            (blk.ff[0], ref.linear1),
            (blk.ff[2], ref.linear2),
        ):
            theirs.load_state_dict(mine.state_dict())
    ref.eval()
    x = torch.randn(3, 9, 32)
    assert torch.allclose(blk(x), ref(x), atol=1e-5)


@pytest.mark.parametrize("shape,patch,tokens", [((1, 28, 28), 7, 16), ((1, 28, 28), 4, 49), ((3, 32, 32), 4, 64)])
def test_vit_tokens_and_output_shape(shape, patch, tokens):
    m = ViT(shape, patch, classes=10)
    assert m.tokens == tokens
    assert m.pos.shape == (1, tokens + 1, 64)
    x = torch.rand(2, *shape)
    assert m.patches(x).shape == (2, tokens, shape[0] * patch * patch)
    assert m(x).shape == (2, 10)


def test_vit_patches_are_the_image_blocks_row_major():
    m = ViT((1, 4, 4), 2, classes=3, dim=8, heads=2, dim_head=4, mlp_dim=8)
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    p = m.patches(x)[0]
    assert p.tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_vit_shape_is_v25_fashion_mnist():
    m = build_model("vit", (1, 28, 28), 7)
    assert len(m.blocks) == 2 and m.blocks[0].attn.heads == 8 and m.blocks[0].ff[0].out_features == 256


def test_cnn_shape_is_v25_fashion_mnist():
    m = build_model("cnn", (1, 28, 28), 7)
    assert isinstance(m, CNN)
    assert (m.conv1.out_channels, m.conv2.out_channels, m.conv1.kernel_size) == (32, 32, (3, 3))
    assert m.fc1.in_features == 32 * 12 * 12 and m.fc1.out_features == 128 and m.fc2.out_features == 10
    assert m(torch.rand(4, 1, 28, 28)).shape == (4, 10)
    assert CNN((3, 32, 32))(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_mlp_shape_is_v25_fashion_mnist():
    m = build_model("mlp", (1, 28, 28), 7)
    assert isinstance(m, MLP)
    widths = [layer.out_features for layer in m.net if isinstance(layer, nn.Linear)]
    assert widths == [512, 128, 10]
    assert count_parameters(m) == 784 * 512 + 512 + 512 * 128 + 128 + 128 * 10 + 10
    assert MLP((1, 28, 28), activation="sigmoid")(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_bad_names_are_rejected():
    with pytest.raises(ValueError, match="arch"):
        build_model("rnn", (1, 28, 28), 7)
    with pytest.raises(ValueError, match="patch"):
        ViT((1, 28, 28), 5)
    with pytest.raises(ValueError, match="activation"):
        MLP((1, 28, 28), activation="tanh")


def test_without_the_patch_layernorm_noise_on_a_blank_patch_keeps_its_size():
    """The patch LayerNorm scales noise on an all-zero patch to unit variance whatever its size; without it the
    patch's embedding moves in proportion to the noise."""
    torch.manual_seed(0)
    with_pn = build_model("vit", (1, 28, 28), 7, 2, shape="mnist")
    without = build_model("vit_nopn", (1, 28, 28), 7, 2, shape="mnist")
    assert isinstance(without.embed[0], torch.nn.Identity) and set(without.state_dict()) == set(
        with_pn.state_dict()
    ) - {"embed.0.weight", "embed.0.bias"}
    eps = torch.randn(1, 1, 49)
    small, large = with_pn.embed[0](0.1 * eps), with_pn.embed[0](eps)
    assert torch.allclose(small, large, rtol=2e-3, atol=1e-4)  # normalised away (up to the LayerNorm eps)
    lin = without.embed[1]
    assert torch.allclose(lin(eps * 0.1) - lin.bias, 0.1 * (lin(eps) - lin.bias), atol=1e-6)  # linear in the noise


def test_dropout_keeps_the_weight_names_and_acts_only_in_train_mode():
    """V25's released ViT has dropout 0.1: the same weights load into it, eval mode gives the same logits as
    without dropout, train mode draws masks (and dropout on a CNN is refused by name)."""
    torch.manual_seed(0)
    plain = build_model("vit", (1, 28, 28), 7, 10)
    dropped = build_model("vit", (1, 28, 28), 7, 10, dropout=0.1)
    assert list(plain.state_dict()) == list(dropped.state_dict())
    dropped.load_state_dict(plain.state_dict())
    x = torch.randn(4, 1, 28, 28)
    plain.eval(), dropped.eval()
    assert torch.equal(plain(x), dropped(x))
    dropped.train()
    torch.manual_seed(1)
    a = dropped(x)
    torch.manual_seed(2)
    assert not torch.allclose(a, dropped(x))
    n_dropout = sum(isinstance(m, nn.Dropout) for m in dropped.modules())
    assert (
        n_dropout == 1 + 2 * 3
    )  # embedding; per block: attention (used twice), after the GELU, after the feed-forward
    with pytest.raises(ValueError, match="dropout"):
        build_model("cnn", (1, 28, 28), 7, 10, dropout=0.1)
