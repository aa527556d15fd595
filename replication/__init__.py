"""Replication of Hahn & Rofin 2024 (HR24) and Vasudeva et al. 2025 (V25).

The package is layered; each layer imports only the layers below it::

    notebooks/NN_name  ->  experiments/name, plots/name  ->  runs, report  ->  core  ->  torch, numpy

The core, by kind (it never imports ``runs``, ``report``, ``experiments`` or ``plots``):

- :mod:`replication.tasks`: what is learned: Boolean functions and samplers, modular addition, images.
- :mod:`replication.models`: the networks: HR24's encoder and its folded forward pass, the scratchpad
  encoder–decoder, the grokking model, the vision models.
- :mod:`replication.measures`: what is measured: sensitivity, Fourier spectra, token-wise sensitivity,
  sharpness, norms and blowup, phases of training.
- :mod:`replication.train`: the generic loop (:func:`~replication.train.fit`) and HR24's run
  (:func:`~replication.train.train`).
- :mod:`replication.checks`: the field validators every config uses; :mod:`replication.paths`.

The machinery of runs and the reporting:

- :mod:`replication.runs`: scales and ``from_params``, the cache, committed results, provenance, the sweep
  runner, and the chapter registry (:mod:`replication.runs.chapters`).
- :mod:`replication.report`: claims and the scorecard, the status page, text helpers.

Each chapter's computation is :mod:`replication.experiments`\\ ``.<name>`` for the notebook ``NN_<name>``, its
figures :mod:`replication.plots`\\ ``.<name>``.
"""

__version__ = "0.1.0"
