"""The three image classifiers of V25 §5 (Fashion-MNIST, App. D) in plain torch: a ViT, a CNN and an MLP.

torchvision does not install beside the pinned torch, so the models are written out here. Their shapes
are the ones V25 App. D gives for Fashion-MNIST:

- :class:`ViT`: the ``vit-pytorch`` ViT that V25 use (lucidrains), depth 2, 8 heads, feed-forward width
  256. Each ``patch x patch`` patch is one token: LayerNorm, a linear patch embedding, LayerNorm; a
  learned class token and positional embedding; pre-LN blocks (attention without biases, GELU
  feed-forward) with residual connections; a final LayerNorm; the class token's output goes to a
  linear head. The model width is not stated in the paper; ``dim = 64`` with 8 heads of width 8.
- :class:`CNN`: two 3x3 convolutions with 32 channels, a 2x2 max-pool, then a 128-unit fully connected
  layer and the linear head, LeakyReLU after every hidden layer ("3 hidden layers" in V25 §5).
- :class:`MLP`: two hidden layers of 512 and 128 units with LeakyReLU (or sigmoid).

Every model takes images ``(B, C, H, W)`` and returns logits ``(B, classes)``. :func:`build_model`
makes one from its name. ``tests/core/models/test_vision_models.py`` checks the ViT's attention against
``torch.nn.MultiheadAttention`` with copied weights, and the shapes of all three.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Architectures :func:`build_model` knows.
ARCHITECTURES = ("vit", "cnn", "mlp")


def _dropout(p: float) -> nn.Module:
    """``nn.Dropout(p)``, or the identity when ``p`` is 0 (so a model without dropout draws no random numbers)."""
    return nn.Dropout(p) if p else nn.Identity()


class Attention(nn.Module):
    """Multi-head self-attention of ``vit-pytorch``: one bias-free ``qkv`` projection, softmax, output projection.

    With ``heads * dim_head == dim`` it computes what ``nn.MultiheadAttention(dim, heads, bias=False)``
    computes with ``in_proj_weight = to_qkv.weight`` and ``out_proj.weight = to_out.weight``.
    """

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float = 0.0):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.scale = dim_head**-0.5
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)
        self.drop = _dropout(dropout)  # vit-pytorch: on the attention weights and on the output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape  # (B, T, dim)
        qkv = self.to_qkv(x).reshape(B, T, 3, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each (B, heads, T, dim_head)
        att = self.drop(torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1))  # (B, heads, T, T)
        out = (att @ v).transpose(1, 2).reshape(B, T, self.heads * self.dim_head)  # (B, T, heads * dim_head)
        return self.drop(self.to_out(out))  # (B, T, dim)


class Block(nn.Module):
    """Pre-LN transformer block: ``x + attn(LN(x))``, then ``x + ff(LN(x))`` with a GELU feed-forward."""

    def __init__(self, dim: int, heads: int, dim_head: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dim_head, dropout)
        self.norm2 = nn.LayerNorm(dim)
        # vit-pytorch's dropout after the GELU and after the second layer; the GELU and its dropout share index 1,
        # so the weights keep their names (ff.0, ff.2) with or without dropout
        act = nn.Sequential(nn.GELU(), nn.Dropout(dropout)) if dropout else nn.GELU()
        self.ff = nn.Sequential(nn.Linear(dim, mlp_dim), act, nn.Linear(mlp_dim, dim), _dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class ViT(nn.Module):
    """Vision transformer over ``patch x patch`` patches (V25 §5, Def. 5.1; App. D for the shape).

    Args:
        image_shape: ``(C, H, W)``; ``patch`` must divide ``H`` and ``W``.
        patch: side of a square patch; ``T = (H / patch) * (W / patch)`` tokens.
        classes: number of classes.
        dim: token width. heads, dim_head: attention heads and their width. depth: blocks.
        mlp_dim: feed-forward width.
        patch_norm: LayerNorm over each flat patch before its embedding (vit-pytorch's layout). Without it a
            patch's pixels go straight into the linear embedding, so noise on a blank patch stays at its own
            size instead of being normalised to unit variance.
        dropout: vit-pytorch's ``dropout`` and ``emb_dropout`` (V25's released code: 0.1 each; 0: none).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        patch: int,
        classes: int = 10,
        dim: int = 64,
        depth: int = 2,
        heads: int = 8,
        dim_head: int = 8,
        mlp_dim: int = 256,
        patch_norm: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        C, H, W = image_shape
        if H % patch or W % patch:
            raise ValueError(f"patch: must divide the image height {H} and width {W}, got {patch}")
        self.patch = patch
        self.tokens = (H // patch) * (W // patch)
        patch_dim = C * patch * patch
        first = nn.LayerNorm(patch_dim) if patch_norm else nn.Identity()  # index 0 either way: the same weight names
        self.embed = nn.Sequential(first, nn.Linear(patch_dim, dim), nn.LayerNorm(dim))
        self.cls = nn.Parameter(torch.randn(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, self.tokens + 1, dim))
        self.emb_drop = _dropout(dropout)
        self.blocks = nn.ModuleList([Block(dim, heads, dim_head, mlp_dim, dropout) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, T, C * patch * patch)``, row-major over the grid, channel first in a patch."""
        B, C, H, W = images.shape
        p = self.patch
        x = images.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(B, (H // p) * (W // p), C * p * p)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.embed(self.patches(images))  # (B, T, dim)
        x = self.emb_drop(torch.cat([self.cls.expand(len(x), -1, -1), x], dim=1) + self.pos)  # (B, T + 1, dim)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])  # (B, classes)


class CNN(nn.Module):
    """Two 3x3 convolutions (32 channels), 2x2 max-pool, a 128-unit layer and the head; LeakyReLU (V25 App. D)."""

    def __init__(self, image_shape: tuple[int, int, int], classes: int = 10, channels: int = 32, hidden: int = 128):
        super().__init__()
        C, H, W = image_shape
        self.conv1 = nn.Conv2d(C, channels, 3)
        self.conv2 = nn.Conv2d(channels, channels, 3)
        flat = channels * ((H - 4) // 2) * ((W - 4) // 2)
        self.fc1 = nn.Linear(flat, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(images))  # (B, 32, H - 2, W - 2)
        x = F.max_pool2d(F.leaky_relu(self.conv2(x)), 2)  # (B, 32, (H - 4) / 2, (W - 4) / 2)
        return self.fc2(F.leaky_relu(self.fc1(x.flatten(1))))  # (B, classes)


class MLP(nn.Module):
    """Fully connected network on the flattened image: hidden layers 512 and 128 (V25 App. D, Fashion-MNIST)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        classes: int = 10,
        hidden: tuple[int, ...] = (512, 128),
        activation: str = "leaky_relu",
    ):
        super().__init__()
        acts = {"leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid}
        if activation not in acts:
            raise ValueError(f"activation: must be one of {sorted(acts)}, got {activation!r}")
        widths = [int(torch.tensor(image_shape).prod())] + list(hidden)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), acts[activation]()]
        self.net = nn.Sequential(*layers, nn.Linear(widths[-1], classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.flatten(1))  # (B, classes)


#: The model shapes of V25 App. D: "fashion_mnist" (the default above) and "mnist" (the binary MNIST task,
#: App. A.1: a ViT of depth 2 with one head and feed-forward width 128, a one-hidden-layer MLP of 100
#: LeakyReLU units). V25 do not state the ViT's width; one head of width 64 (``vit-pytorch``'s default
#: ``dim_head``) over tokens of width 64, as in the Fashion-MNIST ViT.
SHAPES = {
    "fashion_mnist": {"vit": {}, "cnn": {}, "mlp": {}},
    "mnist": {
        "vit": {"dim": 64, "depth": 2, "heads": 1, "dim_head": 64, "mlp_dim": 128},
        "mlp": {"hidden": (100,)},
        # the same ViT without the LayerNorm over each flat patch (a test of where its sensitivity comes from)
        "vit_nopn": {"dim": 64, "depth": 2, "heads": 1, "dim_head": 64, "mlp_dim": 128, "patch_norm": False},
    },
}


def build_model(
    arch: str,
    image_shape: tuple[int, int, int],
    patch: int,
    classes: int = 10,
    shape: str = "fashion_mnist",
    dropout: float = 0.0,
) -> nn.Module:
    """One of :data:`ARCHITECTURES` with one of V25's :data:`SHAPES`, initialised from torch's global RNG
    (``dropout``: the ViT's, see :class:`ViT`; the CNN and the MLP have none)."""
    if shape not in SHAPES:
        raise ValueError(f"shape: must be one of {sorted(SHAPES)}, got {shape!r}")
    if arch not in SHAPES[shape]:
        raise ValueError(f"arch: must be one of {list(SHAPES[shape])} for shape {shape!r}, got {arch!r}")
    kw = SHAPES[shape][arch]
    if dropout and not arch.startswith("vit"):
        raise ValueError(f"dropout: only the ViT has dropout, got dropout={dropout} for arch {arch!r}")
    if arch.startswith("vit"):
        return ViT(image_shape, patch, classes, **kw, dropout=dropout)
    if arch == "cnn":
        return CNN(image_shape, classes, **kw)
    return MLP(image_shape, classes, **kw)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
