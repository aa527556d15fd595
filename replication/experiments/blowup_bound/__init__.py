"""Chapter 04: LayerNorm blowup of trained transformers against HR24 Thm 4 and Cor. 5.

The chapter's public face. Its modules: :mod:`.bounds` (Cor. 5 and the constant C), :mod:`.thm4` (Thm 4 on single
strings), :mod:`.claims` (the claims and the generated summary).

Everything here reads the runs of the shared encoder sweep (:mod:`replication.runs.encoder.sweep`)
from the results store: the same preset builds the same run configs, hence the same keys. The only new
computation is the per-string Thm 4 check on the stored weights (a few forward passes per run, stored
per run).

HR24 Cor. 5: ``C · E[Blowup(x)²] ≥ as_n(f)/sqrt(n log n) − H/n``. ``C`` (HR24 Eq. 32) is a product of
``exp(4 d max_h Σ_{i≥2} ‖K_{i,h}ᵀ Q_{i,h}‖)`` (Eq. 8) and a polynomial in the spectral norms of every
weight matrix; it is a worst-case constant with no closed value for a trained model. What can be measured:

- ``c_needed = RHS / E[Blowup²]``: the smallest ``C`` for which the measured blowup satisfies Cor. 5;
- ``log10 C_attn``: the Eq. 8 factor alone, from the trained key and query weights;
- ``c_thm4``: the smallest ``C`` for which Thm 4's per-string inequality (12) holds on every sampled string.

Blowup here is the §7.1 convention (no ``1 +`` per factor); Eq. 11's ``1 + N`` version is at least as
large, so the measured ``c_needed`` is an upper bound on the one Eq. 11 would give.
"""

from .bounds import constant_summary, constant_table, cor5_rhs, cor5_sides, log10_eq8_factor, sanity_checks
from .claims import balance_test, claims, describe, growth_table, growth_test
from .thm4 import THM4_KIND, Thm4Check, prune_results, thm4_strings, thm4_summary, thm4_table

__all__ = [
    "THM4_KIND",
    "Thm4Check",
    "balance_test",
    "claims",
    "constant_summary",
    "constant_table",
    "cor5_rhs",
    "cor5_sides",
    "describe",
    "growth_table",
    "growth_test",
    "log10_eq8_factor",
    "prune_results",
    "sanity_checks",
    "thm4_strings",
    "thm4_summary",
    "thm4_table",
]
