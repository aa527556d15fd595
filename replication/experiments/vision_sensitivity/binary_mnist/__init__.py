"""Chapter 10, section 1: V25's binary MNIST experiment (App. A.1, Fig. 13), a ViT against an MLP over one fixed
budget, compared at matched training accuracy and at the end; the post-hoc measures on the stored models (noise
level, whole-image noise, blank patches); the ViT without its patch LayerNorm (:mod:`.patch_norm`) and with Adam
(:mod:`.adam`). Runs and training: :mod:`..binary`, :mod:`..posthoc`; tables: :mod:`..binary_analysis`,
:mod:`..posthoc_analysis`; claims: :mod:`.claims`, :mod:`.posthoc_claims`; the page's one result: :func:`results`."""

from __future__ import annotations

from .results import BinaryResults, results, section_claims

__all__ = ["BinaryResults", "results", "section_claims"]
