"""Replication of Hahn & Rofin 2024 (HR24) and Vasudeva et al. 2025 (V25).

Core modules (no module here imports ``replication.experiments`` or plotting):

- :mod:`replication.tasks.boolean`: Boolean functions, exact average sensitivity, Fourier spectra.
- :mod:`replication.models`: the HR24 encoder with observable LayerNorm factors.
- :mod:`replication.train`: fresh-batch training.
- :mod:`replication.measures.sharpness`: sharpness, parameter norm, blowup.
- :mod:`replication.runs.cache`: the results cache.
- :mod:`replication.report.claims`: claims tables and the scorecard.
- :mod:`replication.runs.config`: scales and parameter validation.

Chapter-level experiments live in :mod:`replication.experiments`, figures in :mod:`replication.plots`.
"""

__version__ = "0.1.0"
