"""Readings of V25's vision noise: what V25 state (a variance per data set, V25 §5 and App. D: Fashion-MNIST 5,
CIFAR-10 1; none for MNIST) leaves open, as data.

A :class:`Reading` fixes each open choice, one axis each:

- ``scale``: the pixel scale the noise is added on: ``standardised`` (each pixel minus the training mean, over the
  training standard deviation: what the models read), ``unit`` (pixels in [0, 1]) or ``signed`` (pixels in
  [−1, 1], V25's released code, ``cifar/cifar_sens.py``: mean 0.5 and std 0.5 per channel);
- ``number``: whether V25's number is a ``variance`` (the paper's word) or a ``std`` (the released code multiplies
  unit Gaussian noise by its ``--var`` directly);
- ``value``: the number itself (5: Fashion-MNIST's; 1: CIFAR-10's);
- ``rescale``: whether the noise energy of a 4×4 token (the patch of V25's Fashion-MNIST and CIFAR-10 models) is
  spread over the MNIST token's 7×7 pixels (variance × 16 / 49), or the number is used per pixel as given;
- ``perturb``: what is perturbed: one patch ``token`` (V25 Def. 4.1, App. D), or ``scattered`` pixels
  (the released code: per draw ``patch²`` positions at independently random (row, column), repeats possible, the
  same positions for every image of a batch; :func:`.scattered.scattered_sensitivity`).

:data:`READINGS` names two: the paper's (the chapter's: one token; Fashion-MNIST's variance on standardised pixels,
rescaled by energy to 7×7 patches) and the released code's (scattered pixels; the number used as a standard deviation
on [−1, 1] pixels, per pixel as the code uses it). :func:`noise_sigma` converts a reading into the standard deviation
the measure adds on the model's standardised input; :func:`map_readings` lists the readings of the chapter's map and
:func:`measurements` the distinct (noise, perturbation) pairs they need, each measured once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ...checks import check_choice, check_float

#: The pixel scales the noise may be added on.
SCALES = ("standardised", "unit", "signed")
#: What V25's number may be.
NUMBERS = ("variance", "std")
#: What may be perturbed.
PERTURBATIONS = ("token", "scattered")
#: V25's numbers (§5, App. D): Fashion-MNIST's variance and CIFAR-10's.
VALUES = (5.0, 1.0)
#: The patch side V25's numbers were given for (4×4 patches on Fashion-MNIST and CIFAR-10).
SOURCE_PATCH = 4
#: The values each axis takes in the map.
AXES = {"scale": SCALES, "number": NUMBERS, "value": VALUES, "rescale": (True, False), "perturb": PERTURBATIONS}


@dataclass(frozen=True)
class Reading:
    """One reading of V25's noise (see the module): each field one open choice."""

    scale: str  # "standardised", "unit" ([0, 1]) or "signed" ([−1, 1])
    number: str  # "variance" or "std": what V25's number is
    value: float  # V25's number (5: Fashion-MNIST; 1: CIFAR-10)
    rescale: bool  # spread the energy of a 4×4 token over the model's patch (× 16 / patch²) or not
    perturb: str  # "token" (one patch, V25 Def. 4.1) or "scattered" (patch² random pixels, the released code)

    def __post_init__(self):
        check_choice("scale", self.scale, SCALES)
        check_choice("number", self.number, NUMBERS)
        check_float("value", self.value, 0.0, 1e3, lo_open=True)
        if not isinstance(self.rescale, bool):
            raise ValueError(f"rescale: must be True or False, got {self.rescale!r}")
        check_choice("perturb", self.perturb, PERTURBATIONS)

    @property
    def label(self) -> str:
        """A short name: e.g. ``token · variance 5 · standardised · rescaled``."""
        rescale = "rescaled 16→49" if self.rescale else "per pixel"
        return f"{self.perturb} · {self.number} {self.value:g} · {self.scale} · {rescale}"


#: The two named readings.
READINGS = {
    "paper": Reading(scale="standardised", number="variance", value=5.0, rescale=True, perturb="token"),
    "released code": Reading(scale="signed", number="std", value=5.0, rescale=False, perturb="scattered"),
}


def reading(name: str) -> Reading:
    """The named reading (:data:`READINGS`); a clear error for any other name."""
    return READINGS[check_choice("reading", name, READINGS)]


def noise_sigma(r: Reading, pixel_std: float, patch: int) -> float:
    """The standard deviation of the Gaussian noise that reading ``r`` adds on the model's standardised input.

    V25's number gives a standard deviation ``s`` (``sqrt(value)`` for a variance, ``value`` for a std); rescaled,
    the variance is spread from a 4×4 token over a ``patch``×``patch`` one (``s × 4 / patch``). On the pixel scale:
    a standardised unit is ``pixel_std`` (the training images' pixel standard deviation on [0, 1]) of a [0, 1]
    pixel, and a [−1, 1] pixel moves twice as far as a [0, 1] one, so ``s`` there is ``s / pixel_std``
    (``unit``) or ``s / (2 pixel_std)`` (``signed``) standardised units."""
    if not isinstance(r, Reading):
        raise ValueError(f"reading: must be a Reading, got {r!r}")
    check_float("pixel_std", pixel_std, 0.0, 1.0, lo_open=True)
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1:
        raise ValueError(f"patch: must be a positive integer (pixels per patch side), got {patch!r}")
    s = math.sqrt(r.value) if r.number == "variance" else float(r.value)
    if r.rescale:
        s *= SOURCE_PATCH / patch
    return s / {"standardised": 1.0, "unit": pixel_std, "signed": 2.0 * pixel_std}[r.scale]


def star(r: Reading) -> list[Reading]:
    """``r`` and every reading that differs from it on exactly one axis (:data:`AXES`), in axis order."""
    out = [r]
    for axis, values in AXES.items():
        out += [replace(r, **{axis: v}) for v in values if v != getattr(r, axis)]
    return out


def map_readings(grid: str = "star") -> list[Reading]:
    """The readings of the map: ``star``, the two named readings and every reading one axis away from either
    (:func:`star`); ``full``, every combination of :data:`AXES`. Without repeats, in that order."""
    check_choice("grid", grid, ("star", "full"))
    if grid == "star":
        rs = [x for name in READINGS for x in star(READINGS[name])]
    else:
        rs = [
            Reading(scale=s, number=n, value=v, rescale=c, perturb=p)
            for p in PERTURBATIONS
            for v in VALUES
            for n in NUMBERS
            for s in SCALES
            for c in (True, False)
        ]
    return list(dict.fromkeys(rs))


def level_of(r: Reading, pixel_std: float, patch: int) -> tuple[float, str]:
    """The (noise standard deviation, perturbation) that measures ``r``: :func:`noise_sigma` rounded to 4 decimals
    (it enters cache keys), and ``r.perturb``."""
    return (round(noise_sigma(r, pixel_std, patch), 4), r.perturb)


def measurements(readings: list[Reading], pixel_std: float, patch: int) -> tuple[tuple[float, str], ...]:
    """The distinct (noise, perturbation) pairs ``readings`` need (:func:`level_of`), sorted: readings that share a
    noise level and a perturbation are measured once."""
    return tuple(sorted({level_of(r, pixel_std, patch) for r in readings}, key=lambda x: (x[1], x[0])))
