"""Chapter 12: sensitivity as a progress measure for grokking (V25 §7.3, App. A.5) and sparse parity (App. A.6).

**Modules.** :mod:`.modular_addition` (the modular-addition runs, the chapter's config and presets; the
notebook reads the chapter from it), :mod:`.sparse_parity` (the sparse-parity runs, tables and claims),
:mod:`.tables` and :mod:`.claims` (of the modular-addition runs).
"""
