"""Common image corruptions in torch, after CIFAR-10-C / ImageNet-C (Hendrycks & Dietterich 2019), at 5 severities.

V25 §7.1 tests robustness on CIFAR-10-C, a fixed set of corrupted CIFAR-10 test images. That set is
not available here (and does not exist for MNIST), so the corruptions are computed: each function
takes images ``(B, C, H, W)`` in ``[0, 1]`` and a severity 1..5 and returns corrupted images of the
same shape, clipped to ``[0, 1]``. Random corruptions take a ``torch.Generator`` so a result is
reproducible. The severity parameters follow the ImageNet-C code's tables (which are stronger than
CIFAR-10-C's for the noises) where a corruption has one there; for 28x28 grey digits they are a choice,
stated in :data:`SEVERITIES`.

Categories as in CIFAR-10-C: noise (Gaussian, shot, impulse), blur (Gaussian blur), digital
(contrast, brightness, pixelate). Weather corruptions need textures of snow, frost and fog that are
not reproducible from the paper, and are left out.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: One parameter per severity 1..5 for each corruption.
SEVERITIES = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),  # noise standard deviation
    "shot_noise": (60.0, 25.0, 12.0, 5.0, 3.0),  # photons per unit intensity (fewer: noisier)
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),  # share of pixels set to 0 or 1
    "gaussian_blur": (0.5, 0.75, 1.0, 1.25, 1.5),  # blur standard deviation in pixels
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),  # factor on the distance to the image's mean
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),  # added to every pixel
    "pixelate": (2, 3, 4, 5, 7),  # side of the square blocks averaged into one pixel
}
#: Category of each corruption (as in CIFAR-10-C).
CATEGORY = {
    "gaussian_noise": "noise",
    "shot_noise": "noise",
    "impulse_noise": "noise",
    "gaussian_blur": "blur",
    "contrast": "digital",
    "brightness": "digital",
    "pixelate": "digital",
}
CORRUPTIONS = tuple(SEVERITIES)


def _level(name: str, severity: int) -> float:
    if isinstance(severity, bool) or not isinstance(severity, int) or not 1 <= severity <= 5:
        raise ValueError(f"severity: must be an integer in [1, 5], got {severity!r}")
    return SEVERITIES[name][severity - 1]


def _check(x: torch.Tensor) -> None:
    if not torch.is_tensor(x) or x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"images: must be a float tensor (B, C, H, W) in [0, 1], got {getattr(x, 'shape', x)!r}")


def gaussian_noise(x: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    s = _level("gaussian_noise", severity)
    return (x + s * torch.randn(x.shape, generator=generator, dtype=x.dtype)).clamp(0, 1)


def shot_noise(x: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    lam = _level("shot_noise", severity)
    return (torch.poisson(x * lam, generator=generator) / lam).clamp(0, 1)


def impulse_noise(x: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    amount = _level("impulse_noise", severity)
    u = torch.rand(x.shape, generator=generator)
    out = x.clone()
    out[u < amount / 2] = 0.0
    out[(u >= amount / 2) & (u < amount)] = 1.0
    return out


def gaussian_blur(x: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    s = _level("gaussian_blur", severity)
    r = max(1, math.ceil(3 * s))
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-(t**2) / (2 * s * s))
    k = k / k.sum()
    C = x.shape[1]
    out = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    out = F.conv2d(F.pad(out, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)
    return out.clamp(0, 1)


def contrast(x: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    c = _level("contrast", severity)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * c + mean).clamp(0, 1)


def brightness(x: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    return (x + _level("brightness", severity)).clamp(0, 1)


def pixelate(x: torch.Tensor, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    b = int(_level("pixelate", severity))
    H, W = x.shape[-2:]
    padded = F.pad(x, (0, -W % b, 0, -H % b), mode="replicate")  # the last blocks repeat the edge
    blocks = F.avg_pool2d(padded, b)  # (B, C, ceil(H / b), ceil(W / b))
    return blocks.repeat_interleave(b, -2).repeat_interleave(b, -1)[..., :H, :W].clamp(0, 1)


_FUNCTIONS = {
    f.__name__: f for f in (gaussian_noise, shot_noise, impulse_noise, gaussian_blur, contrast, brightness, pixelate)
}


def corrupt(x: torch.Tensor, name: str, severity: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` (B, C, H, W) in [0, 1] with corruption ``name`` at ``severity`` (1..5); same shape, in [0, 1]."""
    _check(x)
    if name not in _FUNCTIONS:
        raise ValueError(f"corruption: must be one of {list(CORRUPTIONS)}, got {name!r}")
    return _FUNCTIONS[name](x, severity, generator)
