"""Chapter 10's corruptions: shapes, ranges, severities ordered, and what each one does on simple images."""

import pytest
import torch

from replication.tasks.corruptions import CORRUPTIONS, SEVERITIES, corrupt


def _images():
    return torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def _smooth():
    """A smooth pattern (pixelation of pure noise is not monotone in the block size)."""
    i = torch.arange(28.0)
    return (0.5 + 0.5 * torch.sin(i[:, None] / 3) * torch.cos(i[None, :] / 4)).expand(2, 1, 28, 28).clone()


@pytest.mark.parametrize("name", CORRUPTIONS)
@pytest.mark.parametrize("severity", [1, 3, 5])
def test_shape_and_range(name, severity):
    for x in (_images(), torch.rand(2, 3, 32, 32)):
        out = corrupt(x, name, severity, torch.Generator().manual_seed(1))
        assert out.shape == x.shape and out.dtype == x.dtype
        assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_more_severe_changes_the_image_more(name):
    x = _smooth()
    dist = [float((corrupt(x, name, s, torch.Generator().manual_seed(1)) - x).abs().mean()) for s in range(1, 6)]
    assert all(a <= b + 1e-6 for a, b in zip(dist, dist[1:])), dist
    assert dist[0] > 0


def test_seeded_noise_is_reproducible():
    x = _images()
    a = corrupt(x, "gaussian_noise", 3, torch.Generator().manual_seed(5))
    assert torch.equal(a, corrupt(x, "gaussian_noise", 3, torch.Generator().manual_seed(5)))


def test_by_hand():
    flat = torch.full((1, 1, 8, 8), 0.5)
    assert torch.allclose(corrupt(flat, "gaussian_blur", 5), flat, atol=1e-6)  # a blur keeps a constant image
    assert torch.allclose(corrupt(flat, "contrast", 3), flat)  # nothing to shrink
    assert torch.allclose(corrupt(flat, "brightness", 2), flat + SEVERITIES["brightness"][1])
    x = torch.zeros(1, 1, 4, 4)
    x[..., 0, 0] = 1.0
    c = corrupt(x, "contrast", 1)
    assert torch.allclose(c.mean(), x.mean()) and c.max() < 1  # mean kept, spread shrunk
    imp = corrupt(_images(), "impulse_noise", 5, torch.Generator().manual_seed(0))
    share = float(((imp == 0) | (imp == 1)).float().mean())
    assert abs(share - SEVERITIES["impulse_noise"][4]) < 0.03
    x = torch.rand(1, 1, 28, 28)
    pix = corrupt(x, "pixelate", 5)  # 7x7 blocks, each its mean
    assert torch.allclose(pix[..., :7, :7], x[..., :7, :7].mean().expand(1, 1, 7, 7))


def test_bad_arguments():
    with pytest.raises(ValueError, match="corruption"):
        corrupt(_images(), "snow", 1)
    with pytest.raises(ValueError, match="severity"):
        corrupt(_images(), "contrast", 6)
    with pytest.raises(ValueError, match="images"):
        corrupt(torch.rand(28, 28), "contrast", 1)
