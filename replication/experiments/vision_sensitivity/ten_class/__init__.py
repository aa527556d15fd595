"""Chapter 10, section 2: the ten-class comparison (V25 §5, App. A.3): a ViT, a CNN and an MLP on ten-class MNIST,
stopped at a target training accuracy, and again under one fixed budget, compared at matched accuracy, at the end
and over noise levels. Runs: :mod:`..runs`, :mod:`..measure`; tables: :mod:`..analysis`, :mod:`..fixed`; claims:
:mod:`.claims`; the page's one result: :func:`results`."""

from __future__ import annotations

from .results import TenClassResults, results, section_claims

__all__ = ["TenClassResults", "results", "section_claims"]
