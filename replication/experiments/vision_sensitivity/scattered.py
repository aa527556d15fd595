"""The released code's sensitivity (V25's ``cifar/cifar_sens.py``): noise on scattered pixels, not on a patch.

Per draw and per batch of images, ``k`` pixel positions are drawn, each (row, column) independently uniform over the
image, so positions may repeat (a repeated position is one noisy pixel); every image of the batch gets independent
N(0, sigma²) noise on those positions, in every channel. The sensitivity is the share of (image, draw) evaluations
whose predicted class changes. The released code draws ``patch_size²`` positions (49 with MNIST's 7×7 patches),
5 draws, model in eval mode, on training images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...measures.output_sharpness import predict_in_chunks


@dataclass(frozen=True)
class ScatteredSensitivity:
    fraction: float  # changed evaluations / all N * repeats evaluations
    per_draw: list[float]  # changed share per draw (mean over images)
    n_evaluations: int  # N * repeats


def scattered_mask(shape: tuple[int, int], k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(H, W) float mask: 1 at ``k`` positions drawn with replacement, each row and column uniform, else 0."""
    h, w = shape
    rows = torch.randint(h, (k,), generator=generator)
    cols = torch.randint(w, (k,), generator=generator)
    mask = torch.zeros(h, w)
    mask[rows, cols] = 1.0
    return mask


@torch.no_grad()
def scattered_sensitivity(
    model, x: torch.Tensor, k: int, sigma: float, repeats: int, generator=None, batch: int = 50
) -> ScatteredSensitivity:
    """Share of predictions of ``model`` on ``x`` (N, C, H, W) that change under noise on ``k`` scattered pixels
    (see the module), ``repeats`` draws, one set of positions per draw and per ``batch`` images."""
    if not torch.is_tensor(x) or x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"x: must be a float tensor (N, C, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    for name, v, lo in (("k", k, 1), ("repeats", repeats, 1), ("batch", batch, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name}: must be a positive integer, got {v!r}")
    if not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f"sigma: must be a positive noise standard deviation, got {sigma!r}")
    clean = predict_in_chunks(model, x).argmax(-1)
    per_draw = []
    for _ in range(repeats):
        changed = 0
        for i in range(0, len(x), batch):
            xb = x[i : i + batch]
            mask = scattered_mask(tuple(x.shape[2:]), k, generator)
            noise = sigma * torch.randn(xb.shape, generator=generator, dtype=x.dtype) * mask
            changed += int((model(xb + noise).argmax(-1) != clean[i : i + batch]).sum())
        per_draw.append(changed / len(x))
    return ScatteredSensitivity(sum(per_draw) / repeats, per_draw, len(x) * repeats)
