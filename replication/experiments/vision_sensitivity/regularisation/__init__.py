"""Chapter 10, section 4: regularisation, robustness and flat minima (V25 §7.1, §7.2, Table 2): the ViT trained
with the sensitivity regulariser and with noise augmentation against its plain training, accuracy under
corruptions, and ShOp / ShPred over parameter-noise levels. Runs: :mod:`..runs`, :mod:`..measure`; tables:
:mod:`..analysis`, :mod:`..fixed`; claims: :mod:`.claims`; the page's one result: :func:`results`."""

from __future__ import annotations

from .results import RegularisationResults, results, section_claims

__all__ = ["RegularisationResults", "results", "section_claims"]
