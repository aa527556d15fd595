"""Token-wise sensitivity of a classifier over tokens (V25 Def. 4.1), and image patches as tokens.

V25 measures how often a model's predicted class changes when *one* token of its input is perturbed
by isotropic Gaussian noise, ``x_i -> x_i + e`` with ``e ~ N(0, sigma^2 I)``, averaged over inputs,
token positions and noise draws. A token is a row of a ``(T, D)`` input: a token embedding of a
sequence model, or a flattened ``p x p`` patch of an image (:func:`patchify`), whatever the model
itself reads.

``sigma`` here is the noise *standard deviation*. V25 states the noise level as a variance (1 for
CIFAR-10, 5 for Fashion-MNIST); a caller converts with ``sigma = sqrt(variance)``.

The computation is vectorised: every (input, token, repeat) triple is one row of a large batch of
perturbed copies, cut into chunks of ``chunk`` rows to bound memory. There is no Python loop over
tokens, and ``predict`` is called ``ceil(B * T * repeats / chunk) + 1`` times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Callable

import torch

if TYPE_CHECKING:
    from ..models.grokking import GrokkingTransformer

#: A classifier: ``(N, T, D)`` float tokens -> ``(N,)`` predicted class indices.
Predict = Callable[[torch.Tensor], torch.Tensor]

#: Default bound on the number of floats in one chunk of perturbed copies (64 MiB of float32).
CHUNK_FLOATS = 2**24


@dataclass(frozen=True)
class TokenSensitivity:
    """What :func:`token_sensitivity` measured.

    ``fraction`` is V25 Def. 4.1's token-wise sensitivity: the share of the ``B * T * repeats``
    perturbed evaluations whose predicted class differs from the clean prediction.
    """

    fraction: float  # changed evaluations / all B * T * repeats evaluations
    per_token: torch.Tensor  # (T,) changed share per token position (mean over inputs and repeats)
    per_input: torch.Tensor  # (B,) changed share per input (mean over tokens and repeats)
    sigma: float  # noise standard deviation
    repeats: int  # noise draws per (input, token) pair
    n_evaluations: int  # B * T * repeats

    def as_dict(self) -> dict:
        """Plain values (lists for the tensors), e.g. to store as a result."""
        return {
            "fraction": self.fraction,
            "per_token": self.per_token.tolist(),
            "per_input": self.per_input.tolist(),
            "sigma": self.sigma,
            "repeats": self.repeats,
            "n_evaluations": self.n_evaluations,
        }


def _check(x: torch.Tensor, sigma: float, repeats: int, chunk: int | None) -> None:
    if not torch.is_tensor(x) or x.dim() != 3 or not x.is_floating_point():
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"x: must be a float tensor (B, T, D), got {shape}")
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma: must be a positive finite noise standard deviation, got {sigma!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats: must be a positive integer, got {repeats!r}")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk: must be a positive integer or None, got {chunk!r}")


@torch.no_grad()
def token_sensitivity(
    predict: Predict,
    x: torch.Tensor,
    sigma: float,
    repeats: int = 5,
    generator: torch.Generator | None = None,
    chunk: int | None = None,
) -> TokenSensitivity:
    """Token-wise sensitivity of ``predict`` at inputs ``x`` (V25 Def. 4.1).

    Args:
        predict: classifier, ``(N, T, D)`` tokens -> ``(N,)`` class indices. Put a model in eval mode
            before wrapping it. Images: ``lambda t: model(unpatchify(t, p, shape)).argmax(-1)``.
        x: ``(B, T, D)`` float tensor, ``B`` inputs of ``T`` tokens of ``D`` features.
        sigma: standard deviation of the Gaussian noise added to one token at a time.
        repeats: noise draws per (input, token) pair.
        generator: torch generator for the noise (on ``x``'s device); ``None`` uses torch's global one.
        chunk: perturbed copies per call of ``predict``; ``None`` keeps a chunk under
            :data:`CHUNK_FLOATS` floats. The noise drawn depends on the chunking, so a fixed seed
            reproduces a result only with the same ``chunk``.

    Returns:
        :class:`TokenSensitivity` with the overall changed fraction and its per-token and per-input
        means.
    """
    _check(x, sigma, repeats, chunk)
    B, T, D = x.shape
    if chunk is None:
        chunk = max(1, CHUNK_FLOATS // (T * D))
    clean = predict(x).reshape(B)  # (B,)
    total = B * T * repeats
    changed_token = torch.zeros(T, dtype=torch.long, device=x.device)
    changed_input = torch.zeros(B, dtype=torch.long, device=x.device)
    # Row k of the virtual (B * T * repeats) batch perturbs token t = (k // repeats) % T of input
    # b = k // (T * repeats); consecutive rows are the repeats of one (input, token) pair.
    for start in range(0, total, chunk):
        k = torch.arange(start, min(start + chunk, total), device=x.device)
        b = torch.div(k, T * repeats, rounding_mode="floor")
        t = torch.div(k, repeats, rounding_mode="floor") % T
        noisy = x[b].clone()  # (n, T, D)
        noise = torch.randn(len(k), D, generator=generator, device=x.device, dtype=x.dtype)
        noisy[torch.arange(len(k), device=x.device), t] += sigma * noise
        flip = (predict(noisy).reshape(len(k)) != clean[b]).long()  # (n,)
        changed_token.index_add_(0, t, flip)
        changed_input.index_add_(0, b, flip)
    return TokenSensitivity(
        fraction=changed_token.sum().item() / total,
        per_token=changed_token.double().cpu() / (B * repeats),
        per_input=changed_input.double().cpu() / (T * repeats),
        sigma=float(sigma),
        repeats=repeats,
        n_evaluations=total,
    )


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Cut images into non-overlapping square patches, row-major over the grid.

    ``(B, C, H, W) -> (B, T, C * patch * patch)`` with ``T = (H / patch) * (W / patch)``; a token is
    one patch flattened channel first (the order of a ViT's patch embedding by a strided convolution).
    """
    if images.dim() != 4:
        raise ValueError(f"images: must be (B, C, H, W), got shape {tuple(images.shape)}")
    B, C, H, W = images.shape
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1 or H % patch or W % patch:
        raise ValueError(f"patch: must be a positive integer dividing height {H} and width {W}, got {patch!r}")
    g_h, g_w = H // patch, W // patch
    x = images.reshape(B, C, g_h, patch, g_w, patch)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(B, g_h * g_w, C * patch * patch)


def unpatchify(tokens: torch.Tensor, patch: int, shape: tuple[int, int, int]) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(B, T, C * patch * patch)`` -> ``(B, C, H, W)``, ``shape = (C, H, W)``."""
    C, H, W = shape
    if H % patch or W % patch:
        raise ValueError(f"patch: must divide height {H} and width {W}, got {patch!r}")
    g_h, g_w = H // patch, W // patch
    B = tokens.shape[0]
    if tokens.shape[1:] != (g_h * g_w, C * patch * patch):
        raise ValueError(
            f"tokens: shape {tuple(tokens.shape)} does not match {g_h * g_w} patches of "
            f"{C}x{patch}x{patch} for images of shape {tuple(shape)}"
        )
    x = tokens.reshape(B, g_h, g_w, C, patch, patch)
    return x.permute(0, 3, 1, 4, 2, 5).reshape(B, C, H, W)


@torch.no_grad()
def embedding_noise_sensitivity(
    model: GrokkingTransformer,
    x: torch.Tensor,
    sigma: float = 0.1,
    draws: int = 1,
    generator: torch.Generator | None = None,
) -> float:
    """Fraction of inputs ``x`` ``(B, 3)`` whose argmax changes under ``N(0, sigma²)`` noise on both number
    embeddings, averaged over ``draws`` independent draws (V25 §7.3)."""
    d = model.tok_emb.embedding_dim
    clean = model(x).argmax(-1)  # (B,)
    changed = 0.0
    for _ in range(draws):
        noise = sigma * torch.randn(x.shape[0], 2, d, generator=generator).to(x.device)  # (B, 2, d)
        changed += float((model(x, noise=noise).argmax(-1) != clean).float().mean())
    return changed / draws
