"""Chapter 10, section 3: V25's noise read every way. V25 give a variance without its pixel scale; the section
measures the stored and retrained models at V25's variances read on [0, 1] pixels (:mod:`..pixel`) and under every
reading of the readings map (:mod:`..readings`, :mod:`..readings_map`, :mod:`..map_analysis`); claims:
:mod:`.claims`; the page's one result: :func:`results`."""

from __future__ import annotations

from .results import ReadingsResults, results, section_claims

__all__ = ["ReadingsResults", "results", "section_claims"]
